/*
 * 2003-rule-set - reading rule files and scoring: every rule type, header
 * modifiers, meta rules, tflags, score sets, if/ifplugin/else with plugins
 * from .pre files, include, ReplaceTags, redefinition, and bad lines
 * (warned with file:line, only that rule skipped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "message.h"
#include "mymalloc.h"
#include "rules.h"
#include "rules-test.h"
#include "str.h"
#include "test-lib.h"

static const struct rule_hit *find_hit(const struct rule_result *res,
				       const char *rule)
{
	size_t i;

	for (i = 0; i < res->n_hits; i++)
		if (strcmp(res->hits[i].rule, rule) == 0)
			return &res->hits[i];
	return NULL;
}

static const char MESSAGE[] =
	"Return-Path: <bounce@sender.example>\n"
	"Received: from mx.example by here\n"
	"From: \"Alice Example\" <alice@example.org>\n"
	"To: bob@example.com, \"Carol\" <carol@example.net>\n"
	"Cc: dave@example.com\n"
	"Subject: =?utf-8?q?Cheap_pills?= now\n"
	"Message-Id: <1234@example.org>\n"
	"X-Spam-Relays-Untrusted: [ ip=1.2.3.4 ]\n"
	"Content-Type: text/html\n"
	"\n"
	"<html><body><p>Buy VIAGRA now!!! Buy viagra today!!!</p>"
	"<a href=\"http://shop.example.biz/buy\">shop</a>"
	"<p>spaced   out</p></body></html>\n";

static void test_types(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;
	const struct rule_hit *h;

	write_file("10_types.cf",
		"# every rule type\n"
		"header H_SUBJ Subject =~ /^Cheap pills now$/\n"
		"header H_SUBJ_RAW Subject:raw =~ /^ =\\?utf-8\\?q\\?Cheap/\n"
		"header H_NEG X-Mailer !~ /./\n"
		"header H_EXISTS exists:Message-Id\n"
		"header H_NOT_EXISTS exists:X-Nothing\n"
		"header H_ADDR From:addr =~ /^alice\\@example\\.org$/\n"
		"header H_NAME From:name =~ /^Alice Example$/\n"
		"header H_TOCC ToCc =~ /dave\\@/\n"
		"header H_TO_ADDRS To:addr =~ /^bob\\@example\\.com\\ncarol\\@/\n"
		"header H_ALL ALL =~ /^Cc: dave/m\n"
		"header H_MSGID MESSAGEID =~ /^<1234\\@/\n"
		"header H_ENVFROM EnvelopeFrom =~ /^bounce\\@sender\\.example$/\n"
		"header H_UNSET X-Nothing =~ /^fallback$/ [if-unset: fallback]\n"
		"header H_RELAYS X-Spam-Relays-Untrusted =~ /ip=/\n"
		"body B_VIAGRA /\\bviagra\\b/i\n"
		"body B_SUBJECT_LINE /^Cheap pills now$/m\n"
		"body B_PARA /spaced out/\n"
		"body B_NO_TAGS /<p>/\n"
		"rawbody R_TAGS /<p>spaced   out<\\/p>/\n"
		"full F_HEADERS /^Message-Id: <1234\\@example\\.org>$/m\n"
		"uri U_SHOP m{^http://shop\\.example\\.biz/}\n"
		"uri U_OTHER m!^http://other\\.!\n"
		"body E_EVAL eval:check_something()\n"
		"score H_SUBJ 2.5\n"
		"describe H_SUBJ Subject is about pills\n"
		"score B_VIAGRA 1.0 2.0 3.0 4.0\n"
		"required_score 4\n");
	rs = load(&lint);
	TEST_OK(rs != NULL, "rule set loads");
	TEST_IS_INT(lint.errors, 0, "no errors");
	TEST_IS_INT(lint.loaded[RULE_HEADER], 14, "14 header rules run");
	TEST_IS_INT(lint.unsupported[RULE_HEADER], 0,
		    "relay pseudo-headers supported");
	TEST_IS_INT(lint.eval[RULE_BODY], 1, "eval test counted");
	TEST_IS_INT(lint.loaded[RULE_URI], 2, "2 uri rules");
	msg = message_parse(MESSAGE, sizeof(MESSAGE) - 1);
	rule_set_score(rs, msg, &res);
	TEST_OK(hit(&res, "H_SUBJ"), "header, decoded value");
	TEST_OK(hit(&res, "H_SUBJ_RAW"), "header :raw");
	TEST_OK(hit(&res, "H_NEG"), "!~ on an absent header hits");
	TEST_OK(hit(&res, "H_EXISTS"), "exists:");
	TEST_OK(!hit(&res, "H_NOT_EXISTS"), "exists: absent");
	TEST_OK(hit(&res, "H_ADDR"), ":addr");
	TEST_OK(hit(&res, "H_NAME"), ":name");
	TEST_OK(hit(&res, "H_TOCC"), "ToCc");
	TEST_OK(hit(&res, "H_TO_ADDRS"), ":addr lists every address");
	TEST_OK(hit(&res, "H_ALL"), "ALL");
	TEST_OK(hit(&res, "H_MSGID"), "MESSAGEID");
	TEST_OK(hit(&res, "H_ENVFROM"), "EnvelopeFrom from Return-Path");
	TEST_OK(hit(&res, "H_UNSET"), "[if-unset: ...]");
	TEST_OK(!hit(&res, "H_RELAYS"), "X-Spam-Relays-Untrusted is computed "
		"(no parseable relay), not the message's own field");
	TEST_OK(hit(&res, "B_VIAGRA"), "body");
	TEST_OK(hit(&res, "B_SUBJECT_LINE"), "Subject is the first body line");
	TEST_OK(hit(&res, "B_PARA"), "body white space collapsed");
	TEST_OK(!hit(&res, "B_NO_TAGS"), "body has no HTML tags");
	TEST_OK(hit(&res, "R_TAGS"), "rawbody keeps tags and spaces");
	TEST_OK(hit(&res, "F_HEADERS"), "full");
	TEST_OK(hit(&res, "U_SHOP"), "uri with m{}");
	TEST_OK(!hit(&res, "U_OTHER"), "uri with m!! not hit");
	TEST_OK(!hit(&res, "E_EVAL"), "eval test never hits");
	h = find_hit(&res, "H_SUBJ");
	TEST_OK(h != NULL && h->score == 2.5, "score line");
	TEST_IS_STR(h ? h->description : NULL, "Subject is about pills",
		    "describe");
	h = find_hit(&res, "B_VIAGRA");
	TEST_OK(h != NULL && h->score == 1.0, "four scores: set 0 is used");
	h = find_hit(&res, "H_NEG");
	TEST_OK(h != NULL && h->score == 1.0, "no score line: 1");
	TEST_OK(res.required == 4, "required_score");
	TEST_OK(res.score >= 4, "total adds up (%.2f)", res.score);
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	TEST_OK(rs == NULL, "rule_set_deinit sets NULL");
	rule_lint_deinit(&lint);
	unlink(strcat(strcpy((char[128]){ 0 }, dir), "/10_types.cf"));
}

static void test_meta_tflags(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;
	const struct rule_hit *h;

	write_file("20_meta.cf",
		"body __VIAGRA /viagra/i\n"
		"tflags __VIAGRA multiple\n"
		"body __BANG /!!!/\n"
		"tflags __BANG multiple maxhits=1\n"
		"body __NOPE /not in this message/\n"
		"meta M_BOOL __VIAGRA && !__NOPE\n"
		"meta M_COUNT __VIAGRA >= 2\n"
		"meta M_MAXHITS __BANG == 1\n"
		"meta M_ARITH (__VIAGRA + __BANG + __NOPE) > 2\n"
		"meta M_OF_META M_BOOL && M_ARITH\n"
		"meta M_UNKNOWN __NO_SUCH_RULE\n"
		"meta M_LOCAL local_tests_only\n"
		"body NICE_RULE /shop/\n"
		"tflags NICE_RULE nice\n"
		"body T_TESTING /shop/\n"
		"body MULTI /buy/i\n"
		"tflags MULTI multiple\n"
		"score MULTI 0.5\n"
		"body ZERO /shop/\n"
		"score ZERO 0\n"
		"meta M_ZERO_DEP ZERO\n"
		"body NET_RULE /shop/\n"
		"tflags NET_RULE net\n"
		"body NOSUBJ /Cheap/\n"
		"tflags NOSUBJ nosubject\n"
		"meta M_LOOP_A M_LOOP_B\n"
		"meta M_LOOP_B M_LOOP_A\n");
	rs = load(&lint);
	TEST_IS_INT(lint.errors, 1, "one error: the meta loop");
	TEST_LIKE(str_c(&lint.messages), "20_meta.cf:",
		  "loop reported with the file");
	TEST_LIKE(str_c(&lint.messages), "dependency loop", "loop explained");
	msg = message_parse(MESSAGE, sizeof(MESSAGE) - 1);
	rule_set_score(rs, msg, &res);
	TEST_OK(hit(&res, "M_BOOL"), "boolean meta");
	TEST_OK(hit(&res, "M_COUNT"), "multiple counts every match");
	TEST_OK(hit(&res, "M_MAXHITS"), "maxhits=1 stops at one");
	TEST_OK(hit(&res, "M_ARITH"), "arithmetic meta");
	TEST_OK(hit(&res, "M_OF_META"), "meta of metas");
	TEST_OK(!hit(&res, "M_UNKNOWN"), "unknown dependency is 0");
	TEST_OK(hit(&res, "M_LOCAL"), "local_tests_only is true");
	h = find_hit(&res, "NICE_RULE");
	TEST_OK(h != NULL && h->score == -1.0, "nice: default score -1");
	h = find_hit(&res, "T_TESTING");
	TEST_OK(h != NULL && h->score == 0.01, "T_ rule: default 0.01");
	h = find_hit(&res, "MULTI");
	TEST_OK(h != NULL && h->count == 2 && h->score == 1.0,
		"multiple: scored per match (count %d)", h ? h->count : -1);
	TEST_OK(!hit(&res, "ZERO"), "score 0: rule does not run");
	TEST_OK(!hit(&res, "M_ZERO_DEP"), "meta on a disabled rule");
	TEST_OK(!hit(&res, "NET_RULE"), "tflags net: does not run");
	TEST_OK(!hit(&res, "NOSUBJ"), "nosubject skips the Subject line");
	TEST_OK(find_hit(&res, "__VIAGRA") == NULL,
		"__ rules are not in the scored hits");
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	unlink(strcat(strcpy((char[128]){ 0 }, dir), "/20_meta.cf"));
}

static void test_conditionals(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;

	write_file("init.pre",
		"# plugins\n"
		"loadplugin Mail::SpamAssassin::Plugin::Loaded\n"
		"loadplugin Mail::SpamAssassin::Plugin::ReplaceTags\n");
	write_file("30_if.cf",
		"ifplugin Mail::SpamAssassin::Plugin::Loaded\n"
		"  body IN_LOADED /viagra/i\n"
		"endif\n"
		"ifplugin Mail::SpamAssassin::Plugin::Missing\n"
		"  body IN_MISSING /viagra/i\n"
		"else\n"
		"  body IN_ELSE /viagra/i\n"
		"endif\n"
		"if version >= 3.004000\n"
		"  body IN_VERSION /viagra/i\n"
		"endif\n"
		"if (version > 9.0) || !plugin(Mail::SpamAssassin::Plugin::Loaded)\n"
		"  body IN_FALSE /viagra/i\n"
		"endif\n"
		"if can(Mail::SpamAssassin::Conf::feature_yesno)\n"
		"  if plugin(Mail::SpamAssassin::Plugin::Missing)\n"
		"    body IN_NESTED_FALSE /viagra/i\n"
		"  endif\n"
		"  body IN_CAN /viagra/i\n"
		"endif\n"
		"include extra.inc\n"
		"lang fr describe IN_LOADED Viagra en francais\n"
		"replace_tag V (?:v|\\\\/)\n"
		"replace_tag I [i1!]\n"
		"replace_inter W [\\s.]*\n"
		"body REPLACED /<inter W><V><I>agra/i\n"
		"replace_rules REPLACED\n"
		"body NOT_REPLACED /<V>iagra/i\n"
		"header OVERRIDDEN Subject =~ /nomatch/\n");
	write_file("40_later.cf",
		"header OVERRIDDEN Subject =~ /pills/\n"
		"describe OVERRIDDEN later file wins\n");
	write_file("extra.inc", "body FROM_INCLUDE /today/\n");
	rs = load(&lint);
	TEST_IS_INT(lint.errors, 0, "no errors");
	TEST_IS_INT(lint.lang_lines, 1, "lang line counted");
	TEST_IS_INT(lint.plugins, 2, "two plugins loaded from the .pre file");
	msg = message_parse(MESSAGE, sizeof(MESSAGE) - 1);
	rule_set_score(rs, msg, &res);
	TEST_OK(hit(&res, "IN_LOADED"), "ifplugin of a loaded plugin");
	TEST_OK(!hit(&res, "IN_MISSING"), "ifplugin of a missing plugin");
	TEST_OK(hit(&res, "IN_ELSE"), "else branch");
	TEST_OK(hit(&res, "IN_VERSION"), "if version >= 3.004");
	TEST_OK(!hit(&res, "IN_FALSE"), "false if expression");
	TEST_OK(!hit(&res, "IN_NESTED_FALSE"), "nested false if");
	TEST_OK(hit(&res, "IN_CAN"), "if can(feature)");
	TEST_OK(hit(&res, "FROM_INCLUDE"), "include");
	TEST_OK(hit(&res, "REPLACED"), "replace_tag and replace_inter");
	TEST_OK(!hit(&res, "NOT_REPLACED"), "tags only in replace_rules");
	TEST_OK(hit(&res, "OVERRIDDEN"), "a later file redefines a rule");
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
}

static void test_bad_lines(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;
	const char *m;
	static const struct {
		const char *line;
		const char *msg;
	} bad[] = {
		{ "body BAD_RE /foo(/", "bad.cf:1: body BAD_RE: bad regular "
		  "expression: missing closing parenthesis" },
		{ "body BAD_UNTERM /foo", "bad.cf:2: body BAD_UNTERM: "
		  "unterminated regular expression; rule skipped" },
		{ "header BAD_OP Subject == /x/", "bad.cf:3: header BAD_OP: "
		  "expected =~ or !~ after the header name" },
		{ "body BAD_FLAG /x/q", "bad.cf:4: body BAD_FLAG: unknown "
		  "regular expression flag" },
		{ "meta BAD_META (A &&", "bad.cf:5: meta BAD_META: syntax "
		  "error at end of expression; rule skipped" },
		{ "score GOOD_RULE lots", "bad.cf:6: score GOOD_RULE: bad "
		  "score \"lots\"" },
		{ "body 9BAD /x/", "bad.cf:7: body: bad rule name \"9BAD\"" },
		{ "endif", "bad.cf:8: endif without if" },
		{ "body BAD_JUNK /x/ trailing", "bad.cf:9: body BAD_JUNK: junk "
		  "after the regular expression" },
		{ "if version >>> 3", "bad.cf:10: bad if expression" },
		{ "endif", "" },
	};
	struct str file = STR_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		str_printf(&file, "%s\n", bad[i].line);
	str_appends(&file, "body GOOD_RULE /viagra/i\n"
		    "include no-such-file.cf\n"
		    "if 1\n");
	write_file("bad.cf", file.s);
	str_deinit(&file);
	rs = load(&lint);
	TEST_OK(rs != NULL, "a file with bad lines still loads");
	m = str_c(&lint.messages);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (bad[i].msg[0] != '\0')
			TEST_LIKE(m, bad[i].msg, "line %zu: %s", i + 1,
				  bad[i].line);
	TEST_LIKE(m, "bad.cf:13: include no-such-file.cf: No such file",
		  "include of a missing file");
	TEST_LIKE(m, "bad.cf:14: missing endif", "missing endif at the end");
	TEST_IS_INT(lint.errors, 12, "every bad line is an error");
	msg = message_parse(MESSAGE, sizeof(MESSAGE) - 1);
	rule_set_score(rs, msg, &res);
	TEST_OK(hit(&res, "GOOD_RULE"), "the good rule still runs");
	TEST_OK(find_hit(&res, "GOOD_RULE") &&
		find_hit(&res, "GOOD_RULE")->score == 1.0,
		"a bad score line leaves the default");
	TEST_IS_INT(res.n_hits, 1, "nothing else hits");
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	clean_dir();
}

static void test_no_dir(void)
{
	const char *dirs[1] = { "/nonexistent/spamtrap-rules" };
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	struct rule_lint lint;
	char *error = NULL;
	struct rule_set *rs;

	opts.quiet = 1;
	rule_lint_init(&lint);
	rs = rule_set_load(dirs, 1, &opts, &lint, &error);
	TEST_OK(rs == NULL, "no readable directory: NULL");
	TEST_LIKE(error, "no rule directory could be read", "error says so");
	free(error);
	rule_lint_deinit(&lint);
}

static struct rule_set *load_opts(double budget, unsigned long limit)
{
	const char *dirs[1] = { dir };
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	char *error = NULL;
	struct rule_set *rs;

	opts.quiet = 1;
	opts.time_budget = budget;
	opts.match_limit = limit;
	rs = rule_set_load(dirs, 1, &opts, NULL, &error);
	free(error);
	return rs;
}

static void test_limits(void)
{
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;
	struct str file = STR_INIT, body = STR_INIT;
	int i;

	if (mkdir(dir, 0700) < 0)
		perror(dir);
	/* exponential backtracking (2^40 without a limit), no required
	   character for PCRE2 to fail fast on */
	write_file("slow.cf", "body SLOW /(?:a|aa)+(?:a|aa)+b|zz/\n"
		   "body FAST /aaa/\n");
	str_appends(&body, "Subject: x\n\n");
	for (i = 0; i < 40; i++)
		str_appendc(&body, 'a');
	str_appendc(&body, '\n');
	msg = message_parse(body.s, body.len);
	rs = load_opts(0, 100000);
	rule_set_score(rs, msg, &res);
	TEST_OK(!hit(&res, "SLOW"), "match limit: the rule counts as not hit");
	TEST_OK(hit(&res, "FAST"), "the other rules still run");
	TEST_OK(res.elapsed < 1.0, "bounded by the match limit (%.3f s)",
		res.elapsed);
	TEST_OK(!res.timed_out, "no time budget set: not timed out");
	rule_result_deinit(&res);
	rule_set_deinit(&rs);
	clean_dir();

	/* the time budget stops evaluation part way */
	if (mkdir(dir, 0700) < 0)
		perror(dir);
	for (i = 0; i < 200; i++)
		str_printf(&file, "body R%03d /a/\n", i);
	write_file("many.cf", file.s);
	rs = load_opts(1e-9, 100000);
	rule_set_score(rs, msg, &res);
	TEST_OK(res.timed_out, "time budget exceeded is reported");
	TEST_OK(res.n_hits < 200, "rules after the budget do not count "
		"(%zu hit)", res.n_hits);
	rule_result_deinit(&res);
	rule_set_deinit(&rs);
	rs = load_opts(10, 100000);
	rule_set_score(rs, msg, &res);
	TEST_OK(!res.timed_out && res.n_hits == 200, "within the budget all "
		"200 run");
	rule_result_deinit(&res);
	rule_set_deinit(&rs);
	message_deinit(&msg);
	str_deinit(&file);
	str_deinit(&body);
	clean_dir();
}

