/*
 * 2002-rule-expr - meta and "if" expressions, table driven: Perl's
 * precedence and values, and syntax errors with their messages.
 */
#include <stdlib.h>
#include <string.h>

#include "rule_expr.h"
#include "str.h"
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
	v[7] = 5;
	rule_expr_prog_reset(p, v);
	TEST_OK(v[0] == 1 && v[2] == 3 && v[4] == 0 && v[5] == 0 &&
		v[6] == 0 && v[7] == 0, "reset: the targets are 0 again, "
		"the inputs kept");
	rule_expr_prog_deinit(&p);
	TEST_OK(p == NULL, "rule_expr_prog_deinit sets NULL");
}

/*
 * The program over ranges (rule_expr_prog_run_range).  Values A..H:
 * A, B, C known, D, E, F not known yet (0 to 1: rules not run), G and H
 * filled in order.  First cases with the answer written down, then
 * random programs: for every way D, E, F can turn out (0 or 1), what
 * rule_expr_prog_run() stores must lie in the range, so that a range
 * that says "surely hit" or "surely not" is never wrong.
 */
/* the program G = G_TEXT, H = H_TEXT: a test for each compile unless
   QUIET (then only a failure is reported) */
static struct rule_expr_prog *prog2(const char *g_text, const char *h_text,
				    int quiet)
{
	struct rule_expr_prog *p = rule_expr_prog_new();
	const char *text[2] = { g_text, h_text };
	int i;

	for (i = 0; i < 2; i++) {
		char *error = NULL;
		struct rule_expr *e = rule_expr_compile(text[i], resolve8, NULL,
							&error);

		if ((!quiet || e == NULL) &&
		    !TEST_OK(e != NULL, "range program: %s compiles", text[i])) {
			printf("#   error: %s\n", error);
			free(error);
			continue;
		}
		rule_expr_prog_add(p, e, 6 + i);
		rule_expr_deinit(&e);
	}
	return p;
}

static void ranges_of(const double *known, const double *lo,
		      const double *hi, struct rule_range *r)
{
	int i;

	for (i = 0; i < 8; i++) {
		r[i].lo = i < 3 ? known[i] : i < 6 ? lo[i - 3] : 0;
		r[i].hi = i < 3 ? known[i] : i < 6 ? hi[i - 3] : 0;
		r[i].nonzero = 0;
	}
}

static unsigned long rng_state = 12345;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rng_state >> 33) % n;
}

/* a random expression over A..F (and G, when READ_G) */
static void gen(struct str *out, int depth, int read_g)
{
	static const char *const ops[] = { "&&", "||", "+", "-", "*", "/",
					   "%", "<", ">", "<=", ">=", "==",
					   "!=" };
	static const char *const nums[] = { "0", "1", "2", "0.5", "3",
					    "1e308" };
	unsigned k = depth <= 0 ? rnd(2) : rnd(7);

	switch (k) {
	case 0:
		str_appendc(out, (char)('A' + rnd(read_g ? 7 : 6)));
		break;
	case 1:
		str_appends(out, nums[rnd(6)]);
		break;
	case 2:
		str_appends(out, "!");
		gen(out, depth - 1, read_g);
		break;
	case 3:
		str_appends(out, "-");
		gen(out, depth - 1, read_g);
		break;
	case 4:
		str_appends(out, "(");
		gen(out, depth - 1, read_g);
		str_appends(out, " ? ");
		gen(out, depth - 1, read_g);
		str_appends(out, " : ");
		gen(out, depth - 1, read_g);
		str_appends(out, ")");
		break;
	default:
		str_appends(out, "(");
		gen(out, depth - 1, read_g);
		str_printf(out, " %s ", ops[rnd(13)]);
		gen(out, depth - 1, read_g);
		str_appends(out, ")");
	}
}

/* V within R, and not 0 if R says so */
static int in_range(double v, struct rule_range r)
{
	return v >= r.lo && v <= r.hi && !(r.nonzero && v == 0);
}

