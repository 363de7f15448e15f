/*
 * rule_expr - meta and "if" expressions (see rule_expr.h).
 *
 * Precedence, highest first, as Perl: unary ! and -; * / %; + -;
 * < > <= >=; == !=; &&; ||; ?:.  Words "not", "and", "or" are accepted
 * with the same meaning (SpamAssassin's "if" lines use them).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "rule_expr.h"
#include "str.h"

#define EXPR_MAX_DEPTH	100	/* nesting of parentheses */
#define EXPR_MAX_STACK	256	/* evaluation stack */

enum op {
	OP_NUM, OP_VAR, OP_NEG, OP_NOT, OP_MUL, OP_DIV, OP_MOD, OP_ADD,
	OP_SUB, OP_LT, OP_GT, OP_LE, OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR,
	OP_COND,
};

struct insn {
	enum op op;
	double num;
	int var;
};

struct rule_expr {
	struct insn *code;
	size_t n, cap;
	int *vars;
	size_t n_vars;
	size_t max_stack;
};

enum tok {
	T_END, T_NUM, T_IDENT, T_LP, T_RP, T_NOT, T_NEG_OR_SUB, T_ADD, T_MUL,
	T_DIV, T_MOD, T_LT, T_GT, T_LE, T_GE, T_EQ, T_NE, T_AND, T_OR, T_Q,
	T_COLON, T_BAD,
};

struct parser {
	const char *p;
	enum tok tok;
	const char *ts;		/* token text */
	size_t tl;
	double num;
	struct rule_expr *e;
	int (*resolve)(void *, const char *, size_t);
	void *ctx;
	char *error;
	int depth;
};

static void next(struct parser *ps)
{
	const char *p = ps->p;

	while (isspace((unsigned char)*p))
		p++;
	ps->ts = p;
	ps->tl = 1;
	if (*p == '\0') {
		ps->tok = T_END;
		ps->tl = 0;
	} else if (isdigit((unsigned char)*p) ||
		   (*p == '.' && isdigit((unsigned char)p[1]))) {
		char *end;

		ps->num = strtod(p, &end);
		ps->tok = T_NUM;
		ps->tl = (size_t)(end - p);
	} else if (isalpha((unsigned char)*p) || *p == '_') {
		const char *q = p;

		while (isalnum((unsigned char)*q) || *q == '_' || *q == ':')
			q++;
		ps->tl = (size_t)(q - p);
		ps->tok = T_IDENT;
		if (ps->tl == 3 && strncmp(p, "and", 3) == 0)
			ps->tok = T_AND;
		else if (ps->tl == 2 && strncmp(p, "or", 2) == 0)
			ps->tok = T_OR;
		else if (ps->tl == 3 && strncmp(p, "not", 3) == 0)
			ps->tok = T_NOT;
		else if (*q == '(' || (isspace((unsigned char)*q) &&
				       q[strspn(q, " \t")] == '(')) {
			/* plugin(X), can(X), has(X): one identifier */
			const char *c = strchr(q, ')');

			if (c != NULL && (ps->tl == 6 || ps->tl == 3)) {
				if (strncmp(p, "plugin", 6) == 0 ||
				    strncmp(p, "can", 3) == 0 ||
				    strncmp(p, "has", 3) == 0)
					ps->tl = (size_t)(c + 1 - p);
			}
		}
	} else {
		char c = *p, d = p[1];

		ps->tl = 1;
		switch (c) {
		case '(': ps->tok = T_LP; break;
		case ')': ps->tok = T_RP; break;
		case '+': ps->tok = T_ADD; break;
		case '-': ps->tok = T_NEG_OR_SUB; break;
		case '*': ps->tok = T_MUL; break;
		case '/': ps->tok = T_DIV; break;
		case '%': ps->tok = T_MOD; break;
		case '?': ps->tok = T_Q; break;
		case ':': ps->tok = T_COLON; break;
		case '!':
			if (d == '=') {
				ps->tok = T_NE;
				ps->tl = 2;
			} else {
				ps->tok = T_NOT;
			}
			break;
		case '<':
			ps->tok = d == '=' ? T_LE : T_LT;
			ps->tl = d == '=' ? 2 : 1;
			break;
		case '>':
			ps->tok = d == '=' ? T_GE : T_GT;
			ps->tl = d == '=' ? 2 : 1;
			break;
		case '=':
			ps->tok = d == '=' ? T_EQ : T_BAD;
			ps->tl = d == '=' ? 2 : 1;
			break;
		case '&':
			ps->tok = d == '&' ? T_AND : T_BAD;
			ps->tl = d == '&' ? 2 : 1;
			break;
		case '|':
			ps->tok = d == '|' ? T_OR : T_BAD;
			ps->tl = d == '|' ? 2 : 1;
			break;
		default:
			ps->tok = T_BAD;
		}
	}
	ps->p = ps->ts + ps->tl;
}