/* found by fuzz-rules: a file that includes its own directory twice was
   read 2^10 times (nesting limit 10); "include" with no name read the
   directory */
static void test_include_loops(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	time_t t0 = time(NULL);

	(void) mkdir(dir, 0700);
	write_file("10_loop.cf",
		"include \n"
		"include .\n"
		"include .\n"
		"body LOOPED /x/\n");
	rs = load(&lint);
	TEST_OK(rs != NULL, "a self-including directory loads");
	TEST_OK(time(NULL) - t0 < 5, "in bounded time");
	TEST_OK(lint.files <= 202, "at most 200 includes followed (%d files read)",
		lint.files);
	TEST_LIKE(str_c(&lint.messages), "10_loop.cf:1: include: no file name",
		  "an empty include is an error with file:line");
	TEST_LIKE(str_c(&lint.messages), "more than 200 includes in one load",
		  "the include budget is reported");
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
}

/* found by fuzz-rules: "if (canversion >= 4)" (a word starting with
   "can", "has" or "plugin " without a parenthesis) read before the
   expression and crashed the load */
static void test_if_words(void)
{
	struct rule_lint lint;
	struct rule_set *rs;

	(void) mkdir(dir, 0700);
	write_file("10_if.cf",
		"if (canversion >= 4.004000)\n"
		"body IN_CANWORD /x/\n"
		"endif\n"
		"if hasfoo\n"
		"body IN_HASWORD /x/\n"
		"endif\n"
		"if plugin  x\n"
		"body IN_PLUGINWORD /x/\n"
		"endif\n"
		"body AFTER_IFS /x/\n");
	rs = load(&lint);
	TEST_OK(rs != NULL, "words like canversion in if: the file loads");
	TEST_IS_INT(lint.loaded[RULE_BODY], 1,
		    "unknown if words are false: only the rule after them");
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
}

