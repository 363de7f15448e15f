/*
 * 2002-rule-expr - meta and "if" expressions, table driven: Perl's
 * precedence and values, and syntax errors with their messages.
 */
#include <stdlib.h>
#include <string.h>

#include "rule_expr.h"
#include "test-lib.h"

/* variables A=1, B=0, C=3, D=2 (a hit count), others unknown (-1) */
static int resolve(void *ctx, const char *name, size_t len)
{
	static const char *const names[] = { "A", "B", "C", "D", NULL };
	int i;

	(void)ctx;
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == len && strncmp(name, names[i], len) == 0)
			return i;
	return -1;
}

static const double values[] = { 1, 0, 3, 2 };

static const struct {
	const char *expr;
	double want;
} cases[] = {
	{ "A", 1 }, { "B", 0 }, { "!A", 0 }, { "!B", 1 }, { "! B", 1 },
	{ "A && B", 0 }, { "A || B", 1 }, { "B || C", 3 }, { "A && C", 3 },
	{ "B && C", 0 }, { "!A || C && B", 0 }, { "(A || B) && !B", 1 },
	{ "A + C + D", 6 }, { "A + C * D", 7 }, { "(A + C) * D", 8 },
	{ "C - A - A", 1 }, { "C / D", 1.5 }, { "-A + C", 2 },
	{ "A + B + C > 3", 1 }, { "A + B + C >= 4", 1 }, { "C == 3", 1 },
	{ "C != 3", 0 }, { "D < C && A", 1 }, { "(A + B + C + D) >= 3", 1 },
	{ "UNKNOWN_RULE", 0 }, { "!UNKNOWN_RULE && A", 1 },
	{ "A ? C : D", 3 }, { "B ? C : D", 2 }, { "1.5 * D", 3 },
	{ "A and not B", 1 }, { "B or C", 3 }, { "7 % 4", 3 },
	{ "-7 % 4", -3 }, { "7.9 % 4.2", 3 }, { "A % B", 0 },
	/* out of the range of long long: no undefined conversion (UBSan) */
	{ "100000000000000000000000000000000000000000000000000000 % 7", 3 },
	{ "-100000000000000000000000000000000000000000000000000000 % 1", 0 },
	{ "((((A))))", 1 }, { "A&&!B", 1 },
};

static const struct {
	const char *expr;
	const char *error;
} bad[] = {
	{ "", "empty expression" },
	{ "A &&", "syntax error at end of expression" },
	{ "(A || B", "missing \")\" at end of expression" },
	{ "A B", "unexpected token at \"B\"" },
	{ "A & B", "unexpected token at \"&\"" },
	{ "A = B", "unexpected token at \"=\"" },
	{ "A ? B", "missing \":\"" },
	{ ")", "syntax error at \")\"" },
};

/*
 * A program of expressions over 8 values: A..D as above are inputs,
 * E..H are filled in order.  Expressions whose inputs are all 0 are not
 * run but must still give their value (!B is 1, B - 1 is -1 -> 1).
 */
static int resolve8(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	if (len == 1 && name[0] >= 'A' && name[0] <= 'H')
		return name[0] - 'A';
	return -1;
}

static void test_prog(void)
{
	static const struct {
		const char *expr;
		int target;
	} prog[] = {
		{ "!B", 4 },		/* E = 1: inputs all 0 */
		{ "B - 1", 5 },		/* F = 1: -1 stores 1 */
		{ "E + C", 6 },		/* G = 4: reads an earlier result */
		{ "B && G", 7 },	/* H stays 0 */
	};
	double v[8] = { 1, 0, 3, 2, 0, 0, 0, 0 };
	double w[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	struct rule_expr_prog *p = rule_expr_prog_new();
	struct rule_expr *e[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		char *error = NULL;

		e[i] = rule_expr_compile(prog[i].expr, resolve8, NULL, &error);
		TEST_OK(e[i] != NULL, "program expression %s compiles",
			prog[i].expr);
		rule_expr_prog_add(p, e[i], prog[i].target);
	}
	for (i = 0; i < 4; i++)
		rule_expr_deinit(&e[i]);	/* the program has its copy */
	rule_expr_prog_run(p, v);
	TEST_OK(v[4] == 1 && v[5] == 1 && v[6] == 4 && v[7] == 0,
		"program: E %g F %g G %g H %g (want 1 1 4 0)", v[4], v[5],
		v[6], v[7]);
	rule_expr_prog_run(p, w);
	TEST_OK(w[4] == 1 && w[5] == 1 && w[6] == 1 && w[7] == 0,
		"program on all zeros: E %g F %g G %g H %g (want 1 1 1 0)",
		w[4], w[5], w[6], w[7]);
	rule_expr_prog_deinit(&p);
	TEST_OK(p == NULL, "rule_expr_prog_deinit sets NULL");
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *error = NULL;
		struct rule_expr *e = rule_expr_compile(cases[i].expr, resolve,
							NULL, &error);

		if (!TEST_OK(e != NULL, "compiles: %s", cases[i].expr)) {
			printf("#   error: %s\n", error);
			free(error);
			continue;
		}
		TEST_OK(rule_expr_eval(e, values) == cases[i].want,
			"%s = %g (got %g)", cases[i].expr, cases[i].want,
			rule_expr_eval(e, values));
		rule_expr_deinit(&e);
		TEST_OK(e == NULL, "deinit sets NULL");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *error = NULL;
		struct rule_expr *e = rule_expr_compile(bad[i].expr, resolve,
							NULL, &error);

		TEST_OK(e == NULL, "rejected: \"%s\"", bad[i].expr);
		TEST_LIKE(error, bad[i].error, "error for \"%s\"", bad[i].expr);
		free(error);
		rule_expr_deinit(&e);
	}
	{
		/* nesting is bounded */
		char deep[400];
		char *error = NULL;
		struct rule_expr *e;

		memset(deep, '(', 200);
		deep[200] = 'A';
		memset(deep + 201, ')', 198);
		deep[399] = '\0';
		e = rule_expr_compile(deep, resolve, NULL, &error);
		TEST_OK(e == NULL, "200 nested parentheses rejected");
		TEST_LIKE(error, "too deeply nested", "nesting error");
		free(error);
	}
	{
		char *error = NULL;
		struct rule_expr *e = rule_expr_compile("A + C + A", resolve,
							NULL, &error);
		size_t n;
		const int *v = rule_expr_vars(e, &n);

		TEST_IS_INT(n, 3, "three variable reads");
		TEST_OK(v[0] == 0 && v[1] == 2 && v[2] == 0, "in order");
		rule_expr_deinit(&e);
	}
	test_prog();
	return test_done();
}
