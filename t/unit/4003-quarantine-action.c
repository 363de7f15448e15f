/*
 * quarantine_action against a real database: header token and report key
 * parsing (whole and byte by byte), verdicts counted once per real
 * change, the table of placement changes folderd acts on, reports
 * deduplicated, forged and foreign tokens refused.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "mymalloc.h"
#include "qstore.h"
#include "qstore_watch.h"
#include "quarantine_action.h"
#include "test-lib.h"

static struct qstore *qs;

static void held(const char *user, unsigned flags, char id[QSTORE_ID_LEN + 1])
{
	struct qstore_incident inc;
	char *error = NULL;

	qstore_incident_init(&inc);
	qstore_incident_set(&inc.user, user);
	qstore_incident_set(&inc.sender, "s@spam.example");
	qstore_incident_set(&inc.folder, flags ? "INBOX" : "Spam");
	qstore_incident_set(&inc.location, "/x/.Spam/new/1.a");
	inc.received = time(NULL);
	inc.status = QSTORE_PENDING;
	inc.flags = flags;
	if (qstore_incident_add(qs, &inc, "Subject: x\n\nx\n", 14, "lmtpd",
				QSTORE_VIA_LMTP, &error, NULL) < 0)
		msg_fatal("add: %s", error);
	memcpy(id, inc.id, QSTORE_ID_LEN + 1);
	qstore_incident_deinit(&inc);
}

static const char *status(const char *id)
{
	struct qstore_incident inc;
	static char buf[32];

	if (qstore_incident_get(qs, id, &inc, NULL, NULL) != 1)
		return "?";
	snprintf(buf, sizeof(buf), "%s", qstore_status_name(inc.status));
	qstore_incident_deinit(&inc);
	return buf;
}

static size_t history(const char *id)
{
	struct qstore_incident inc;
	size_t n;

	if (qstore_incident_get(qs, id, &inc, NULL, NULL) != 1)
		return 0;
	n = inc.n_actions;
	qstore_incident_deinit(&inc);
	return n;
}

static void test_headers(void)
{
	static const struct { const char *msg, *token; } cases[] = {
		{ "X-Spamtrap-Id: abc.def\nSubject: x\n\nbody\n", "abc.def" },
		{ "Subject: x\r\nx-spamtrap-id:  abc.def \r\n\r\nX-Spamtrap-Id: no\r\n",
		  "abc.def" },
		{ "X-Spamtrap-Id:\n abc.\n\tdef\nSubject: x\n\n", "abc.def" },
		{ "Subject: x\n\nX-Spamtrap-Id: in the body\n", NULL },
		{ "X-Spamtrap-Idx: a\n\n", NULL },
		{ "", NULL },
	};
	size_t i, cut;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = quarantine_action_header_token(cases[i].msg,
							   strlen(cases[i].msg));
		int same_prefix = 1;

		TEST_IS_STR(tok, cases[i].token, "header token, case %zu", i);
		free(tok);
		/* a truncated message never yields a token that is not a
		   prefix-free part of the real one */
		for (cut = 0; cut <= strlen(cases[i].msg); cut++) {
			tok = quarantine_action_header_token(cases[i].msg, cut);
			if (tok != NULL && (cases[i].token == NULL
			    || strncmp(cases[i].token, tok, strlen(tok)) != 0))
				same_prefix = 0;
			free(tok);
		}
		TEST_OK(same_prefix, "case %zu cut at every byte: no wrong token", i);
	}
}

