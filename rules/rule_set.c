/*
 * rule_set - reading SpamAssassin rule files, and scoring a message.
 *
 * Loading builds one entry per rule name (score, describe and tflags
 * lines may come before or after the definition); after all files are
 * read, ReplaceTags substitutions are applied, regexes are compiled with
 * JIT, and the meta rules are put in dependency order.  Scoring computes
 * each header string once, runs each regex once per string, then the
 * metas.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lanes.h"
#include "msg.h"
#include "mymalloc.h"
#include "received.h"
#include "rule_expr.h"
#include "rule_hs.h"
#include "rule_prefilter.h"
#include "rules.h"
#include "str.h"

#define RULE_MAX_LINE		65536	/* longest rule file line */
#define RULE_MAX_INCLUDE	10	/* include nesting */
#define RULE_MAX_INCLUDES	200	/* include lines followed per load: a
					   file including its own directory
					   twice would otherwise be read 2^10
					   times */
#define RULE_MAX_IF		64	/* if/ifplugin nesting */
#define RULE_DEFAULT_REQUIRED	5.0
#define RULE_SA_VERSION		4.000001	/* what "if version" sees */
#define DFA_MAX_ENDS		256	/* ends of X kept from one start */
#define DFA_WORKSPACE		20000	/* ints, pcre2_dfa_match's */

enum rule_status {
	ST_OK,
	ST_EVAL,
	ST_UNSUPPORTED,
	ST_BAD,			/* failed to parse or compile */
};

enum hdr_kind {
	HK_PLAIN, HK_ALL, HK_TOCC, HK_ENVFROM, HK_MESSAGEID,
	HK_RELAYS,		/* X-Spam-Relays-Trusted and the like */
	HK_ALL_RELAYS,		/* ALL-TRUSTED and the like */
};

#define HM_RAW		(1 << 0)
#define HM_ADDR		(1 << 1)
#define HM_NAME		(1 << 2)
#define HM_FIRST	(1 << 3)
#define HM_LAST		(1 << 4)

#define TF_NICE		(1 << 0)
#define TF_MULTIPLE	(1 << 1)
#define TF_NOSUBJECT	(1 << 2)
#define TF_NET		(1 << 3)

struct rule {
	char *name;
	int defined;
	enum rule_type type;
	enum rule_status status;
	char *why;		/* for unsupported / bad */
	char *where;		/* file:line of the definition */
	/* regex rules */
	char *pattern;
	uint32_t re_opts;
	pcre2_code *re;
	int jit;		/* re is JIT compiled: call pcre2_jit_match */
	pcre2_code **pieces;	/* a pattern too large for PCRE2, split */
	size_t n_pieces;
	pcre2_code *rep;	/* or the group X of a too large (?:X){n}... */
	int rep_n;		/* ... whose n repeats are chained here */
	/* header rules */
	int hgroup;		/* index into header groups */
	int negate, exists;
	/* meta */
	char *expr_text;
	struct rule_expr *expr;
	int meta_bad_deps;	/* depends only on unsupported rules */
	/* settings */
	int has_score;
	double score;		/* set 0 */
	char *desc;
	int tflags, maxhits;
	int replace;		/* listed in replace_rules */
	int enabled;		/* runs */
	double spent;		/* seconds, when profiling */
	int *lits;		/* prefilter literal ids (body, rawbody) */
	size_t n_lits;		/* 0: always run */
	int hs_id;		/* id in its type's Hyperscan pass (a header
				   rule: its group's), or -1 */
	char *hs_pattern;	/* what it gets, when not pattern (shorter
				   look-alike tags) */
};

/* what one lane needs to run regexes */
struct lane {
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	pcre2_match_data *md;
	pcre2_match_data *md_dfa;	/* every end of a DFA match */
	int *dfa_ws;			/* its workspace */
};

/* a rule's place in its type's Hyperscan pass, kept beside the order the
   rules run in: a rule the pass rules out is skipped without reading it */
struct order_pass {
	int type;
	int hs_id;		/* -1: not in a pass */
};

/* a distinct header request: the string is computed once per message */
struct hgroup {
	enum hdr_kind kind;
	char *name;
	int mods;
	char *unset;		/* if-unset value, or NULL */
	struct rule_hs *hs;	/* a pass over the string for the group's
				   rules, when it has HDR_HS_MIN or more */
	size_t n_hs;		/* ids in it: 0 .. n_hs - 1 */
};

/* a header group with fewer regexes than this runs them all: one
   Hyperscan scan costs about as much as a few PCRE2 runs over a header */
#define HDR_HS_MIN	6

struct kv {
	char *key, *value;
};

struct rule_set {
	struct rule *rules;
	size_t n_rules, cap_rules;
	int *hash;		/* open addressing, -1 empty */
	size_t hash_cap;
	struct hgroup *hgroups;
	size_t n_hgroups;
	int *order;		/* enabled rules but headers and metas */
	size_t n_order;
	struct order_pass *order_pass;	/* for each of those */
	int *hdr_order;		/* enabled header rules */
	size_t n_hdr_order;
	int *defer;		/* sub-rules run last, and only when their
				   value can change the result */
	size_t n_defer;
	struct order_pass *defer_pass;	/* for each of those */
	struct rule_expr_prog *defer_metas;	/* the metas that read a
						   deferred rule, at any
						   depth, in the same order */
	int *shown;		/* those not named "__": whether each is hit
				   is (with the other rules) the result */
	size_t n_shown;
	int *defer_reads;	/* every value those metas read */
	size_t n_defer_reads;
	struct rule_range *defer_rg;	/* their ranges, per message (one
					   scoring at a time, as the lanes) */
	struct rule_expr_prog *metas;	/* enabled metas, dependencies
					   first */
	int lto;		/* the "local_tests_only" slot, always 1 */
	struct rule_ac *ac[RULE_TYPE_COUNT];	/* prefilters */
	char **lit_text[RULE_TYPE_COUNT];
	size_t n_lit[RULE_TYPE_COUNT];
	struct rule_hs *hs[RULE_TYPE_COUNT];	/* one pass per type */
	size_t n_hs[RULE_TYPE_COUNT];	/* ids in it: 0 .. n_hs - 1 */
	double required;
	struct rule_set_options opts;
	struct lanes *lanes;	/* threads that score a message */
	struct lane lane[LANES_MAX];
	unsigned long lane_rules[LANES_MAX];	/* rules run, when profiling */
	struct received_conf *rcvd;	/* trust settings, Received: parser */
	/* loading state */
	char **plugins;
	size_t n_plugins;
	struct kv *tags, *pre, *inter, *post;
	size_t n_tags, n_pre, n_inter, n_post;
	struct kv *hs_tags;	/* tags, shortened for Hyperscan */
	char *replace_start, *replace_end;
	struct rule_lint *lint;
	struct rule_lint own_lint;
	int includes;		/* include lines followed so far */
};

static const char *const type_names[RULE_TYPE_COUNT] = {
	"header", "body", "rawbody", "full", "uri", "meta",
};

const char *rule_type_name(enum rule_type type)
{
	return (unsigned)type < RULE_TYPE_COUNT ? type_names[type] : "?";
}

void rule_lint_init(struct rule_lint *lint)
{
	memset(lint, 0, sizeof(*lint));
	str_init(&lint->messages, 256);
}

void rule_lint_deinit(struct rule_lint *lint)
{
	str_deinit(&lint->messages);
}

/* ------------------------------------------------------- diagnostics */

struct where {
	const char *file;
	int line;
};

static void lint_msg(struct rule_set *rs, const struct where *w, int error,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void lint_msg(struct rule_set *rs, const struct where *w, int error,
		     const char *fmt, ...)
{
	struct str sb = STR_INIT;
	va_list ap;

	if (w != NULL)
		str_printf(&sb, "%s:%d: ", w->file, w->line);
	va_start(ap, fmt);
	str_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (error)
		rs->lint->errors++;
	str_appends(&rs->lint->messages, sb.s);
	str_appendc(&rs->lint->messages, '\n');
	if (!rs->opts.quiet)
		msg_warn("%s", sb.s);
	str_deinit(&sb);
}

/* ---------------------------------------------------------- the table */

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int rule_find(const struct rule_set *rs, const char *name)
{
	size_t i;

	if (rs->hash_cap == 0)
		return -1;
	for (i = hash_name(name) & (rs->hash_cap - 1);
	     rs->hash[i] >= 0; i = (i + 1) & (rs->hash_cap - 1))
		if (strcmp(rs->rules[rs->hash[i]].name, name) == 0)
			return rs->hash[i];
	return -1;
}

static void hash_insert(struct rule_set *rs, int idx)
{
	size_t i;

	for (i = hash_name(rs->rules[idx].name) & (rs->hash_cap - 1);
	     rs->hash[i] >= 0; i = (i + 1) & (rs->hash_cap - 1))
		;
	rs->hash[i] = idx;
}

static int rule_get(struct rule_set *rs, const char *name)
{
	int idx = rule_find(rs, name);
	struct rule *r;

	if (idx >= 0)
		return idx;
	if ((rs->n_rules + 1) * 2 > rs->hash_cap) {
		size_t i;

		rs->hash_cap = rs->hash_cap ? rs->hash_cap * 2 : 1024;
		rs->hash = myrealloc(rs->hash, rs->hash_cap * sizeof(int));
		for (i = 0; i < rs->hash_cap; i++)
			rs->hash[i] = -1;
		for (i = 0; i < rs->n_rules; i++)
			hash_insert(rs, (int)i);
	}
	if (rs->n_rules == rs->cap_rules) {
		rs->cap_rules = rs->cap_rules ? rs->cap_rules * 2 : 512;
		rs->rules = myrealloc(rs->rules,
				      rs->cap_rules * sizeof(*rs->rules));
	}
	r = &rs->rules[rs->n_rules];
	memset(r, 0, sizeof(*r));
	r->name = mystrdup(name);
	r->hgroup = -1;
	r->hs_id = -1;
	hash_insert(rs, (int)rs->n_rules);
	return (int)rs->n_rules++;
}

/* forget a previous definition (a later file redefines the rule) */
static void rule_clear_def(struct rule *r)
{
	if (r->re != NULL)
		pcre2_code_free(r->re);
	r->re = NULL;
	r->jit = 0;
	while (r->n_pieces > 0)
		pcre2_code_free(r->pieces[--r->n_pieces]);
	MYFREE(&r->pieces);
	if (r->rep != NULL)
		pcre2_code_free(r->rep);
	r->rep = NULL;
	MYFREE(&r->pattern);
	MYFREE(&r->hs_pattern);
	MYFREE(&r->why);
	MYFREE(&r->where);
	MYFREE(&r->expr_text);
	rule_expr_deinit(&r->expr);
	MYFREE(&r->lits);
	r->n_lits = 0;
	r->negate = r->exists = 0;
	r->hgroup = -1;
	r->status = ST_OK;
	r->defined = 0;
}

static int valid_rule_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

/* ------------------------------------------------------------ regexes */

/*
 * Parse a Perl match operator at TEXT: /re/flags, m{re}flags, m!re!flags.
 * Returns 0 and the pattern (allocated) and PCRE2 options, or -1 with an
 * error.  *end_r points after the flags.
 */
static int parse_regex(const char *text, char **pattern_r, uint32_t *opts_r,
		       const char **end_r, const char **error_r)
{
	const char *p = text, *start;
	char open, close;
	int depth = 0;
	struct str pat = STR_INIT;
	uint32_t opts = 0;

	if (*p == 'm' && p[1] != '\0' && !isalnum((unsigned char)p[1]) &&
	    !isspace((unsigned char)p[1]))
		p++;
	else if (*p != '/') {
		*error_r = "missing regular expression";
		return -1;
	}
	open = *p++;
	switch (open) {
	case '{': close = '}'; break;
	case '(': close = ')'; break;
	case '[': close = ']'; break;
	case '<': close = '>'; break;
	default: close = open;
	}
	start = p;
	for (; *p; p++) {
		if (*p == '\\' && p[1] != '\0') {
			/* an escaped delimiter is the delimiter itself */
			if (p[1] == close || p[1] == open) {
				if (close == '/' || !(strchr("{}()[]<>", p[1])))
					str_appendc(&pat, p[1]);
				else
					str_append(&pat, p, 2);
			} else {
				str_append(&pat, p, 2);
			}
			p++;
			continue;
		}
		if (open != close && *p == open)
			depth++;
		else if (*p == close) {
			if (depth == 0)
				break;
			depth--;
		}
		str_appendc(&pat, *p);
	}
	(void)start;
	if (*p != close) {
		str_deinit(&pat);
		*error_r = "unterminated regular expression";
		return -1;
	}
	p++;
	for (; *p && !isspace((unsigned char)*p); p++) {
		switch (*p) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 'x': opts |= PCRE2_EXTENDED; break;
		case 'o': case 'g': break;
		default:
			str_deinit(&pat);
			*error_r = "unknown regular expression flag";
			return -1;
		}
	}
	if (pat.s == NULL)
		str_appends(&pat, "");
	*pattern_r = str_steal(&pat);
	*opts_r = opts;
	*end_r = p;
	return 0;
}

/* JIT-compile regexes: set from the options of the load in progress */
static int regex_jit = 1;

static pcre2_code *compile_regex(const char *pattern, uint32_t opts,
				 struct str *error, int *code_r)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re;

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts,
			   &err, &off, NULL);
	/*
	 * \x{0456} and the like name characters, as in Perl on decoded
	 * text: match them in UTF-8 (the rendered body is UTF-8), letting
	 * invalid UTF-8 elsewhere in a subject simply not match.
	 */
	if (re == NULL && err == PCRE2_ERROR_CODE_POINT_TOO_BIG)
		re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				   opts | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
				   &err, &off, NULL);
	if (code_r != NULL)
		*code_r = re == NULL ? err : 0;
	if (re == NULL) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(err, buf, sizeof(buf));
		str_printf(error, "bad regular expression: %s at offset %zu",
			   (char *)buf, (size_t)off);
		return NULL;
	}
	if (regex_jit)
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

/*
 * A pattern too large for this PCRE2 (link size 2: 64 KiB of compiled
 * code) is split into pieces whose union matches the same texts: its
 * top-level alternatives, or prefix(?:alt)suffix for each alternative of
 * its largest top-level group that occurs exactly once.
 */