/*
 * A regex too large for PCRE2 (64 KiB of compiled code) whose
 * alternatives sit in a group inside a group, as SpamAssassin's
 * ReplaceTags rules do: it is split and still matches as a whole.
 */
static void test_huge_regex(void)
{
	struct str file = STR_INIT, msg = STR_INIT;
	struct rule_lint lint;
	struct rule_set *rs;
	struct rule_result res;
	struct message *m;
	int i;

	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
	str_appends(&file, "body HUGE_NESTED /(?:^|\\s)(?:(?:");
	/* a bounded repeat of a group compiles to that many copies */
	for (i = 0; i < 600; i++)
		str_printf(&file, "%sw%04d(?:[a-z]y|[0-9]x){0,9}", i ? "|" : "", i);
	str_appends(&file, ")\\s(?:done|over))/\nscore HUGE_NESTED 2\n");
	write_file("huge.cf", file.s);
	rs = load(&lint);
	TEST_OK(rs != NULL, "huge nested regex: the file loads");
	TEST_IS_INT(lint.errors, 0, "huge nested regex: not a bad line");
	if (lint.errors)
		printf("# %s\n", str_c(&lint.messages));
	TEST_OK(rs != NULL && lint.loaded[RULE_BODY] == 1,
		"huge nested regex: split and loaded (%d body rules)",
		lint.loaded[RULE_BODY]);
	str_appends(&msg, "Subject: x\n\nsome text w0432ay1x done here\n");
	m = message_parse(msg.s, msg.len);
	if (rs != NULL) {
		rule_set_score(rs, m, &res);
		TEST_OK(hit(&res, "HUGE_NESTED"), "huge nested regex: matches an alternative deep inside");
		rule_result_deinit(&res);
	}
	message_deinit(&m);
	str_clear(&msg);
	str_appends(&msg, "Subject: x\n\nsome text w0432ay1x nothing here\n");
	m = message_parse(msg.s, msg.len);
	if (rs != NULL) {
		rule_set_score(rs, m, &res);
		TEST_OK(!hit(&res, "HUGE_NESTED"), "huge nested regex: the suffix still counts");
		rule_result_deinit(&res);
	}
	message_deinit(&m);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	str_deinit(&file);
	str_deinit(&msg);
}