static void test_report_key(void)
{
	struct str a = STR_INIT, b = STR_INIT;
	const char *lf = "From: a\nMessage-ID: <m1@x>\n\nbody\n";
	const char *crlf = "From: a\r\nMessage-Id:\r\n <m1@x>\r\n\r\nother body\r\n";
	const char *nomid = "From: a\nSubject: s\n\nbody\n";
	const char *nomid_crlf = "From: a\r\nSubject: s\r\n\r\nbody 2\r\n";

	quarantine_action_report_key(lf, strlen(lf), &a);
	TEST_IS_STR(str_c(&a), "msgid:<m1@x>", "report key: the Message-ID");
	quarantine_action_report_key(crlf, strlen(crlf), &b);
	TEST_IS_STR(str_c(&b), str_c(&a), "folded, CRLF, other case: the same key");
	quarantine_action_report_key(nomid, strlen(nomid), &a);
	TEST_LIKE(str_c(&a), "sha256:", "without Message-ID: a header digest");
	quarantine_action_report_key(nomid_crlf, strlen(nomid_crlf), &b);
	TEST_IS_STR(str_c(&b), str_c(&a), "the digest ignores CRs and the body");
	str_deinit(&a);
	str_deinit(&b);
}

static void test_verdicts(void)
{
	struct quarantine_actor a = { "alice@x", "alice@x", QSTORE_VIA_MAILDIR, NULL };
	struct quarantine_actor bob = { "bob@x", "bob@x", QSTORE_VIA_MAILDIR, NULL };
	struct qstore_table_entry e;
	char id[QSTORE_ID_LEN + 1];
	char *error = NULL;

	held("alice@x", 0, id);
	TEST_IS_INT(quarantine_action_accept(qs, id, &bob, &error), QA_FOREIGN,
		    "another user cannot accept it");
	TEST_IS_STR(status(id), "pending", "still pending");
	TEST_IS_INT(quarantine_action_accept(qs, id, &a, &error), QA_CHANGED,
		    "accept: changed");
	TEST_IS_INT(history(id), 2, "one history entry added");
	TEST_IS_INT(qstore_table_get(qs, "alice@x", QSTORE_TABLE_SENDER,
				     "s@spam.example", &e, NULL, NULL), 1,
		    "sender allowed");
	{
		struct str want = STR_INIT;

		str_printf(&want, "accepted incident %s", id);
		TEST_IS_STR(e.comment, str_c(&want), "comment names the incident");
		str_deinit(&want);
	}
	qstore_table_entry_deinit(&e);
	TEST_IS_INT(quarantine_action_accept(qs, id, &a, &error), QA_UNCHANGED,
		    "accept again: unchanged");
	TEST_IS_INT(history(id), 2, "no entry added");
	TEST_IS_INT(quarantine_action_reject(qs, id, &a, &error), QA_CHANGED,
		    "a later reject counts");
	TEST_IS_INT(history(id), 3, "and is kept beside the accept");
	TEST_IS_STR(status(id), "spam", "the newest counts");
	TEST_IS_INT(quarantine_action_accept(qs, "0000000000000", &a, &error),
		    QA_UNKNOWN, "unknown id");
}

