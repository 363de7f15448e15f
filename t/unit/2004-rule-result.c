/*
 * 2004-rule-result - the score headers and the JSON report.
 */
#include <string.h>

#include "rules.h"
#include "str.h"
#include "test-lib.h"

int main(void)
{
	struct rule_hit hits[] = {
		{ "BAYES_X", "Line one\nline \"two\"", RULE_BODY, 3.25, 1 },
		{ "MULTI", "", RULE_URI, 1.5, 3 },
		{ "NICE", "nice \\ rule", RULE_HEADER, -0.5, 1 },
	};
	struct rule_result res = { 4.25, 5.0, hits, 3, 0, 0.01, NULL };
	struct rule_result none = { 0, 5.0, NULL, 0, 1, 0.01, NULL };
	struct str score = STR_INIT, status = STR_INIT, report = STR_INIT;
	struct str json = STR_INIT;

	rule_result_headers(&res, &score, &status, &report);
	TEST_IS_STR(score.s, "4.2", "X-Spam-Score, one decimal");
	TEST_IS_STR(status.s, "No, score=4.2 required=5.0 "
		    "tests=BAYES_X,MULTI,NICE", "X-Spam-Status");
	TEST_IS_STR(report.s, "*  3.2 BAYES_X Line one line \"two\"\n"
		    "\t*  1.5 MULTI\n\t* -0.5 NICE nice \\ rule",
		    "X-Spam-Report: folded, no control characters");
	res.score = 7;
	rule_result_headers(&res, NULL, &status, NULL);
	TEST_LIKE(status.s, "Yes, score=7.0", "Yes at the threshold");
	rule_result_headers(&none, &score, &status, &report);
	TEST_IS_STR(status.s, "No, score=0.0 required=5.0 tests=none "
		    "timeout=yes", "no hits, timed out");
	TEST_IS_STR(report.s, "", "empty report");

	res.score = 4.25;
	rule_result_json(&res, "dir/m\"1.eml", &json);
	TEST_IS_STR(json.s, "{\"file\":\"dir/m\\\"1.eml\",\"score\":4.25,"
		    "\"required\":5,\"hits\":["
		    "{\"rule\":\"BAYES_X\",\"score\":3.25,\"type\":\"body\","
		    "\"description\":\"Line one\\u000aline \\\"two\\\"\"},"
		    "{\"rule\":\"MULTI\",\"score\":1.5,\"count\":3,\"type\":\"uri\","
		    "\"description\":\"\"},"
		    "{\"rule\":\"NICE\",\"score\":-0.5,\"type\":\"header\","
		    "\"description\":\"nice \\\\ rule\"}]}", "JSON report");
	str_clear(&json);
	rule_result_json(&none, NULL, &json);
	TEST_IS_STR(json.s, "{\"score\":0,\"required\":5,\"timed_out\":true,"
		    "\"hits\":[]}", "JSON without file, timed out");
	TEST_IS_STR(rule_type_name(RULE_META), "meta", "type names");
	str_deinit(&score);
	str_deinit(&status);
	str_deinit(&report);
	str_deinit(&json);
	return test_done();
}
