/*
 * rule_prefilter - skip regexes that cannot match.
 *
 * For each regex, rule_prefilter_literals() finds literal strings one of
 * which every match must contain (conservatively: when in doubt it finds
 * none, and the rule always runs).  All literals of a rule type go into
 * one Aho-Corasick automaton; one pass over a message's text tells which
 * literals occur, and only the rules with a literal present run their
 * regex.  Matching is ASCII case-insensitive, a superset of what the
 * regex accepts.  Internal to rules/.
 */
#ifndef SPAMTRAP_RULE_PREFILTER_H
#define SPAMTRAP_RULE_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

#define RULE_PREFILTER_MIN_LITERAL	3	/* shorter ones filter little */

/*
 * Literals (lower-cased, allocated, *n_r of them in *lits_r) such that
 * any match of PATTERN contains one of them.  Returns 0 when none can be
 * found (the rule must always run).
 */
int rule_prefilter_literals(const char *pattern, uint32_t pcre2_opts,
			    char ***lits_r, size_t *n_r);

struct rule_ac;

/* an automaton over LITS (ids are their indexes) */
struct rule_ac *rule_ac_build(char *const *lits, size_t n);
/*
 * Scan S, the text numbered LINE (scan lines in increasing order): for
 * every literal found, last[id] = LINE and, the first time, first[id] =
 * LINE.  Both arrays start filled with -1.
 */
void rule_ac_scan(const struct rule_ac *ac, const char *s, size_t len,
		  int32_t line, int32_t *first, int32_t *last);
void rule_ac_deinit(struct rule_ac **acp);

/* skip a regex character class starting at P ('['): the position after
   its ']', or NULL when it is not closed */
const char *rule_prefilter_skip_class(const char *p);

#endif