/*
 * A repeated group too large for PCRE2 as a whole, as SpamAssassin's
 * __FILL_THIS_FORM_LONG rules: (?:X){5} with X alone small enough.  The
 * repeats are chained over every way X can match, so a match needing
 * the shorter alternatives is found.
 */
static void test_huge_repeat(void)
{
	static const struct {
		const char *body;
		int hit;
	} cases[] = {
		{ "w0001w0002w0003w0004w0005 x", 1 },
		{ "see w0001w0002w0003w0004 x", 0 },
		{ "ababw0001 x", 1 },	/* a,b,a,b,w0001; ab,ab,w0001 is 3 */
		{ "abw0001 x", 0 },	/* at most 3 */
		{ "nothing", 0 },
	};
	struct str file = STR_INIT;
	struct rule_lint lint;
	struct rule_set *rs;
	size_t c;
	int i;

	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
	str_appends(&file, "body HUGE_REPEAT /(?:");
	for (i = 0; i < 2000; i++)
		str_printf(&file, "w%04d|", i);
	str_appends(&file, "ab|a|b){5}/\nscore HUGE_REPEAT 2\n");
	write_file("rep.cf", file.s);
	rs = load(&lint);
	TEST_IS_INT(lint.errors, 0, "huge repeat: not a bad line");
	TEST_OK(rs != NULL && lint.loaded[RULE_BODY] == 1 &&
		lint.unsupported[RULE_BODY] == 0,
		"huge repeat: loaded (%d body rules, %d unsupported)",
		lint.loaded[RULE_BODY], lint.unsupported[RULE_BODY]);
	for (c = 0; rs != NULL && c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct str msg = STR_INIT;
		struct rule_result res;
		struct message *m;

		str_printf(&msg, "Subject: x\n\n%s\n", cases[c].body);
		m = message_parse(msg.s, msg.len);
		rule_set_score(rs, m, &res);
		TEST_IS_INT(hit(&res, "HUGE_REPEAT"), cases[c].hit,
			    "huge repeat: \"%s\"", cases[c].body);
		rule_result_deinit(&res);
		message_deinit(&m);
		str_deinit(&msg);
	}
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	str_deinit(&file);
}

