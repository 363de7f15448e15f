/*
 * qstore_bulk: grouped preference changes behave exactly like one
 * qstore_prefs_set() after another (the record format is shared),
 * bulk table changes are all or nothing and readable by the table
 * functions, markers stay out of the preferences and the user list,
 * walks follow the indexes, and a hot backup opens.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qstore.h"
#include "mymalloc.h"
#include "qstore_bulk.h"
#include "qstore-test.h"
#include "test-lib.h"

static void prefs_text(struct qstore *qs, const char *user, struct str *out)
{
	struct qstore_prefs p;
	char *error = NULL;
	int i;

	str_clear(out);
	if (qstore_prefs_get(qs, user, &p, &error, NULL) < 0) {
		printf("Bail out! prefs_get: %s\n", error);
		exit(1);
	}
	for (i = 0; qstore_prefs_names[i]; i++) {
		str_printf(out, "%s=", qstore_prefs_names[i]);
		qstore_prefs_format(&p, qstore_prefs_names[i], out);
		str_appendc(out, '\n');
	}
	qstore_prefs_deinit(&p);
}

static void test_prefs_many(struct qstore *qs)
{
	/* one sequence, applied one by one (x) and grouped (y) */
	static const char *const names[] = {
		"page_size", "stream", "tag_string", "spam_threshold",
		"notify", "stream", "sort_field", "page_size",
	};
	static const char *const values[] = {
		"50", "high", "[SPAM %d]", "4.5", "yes", "low", "score", NULL,
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	struct str x = STR_INIT, y = STR_INIT, before = STR_INIT;
	const char *bad_n[] = { "notify", "page_size" };
	const char *bad_v[] = { "no", "7" };
	const char *unk_n[] = { "colour" };
	const char *unk_v[] = { "blue" };
	char *error = NULL;
	enum errkind kind = ERR_NONE;
	size_t i;
	int ok = 1;

	for (i = 0; i < n; i++) {
		int r = values[i] != NULL
			? qstore_prefs_set(qs, "x@example.org", names[i],
					   values[i], &error, NULL)
			: qstore_prefs_unset(qs, "x@example.org", names[i],
					     &error, NULL);
		if (r < 0) {
			printf("# %s\n", error);
			MYFREE(&error);
			ok = 0;
		}
	}
	TEST_OK(ok, "one by one: every change stored");
	TEST_IS_INT(qstore_prefs_set_many(qs, "y@example.org", names, values, n,
					  &error, NULL), 0, "grouped: stored");
	prefs_text(qs, "x@example.org", &x);
	prefs_text(qs, "y@example.org", &y);
	TEST_IS_STR(str_c(&y), str_c(&x), "grouped == one by one");
	TEST_LIKE(str_c(&y), "stream=low\n", "the last preset wins");
	TEST_LIKE(str_c(&y), "spam_threshold=8\n", "with its threshold");

	str_append(&before, y.s, y.len);
	TEST_IS_INT(qstore_prefs_set_many(qs, "y@example.org", bad_n, bad_v, 2,
					  &error, &kind), -1,
		    "a bad value fails the group");
	TEST_IS_INT(kind, ERR_PERMANENT, "  as a permanent (input) error");
	TEST_LIKE(error, "page_size = 7", "  naming it: %s", error ? error : "");
	MYFREE(&error);
	prefs_text(qs, "y@example.org", &y);
	TEST_IS_STR(str_c(&y), str_c(&before), "  nothing of the group stored");
	TEST_IS_INT(qstore_prefs_set_many(qs, "y@example.org", unk_n, unk_v, 1,
					  &error, &kind), -1, "unknown name");
	TEST_LIKE(error, "unknown preference \"colour\"", "  said so");
	MYFREE(&error);
	str_deinit(&x);
	str_deinit(&y);
	str_deinit(&before);
}