#define SPLIT_MAX_PIECES	1024
#define SPLIT_MAX_DEPTH		4

/* after a character class; the end of the pattern if it is not closed */
static const char *pat_skip_class(const char *p)
{
	const char *q = rule_prefilter_skip_class(p);

	return q ? q : p + strlen(p);
}

/* offsets of the top-level '|' in [S, E) (at most MAX), -1 on error */
static int pat_alternatives(const char *s, const char *e, const char **bars,
			    int max)
{
	int depth = 0, n = 0;
	const char *p = s;

	while (p < e) {
		if (*p == '\\') {
			p += p + 1 < e ? 2 : 1;
			continue;
		}
		if (*p == '[') {
			p = pat_skip_class(p);
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (*p == '|' && depth == 0) {
			if (n >= max)
				return -1;
			bars[n++] = p;
		}
		p++;
	}
	return depth == 0 ? n : -1;
}

static int split_compile(struct rule *r, const char *pattern, int depth);

static int split_add(struct rule *r, const char *pattern, int depth)
{
	struct str err = STR_INIT;
	int code;
	pcre2_code *re;

	if (r->n_pieces >= SPLIT_MAX_PIECES)
		return -1;
	re = compile_regex(pattern, r->re_opts, &err, &code);
	str_deinit(&err);
	if (re != NULL) {
		r->pieces = myrealloc(r->pieces, (r->n_pieces + 1) *
				      sizeof(*r->pieces));
		r->pieces[r->n_pieces++] = re;
		return 0;
	}
	if (code == PCRE2_ERROR_PATTERN_TOO_LARGE && depth < SPLIT_MAX_DEPTH)
		return split_compile(r, pattern, depth + 1);
	return -1;
}

/*
 * In [S, E): the largest group that has alternatives at its own level and
 * is not followed by a quantifier, looking inside plain groups as well.
 * best_s and best_e: its '(' and the position after its ')'.  -1 on an
 * unbalanced pattern.
 */
static int pat_find_group(const char *s, const char *e, const char **best_s,
			  const char **best_e, int level)
{
	const char *p = s;

	if (level > 64)
		return 0;
	while (p < e) {
		if (*p == '\\') {
			p += p + 1 < e ? 2 : 1;
		} else if (*p == '[') {
			p = pat_skip_class(p);
		} else if (*p == '(') {
			const char *q = p + 1, *cs = p + 1;
			int d = 1;

			while (q < e && d > 0) {
				if (*q == '\\')
					q += q + 1 < e ? 2 : 1;
				else if (*q == '[')
					q = pat_skip_class(q);
				else {
					if (*q == '(')
						d++;
					else if (*q == ')')
						d--;
					q++;
				}
			}
			if (d != 0)
				return -1;
			if (cs[0] == '?' && cs[1] == ':')
				cs += 2;
			else if (cs[0] == '?')
				cs = NULL;	/* lookaround, options */
			/* q is after ')'; a quantifier makes it unsplittable */
			if (cs != NULL && (q >= e || strchr("?*+{", *q) == NULL)) {
				const char *b[1];

				if (pat_alternatives(cs, q - 1, b, 1) != 0) {
					if (*best_s == NULL ||
					    q - p > *best_e - *best_s) {
						*best_s = p;
						*best_e = q;
					}
				} else if (pat_find_group(cs, q - 1, best_s,
							  best_e, level + 1) < 0) {
					return -1;
				}
			}
			p = q;
		} else {
			p++;
		}
	}
	return 0;
}

static int split_compile(struct rule *r, const char *pattern, int depth)
{
	const char *end = pattern + strlen(pattern);
	const char *bars[SPLIT_MAX_PIECES];
	int n = pat_alternatives(pattern, end, bars, SPLIT_MAX_PIECES), i;
	const char *best_s = NULL, *best_e = NULL;

	if (n > 0) {
		const char *start = pattern;

		for (i = 0; i <= n; i++) {
			const char *stop = i < n ? bars[i] : end;
			char *piece = mystrndup(start, (size_t)(stop - start));
			int rc = split_add(r, piece, depth);

			free(piece);
			if (rc < 0)
				return -1;
			start = stop + 1;
		}
		return 0;
	}
	/* the largest group with alternatives, not quantified, at any depth
	   reached through groups that are not quantified either */
	if (pat_find_group(pattern, end, &best_s, &best_e, 0) < 0)
		return -1;
	if (best_s == NULL)
		return -1;
	{
		const char *cs = best_s + 1;

		if (cs[0] == '?' && cs[1] == ':')
			cs += 2;
		n = pat_alternatives(cs, best_e - 1, bars, SPLIT_MAX_PIECES);
		if (n <= 0)
			return -1;
		for (i = 0; i <= n; i++) {
			const char *as = i == 0 ? cs : bars[i - 1] + 1;
			const char *ae = i < n ? bars[i] : best_e - 1;
			struct str piece = STR_INIT;
			int rc;

			str_append(&piece, pattern, (size_t)(best_s - pattern));
			str_appends(&piece, "(?:");
			str_append(&piece, as, (size_t)(ae - as));
			str_appendc(&piece, ')');
			str_appends(&piece, best_e);
			rc = split_add(r, piece.s, depth);
			str_deinit(&piece);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * A pattern that is one repeated group, (?:X){n}, (?:X){n,} or
 * (?:X){n,m}, whose repeats make it too large while X alone is not:
 * compile X; run_repeat() chains n matches of X.  (A match of the whole
 * exists exactly when n matches of X follow each other; more repeats
 * are optional.)  0, or -1 when the pattern is not of that form.
 */
#define REPEAT_MAX	50

static int repeat_compile(struct rule *r)
{
	const char *p = r->pattern, *q;
	struct str err = STR_INIT, inner = STR_INIT;
	int depth = 0;
	unsigned long n;
	char *end;

	if (strncmp(p, "(?:", 3) != 0 || (r->tflags & TF_MULTIPLE))
		return -1;
	for (q = p; *q; q++) {
		if (*q == '\\' && q[1] != '\0')
			q++;
		else if (*q == '[')
			q = pat_skip_class(q) - 1;
		else if (*q == '(')
			depth++;
		else if (*q == ')' && --depth == 0)
			break;
	}
	if (*q != ')' || q[1] != '{' || !isdigit((unsigned char)q[2]))
		return -1;
	n = strtoul(q + 2, &end, 10);
	if (*end == ',') {
		end++;
		while (isdigit((unsigned char)*end))
			end++;
	}
	if (*end != '}' || end[1] != '\0' || n < 1 || n > REPEAT_MAX)
		return -1;
	str_append(&inner, p, (size_t)(q + 1 - p));
	r->rep = compile_regex(inner.s, r->re_opts, &err, NULL);
	str_deinit(&inner);
	str_deinit(&err);
	if (r->rep == NULL)
		return -1;
	r->rep_n = (int)n;
	return 0;
}

/* ------------------------------------------------------- definitions */

struct loader {
	struct rule_set *rs;
	struct where w;
	int depth;		/* include nesting */
	int cf;			/* reading .cf (else .pre) */
};

static int hgroup_get(struct rule_set *rs, enum hdr_kind kind,
		      const char *name, int mods, const char *unset)
{
	size_t i;

	for (i = 0; i < rs->n_hgroups; i++) {
		struct hgroup *g = &rs->hgroups[i];

		if (g->kind == kind && g->mods == mods &&
		    strcasecmp(g->name, name) == 0 &&
		    ((g->unset == NULL && unset == NULL) ||
		     (g->unset && unset && strcmp(g->unset, unset) == 0)))
			return (int)i;
	}
	rs->hgroups = myrealloc(rs->hgroups,
				(rs->n_hgroups + 1) * sizeof(*rs->hgroups));
	memset(&rs->hgroups[rs->n_hgroups], 0, sizeof(*rs->hgroups));
	rs->hgroups[rs->n_hgroups].kind = kind;
	rs->hgroups[rs->n_hgroups].name = mystrdup(name);
	rs->hgroups[rs->n_hgroups].mods = mods;
	rs->hgroups[rs->n_hgroups].unset = unset ? mystrdup(unset) : NULL;
	return (int)rs->n_hgroups++;
}

/* X-Spam-Relays-Trusted & co (any case), or with ALL: ALL-TRUSTED & co;
   the list they name, -1 if none */
static int relay_list(const char *name, int all)
{
	static const char *const lists[RECEIVED_LIST_COUNT] = {
		[RECEIVED_TRUSTED] = "TRUSTED",
		[RECEIVED_UNTRUSTED] = "UNTRUSTED",
		[RECEIVED_INTERNAL] = "INTERNAL",
		[RECEIVED_EXTERNAL] = "EXTERNAL",
	};
	int i;

	for (i = 0; i < RECEIVED_LIST_COUNT; i++)
		if (all ? strncmp(name, "ALL-", 4) == 0 &&
			  strcmp(name + 4, lists[i]) == 0
			: strncasecmp(name, "X-Spam-Relays-", 14) == 0 &&
			  strcasecmp(name + 14, lists[i]) == 0)
			return i;
	return -1;
}

/* what a header name in a rule asks for */
static enum hdr_kind header_kind(const char *name)
{
	if (strcmp(name, "ALL") == 0)
		return HK_ALL;
	if (strcasecmp(name, "ToCc") == 0)
		return HK_TOCC;
	if (strcasecmp(name, "EnvelopeFrom") == 0)
		return HK_ENVFROM;
	if (strcmp(name, "MESSAGEID") == 0)
		return HK_MESSAGEID;
	if (relay_list(name, 0) >= 0)
		return HK_RELAYS;
	if (relay_list(name, 1) >= 0)
		return HK_ALL_RELAYS;
	return HK_PLAIN;
}

static void set_unsupported(struct rule *r, enum rule_status st,
			    const char *why)
{
	r->status = st;
	free(r->why);
	r->why = mystrdup(why);
}

/* "header NAME ..." */
static int def_header(struct loader *ld, struct rule *r, const char *v,
		      const char **error_r)
{
	const char *p = v, *e;
	char *hname;
	int mods = 0;
	enum hdr_kind kind;

	if (strncmp(p, "eval:", 5) == 0) {
		set_unsupported(r, ST_EVAL, "eval test");
		return 0;
	}
	if (strncmp(p, "exists:", 7) == 0) {
		p += 7;
		e = p;
		while (*e && !isspace((unsigned char)*e))
			e++;
		if (e == p) {
			*error_r = "missing header name after exists:";
			return -1;
		}
		hname = mystrndup(p, (size_t)(e - p));
		r->exists = 1;
		r->hgroup = hgroup_get(ld->rs, header_kind(hname), hname, 0,
				       NULL);
		free(hname);
		return 0;
	}
	e = p;
	while (*e && !isspace((unsigned char)*e) && *e != '=' && *e != '!')
		e++;
	if (e == p) {
		*error_r = "missing header name";
		return -1;
	}
	hname = mystrndup(p, (size_t)(e - p));
	/* modifiers */
	{
		char *colon;

		while ((colon = strrchr(hname, ':')) != NULL && colon != hname) {
			const char *m = colon + 1;

			if (strcmp(m, "raw") == 0)
				mods |= HM_RAW;
			else if (strcmp(m, "addr") == 0)
				mods |= HM_ADDR;
			else if (strcmp(m, "name") == 0)
				mods |= HM_NAME;
			else if (strcmp(m, "first") == 0)
				mods |= HM_FIRST;
			else if (strcmp(m, "last") == 0)
				mods |= HM_LAST;
			else {
				set_unsupported(r, ST_UNSUPPORTED,
						"header modifier");
				free(hname);
				return 0;
			}
			*colon = '\0';
		}
	}
	kind = header_kind(hname);
	p = e;
	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "=~", 2) == 0) {
		r->negate = 0;
	} else if (strncmp(p, "!~", 2) == 0) {
		r->negate = 1;
	} else {
		free(hname);
		*error_r = "expected =~ or !~ after the header name";
		return -1;
	}
	p += 2;
	while (isspace((unsigned char)*p))
		p++;
	if (parse_regex(p, &r->pattern, &r->re_opts, &e, error_r) < 0) {
		free(hname);
		return -1;
	}
	p = e;
	while (isspace((unsigned char)*p))
		p++;
	{
		char *unset = NULL;

		if (strncmp(p, "[if-unset:", 10) == 0) {
			const char *s = p + 10, *c = strrchr(p, ']');

			while (*s == ' ')
				s++;
			if (c == NULL) {
				free(hname);
				*error_r = "unterminated [if-unset: ...]";
				return -1;
			}
			unset = mystrndup(s, (size_t)(c - s));
		} else if (*p != '\0') {
			free(hname);
			*error_r = "junk after the regular expression";
			return -1;
		}
		r->hgroup = hgroup_get(ld->rs, kind, hname, mods, unset);
		free(unset);
	}
	free(hname);
	return 0;
}

static int def_regex_rule(struct rule *r, const char *v, const char **error_r)
{
	const char *e;

	if (strncmp(v, "eval:", 5) == 0) {
		set_unsupported(r, ST_EVAL, "eval test");
		return 0;
	}
	if (parse_regex(v, &r->pattern, &r->re_opts, &e, error_r) < 0)
		return -1;
	while (isspace((unsigned char)*e))
		e++;
	if (*e != '\0') {
		*error_r = "junk after the regular expression";
		return -1;
	}
	return 0;
}

static void def_rule(struct loader *ld, enum rule_type type, const char *v)
{
	struct rule_set *rs = ld->rs;
	char name[256];
	size_t n = strcspn(v, " \t");
	const char *error = NULL;
	struct rule *r;
	int idx, rc;
	struct str where = STR_INIT;

	if (n == 0 || n >= sizeof(name)) {
		lint_msg(rs, &ld->w, 1, "%s: missing or too long rule name",
			 rule_type_name(type));
		return;
	}
	memcpy(name, v, n);
	name[n] = '\0';
	if (!valid_rule_name(name)) {
		lint_msg(rs, &ld->w, 1, "%s: bad rule name \"%s\"",
			 rule_type_name(type), name);
		return;
	}
	v += n;
	while (isspace((unsigned char)*v))
		v++;
	idx = rule_get(rs, name);
	r = &rs->rules[idx];
	rule_clear_def(r);
	r->type = type;
	str_printf(&where, "%s:%d", ld->w.file, ld->w.line);
	r->where = str_steal(&where);
	if (type == RULE_HEADER) {
		rc = def_header(ld, r, v, &error);
	} else if (type == RULE_META) {
		if (*v == '\0') {
			error = "empty meta expression";
			rc = -1;
		} else {
			r->expr_text = mystrdup(v);
			rc = 0;
		}
	} else {
		rc = def_regex_rule(r, v, &error);
	}
	if (rc < 0) {
		lint_msg(rs, &ld->w, 1, "%s %s: %s; rule skipped",
			 rule_type_name(type), name, error);
		r->status = ST_BAD;
		r->why = mystrdup(error);
		return;
	}
	r->defined = 1;
}

static int parse_score(const char *v, double *score_r)
{
	char *end;
	double d;

	while (*v == ' ' || *v == '\t' || *v == '(')
		v++;
	errno = 0;
	d = strtod(v, &end);
	if (end == v || errno != 0 || !isfinite(d))
		return -1;
	if (*end != '\0' && *end != ' ' && *end != '\t' && *end != ')')
		return -1;
	*score_r = d;
	return 0;
}

/*
 * The rule name that starts V (a KEY line's value) into NAME (SIZE):
 * what follows it, blanks skipped, or NULL (warned) when there is none.
 */
static const char *take_name(struct loader *ld, const char *key,
			     const char *v, char *name, size_t size)
{
	size_t n = strcspn(v, " \t");

	if (n == 0 || n >= size) {
		lint_msg(ld->rs, &ld->w, 1, "%s: missing rule name", key);
		return NULL;
	}
	memcpy(name, v, n);
	name[n] = '\0';
	v += n;
	while (isspace((unsigned char)*v))
		v++;
	return v;
}

static void set_score(struct loader *ld, const char *v)
{
	char name[256];
	double s;
	struct rule *r;
	int idx;

	if ((v = take_name(ld, "score", v, name, sizeof(name))) == NULL)
		return;
	if (parse_score(v, &s) < 0) {
		lint_msg(ld->rs, &ld->w, 1, "score %s: bad score \"%s\"",
			 name, v);
		return;
	}
	idx = rule_get(ld->rs, name);
	r = &ld->rs->rules[idx];
	r->score = s;
	r->has_score = 1;
}

static void set_named(struct loader *ld, const char *key, const char *v)
{
	char name[256];
	struct rule *r;
	int idx;

	if ((v = take_name(ld, key, v, name, sizeof(name))) == NULL)
		return;
	idx = rule_get(ld->rs, name);
	r = &ld->rs->rules[idx];
	if (strcmp(key, "describe") == 0) {
		free(r->desc);
		r->desc = mystrdup(v);
	} else {		/* tflags */
		char *copy = mystrdup(v), *tok, *save = NULL;

		r->tflags = 0;
		r->maxhits = 0;
		for (tok = strtok_r(copy, " \t", &save); tok;
		     tok = strtok_r(NULL, " \t", &save)) {
			if (strcmp(tok, "nice") == 0)
				r->tflags |= TF_NICE;
			else if (strcmp(tok, "multiple") == 0)
				r->tflags |= TF_MULTIPLE;
			else if (strcmp(tok, "nosubject") == 0)
				r->tflags |= TF_NOSUBJECT;
			else if (strcmp(tok, "net") == 0)
				r->tflags |= TF_NET;
			else if (strncmp(tok, "maxhits=", 8) == 0)
				r->maxhits = atoi(tok + 8);
		}
		free(copy);
	}
}

static void kv_set(struct kv **v, size_t *n, const char *key,
		   const char *value)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].key, key) == 0) {
			free((*v)[i].value);
			(*v)[i].value = mystrdup(value);
			return;
		}
	*v = myrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = mystrdup(key);
	(*v)[*n].value = mystrdup(value);
	(*n)++;
}

