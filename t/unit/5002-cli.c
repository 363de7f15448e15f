/*
 * cli helpers: JSON strings from hostile header text (quotes, control
 * characters, invalid UTF-8), user arguments as lmtpd keys them, ids,
 * numbers and statuses with their error paths.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mymalloc.h"
#include "test-lib.h"

static void json_is(const char *in, const char *want, const char *what)
{
	struct str out = STR_INIT;

	cli_json_str(&out, in);
	TEST_IS_STR(str_c(&out), want, "json: %s", what);
	str_deinit(&out);
}

static void user_is(const char *arg, const char *want)
{
	char *u = cli_user("test", arg);

	if (want == NULL)
		TEST_OK(u == NULL, "user \"%s\" refused", arg);
	else
		TEST_IS_STR(u, want, "user \"%s\"", arg);
	free(u);
}

int main(void)
{
	struct qstore_incident inc;
	struct str out = STR_INIT;

	json_is("plain", "\"plain\"", "plain");
	json_is("a \"q\" \\ b", "\"a \\\"q\\\" \\\\ b\"", "quotes, backslash");
	json_is("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"", "newline, CR, tab");
	json_is("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "control chars");
	json_is("Gr\xc3\xbc\xc3\x9f" "e", "\"Gr\xc3\xbc\xc3\x9f" "e\"",
		"UTF-8 kept");
	json_is("bad \xff\xfe end", "\"bad \\ufffd\\ufffd end\"",
		"invalid bytes replaced");
	json_is("trunc \xc3", "\"trunc \\ufffd\"", "truncated sequence");
	json_is("over \xc0\xaf", "\"over \\ufffd\\ufffd\"", "overlong form");
	json_is("sur \xed\xa0\x80", "\"sur \\ufffd\\ufffd\\ufffd\"",
		"UTF-16 surrogate");
	json_is("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "4-byte kept");
	json_is(NULL, "\"\"", "NULL as empty");

	user_is("Alice@Example.ORG", "Alice@example.org");
	user_is("bob", "bob");
	user_is("", NULL);
	user_is("a b@example.org", NULL);
	user_is("<a@example.org>", NULL);
	user_is("a@", NULL);
	user_is("a,b@example.org", NULL);

	TEST_OK(cli_id_valid("1ng59k1rjb6sz"), "id valid");
	TEST_OK(!cli_id_valid("1ng59k1rjb6s"), "id too short");
	TEST_OK(!cli_id_valid("1NG59K1RJB6SZ"), "id upper case");
	TEST_OK(!cli_id_valid("1ng59k1rjb6si"), "id with i (not base32)");
	TEST_OK(!cli_id_valid(NULL), "id NULL");

	TEST_IS_INT(cli_number("t", "--n", "30", 1, 200), 30, "number");
	TEST_IS_INT(cli_number("t", "--n", "0", 1, 200), -1, "below range");
	TEST_IS_INT(cli_number("t", "--n", "3x", 1, 200), -1, "trailing junk");
	TEST_IS_INT(cli_number("t", "--n", "", 1, 200), -1, "empty");
	TEST_IS_INT(cli_status("t", "ONE-SHOT"), QSTORE_ONE_SHOT, "status");
	TEST_IS_INT(cli_status("t", "all"), QSTORE_STATUS_ANY, "status all");
	TEST_IS_INT(cli_status("t", "held"), -1, "unknown status");

	qstore_incident_init(&inc);
	memcpy(inc.id, "1ng59k1rjb6sz", QSTORE_ID_LEN + 1);
	qstore_incident_set(&inc.user, "a@example.org");
	qstore_incident_set(&inc.subject, "x\"y\n");
	inc.received = 1795335777;
	inc.scored = 1;
	inc.score = -0.04;
	inc.status = QSTORE_PENDING;
	inc.reasons = QSTORE_REASON_SPAMSCORE | QSTORE_REASON_HOLDRELAY;
	qstore_incident_add_action(&inc, 1795335778, "lmtpd", QSTORE_VIA_LMTP,
				   "held");
	cli_incident_json(&inc, &out);
	TEST_LIKE(str_c(&out), "{\"id\":\"1ng59k1rjb6sz\",\"date\":"
		  "\"2026-11-22T08:22:57Z\"", "incident json: id, date");
	TEST_LIKE(str_c(&out), "\"subject\":\"x\\\"y\\n\"", "  subject escaped");
	TEST_LIKE(str_c(&out), "\"score\":0.0,", "  never -0.0");
	TEST_LIKE(str_c(&out), "\"hold_reason\":\"SpamScore,HoldRelay\"",
		  "  hold reasons");
	TEST_LIKE(str_c(&out), "\"action\":\"held\",\"who\":\"lmtpd\","
		  "\"via\":\"lmtp\"", "  last action");
	TEST_OK(str_c(&out)[out.len - 1] == '}', "  one object");
	qstore_incident_deinit(&inc);
	str_deinit(&out);
	return test_done();
}
