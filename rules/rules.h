/*
 * rules - SpamAssassin-compatible rule sets, scored over our message model.
 *
 * The one public header of the rule engine (the message model it reads is
 * in message.h).  The engine does no network and no database I/O.
 *
 * Loading
 *	struct rule_set *rs = rule_set_load(dirs, n, &opts, &lint);
 *   reads, for the directories in order, first every "*.pre" file (only
 *   loadplugin/tryplugin lines matter there), then every "*.cf" file, each
 *   directory's files in name order; later definitions override earlier
 *   ones.  A directory may also be a single file.  Supported:
 *	header NAME Header[:raw|:addr|:name|:first|:last] =~ /re/flags
 *					[if-unset: STRING]
 *	header NAME Header !~ /re/   header NAME exists:Name
 *	header NAME ALL / ToCc / EnvelopeFrom / MESSAGEID =~ /re/
 *	header NAME X-Spam-Relays-Trusted / -Untrusted / -Internal /
 *		    -External / ALL-TRUSTED / ALL-UNTRUSTED / ALL-INTERNAL /
 *		    ALL-EXTERNAL =~ /re/	(the relays, see received.h)
 *	body / rawbody / full / uri NAME /re/flags  (also m{..}, m!..!, ...)
 *	meta NAME expression	(&& || ! + - * / < > <= >= == != ?: ( ))
 *	score NAME s [s1 s2 s3]	(set 0 is used: no network, no Bayes)
 *	describe NAME text, tflags NAME nice|multiple|maxhits=N|nosubject|net
 *	required_score N (required_hits), include FILE, lang xx ... (skipped),
 *	loadplugin/tryplugin, ifplugin P / if EXPR / else / endif,
 *	replace_tag / replace_pre / replace_inter / replace_post /
 *	replace_rules / replace_start / replace_end (the ReplaceTags plugin),
 *	trusted_networks / internal_networks / msa_networks NET...,
 *	clear_trusted_networks / clear_internal_networks /
 *	clear_msa_networks, originating_ip_headers NAME...,
 *	clear_originating_ip_headers (the trust boundary of the relays).
 *   Not supported, counted and reported: eval: tests, other directives
 *   (kept as "ignored settings").  A bad line warns "file:line: ..." and
 *   skips that rule only.  A rule whose score is 0, or a "tflags net"
 *   rule, does not run (as in SpamAssassin); a rule without a score line
 *   scores 1 (0.01 for T_ rules, negative if nice); "__" rules never
 *   score.
 *
 * Scoring
 *	struct rule_result res;
 *	rule_set_score(rs, msg, &res);   ...   rule_result_deinit(&res);
 *   runs every regex once per header value, body line, rawbody chunk, URI
 *   or the full text (JIT compiled, with a match limit per regex), then the
 *   meta rules in dependency order.  A per-message time budget stops
 *   evaluation; what did not run counts as not hit and res.timed_out is
 *   set (the caller logs it).
 *
 * Reporting
 *   rule_result_headers() formats the X-Spam-Score / X-Spam-Status /
 *   X-Spam-Report values; rule_result_json() gives the one-line JSON that
 *   the quarantine stores as an incident's report and "spamtrap score
 *   --json" prints.
 *
 * Reloading (SIGHUP): load a new set with rule_set_load(); if it returns
 * NULL keep scoring with the old one, else swap and rule_set_deinit() the
 * old one when no message is being scored with it.  Bad lines never make
 * a load fail; lint.errors says how many rules were skipped.
 *
 * Speed: body and rawbody regexes with a literal every match must contain
 * are only run on the lines between the first and last line where one of
 * their literals occurs (one Aho-Corasick pass per text finds them all);
 * the others run on every line.  Patterns too large for PCRE2 are split
 * into alternatives; what still does not fit is reported unsupported.
 *
 * Not thread-safe: one rule set is used by one thread at a time (the
 * daemon scores in its session processes).
 */
#ifndef SPAMTRAP_RULES_H
#define SPAMTRAP_RULES_H

#include <stddef.h>
#include <stdio.h>

#include "message.h"
#include "str.h"

enum rule_type {
	RULE_HEADER,
	RULE_BODY,
	RULE_RAWBODY,
	RULE_FULL,
	RULE_URI,
	RULE_META,
	RULE_TYPE_COUNT,
};

/* "header", "body", ... */
const char *rule_type_name(enum rule_type type);

struct rule_set;

struct rule_set_options {
	double time_budget;	/* seconds per message; 0: no limit */
	unsigned long match_limit;	/* PCRE2 match limit; 0: default */
	int quiet;		/* do not log warnings (lint collects them) */
	int profile;		/* measure the time each rule takes */
	int no_jit;		/* interpret instead of JIT-compiling (systems
				   without executable memory; valgrind, which
				   cannot follow JIT code) */
	int no_hyperscan;	/* run every body/rawbody/uri regex on every
				   text instead of those a Hyperscan pass
				   reports (for comparison and testing) */
	const char *cache_dir;	/* compiled Hyperscan databases are kept
				   here (NULL: compiled at every load) */
	int threads;		/* threads that score one message (at most
				   4, and the CPUs online) */
	int every_rule;		/* run the sub-rules rule_set_score() leaves
				   out when they cannot change the result
				   (for all_hits: conformance tests) */
};
/* defaults: 5 s, 1000000, JIT, Hyperscan, no cache, one thread, rules
   that cannot change the result left out */