static const char *kv_get(const struct kv *v, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return v[i].value;
	return NULL;
}

static int plugin_loaded(const struct rule_set *rs, const char *name,
			 size_t len)
{
	size_t i;

	for (i = 0; i < rs->n_plugins; i++)
		if (strlen(rs->plugins[i]) == len &&
		    strncmp(rs->plugins[i], name, len) == 0)
			return 1;
	return 0;
}

/* "if" expressions: version, perl_version, plugin(), can(), has() */
struct if_ctx {
	struct rule_set *rs;
	double values[64];
	int n;
};

static int if_resolve(void *vctx, const char *name, size_t len)
{
	struct if_ctx *c = vctx;
	double v = 0;

	if (c->n >= 64)
		return -1;
	if (len == 7 && strncmp(name, "version", 7) == 0) {
		v = RULE_SA_VERSION;
	} else if (len == 12 && strncmp(name, "perl_version", 12) == 0) {
		v = 5.036;
	} else if (len > 8 && (strncmp(name, "plugin(", 7) == 0 ||
			       strncmp(name, "plugin ", 7) == 0) &&
		   memchr(name, '(', len) != NULL) {
		const char *a = (const char *)memchr(name, '(', len) + 1;
		const char *b = name + len - 1;

		while (*a == ' ')
			a++;
		while (b > a && b[-1] == ' ')
			b--;
		if (b < a)
			b = a;
		v = plugin_loaded(c->rs, a, (size_t)(b - a));
	} else if (len > 5 && (strncmp(name, "can", 3) == 0 ||
			       strncmp(name, "has", 3) == 0) &&
		   memchr(name, '(', len) != NULL) {
		/* can(Mail::SpamAssassin::Conf::feature_x): SA 4 features;
		   can(Mail::SpamAssassin::Plugin::P::has_x): P loaded.
		   A name such as "canfoo" without "(" is an unknown word
		   (found by fuzz-rules: it read before the name) */
		const char *a = (const char *)memchr(name, '(', len) + 1;
		const char *b = name + len - 1;
		const char *last;

		while (*a == ' ')
			a++;
		while (b > a && b[-1] == ' ')
			b--;
		last = NULL;
		for (const char *q = a; q + 1 < b; q++)
			if (q[0] == ':' && q[1] == ':')
				last = q;
		if (last == NULL)
			v = 0;
		else if (strncmp(a, "Mail::SpamAssassin::Conf::", 26) == 0)
			v = 1;
		else
			v = plugin_loaded(c->rs, a, (size_t)(last - a));
	}
	c->values[c->n] = v;
	return c->n++;
}

static int eval_if(struct loader *ld, const char *expr, int *value_r)
{
	struct if_ctx c;
	struct rule_expr *e;
	char *error = NULL;

	memset(&c, 0, sizeof(c));
	c.rs = ld->rs;
	e = rule_expr_compile(expr, if_resolve, &c, &error);
	if (e == NULL) {
		lint_msg(ld->rs, &ld->w, 1, "bad if expression: %s", error);
		free(error);
		return -1;
	}
	*value_r = rule_expr_eval(e, c.values) != 0;
	rule_expr_deinit(&e);
	return 0;
}

static int load_path(struct rule_set *rs, const char *path, int cf, int depth);

/* SpamAssassin settings that make no sense for our engine: accepted */
static int ignored_setting(const char *key)
{
	(void)key;
	return 1;
}

/* a problem with a trust directive (received_conf_directive) */
static void relay_report(void *ctx, int error, const char *text)
{
	struct loader *ld = ctx;

	lint_msg(ld->rs, &ld->w, error, "%s", text);
}

static void load_line(struct loader *ld, char *line)
{
	struct rule_set *rs = ld->rs;
	char *key = line, *v;

	v = key + strcspn(key, " \t");
	if (*v != '\0') {
		*v++ = '\0';
		while (isspace((unsigned char)*v))
			v++;
	}
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	if (strcmp(key, "loadplugin") == 0 || strcmp(key, "tryplugin") == 0) {
		char *name = mystrndup(v, strcspn(v, " \t"));

		if (name[0] == '\0') {
			lint_msg(rs, &ld->w, 1, "%s: missing plugin name", key);
			free(name);
			return;
		}
		if (!plugin_loaded(rs, name, strlen(name))) {
			rs->plugins = myrealloc(rs->plugins,
						(rs->n_plugins + 1) *
						sizeof(char *));
			rs->plugins[rs->n_plugins++] = name;
		} else {
			free(name);
		}
		rs->lint->plugins++;
		return;
	}
	if (!ld->cf) {
		/* .pre files: only plugin lines matter */
		rs->lint->ignored_settings++;
		return;
	}
	if (received_conf_directive(rs->rcvd, key, v, relay_report, ld))
		return;
	if (strcmp(key, "header") == 0)
		def_rule(ld, RULE_HEADER, v);
	else if (strcmp(key, "body") == 0)
		def_rule(ld, RULE_BODY, v);
	else if (strcmp(key, "rawbody") == 0)
		def_rule(ld, RULE_RAWBODY, v);
	else if (strcmp(key, "full") == 0)
		def_rule(ld, RULE_FULL, v);
	else if (strcmp(key, "uri") == 0)
		def_rule(ld, RULE_URI, v);
	else if (strcmp(key, "meta") == 0)
		def_rule(ld, RULE_META, v);
	else if (strcmp(key, "score") == 0)
		set_score(ld, v);
	else if (strcmp(key, "describe") == 0 || strcmp(key, "tflags") == 0)
		set_named(ld, key, v);
	else if (strcmp(key, "required_score") == 0 ||
		 strcmp(key, "required_hits") == 0) {
		double d;

		if (parse_score(v, &d) < 0)
			lint_msg(rs, &ld->w, 1, "%s: bad number \"%s\"", key, v);
		else
			rs->required = d;
	} else if (strcmp(key, "include") == 0) {
		struct str path = STR_INIT;

		if (v[0] == '/') {
			str_appends(&path, v);
		} else {
			const char *slash = strrchr(ld->w.file, '/');

			if (slash != NULL)
				str_append(&path, ld->w.file,
					   (size_t)(slash + 1 - ld->w.file));
			str_appends(&path, v);
		}
		if (v[0] == '\0')
			lint_msg(rs, &ld->w, 1, "include: no file name");
		else if (ld->depth >= RULE_MAX_INCLUDE)
			lint_msg(rs, &ld->w, 1, "include %s: nested too deeply",
				 v);
		else if (rs->includes >= RULE_MAX_INCLUDES)
			lint_msg(rs, &ld->w, 1, "include %s: more than %d "
				 "includes in one load", v, RULE_MAX_INCLUDES);
		else {
			rs->includes++;
			if (load_path(rs, path.s, 1, ld->depth + 1) < 0)
				lint_msg(rs, &ld->w, 1, "include %s: %s", v,
					 strerror(errno));
		}
		str_deinit(&path);
	} else if (strcmp(key, "lang") == 0) {
		rs->lint->lang_lines++;
	} else if (strcmp(key, "replace_tag") == 0 ||
		   strcmp(key, "replace_pre") == 0 ||
		   strcmp(key, "replace_inter") == 0 ||
		   strcmp(key, "replace_post") == 0) {
		char *name = mystrndup(v, strcspn(v, " \t"));
		const char *val = v + strlen(name);

		while (isspace((unsigned char)*val))
			val++;
		if (key[8] == 't')
			kv_set(&rs->tags, &rs->n_tags, name, val);
		else if (key[8] == 'p' && key[9] == 'r')
			kv_set(&rs->pre, &rs->n_pre, name, val);
		else if (key[8] == 'i')
			kv_set(&rs->inter, &rs->n_inter, name, val);
		else
			kv_set(&rs->post, &rs->n_post, name, val);
		free(name);
	} else if (strcmp(key, "replace_rules") == 0) {
		char *copy = mystrdup(v), *tok, *save = NULL;

		for (tok = strtok_r(copy, " \t", &save); tok;
		     tok = strtok_r(NULL, " \t", &save)) {
			int idx = rule_get(rs, tok);

			rs->rules[idx].replace = 1;
		}
		free(copy);
	} else if (strcmp(key, "replace_start") == 0) {
		free(rs->replace_start);
		rs->replace_start = mystrdup(v);
	} else if (strcmp(key, "replace_end") == 0) {
		free(rs->replace_end);
		rs->replace_end = mystrdup(v);
	} else if (ignored_setting(key)) {
		rs->lint->ignored_settings++;
	}
}

