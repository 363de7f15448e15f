/*
 * policy: every branch of the delivery decision and the tag string.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "test-lib.h"

static struct qstore_prefs prefs;
static struct qstore_table_matches tables;

static void reset(void)
{
	qstore_prefs_deinit(&prefs);
	qstore_prefs_init(&prefs);
	memset(&tables, 0, sizeof(tables));
}

static void entry(int scope, int kind, enum qstore_action_kind action)
{
	tables.m[scope][kind].found = 1;
	tables.m[scope][kind].action = action;
}

/* decide with the relay known and SCORE (NAN: not scored) */
static struct policy_result decide_full(int relay_known, int scored,
					double score)
{
	struct policy_input in;
	struct policy_result r;

	memset(&in, 0, sizeof(in));
	in.prefs = &prefs;
	in.tables = &tables;
	in.relay_known = relay_known;
	in.scored = scored;
	in.score = score;
	policy_decide(&in, &r);
	return r;
}

static struct policy_result decide(double score)
{
	return decide_full(1, 1, score);
}

#define IS(r, outcome_, reason_, what) do { \
	struct policy_result r_ = (r); \
	TEST_IS_STR(policy_outcome_name(r_.outcome), \
		    policy_outcome_name(outcome_), "%s: outcome", what); \
	TEST_IS_STR(policy_reason_name(r_.reason), reason_, \
		    "%s: reason", what); \
} while (0)

static void test_opt_out(void)
{
	reset();
	prefs.opt_out = 1;
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_REJECT);
	IS(decide(5000), POLICY_DELIVER, "", "opt-out beats reject and score");
	IS(decide_full(0, 0, 0), POLICY_DELIVER, "",
	   "opt-out decides before DATA");
}

static void test_tables(void)
{
	struct policy_result r;

	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_REJECT);
	r = decide(0);
	IS(r, POLICY_REJECT, "RejectSender", "user sender reject");
	TEST_IS_INT(r.scope, QSTORE_SCOPE_USER, "decided by the user scope");
	TEST_IS_INT(r.kind, QSTORE_TABLE_SENDER, "decided by the sender table");
	TEST_OK(r.match == &tables.m[0][0], "points at the match");

	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_ALLOW);
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, QSTORE_ACT_REJECT);
	IS(decide(100), POLICY_ALLOW, "", "user allow before site reject");

	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, QSTORE_ACT_HOLD);
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, QSTORE_ACT_ALLOW);
	IS(decide(0), POLICY_HOLD, "HoldRelay",
	   "user relay hold before site sender allow");

	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN, QSTORE_ACT_DEFAULT);
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, QSTORE_ACT_REJECT);
	IS(decide(1), POLICY_INBOX, "",
	   "user default hides site reject: scored, inbox");
	IS(decide(7), POLICY_HOLD, "SpamScore",
	   "user default hides site reject: scored, held");

	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_ALLOW);
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN, QSTORE_ACT_REJECT);
	IS(decide(0), POLICY_ALLOW, "", "sender before domain");

	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN, QSTORE_ACT_HOLD);
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, QSTORE_ACT_ALLOW);
	IS(decide(0), POLICY_HOLD, "HoldDomain", "domain before relay");

	reset();
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_DOMAIN, QSTORE_ACT_REJECT);
	IS(decide(0), POLICY_REJECT, "RejectDomain", "site domain reject");
	reset();
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_RELAY, QSTORE_ACT_REJECT);
	IS(decide(0), POLICY_REJECT, "RejectRelay", "site relay reject");
	reset();
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, QSTORE_ACT_HOLD);
	IS(decide(-3), POLICY_HOLD, "HoldSender",
	   "hold whatever the score");
	reset();
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, QSTORE_ACT_ALLOW);
	IS(decide_full(1, 0, 0), POLICY_ALLOW, "",
	   "allow needs no score");
	reset();
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_RELAY, QSTORE_ACT_DEFAULT);
	IS(decide(4), POLICY_INBOX, "", "default entry: scored");
	reset();
	IS(decide(4), POLICY_INBOX, "", "no entry at all: scored");
}

static void test_before_data(void)
{
	reset();
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN, QSTORE_ACT_REJECT);
	IS(decide_full(0, 0, 0), POLICY_REJECT, "RejectDomain",
	   "user domain reject decides at RCPT");
	reset();
	entry(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, QSTORE_ACT_REJECT);
	IS(decide_full(0, 0, 0), POLICY_NEED_DATA, "",
	   "site entry waits for the user's relay entries");
	IS(decide_full(1, 0, 0), POLICY_REJECT, "RejectSender",
	   "site reject once the relay is known");
	reset();
	IS(decide_full(0, 0, 0), POLICY_NEED_DATA, "", "nothing known yet");
	IS(decide_full(1, 0, 0), POLICY_NEED_SCORE, "",
	   "relay known, no entry: needs the score");
	{
		struct policy_input in;
		struct policy_result r;

		memset(&in, 0, sizeof(in));
		in.prefs = &prefs;
		in.relay_known = 1;
		in.scored = 1;
		in.score = 6;
		policy_decide(&in, &r);
		IS(r, POLICY_HOLD, "SpamScore", "no tables given at all");
	}
}

