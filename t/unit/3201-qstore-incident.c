/*
 * qstore incidents: round trips, message copies, status and history,
 * paged queries through the indexes, counting, expiry, deletion.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qstore.h"
#include "qstore-test.h"
#include "test-lib.h"

static struct qstore *qs;

static void fill(struct qstore_incident *inc, const char *user,
		 time_t received, const char *subject)
{
	qstore_incident_init(inc);
	qstore_incident_set(&inc->user, user);
	qstore_incident_set(&inc->recipient, user);
	qstore_incident_set(&inc->sender, "bounce@spam.example");
	qstore_incident_set(&inc->subject, subject);
	inc->received = received;
}

static char *add(const char *user, time_t received, const char *subject,
		 int status)
{
	struct qstore_incident inc;
	char *error = NULL, *id;

	fill(&inc, user, received, subject);
	inc.status = status;
	if (qstore_incident_add(qs, &inc, "x", 1, "lmtpd", QSTORE_VIA_LMTP,
				&error, NULL) < 0) {
		printf("Bail out! add: %s\n", error);
		exit(1);
	}
	id = strdup(inc.id);
	qstore_incident_deinit(&inc);
	return id;
}

static void test_round_trip(void)
{
	struct qstore_incident inc, got;
	struct str big = STR_INIT;
	char *error = NULL, *data;
	enum errkind kind;
	size_t len, i;
	int ret;

	fill(&inc, "alice@example.org", 1700000000, "Cheap \xc3\xa9 pills");
	qstore_incident_set(&inc.recipient, "alice+x@example.org");
	qstore_incident_set(&inc.from, "\"Spammer\" <s@spam.example>");
	qstore_incident_set(&inc.message_id, "<1@spam.example>");
	qstore_incident_set(&inc.relay_ip, "192.0.2.7");
	qstore_incident_set(&inc.relay_name, "mx.spam.example");
	qstore_incident_set(&inc.folder, "Spam");
	qstore_incident_set(&inc.location, "/var/mail/alice/.Spam/new/1.x");
	inc.size = 123456;
	inc.scored = 1;
	inc.score = 7.125;
	inc.reasons = QSTORE_REASON_SPAMSCORE | QSTORE_REASON_HOLDRELAY;
	qstore_incident_add_hit(&inc, "GTUBE", 1000, "Generic test");
	qstore_incident_add_hit(&inc, "NEG", -1.5, "");
	/* 1 MB of compressible text: several chunks after compression? no,
	   one; so also test an incompressible 600 KB below */
	for (i = 0; i < 20000; i++)
		str_printf(&big, "line %zu of a spam message body\n", i);
	ret = qstore_incident_add(qs, &inc, big.s, big.len, "lmtpd",
				  QSTORE_VIA_LMTP, &error, NULL);
	TEST_IS_INT(ret, 0, "add an incident");
	TEST_IS_INT(strlen(inc.id), QSTORE_ID_LEN, "id has %d characters",
		    QSTORE_ID_LEN);
	TEST_OK(strspn(inc.id, "0123456789abcdefghjkmnpqrstvwxyz")
		== QSTORE_ID_LEN, "id is printable base32: %s", inc.id);

	ret = qstore_incident_get(qs, inc.id, &got, &error, NULL);
	TEST_IS_INT(ret, 1, "get it back");
	TEST_IS_STR(got.id, inc.id, "same id");
	TEST_IS_STR(got.user, "alice@example.org", "user");
	TEST_IS_STR(got.recipient, "alice+x@example.org", "recipient");
	TEST_IS_STR(got.sender, "bounce@spam.example", "sender");
	TEST_IS_STR(got.from, "\"Spammer\" <s@spam.example>", "from");
	TEST_IS_STR(got.subject, "Cheap \xc3\xa9 pills", "subject (UTF-8)");
	TEST_IS_STR(got.message_id, "<1@spam.example>", "message-id");
	TEST_IS_INT(got.received, 1700000000, "received");
	TEST_IS_STR(got.relay_ip, "192.0.2.7", "relay ip");
	TEST_IS_STR(got.relay_name, "mx.spam.example", "relay name");
	TEST_IS_INT(got.size, 123456, "size");
	TEST_IS_INT(got.scored, 1, "scored");
	TEST_OK(got.score == 7.125, "score %g", got.score);
	TEST_IS_INT(got.status, QSTORE_PENDING, "status pending");
	TEST_IS_INT(got.reasons, QSTORE_REASON_SPAMSCORE |
		    QSTORE_REASON_HOLDRELAY, "reasons");
	TEST_IS_STR(got.folder, "Spam", "folder");
	TEST_IS_STR(got.location, "/var/mail/alice/.Spam/new/1.x", "location");
	TEST_IS_INT(got.n_hits, 2, "two hits");
	TEST_IS_STR(got.hits[0].name, "GTUBE", "hit name");
	TEST_OK(got.hits[0].score == 1000, "hit score");
	TEST_IS_STR(got.hits[0].description, "Generic test", "hit description");
	TEST_OK(got.hits[1].score == -1.5, "negative hit score");
	TEST_IS_INT(got.n_actions, 1, "one history entry");
	TEST_IS_STR(got.actions[0].who, "lmtpd", "history: who");
	TEST_IS_INT(got.actions[0].via, QSTORE_VIA_LMTP, "history: via");
	TEST_IS_STR(got.actions[0].what, "held", "history: what");
	TEST_IS_INT(got.flags & QSTORE_FLAG_NO_COPY, 0, "has a copy");
	qstore_incident_deinit(&got);

	ret = qstore_message_get(qs, inc.id, &data, &len, &error, NULL);
	TEST_IS_INT(ret, 1, "copy found");
	TEST_OK(len == big.len && memcmp(data, big.s, len) == 0,
		"copy is byte-identical (%zu bytes)", len);
	free(data);

	/* incompressible, several chunks */
	str_clear(&big);
	srand(42);
	for (i = 0; i < 700 * 1024; i++)
		str_appendc(&big, (char)(rand() & 0xff));
	qstore_incident_deinit(&inc);
	fill(&inc, "alice@example.org", 1700000001, "random");
	TEST_IS_INT(qstore_incident_add(qs, &inc, big.s, big.len, "lmtpd",
					QSTORE_VIA_LMTP, &error, NULL), 0,
		    "add with a 700 KB incompressible copy");
	ret = qstore_message_get(qs, inc.id, &data, &len, &error, NULL);
	TEST_OK(ret == 1 && len == big.len && memcmp(data, big.s, len) == 0,
		"multi-chunk copy is byte-identical");
	free(data);
	TEST_IS_INT(qstore_incident_delete(qs, inc.id, &error, NULL), 1,
		    "delete it");
	TEST_IS_INT(qstore_message_get(qs, inc.id, &data, &len, &error, NULL),
		    0, "its copy is gone too");
	TEST_IS_INT(qstore_incident_delete(qs, inc.id, &error, NULL), 0,
		    "deleting again: not found");
	qstore_incident_deinit(&inc);

	/* without a copy */
	fill(&inc, "bob@example.org", 1700000002, "tagged");
	inc.flags = QSTORE_FLAG_TAGGED;
	TEST_IS_INT(qstore_incident_add(qs, &inc, NULL, 0, "lmtpd",
					QSTORE_VIA_LMTP, &error, NULL), 0,
		    "add a tagged incident without a copy");
	TEST_IS_INT(qstore_incident_get(qs, inc.id, &got, &error, NULL), 1,
		    "get it");
	TEST_OK(got.flags & QSTORE_FLAG_NO_COPY, "flagged: no copy");
	TEST_IS_STR(got.actions[0].what, "tagged", "history says tagged");
	TEST_IS_INT(got.scored, 0, "not scored");
	qstore_incident_deinit(&got);
	qstore_incident_deinit(&inc);

	/* an id chosen before the add (for the X-Spamtrap-Id header) */
	{
		char id[QSTORE_ID_LEN + 1];

		qstore_id_new(id);
		fill(&inc, "bob@example.org", 1700000003, "preset");
		memcpy(inc.id, id, sizeof(id));
		TEST_IS_INT(qstore_incident_add(qs, &inc, "m", 1, "lmtpd",
						QSTORE_VIA_LMTP, &error, NULL),
			    0, "add with an id from qstore_id_new");
		TEST_IS_STR(inc.id, id, "the id is kept");
		qstore_incident_deinit(&inc);
		fill(&inc, "mallory@example.org", 1700000004, "again");
		memcpy(inc.id, id, sizeof(id));
		error = NULL;
		TEST_IS_INT(qstore_incident_add(qs, &inc, "x", 1, "lmtpd",
						QSTORE_VIA_LMTP, &error, &kind),
			    -1, "the same id again is refused");
		TEST_LIKE(error, "already in use", "with a reason");
		free(error);
		qstore_incident_deinit(&inc);
		TEST_IS_INT(qstore_incident_get(qs, id, &got, &error, NULL), 1,
			    "the first one is intact");
		TEST_IS_STR(got.user, "bob@example.org", "not overwritten");
		qstore_incident_deinit(&got);
	}

	/* unknown and malformed ids */
	TEST_IS_INT(qstore_incident_get(qs, "0000000000000", &got, &error,
					NULL), 0, "unknown id: 0");
	TEST_IS_INT(qstore_incident_get(qs, "../etc/passwd", &got, &error,
					NULL), 0, "malformed id: 0");
	/* errors are reported, not chosen as codes */
	fill(&inc, "", 1, "no user");
	error = NULL;
	TEST_IS_INT(qstore_incident_add(qs, &inc, NULL, 0, "x",
					QSTORE_VIA_CLI, &error, &kind), -1,
		    "an incident without a user is refused");
	TEST_LIKE(error, "no user", "with a reason");
	free(error);
	qstore_incident_deinit(&inc);
	str_deinit(&big);
}

