/*
 * qstore tables: normalizing keys, set/get/delete/list, and lookups
 * (exact sender, longest domain suffix, longest CIDR prefix, v4 and v6,
 * user and site slots).
 */
#include <stdlib.h>
#include <string.h>

#include "qstore.h"
#include "qstore-test.h"
#include "test-lib.h"

static struct qstore *qs;

static void norm(enum qstore_table_kind kind, const char *in,
		 const char *want)
{
	struct str out = STR_INIT;
	const char *why = NULL;
	int ret;

	ret = qstore_table_normalize(kind, in, &out, &why);
	if (want == NULL)
		TEST_OK(ret < 0 && why != NULL, "%s \"%s\" refused (%s)",
			qstore_table_kind_name(kind), in, why ? why : "");
	else
		TEST_IS_STR(ret == 0 ? str_c(&out) : why, want,
			    "%s \"%s\"", qstore_table_kind_name(kind), in);
	str_deinit(&out);
}

static void test_normalize(void)
{
	norm(QSTORE_TABLE_SENDER, "Bob@Example.ORG", "bob@example.org");
	norm(QSTORE_TABLE_SENDER, "<bob@example.org>", "bob@example.org");
	norm(QSTORE_TABLE_SENDER, "bob", NULL);
	norm(QSTORE_TABLE_SENDER, "bob@", NULL);
	norm(QSTORE_TABLE_SENDER, "a b@example.org", NULL);
	norm(QSTORE_TABLE_SENDER, "", NULL);
	norm(QSTORE_TABLE_DOMAIN, "@Example.ORG.", "example.org");
	norm(QSTORE_TABLE_DOMAIN, ".sub.example.org", "sub.example.org");
	norm(QSTORE_TABLE_DOMAIN, "a..b", NULL);
	norm(QSTORE_TABLE_DOMAIN, "exa mple.org", NULL);
	norm(QSTORE_TABLE_DOMAIN, "", NULL);
	norm(QSTORE_TABLE_RELAY, "192.0.2.1", "192.0.2.1/32");
	norm(QSTORE_TABLE_RELAY, "192.0.2.0/24", "192.0.2.0/24");
	norm(QSTORE_TABLE_RELAY, "192.0.2.1/24", NULL);
	norm(QSTORE_TABLE_RELAY, "0.0.0.0/0", "0.0.0.0/0");
	norm(QSTORE_TABLE_RELAY, "192.0.2.0/33", NULL);
	norm(QSTORE_TABLE_RELAY, "192.0.2.0/", NULL);
	norm(QSTORE_TABLE_RELAY, "192.0.2.0/x", NULL);
	norm(QSTORE_TABLE_RELAY, "2001:DB8::1", "2001:db8::1/128");
	norm(QSTORE_TABLE_RELAY, "2001:db8:0::/32", "2001:db8::/32");
	norm(QSTORE_TABLE_RELAY, "2001:db8::1/32", NULL);
	norm(QSTORE_TABLE_RELAY, "::ffff:192.0.2.9", "192.0.2.9/32");
	norm(QSTORE_TABLE_RELAY, "::ffff:192.0.2.0/120", "192.0.2.0/24");
	norm(QSTORE_TABLE_RELAY, "mx.example.org", NULL);
}

static void set(const char *user, enum qstore_table_kind kind,
		const char *key, enum qstore_action_kind action,
		const char *comment)
{
	char *error = NULL;

	if (qstore_table_set(qs, user, kind, key, action, "tester", comment,
			     &error, NULL) < 0) {
		printf("Bail out! table_set %s: %s\n", key, error);
		exit(1);
	}
}

static int count_cb(const struct qstore_table_entry *e, void *ctx)
{
	struct str *s = ctx;

	str_printf(s, "%s=%s;", e->key, qstore_action_name(e->action));
	return 0;
}