static void test_thresholds(void)
{
	reset();
	IS(decide(4.999), POLICY_INBOX, "", "below 5: inbox");
	IS(decide(5.0), POLICY_HOLD, "SpamScore", "equal to 5: held");
	IS(decide(2.1 + 2.9), POLICY_HOLD, "SpamScore",
	   "summed to 5 (floating error): held");
	IS(decide(4.9999), POLICY_HOLD, "SpamScore",
	   "4.9999 rounds to 5.000: held");
	IS(decide(-2), POLICY_INBOX, "", "negative: inbox");
	IS(decide(2000), POLICY_HOLD, "SpamScore",
	   "equal to auto_reject_threshold: held, not rejected");
	IS(decide(2000.001), POLICY_AUTO_REJECT, "AutoReject",
	   "above auto_reject_threshold: rejected");
	prefs.spam_threshold = 3;
	IS(decide(3), POLICY_HOLD, "SpamScore", "aggressive 3: held at 3");
	IS(decide(2.99), POLICY_INBOX, "", "aggressive 3: 2.99 inbox");
	prefs.auto_reject_threshold = 10;
	IS(decide(10.5), POLICY_AUTO_REJECT, "AutoReject",
	   "lowered auto-reject");
}

static void test_tag_only(void)
{
	reset();
	prefs.tag_only = 1;
	IS(decide(6), POLICY_TAG, "SpamScore", "tag_only: tagged");
	IS(decide(1), POLICY_INBOX, "", "tag_only: below threshold inbox");
	IS(decide(3000), POLICY_AUTO_REJECT, "AutoReject",
	   "tag_only: auto-reject still applies");
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_HOLD);
	IS(decide(0), POLICY_TAG, "HoldSender", "tag_only: hold entry tags");
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_REJECT);
	IS(decide(0), POLICY_REJECT, "RejectSender",
	   "tag_only: reject rules still apply");
}

static void test_rbl(void)
{
	struct policy_input in;
	struct policy_result r;

	reset();
	memset(&in, 0, sizeof(in));
	in.prefs = &prefs;
	in.relay_known = 1;
	in.scored = 1;
	in.score = 0;
	in.rbl_checked = 1;
	in.rbl_reject_listed = 1;
	in.rbl_hold_listed = 1;
	policy_decide(&in, &r);
	IS(r, POLICY_INBOX, "", "RBL listed but not enabled: ignored");
	prefs.rbl_hold = 1;
	policy_decide(&in, &r);
	IS(r, POLICY_HOLD, "HoldRbl", "rbl_hold");
	prefs.rbl_reject = 1;
	policy_decide(&in, &r);
	IS(r, POLICY_REJECT, "RejectRbl", "rbl_reject before rbl_hold");
	entry(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, QSTORE_ACT_ALLOW);
	in.tables = &tables;
	policy_decide(&in, &r);
	IS(r, POLICY_ALLOW, "", "allow entry before RBL");
}

static void tag(const char *tmpl, double score, const char *reason,
		const char *want)
{
	struct str out = STR_INIT;

	policy_tag_expand(tmpl, score, reason, &out);
	TEST_IS_STR(str_c(&out), want, "tag \"%s\" score %g", tmpl, score);
	str_deinit(&out);
}

static void test_tag_string(void)
{
	struct str out = STR_INIT;
	char stars[POLICY_MAX_STARS + 1];

	tag("[Spam:%* %?]", 5.5, "SpamScore", "[Spam:***** SpamScore]");
	tag("[Spam:%* %?]", 3.99, "HoldSender", "[Spam:*** HoldSender]");
	tag("[Spam:%* %?]", 0.5, "HoldRelay", "[Spam: HoldRelay]");
	tag("[Spam:%* %?]", -4, "HoldDomain", "[Spam: HoldDomain]");
	tag("%d", 5.5, "x", "5.5");
	tag("%d", 12, "x", "12.0");
	tag("%d", -1.26, "x", "-1.3");
	tag("100%% %?", 1, "SpamScore", "100% SpamScore");
	tag("%x and %", 1, "r", "%x and %");
	tag("plain", 9, "r", "plain");
	memset(stars, '*', POLICY_MAX_STARS);
	stars[POLICY_MAX_STARS] = '\0';
	tag("%*", 1000, "r", stars);
	policy_tag_subject("[Spam:%* %?]", 2, "HoldSender", "Hello", &out);
	TEST_IS_STR(str_c(&out), "[Spam:** HoldSender] Hello",
		    "tagged subject");
	policy_tag_subject("[Spam:%*]", 2, "HoldSender", "", &out);
	TEST_IS_STR(str_c(&out), "[Spam:**]", "tagged empty subject");
	str_deinit(&out);
}

int main(void)
{
	qstore_prefs_init(&prefs);
	test_opt_out();
	test_tables();
	test_before_data();
	test_thresholds();
	test_tag_only();
	test_rbl();
	test_tag_string();
	TEST_IS_STR(policy_outcome_name(POLICY_NEED_SCORE), "need-score",
		    "outcome names");
	qstore_prefs_deinit(&prefs);
	return test_done();
}