static void test_status_history(void)
{
	struct qstore_incident got;
	char *error = NULL, *id;

	id = add("carol@example.org", 1700000100, "s", QSTORE_PENDING);
	TEST_IS_INT(qstore_incident_set_status(qs, id, QSTORE_SPAM, "carol",
					       QSTORE_VIA_IMAP_MOVE, NULL,
					       &error, NULL), 1,
		    "mark as spam");
	TEST_IS_INT(qstore_incident_set_location(qs, id, "INBOX",
						 "/m/carol/cur/1", "carol",
						 QSTORE_VIA_MAILDIR, &error,
						 NULL), 1, "move it");
	TEST_IS_INT(qstore_incident_set_status(qs, id, QSTORE_NON_SPAM, "admin",
					       QSTORE_VIA_CLI, "released",
					       &error, NULL), 1,
		    "release it");
	TEST_IS_INT(qstore_incident_get(qs, id, &got, &error, NULL), 1, "get");
	TEST_IS_INT(got.status, QSTORE_NON_SPAM, "status non-spam");
	TEST_IS_STR(got.folder, "INBOX", "folder INBOX");
	TEST_IS_INT(got.n_actions, 4, "four history entries");
	TEST_IS_STR(got.actions[1].what, "status spam", "history 2");
	TEST_IS_INT(got.actions[1].via, QSTORE_VIA_IMAP_MOVE, "via imap move");
	TEST_IS_STR(got.actions[2].what, "moved to INBOX", "history 3");
	TEST_IS_STR(got.actions[3].what, "status non-spam: released",
		    "history 4");
	TEST_IS_STR(got.actions[3].who, "admin", "who");
	qstore_incident_deinit(&got);
	TEST_IS_INT(qstore_incident_set_status(qs, "zzzzzzzzzzzzz", QSTORE_SPAM,
					       "x", QSTORE_VIA_CLI, NULL,
					       &error, NULL), 0,
		    "status of an unknown id: 0");
	free(id);
}