/*
 * Sub-rules with a long regex run last, and only where they can change
 * the result: __LONG (over 1000 bytes) is left out when List-Id decides
 * SHOWN and SHOWN2 without it, runs when it does not; every_rule runs
 * it always.  The score is the same either way.  A counting rule (tflags
 * multiple) and a rule with a score are never left out.
 */
static void test_deferred(void)
{
	static const struct {
		const char *msg;
		int shown, shown2, long_run, long_all;
	} cases[] = {
		{ "List-Id: <x.example>\n\nw0005 form\n", 0, 1, 0, 1 },
		{ "Subject: x\n\nw0005 form\n", 1, 1, 1, 1 },
		{ "Subject: x\n\nw0005 no\n", 0, 0, 0, 0 },
		{ "List-Id: <x.example>\n\nnothing\n", 0, 1, 0, 0 },
	};
	struct str file = STR_INIT, alt = STR_INIT;
	struct rule_lint lint;
	struct rule_set *rs, *every;
	size_t c;
	int i;

	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
	for (i = 0; i < 200; i++)
		str_printf(&alt, "%sw%04d", i ? "|" : "", i);
	str_printf(&file,
		   "body __LONG /(?:%s)\\s+form/\n"
		   "body __LONG_COUNT /(?:%s)/\ntflags __LONG_COUNT multiple\n"
		   "body LONG_SCORED /(?:%s)\\s+forms/\n"
		   "header __LIST exists:List-Id\n"
		   "meta SHOWN __LONG && !__LIST\nscore SHOWN 2\n"
		   "meta SHOWN2 __LIST || __LONG\nscore SHOWN2 1\n"
		   "meta __SUB __LONG\n"
		   "meta COUNTED __LONG_COUNT > 1\n",
		   alt.s, alt.s, alt.s);
	write_file("defer.cf", file.s);
	rs = load(&lint);
	TEST_IS_INT(lint.deferred, 1, "one sub-rule deferred (not the "
		    "counting one, not the scored one)");
	rule_lint_deinit(&lint);
	load_every_rule = 1;
	every = load(&lint);
	load_every_rule = 0;
	TEST_IS_INT(lint.deferred, 0, "every_rule: none deferred");
	rule_lint_deinit(&lint);
	for (c = 0; rs != NULL && every != NULL &&
	     c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct message *m = message_parse(cases[c].msg,
						  strlen(cases[c].msg));
		struct rule_result res, all;

		rule_set_score(rs, m, &res);
		rule_set_score(every, m, &all);
		TEST_IS_INT(hit(&res, "SHOWN"), cases[c].shown,
			    "deferred, message %zu: SHOWN", c + 1);
		TEST_IS_INT(hit(&res, "SHOWN2"), cases[c].shown2,
			    "deferred, message %zu: SHOWN2", c + 1);
		TEST_IS_INT(hit(&res, "__LONG"), cases[c].long_run,
			    "deferred, message %zu: __LONG %s", c + 1,
			    cases[c].long_run ? "ran and hit" : "left out");
		TEST_IS_INT(hit(&all, "__LONG"), cases[c].long_all,
			    "every_rule, message %zu: __LONG", c + 1);
		TEST_OK(res.score == all.score && res.n_hits == all.n_hits,
			"message %zu: the same score (%g, %g) and hits (%zu, "
			"%zu) either way", c + 1, res.score, all.score,
			res.n_hits, all.n_hits);
		rule_result_deinit(&res);
		rule_result_deinit(&all);
		message_deinit(&m);
	}
	rule_set_deinit(&rs);
	rule_set_deinit(&every);
	str_deinit(&file);
	str_deinit(&alt);
}

