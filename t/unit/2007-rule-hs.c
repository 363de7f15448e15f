/*
 * 2007-rule-hs - the Hyperscan pass that picks which regexes run.  The
 * property that matters: whenever a regex matches one of the texts, the
 * pass reports it at or before that text.  Also: what it leaves out, the
 * shortened look-alike tags (a superset of the originals), the cache.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rule_hs.h"
#include "str.h"
#include "test-lib.h"

static int pcre_matches(const char *re, uint32_t opts, const char *s,
			size_t len)
{
	int err, rc;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
					 opts, &err, &off, NULL);
	pcre2_match_data *md;

	if (code == NULL)
		return -1;
	md = pcre2_match_data_create_from_pattern(code, NULL);
	rc = pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rc >= 0;
}

/* patterns of the kinds SpamAssassin rules use */
static const char *const pats[] = {
	"\\bfree\\s+money\\b",				/* 0 */
	"(?:^|\\s)v[i1!]agra(?:[\\s.,]|$)",		/* 1 */
	"<a\\s[^>]{0,2048}\\bhref=(?:3D)?.?(https?:[^>\"'# ]{8,29})",	/* 2 */
	"^Subject line",				/* 3 */
	"(?:click|tap){3}\\s+here",			/* 4 */
	"(?!xanax)x[a4]n[a4]x",				/* 5 */
	"\\Aonly at the start",				/* 6: left out */
	"a*",						/* 7: empty */
	"\\x{0456}",					/* 8: UTF */
	"(a)\\1b",					/* 9: backref */
	"end of line$",					/* 10 */
};
static const uint32_t opts[] = {
	PCRE2_CASELESS, PCRE2_CASELESS, PCRE2_CASELESS, 0, PCRE2_CASELESS,
	PCRE2_CASELESS, 0, 0, PCRE2_UTF, 0, 0,
};
#define N_PATS (sizeof(pats) / sizeof(pats[0]))

static const char *const texts[] = {
	"Hello there,",
	"Subject line first",
	"get FREE   money now",
	"<a class=x href=http://example.com/path>",
	"x4nax and v1agra.",
	"clicktapclick here",
	"aab and end of line",
	"",
	"nothing to see",
};
#define N_TEXTS (sizeof(texts) / sizeof(texts[0]))

static void test_scan(const char *cache)
{
	unsigned char taken[N_PATS];
	const char *why = NULL;
	struct rule_hs *hs;
	int64_t end[N_PATS];
	struct str all = STR_INIT;
	size_t starts[N_TEXTS], i, j;
	int cached = 0, compiled = 0;

	hs = rule_hs_build(pats, opts, N_PATS, cache, 2, taken, &why);
	if (!TEST_OK(hs != NULL, "built (%s)", why ? why : ""))
		return;
	rule_hs_counts(hs, &cached, &compiled);
	TEST_OK(cached + compiled > 0, "databases: %d cached, %d compiled",
		cached, compiled);
	TEST_IS_INT(taken[6], 0, "\\A pattern left out (texts are joined)");
	TEST_IS_INT(taken[7], 0, "pattern matching the empty string left out");
	TEST_IS_INT(taken[8], 0, "UTF pattern left out");
	TEST_IS_INT(taken[0] + taken[1] + taken[2] + taken[3] + taken[4] +
		    taken[5] + taken[9] + taken[10], 8, "the others taken");
	for (i = 0; i < N_TEXTS; i++) {
		starts[i] = all.len;
		str_appends(&all, texts[i]);
		str_appendc(&all, '\n');
	}
	memset(end, 0xff, sizeof(end));
	/* each database once, on lanes 0 and 1 in turn */
	TEST_OK(rule_hs_dbs(hs) > 0, "%zu database(s)", rule_hs_dbs(hs));
	for (i = 0; i < rule_hs_dbs(hs); i++)
		TEST_IS_INT(rule_hs_scan(hs, (int)(i & 1), i, all.s, all.len,
					 0, end), 0, "database %zu scanned on lane "
			    "%zu", i, i & 1);
	TEST_IS_INT(rule_hs_scan(hs, 2, 0, all.s, all.len, 0, end), -1,
		    "no scratch space for a third lane: the scan fails");
	TEST_IS_INT(rule_hs_scan(hs, 0, rule_hs_dbs(hs), all.s, all.len, 0,
				 end), -1, "no such database: the scan fails");
	/* every (pattern, text) match is reported at or before the text */
	for (i = 0; i < N_PATS; i++) {
		int any = 0;

		if (!taken[i])
			continue;
		for (j = 0; j < N_TEXTS; j++) {
			if (pcre_matches(pats[i], opts[i], texts[j],
					 strlen(texts[j])) != 1)
				continue;
			any = 1;
			TEST_OK(end[i] > 0 && (size_t)end[i] - 1 <
				starts[j] + strlen(texts[j]) + 1,
				"/%s/ matches text %zu: reported by %lld",
				pats[i], j, (long long)end[i]);
			break;
		}
		if (!any && i != 9)
			TEST_IS_INT(end[i], -1, "/%s/ matches nothing: not "
				    "reported", pats[i]);
	}
	TEST_IS_INT(end[3] >= 0 && (size_t)end[3] <= starts[2], 1,
		    "^ matches at the start of a joined text");
	TEST_IS_INT(end[10] >= 0 && (size_t)end[10] <= starts[7], 1,
		    "$ matches at the end of a joined text");
	str_deinit(&all);
	rule_hs_deinit(&hs);
	TEST_OK(hs == NULL, "freed");
}