static void test_pages(void)
{
	struct qstore_query q;
	struct qstore_page page;
	char *ids[25], *error = NULL;
	enum errkind kind;
	size_t i, n;
	int ok;

	/* dave: 25 pending at t = 1000..1024, 5 spam; erin: 3 pending */
	for (i = 0; i < 25; i++)
		ids[i] = add("dave@example.org", 1000 + (time_t)i, "p",
			     QSTORE_PENDING);
	for (i = 0; i < 5; i++)
		free(add("dave@example.org", 2000 + (time_t)i, "s",
			 QSTORE_SPAM));
	for (i = 0; i < 3; i++)
		free(add("erin@example.org", 1500 + (time_t)i, "e",
			 QSTORE_PENDING));

	memset(&q, 0, sizeof(q));
	q.user = "dave@example.org";
	q.status = QSTORE_PENDING;
	q.page = 1;
	q.page_size = 10;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "page 1 of dave's pending");
	TEST_IS_INT(page.n, 10, "10 on page 1");
	TEST_IS_INT(page.more, 1, "more after page 1");
	ok = page.n == 10;
	for (i = 0; ok && i < 10; i++)
		ok = strcmp(page.items[i].id, ids[24 - i]) == 0
			&& page.items[i].received == 1024 - (time_t)i;
	TEST_OK(ok, "page 1 is newest first");
	qstore_page_deinit(&page);

	q.page = 3;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "page 3");
	TEST_IS_INT(page.n, 5, "5 on the last page");
	TEST_IS_INT(page.more, 0, "nothing after page 3");
	TEST_OK(page.n == 5 && strcmp(page.items[4].id, ids[0]) == 0,
		"the oldest is last");
	qstore_page_deinit(&page);

	q.page = 4;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "page 4");
	TEST_IS_INT(page.n, 0, "empty past the end");
	qstore_page_deinit(&page);

	q.page = 1;
	q.oldest_first = 1;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "oldest first");
	TEST_OK(page.n == 10 && strcmp(page.items[0].id, ids[0]) == 0
		&& strcmp(page.items[9].id, ids[9]) == 0, "ascending order");
	qstore_page_deinit(&page);

	q.oldest_first = 0;
	q.status = QSTORE_SPAM;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "dave's spam");
	TEST_OK(page.n == 5 && page.items[0].received == 2004
		&& page.items[0].status == QSTORE_SPAM, "5 spam, newest first");
	qstore_page_deinit(&page);

	q.status = QSTORE_STATUS_ANY;
	q.page_size = 100;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "all of dave's");
	TEST_IS_INT(page.n, 30, "30 of any status");
	TEST_OK(page.n == 30 && page.items[0].received == 2004
		&& page.items[29].received == 1000, "by date across statuses");
	qstore_page_deinit(&page);

	q.user = "nobody@example.org";
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "a user with nothing");
	TEST_IS_INT(page.n, 0, "no items");
	qstore_page_deinit(&page);

	/* a user name that is a prefix of another must not see its mail */
	free(add("dave@example.org.evil", 3000, "x", QSTORE_PENDING));
	q.user = "dave@example.org";
	q.status = QSTORE_PENDING;
	q.page_size = 100;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "list again");
	TEST_IS_INT(page.n, 25, "prefix user not included");
	qstore_page_deinit(&page);

	q.user = NULL;
	q.status = QSTORE_PENDING;
	q.page_size = 5;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, NULL), 0,
		    "site-wide pending");
	/* bob's and alice's from test_round_trip are newer */
	TEST_OK(page.n == 5 && page.items[0].received == 1700000003
		&& page.items[1].received == 1700000002
		&& page.items[2].received == 1700000000
		&& page.items[3].received == 3000
		&& page.items[4].received == 1502, "site-wide newest first");
	qstore_page_deinit(&page);

	TEST_IS_INT(qstore_incident_count(qs, "dave@example.org",
					  QSTORE_PENDING, &n, &error, NULL),
		    0, "count");
	TEST_IS_INT(n, 25, "25 pending for dave");
	TEST_IS_INT(qstore_incident_count(qs, "dave@example.org",
					  QSTORE_STATUS_ANY, &n, &error, NULL),
		    0, "count any");
	TEST_IS_INT(n, 30, "30 in all for dave");

	q.page = 0;
	error = NULL;
	TEST_IS_INT(qstore_incident_list(qs, &q, &page, &error, &kind), -1,
		    "page 0 is refused");
	TEST_IS_INT(kind, ERR_PERMANENT, "as a permanent error");
	free(error);

	/* expiry: everything of dave's pending before 1010 */
	TEST_IS_INT(qstore_expire(qs, 1010, &n, &error, NULL), 0, "expire");
	TEST_IS_INT(n, 10, "10 expired");
	TEST_IS_INT(qstore_incident_get(qs, ids[0], NULL, &error, NULL), 0,
		    "the oldest is gone");
	TEST_IS_INT(qstore_incident_count(qs, "dave@example.org",
					  QSTORE_PENDING, &n, &error, NULL),
		    0, "count after expiry");
	TEST_IS_INT(n, 15, "15 left");
	for (i = 0; i < 25; i++)
		free(ids[i]);
}