/* read one file; if-stack is per file, as in SpamAssassin */
static int load_file(struct rule_set *rs, const char *path, int cf, int depth)
{
	FILE *fp = fopen(path, "r");
	struct loader ld;
	char *buf;
	struct {
		int active, taken, in_else;
	} stack[RULE_MAX_IF];
	int sp = 0, active = 1;

	if (fp == NULL)
		return -1;
	rs->lint->files++;
	memset(&ld, 0, sizeof(ld));
	ld.rs = rs;
	ld.w.file = path;
	ld.depth = depth;
	ld.cf = cf;
	buf = mymalloc(RULE_MAX_LINE);
	while (fgets(buf, RULE_MAX_LINE, fp) != NULL) {
		size_t len = strlen(buf);
		char *p, *out, *line;
		char *key;
		size_t kl;

		ld.w.line++;
		if (len > 0 && buf[len - 1] != '\n' && !feof(fp)) {
			int c;

			while ((c = getc(fp)) != EOF && c != '\n')
				;
			lint_msg(rs, &ld.w, 1, "line too long; skipped");
			continue;
		}
		/* comments: an unescaped '#'; "\#" is a literal '#' */
		for (p = out = buf; *p; p++) {
			if (*p == '#' && (p == buf || p[-1] != '\\'))
				break;
			if (*p == '\\' && p[1] == '#') {
				continue;
			}
			*out++ = *p;
		}
		*out = '\0';
		while (out > buf && isspace((unsigned char)out[-1]))
			*--out = '\0';
		line = buf;
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0')
			continue;
		kl = strcspn(line, " \t");
		key = line;
		if ((kl == 8 && strncasecmp(key, "ifplugin", 8) == 0) ||
		    (kl == 2 && strncasecmp(key, "if", 2) == 0)) {
			const char *arg = line + kl;
			int val = 0;

			while (isspace((unsigned char)*arg))
				arg++;
			if (sp >= RULE_MAX_IF) {
				lint_msg(rs, &ld.w, 1, "if nested too deeply");
				continue;
			}
			if (active) {
				if (kl == 8)
					val = plugin_loaded(rs, arg, strlen(arg));
				else if (eval_if(&ld, arg, &val) < 0)
					val = 0;
			}
			stack[sp].active = active;
			stack[sp].taken = val;
			stack[sp].in_else = 0;
			sp++;
			active = active && val;
			continue;
		}
		if (kl == 4 && strncasecmp(key, "else", 4) == 0) {
			if (sp == 0 || stack[sp - 1].in_else) {
				lint_msg(rs, &ld.w, 1, "else without if");
				continue;
			}
			stack[sp - 1].in_else = 1;
			active = stack[sp - 1].active && !stack[sp - 1].taken;
			continue;
		}
		if (kl == 5 && strncasecmp(key, "endif", 5) == 0) {
			if (sp == 0) {
				lint_msg(rs, &ld.w, 1, "endif without if");
				continue;
			}
			sp--;
			active = stack[sp].active;
			continue;
		}
		if (!active)
			continue;
		load_line(&ld, line);
	}
	if (ferror(fp))
		lint_msg(rs, &ld.w, 1, "read error: %s", strerror(errno));
	if (sp > 0)
		lint_msg(rs, &ld.w, 1, "missing endif");
	fclose(fp);
	free(buf);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PATH is a file or a directory whose *.cf (or *.pre) files are read */
static int load_path(struct rule_set *rs, const char *path, int cf, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	const char *ext = cf ? ".cf" : ".pre";

	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return cf || depth > 0 ? load_file(rs, path, cf, depth) : 0;
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), el = strlen(ext);

		if (l > el && strcmp(de->d_name + l - el, ext) == 0 &&
		    de->d_name[0] != '.') {
			names = myrealloc(names, (n + 1) * sizeof(char *));
			names[n++] = mystrdup(de->d_name);
		}
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(char *), name_cmp);
	for (i = 0; i < n; i++) {
		struct str p = STR_INIT;

		str_printf(&p, "%s/%s", path, names[i]);
		if (load_file(rs, p.s, cf, depth) < 0)
			lint_msg(rs, NULL, 1, "%s: %s", p.s, strerror(errno));
		str_deinit(&p);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* ----------------------------------------------------- finish loading */

/* ReplaceTags: substitute <TAG>, <pre X>, <inter X>, <post X> */
/* does type T have a Hyperscan pass (texts scanned one by one)? */
static int hs_type(int t)
{
	return t == RULE_BODY || t == RULE_RAWBODY || t == RULE_URI;
}

/* the tag values shortened for Hyperscan, once per load */
static void hs_tags_build(struct rule_set *rs)
{
	size_t i;

	if (rs->hs_tags != NULL)
		return;
	rs->hs_tags = mycalloc(rs->n_tags + 1, sizeof(*rs->hs_tags));
	for (i = 0; i < rs->n_tags; i++) {
		char *v = rule_hs_simplify_tag(rs->tags[i].value);

		rs->hs_tags[i].key = mystrdup(rs->tags[i].key);
		rs->hs_tags[i].value = v ? v : mystrdup(rs->tags[i].value);
	}
}

static char *replace_tags(struct rule_set *rs, const char *re,
			  const struct kv *tags)
{
	const char *start = rs->replace_start ? rs->replace_start : "<";
	const char *end = rs->replace_end ? rs->replace_end : ">";
	char *cur = mystrdup(re);
	int pass;

	for (pass = 0; pass <= 5; pass++) {
		const char *pre = NULL, *post = NULL, *inter = NULL;
		const char *kinds[3] = { "pre ", "post ", "inter " };
		const char **vals[3] = { &pre, &post, &inter };
		struct str out = STR_INIT;
		const char *p;
		int again = 0, k, first = 1;

		for (k = 0; k < 3; k++) {
			struct str tag = STR_INIT;
			char *at, *close;

			str_printf(&tag, "%s%s", start, kinds[k]);
			at = strstr(cur, tag.s);
			if (at != NULL &&
			    (close = strstr(at + tag.len, end)) != NULL) {
				char *name = mystrndup(at + tag.len,
						       (size_t)(close - at -
								tag.len));
				const struct kv *tab = k == 0 ? rs->pre
						     : k == 1 ? rs->post
							      : rs->inter;
				size_t nt = k == 0 ? rs->n_pre
					  : k == 1 ? rs->n_post : rs->n_inter;

				*vals[k] = kv_get(tab, nt, name);
				free(name);
				memmove(at, close + strlen(end),
					strlen(close + strlen(end)) + 1);
			}
			str_deinit(&tag);
		}
		/* split on <[^<>]+> as SpamAssassin does */
		p = cur;
		while (*p) {
			const char *lt = strchr(p, '<'), *gt;

			while (lt != NULL) {
				gt = lt + 1;
				while (*gt && *gt != '<' && *gt != '>')
					gt++;
				if (*gt == '>' && gt > lt + 1)
					break;
				lt = strchr(lt + 1, '<');
			}
			if (lt == NULL) {
				str_appends(&out, p);
				break;
			}
			gt = strchr(lt, '>');
			if (lt > p)
				str_append(&out, p, (size_t)(lt - p));
			else if (inter != NULL && (first || 1))
				str_appends(&out, inter);
			{
				char *name = mystrndup(lt + 1,
						       (size_t)(gt - lt - 1));
				const char *rep = kv_get(tags, rs->n_tags,
							 name);

				if (pre != NULL)
					str_appends(&out, pre);
				if (rep != NULL && rep[0] != '\0') {
					str_appends(&out, rep);
					if (strchr(rep, '<') && strchr(rep, '>'))
						again = 1;
				} else {
					str_append(&out, lt,
						   (size_t)(gt + 1 - lt));
				}
				if (post != NULL)
					str_appends(&out, post);
				free(name);
			}
			first = 0;
			p = gt + 1;
		}
		free(cur);
		cur = str_steal(&out);
		if (!again)
			break;
	}
	return cur;
}

struct meta_ctx {
	struct rule_set *rs;
	int local_tests_only;
};

static int meta_resolve(void *vctx, const char *name, size_t len)
{
	struct meta_ctx *c = vctx;
	char buf[256];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (strcmp(buf, "local_tests_only") == 0)
		return c->rs->lto;
	/* an unknown name is a placeholder: never hits, unsupported */
	return rule_get(c->rs, buf);
}

static double effective_score(const struct rule *r)
{
	double s;

	if (r->has_score)
		return r->score;
	s = strncmp(r->name, "T_", 2) == 0 ? 0.01 : 1.0;
	return (r->tflags & TF_NICE) ? -s : s;
}

/* bit 1: reaches a supported rule; bit 2: reaches an unsupported one */
static int meta_support(struct rule_set *rs, int idx, int depth)
{
	struct rule *r = &rs->rules[idx];
	const int *vars;
	size_t n, i;
	int mask = 0;

	if (idx == rs->lto)
		return 1;
	if (r->type != RULE_META)
		return r->defined && r->status == ST_OK ? 1 : 2;
	if (r->expr == NULL || depth > 50)
		return 2;
	vars = rule_expr_vars(r->expr, &n);
	for (i = 0; i < n; i++)
		mask |= meta_support(rs, vars[i], depth + 1);
	return mask == 0 ? 1 : mask;
}


/* the regexes of one Hyperscan pass, and where they come from */
struct hs_pass {
	const char **pats;
	uint32_t *opts;
	int *idx;		/* the rules */
	unsigned char *taken;
	size_t n;
};

/* add rule I's regex to pass P */
static void hs_pass_add(struct rule_set *rs, struct hs_pass *p, size_t i)
{
	struct rule *r = &rs->rules[i];
	uint32_t o = r->re_opts;

	if (r->re != NULL)
		(void)pcre2_pattern_info(r->re, PCRE2_INFO_ALLOPTIONS, &o);
	p->pats[p->n] = r->hs_pattern ? r->hs_pattern : r->pattern;
	p->opts[p->n] = o;
	p->idx[p->n++] = (int)i;
}

/* compile pass P (rules of type T); NULL, and WHY, when nothing could
   be taken; the rules taken get their hs_id */
static struct rule_hs *hs_pass_build(struct rule_set *rs, struct hs_pass *p,
				     int t, const char **why_r)
{
	struct rule_hs *hs = rule_hs_build(p->pats, p->opts, p->n,
					   rs->opts.cache_dir,
					   lanes_count(rs->lanes), p->taken,
					   why_r);
	size_t i;

	if (hs == NULL)
		return NULL;
	rs->lint->hyperscan_bytes += rule_hs_size(hs);
	rule_hs_counts(hs, &rs->lint->hyperscan_cached,
		       &rs->lint->hyperscan_compiled);
	for (i = 0; i < p->n; i++)
		if (p->taken[i]) {
			rs->rules[p->idx[i]].hs_id = (int)i;
			rs->lint->hyperscan[t]++;
		}
	return hs;
}

/*
 * One Hyperscan pass per type over the regexes of the body, rawbody and
 * uri rules, and one per header group with HDR_HS_MIN regexes or more
 * over the group's string (rules that test only whether a header exists
 * have none); a rule left out keeps hs_id -1.
 */
static void build_hyperscan(struct rule_set *rs)
{
	struct hs_pass p;
	const char *why;
	size_t i, g;
	int t;

	p.pats = mycalloc(rs->n_rules + 1, sizeof(char *));
	p.opts = mycalloc(rs->n_rules + 1, sizeof(uint32_t));
	p.idx = mycalloc(rs->n_rules + 1, sizeof(int));
	p.taken = mycalloc(rs->n_rules + 1, 1);
	for (t = 0; t < RULE_TYPE_COUNT; t++) {
		if (!hs_type(t))
			continue;
		for (i = p.n = 0; i < rs->n_rules; i++)
			if (rs->rules[i].enabled && (int)rs->rules[i].type == t)
				hs_pass_add(rs, &p, i);
		if (p.n == 0)
			continue;
		rs->hs[t] = hs_pass_build(rs, &p, t, &why);
		if (rs->hs[t] == NULL)
			lint_msg(rs, NULL, 0, "%s rules: no Hyperscan pass (%s); "
				 "every regex runs on every text",
				 rule_type_name(t), why);
		else
			rs->n_hs[t] = p.n;
	}
	for (g = 0; g < rs->n_hgroups; g++) {
		struct hgroup *hg = &rs->hgroups[g];

		for (i = p.n = 0; i < rs->n_rules; i++) {
			const struct rule *r = &rs->rules[i];

			if (r->enabled && r->type == RULE_HEADER && !r->exists
			    && r->hgroup == (int)g && r->pattern != NULL)
				hs_pass_add(rs, &p, i);
		}
		/* without a pass, every regex of the group runs */
		if (p.n >= HDR_HS_MIN &&
		    (hg->hs = hs_pass_build(rs, &p, RULE_HEADER, &why)) != NULL)
			hg->n_hs = p.n;
	}
	free(p.pats);
	free(p.opts);
	free(p.idx);
	free(p.taken);
}

/* literals for the body and rawbody rules Hyperscan did not take, one
   automaton per type */
static void build_prefilters(struct rule_set *rs)
{
	size_t i, k;

	if (!rs->opts.no_hyperscan)
		build_hyperscan(rs);
	for (i = 0; i < rs->n_rules; i++) {
		struct rule *r = &rs->rules[i];
		char **lits;
		size_t n;
		int t = r->type;

		if (!r->enabled || (t != RULE_BODY && t != RULE_RAWBODY) ||
		    r->hs_id >= 0)
			continue;
		if (!rule_prefilter_literals(r->pattern, r->re_opts, &lits, &n))
			continue;
		r->lits = mymalloc(n * sizeof(int));
		r->n_lits = n;
		rs->lint->prefiltered++;
		for (k = 0; k < n; k++) {
			size_t j;

			for (j = 0; j < rs->n_lit[t]; j++)
				if (strcmp(rs->lit_text[t][j], lits[k]) == 0)
					break;
			if (j == rs->n_lit[t]) {
				rs->lit_text[t] = myrealloc(rs->lit_text[t],
							    (j + 1) *
							    sizeof(char *));
				rs->lit_text[t][j] = lits[k];
				rs->n_lit[t]++;
			} else {
				free(lits[k]);
			}
			r->lits[k] = (int)j;
		}
		free(lits);
	}
	for (k = 0; k < RULE_TYPE_COUNT; k++)
		if (rs->n_lit[k] > 0)
			rs->ac[k] = rule_ac_build(rs->lit_text[k], rs->n_lit[k]);
}

/*
 * Rules run last, and only on a message where their value can change
 * the result (rule_set_score): sub-rules ("__", seen only by metas) of
 * the body and rawbody whose regex is long.  Such regexes (SpamAssassin's
 * __FILL_THIS_FORM_LONG2 and SHORT2: alternations of hundreds of words,
 * repeated) took 40% of all PCRE2 time over the corpus, on the lines
 * Hyperscan cannot rule out, and the metas that read them are often
 * decided without them (&& !__VIA_ML, ...).  Counting rules (tflags
 * multiple) run always: only 0 or 1 is assumed of a rule not run.
 */
#define DEFER_PATTERN_MIN	1000	/* bytes of regex */

static int deferred(const struct rule_set *rs, const struct rule *r)
{
	return !rs->opts.every_rule &&
	       (r->type == RULE_BODY || r->type == RULE_RAWBODY) &&
	       strncmp(r->name, "__", 2) == 0 && !(r->tflags & TF_MULTIPLE) &&
	       r->pattern != NULL && strlen(r->pattern) >= DEFER_PATTERN_MIN;
}

/* for each of the N rules of ORDER, its place in its type's Hyperscan
   pass */
static struct order_pass *order_passes(const struct rule_set *rs,
				       const int *order, size_t n)
{
	struct order_pass *op = mycalloc(n + 1, sizeof(*op));
	size_t i;

	for (i = 0; i < n; i++) {
		const struct rule *r = &rs->rules[order[i]];

		op[i].type = r->type;
		op[i].hs_id = rs->hs[r->type] != NULL ? r->hs_id : -1;
	}
	return op;
}

/*
 * The metas that read a deferred rule, directly or through other metas,
 * as a program of their own (SEQ: the N_SEQ metas in the order of the
 * whole program), and the shown ones among them: only those can change
 * with the deferred rules.
 */
static void build_defer_metas(struct rule_set *rs, const int *seq,
			      size_t n_seq)
{
	unsigned char *moves, *read;
	size_t i, j;

	if (rs->n_defer == 0)
		return;
	moves = mycalloc(rs->n_rules + 1, 1);
	read = mycalloc(rs->n_rules + 1, 1);
	for (i = 0; i < rs->n_defer; i++)
		moves[rs->defer[i]] = 1;
	rs->defer_metas = rule_expr_prog_new();
	for (i = 0; i < n_seq; i++) {
		const struct rule *r = &rs->rules[seq[i]];
		size_t nv;
		const int *vars = rule_expr_vars(r->expr, &nv);

		for (j = 0; j < nv && !moves[vars[j]]; j++)
			;
		if (j == nv)
			continue;
		moves[seq[i]] = 1;
		for (j = 0; j < nv; j++)
			read[vars[j]] = 1;
		rule_expr_prog_add(rs->defer_metas, r->expr, seq[i]);
		if (strncmp(r->name, "__", 2) != 0) {
			rs->shown = myrealloc(rs->shown, (rs->n_shown + 1) *
					      sizeof(int));
			rs->shown[rs->n_shown++] = seq[i];
		}
	}
	rs->defer_reads = mymalloc((rs->n_rules + 1) * sizeof(int));
	for (i = 0; i < rs->n_rules; i++)
		if (read[i])
			rs->defer_reads[rs->n_defer_reads++] = (int)i;
	rs->defer_rg = mymalloc((rs->n_rules + 1) * sizeof(*rs->defer_rg));
	free(read);
	free(moves);
}

static void finish(struct rule_set *rs)
{
	size_t i, n_seq = 0;
	int *seq;
	struct meta_ctx mc = { rs, 1 };
	int *state;

	for (i = 0; i < rs->n_rules; i++) {
		struct rule *r = &rs->rules[i];
		struct str err = STR_INIT;
		struct where w = { r->where ? r->where : "?", 0 };

		if (!r->defined || r->status != ST_OK)
			continue;
		if (r->type == RULE_META) {
			char *error = NULL;
			struct rule_expr *e;

			e = rule_expr_compile(r->expr_text, meta_resolve, &mc,
					      &error);
			/* placeholders may have moved the table */
			r = &rs->rules[i];
			r->expr = e;
			if (r->expr == NULL) {
				lint_msg(rs, NULL, 1, "%s: meta %s: %s; rule "
					 "skipped", w.file, r->name, error);
				free(error);
				r->status = ST_BAD;
			}
			continue;
		}
		if (r->type == RULE_HEADER && r->exists)
			continue;
		if (r->replace && rs->n_tags > 0) {
			char *nre = replace_tags(rs, r->pattern, rs->tags);

			if (hs_type(r->type)) {
				hs_tags_build(rs);
				r->hs_pattern = replace_tags(rs, r->pattern,
							     rs->hs_tags);
			}
			free(r->pattern);
			r->pattern = nre;
		}
		{
			int code;

			r->re = compile_regex(r->pattern, r->re_opts, &err,
					      &code);
			if (r->re != NULL) {
				size_t jsize = 0;

				r->jit = pcre2_pattern_info(r->re,
							    PCRE2_INFO_JITSIZE,
							    &jsize) == 0 &&
					 jsize > 0;
			}
			if (r->re == NULL &&
			    code == PCRE2_ERROR_PATTERN_TOO_LARGE) {
				if (split_compile(r, r->pattern, 0) == 0 ||
				    repeat_compile(r) == 0) {
					str_deinit(&err);
					continue;
				}
				while (r->n_pieces > 0)
					pcre2_code_free(r->pieces[--r->n_pieces]);
				MYFREE(&r->pieces);
				/* valid, but beyond this PCRE2: not a bad line */
				lint_msg(rs, NULL, 0, "%s: %s %s: regular "
					 "expression too large for PCRE2 (%s); "
					 "rule unsupported", w.file,
					 rule_type_name(r->type), r->name,
					 err.s);
				set_unsupported(r, ST_UNSUPPORTED,
						"regex too large for PCRE2");
				str_deinit(&err);
				continue;
			}
		}
		if (r->re == NULL) {
			lint_msg(rs, NULL, 1, "%s: %s %s: %s; rule skipped",
				 w.file, rule_type_name(r->type), r->name,
				 err.s);
			r->status = ST_BAD;
		}
		str_deinit(&err);
	}
	/* what runs, and when */
	for (i = 0; i < rs->n_rules; i++) {
		struct rule *r = &rs->rules[i];

		if (!r->defined)
			continue;
		if (r->status == ST_EVAL) {
			rs->lint->eval[r->type]++;
			continue;
		}
		if (r->status == ST_UNSUPPORTED) {
			rs->lint->unsupported[r->type]++;
			continue;
		}
		if (r->status != ST_OK)
			continue;
		if (effective_score(r) == 0 || (r->tflags & TF_NET)) {
			rs->lint->disabled++;
			continue;
		}
		r->enabled = 1;
		rs->lint->loaded[r->type]++;
		if (r->type == RULE_HEADER) {
			rs->hdr_order = myrealloc(rs->hdr_order,
						  (rs->n_hdr_order + 1) *
						  sizeof(int));
			rs->hdr_order[rs->n_hdr_order++] = (int)i;
		} else if (deferred(rs, r)) {
			rs->defer = myrealloc(rs->defer, (rs->n_defer + 1) *
					      sizeof(int));
			rs->defer[rs->n_defer++] = (int)i;
			rs->lint->deferred++;
		} else if (r->type != RULE_META) {
			rs->order = myrealloc(rs->order, (rs->n_order + 1) *
					      sizeof(int));
			rs->order[rs->n_order++] = (int)i;
		}
	}
	build_prefilters(rs);
	rs->order_pass = order_passes(rs, rs->order, rs->n_order);
	rs->defer_pass = order_passes(rs, rs->defer, rs->n_defer);
	for (i = 0; i < rs->n_rules; i++) {
		struct rule *r = &rs->rules[i];

		if (!r->enabled || r->type != RULE_META)
			continue;
		switch (meta_support(rs, (int)i, 0)) {
		case 2:
			r->meta_bad_deps = 2;
			rs->lint->meta_unsupported++;
			break;
		case 3:
			r->meta_bad_deps = 1;
			rs->lint->meta_partial++;
			break;
		}
	}
	/* metas, dependencies first, into one program; loops are reported
	   and skipped */
	rs->metas = rule_expr_prog_new();
	state = mycalloc(rs->n_rules + 1, sizeof(int));
	seq = mymalloc((rs->n_rules + 1) * sizeof(int));
	for (i = 0; i < rs->n_rules; i++) {
		struct rule *r = &rs->rules[i];
		int stack_idx[512], stack_pos[512], sp = 0;

		if (!r->enabled || r->type != RULE_META || state[i] != 0)
			continue;
		stack_idx[0] = (int)i;
		stack_pos[0] = 0;
		state[i] = 1;
		sp = 1;
		while (sp > 0) {
			int cur = stack_idx[sp - 1];
			const int *vars;
			size_t nv;

			vars = rule_expr_vars(rs->rules[cur].expr, &nv);
			if ((size_t)stack_pos[sp - 1] < nv) {
				int dep = vars[stack_pos[sp - 1]++];
				struct rule *d;

				d = &rs->rules[dep];
				if (!d->enabled || d->type != RULE_META)
					continue;
				if (state[dep] == 1) {
					lint_msg(rs, NULL, 1,
						 "%s: meta %s: dependency loop "
						 "through %s; rule skipped",
						 rs->rules[cur].where,
						 rs->rules[cur].name, d->name);
					rs->rules[cur].enabled = 0;
					continue;
				}
				if (state[dep] == 0 && sp < 512) {
					state[dep] = 1;
					stack_idx[sp] = dep;
					stack_pos[sp] = 0;
					sp++;
				}
				continue;
			}
			/* its enabled flag is final: only a rule on the
			   stack is disabled, by a loop through it */
			state[cur] = 2;
			if (rs->rules[cur].enabled) {
				rule_expr_prog_add(rs->metas,
						   rs->rules[cur].expr, cur);
				seq[n_seq++] = cur;
			}
			sp--;
		}
	}
	free(state);
	build_defer_metas(rs, seq, n_seq);
	free(seq);
}

struct rule_set *rule_set_load(const char *const *dirs, size_t n_dirs,
			       const struct rule_set_options *opts,
			       struct rule_lint *lint, char **error_r)
{
	struct rule_set *rs = mycalloc(1, sizeof(*rs));
	struct rule_set_options defaults = RULE_SET_OPTIONS_INIT;
	size_t i;
	int readable = 0;

	rs->opts = opts ? *opts : defaults;
	rs->lanes = lanes_init(rs->opts.threads);
	regex_jit = !rs->opts.no_jit;
	rs->required = RULE_DEFAULT_REQUIRED;
	if (lint == NULL) {
		rule_lint_init(&rs->own_lint);
		lint = &rs->own_lint;
	}
	rs->lint = lint;
	rs->rcvd = received_conf_new();
	for (i = 0; i < n_dirs; i++)
		if (load_path(rs, dirs[i], 0, 0) == 0)
			readable++;
	for (i = 0; i < n_dirs; i++)
		if (load_path(rs, dirs[i], 1, 0) < 0)
			lint_msg(rs, NULL, 1, "%s: %s", dirs[i],
				 strerror(errno));
	if (readable == 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "no rule directory could be read (%zu given)",
			   n_dirs);
		*error_r = str_steal(&sb);
		rs->lint = NULL;
		rule_set_deinit(&rs);
		return NULL;
	}
	rs->lto = rule_get(rs, "local_tests_only");
	finish(rs);
	for (i = 0; i < (size_t)lanes_count(rs->lanes); i++) {
		struct lane *ln = &rs->lane[i];

		ln->mctx = pcre2_match_context_create(NULL);
		if (rs->opts.match_limit > 0) {
			pcre2_set_match_limit(ln->mctx,
					      (uint32_t)rs->opts.match_limit);
			pcre2_set_depth_limit(ln->mctx, (uint32_t)(
				rs->opts.match_limit / 10 + 1));
		}
		ln->jit_stack = pcre2_jit_stack_create(32 * 1024,
						       4 * 1024 * 1024, NULL);
		if (ln->jit_stack != NULL)
			pcre2_jit_stack_assign(ln->mctx, NULL, ln->jit_stack);
		ln->md = pcre2_match_data_create(32, NULL);
		ln->md_dfa = pcre2_match_data_create(DFA_MAX_ENDS, NULL);
		ln->dfa_ws = mymalloc(DFA_WORKSPACE * sizeof(int));
	}
	rs->lint = NULL;
	return rs;
}

