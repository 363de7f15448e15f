/*
 * 2005-rule-prefilter - the literals a regex match must contain, and the
 * Aho-Corasick scan.  The property that matters: whenever the regex
 * matches a text, one of its literals is found in it.
 */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rule_prefilter.h"
#include "str.h"
#include "test-lib.h"

static const struct {
	const char *re;
	const char *want;	/* literals joined by '|', or NULL: none */
} cases[] = {
	{ "viagra", "viagra" },
	{ "\\bfree\\s+money\\b", "money" },
	{ "Click\\s+HERE", "click" },
	{ "\\b(?:cheap|discount) pills", " pills" },
	{ "\\b(?:cheap|discount)\\b", "cheap|discount" },
	{ "(?:cheap|di)", NULL },
	{ "abc?d", NULL },
	{ "abcd?efg", "abc" },
	{ "ab+cde", "cde" },
	{ "x{2}yz", NULL },
	{ "wxyz{2,}", "wxyz" },
	/* a count beyond int: no overflow (found by fuzz-rules, UBSan) */
	{ "wxyz{77777777777777}", "wxyz" },
	{ "abcd{0}efgh", "efgh" },
	{ "foo|barbaz", "foo|barbaz" },
	{ "foo|.*", NULL },
	{ "(?:abc)?def", "def" },
	{ "(?=lookahead)x", NULL },
	{ "(?!abcdef)xyzzy", "xyzzy" },
	{ "(?i:HELLO) world", " world" },
	{ "(?i:HELLO)\\s+world", "hello" },
	{ "[abc]def\\.com", "def.com" },
	{ "\\x41\\x42CDE", "cde" },
	{ "\\012345", NULL },
	{ "\\d{3}-\\d{4}", NULL },
	{ "a\\Qbcd\\E", NULL },
	{ "(?x) a b c d", NULL },
	{ "(?<name>money)back", "money" },
	{ "(?:(?:one|two)|three)x", "one|two|three" },
	{ "s\\$\\$\\$", "s$$$" },
	{ "\\pLabc", "abc" },
};

static char *joined(char **v, size_t n)
{
	struct str sb = STR_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			str_appendc(&sb, '|');
		str_appends(&sb, v[i]);
	}
	return str_steal(&sb);
}

/* match => some literal found */
static const char *const props[] = {
	"\\bfree\\s+money\\b", "(?:cheap|discount) pills", "abcd?efg",
	"(?i:HELLO) world", "(?:(?:one|two)|three)x", "ab+cde", "foo|barbaz",
	"[abc]def\\.com", "(?:abc)?def", "wxyz{2,}",
};
static const char *const texts[] = {
	"FREE   MONEY now", "free money", "cheap pills!", "Discount pills",
	"abcefg", "abcdefg", "ABCDEFG", "hello world", "HeLLo WORLD", "twox",
	"threex", "onex", "abbbcde", "xxfoo", "barbaz", "adef.com", "def",
	"abcdef", "wxyzzz", "nothing here", "",
};

int main(void)
{
	size_t i, j, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **lits;
		size_t n;
		int got = rule_prefilter_literals(cases[i].re, 0, &lits, &n);

		if (cases[i].want == NULL) {
			TEST_OK(!got, "%s: no literal", cases[i].re);
		} else {
			char *j1 = got ? joined(lits, n) : NULL;

			TEST_IS_STR(j1, cases[i].want, "%s", cases[i].re);
			free(j1);
		}
		if (got) {
			for (k = 0; k < n; k++)
				free(lits[k]);
			free(lits);
		}
	}
	{
		char **lits;
		size_t n;

		TEST_OK(!rule_prefilter_literals("viagra", PCRE2_EXTENDED, &lits,
						 &n), "x flag: no prefilter");
	}
	for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		char **lits;
		size_t n;
		struct rule_ac *ac;
		int err;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)props[i],
					       PCRE2_ZERO_TERMINATED,
					       PCRE2_CASELESS, &err, &off, NULL);
		pcre2_match_data *md = pcre2_match_data_create(4, NULL);
		int bad = 0;

		if (!rule_prefilter_literals(props[i], PCRE2_CASELESS, &lits,
					     &n)) {
			TEST_OK(0, "%s has literals", props[i]);
			continue;
		}
		ac = rule_ac_build(lits, n);
		for (j = 0; j < sizeof(texts) / sizeof(texts[0]); j++) {
			int32_t first[64], last[64];
			int m = pcre2_match(re, (PCRE2_SPTR)texts[j],
					    strlen(texts[j]), 0, 0, md, NULL) >= 0;
			int found = 0;

			memset(first, 0xff, sizeof(first));
			memset(last, 0xff, sizeof(last));
			rule_ac_scan(ac, texts[j], strlen(texts[j]), 0, first,
				     last);
			for (k = 0; k < n; k++)
				found |= first[k] == 0;
			if (m && !found) {
				bad = 1;
				printf("# %s matches \"%s\" but no literal found\n",
				       props[i], texts[j]);
			}
		}
		TEST_OK(!bad, "%s: every match contains a literal", props[i]);
		rule_ac_deinit(&ac);
		TEST_OK(ac == NULL, "deinit sets NULL");
		for (k = 0; k < n; k++)
			free(lits[k]);
		free(lits);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	{
		/* overlapping literals, each reported */
		char *lits[] = { "he", "she", "his", "hers" };
		int32_t first[4], last[4];
		struct rule_ac *ac = rule_ac_build(lits, 4);

		memset(first, 0xff, sizeof(first));
		memset(last, 0xff, sizeof(last));
		rule_ac_scan(ac, "uSHErs", 6, 0, first, last);
		TEST_OK(first[0] == 0 && first[1] == 0 && first[2] < 0 &&
			first[3] == 0,
			"Aho-Corasick finds overlapping literals, any case");
		rule_ac_scan(ac, "xx", 2, 1, first, last);
		rule_ac_scan(ac, "this", 4, 2, first, last);
		rule_ac_scan(ac, "she", 3, 3, first, last);
		TEST_OK(first[1] == 0 && last[1] == 3 && first[2] == 2 &&
			last[2] == 2 && last[3] == 0,
			"first and last line of each literal");
		rule_ac_deinit(&ac);
	}
	return test_done();
}