static void emit(struct parser *ps, enum op op, double num, int var)
{
	struct rule_expr *e = ps->e;

	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->code = myrealloc(e->code, e->cap * sizeof(*e->code));
	}
	e->code[e->n].op = op;
	e->code[e->n].num = num;
	e->code[e->n].var = var;
	e->n++;
}

static void fail(struct parser *ps, const char *what)
{
	struct str sb = STR_INIT;

	if (ps->error != NULL)
		return;
	if (ps->tok == T_END)
		str_printf(&sb, "%s at end of expression", what);
	else
		str_printf(&sb, "%s at \"%.*s\"", what, (int)ps->tl, ps->ts);
	ps->error = str_steal(&sb);
}

static void parse_cond(struct parser *ps);

static void parse_primary(struct parser *ps)
{
	if (ps->error)
		return;
	switch (ps->tok) {
	case T_NUM:
		emit(ps, OP_NUM, ps->num, 0);
		next(ps);
		break;
	case T_IDENT: {
		int idx = ps->resolve(ps->ctx, ps->ts, ps->tl);

		if (idx < 0) {
			emit(ps, OP_NUM, 0, 0);
		} else {
			emit(ps, OP_VAR, 0, idx);
			ps->e->vars = myrealloc(ps->e->vars, (ps->e->n_vars + 1) *
						sizeof(int));
			ps->e->vars[ps->e->n_vars++] = idx;
		}
		next(ps);
		break;
	}
	case T_LP:
		if (++ps->depth > EXPR_MAX_DEPTH) {
			fail(ps, "too deeply nested");
			return;
		}
		next(ps);
		parse_cond(ps);
		if (ps->error)
			return;
		if (ps->tok != T_RP) {
			fail(ps, "missing \")\"");
			return;
		}
		ps->depth--;
		next(ps);
		break;
	case T_NOT:
		next(ps);
		parse_primary(ps);
		emit(ps, OP_NOT, 0, 0);
		break;
	case T_NEG_OR_SUB:
		next(ps);
		parse_primary(ps);
		emit(ps, OP_NEG, 0, 0);
		break;
	case T_ADD:
		next(ps);
		parse_primary(ps);
		break;
	default:
		fail(ps, "syntax error");
	}
}

static int binop_prec(enum tok t, enum op *op_r)
{
	switch (t) {
	case T_MUL: *op_r = OP_MUL; return 6;
	case T_DIV: *op_r = OP_DIV; return 6;
	case T_MOD: *op_r = OP_MOD; return 6;
	case T_ADD: *op_r = OP_ADD; return 5;
	case T_NEG_OR_SUB: *op_r = OP_SUB; return 5;
	case T_LT: *op_r = OP_LT; return 4;
	case T_GT: *op_r = OP_GT; return 4;
	case T_LE: *op_r = OP_LE; return 4;
	case T_GE: *op_r = OP_GE; return 4;
	case T_EQ: *op_r = OP_EQ; return 3;
	case T_NE: *op_r = OP_NE; return 3;
	case T_AND: *op_r = OP_AND; return 2;
	case T_OR: *op_r = OP_OR; return 1;
	default: return 0;
	}
}

static void parse_binary(struct parser *ps, int min_prec)
{
	enum op op;
	int prec;

	parse_primary(ps);
	while (!ps->error && (prec = binop_prec(ps->tok, &op)) >= min_prec &&
	       prec > 0) {
		next(ps);
		parse_binary(ps, prec + 1);
		emit(ps, op, 0, 0);
	}
}

static void parse_cond(struct parser *ps)
{
	parse_binary(ps, 1);
	if (!ps->error && ps->tok == T_Q) {
		next(ps);
		parse_cond(ps);
		if (ps->error)
			return;
		if (ps->tok != T_COLON) {
			fail(ps, "missing \":\"");
			return;
		}
		next(ps);
		parse_cond(ps);
		emit(ps, OP_COND, 0, 0);
	}
}