static void test_crud(void)
{
	struct qstore_table_entry e;
	struct str seen = STR_INIT;
	char *error = NULL;
	enum errkind kind;

	set("alice@example.org", QSTORE_TABLE_SENDER, "Friend@Example.COM",
	    QSTORE_ACT_ALLOW, "my friend");
	TEST_IS_INT(qstore_table_get(qs, "alice@example.org",
				     QSTORE_TABLE_SENDER, "friend@example.com",
				     &e, &error, NULL), 1, "get the entry");
	TEST_IS_INT(e.action, QSTORE_ACT_ALLOW, "action allow");
	TEST_IS_STR(e.who, "tester", "who");
	TEST_IS_STR(e.comment, "my friend", "comment");
	TEST_IS_STR(e.key, "friend@example.com", "normalized key");
	TEST_IS_STR(e.scope, "alice@example.org", "scope");
	TEST_OK(e.when > 1600000000, "time set");
	qstore_table_entry_deinit(&e);
	TEST_IS_INT(qstore_table_get(qs, NULL, QSTORE_TABLE_SENDER,
				     "friend@example.com", &e, &error, NULL),
		    0, "not in the site table");
	set("alice@example.org", QSTORE_TABLE_SENDER, "friend@example.com",
	    QSTORE_ACT_REJECT, "changed my mind");
	TEST_IS_INT(qstore_table_get(qs, "alice@example.org",
				     QSTORE_TABLE_SENDER, "friend@example.com",
				     &e, &error, NULL), 1, "get again");
	TEST_IS_INT(e.action, QSTORE_ACT_REJECT, "replaced by reject");
	qstore_table_entry_deinit(&e);
	set("alice@example.org", QSTORE_TABLE_SENDER, "zed@example.com",
	    QSTORE_ACT_HOLD, NULL);
	set("alice@example.org", QSTORE_TABLE_DOMAIN, "example.com",
	    QSTORE_ACT_HOLD, NULL);
	set("alice@example.org.x", QSTORE_TABLE_SENDER, "other@example.com",
	    QSTORE_ACT_HOLD, NULL);
	TEST_IS_INT(qstore_table_list(qs, "alice@example.org",
				      QSTORE_TABLE_SENDER, count_cb, &seen,
				      &error, NULL), 0, "list");
	TEST_IS_STR(str_c(&seen), "friend@example.com=reject;"
		    "zed@example.com=hold;", "list shows exactly alice's senders");
	TEST_IS_INT(qstore_table_delete(qs, "alice@example.org",
					QSTORE_TABLE_SENDER, "zed@example.com",
					&error, NULL), 1, "delete");
	TEST_IS_INT(qstore_table_delete(qs, "alice@example.org",
					QSTORE_TABLE_SENDER, "zed@example.com",
					&error, NULL), 0, "delete again: 0");
	error = NULL;
	TEST_IS_INT(qstore_table_set(qs, NULL, QSTORE_TABLE_RELAY,
				     "192.0.2.1/24", QSTORE_ACT_HOLD, "x",
				     NULL, &error, &kind), -1,
		    "bad CIDR refused");
	TEST_IS_INT(kind, ERR_PERMANENT, "as permanent");
	TEST_LIKE(error, "192.0.2.0/24", "the message suggests the network");
	free(error);
	error = NULL;
	TEST_IS_INT(qstore_table_set(qs, NULL, QSTORE_TABLE_SENDER,
				     "a@b.example", QSTORE_ACT_NONE, "x",
				     NULL, &error, &kind), -1,
		    "action none refused");
	free(error);
	TEST_IS_INT(qstore_action_parse("Reject"), QSTORE_ACT_REJECT,
		    "parse action");
	TEST_IS_INT(qstore_action_parse("maybe"), 0, "unknown action");
	str_deinit(&seen);
}

static struct qstore_table_matches m;

static void lookup(const char *user, const char *sender, const char *relay)
{
	char *error = NULL;

	qstore_table_matches_deinit(&m);
	if (qstore_table_lookup(qs, user, sender, relay, &m, &error,
				NULL) < 0) {
		printf("Bail out! lookup: %s\n", error);
		exit(1);
	}
}

#define MATCH(scope, kind, key_, action_, what) do { \
	const struct qstore_table_match *m_ = &m.m[scope][kind]; \
	TEST_OK(m_->found && strcmp(m_->key, key_) == 0 \
		&& m_->action == action_, "%s: %s %s", what, \
		m_->found ? m_->key : "(none)", \
		m_->found ? qstore_action_name(m_->action) : ""); \
} while (0)
#define NOMATCH(scope, kind, what) \
	TEST_OK(!m.m[scope][kind].found, "%s: no match", what)