static void test_table_bulk(struct qstore *qs)
{
	struct qstore_bulk_item items[3], bad[3];
	struct qstore_table_entry e;
	struct qstore_table_matches m;
	char *error = NULL;
	enum errkind kind;

	memset(items, 0, sizeof(items));
	items[0].key = "Ann@Uni.Example";
	items[1].key = "ben@uni.example";
	items[1].comment = "own comment";
	items[2].key = "<carl@lab.example>";
	TEST_IS_INT(qstore_table_bulk(qs, "a@example.org", QSTORE_TABLE_SENDER,
				      items, 3, QSTORE_ACT_ALLOW, "admin",
				      "global", &error, NULL), 0, "bulk set");
	TEST_IS_STR(items[0].norm, "ann@uni.example", "keys normalized");
	TEST_IS_INT(items[0].before, QSTORE_ACT_NONE, "were absent");
	qstore_bulk_items_clear(items, 3);
	TEST_IS_INT(qstore_table_get(qs, "a@example.org", QSTORE_TABLE_SENDER,
				     "ben@uni.example", &e, NULL, NULL), 1,
		    "qstore_table_get reads a bulk entry");
	TEST_IS_STR(e.comment, "own comment", "  the item's comment");
	TEST_IS_STR(e.who, "admin", "  who");
	qstore_table_entry_deinit(&e);
	qstore_table_get(qs, "a@example.org", QSTORE_TABLE_SENDER,
			 "carl@lab.example", &e, NULL, NULL);
	TEST_IS_STR(e.comment, "global", "  else the global comment");
	qstore_table_entry_deinit(&e);
	TEST_IS_INT(qstore_table_lookup(qs, "a@example.org", "ANN@uni.example",
					"192.0.2.1", &m, NULL, NULL), 0,
		    "lookup");
	TEST_OK(m.m[QSTORE_SCOPE_USER][QSTORE_TABLE_SENDER].found
		&& m.m[QSTORE_SCOPE_USER][QSTORE_TABLE_SENDER].action
		== QSTORE_ACT_ALLOW, "  the delivery path sees the entry");
	qstore_table_matches_deinit(&m);

	memset(bad, 0, sizeof(bad));
	bad[0].key = "ann@uni.example";
	bad[1].key = "dora@uni.example";
	bad[2].key = "no-at-sign";
	TEST_IS_INT(qstore_table_bulk(qs, "a@example.org", QSTORE_TABLE_SENDER,
				      bad, 3, QSTORE_ACT_REJECT, "admin", "",
				      &error, &kind), -1, "a bad key fails all");
	TEST_LIKE(error, "line 3", "  with its line: %s", error ? error : "");
	TEST_IS_INT(kind, ERR_PERMANENT, "  permanent");
	MYFREE(&error);
	qstore_table_get(qs, "a@example.org", QSTORE_TABLE_SENDER,
			 "ann@uni.example", &e, NULL, NULL);
	TEST_IS_INT(e.action, QSTORE_ACT_ALLOW, "  the good keys unchanged");
	qstore_table_entry_deinit(&e);
	TEST_IS_INT(qstore_table_get(qs, "a@example.org", QSTORE_TABLE_SENDER,
				     "dora@uni.example", &e, NULL, NULL), 0,
		    "  and not added");

	memset(items, 0, sizeof(items));
	items[0].key = "ann@uni.example";
	items[1].key = "zed@uni.example";
	TEST_IS_INT(qstore_table_bulk(qs, "a@example.org", QSTORE_TABLE_SENDER,
				      items, 2, QSTORE_ACT_NONE, NULL, NULL,
				      &error, NULL), 0, "bulk delete");
	TEST_IS_INT(items[0].before, QSTORE_ACT_ALLOW, "  reports what was");
	TEST_IS_INT(items[1].before, QSTORE_ACT_NONE, "  and what was not");
	qstore_bulk_items_clear(items, 2);
	TEST_IS_INT(qstore_table_get(qs, "a@example.org", QSTORE_TABLE_SENDER,
				     "ann@uni.example", &e, NULL, NULL), 0,
		    "  gone");
}

static int user_fn(const char *user, unsigned what, void *ctx)
{
	struct str *s = ctx;

	str_printf(s, "%s:%u ", user, what);
	return 0;
}

static void test_markers_users(struct qstore *qs)
{
	struct str users = STR_INIT, before = STR_INIT, after = STR_INIT;
	char *old = NULL, *v = NULL, *error = NULL;

	prefs_text(qs, "x@example.org", &before);
	TEST_IS_INT(qstore_marker_claim(qs, "x@example.org", "digest-day",
					"2026-11-22", &old, &error, NULL), 1,
		    "first claim of the day");
	TEST_IS_STR(old, "", "  nothing before");
	MYFREE(&old);
	TEST_IS_INT(qstore_marker_claim(qs, "x@example.org", "digest-day",
					"2026-11-22", NULL, &error, NULL), 0,
		    "second claim: already taken");
	TEST_IS_INT(qstore_marker_claim(qs, "x@example.org", "digest-day",
					"2026-11-23", &old, &error, NULL), 1,
		    "next day: claimed");
	TEST_IS_STR(old, "2026-11-22", "  the previous day returned");
	TEST_IS_INT(qstore_marker_set(qs, "x@example.org", "digest-day", old,
				      &error, NULL), 0, "given back");
	MYFREE(&old);
	TEST_IS_INT(qstore_marker_get(qs, "x@example.org", "digest-day", &v,
				      &error, NULL), 1, "read");
	TEST_IS_STR(v, "2026-11-22", "  restored");
	MYFREE(&v);
	prefs_text(qs, "x@example.org", &after);
	TEST_IS_STR(str_c(&after), str_c(&before), "preferences untouched");
	qstore_marker_claim(qs, "m@example.org", "digest-day", "d", NULL,
			    NULL, NULL);
	TEST_IS_INT(qstore_users_scan(qs, user_fn, &users, &error, NULL), 0,
		    "users scan");
	TEST_IS_STR(str_c(&users), "a@example.org:2 x@example.org:1 "
		    "y@example.org:1 ", "users with prefs (1) or tables (2); "
		    "no marker-only user, no site");
	TEST_IS_INT(qstore_marker_set(qs, "m@example.org", "digest-day", "",
				      &error, NULL), 0, "empty value removes");
	TEST_IS_INT(qstore_marker_get(qs, "m@example.org", "digest-day", &v,
				      &error, NULL), 0, "  gone");
	str_deinit(&users);
	str_deinit(&before);
	str_deinit(&after);
}