void rule_set_deinit(struct rule_set **rsp)
{
	struct rule_set *rs = *rsp;
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n_rules; i++) {
		rule_clear_def(&rs->rules[i]);
		free(rs->rules[i].name);
		free(rs->rules[i].desc);
	}
	free(rs->rules);
	free(rs->hash);
	for (i = 0; i < rs->n_hgroups; i++) {
		free(rs->hgroups[i].name);
		free(rs->hgroups[i].unset);
		rule_hs_deinit(&rs->hgroups[i].hs);
	}
	free(rs->hgroups);
	free(rs->order);
	free(rs->order_pass);
	free(rs->hdr_order);
	free(rs->defer);
	free(rs->defer_pass);
	free(rs->shown);
	free(rs->defer_reads);
	free(rs->defer_rg);
	rule_expr_prog_deinit(&rs->defer_metas);
	rule_expr_prog_deinit(&rs->metas);
	for (i = 0; i < RULE_TYPE_COUNT; i++) {
		size_t j;

		rule_ac_deinit(&rs->ac[i]);
		rule_hs_deinit(&rs->hs[i]);
		for (j = 0; j < rs->n_lit[i]; j++)
			free(rs->lit_text[i][j]);
		free(rs->lit_text[i]);
	}
	for (i = 0; i < rs->n_plugins; i++)
		free(rs->plugins[i]);
	free(rs->plugins);
#define FREE_KV(v, n) do { for (i = 0; i < (n); i++) { \
	free((v)[i].key); free((v)[i].value); } free(v); } while (0)
	FREE_KV(rs->tags, rs->n_tags);
	if (rs->hs_tags != NULL)
		FREE_KV(rs->hs_tags, rs->n_tags);
	FREE_KV(rs->pre, rs->n_pre);
	FREE_KV(rs->inter, rs->n_inter);
	FREE_KV(rs->post, rs->n_post);
	free(rs->replace_start);
	free(rs->replace_end);
	lanes_deinit(&rs->lanes);
	for (i = 0; i < LANES_MAX; i++) {
		struct lane *ln = &rs->lane[i];

		if (ln->md)
			pcre2_match_data_free(ln->md);
		if (ln->md_dfa != NULL)
			pcre2_match_data_free(ln->md_dfa);
		free(ln->dfa_ws);
		if (ln->mctx)
			pcre2_match_context_free(ln->mctx);
		if (ln->jit_stack)
			pcre2_jit_stack_free(ln->jit_stack);
	}
	received_conf_deinit(&rs->rcvd);
	rule_lint_deinit(&rs->own_lint);
	free(rs);
	*rsp = NULL;
}

double rule_set_required(const struct rule_set *rs)
{
	return rs->required;
}

size_t rule_set_count(const struct rule_set *rs)
{
	size_t i, n = 0;

	for (i = 0; i < rs->n_rules; i++)
		n += rs->rules[i].defined || rs->rules[i].status == ST_BAD;
	return n;
}