/* \x{0456} names a character: matched in the UTF-8 body, not refused */
static void test_code_points(void)
{
	struct rule_lint lint;
	struct rule_set *rs;
	struct rule_result res;
	struct message *m;
	static const char msg[] = "Subject: x\n\nsend b\xd1\x96tcoin now\n";

	clean_dir();
	if (mkdir(dir, 0700) < 0)
		perror(dir);
	write_file("cp.cf", "body LOOKALIKE /\\bb[i\\x{0456}]tcoin\\b/i\nscore LOOKALIKE 1\n");
	rs = load(&lint);
	TEST_IS_INT(lint.errors, 0, "\\x{0456}: not a bad line");
	m = message_parse(msg, sizeof(msg) - 1);
	if (rs != NULL) {
		rule_set_score(rs, m, &res);
		TEST_OK(hit(&res, "LOOKALIKE"), "\\x{0456}: matches the Cyrillic letter in UTF-8");
		rule_result_deinit(&res);
	}
	message_deinit(&m);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
}

/*
 * A header string tested by six or more rules gets a Hyperscan pass of
 * its own: the same hits as without it, negations included (a rule the
 * pass rules out hits when negated), anchors on a multi-line string,
 * a regex the pass cannot take (\\A) still run, back-references
 * (approximated by the pass) decided by PCRE2.
 */