/* SpamAssassin's look-alike tag for "A" (25_replace.cf), abridged */
static const char tag_a[] =
	"(?:[aA\\@\\xc0\\xc1\\xe4\\xe3]|[\\xb6\\xc1\\xc4\\xcb]|"
	"[\\xc3][\\x80\\x81\\x82\\xa0\\xa1]|[\\xc4][\\x80\\x81]|"
	"[\\xce][\\x86\\x91]|[\\xe1](?:[\\x8e][\\xaa]|[\\xb8][\\x80\\x81])|"
	"[\\xf0][\\x9d](?:[\\x90][\\x80\\x9a\\xb4]|[\\x91][\\x8e\\xa8])|"
	"&\\#(?:1(?:0(?:10|17)|99)|x(?:3f2|4a1));)";

static void test_simplify(void)
{
	static const char *const samples[] = {
		"a", "A", "@", "\xc0", "\xb6", "\xc3\xa0", "\xc4\x81",
		"\xce\x91", "\xe1\xb8\x80", "\xf0\x9d\x90\x80", "&#1010;",
		"&#x3f2;", "&#199;",
	};
	static const char *const others[] = { "b", "&amp;", "1" };
	char *s = rule_hs_simplify_tag(tag_a);
	size_t i;

	if (!TEST_OK(s != NULL, "the A tag can be shortened"))
		return;
	TEST_OK(strlen(s) < strlen(tag_a) / 2, "to less than half: %s", s);
	TEST_LIKE(s, "[\\x80-\\xff]{1,4}", "multi-byte letters -> one class");
	TEST_LIKE(s, "&\\#\\w+;", "character references -> one");
	TEST_LIKE(s, "[aA\\@]", "ASCII members kept");
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		TEST_IS_INT(pcre_matches(tag_a, 0, samples[i],
					 strlen(samples[i])), 1,
			    "original matches sample %zu", i);
		TEST_IS_INT(pcre_matches(s, 0, samples[i], strlen(samples[i])),
			    1, "shortened matches sample %zu too", i);
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		TEST_IS_INT(pcre_matches(s, PCRE2_ANCHORED, others[i],
					 strlen(others[i])), 0,
			    "shortened still refuses \"%s\"", others[i]);
	free(s);
	TEST_OK(rule_hs_simplify_tag("[\\s\\d_*]") == NULL,
		"a plain class is left alone");
	TEST_OK(rule_hs_simplify_tag("(?:jpe?g|gif|png)") == NULL,
		"an ASCII group is left alone");
	TEST_OK(rule_hs_simplify_tag("(?:a)|(?:b)") == NULL,
		"not one group: left alone");
}

/*
 * Plain texts (no byte above 0x7f, no "&#") are scanned with databases
 * whose patterns lack the alternatives only other texts can match: every
 * match is still reported when the caller passes the text's own
 * rule_hs_plain_text(); a non-plain text scanned as plain would miss
 * those alternatives (which shows the variant database is the one used).
 */
