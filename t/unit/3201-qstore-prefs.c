/*
 * qstore preferences: defaults, validation, presets, site defaults under
 * user settings, persistence.
 */
#include <stdlib.h>
#include <string.h>

#include "qstore.h"
#include "qstore-test.h"
#include "test-lib.h"

static void apply_ok(struct qstore_prefs *p, const char *name,
		     const char *value)
{
	const char *why = NULL;

	TEST_IS_INT(qstore_prefs_apply(p, name, value, &why), 0, "%s = %s%s%s",
		    name, value, why ? ": " : "", why ? why : "");
}

static void apply_bad(struct qstore_prefs *p, const char *name,
		      const char *value, const char *reason)
{
	const char *why = NULL;

	TEST_IS_INT(qstore_prefs_apply(p, name, value, &why), -1,
		    "%s = \"%s\" refused", name, value);
	TEST_LIKE(why, reason, "  because: %s", reason);
}

static void test_defaults_and_validation(void)
{
	struct qstore_prefs p;
	struct str s = STR_INIT;
	int i;

	qstore_prefs_init(&p);
	TEST_OK(p.spam_threshold == 5, "spam_threshold 5");
	TEST_OK(p.auto_reject_threshold == 2000, "auto_reject_threshold 2000");
	TEST_IS_INT(p.tag_only, 0, "tag_only off");
	TEST_IS_STR(p.tag_string, "[Spam:%* %?]", "tag_string");
	TEST_IS_INT(p.rbl_hold + p.rbl_reject + p.notify + p.opt_out, 0,
		    "rbl_hold, rbl_reject, notify, opt_out off");
	TEST_IS_INT(p.accept_allows_sender, 1, "accept_allows_sender on");
	TEST_IS_INT(p.page_size, 30, "page size 30");
	TEST_IS_INT(p.sort_field, QSTORE_SORT_DATE, "sort by date");
	TEST_IS_INT(p.sort_descending, 1, "descending");
	TEST_IS_STR(p.stream, "medium", "stream medium");

	apply_ok(&p, "spam_threshold", "4.5");
	TEST_OK(p.spam_threshold == 4.5, "threshold 4.5");
	TEST_IS_STR(p.stream, "custom", "own threshold: stream custom");
	apply_bad(&p, "spam_threshold", "five", "not a number");
	apply_bad(&p, "spam_threshold", "5x", "not a number");
	apply_bad(&p, "spam_threshold", "nan", "not a number");
	apply_bad(&p, "spam_threshold", "2000", "greater than");
	apply_bad(&p, "auto_reject_threshold", "4.5", "greater than");
	apply_bad(&p, "spam_threshold", "1e9", "out of range");
	apply_ok(&p, "auto_reject_threshold", "4.6");
	apply_ok(&p, "auto_reject_threshold", "2000");
	apply_ok(&p, "tag_string", "*** SPAM %d (%?) 100%% ***");
	apply_bad(&p, "tag_string", "[%x]", "unknown % sequence");
	apply_bad(&p, "tag_string", "a\tb", "control");
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 101; i++)
		str_appendc(&s, 'x');
	apply_bad(&p, "tag_string", str_c(&s), "longer than 100");
	apply_ok(&p, "tag_only", "yes");
	TEST_IS_INT(p.tag_only, 1, "tag_only on");
	apply_bad(&p, "tag_only", "perhaps", "yes or no");
	apply_ok(&p, "notify_address", "me@example.org");
	apply_ok(&p, "notify_address", "");
	apply_bad(&p, "notify_address", "me", "local@domain");
	apply_bad(&p, "notify_address", "a@b, c@d", "local@domain");
	for (i = 0; i < 5; i++) {
		static const char *const ok[] = { "10", "30", "50", "100",
						  "200" };
		apply_ok(&p, "page_size", ok[i]);
	}
	TEST_IS_INT(p.page_size, 200, "page size 200");
	apply_bad(&p, "page_size", "20", "10, 30, 50, 100 or 200");
	apply_ok(&p, "sort_field", "score");
	apply_bad(&p, "sort_field", "size", "sort_field must be");
	apply_ok(&p, "sort_order", "ascending");
	TEST_IS_INT(p.sort_descending, 0, "ascending");
	apply_bad(&p, "sort_order", "up", "ascending or descending");
	apply_ok(&p, "opt_out", "on");
	apply_bad(&p, "colour", "blue", "unknown preference");

	apply_ok(&p, "stream", "high");
	TEST_OK(p.spam_threshold == 3 && !p.tag_only, "high: 3, holding");
	apply_ok(&p, "stream", "low");
	TEST_OK(p.spam_threshold == 8, "low: 8");
	apply_ok(&p, "stream", "tag-only");
	TEST_OK(p.spam_threshold == 5 && p.tag_only, "tag-only: 5, tagging");
	apply_ok(&p, "stream", "medium");
	TEST_OK(p.spam_threshold == 5 && !p.tag_only, "medium: 5, holding");
	TEST_IS_STR(p.stream, "medium", "stream medium");
	apply_bad(&p, "stream", "extreme", "high, medium, low");

	str_clear(&s);
	qstore_prefs_format(&p, "spam_threshold", &s);
	TEST_IS_STR(str_c(&s), "5", "format a threshold");
	str_clear(&s);
	qstore_prefs_format(&p, "sort_order", &s);
	TEST_IS_STR(str_c(&s), "ascending", "format sort order");
	str_deinit(&s);
	qstore_prefs_deinit(&p);
}

