/*
 * rule_expr - the expressions of meta rules and "if" lines, compiled once
 * to a postfix program and evaluated as Perl would (&& and || give the
 * deciding operand's value, ! gives 1 or 0).  Internal to rules/.
 */
#ifndef SPAMTRAP_RULE_EXPR_H
#define SPAMTRAP_RULE_EXPR_H

#include <stddef.h>

struct rule_expr;

/*
 * Compile TEXT.  RESOLVE maps each identifier (a rule name, or a call
 * such as "plugin(Mail::SpamAssassin::Plugin::X)") to an index into the
 * values given to rule_expr_eval().  Returns NULL with an allocated
 * *error_r on a syntax error.
 */
struct rule_expr *rule_expr_compile(const char *text,
				    int (*resolve)(void *ctx, const char *name,
						   size_t len),
				    void *ctx, char **error_r);
double rule_expr_eval(const struct rule_expr *expr, const double *values);
/* the variable indexes the expression reads (for dependency order) */
const int *rule_expr_vars(const struct rule_expr *expr, size_t *n_r);
void rule_expr_deinit(struct rule_expr **exprp);

/*
 * A program: expressions run one after the other over the same values,
 * each result stored into its TARGET index when it is not 0 (a negative
 * result stores 1): the meta rules of a rule set, dependencies first.
 * The code is copied into one array; an expression whose variables are
 * all 0 is not run (its value then is known from compile time).
 */
struct rule_expr_prog;

struct rule_expr_prog *rule_expr_prog_new(void);
void rule_expr_prog_add(struct rule_expr_prog *prog,
			const struct rule_expr *expr, int target);
void rule_expr_prog_run(const struct rule_expr_prog *prog, double *values);
/* set every target of PROG to 0 again (before running it a second time:
   it only stores what is not 0) */
void rule_expr_prog_reset(const struct rule_expr_prog *prog, double *values);
void rule_expr_prog_deinit(struct rule_expr_prog **progp);

/*
 * The program over ranges: a value not yet known is given as the range
 * it will be in (a rule not run yet: 0 to 1), a known one as lo == hi.
 * Each target gets a range holding every value rule_expr_prog_run()
 * could store there for values within those ranges; it may be wider
 * than needed, never narrower.  What a rule not run yet can change.
 */
struct rule_range {
	double lo, hi;
	int nonzero;		/* and never 0 */
};

/* 1: every value in R is true (not 0); 0: R is 0; -1: not known */
int rule_range_truth(struct rule_range r);

void rule_expr_prog_run_range(const struct rule_expr_prog *prog,
			      struct rule_range *values);
void rule_expr_prog_reset_range(const struct rule_expr_prog *prog,
				struct rule_range *values);

#endif