static void test_prog_range(void)
{
	static const struct {
		const char *g, *h;
		int g_decided, h_decided;	/* 1 hit, 0 not, -1 unsure */
	} rcases[] = {
		{ "D && !A", "G || E", 0, -1 },	/* A is 1 */
		{ "D || A", "!G", 1, 0 },
		{ "D + E > 1", "D + E + F > 3", -1, 0 },
		{ "D ? C : B + 2", "G > 1", 1, 1 },	/* 3 or 2 */
		{ "D - 1", "G * C", -1, -1 },	/* -1 stores 1, 0 nothing */
		{ "D - 2", "G * C", 1, 1 },	/* -2 or -1: both store 1 */
		{ "(D || E) || C", "(G && F) || B", 1, -1 },
		{ "D / E", "B && G", -1, 0 },
		{ "C == 3 && (D || E || F)", "A && !G", -1, -1 },
	};
	static const double known[3] = { 1, 0, 3 };
	static const double lo[3] = { 0, 0, 0 }, hi[3] = { 1, 1, 1 };
	struct rule_range r[8];
	size_t i;
	int n, wrong = 0, decided = 0;

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		struct rule_expr_prog *p = prog2(rcases[i].g, rcases[i].h, 0);
		int want[2] = { rcases[i].g_decided, rcases[i].h_decided }, j;

		ranges_of(known, lo, hi, r);
		rule_expr_prog_run_range(p, r);
		for (j = 0; j < 2; j++) {
			struct rule_range x = r[6 + j];
			int got = rule_range_truth(x);

			TEST_IS_INT(got, want[j], "G = %s, H = %s: %c is %s",
				    rcases[i].g, rcases[i].h, 'G' + j,
				    want[j] == 1 ? "hit" : want[j] == 0
				    ? "not hit" : "not known");
		}
		rule_expr_prog_deinit(&p);
	}
	/* random programs against every outcome */
	for (n = 0; n < 3000; n++) {
		struct str g = STR_INIT, h = STR_INIT;
		struct rule_expr_prog *p;
		double kv[3], dlo[3], dhi[3];
		int m, j;

		gen(&g, 4, 0);
		gen(&h, 4, 1);
		p = prog2(g.s, h.s, 1);
		for (j = 0; j < 3; j++) {
			static const double pick[] = { 0, 1, 2, 0.5, 1e308 };

			kv[j] = pick[rnd(5)];
			/* unknowns: mostly 0 to 1, some known already */
			dlo[j] = 0;
			dhi[j] = rnd(4) == 0 ? 0 : 1;
		}
		ranges_of(kv, dlo, dhi, r);
		rule_expr_prog_run_range(p, r);
		for (j = 6; j < 8; j++)
			decided += rule_range_truth(r[j]) != -1;
		for (m = 0; m < 8; m++) {
			double v[8] = { kv[0], kv[1], kv[2], 0, 0, 0, 0, 0 };

			if (((m & 1) && dhi[0] == 0) || ((m & 2) && dhi[1] == 0) ||
			    ((m & 4) && dhi[2] == 0))
				continue;
			v[3] = m & 1;
			v[4] = (m >> 1) & 1;
			v[5] = (m >> 2) & 1;
			rule_expr_prog_run(p, v);
			if ((!in_range(v[6], r[6]) || !in_range(v[7], r[7])) &&
			    wrong++ < 5)
				printf("# G = %s, H = %s, A..F %g %g %g %g %g %g:"
				       " G %g in [%g, %g], H %g in [%g, %g]?\n",
				       g.s, h.s, v[0], v[1], v[2], v[3], v[4],
				       v[5], v[6], r[6].lo, r[6].hi, v[7],
				       r[7].lo, r[7].hi);
		}
		rule_expr_prog_deinit(&p);
		str_deinit(&g);
		str_deinit(&h);
	}
	TEST_IS_INT(wrong, 0, "3000 random programs: every outcome in range");
	TEST_OK(decided > 1000, "and the ranges decide something (%d of 6000 "
		"results surely hit or surely not)", decided);
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
	test_prog_range();
	return test_done();
}