struct rule_expr *rule_expr_compile(const char *text,
				    int (*resolve)(void *, const char *, size_t),
				    void *ctx, char **error_r)
{
	struct parser ps;
	struct rule_expr *e = mycalloc(1, sizeof(*e));
	size_t i, depth = 0;

	memset(&ps, 0, sizeof(ps));
	ps.p = text;
	ps.e = e;
	ps.resolve = resolve;
	ps.ctx = ctx;
	next(&ps);
	if (ps.tok == T_END)
		fail(&ps, "empty expression");
	parse_cond(&ps);
	if (ps.error == NULL && ps.tok != T_END)
		fail(&ps, "unexpected token");
	if (ps.error != NULL) {
		*error_r = ps.error;
		rule_expr_deinit(&e);
		return NULL;
	}
	for (i = 0; i < e->n; i++) {
		switch (e->code[i].op) {
		case OP_NUM:
		case OP_VAR:
			depth++;
			break;
		case OP_NEG:
		case OP_NOT:
			break;
		case OP_COND:
			depth -= 2;
			break;
		default:
			depth--;
		}
		if (depth > e->max_stack)
			e->max_stack = depth;
	}
	if (e->max_stack > EXPR_MAX_STACK) {
		*error_r = mystrdup("expression too complex");
		rule_expr_deinit(&e);
		return NULL;
	}
	return e;
}


/* a % b on the integer parts, as C's % for values that fit a long long,
   without converting out-of-range values (undefined behaviour, found by
   fuzz-rules with "1e53 % 3"); 0 for a zero divisor or an infinity */
static double expr_mod(double a, double b)
{
	double ia = trunc(a), ib = trunc(b);

	if (ib == 0 || !isfinite(ia) || !isfinite(ib))
		return 0;
	return fmod(ia, ib);
}

/* A OP B for a binary operator */
static double binop(enum op op, double a, double b)
{
	switch (op) {
	case OP_MUL: return a * b;
	case OP_DIV: return b != 0 ? a / b : 0;
	case OP_MOD: return expr_mod(a, b);
	case OP_ADD: return a + b;
	case OP_SUB: return a - b;
	case OP_LT: return a < b;
	case OP_GT: return a > b;
	case OP_LE: return a <= b;
	case OP_GE: return a >= b;
	case OP_EQ: return a == b;
	case OP_NE: return a != b;
	case OP_AND: return a != 0 ? b : a;
	case OP_OR: return a != 0 ? a : b;
	default: return 0;
	}
}

/* run N instructions of CODE (a whole expression) */
static double eval_code(const struct insn *code, size_t n,
			const double *values)
{
	double st[EXPR_MAX_STACK + 1];
	size_t sp = 0, i;

	for (i = 0; i < n; i++) {
		const struct insn *in = &code[i];
		double a, b;

		switch (in->op) {
		case OP_NUM:
			st[sp++] = in->num;
			continue;
		case OP_VAR:
			st[sp++] = values[in->var];
			continue;
		case OP_NEG:
			st[sp - 1] = -st[sp - 1];
			continue;
		case OP_NOT:
			st[sp - 1] = st[sp - 1] != 0 ? 0 : 1;
			continue;
		case OP_COND:
			sp -= 2;
			st[sp - 1] = st[sp - 1] != 0 ? st[sp] : st[sp + 1];
			continue;
		default:
			break;
		}
		b = st[--sp];
		a = st[sp - 1];
		st[sp - 1] = binop(in->op, a, b);
	}
	return sp > 0 ? st[0] : 0;
}

/*
 * The same over ranges (rule_expr.h): each result holds every value the
 * expression can take for values within the ranges of its variables.
 * "Any" (lo -inf, hi +inf) may also stand for NaN, which a range never
 * does otherwise: NaN comes only from infinities (inf - inf, 0 * inf),
 * and an operation given an infinite bound gives "any".  Bounds are not
 * tight (the hull of the possible values), only safe; "nonzero" keeps
 * what a hull loses for || (D || A, A 1: D's value when it is not 0, or
 * 1, never 0).
 */
static const struct rule_range range_any = { -INFINITY, INFINITY, 0 };

static int range_point(struct rule_range r)
{
	return r.lo == r.hi;
}

static int range_is_any(struct rule_range r)
{
	return r.lo == -INFINITY && r.hi == INFINITY;
}

static int range_finite(struct rule_range r)
{
	return isfinite(r.lo) && isfinite(r.hi);
}

int rule_range_truth(struct rule_range r)
{
	if (range_is_any(r))
		return -1;
	if (r.nonzero || r.lo > 0 || r.hi < 0)
		return 1;
	if (r.lo == 0 && r.hi == 0)
		return 0;
	return -1;
}

static struct rule_range range_hull(struct rule_range a, struct rule_range b)
{
	struct rule_range r;

	if (range_is_any(a) || range_is_any(b))
		return range_any;
	r.lo = a.lo < b.lo ? a.lo : b.lo;
	r.hi = a.hi > b.hi ? a.hi : b.hi;
	r.nonzero = rule_range_truth(a) == 1 && rule_range_truth(b) == 1;
	return r;
}

