/*
 * quarantine_action - what a user's decision on held mail does to the
 * quarantine database.  spamtrap-folderd (moves seen in Maildir or over
 * IMAP), "spamtrap learn" (the IMAPSieve push) and "spamtrap accept /
 * reject" all go through here, so a decision means the same wherever it
 * comes from.
 *
 *	accept	incident -> non-spam, history who/via; with the user's
 *		accept_allows_sender preference the envelope sender joins
 *		the user's allow table (comment: the incident id)
 *	reject	incident -> spam
 *	report	a message with no incident of its own, put into the
 *		quarantine by the user -> a new incident, status spam, with
 *		a copy, the user as reporter
 *
 * Counted once per real change: a verdict that does not change the
 * status writes nothing (qstore_incident_verdict), so the same move seen
 * twice, or a copy beside a move, adds no history; a later opposite move
 * does, and the newest counts.
 *
 * Tokens: an X-Spamtrap-Id must verify (HMAC, qstore_token_verify) and
 * its incident must belong to the acting user; otherwise nothing happens
 * but a log line.
 *
 * Placements (folderd): each scan reports, per incident, the set of
 * places its message was seen in (QA_IN_*).  The last set is kept in
 * watch.db ("P" records); quarantine_action_observe() compares and acts
 * on what changed, so a restart after downtime catches up from the
 * saved sets.  A reported message has no token: it is recognised by its
 * report key (its Message-ID, or a digest of its header without one),
 * kept in "R" records.
 */
#ifndef SPAMTRAP_QUARANTINE_ACTION_H
#define SPAMTRAP_QUARANTINE_ACTION_H

#include <stddef.h>

#include "qstore.h"

enum quarantine_action_result {
	QA_ERROR = -1,
	QA_UNCHANGED = 0,	/* already so: nothing recorded */
	QA_CHANGED,		/* recorded */
	QA_UNKNOWN,		/* no such incident */
	QA_FOREIGN,		/* another user's incident: refused */
};

/* who acts and how */
struct quarantine_actor {
	const char *user;	/* the owner acting; NULL: an admin (any user) */
	const char *who;	/* recorded as who (the user, or the admin) */
	enum qstore_via via;
	const char *note;	/* appended to the history entry, may be NULL */
};

enum quarantine_action_result
quarantine_action_accept(struct qstore *qs, const char *id,
			 const struct quarantine_actor *a, char **error_r);
enum quarantine_action_result
quarantine_action_reject(struct qstore *qs, const char *id,
			 const struct quarantine_actor *a, char **error_r);

/*
 * Record MSG (LEN bytes) as reported spam by A->user: a new incident
 * (status spam, folder FOLDER, location LOCATION may be ""), unless the
 * same message (report key) was reported before.  id_r gets the
 * incident id either way.  QA_CHANGED (new), QA_UNCHANGED (known) or
 * QA_ERROR.
 */
enum quarantine_action_result
quarantine_action_report(struct qstore *qs, const char *msg, size_t len,
			 const char *folder, const char *location,
			 const struct quarantine_actor *a,
			 char id_r[QSTORE_ID_LEN + 1], char **error_r);

/*
 * Check the X-Spamtrap-Id TOKEN for USER (NULL: any user).  1 and the id
 * in id_r if authentic and USER's; 0 otherwise (logged with WHERE).
 */
int quarantine_action_token(struct qstore *qs, const char *token,
			    const char *user, const char *where,
			    char id_r[QSTORE_ID_LEN + 1]);

/*
 * The X-Spamtrap-Id value (trimmed, allocated) of a message or of a
 * header section, or NULL; and the report key (Message-ID, else
 * "sha256:" of the header with CRs removed) into KEY.
 */
char *quarantine_action_header_token(const char *msg, size_t len);
void quarantine_action_report_key(const char *msg, size_t len,
				  struct str *key);
/* the length of the header section of MSG (up to the blank line) */
size_t quarantine_action_header_len(const char *msg, size_t len);