struct seen {
	struct str ids;
	int restarts, stop_after, n;
};

static int scan_fn(const struct qstore_incident *inc, void *ctx)
{
	struct seen *s = ctx;

	if (inc == NULL) {
		s->restarts++;
		str_clear(&s->ids);
		s->n = 0;
		return 0;
	}
	str_printf(&s->ids, "%s ", inc->subject);
	return ++s->n == s->stop_after;
}

static void add(struct qstore *qs, const char *user, time_t when,
		const char *subject, enum qstore_status status)
{
	struct qstore_incident inc;
	char *error = NULL;

	qstore_incident_init(&inc);
	qstore_incident_set(&inc.user, user);
	qstore_incident_set(&inc.subject, subject);
	inc.received = when;
	inc.status = status;
	if (qstore_incident_add(qs, &inc, "m", 1, "lmtpd", QSTORE_VIA_LMTP,
				&error, NULL) < 0) {
		printf("Bail out! add: %s\n", error);
		exit(1);
	}
	qstore_incident_deinit(&inc);
}

static void test_scan(struct qstore *qs)
{
	struct seen s;

	add(qs, "u@example.org", 1700000001, "u1", QSTORE_PENDING);
	add(qs, "v@example.org", 1700000002, "v1", QSTORE_PENDING);
	add(qs, "u@example.org", 1700000003, "u2", QSTORE_SPAM);
	add(qs, "u@example.org", 1700000004, "u3", QSTORE_PENDING);
	memset(&s, 0, sizeof(s));
	qstore_incident_scan(qs, "u@example.org", 0, 0, scan_fn, &s, NULL,
			     NULL);
	TEST_IS_STR(str_c(&s.ids), "u3 u2 u1 ", "one user, newest first");
	str_clear(&s.ids);
	s.n = 0;
	qstore_incident_scan(qs, "u@example.org", QSTORE_PENDING, 1, scan_fn,
			     &s, NULL, NULL);
	TEST_IS_STR(str_c(&s.ids), "u1 u3 ", "user and status, oldest first");
	str_clear(&s.ids);
	s.n = 0;
	qstore_incident_scan(qs, NULL, QSTORE_PENDING, 0, scan_fn, &s, NULL,
			     NULL);
	TEST_IS_STR(str_c(&s.ids), "u3 v1 u1 ", "status, every user");
	str_clear(&s.ids);
	s.n = 0;
	s.stop_after = 2;
	qstore_incident_scan(qs, NULL, 0, 0, scan_fn, &s, NULL, NULL);
	/* the whole table is walked in id order (ids made in the same
	   second are in random order): only the count is known */
	TEST_IS_INT(s.n, 2, "everything, stopped after 2");
	TEST_IS_INT(s.restarts, 0, "no restart without contention");
	str_deinit(&s.ids);
}

static void test_backup(struct qstore *qs)
{
	struct str dir = STR_INIT;
	struct qstore *copy;
	char *error = NULL;
	size_t n = 0;

	str_printf(&dir, "%s/backup", qt_dir);
	TEST_IS_INT(qstore_backup(qs, str_c(&dir), &error, NULL), 0,
		    "backup%s%s", error ? ": " : "", error ? error : "");
	MYFREE(&error);
	TEST_IS_INT(qstore_backup(qs, qstore_dir(qs), &error, NULL), -1,
		    "backup into db_dir refused");
	TEST_LIKE(error, "it is db_dir", "  said so");
	MYFREE(&error);
	copy = qt_open(str_c(&dir));
	qstore_incident_count(copy, NULL, 0, &n, NULL, NULL);
	TEST_IS_INT((int)n, 4, "the copy holds the incidents");
	qstore_close(&copy);
	str_deinit(&dir);
}

int main(void)
{
	struct str dir = STR_INIT;
	struct qstore *qs;

	qs = qt_open(qt_setup(&dir));
	test_prefs_many(qs);
	test_table_bulk(qs);
	test_markers_users(qs);
	test_scan(qs);
	test_backup(qs);
	qstore_close(&qs);
	qt_cleanup();
	str_deinit(&dir);
	return test_done();
}