static struct rule_range range_of(double v)
{
	struct rule_range r = { v, v, 0 };

	return isnan(v) ? range_any : r;
}

static const struct rule_range range_bool = { 0, 1, 0 };

static struct rule_range range_binop(enum op op, struct rule_range a,
				     struct rule_range b)
{
	struct rule_range r;
	int t;

	if (range_point(a) && range_point(b))
		return range_of(binop(op, a.lo, b.lo));
	switch (op) {
	case OP_AND:
		t = rule_range_truth(a);
		return t == 1 ? b : t == 0 ? a : range_hull(range_of(0), b);
	case OP_OR:
		t = rule_range_truth(a);
		if (t != -1)
			return t == 1 ? a : b;
		/* A when it is not 0, else B */
		r = range_hull(a, b);
		r.nonzero = rule_range_truth(b) == 1;
		return r;
	case OP_ADD:
	case OP_SUB:
	case OP_MUL:
		if (!range_finite(a) || !range_finite(b))
			return range_any;
		if (op == OP_ADD) {
			r.lo = a.lo + b.lo;
			r.hi = a.hi + b.hi;
		} else if (op == OP_SUB) {
			r.lo = a.lo - b.hi;
			r.hi = a.hi - b.lo;
		} else {
			double p[4] = { a.lo * b.lo, a.lo * b.hi, a.hi * b.lo,
					a.hi * b.hi };
			int i;

			r.lo = r.hi = p[0];
			for (i = 1; i < 4; i++) {
				if (p[i] < r.lo)
					r.lo = p[i];
				if (p[i] > r.hi)
					r.hi = p[i];
			}
		}
		r.nonzero = 0;
		return isfinite(r.lo) && isfinite(r.hi) ? r : range_any;
	case OP_LT:
	case OP_GT:
	case OP_LE:
	case OP_GE:
	case OP_EQ:
	case OP_NE:
		if (range_is_any(a) || range_is_any(b))
			return range_bool;
		if (op == OP_GT || op == OP_GE) {	/* as b < a, b <= a */
			struct rule_range x = a;

			a = b;
			b = x;
			op = op == OP_GT ? OP_LT : OP_LE;
		}
		if (op == OP_LT)
			return a.hi < b.lo ? range_of(1)
			       : a.lo >= b.hi ? range_of(0) : range_bool;
		if (op == OP_LE)
			return a.hi <= b.lo ? range_of(1)
			       : a.lo > b.hi ? range_of(0) : range_bool;
		/* == and !=: decided only when the ranges are apart */
		if (a.hi < b.lo || b.hi < a.lo)
			return range_of(op == OP_NE);
		return range_bool;
	default:		/* / and %: not followed */
		return range_any;
	}
}

static struct rule_range eval_range(const struct insn *code, size_t n,
				    const struct rule_range *values)
{
	struct rule_range st[EXPR_MAX_STACK + 1];
	size_t sp = 0, i;

	for (i = 0; i < n; i++) {
		const struct insn *in = &code[i];
		struct rule_range a;
		int t;

		switch (in->op) {
		case OP_NUM:
			st[sp++] = range_of(in->num);
			continue;
		case OP_VAR:
			st[sp++] = values[in->var];
			continue;
		case OP_NEG:
			a = st[sp - 1];
			st[sp - 1].lo = -a.hi;
			st[sp - 1].hi = -a.lo;
			continue;
		case OP_NOT:
			t = rule_range_truth(st[sp - 1]);
			st[sp - 1] = t == 1 ? range_of(0) : t == 0 ? range_of(1)
				     : range_bool;
			continue;
		case OP_COND:
			sp -= 2;
			t = rule_range_truth(st[sp - 1]);
			st[sp - 1] = t == 1 ? st[sp] : t == 0 ? st[sp + 1]
				     : range_hull(st[sp], st[sp + 1]);
			continue;
		default:
			break;
		}
		sp--;
		st[sp - 1] = range_binop(in->op, st[sp - 1], st[sp]);
	}
	return sp > 0 ? st[0] : range_of(0);
}

double rule_expr_eval(const struct rule_expr *e, const double *values)
{
	return eval_code(e->code, e->n, values);
}

/* one expression of a program: where its code and variables are */
struct prog_expr {
	int target;
	size_t code_at, n_code, vars_at, n_vars;
	double zero;		/* its value when every variable is 0 */
};

struct rule_expr_prog {
	struct insn *code;
	size_t n_code;
	int *vars;
	size_t n_vars;
	struct prog_expr *ex;
	size_t n_ex;
};