/*
 * The learn entry point (spamtrap learn, IMAPSieve): MSG was moved by
 * A->user into a non-spam folder (HAM) or into the quarantine.  With a
 * valid token: accept / reject its incident; without one: a ham message
 * known by its report key accepts that report, a spam message is
 * reported.  Also saves the new placement (see above).  id_r: the
 * incident concerned ("" when none).
 */
enum quarantine_action_result
quarantine_action_learn(struct qstore *qs, const char *msg, size_t len,
			int ham, const struct quarantine_actor *a,
			char id_r[QSTORE_ID_LEN + 1], char **error_r);

/* ---- placements (folderd) */

#define QA_IN_QUARANTINE	(1u << 0)	/* quarantine or one-shot folder */
#define QA_IN_NORMAL		(1u << 1)	/* INBOX or another folder */
#define QA_IN_TRASH		(1u << 2)	/* an ignore_folders folder */
#define QA_IN_ANY	(QA_IN_QUARANTINE | QA_IN_NORMAL | QA_IN_TRASH)
/*
 * Set with a placement by a command that is about to move the message
 * itself ("spamtrap accept"): a scan begun before the move may still
 * show the message where it was, which is no change of the user's.  A
 * scan that differs marks the record QA_COMPARED and asks for another
 * one; only what that next scan (begun after the record) still shows
 * is acted on.
 */
#define QA_BY_COMMAND		(1u << 7)
#define QA_COMPARED		(1u << 6)

struct quarantine_seen {
	char id[QSTORE_ID_LEN + 1];
	unsigned places;	/* QA_IN_* */
};

/* the set of incidents seen in one scan of one user's folders */
struct quarantine_scan {
	struct quarantine_seen *seen;
	size_t n, cap;
	/* a scan is not atomic (a flag change renames a file while the
	   directory is read): a held message that seems to have vanished
	   is only rejected by a second, "final" scan */
	int final;		/* in: this scan confirms vanishings */
	int complete;		/* in: also look at every held incident of the
				   user never seen before (else only those
				   with a saved placement or seen now) */
	size_t unconfirmed;	/* out: vanishings waiting for a final scan */
	/* optional: where else the message of incident ID is (QA_IN_*),
	   for a watcher that sees only some folders; asked before a held
	   message that vanished is rejected.  -1: could not look. */
	int (*locate)(const char *user, const char *id, void *ctx);
	void *locate_ctx;
};

void quarantine_scan_init(struct quarantine_scan *scan);
void quarantine_scan_deinit(struct quarantine_scan *scan);
void quarantine_scan_add(struct quarantine_scan *scan, const char *id,
			 unsigned place);

/*
 * Compare SCAN (a complete view of USER's watched folders) with the
 * saved placements and act:
 *	appeared in NORMAL (not there before)	-> accept
 *	appeared in QUARANTINE			-> reject, when accepted
 *						   (or tagged and pending)
 *	appeared in TRASH, or vanished		-> reject, when still held
 *	(vanished, with scan->locate: found in another folder -> as if it
 *	had appeared there)
 * A held incident with a location that was never seen starts from
 * QUARANTINE; a tagged one from NORMAL.  The new sets are saved.
 * Returns the number of verdicts recorded, or -1.
 */
int quarantine_action_observe(struct qstore *qs, const char *user,
			      struct quarantine_scan *scan,
			      enum qstore_via via, char **error_r);

/* the incident of a message reported before, by report KEY: 1, 0, -1 */
int quarantine_action_reported(struct qstore *qs, const char *user,
			       const char *key, char id_r[QSTORE_ID_LEN + 1],
			       char **error_r);

/* save the placement of one incident (QA_IN_*, with QA_BY_COMMAND
   before a command moves the message) */
int quarantine_action_set_places(struct qstore *qs, const char *user,
				 const char *id, unsigned places,
				 char **error_r);

#endif