/* placements: table of (start, seen, expected status, history added) */
static void test_observe(void)
{
	static const struct {
		unsigned flags;		/* 0 held, 1 tagged */
		const char *before;	/* status before: "pending", "non-spam" */
		unsigned places;	/* what the scan saw */
		int final;
		const char *after;
		size_t added;
		const char *name;
	} cases[] = {
		{ 0, "pending", QA_IN_QUARANTINE, 0, "pending", 0, "held, still in Spam" },
		{ 0, "pending", QA_IN_NORMAL, 0, "non-spam", 1, "held, moved to INBOX" },
		{ 0, "pending", QA_IN_NORMAL | QA_IN_QUARANTINE, 0, "non-spam", 1,
		  "held, copied to INBOX" },
		{ 0, "pending", QA_IN_TRASH, 0, "spam", 1, "held, moved to Trash" },
		{ 0, "pending", 0, 0, "pending", 0, "held, vanished: waits for a final scan" },
		{ 0, "pending", 0, 1, "spam", 1, "held, vanished, confirmed" },
		{ 0, "non-spam", QA_IN_QUARANTINE, 0, "non-spam", 0,
		  "accepted, never seen: starts in the quarantine" },
		{ 1, "pending", QA_IN_NORMAL, 0, "pending", 0, "tagged, in INBOX" },
		{ 1, "pending", QA_IN_QUARANTINE, 0, "spam", 1, "tagged, moved into Spam" },
		{ 1, "pending", 0, 1, "pending", 0, "tagged, deleted: nothing" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct quarantine_scan scan;
		char id[QSTORE_ID_LEN + 1];
		char *error = NULL;
		size_t h;
		int n;

		held("carol@x", cases[i].flags, id);
		if (strcmp(cases[i].before, "non-spam") == 0) {
			enum qstore_verdict_result vr;

			(void)qstore_incident_verdict(qs, id, NULL, QSTORE_NON_SPAM,
						      0, "t", QSTORE_VIA_CLI, NULL,
						      NULL, &vr, NULL, NULL);
		}
		h = history(id);
		quarantine_scan_init(&scan);
		scan.final = cases[i].final;
		scan.complete = 1;
		if (cases[i].places)
			quarantine_scan_add(&scan, id, cases[i].places);
		n = quarantine_action_observe(qs, "carol@x", &scan,
					      QSTORE_VIA_MAILDIR, &error);
		TEST_OK(n >= 0, "%s: observed%s%s", cases[i].name,
			error ? ": " : "", error ? error : "");
		TEST_IS_STR(status(id), cases[i].after, "%s: status", cases[i].name);
		TEST_IS_INT(history(id) - h, cases[i].added, "%s: history",
			    cases[i].name);
		/* the same view again changes nothing */
		h = history(id);
		scan.final = 1;
		(void)quarantine_action_observe(qs, "carol@x", &scan,
						QSTORE_VIA_MAILDIR, &error);
		if (cases[i].places != 0 || cases[i].final)
			TEST_IS_INT(history(id) - h, 0, "%s: seen again, nothing",
				    cases[i].name);
		quarantine_scan_deinit(&scan);
		/* leave no pending incident of carol for the next case */
		(void)qstore_incident_delete(qs, id, NULL, NULL);
		(void)quarantine_action_set_places(qs, "carol@x", id, 0, NULL);
	}
}

static int locate_answer;

static int fake_locate(const char *user, const char *id, void *ctx)
{
	(void)user;
	(void)id;
	(void)ctx;
	return locate_answer;
}

/*
 * A watcher that sees only some folders asks where a vanished one went.
 * With INBOX already recorded (as "spamtrap accept" records it before it
 * moves the message, its verdict to follow), finding it there, or not
 * yet anywhere, is no change: the watcher must not accept it as the
 * user's own drag.
 */
static void test_locate(void)
{
	static const struct { unsigned preset; int answer; const char *after;
			      size_t unconfirmed; }
	cases[] = {
		{ 0, QA_IN_NORMAL, "non-spam", 0 },
		{ 0, QA_IN_TRASH, "spam", 0 },
		{ 0, 0, "spam", 0 },
		{ 0, -1, "pending", 1 },
		{ QA_IN_NORMAL, QA_IN_NORMAL, "pending", 0 },
		{ QA_IN_NORMAL, 0, "pending", 0 },
		{ QA_IN_NORMAL, QA_IN_TRASH, "spam", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct quarantine_scan scan;
		char id[QSTORE_ID_LEN + 1];
		char *error = NULL;

		held("frank@x", 0, id);
		if (cases[i].preset)
			(void)quarantine_action_set_places(qs, "frank@x", id,
							   cases[i].preset,
							   NULL);
		quarantine_scan_init(&scan);
		scan.final = 1;
		scan.complete = 1;
		scan.locate = fake_locate;
		locate_answer = cases[i].answer;
		TEST_OK(quarantine_action_observe(qs, "frank@x", &scan,
						  QSTORE_VIA_IMAP_MOVE, &error) >= 0,
			"locate %d (recorded %u): observed", cases[i].answer,
			cases[i].preset);
		TEST_IS_STR(status(id), cases[i].after,
			    "locate %d (recorded %u): status", cases[i].answer,
			    cases[i].preset);
		TEST_IS_INT(scan.unconfirmed, cases[i].unconfirmed,
			    "locate %d (recorded %u): unconfirmed",
			    cases[i].answer, cases[i].preset);
		quarantine_scan_deinit(&scan);
		(void)qstore_incident_delete(qs, id, NULL, NULL);
		(void)quarantine_action_set_places(qs, "frank@x", id, 0, NULL);
	}
}

/* one view of dave's folders: the message of ID in PLACES; FINAL scan */
static int observe_dave(const char *id, unsigned places, int final,
			size_t *unconfirmed)
{
	struct quarantine_scan scan;
	char *error = NULL;
	int n;

	quarantine_scan_init(&scan);
	scan.final = final;
	scan.complete = 1;
	if (places)
		quarantine_scan_add(&scan, id, places);
	n = quarantine_action_observe(qs, "dave@x", &scan, QSTORE_VIA_IMAP_MOVE,
				      &error);
	*unconfirmed = scan.unconfirmed;
	quarantine_scan_deinit(&scan);
	free(error);
	return n;
}

/*
 * "spamtrap accept" records INBOX (QA_BY_COMMAND), moves the message and
 * records its verdict; a watcher that read the quarantine folder before
 * the move and INBOX after it sees the message in both.  That view is
 * not the user's drag back into the quarantine: the watcher asks for
 * another scan, and acts only on what that one still shows.
 */
static void test_command_move(void)
{
	struct quarantine_actor cli = { NULL, "postmaster", QSTORE_VIA_CLI, NULL };
	char id[QSTORE_ID_LEN + 1];
	char *error = NULL;
	size_t h, unconfirmed;

	held("dave@x", 0, id);
	(void)quarantine_action_set_places(qs, "dave@x", id,
					   QA_IN_NORMAL | QA_BY_COMMAND, NULL);
	TEST_IS_INT(quarantine_action_accept(qs, id, &cli, &error), QA_CHANGED,
		    "accepted by the command");
	h = history(id);
	TEST_OK(observe_dave(id, QA_IN_QUARANTINE | QA_IN_NORMAL, 0,
			     &unconfirmed) >= 0, "a view from before the move");
	TEST_IS_STR(status(id), "non-spam", "is not a drag back to Spam");
	TEST_IS_INT(history(id) - h, 0, "and adds no history");
	TEST_IS_INT(unconfirmed, 1, "another scan is asked for");
	TEST_OK(observe_dave(id, QA_IN_NORMAL, 1, &unconfirmed) >= 0,
		"the next scan");
	TEST_IS_INT(history(id) - h, 0, "shows the move: nothing to do");
	TEST_IS_INT(unconfirmed, 0, "and asks for no other");
	TEST_OK(observe_dave(id, QA_IN_QUARANTINE, 0, &unconfirmed) >= 0,
		"then the user drags it back");
	TEST_IS_STR(status(id), "spam", "which counts at once");
	(void)qstore_incident_delete(qs, id, NULL, NULL);
	(void)quarantine_action_set_places(qs, "dave@x", id, 0, NULL);

	/* the next scan still shows it in the quarantine: the user's */
	held("dave@x", 0, id);
	(void)quarantine_action_set_places(qs, "dave@x", id,
					   QA_IN_NORMAL | QA_BY_COMMAND, NULL);
	(void)quarantine_action_accept(qs, id, &cli, &error);
	(void)observe_dave(id, QA_IN_QUARANTINE, 0, &unconfirmed);
	TEST_IS_STR(status(id), "non-spam", "first differing view: waits");
	(void)observe_dave(id, QA_IN_QUARANTINE, 1, &unconfirmed);
	TEST_IS_STR(status(id), "spam",
		    "the next one, begun after the record, counts");
	(void)qstore_incident_delete(qs, id, NULL, NULL);
	(void)quarantine_action_set_places(qs, "dave@x", id, 0, NULL);
}

static void test_learn_and_tokens(void)
{
	struct quarantine_actor a = { "dave@x", "dave@x", QSTORE_VIA_IMAP_MOVE, NULL };
	struct quarantine_actor e = { "erin@x", "erin@x", QSTORE_VIA_IMAP_MOVE, NULL };
	char id[QSTORE_ID_LEN + 1], got[QSTORE_ID_LEN + 1], id2[QSTORE_ID_LEN + 1];
	struct str tok = STR_INIT, m = STR_INIT;
	const char *rep = "From: n@x\nMessage-ID: <rep@x>\nSubject: r\n\nhi\n";
	char *error = NULL;

	held("dave@x", 0, id);
	qstore_token_make(qs, id, &tok);
	TEST_IS_INT(quarantine_action_token(qs, str_c(&tok), "dave@x", "t", got), 1,
		    "the owner's token verifies");
	TEST_IS_STR(got, id, "and names the incident");
	TEST_IS_INT(quarantine_action_token(qs, str_c(&tok), "erin@x", "t", got), 0,
		    "another user's: refused");
	tok.s[tok.len - 1] = tok.s[tok.len - 1] == 'a' ? 'b' : 'a';
	TEST_IS_INT(quarantine_action_token(qs, str_c(&tok), NULL, "t", got), 0,
		    "a changed MAC: refused");
	str_clear(&tok);
	qstore_token_make(qs, id, &tok);
	str_printf(&m, "X-Spamtrap-Id: %s\r\nSubject: x\r\n\r\nb\r\n", str_c(&tok));
	TEST_IS_INT(quarantine_action_learn(qs, m.s, m.len, 0, &a, got, &error),
		    QA_UNCHANGED, "learn --spam on a held message: stays held");
	TEST_IS_INT(quarantine_action_learn(qs, m.s, m.len, 1, &e, got, &error),
		    QA_FOREIGN, "learn --ham by another user: refused");
	TEST_IS_INT(quarantine_action_learn(qs, m.s, m.len, 1, &a, got, &error),
		    QA_CHANGED, "learn --ham: accepted");
	TEST_IS_INT(quarantine_action_learn(qs, m.s, m.len, 1, &a, got, &error),
		    QA_UNCHANGED, "the same move twice: once");
	TEST_IS_INT(quarantine_action_learn(qs, rep, strlen(rep), 0, &a, id2, &error),
		    QA_CHANGED, "an unknown message into Spam: reported");
	TEST_IS_STR(status(id2), "spam", "a spam incident");
	TEST_IS_INT(quarantine_action_learn(qs, rep, strlen(rep), 0, &a, got, &error),
		    QA_UNCHANGED, "reported again: the same incident");
	TEST_IS_STR(got, id2, "same id");
	TEST_IS_INT(quarantine_action_learn(qs, rep, strlen(rep), 1, &a, got, &error),
		    QA_CHANGED, "the reported message moved out again: accepted");
	TEST_IS_STR(status(id2), "non-spam", "non-spam");
	str_deinit(&tok);
	str_deinit(&m);
}

int main(void)
{
	char dir[] = "/tmp/st4003-XXXXXX";
	char *error = NULL;
	struct str cmd = STR_INIT;

	msg_init("4003-quarantine-action");
	if (mkdtemp(dir) == NULL)
		msg_fatal_sys("mkdtemp");
	if ((qs = qstore_open(dir, &error, NULL)) == NULL)
		msg_fatal("%s", error);
	test_headers();
	test_report_key();
	test_verdicts();
	test_observe();
	test_locate();
	test_command_move();
	test_learn_and_tokens();
	qstore_close(&qs);
	str_printf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.s) != 0)
		msg_warn("could not remove %s", dir);
	str_deinit(&cmd);
	return test_done();
}