struct rule_expr_prog *rule_expr_prog_new(void)
{
	return mycalloc(1, sizeof(struct rule_expr_prog));
}

void rule_expr_prog_add(struct rule_expr_prog *p, const struct rule_expr *e,
			int target)
{
	struct prog_expr *x;
	double *zeros;
	int max = 0;
	size_t i;

	for (i = 0; i < e->n_vars; i++)
		if (e->vars[i] > max)
			max = e->vars[i];
	zeros = mycalloc((size_t)max + 1, sizeof(double));
	p->ex = myrealloc(p->ex, (p->n_ex + 1) * sizeof(*p->ex));
	x = &p->ex[p->n_ex++];
	x->target = target;
	x->code_at = p->n_code;
	x->n_code = e->n;
	x->vars_at = p->n_vars;
	x->n_vars = e->n_vars;
	x->zero = eval_code(e->code, e->n, zeros);
	free(zeros);
	p->code = myrealloc(p->code, (p->n_code + e->n + 1) * sizeof(*p->code));
	memcpy(p->code + p->n_code, e->code, e->n * sizeof(*p->code));
	p->n_code += e->n;
	p->vars = myrealloc(p->vars, (p->n_vars + e->n_vars + 1) * sizeof(int));
	if (e->n_vars > 0)
		memcpy(p->vars + p->n_vars, e->vars, e->n_vars * sizeof(int));
	p->n_vars += e->n_vars;
}

void rule_expr_prog_run(const struct rule_expr_prog *p, double *values)
{
	size_t i, j;

	for (i = 0; i < p->n_ex; i++) {
		const struct prog_expr *x = &p->ex[i];
		const int *vars = p->vars + x->vars_at;
		double v = x->zero;

		/* most rules do not hit: most expressions read only zeros */
		for (j = 0; j < x->n_vars; j++)
			if (values[vars[j]] != 0) {
				v = eval_code(p->code + x->code_at, x->n_code,
					      values);
				break;
			}
		if (v != 0)
			values[x->target] = v > 0 ? v : 1;
	}
}

/* the value rule_expr_prog_run() stores for a result in R, when not 0 */
static struct rule_range range_stored(struct rule_range r)
{
	struct rule_range s;

	if (range_is_any(r)) {	/* NaN and negatives store 1 */
		s.lo = 0;
		s.hi = INFINITY;
	} else if (r.lo > 0) {
		s = r;
	} else if (r.hi < 0) {
		s = range_of(1);
	} else {
		s.lo = 0;
		s.hi = r.hi > 1 ? r.hi : 1;
	}
	s.nonzero = 1;		/* only what is not 0 is stored */
	return s;
}

void rule_expr_prog_run_range(const struct rule_expr_prog *p,
			      struct rule_range *values)
{
	size_t i, j;

	for (i = 0; i < p->n_ex; i++) {
		const struct prog_expr *x = &p->ex[i];
		const int *vars = p->vars + x->vars_at;
		struct rule_range v = range_of(x->zero);
		int t;

		for (j = 0; j < x->n_vars; j++)
			if (values[vars[j]].lo != 0 || values[vars[j]].hi != 0) {
				v = eval_range(p->code + x->code_at, x->n_code,
					       values);
				break;
			}
		t = rule_range_truth(v);
		if (t == 1)
			values[x->target] = range_stored(v);
		else if (t == -1)
			values[x->target] = range_hull(values[x->target],
						       range_stored(v));
	}
}

void rule_expr_prog_reset(const struct rule_expr_prog *p, double *values)
{
	size_t i;

	for (i = 0; i < p->n_ex; i++)
		values[p->ex[i].target] = 0;
}

void rule_expr_prog_reset_range(const struct rule_expr_prog *p,
				struct rule_range *values)
{
	size_t i;

	for (i = 0; i < p->n_ex; i++) {
		values[p->ex[i].target].lo = values[p->ex[i].target].hi = 0;
		values[p->ex[i].target].nonzero = 0;
	}
}

void rule_expr_prog_deinit(struct rule_expr_prog **progp)
{
	struct rule_expr_prog *p = *progp;

	if (p == NULL)
		return;
	free(p->code);
	free(p->vars);
	free(p->ex);
	free(p);
	*progp = NULL;
}

const int *rule_expr_vars(const struct rule_expr *e, size_t *n_r)
{
	*n_r = e->n_vars;
	return e->vars;
}

void rule_expr_deinit(struct rule_expr **exprp)
{
	struct rule_expr *e = *exprp;

	if (e == NULL)
		return;
	free(e->code);
	free(e->vars);
	free(e);
	*exprp = NULL;
}