static const char *const ppats[] = {
	"(?:[aA]|[\\x80-\\xff]{1,4}|&\\#\\w+;)bc",	/* 0: both removed */
	"x(?:[\\x80-\\xff]{1,4}|&\\#\\w+;)y",		/* 1: first stays */
	"a\\|[\\x80-\\xff]{1,4}|zq",		/* 2: escaped |: kept */
	"[|[\\x80-\\xff]{1,4}|]w",		/* 3: in a class: kept */
	"plain(?:ly|[\\x80-\\xff]{1,4})",		/* 4: removed */
	"\\Qq|[\\x80-\\xff]{1,4})\\E",		/* 5: quoted: kept */
};
static const char *const ptexts[] = {
	"abc", "\xc3\xa4" "bc", "&#97;bc", "x&#1;y", "x\xe9y", "a|\xe9",
	"zq", "\xe9w", "|w", "plainly", "plain\xc3\xa9", "nothing",
	"q|[\\x80-\\xff]{1,4})",
};

static void test_plain(void)
{
	const size_t np = sizeof(ppats) / sizeof(ppats[0]);
	const size_t nt = sizeof(ptexts) / sizeof(ptexts[0]);
	uint32_t popts[sizeof(ppats) / sizeof(ppats[0])] = { 0 };
	unsigned char taken[sizeof(ppats) / sizeof(ppats[0])];
	int64_t end[sizeof(ppats) / sizeof(ppats[0])];
	const char *why = NULL;
	int cached = 0, compiled = 0;
	struct rule_hs *hs;
	size_t i, j, d;

	TEST_OK(rule_hs_plain_text("a & b # c&", 10), "& and # apart: plain");
	TEST_OK(!rule_hs_plain_text("a &#1; b", 8), "&#: not plain");
	TEST_OK(!rule_hs_plain_text("caf\xc3\xa9", 5), "UTF-8: not plain");
	TEST_OK(rule_hs_plain_text("", 0), "empty: plain");
	hs = rule_hs_build(ppats, popts, np, NULL, 1, taken, &why);
	if (!TEST_OK(hs != NULL, "built (%s)", why ? why : ""))
		return;
	rule_hs_counts(hs, &cached, &compiled);
	TEST_IS_INT(compiled, (int)rule_hs_dbs(hs) * 2,
		    "each database has a plain variant");
	for (i = 0; i < np; i++)
		TEST_IS_INT(taken[i], 1, "/%s/ taken", ppats[i]);
	for (j = 0; j < nt; j++) {
		const char *t = ptexts[j];
		int plain = rule_hs_plain_text(t, strlen(t));

		memset(end, 0xff, sizeof(end));
		for (d = 0; d < rule_hs_dbs(hs); d++)
			(void)rule_hs_scan(hs, 0, d, t, strlen(t), plain, end);
		for (i = 0; i < np; i++)
			if (pcre_matches(ppats[i], 0, t, strlen(t)) == 1)
				TEST_OK(end[i] >= 0, "/%s/ matches \"%s\" "
					"(plain %d): reported", ppats[i], t,
					plain);
	}
	/* "\xc3\xa4bc" as if it were plain: the variant has no [\x80-\xff] */
	memset(end, 0xff, sizeof(end));
	for (d = 0; d < rule_hs_dbs(hs); d++)
		(void)rule_hs_scan(hs, 0, d, ptexts[1], strlen(ptexts[1]), 1,
				   end);
	TEST_IS_INT(end[0], -1, "a non-plain text scanned as plain misses "
		    "the removed alternative");
	rule_hs_deinit(&hs);
}

/*
 * Patterns with a required literal share databases of up to 256; the
 * others go 48 or so to a database.  200 of each: one database for the
 * first kind, several for the second, and a scan still reports each.
 * Up to 48 patterns in all share one database, whatever their kind.
 */
#define N_KIND 200

