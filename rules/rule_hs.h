/*
 * rule_hs - one pass over a text for many regexes (Hyperscan).
 *
 * The regexes of one rule type are compiled together into a Hyperscan
 * database in prefilter mode: a scan reports every regex that MAY match
 * the text (never misses one that does), all regexes in one pass.  Only
 * the regexes reported then run in PCRE2, which decides.  A regex
 * Hyperscan cannot take (syntax it does not know, a pattern that can
 * match the empty string, code points beyond a byte) is left out and
 * always runs.  Internal to rules/.
 */
#ifndef SPAMTRAP_RULE_HS_H
#define SPAMTRAP_RULE_HS_H

#include <stddef.h>
#include <stdint.h>

struct rule_hs;

/*
 * Databases over PATTERNS[0..N) with their PCRE2 options (OPTS), in
 * chunks of a few patterns (compile time grows faster than the count),
 * kept in CACHE_DIR when it is not NULL and can be made and written,
 * with scratch space for LANES lanes (lanes.h) scanning at once.
 * TAKEN[i] is set to 1 for each pattern in the databases (ids are the
 * indexes), 0 for the ones left out.  Returns NULL when no pattern could
 * be taken (all of TAKEN 0); *why_r then names the reason (static).
 */
struct rule_hs *rule_hs_build(const char *const *patterns,
			      const uint32_t *opts, size_t n,
			      const char *cache_dir, int lanes,
			      unsigned char *taken, const char **why_r);

/* how many databases there are: a text is scanned by each */
size_t rule_hs_dbs(const struct rule_hs *hs);

/*
 * Scan S (LEN) with database DB on lane LANE (0 .. lanes - 1; lanes
 * may scan at once, each with its own database or text): for each
 * pattern reported, end[id] = the offset just after the first match it
 * reports, which is at or before the end of the pattern's first real
 * match (END starts filled with -1; the databases hold different ids).
 * Patterns go in with HS_FLAG_MULTILINE, so S may be several texts
 * joined by "\n": a pattern that matches one of them is reported at or
 * before it.  Returns 0, or -1 when the scan failed (then END says
 * nothing: treat every pattern of the pass as reported at 0).
 */
int rule_hs_scan(const struct rule_hs *hs, int lane, size_t db,
		 const char *s, size_t len, int plain, int64_t *end);

/*
 * Is S (LEN) plain: no byte above 0x7f, no "&#"?  A plain text is
 * scanned (PLAIN 1 above) with databases whose patterns lack the
 * alternatives only such bytes can match ([\x80-\xff]{1,4}, the
 * look-alike tags' numeric references &\#\w+;): the same reports, about
 * half the cost for the look-alike rules.
 */
int rule_hs_plain_text(const char *s, size_t len);

/*
 * For a ReplaceTags value such as SpamAssassin's look-alike letters
 * "(?:[aA@...]|[\xc3][\x80...]|[\xe1](?:...)|&\#(?:...);)": the same
 * with every alternative that matches only 1 to 4 bytes above 0x7f
 * replaced by one [\x80-\xff]{1,4} and every numeric character reference
 * by &\#\w+; -- a superset, a fraction of the length (expanded tags make
 * patterns too long for Hyperscan).  NULL when nothing can be shortened.
 */
char *rule_hs_simplify_tag(const char *value);

/* the size of the compiled database, bytes */
size_t rule_hs_size(const struct rule_hs *hs);

/* add the databases loaded from the cache and compiled */
void rule_hs_counts(const struct rule_hs *hs, int *from_cache, int *compiled);

void rule_hs_deinit(struct rule_hs **hsp);

#endif