static void test_header_pass(void)
{
	static const char rules[] =
		"header S_1 Subject =~ /^Cheap pills now$/\n"
		"header S_2 Subject =~ /pills/\n"
		"header S_3 Subject =~ /^pills/\n"
		"header S_4 Subject !~ /viagra/i\n"
		"header S_5 Subject !~ /cheap/i\n"
		"header S_6 Subject =~ /(l)\\1s/\n"
		"header S_7 Subject =~ /(i)ll\\1/\n"
		"header S_8 Subject =~ /now$/\n"
		"header A_1 ALL =~ /^Cc: dave/m\n"
		"header A_2 ALL =~ /^Cc: dave/\n"
		"header A_3 ALL =~ /^Return-Path:/\n"
		"header A_4 ALL !~ /^X-Nothing:/m\n"
		"header A_5 ALL =~ /\\nTo: bob/\n"
		"header A_6 ALL =~ /example\\.net>$/m\n"
		"header A_7 ALL =~ /\\ASubject/\n"
		"header U_1 X-None =~ /^dflt$/ [if-unset: dflt]\n"
		"header U_2 X-None =~ /x/ [if-unset: dflt]\n"
		"header U_3 X-None !~ /x/ [if-unset: dflt]\n"
		"header U_4 X-None =~ /d/ [if-unset: dflt]\n"
		"header U_5 X-None =~ /f/ [if-unset: dflt]\n"
		"header U_6 X-None =~ /^t/ [if-unset: dflt]\n";
	static const char *const want[] = {
		"S_1", "S_2", "S_4", "S_6", "S_8", "A_1", "A_3", "A_4",
		"A_5", "A_6", "U_1", "U_3", "U_4", "U_5",
	};
	static const char *const not_want[] = {
		"S_3", "S_5", "S_7", "A_2", "A_7", "U_2", "U_6",
	};
	struct rule_lint lint;
	struct rule_set *rs;
	struct message *msg;
	struct rule_result res;
	size_t i;

	write_file("10_hdr.cf", rules);
	rs = load(&lint);
	TEST_OK(rs != NULL && lint.errors == 0, "header rules load");
	TEST_IS_INT(lint.hyperscan[RULE_HEADER], 20,
		    "20 header regexes in the groups' passes (not \\A)");
	msg = message_parse(MESSAGE, sizeof(MESSAGE) - 1);
	rule_set_score(rs, msg, &res);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		TEST_OK(hit(&res, want[i]), "%s hits", want[i]);
	for (i = 0; i < sizeof(not_want) / sizeof(not_want[0]); i++)
		TEST_OK(!hit(&res, not_want[i]), "%s does not", not_want[i]);
	rule_result_deinit(&res);
	message_deinit(&msg);
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	unlink(strcat(strcpy((char[128]){ 0 }, dir), "/10_hdr.cf"));
}

int main(void)
{
	rules_test_dir("st2003");
	test_types();
	test_header_pass();
	test_meta_tflags();
	test_conditionals();
	test_bad_lines();
	test_no_dir();
	test_limits();
	test_include_loops();
	test_if_words();
	test_huge_regex();
	test_huge_repeat();
	test_deferred();
	test_code_points();
	clean_dir();
	return test_done();
}