#define RULE_SET_OPTIONS_INIT { 5.0, 1000000UL, 0, 0, 0, 0, NULL, 1, 0 }

/* what loading found, for "spamtrap rules lint" */
struct rule_lint {
	int errors;		/* bad lines: rules skipped */
	int loaded[RULE_TYPE_COUNT];	/* rules that run */
	int eval[RULE_TYPE_COUNT];	/* eval: tests, unsupported */
	int unsupported[RULE_TYPE_COUNT];	/* other unsupported rules */
	int disabled;		/* score 0 or tflags net */
	int meta_unsupported;	/* metas that depend only on unsupported */
	int meta_partial;	/* metas that depend on some unsupported */
	int ignored_settings;	/* directives we do not implement */
	int lang_lines;		/* lang xx ... lines skipped */
	int plugins;		/* loadplugin lines */
	int files;		/* files read */
	int prefiltered;	/* body/rawbody rules with a literal prefilter */
	int deferred;		/* sub-rules run only when they can change
				   the result */
	int hyperscan[RULE_TYPE_COUNT];	/* rules in a Hyperscan pass */
	size_t hyperscan_bytes;	/* their compiled databases */
	int hyperscan_cached, hyperscan_compiled;	/* databases */
	struct str messages;	/* every warning, one per line */
};

void rule_lint_init(struct rule_lint *lint);
void rule_lint_deinit(struct rule_lint *lint);

/*
 * Load the rule files of DIRS.  Returns NULL only when no directory or
 * file could be read at all (with *error_r set, allocated); bad lines are
 * warned about (msg_warn, and into LINT if given) and skipped.
 */
struct rule_set *rule_set_load(const char *const *dirs, size_t n_dirs,
			       const struct rule_set_options *opts,
			       struct rule_lint *lint, char **error_r);
void rule_set_deinit(struct rule_set **rsp);

/* the required_score of the set (5 unless a file says otherwise) */
double rule_set_required(const struct rule_set *rs);

/* number of rules defined (all types, including unsupported) */
size_t rule_set_count(const struct rule_set *rs);

/* list every rule: "NAME TYPE STATUS [WHY]" where STATUS is "ok", "eval",
   "unsupported", "bad", "disabled" (score 0, network test),
   "meta-unsupported" (all its dependencies are unsupported: never hits)
   or "meta-partial" (some are: they count as not hit); WHY, for
   unsupported and bad rules, has its spaces replaced by '-' */
void rule_set_list(const struct rule_set *rs, FILE *fp);

struct rule_hit {
	const char *rule;	/* owned by the rule set */
	const char *description;	/* "" if none; owned by the rule set */
	enum rule_type type;
	double score;		/* added to the total (times hits if multiple) */
	int count;		/* times matched (1 unless tflags multiple) */
};

struct rule_result {
	double score;		/* total */
	double required;	/* the set's required_score */
	struct rule_hit *hits;	/* scoring rules hit, in name order */
	size_t n_hits;
	int timed_out;		/* the time budget stopped evaluation */
	double elapsed;		/* seconds spent */
	char *all_hits;		/* every rule hit, "__" sub-rules included,
				   space separated in name order */
};

/*
 * Score MSG.  Fills *res (rule_result_deinit() frees it).  Hits of "__"
 * sub-rules are not in hits[], only in all_hits (conformance tests).
 * Sub-rules with a long body or rawbody regex run last, and only when
 * the metas show their value can change which rules are hit; left out,
 * they count as not hit, and so may the "__" metas built on them: the
 * score and hits[] are the same either way, all_hits may lack them
 * unless the set was loaded with every_rule.
 */
void rule_set_score(const struct rule_set *rs, const struct message *msg,
		    struct rule_result *res);
void rule_result_deinit(struct rule_result *res);

/* with opts.profile: the N rules that took the most time so far */
void rule_set_profile(const struct rule_set *rs, FILE *fp, size_t n);

/*
 * Header values (without the field name, unfolded):
 *   X-Spam-Score:  "7.3"
 *   X-Spam-Status: "Yes, score=7.3 required=5.0 tests=A,B,C"
 *   X-Spam-Report: "* 3.0 A description\n* 4.3 B ..." (lines joined with
 *		    "\n\t" so it can be written as a folded header)
 */
/* the score to print with "%.1f": the same, but never "-0.0" */
double rule_score_display(double score);

void rule_result_headers(const struct rule_result *res, struct str *score,
			 struct str *status, struct str *report);

/* one line of JSON: {"score":7.3,"required":5,"hits":[{"rule":"A",
   "score":3,"description":"..."},...]} (no trailing newline); FILE is
   included as "file" when not NULL */
void rule_result_json(const struct rule_result *res, const char *file,
		      struct str *out);

/* the default rule directories as a NULL-terminated list (see params):
   rules_dir if set, else the shipped rules found from the executable's
   location, then /usr/share/spamassassin and /etc/spamassassin if they
   exist.  The caller frees the list with rule_dirs_free(). */
char **rule_dirs_default(void);
void rule_dirs_free(char ***dirsp);

/* the directory of the shipped rules: $SPAMTRAP_RULES_SHIPPED, else
   <dir of /proc/self/exe>/../rules/shipped (in the tree), else
   <dir>/../share/spamtrap/rules (installed), else NULL; allocated */
char *rule_dirs_shipped(void);

#endif