static void test_lookup(void)
{
	const char *u = "bob@example.org";

	set(u, QSTORE_TABLE_DOMAIN, "example.com", QSTORE_ACT_HOLD, NULL);
	set(u, QSTORE_TABLE_DOMAIN, "mail.example.com", QSTORE_ACT_ALLOW,
	    NULL);
	set(u, QSTORE_TABLE_RELAY, "198.51.100.0/24", QSTORE_ACT_HOLD, NULL);
	set(u, QSTORE_TABLE_RELAY, "198.51.100.128/25", QSTORE_ACT_REJECT,
	    NULL);
	set(u, QSTORE_TABLE_RELAY, "198.51.100.200", QSTORE_ACT_ALLOW, NULL);
	set(u, QSTORE_TABLE_RELAY, "2001:db8::/32", QSTORE_ACT_HOLD, NULL);
	set(u, QSTORE_TABLE_RELAY, "2001:db8:1::/48", QSTORE_ACT_REJECT, NULL);
	set(NULL, QSTORE_TABLE_SENDER, "spammer@example.com",
	    QSTORE_ACT_REJECT, "site");
	set(NULL, QSTORE_TABLE_DOMAIN, "com", QSTORE_ACT_DEFAULT, NULL);
	set(NULL, QSTORE_TABLE_RELAY, "0.0.0.0/0", QSTORE_ACT_DEFAULT, NULL);

	lookup(u, "Spammer@Example.com", "198.51.100.7");
	NOMATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_SENDER, "user sender");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN, "example.com",
	      QSTORE_ACT_HOLD, "user domain");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "198.51.100.0/24",
	      QSTORE_ACT_HOLD, "user relay /24");
	MATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, "spammer@example.com",
	      QSTORE_ACT_REJECT, "site sender, case-insensitive");
	MATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_DOMAIN, "com",
	      QSTORE_ACT_DEFAULT, "site domain: top-level");
	MATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_RELAY, "0.0.0.0/0",
	      QSTORE_ACT_DEFAULT, "site relay /0");
	TEST_IS_STR(m.m[1][0].comment, "site", "comment carried");

	lookup(u, "x@deep.mail.example.com", "198.51.100.130");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN, "mail.example.com",
	      QSTORE_ACT_ALLOW, "longest domain suffix wins");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "198.51.100.128/25",
	      QSTORE_ACT_REJECT, "/25 beats /24");
	lookup(u, "x@notexample.com", "198.51.100.200");
	NOMATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN,
		"notexample.com is not under example.com");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "198.51.100.200/32",
	      QSTORE_ACT_ALLOW, "the address beats its networks");
	lookup(u, "", "::ffff:198.51.100.201");
	NOMATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, "null sender");
	NOMATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_DOMAIN, "null sender domain");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "198.51.100.128/25",
	      QSTORE_ACT_REJECT, "v4-mapped v6 relay");
	lookup(u, "a@b.example", "2001:db8:1:2::5");
	MATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "2001:db8:1::/48",
	      QSTORE_ACT_REJECT, "v6 /48 beats /32");
	NOMATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_RELAY,
		"a v4 /0 does not match v6");
	lookup(u, "a@b.example", "2001:db9::1");
	NOMATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "outside 2001:db8::/32");
	lookup("carol@example.org", "x@mail.example.com", "198.51.100.7");
	NOMATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_DOMAIN,
		"other user: bob's entries do not apply");
	MATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_DOMAIN, "com",
	      QSTORE_ACT_DEFAULT, "other user: site entries do");
	lookup(u, "not an address", "not an ip");
	NOMATCH(QSTORE_SCOPE_USER, QSTORE_TABLE_RELAY, "garbage relay");
	NOMATCH(QSTORE_SCOPE_SITE, QSTORE_TABLE_SENDER, "garbage sender");
	qstore_table_matches_deinit(&m);
}

int main(void)
{
	struct str dir = STR_INIT;

	qs = qt_open(qt_setup(&dir));
	test_normalize();
	test_crud();
	test_lookup();
	qstore_close(&qs);
	str_deinit(&dir);
	qt_cleanup();
	return test_done();
}