static void test_pairs(void)
{
	struct qstore_pair p;
	char *error = NULL;

	TEST_IS_INT(qstore_pair_get(qs, "a@b.example", "192.0.2.1", &p,
				    &error, NULL), 0, "pair never seen");
	TEST_IS_INT(qstore_pair_seen(qs, "A@B.example", "192.0.2.1", 100, &p,
				     &error, NULL), 0, "seen once");
	TEST_IS_INT(p.count, 0, "first sighting: count before was 0");
	TEST_IS_INT(qstore_pair_seen(qs, "a@b.example", "192.0.2.1", 200, &p,
				     &error, NULL), 0, "seen twice");
	TEST_IS_INT(p.count, 1, "case-insensitive: count before 1");
	TEST_IS_INT(p.first_seen, 100, "first seen");
	TEST_IS_INT(qstore_pair_get(qs, "a@b.example", "192.0.2.1", &p,
				    &error, NULL), 1, "pair known");
	TEST_IS_INT(p.count, 2, "count 2");
	TEST_IS_INT(p.last_seen, 200, "last seen");
	TEST_IS_INT(qstore_pair_get(qs, "a@b.example", "192.0.2.2", &p,
				    &error, NULL), 0, "other relay: unknown");
}

/*
 * qstore_incident_filed() commits without waiting for the disk: a
 * process killed right after it has lost nothing (the log was written
 * at commit).  A child files and is killed (SIGKILL); the parent,
 * after reopening (recovery), finds the folder, the location and the
 * history entry.
 */