static void test_stored(const char *dir)
{
	struct qstore *qs = qt_open(dir);
	struct qstore_prefs p;
	char *error = NULL;
	enum errkind kind;

	TEST_IS_INT(qstore_prefs_get(qs, "alice@example.org", &p, &error,
				     NULL), 0, "get with nothing stored");
	TEST_OK(p.spam_threshold == 5, "built-in default");
	qstore_prefs_deinit(&p);

	TEST_IS_INT(qstore_prefs_set(qs, NULL, "spam_threshold", "6", &error,
				     NULL), 0, "site default threshold 6");
	TEST_IS_INT(qstore_prefs_set(qs, NULL, "page_size", "50", &error,
				     NULL), 0, "site page size 50");
	TEST_IS_INT(qstore_prefs_set(qs, "alice@example.org", "stream", "high",
				     &error, NULL), 0, "alice: stream high");
	TEST_IS_INT(qstore_prefs_set(qs, "alice@example.org", "tag_string",
				     "[SPAM %d]", &error, NULL), 0,
		    "alice: tag string");
	error = NULL;
	TEST_IS_INT(qstore_prefs_set(qs, "alice@example.org", "page_size",
				     "7", &error, &kind), -1,
		    "alice: bad page size refused");
	TEST_IS_INT(kind, ERR_PERMANENT, "as a permanent error");
	TEST_LIKE(error, "page_size", "naming the setting");
	free(error);
	error = NULL;
	TEST_IS_INT(qstore_prefs_set(qs, "bob@example.org",
				     "auto_reject_threshold", "6", &error,
				     &kind), -1,
		    "bob: auto-reject not above the site threshold refused");
	TEST_IS_INT(kind, ERR_PERMANENT, "as a permanent error");
	TEST_LIKE(error, "greater than spam_threshold", "with the reason");
	free(error);
	error = NULL;
	TEST_IS_INT(qstore_prefs_set(qs, "bob@example.org", "nonsense", "1",
				     &error, &kind), -1, "unknown name");
	free(error);
	qstore_close(&qs);

	qs = qt_open(dir);
	TEST_IS_INT(qstore_prefs_get(qs, "alice@example.org", &p, &error,
				     NULL), 0, "alice after reopen");
	TEST_OK(p.spam_threshold == 3, "alice: her preset beats the site 6");
	TEST_IS_STR(p.stream, "high", "alice: stream high");
	TEST_IS_INT(p.page_size, 50, "alice: site page size");
	TEST_IS_STR(p.tag_string, "[SPAM %d]", "alice: tag string");
	qstore_prefs_deinit(&p);
	TEST_IS_INT(qstore_prefs_get(qs, "bob@example.org", &p, &error, NULL),
		    0, "bob");
	TEST_OK(p.spam_threshold == 6, "bob: site threshold 6");
	TEST_IS_STR(p.tag_string, "[Spam:%* %?]", "bob: built-in tag string");
	qstore_prefs_deinit(&p);
	TEST_IS_INT(qstore_prefs_set(qs, "alice@example.org", "spam_threshold",
				     "4", &error, NULL), 0,
		    "alice: own threshold");
	TEST_IS_INT(qstore_prefs_get(qs, "alice@example.org", &p, &error,
				     NULL), 0, "alice again");
	TEST_OK(p.spam_threshold == 4, "alice: 4");
	TEST_IS_STR(p.stream, "custom", "alice: stream custom");
	qstore_prefs_deinit(&p);
	TEST_IS_INT(qstore_prefs_unset(qs, "alice@example.org",
				       "spam_threshold", &error, NULL), 1,
		    "alice: unset threshold");
	TEST_IS_INT(qstore_prefs_unset(qs, "alice@example.org",
				       "spam_threshold", &error, NULL), 0,
		    "alice: unset again: 0");
	TEST_IS_INT(qstore_prefs_set(qs, "alice@example.org", "opt_out", "yes",
				     &error, NULL), 0, "alice opts out");
	TEST_IS_INT(qstore_prefs_get(qs, "alice@example.org", &p, &error,
				     NULL), 0, "alice once more");
	TEST_IS_INT(p.opt_out, 1, "opt-out takes effect at once");
	qstore_prefs_deinit(&p);
	TEST_IS_INT(qstore_prefs_get(qs, NULL, &p, &error, NULL), 0,
		    "the site's own");
	TEST_OK(p.spam_threshold == 6 && p.opt_out == 0, "site values");
	qstore_prefs_deinit(&p);
	qstore_close(&qs);
}

int main(void)
{
	struct str dir = STR_INIT;

	test_defaults_and_validation();
	test_stored(qt_setup(&dir));
	str_deinit(&dir);
	qt_cleanup();
	return test_done();
}