void rule_set_list(const struct rule_set *rs, FILE *fp)
{
	size_t i;

	for (i = 0; i < rs->n_rules; i++) {
		const struct rule *r = &rs->rules[i];
		const char *st;

		if ((!r->defined && r->status != ST_BAD) || (int)i == rs->lto)
			continue;
		if (r->status == ST_BAD)
			st = "bad";
		else if (r->status == ST_EVAL)
			st = "eval";
		else if (r->status == ST_UNSUPPORTED)
			st = "unsupported";
		else if (!r->enabled)
			st = "disabled";
		else if (r->meta_bad_deps == 2)
			st = "meta-unsupported";
		else if (r->meta_bad_deps == 1)
			st = "meta-partial";
		else
			st = "ok";
		fprintf(fp, "%s %s %s", r->name, rule_type_name(r->type), st);
		if ((r->status == ST_UNSUPPORTED || r->status == ST_BAD) &&
		    r->why != NULL) {
			const char *c;

			fputc(' ', fp);
			for (c = r->why; *c; c++)
				fputc(*c == ' ' ? '-' : *c, fp);
		}
		fputc('\n', fp);
	}
}

/* ------------------------------------------------------------ scoring */

/* mail addresses in a header value, as SpamAssassin's :addr and :name */
static void parse_addresses(const char *v, int want_name, struct str *out,
			    int *count)
{
	const char *p = v;

	while (*p) {
		const char *start, *end, *lt, *gt;
		int quote = 0, paren = 0;
		struct str name = STR_INIT, addr = STR_INIT;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		start = p;
		/* one address: up to a comma outside quotes, <> and () */
		lt = gt = NULL;
		for (; *p; p++) {
			if (quote) {
				if (*p == '\\' && p[1])
					p++;
				else if (*p == '"')
					quote = 0;
				continue;
			}
			if (paren) {
				if (*p == ')')
					paren--;
				else if (*p == '(')
					paren++;
				continue;
			}
			if (*p == '"')
				quote = 1;
			else if (*p == '(')
				paren = 1;
			else if (*p == '<' && lt == NULL)
				lt = p;
			else if (*p == '>' && lt != NULL && gt == NULL)
				gt = p;
			else if (*p == ',' && (lt == NULL || gt != NULL))
				break;
		}
		end = p;
		if (lt != NULL && gt != NULL) {
			const char *a = lt + 1, *b = gt;

			while (a < b && isspace((unsigned char)*a))
				a++;
			while (b > a && isspace((unsigned char)b[-1]))
				b--;
			str_append(&addr, a, (size_t)(b - a));
			a = start;
			b = lt;
			while (a < b && isspace((unsigned char)*a))
				a++;
			while (b > a && isspace((unsigned char)b[-1]))
				b--;
			if (b - a >= 2 && *a == '"' && b[-1] == '"') {
				a++;
				b--;
			}
			str_append(&name, a, (size_t)(b - a));
		} else {
			/* addr (comment) */
			const char *c = start, *cp = NULL;
			int q2 = 0;

			for (; c < end; c++) {
				if (*c == '"')
					q2 = !q2;
				else if (*c == '(' && !q2) {
					cp = c;
					break;
				}
			}
			{
				const char *a = start, *b = cp ? cp : end;

				while (a < b && isspace((unsigned char)*a))
					a++;
				while (b > a && isspace((unsigned char)b[-1]))
					b--;
				str_append(&addr, a, (size_t)(b - a));
			}
			if (cp != NULL) {
				const char *a = cp + 1, *b = end;

				while (b > a && b[-1] != ')')
					b--;
				if (b > a)
					b--;
				str_append(&name, a, (size_t)(b - a));
			}
		}
		if (want_name) {
			if (name.len > 0) {
				if (*count > 0)
					str_appendc(out, '\n');
				str_append(out, name.s, name.len);
				(*count)++;
			}
		} else if (addr.len > 0 || lt != NULL) {
			if (*count > 0)
				str_appendc(out, '\n');
			str_append(out, addr.s ? addr.s : "", addr.len);
			(*count)++;
		}
		str_deinit(&name);
		str_deinit(&addr);
		if (*p == ',')
			p++;
	}
}

/* raw value as SpamAssassin's get_header(name, 1): folds to one space */
static void raw_unfold(const char *raw, struct str *out)
{
	const char *p = raw, *nl;

	while ((nl = strchr(p, '\n')) != NULL) {
		str_append(out, p, (size_t)(nl - p));
		p = nl + 1;
		if (*p != '\0' && isspace((unsigned char)*p)) {
			str_appendc(out, ' ');
			while (*p != '\0' && isspace((unsigned char)*p))
				p++;
		} else {
			str_appendc(out, '\n');
		}
	}
	str_appends(out, p);
}

/* values of NAME as a list; returns count */
static int header_values(const struct message *msg, const char *name,
			 int raw, struct str *out, int *count)
{
	unsigned hash = message_name_hash(name);
	size_t i;
	int n = 0;

	for (i = 0; i < msg->n_headers; i++) {
		const struct message_header *h = &msg->headers[i];

		if (h->hash != hash || strcasecmp(h->name, name) != 0)
			continue;
		if (raw)
			raw_unfold(h->raw, out);
		else {
			str_appends(out, h->value);
			str_appendc(out, '\n');
		}
		str_appendc(out, '\0');
		n++;
	}
	*count += n;
	return n;
}

/*
 * ALL, and ALL-TRUSTED and the like: every header line (raw: as written),
 * from the Received: field numbered START (from 0 at the top; -1: from the
 * first line) through the one numbered END (-1: to the last line; else
 * that field is the last line), as SpamAssassin's
 * get_all_hdrs_in_rcvd_index_range.  0 if none.
 */
static int all_headers(const struct message *msg, int raw, int start,
		       int end, struct str *out)
{
	unsigned received = message_name_hash("Received");
	int cur = -1, n = 0;
	size_t i;

	for (i = 0; i < msg->n_headers; i++) {
		const struct message_header *h = &msg->headers[i];

		if (h->hash == received && strcasecmp(h->name, "Received") == 0)
			cur++;
		if (start >= 0 && cur < start)
			continue;
		str_appends(out, h->name);
		if (raw) {
			str_appendc(out, ':');
			str_appends(out, h->raw);
		} else {
			str_append(out, ": ", 2);
			str_appends(out, h->value);
			str_appendc(out, '\n');
		}
		n++;
		if (end >= 0 && cur == end)
			break;	/* the END field itself is the last line */
	}
	return n > 0;
}

/* the relays of MSG, parsed on first use */
static const struct received *relays_of(const struct rule_set *rs,
					const struct message *msg,
					struct received **rcvp)
{
	if (*rcvp == NULL)
		*rcvp = received_parse(rs->rcvd, msg);
	return *rcvp;
}

/* ALL-TRUSTED and the like: the header lines up to and including the
   first Received: field past the boundary, or from it on */
static int all_relays(const struct hgroup *g, const struct message *msg,
		      const struct received *rcv, struct str *out)
{
	int list = relay_list(g->name, 1), raw = (g->mods & HM_RAW) != 0;
	int cut = received_boundary(rcv, list == RECEIVED_INTERNAL ||
				    list == RECEIVED_EXTERNAL) + 1;

	if (list == RECEIVED_TRUSTED || list == RECEIVED_INTERNAL)
		return all_headers(msg, raw, -1, cut, out);
	return all_headers(msg, raw, cut, -1, out);
}

/* the first address of the first NAME field (NAME:first:addr) into OUT,
   up to a blank, if it is local@domain (SpamAssassin's :addr drops "<>",
   "yyyy", "@" and the like); 0 if none */
static int first_addr(const struct message *msg, const char *name,
		      struct str *out)
{
	struct str v = STR_INIT, a = STR_INIT;
	int c = 0, ac = 0, found = 0;

	if (header_values(msg, name, 1, &v, &c) > 0)
		parse_addresses(v.s, 0, &a, &ac);
	if (ac > 0) {
		size_t len = strcspn(a.s, "\n \t");
		const char *at = memchr(a.s, '@', len);

		found = at != NULL && at > a.s && at < a.s + len - 1;
		if (found)
			str_append(out, a.s, len);
	}
	str_deinit(&v);
	str_deinit(&a);
	return found;
}

/* a NAME field comes after a Received: field */
static int after_received(const struct message *msg, const char *name)
{
	size_t i;
	int seen = 0;

	for (i = 0; i < msg->n_headers; i++) {
		if (strcasecmp(msg->headers[i].name, "Received") == 0)
			seen = 1;
		else if (seen && strcasecmp(msg->headers[i].name, name) == 0)
			return 1;
	}
	return 0;
}

/*
 * SpamAssassin's envelope sender (get_envelope_from) as one value of LIST:
 * the envfrom of the relays, else the first address of X-Envelope-From,
 * Envelope-Sender or Return-Path if no Received: field comes before it
 * (for X-Envelope-From: none at all).  None with an X-Sender: address and
 * a fetchmail Received: line (fetchmail takes a list's X-Sender for it).
 */
static int envelope_from(const struct message *msg,
			 const struct received *rcv, struct str *list)
{
	static const struct {
		const char *name;
		int last;	/* after a Received: field: no sender */
	} fields[] = {
		{ "X-Envelope-From", 1 },	/* procmail */
		{ "Envelope-Sender", 0 },	/* qmail */
		{ "Return-Path", 0 },		/* the final delivery */
	};
	const char *e = received_envfrom(rcv);
	struct str a = STR_INIT;
	size_t i;
	int found = 0;

	if (e != NULL) {
		str_appends(list, e);
		str_appendc(list, '\0');
		return 1;
	}
	if (first_addr(msg, "X-Sender", &a))
		for (i = 0; i < msg->n_headers; i++)
			if (strcasecmp(msg->headers[i].name, "Received") == 0 &&
			    strstr(msg->headers[i].value, "(fetchmail")) {
				str_deinit(&a);
				return 0;
			}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]) && !found; i++) {
		str_clear(&a);
		if (!first_addr(msg, fields[i].name, &a))
			continue;
		if (after_received(msg, fields[i].name)) {
			if (fields[i].last)
				break;
			continue;
		}
		str_append(list, a.s, a.len);
		str_appendc(list, '\0');
		found = 1;
	}
	str_deinit(&a);
	return found;
}

/*
 * The string a header rule group matches against; returns 0 when the
 * header is absent (SpamAssassin's undef: it matches as "").  The relays
 * are parsed into *RCVP on first use.
 */
static int header_string(const struct rule_set *rs, const struct hgroup *g,
			 const struct message *msg, struct received **rcvp,
			 struct str *out)
{
	struct str list = STR_INIT;	/* NUL separated values */
	int count = 0, raw = (g->mods & (HM_RAW | HM_ADDR | HM_NAME)) != 0;
	size_t i;
	const char *p, *end;
	int first = 1;

	str_clear(out);
	switch (g->kind) {
	case HK_ALL:
		return all_headers(msg, (g->mods & HM_RAW) != 0, -1, -1, out);
	case HK_ALL_RELAYS:
		return all_relays(g, msg, relays_of(rs, msg, rcvp), out);
	case HK_RELAYS:
		/* always there, "" without relays */
		str_appends(&list, received_relays_str(relays_of(rs, msg, rcvp),
						       relay_list(g->name, 0)));
		str_appendc(&list, '\0');
		count = 1;
		break;
	case HK_TOCC:
		header_values(msg, "To", g->mods & HM_RAW, &list, &count);
		header_values(msg, "Cc", g->mods & HM_RAW, &list, &count);
		break;
	case HK_MESSAGEID: {
		static const char *const ids[] = {
			"X-Message-Id", "Resent-Message-Id",
			"X-Original-Message-ID", "Message-Id", NULL,
		};

		for (i = 0; ids[i]; i++)
			header_values(msg, ids[i], g->mods & HM_RAW, &list,
				      &count);
		break;
	}
	case HK_ENVFROM:
		count = envelope_from(msg, relays_of(rs, msg, rcvp), &list);
		break;
	default:
		header_values(msg, g->name, raw, &list, &count);
	}
	if (count == 0) {
		str_deinit(&list);
		return 0;
	}
	/* :first / :last */
	end = list.s + list.len;
	if (g->mods & (HM_FIRST | HM_LAST)) {
		const char *last = list.s;

		for (p = list.s; p < end; p += strlen(p) + 1)
			last = p;
		p = (g->mods & HM_FIRST) ? list.s : last;
		end = p + strlen(p) + 1;
	} else {
		p = list.s;
	}
	if (g->mods & (HM_ADDR | HM_NAME)) {
		int ac = 0;

		for (; p < end; p += strlen(p) + 1) {
			struct str one = STR_INIT;
			int c1 = 0;

			parse_addresses(p, (g->mods & HM_NAME) != 0, &one, &c1);
			if (c1 > 0) {
				if (ac > 0)
					str_appendc(out, '\n');
				if (g->mods & HM_NAME && !(g->mods & HM_RAW)) {
					char *d = message_decode_header(NULL,
									one.s);

					str_appends(out, d);
					free(d);
				} else {
					str_append(out, one.s, one.len);
				}
				ac += c1;
			}
			str_deinit(&one);
		}
		str_deinit(&list);
		return ac > 0;
	}
	/* join: values already end in "\n" except special ones */
	for (; p < end; p += strlen(p) + 1) {
		size_t l = strlen(p);

		if (!first && (out->len == 0 || out->s[out->len - 1] != '\n'))
			str_appendc(out, '\n');
		str_append(out, p, l);
		first = 0;
	}
	str_deinit(&list);
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_one(const struct lane *ln, const struct rule *r,
		   pcre2_code *re, int jit, const char *s, size_t len, int max,
		   int *error);

/*
 * Does (?:X){n} match S?  From each place where X matches (found with
 * the compiled X, leftmost first), follow every way X can match there
 * (pcre2_dfa_match gives all the ends from one start) n times over;
 * a chain of n is a match.  The ends found from a position are kept,
 * so each position costs one DFA run however many chains pass by.
 */
struct rep_memo {
	int32_t *at;		/* per position: index into ends, -1 unknown */
	int32_t *n;		/* how many ends */
	size_t *ends;
	size_t n_ends, cap_ends;
};

static int rep_ends(const struct lane *ln, const struct rule *r,
		    const char *s, size_t len, size_t q, struct rep_memo *mm,
		    int *error)
{
	PCRE2_SIZE *ov;
	int got, j;

	if (mm->at[q] >= 0)
		return 0;
	got = pcre2_dfa_match(r->rep, (PCRE2_SPTR)s, len, q, PCRE2_ANCHORED,
			      ln->md_dfa, ln->mctx, ln->dfa_ws, DFA_WORKSPACE);
	mm->at[q] = (int32_t)mm->n_ends;
	mm->n[q] = 0;
	if (got == PCRE2_ERROR_NOMATCH)
		return 0;
	if (got < 0) {
		*error = got;
		return -1;
	}
	if (got == 0)		/* more ends than kept */
		got = DFA_MAX_ENDS;
	ov = pcre2_get_ovector_pointer(ln->md_dfa);
	if (mm->n_ends + (size_t)got > mm->cap_ends) {
		mm->cap_ends = (mm->n_ends + (size_t)got) * 2;
		mm->ends = myrealloc(mm->ends, mm->cap_ends * sizeof(size_t));
	}
	for (j = 0; j < got; j++)
		if (ov[2 * j + 1] <= len)
			mm->ends[mm->n_ends + (size_t)mm->n[q]++] = ov[2 * j + 1];
	mm->n_ends += (size_t)mm->n[q];
	return 0;
}

static int run_repeat(const struct lane *ln, const struct rule *r,
		      const char *s, size_t len, int *error)
{
	PCRE2_SIZE start = 0;
	unsigned char *seen = mycalloc(len + 1, 1);
	unsigned char *is_start = mycalloc(len + 1, 1);
	size_t *starts = mymalloc((len + 1) * sizeof(size_t));
	size_t *cur = mymalloc((len + 1) * sizeof(size_t));
	size_t *next = mymalloc((len + 1) * sizeof(size_t));
	struct rep_memo mm = { NULL, NULL, NULL, 0, 0 };
	size_t n_starts = 0, si;
	int found = 0;

	/*
	 * Every match of X in the chain but the first begins where the
	 * one before ends: all are places where X can start.  Find those
	 * first (JIT, cheap); fewer than n of them, and there is no chain.
	 */
	while (start <= len) {
		int rc = pcre2_match(r->rep, (PCRE2_SPTR)s, len, start, 0,
				     ln->md, ln->mctx);
		PCRE2_SIZE m;

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			*error = rc;
			break;
		}
		m = pcre2_get_ovector_pointer(ln->md)[0];
		starts[n_starts++] = m;
		is_start[m] = 1;
		start = m + 1;
	}
	if (*error || n_starts < (size_t)r->rep_n)
		goto out;
	mm.at = mymalloc((len + 1) * sizeof(int32_t));
	mm.n = mymalloc((len + 1) * sizeof(int32_t));
	memset(mm.at, 0xff, (len + 1) * sizeof(int32_t));
	for (si = 0; si < n_starts && !found && !*error; si++) {
		size_t n_cur = 1, k, i;

		cur[0] = starts[si];
		for (k = 0; k < (size_t)r->rep_n && n_cur > 0 && !*error;
		     k++) {
			size_t n_next = 0;
			int last = k + 1 == (size_t)r->rep_n;
			int32_t j;

			memset(seen, 0, len + 1);
			for (i = 0; i < n_cur; i++) {
				if (rep_ends(ln, r, s, len, cur[i], &mm,
					     error) < 0)
					break;
				for (j = 0; j < mm.n[cur[i]]; j++) {
					size_t e = mm.ends[mm.at[cur[i]] + j];

					/* X goes on only where it can start */
					if (!seen[e] && (last || is_start[e])) {
						seen[e] = 1;
						next[n_next++] = e;
					}
				}
			}
			memcpy(cur, next, n_next * sizeof(size_t));
			n_cur = n_next;
		}
		if (n_cur > 0 && !*error)
			found = 1;
	}
out:
	free(seen);
	free(is_start);
	free(starts);
	free(cur);
	free(next);
	free(mm.at);
	free(mm.n);
	free(mm.ends);
	return found;
}