static void test_filed_killed(const char *dir)
{
	struct qstore_incident got;
	char *error = NULL, *id, rc = 0;
	int fds[2], status = -1;
	pid_t pid;

	id = add("erin@example.org", 1700000200, "held", QSTORE_PENDING);
	qstore_close(&qs);
	if (pipe(fds) < 0) {
		TEST_OK(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct qstore *cq = qt_open(dir);
		char r = qstore_incident_filed(cq, id, "Spam",
					       "/m/erin/.Spam/new/1,S=9",
					       &error, NULL) == 1 ? 'y' : 'n';

		if (write(fds[1], &r, 1) != 1)
			_exit(1);
		raise(SIGKILL);	/* as kill -9: nothing closed, nothing flushed */
		_exit(1);
	}
	close(fds[1]);
	TEST_OK(pid > 0 && read(fds[0], &rc, 1) == 1 && rc == 'y',
		"a child files the incident");
	close(fds[0]);
	TEST_OK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
		WTERMSIG(status) == SIGKILL, "and is killed (SIGKILL)");
	qs = qt_open(dir);
	TEST_IS_INT(qstore_incident_get(qs, id, &got, &error, NULL), 1,
		    "reopened: the incident");
	TEST_IS_STR(got.location, "/m/erin/.Spam/new/1,S=9",
		    "the location survived the process");
	TEST_IS_STR(got.folder, "Spam", "and the folder");
	TEST_IS_STR(got.n_actions > 0 ? got.actions[got.n_actions - 1].what
				       : NULL, "moved to Spam",
		    "history: moved to Spam");
	TEST_IS_STR(got.n_actions > 0 ? got.actions[got.n_actions - 1].who
				       : NULL, "lmtpd", "by lmtpd");
	qstore_incident_deinit(&got);
	free(id);
}

int main(void)
{
	struct str dir = STR_INIT;
	struct stat st;
	struct str path = STR_INIT;

	qs = qt_open(qt_setup(&dir));
	test_round_trip();
	test_status_history();
	test_pages();
	test_pairs();
	test_filed_killed(str_c(&dir));
	str_printf(&path, "%s/incidents.db", str_c(&dir));
	TEST_OK(stat(str_c(&path), &st) == 0 && (st.st_mode & 077) == 0,
		"incidents.db is private (mode %04o)",
		(unsigned)(st.st_mode & 07777));
	qstore_close(&qs);
	TEST_OK(qs == NULL, "close clears the handle");
	/* reopen: data persists */
	qs = qt_open(str_c(&dir));
	{
		size_t n = 0;
		char *error = NULL;

		TEST_IS_INT(qstore_incident_count(qs, "dave@example.org",
						  QSTORE_STATUS_ANY, &n,
						  &error, NULL), 0,
			    "count after reopen");
		TEST_IS_INT(n, 20, "still there after reopen");
	}
	qstore_close(&qs);
	str_deinit(&path);
	str_deinit(&dir);
	qt_cleanup();
	return test_done();
}