static void test_chunks(void)
{
	char *p[2 * N_KIND];
	uint32_t o[2 * N_KIND] = { 0 };
	unsigned char taken[2 * N_KIND];
	int64_t end[2 * N_KIND];
	const char *why = NULL;
	struct rule_hs *hs;
	const char *text = "a word137ing and abc123";
	size_t i, d, n_other_dbs;
	int all_taken = 1;

	for (i = 0; i < N_KIND; i++) {
		struct str s = STR_INIT;

		str_printf(&s, "\\bword%03zu(?:s|ing)?\\b", i);
		p[i] = str_steal(&s);
		str_printf(&s, "[a-z]{%zu}[0-9]{%zu}", 1 + i % 20, 1 + i / 20);
		p[N_KIND + i] = str_steal(&s);
	}
	hs = rule_hs_build((const char *const *)p, o, N_KIND, NULL, 1, taken,
			   &why);
	if (TEST_OK(hs != NULL, "patterns with a literal built")) {
		TEST_IS_INT((int)rule_hs_dbs(hs), 1,
			    "200 patterns with a literal: one database");
		rule_hs_deinit(&hs);
	}
	hs = rule_hs_build((const char *const *)p + N_KIND, o, N_KIND, NULL, 1,
			   taken, &why);
	if (TEST_OK(hs != NULL, "patterns without a literal built")) {
		n_other_dbs = rule_hs_dbs(hs);
		TEST_OK(n_other_dbs >= 4, "200 patterns without a literal: "
			"%zu databases", n_other_dbs);
		rule_hs_deinit(&hs);
	} else {
		n_other_dbs = 0;
	}
	hs = rule_hs_build((const char *const *)p, o, 2 * N_KIND, NULL, 1,
			   taken, &why);
	if (TEST_OK(hs != NULL, "both kinds built")) {
		TEST_IS_INT((int)rule_hs_dbs(hs), (int)n_other_dbs + 1,
			    "together: the same databases");
		for (i = 0; i < 2 * N_KIND; i++)
			all_taken &= taken[i];
		TEST_OK(all_taken, "every pattern taken");
		memset(end, 0xff, sizeof(end));
		for (d = 0; d < rule_hs_dbs(hs); d++)
			(void)rule_hs_scan(hs, 0, d, text, strlen(text), 1,
					   end);
		TEST_OK(end[137] > 0, "word137 reported");
		TEST_IS_INT((int)end[138], -1, "word138 not reported");
		/* [a-z]{3}[0-9]{3}: the pattern 200 + 2 + 2 * 20 */
		TEST_OK(end[N_KIND + 42] > 0, "abc123 reported");
		rule_hs_deinit(&hs);
	}
	/* 20 of each: few enough for one database */
	for (i = 0; i < 20; i++) {
		char *t = p[20 + i];

		p[20 + i] = p[N_KIND + i];
		p[N_KIND + i] = t;
	}
	hs = rule_hs_build((const char *const *)p, o, 40, NULL, 1, taken,
			   &why);
	if (TEST_OK(hs != NULL, "20 of each kind built")) {
		TEST_IS_INT((int)rule_hs_dbs(hs), 1,
			    "40 patterns of both kinds: one database");
		rule_hs_deinit(&hs);
	}
	for (i = 0; i < 2 * N_KIND; i++)
		free(p[i]);
}

int main(void)
{
	char dir[] = "/tmp/spamtrap-hs-XXXXXX";
	struct str cache = STR_INIT;
	unsigned char taken[N_PATS];
	const char *why;
	struct rule_hs *hs;
	int cached = 0, compiled = 0;

	test_scan(NULL);
	test_plain();
	test_chunks();
	TEST_OK(mkdtemp(dir) != NULL, "temporary directory");
	str_printf(&cache, "%s/cache", dir);
	test_scan(cache.s);
	/* the second build comes from the cache, with the same result */
	hs = rule_hs_build(pats, opts, N_PATS, cache.s, 1, taken, &why);
	if (TEST_OK(hs != NULL, "built again")) {
		rule_hs_counts(hs, &cached, &compiled);
		TEST_OK(cached > 0 && compiled == 0,
			"from the cache: %d cached, %d compiled", cached,
			compiled);
		rule_hs_deinit(&hs);
	}
	test_scan(cache.s);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		TEST_IS_INT(system(cmd), 0, "cleanup");
	}
	test_simplify();
	str_deinit(&cache);
	return test_done();
}