/* count matches of R in S (LEN); stops at the first unless multiple */
static int run_regex(const struct lane *ln, const struct rule *r,
		     const char *s, size_t len, int max, int *error)
{
	size_t i;
	int hits = 0;

	if (r->re != NULL)
		return run_one(ln, r, r->re, r->jit, s, len, max, error);
	if (r->rep != NULL)
		return run_repeat(ln, r, s, len, error);
	/* a split pattern: the pieces' union (counts add up) */
	for (i = 0; i < r->n_pieces && !*error; i++) {
		hits += run_one(ln, r, r->pieces[i], 0, s, len,
				max > 0 ? max - hits : 0, error);
		if (hits > 0 && (!(r->tflags & TF_MULTIPLE) ||
				 (max > 0 && hits >= max)))
			break;
	}
	return hits;
}

static int run_one(const struct lane *ln, const struct rule *r,
		   pcre2_code *re, int jit, const char *s, size_t len, int max,
		   int *error)
{
	PCRE2_SIZE start = 0;
	int hits = 0;

	while (start <= len) {
		int rc = jit ? pcre2_jit_match(re, (PCRE2_SPTR)s, len, start,
					       0, ln->md, ln->mctx)
			     : pcre2_match(re, (PCRE2_SPTR)s, len, start, 0,
					   ln->md, ln->mctx);
		PCRE2_SIZE *ov;

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			*error = rc;
			break;
		}
		hits++;
		if (!(r->tflags & TF_MULTIPLE) || (max > 0 && hits >= max))
			break;
		ov = pcre2_get_ovector_pointer(ln->md);
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
	return hits;
}

static int hit_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rule_hit *)a)->rule,
		      ((const struct rule_hit *)b)->rule);
}

static int name_idx_cmp(const void *a, const void *b, void *ctx)
{
	const struct rule_set *rs = ctx;

	return strcmp(rs->rules[*(const int *)a].name,
		      rs->rules[*(const int *)b].name);
}

static int cmp_ctx_qsort(const void *a, const void *b);
static const struct rule_set *qsort_rs;

static int cmp_ctx_qsort(const void *a, const void *b)
{
	return name_idx_cmp(a, b, (void *)qsort_rs);
}

/*
 * Scoring one message.  The work is shared by the lanes that come
 * (lanes.h): first the prefilter scans (each Hyperscan database over
 * its type's texts, the literal automata over the body and the rawbody
 * lines), then, once all are done, the rules, a few at a time from one
 * list.  The header rules need no prefilter; they keep per-message
 * strings (the header groups, the relays) and all run on lane 0, before
 * it joins the scans.  A rule's result goes to its own slot of VAL; the
 * metas are evaluated when the lanes are done.
 */
#define RULE_BATCH	8	/* rules a lane takes at a time */

enum unit_kind { UNIT_HS, UNIT_AC };

struct unit {
	enum unit_kind kind;
	int type;
	size_t db;
};

struct job {
	const struct rule_set *rs;
	const struct message *msg;
	double *val;
	double t0;
	atomic_int stop;	/* the time budget ran out */
	/* literal prefilter: first and last line holding each literal */
	int32_t *first[RULE_TYPE_COUNT], *last[RULE_TYPE_COUNT];
	/* Hyperscan: the type's texts joined by "\n", where each starts,
	   and for each regex the end of its first report */
	struct str joined[RULE_TYPE_COUNT];
	size_t *starts[RULE_TYPE_COUNT], n_texts[RULE_TYPE_COUNT];
	int64_t *end[RULE_TYPE_COUNT];
	int plain[RULE_TYPE_COUNT];	/* rule_hs_plain_text(joined) */
	atomic_int hs_failed[RULE_TYPE_COUNT];
	struct unit *units;
	size_t n_units;
	atomic_size_t next_unit, units_done, next_rule, next_defer;
	unsigned char *pending;	/* deferred rules to run: 1 */
	/* header groups and relays: lane 0 only */
	char *hvals_present;
	char **hvals;
	size_t *hlens;
	char *hscanned;		/* the group's Hyperscan pass: 1 ran, 2 failed */
	int64_t **hend;		/* and what it reported (as end[] above) */
	struct received *rcvd;	/* the relays, parsed on first use */
	struct str hs;
};

static void job_texts(struct job *jb, int t)
{
	const struct message *msg = jb->msg;
	const struct message_text *tx = t == RULE_BODY ? msg->body
				      : msg->rawbody;
	size_t n = t == RULE_URI ? msg->n_uris
		 : t == RULE_BODY ? msg->n_body : msg->n_rawbody;
	size_t j;

	jb->starts[t] = mymalloc((n + 1) * sizeof(size_t));
	jb->n_texts[t] = n;
	for (j = 0; j < n; j++) {
		jb->starts[t][j] = jb->joined[t].len;
		if (t == RULE_URI)
			str_appends(&jb->joined[t], msg->uris[j]);
		else
			str_append(&jb->joined[t], tx[j].s, tx[j].len);
		str_appendc(&jb->joined[t], '\n');
	}
	jb->plain[t] = rule_hs_plain_text(jb->joined[t].s ? jb->joined[t].s
							  : "",
					  jb->joined[t].len);
	jb->end[t] = mymalloc((jb->rs->n_hs[t] + 1) * sizeof(int64_t));
	memset(jb->end[t], 0xff, jb->rs->n_hs[t] * sizeof(int64_t));
}

static void job_init(struct job *jb, const struct rule_set *rs,
		     const struct message *msg)
{
	size_t i, d, n_dbs = 0;

	memset(jb, 0, sizeof(*jb));
	jb->rs = rs;
	jb->msg = msg;
	jb->val = mycalloc(rs->n_rules + 1, sizeof(double));
	jb->t0 = now();
	atomic_init(&jb->stop, 0);
	atomic_init(&jb->next_unit, 0);
	atomic_init(&jb->units_done, 0);
	atomic_init(&jb->next_rule, 0);
	atomic_init(&jb->next_defer, 0);
	jb->hvals_present = mycalloc(rs->n_hgroups + 1, 1);
	jb->hvals = mycalloc(rs->n_hgroups + 1, sizeof(char *));
	jb->hlens = mycalloc(rs->n_hgroups + 1, sizeof(size_t));
	jb->hscanned = mycalloc(rs->n_hgroups + 1, 1);
	jb->hend = mycalloc(rs->n_hgroups + 1, sizeof(int64_t *));
	str_init(&jb->hs, 256);
	for (i = 0; i < RULE_TYPE_COUNT; i++)
		if (rs->hs[i] != NULL)
			n_dbs += rule_hs_dbs(rs->hs[i]);
	jb->units = mycalloc(2 * RULE_TYPE_COUNT + n_dbs + 1,
			     sizeof(*jb->units));
	for (i = 0; i < RULE_TYPE_COUNT; i++) {
		atomic_init(&jb->hs_failed[i], 0);
		str_init(&jb->joined[i], 0);
		if (rs->hs[i] != NULL) {
			job_texts(jb, (int)i);
			for (d = 0; d < rule_hs_dbs(rs->hs[i]); d++) {
				struct unit *u = &jb->units[jb->n_units++];

				u->kind = UNIT_HS;
				u->type = (int)i;
				u->db = d;
			}
		}
		if ((i == RULE_BODY || i == RULE_RAWBODY) &&
		    rs->ac[i] != NULL) {
			struct unit *u = &jb->units[jb->n_units++];

			u->kind = UNIT_AC;
			u->type = (int)i;
			jb->first[i] = mymalloc(rs->n_lit[i] * sizeof(int32_t));
			jb->last[i] = mymalloc(rs->n_lit[i] * sizeof(int32_t));
			memset(jb->first[i], 0xff,
			       rs->n_lit[i] * sizeof(int32_t));
			memset(jb->last[i], 0xff,
			       rs->n_lit[i] * sizeof(int32_t));
		}
	}
	jb->val[rs->lto] = 1;	/* local_tests_only */
}

static void job_deinit(struct job *jb)
{
	size_t i;

	for (i = 0; i < jb->rs->n_hgroups; i++) {
		free(jb->hvals[i]);
		free(jb->hend[i]);
	}
	free(jb->hvals);
	free(jb->hend);
	free(jb->hscanned);
	free(jb->hlens);
	free(jb->hvals_present);
	received_deinit(&jb->rcvd);
	str_deinit(&jb->hs);
	for (i = 0; i < RULE_TYPE_COUNT; i++) {
		free(jb->first[i]);
		free(jb->last[i]);
		free(jb->starts[i]);
		free(jb->end[i]);
		str_deinit(&jb->joined[i]);
	}
	free(jb->units);
	free(jb->val);
	free(jb->pending);
}

static void run_unit(struct job *jb, int lane, const struct unit *u)
{
	const struct rule_set *rs = jb->rs;
	const struct message *msg = jb->msg;
	int t = u->type;
	size_t j;

	if (u->kind == UNIT_HS) {
		if (rule_hs_scan(rs->hs[t], lane, u->db,
				 jb->joined[t].s ? jb->joined[t].s : "",
				 jb->joined[t].len, jb->plain[t], jb->end[t]) < 0)
			atomic_store(&jb->hs_failed[t], 1);
		return;
	}
	/* where the prefilter literals occur in the body or the rawbody */
	{
		const struct message_text *tx = t == RULE_BODY ? msg->body
							      : msg->rawbody;
		size_t n = t == RULE_BODY ? msg->n_body : msg->n_rawbody;

		for (j = 0; j < n; j++)
			rule_ac_scan(rs->ac[t], tx[j].s, tx[j].len, (int32_t)j,
				     jb->first[t], jb->last[t]);
	}
}

/*
 * The first text of its type on which rule R's regex may match, as the
 * Hyperscan pass says: 0 when it did not take the regex or failed, -1
 * when the regex cannot match any.  A regex reported at offset E may
 * match in the text holding E - 1 or a later one, never an earlier one.
 */
static long hs_first_text(const struct job *jb, const struct rule *r)
{
	int t = r->type;
	int64_t e;
	size_t lo = 0, hi, off;

	if (t == RULE_HEADER || r->hs_id < 0 || jb->rs->hs[t] == NULL ||
	    atomic_load(&jb->hs_failed[t]))
		return 0;
	e = jb->end[t][r->hs_id];
	if (e <= 0)
		return e == 0 ? 0 : -1;
	/* the last text starting at or before E - 1 */
	off = (size_t)e - 1;
	hi = jb->n_texts[t];
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (jb->starts[t][mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

/* has the Hyperscan pass ruled out the rule at P (it cannot match)? */
static int hs_ruled_out(const struct job *jb, const struct order_pass *p)
{
	return p->hs_id >= 0 && !atomic_load(&jb->hs_failed[p->type]) &&
	       jb->end[p->type][p->hs_id] < 0;
}

/* header rule R: the string of its group (lane 0 keeps them) */
static void header_value(struct job *jb, const struct rule *r,
			 const char **s, size_t *len)
{
	const struct rule_set *rs = jb->rs;
	int g = r->hgroup;

	if (jb->hvals[g] == NULL && !jb->hvals_present[g]) {
		const struct hgroup *hg = &rs->hgroups[g];

		if (header_string(rs, hg, jb->msg, &jb->rcvd, &jb->hs)) {
			jb->hvals_present[g] = 1;
		} else if (hg->unset != NULL) {
			str_clear(&jb->hs);
			str_appends(&jb->hs, hg->unset);
			jb->hvals_present[g] = 1;
		} else {
			str_clear(&jb->hs);
			jb->hvals_present[g] = 2;
		}
		jb->hlens[g] = jb->hs.len;
		jb->hvals[g] = mymemdup(jb->hs.s ? jb->hs.s : "", jb->hs.len + 1);
	}
	*s = jb->hvals[g];
	*len = jb->hlens[g];
}

/*
 * Header rule R, its group's string S (LEN): may its regex match, as
 * the group's Hyperscan pass says (scanned on the first rule that asks)?
 * 1 also when the pass did not take the regex or failed.
 */
static int header_may_match(struct job *jb, const struct lane *ln,
			    const struct rule *r, const char *s, size_t len)
{
	const struct hgroup *hg = &jb->rs->hgroups[r->hgroup];
	int g = r->hgroup;
	size_t d;

	if (r->hs_id < 0 || hg->hs == NULL)
		return 1;
	if (!jb->hscanned[g]) {
		int plain = rule_hs_plain_text(s, len);

		jb->hend[g] = mymalloc((hg->n_hs + 1) * sizeof(int64_t));
		memset(jb->hend[g], 0xff, hg->n_hs * sizeof(int64_t));
		jb->hscanned[g] = 1;
		for (d = 0; d < rule_hs_dbs(hg->hs); d++)
			if (rule_hs_scan(hg->hs, (int)(ln - jb->rs->lane), d,
					 s, len, plain, jb->hend[g]) < 0)
				jb->hscanned[g] = 2;
	}
	return jb->hscanned[g] == 2 || jb->hend[g][r->hs_id] >= 0;
}

/* the number of times rule IDX matches (0 or 1 unless multiple) */
static int run_rule(struct job *jb, const struct lane *ln, int idx)
{
	const struct rule_set *rs = jb->rs;
	const struct message *msg = jb->msg;
	const struct rule *r = &rs->rules[idx];
	int hits = 0, err = 0, max = r->maxhits;
	long from = hs_first_text(jb, r);
	size_t j;

	if (from < 0)
		return 0;	/* Hyperscan: cannot match */
	switch (r->type) {
	case RULE_HEADER: {
		const char *s;
		size_t len;

		header_value(jb, r, &s, &len);
		if (r->exists) {
			hits = jb->hvals_present[r->hgroup] == 1;
		} else {
			hits = header_may_match(jb, ln, r, s, len)
			       ? run_regex(ln, r, s, len, max, &err) : 0;
			if (r->negate)
				hits = !hits && !err;
		}
		break;
	}
	case RULE_BODY:
	case RULE_RAWBODY: {
		const struct message_text *t = r->type == RULE_BODY
					      ? msg->body : msg->rawbody;
		size_t n = r->type == RULE_BODY ? msg->n_body : msg->n_rawbody;
		size_t lo = (r->type == RULE_BODY &&
			     (r->tflags & TF_NOSUBJECT)) ? 1 : 0, hi = n;

		if (r->n_lits > 0) {
			/* only the lines between the first and the last one
			   that hold a literal */
			long f = -1, l = -1;
			size_t k;

			for (k = 0; k < r->n_lits; k++) {
				int32_t a = jb->first[r->type][r->lits[k]];
				int32_t b = jb->last[r->type][r->lits[k]];

				if (a < 0)
					continue;
				if (f < 0 || a < f)
					f = a;
				if (b > l)
					l = b;
			}
			if (f < 0)
				break;	/* cannot match */
			if ((size_t)f > lo)
				lo = (size_t)f;
			if ((size_t)l + 1 < hi)
				hi = (size_t)l + 1;
		}
		if ((size_t)from > lo)
			lo = (size_t)from;
		for (j = lo; j < hi && !err; j++) {
			hits += run_regex(ln, r, t[j].s, t[j].len,
					  max > 0 ? max - hits : 0, &err);
			if (hits > 0 && (!(r->tflags & TF_MULTIPLE) ||
					 (max > 0 && hits >= max)))
				break;
		}
		break;
	}
	case RULE_FULL:
		hits = run_regex(ln, r, msg->full, msg->full_len, max, &err);
		break;
	case RULE_URI:
		for (j = (size_t)from; j < msg->n_uris && !err; j++) {
			hits += run_regex(ln, r, msg->uris[j],
					  strlen(msg->uris[j]),
					  max > 0 ? max - hits : 0, &err);
			if (hits > 0 && (!(r->tflags & TF_MULTIPLE) ||
					 (max > 0 && hits >= max)))
				break;
		}
		break;
	default:
		break;
	}
	if (err != 0 && !rs->opts.quiet)
		msg_warn("rule %s: regex match failed (%d); counted as not "
			 "hit", r->name, err);
	return hits;
}

/* run rule IDX unless the budget is spent; 0 when it is */
static int lane_rule(struct job *jb, const struct lane *ln, int idx,
		     unsigned *count)
{
	const struct rule_set *rs = jb->rs;
	double budget = rs->opts.time_budget, rt0;

	if (atomic_load_explicit(&jb->stop, memory_order_relaxed))
		return 0;
	if (budget > 0 && ((*count)++ & 15) == 0 && now() - jb->t0 > budget) {
		atomic_store(&jb->stop, 1);
		return 0;
	}
	rt0 = rs->opts.profile ? now() : 0;
	jb->val[idx] = run_rule(jb, ln, idx);
	if (rs->opts.profile) {
		((struct rule *)&rs->rules[idx])->spent += now() - rt0;
		((struct rule_set *)rs)->lane_rules[ln - rs->lane]++;
	}
	return 1;
}

static void score_lane(void *v, int lane)
{
	struct job *jb = v;
	const struct rule_set *rs = jb->rs;
	const struct lane *ln = &rs->lane[lane];
	unsigned count = 0;
	size_t i, k;

	if (lane == 0)
		for (i = 0; i < rs->n_hdr_order; i++)
			if (!lane_rule(jb, ln, rs->hdr_order[i], &count))
				break;
	while ((i = atomic_fetch_add(&jb->next_unit, 1)) < jb->n_units) {
		run_unit(jb, lane, &jb->units[i]);
		atomic_fetch_add(&jb->units_done, 1);
	}
	/* the rules need every scan, some may still run on another lane */
	lanes_wait_for(&jb->units_done, jb->n_units);
	while ((k = atomic_fetch_add(&jb->next_rule, RULE_BATCH)) <
	       rs->n_order) {
		for (i = k; i < k + RULE_BATCH && i < rs->n_order; i++)
			if (!hs_ruled_out(jb, &rs->order_pass[i]) &&
			    !lane_rule(jb, ln, rs->order[i], &count))
				return;
	}
}

/*
 * After the other rules and the metas: must the deferred rules run?
 * Those Hyperscan has not ruled out are pending; the metas that read
 * them are run again over ranges, each pending rule 0 to 1 (rule_expr.h),
 * the other values as they are; when every shown one comes out surely
 * hit or surely not, nothing the deferred rules say can change the
 * result, and they are left out (their value stays 0: only "__" sub-
 * rules, and metas built on them, can differ from running them).
 */
static int deferred_needed(struct job *jb)
{
	const struct rule_set *rs = jb->rs;
	struct rule_range *rg = rs->defer_rg;
	size_t i, n_pending = 0;
	int needed = 0;

	jb->pending = mycalloc(rs->n_defer + 1, 1);
	for (i = 0; i < rs->n_defer; i++)
		if (!hs_ruled_out(jb, &rs->defer_pass[i])) {
			jb->pending[i] = 1;
			n_pending++;
		}
	if (n_pending == 0)
		return 0;
	/* only what those metas read: the rest of RG is never looked at */
	for (i = 0; i < rs->n_defer_reads; i++) {
		struct rule_range *r = &rg[rs->defer_reads[i]];

		r->lo = r->hi = jb->val[rs->defer_reads[i]];
		r->nonzero = 0;
	}
	for (i = 0; i < rs->n_defer; i++)
		if (jb->pending[i]) {
			rg[rs->defer[i]].lo = 0;
			rg[rs->defer[i]].hi = 1;
		}
	rule_expr_prog_reset_range(rs->defer_metas, rg);
	rule_expr_prog_run_range(rs->defer_metas, rg);
	for (i = 0; i < rs->n_shown && !needed; i++)
		needed = rule_range_truth(rg[rs->shown[i]]) == -1;
	return needed;
}

static void defer_lane(void *v, int lane)
{
	struct job *jb = v;
	const struct rule_set *rs = jb->rs;
	const struct lane *ln = &rs->lane[lane];
	unsigned count = 0;
	size_t i;

	while ((i = atomic_fetch_add(&jb->next_defer, 1)) < rs->n_defer)
		if (jb->pending[i] && !lane_rule(jb, ln, rs->defer[i], &count))
			return;
}

void rule_set_score(const struct rule_set *rs, const struct message *msg,
		    struct rule_result *res)
{
	struct job jb;
	size_t i, n_hit = 0;
	int *hit_idx;
	double *val;
	struct str all = STR_INIT;
	double t0;

	memset(res, 0, sizeof(*res));
	res->required = rs->required;
	job_init(&jb, rs, msg);
	val = jb.val;
	t0 = jb.t0;
	lanes_run(rs->lanes, score_lane, &jb);
	if (!atomic_load(&jb.stop)) {
		rule_expr_prog_run(rs->metas, val);
		if (rs->n_defer > 0 && deferred_needed(&jb)) {
			lanes_run(rs->lanes, defer_lane, &jb);
			/* only the metas that read them can change */
			rule_expr_prog_reset(rs->defer_metas, val);
			if (!atomic_load(&jb.stop))
				rule_expr_prog_run(rs->defer_metas, val);
			else	/* as if out of time before the metas */
				rule_expr_prog_reset(rs->metas, val);
		}
	}
	res->timed_out = atomic_load(&jb.stop);
	/* the result */
	hit_idx = mymalloc((rs->n_rules + 1) * sizeof(int));
	for (i = 0; i < rs->n_rules; i++)
		if (val[i] != 0 && rs->rules[i].enabled)
			hit_idx[n_hit++] = (int)i;
	qsort_rs = rs;
	qsort(hit_idx, n_hit, sizeof(int), cmp_ctx_qsort);
	res->hits = mycalloc(n_hit + 1, sizeof(*res->hits));
	for (i = 0; i < n_hit; i++) {
		const struct rule *r = &rs->rules[hit_idx[i]];
		struct rule_hit *h;
		int count;

		if (all.len > 0)
			str_appendc(&all, ' ');
		str_appends(&all, r->name);
		if (strncmp(r->name, "__", 2) == 0)
			continue;
		count = (r->tflags & TF_MULTIPLE) && r->type != RULE_META
			? (int)val[hit_idx[i]] : 1;
		h = &res->hits[res->n_hits++];
		h->rule = r->name;
		h->description = r->desc ? r->desc : "";
		h->type = r->type;
		h->count = count;
		h->score = effective_score(r) * count;
		res->score += h->score;
	}
	qsort(res->hits, res->n_hits, sizeof(*res->hits), hit_cmp);
	res->all_hits = str_steal(&all);
	res->elapsed = now() - t0;
	free(hit_idx);
	job_deinit(&jb);
}

static int spent_cmp(const void *a, const void *b)
{
	double x = qsort_rs->rules[*(const int *)a].spent;
	double y = qsort_rs->rules[*(const int *)b].spent;

	return x < y ? 1 : x > y ? -1 : 0;
}

void rule_set_profile(const struct rule_set *rs, FILE *fp, size_t n)
{
	size_t n_run = rs->n_hdr_order + rs->n_order + rs->n_defer;
	int *idx = mymalloc((n_run + 1) * sizeof(int));
	double total = 0;
	size_t i;

	memcpy(idx, rs->hdr_order, rs->n_hdr_order * sizeof(int));
	memcpy(idx + rs->n_hdr_order, rs->order, rs->n_order * sizeof(int));
	if (rs->n_defer > 0)
		memcpy(idx + rs->n_hdr_order + rs->n_order, rs->defer,
		       rs->n_defer * sizeof(int));
	for (i = 0; i < n_run; i++)
		total += rs->rules[idx[i]].spent;
	qsort_rs = rs;
	qsort(idx, n_run, sizeof(int), spent_cmp);
	fprintf(fp, "regex time %.3f s in %zu rules:", total, n_run);
	{
		double by_type[RULE_TYPE_COUNT] = { 0 };
		int t;

		for (i = 0; i < n_run; i++)
			by_type[rs->rules[idx[i]].type] += rs->rules[idx[i]].spent;
		for (t = 0; t < RULE_TYPE_COUNT; t++)
			if (t != RULE_META)
				fprintf(fp, " %s %.3f", rule_type_name(t),
					by_type[t]);
		fprintf(fp, "; lanes %d:", lanes_count(rs->lanes));
		for (t = 0; t < lanes_count(rs->lanes); t++)
			fprintf(fp, " %lu", rs->lane_rules[t]);
		fprintf(fp, " rules run; slowest:\n");
	}
	for (i = 0; i < n && i < n_run; i++) {
		const struct rule *r = &rs->rules[idx[i]];

		fprintf(fp, "%9.4f s %5.1f%% %-8s %s\n", r->spent,
			total > 0 ? 100 * r->spent / total : 0,
			rule_type_name(r->type), r->name);
	}
	free(idx);
}

void rule_result_deinit(struct rule_result *res)
{
	MYFREE(&res->hits);
	MYFREE(&res->all_hits);
	res->n_hits = 0;
}
