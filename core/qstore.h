/*
 * qstore - the quarantine store: incidents, held-message copies, sender /
 * domain / relay tables, user preferences, (sender, relay) pair history
 * and the site secret, in one transactional Berkeley DB 5.3 environment
 * under db_dir.
 *
 * Processes and handles
 *	One struct qstore per process (lmtpd session child, folderd, the
 *	CLI); open it after fork(), never use it across fork().  The handle
 *	is DB_THREAD-safe, but one thread at a time is what is tested.
 *	qstore_open() starts a small thread (the lock-timeout detector) and
 *	a POSIX timer (the watchdog) that qstore_close() stops.
 *
 * Crashes and kill -9 (see qstore_env.c)
 *	- Every process opens the environment with DB_REGISTER|DB_RECOVER:
 *	  the first opener after a process died inside the environment
 *	  runs normal recovery; live peers then see DB_RUNRECOVERY and
 *	  their handle reopens itself and retries the operation.
 *	- A process killed while holding locks or an open transaction:
 *	  waiters time out (db_lock_timeout, enforced by the detector
 *	  thread), run failchk, which releases the dead process's locks
 *	  and aborts its transaction, and go on without recovery.
 *	- A process killed while holding a BDB mutex (e.g. during a
 *	  commit's log fsync) blocks every waiter for good (BDB 5.3
 *	  mutexes are not robust).  The watchdog ends a call that lasts
 *	  db_stuck_timeout with _exit(75) (EX_TEMPFAIL) after logging why;
 *	  nothing committed is lost; the next opener recovers (rolling
 *	  the interrupted transaction back).
 *	  Daemons must therefore treat a session child's exit 75 as a
 *	  temporary failure and keep qstore out of the master process.
 *
 * The delivery path (lmtpd, per recipient), in this order:
 *	qstore_prefs_get(user) and, unless opt_out,
 *	qstore_table_lookup(user, sender, relay) -> policy_decide();
 *	for a hold or a tag: qstore_id_new(id), add "X-Spamtrap-Id:
 *	qstore_token_make(id)" to the message, qstore_incident_add() with
 *	that id and the final message (commits incident + copy), file the
 *	message, then qstore_incident_filed(); reply 250 last.
 *	A crash between the add and the filing leaves a pending incident
 *	with its copy and no location: the copy can be re-filed, nothing
 *	is lost and db check has nothing to repair.
 *	qstore_pair_seen(sender, relay) records the pair for one-shot.
 *
 * Errors
 *	Every function that touches the database runs in its own
 *	transaction, retried on deadlock or lock timeout.  On failure it
 *	returns -1, an allocated message in *error_r (caller frees) and a
 *	kind in *kind_r: ERR_TEMPORARY for a busy, locked or unavailable
 *	database (the caller defers), ERR_NOSPACE for a full disk,
 *	ERR_INTERNAL for corruption or a bug, ERR_PERMANENT for invalid
 *	input (a bad CIDR, an unknown preference).  Lookups return 1 found,
 *	0 not found, -1 error: "not found" is never an error.
 *	error_r / kind_r may be NULL when the caller does not want them.
 *
 * Files (all mode db_mode, 0600 by default, in db_dir)
 *	incidents.db		id -> incident record
 *	incidents-user.idx	user, status, received, id  (secondary)
 *	incidents-time.idx	user, received, id          (secondary)
 *	incidents-status.idx	status, received, id        (secondary)
 *	messages.db		id, chunk -> held message copy (zlib)
 *	tables.db		scope, kind, key -> table entry
 *	prefs.db		user ("" = site) -> preferences
 *	pairs.db		sender, relay -> first/last seen, count
 *	secret			the site secret (32 random bytes, 0600)
 * Records are versioned tag-length-value encodings (big-endian, explicit
 * lengths): readers skip tags they do not know, so fields can be added.
 */
#ifndef SPAMTRAP_QSTORE_H
#define SPAMTRAP_QSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "errkind.h"
#include "str.h"

struct qstore;

/* ------------------------------------------------------------------ */
/* Environment */

/* Open (creating db_dir, the databases and the secret when missing). */
struct qstore *qstore_open(const char *db_dir, char **error_r,
			   enum errkind *kind_r);
/* Checkpoint and close; *qs becomes NULL.  Safe on NULL. */
void qstore_close(struct qstore **qs);
/* Force a checkpoint now (also done every db_checkpoint_interval). */
int qstore_checkpoint(struct qstore *qs, char **error_r);
const char *qstore_dir(const struct qstore *qs);

/* ------------------------------------------------------------------ */
/* Incidents */

#define QSTORE_ID_LEN	13	/* base32 characters of an incident id */

enum qstore_status {
	QSTORE_PENDING = 1,	/* held, waiting for a decision */
	QSTORE_ONE_SHOT,	/* held, sender+relay never seen before */
	QSTORE_SPAM,		/* user (or expiry) said spam */
	QSTORE_NON_SPAM,	/* user said not spam (released) */
};
#define QSTORE_STATUS_ANY	0	/* in queries: every status */

/* hold reasons, a bit set */
#define QSTORE_REASON_SPAMSCORE		(1u << 0)
#define QSTORE_REASON_HOLDSENDER	(1u << 1)
#define QSTORE_REASON_HOLDDOMAIN	(1u << 2)
#define QSTORE_REASON_HOLDRELAY		(1u << 3)
#define QSTORE_REASON_HOLDRBL		(1u << 4)
#define QSTORE_REASON_ALL		0x1fu

/* where an action on an incident came from */
enum qstore_via {
	QSTORE_VIA_LMTP = 1,
	QSTORE_VIA_IMAP_MOVE,
	QSTORE_VIA_MAILDIR,
	QSTORE_VIA_CLI,
	QSTORE_VIA_EXPIRY,
};

/* incident flags */
#define QSTORE_FLAG_TAGGED	(1u << 0)	/* tagged and delivered */
#define QSTORE_FLAG_NO_COPY	(1u << 1)	/* no message copy kept (or
						   lost; set by db check) */

struct qstore_hit {
	char *name;		/* rule name */
	double score;
	char *description;	/* may be "" */
};

struct qstore_action {
	time_t when;
	char *who;		/* user or admin name, "lmtpd", "expiry" */
	enum qstore_via via;
	char *what;		/* "held", "status spam", "moved to INBOX" */
};

struct qstore_incident {
	char id[QSTORE_ID_LEN + 1];	/* set by qstore_incident_add */
	char *user;		/* required: the owner (address user %u) */
	char *recipient;	/* RCPT TO as given */
	char *sender;		/* envelope sender, "" for <> */
	char *from;		/* From: header (decoded), may be "" */
	char *subject;
	char *message_id;
	time_t received;	/* required */
	char *relay_ip;		/* "" when unknown */
	char *relay_name;
	uint64_t size;		/* message size in bytes */
	int scored;		/* 0: not scored (table decision) */
	double score;
	struct qstore_hit *hits;
	size_t n_hits;
	enum qstore_status status;
	unsigned reasons;	/* QSTORE_REASON_* */
	unsigned flags;		/* QSTORE_FLAG_* */
	char *folder;		/* "Spam", "Spam/One-Shot", "INBOX" */
	char *location;		/* backend location, e.g. Maildir path */
	struct qstore_action *actions;
	size_t n_actions;
};

/* An empty incident (all strings ""), and its release. */
void qstore_incident_init(struct qstore_incident *inc);
void qstore_incident_deinit(struct qstore_incident *inc);
/* helpers to fill one in; strings are copied */
void qstore_incident_set(char **field, const char *value);
void qstore_incident_add_hit(struct qstore_incident *inc, const char *name,
			     double score, const char *description);
void qstore_incident_add_action(struct qstore_incident *inc, time_t when,
				const char *who, enum qstore_via via,
				const char *what);

/* A fresh incident id (time-ordered, 30 random bits). */
void qstore_id_new(char id_r[QSTORE_ID_LEN + 1]);

/*
 * Record a new incident and (when msg != NULL) a copy of the message,
 * in one transaction.  inc->id: "" to draw a fresh id (written back),
 * or one from qstore_id_new() (an id already in use is an ERR_INTERNAL
 * error, never an overwrite).  Without actions, WHO/VIA and "held" (or
 * "tagged" with QSTORE_FLAG_TAGGED) become the first history entry.
 */
int qstore_incident_add(struct qstore *qs, struct qstore_incident *inc,
			const void *msg, size_t msg_len, const char *who,
			enum qstore_via via, char **error_r,
			enum errkind *kind_r);
/* 1 found (inc filled; deinit it), 0 unknown id, -1 error */
int qstore_incident_get(struct qstore *qs, const char *id,
			struct qstore_incident *inc_r, char **error_r,
			enum errkind *kind_r);
/*
 * Change the status (and append a history entry "status NAME"
 * plus NOTE if not NULL).  1 done, 0 unknown id, -1 error.
 */
int qstore_incident_set_status(struct qstore *qs, const char *id,
			       enum qstore_status status, const char *who,
			       enum qstore_via via, const char *note,
			       char **error_r, enum errkind *kind_r);
/* Set folder and location ("moved to FOLDER" in history); 1/0/-1 */
int qstore_incident_set_location(struct qstore *qs, const char *id,
				 const char *folder, const char *location,
				 const char *who, enum qstore_via via,
				 char **error_r, enum errkind *kind_r);
/*
 * The delivery path's set_location, by "lmtpd" via LMTP, committed
 * without waiting for the disk: the incident and the filed message are
 * durable already, this only says where the file went.  It reaches the
 * disk with the next commit that waits (or the log's own flush); a power
 * cut before then leaves the incident as a crash between the add and
 * the filing would, and the folder code finds the file by the token it
 * carries (maildir_box_find).  A killed process loses nothing: the
 * log is written at commit.  1/0/-1.
 */
int qstore_incident_filed(struct qstore *qs, const char *id,
			  const char *folder, const char *location,
			  char **error_r, enum errkind *kind_r);
/* Delete an incident and its copy; 1 done, 0 unknown id, -1 error */
int qstore_incident_delete(struct qstore *qs, const char *id,
			   char **error_r, enum errkind *kind_r);

/* The held copy: 1 found (*data_r allocated, caller frees), 0 none, -1 */
int qstore_message_get(struct qstore *qs, const char *id, char **data_r,
		       size_t *len_r, char **error_r, enum errkind *kind_r);

struct qstore_query {
	const char *user;	/* NULL: every user (status index) */
	int status;		/* QSTORE_STATUS_ANY or a qstore_status */
	int oldest_first;	/* 0: newest first (the default) */
	size_t page;		/* 1-based */
	size_t page_size;	/* entries per page */
};

struct qstore_page {
	struct qstore_incident *items;
	size_t n;
	int more;		/* 1 if a later page exists */
};

/*
 * One page of incidents ordered by date received.  Uses the
 * (user, status), (user) or (status) index, so the cost is
 * O(log N + page * page_size) whatever the total.  (Other sort fields
 * of the display preferences are not indexed.)
 */
int qstore_incident_list(struct qstore *qs, const struct qstore_query *q,
			 struct qstore_page *page_r, char **error_r,
			 enum errkind *kind_r);
void qstore_page_deinit(struct qstore_page *page);
/* number of incidents for USER (NULL: all) with STATUS (0: any) */
int qstore_incident_count(struct qstore *qs, const char *user, int status,
			  size_t *count_r, char **error_r,
			  enum errkind *kind_r);
/* delete incidents received before BEFORE (with copies); count in *n_r */
int qstore_expire(struct qstore *qs, time_t before, size_t *n_r,
		  char **error_r, enum errkind *kind_r);

const char *qstore_status_name(enum qstore_status status);
/* "pending", "one-shot", "spam", "non-spam"; 0 on an unknown name */
int qstore_status_parse(const char *name);
const char *qstore_via_name(enum qstore_via via);
/* "SpamScore" etc. for one bit; qstore_reasons_format for a set */
const char *qstore_reason_name(unsigned reason_bit);
void qstore_reasons_format(unsigned reasons, struct str *out);

/* ------------------------------------------------------------------ */
/* Sender, domain and relay tables */

enum qstore_table_kind {
	QSTORE_TABLE_SENDER = 0,	/* key: full address, lowercased */
	QSTORE_TABLE_DOMAIN,		/* key: domain; matches subdomains */
	QSTORE_TABLE_RELAY,		/* key: IPv4/IPv6 address or CIDR */
};
#define QSTORE_TABLE_KINDS	3

enum qstore_action_kind {
	QSTORE_ACT_NONE = 0,	/* (no entry) */
	QSTORE_ACT_ALLOW,	/* deliver without scoring */
	QSTORE_ACT_HOLD,	/* always hold (HoldSender/Domain/Relay) */
	QSTORE_ACT_DEFAULT,	/* hold if it looks like spam (= score) */
	QSTORE_ACT_REJECT,	/* refuse */
};

struct qstore_table_entry {
	enum qstore_table_kind kind;
	char *scope;		/* user, or "" for the site table */
	char *key;		/* normalized: "a@b.org", "b.org",
				   "192.0.2.0/24", "2001:db8::/32" */
	enum qstore_action_kind action;
	char *who;
	char *comment;
	time_t when;
};

void qstore_table_entry_deinit(struct qstore_table_entry *e);

/*
 * Normalize KEY for KIND into OUT ("<>"-less address lowercased;
 * domain lowercased without leading "@" or "."; address or CIDR in
 * canonical form, host bits must be zero).  -1 + static reason if bad.
 */
int qstore_table_normalize(enum qstore_table_kind kind, const char *key,
			   struct str *out, const char **error_r);
/* Add or replace an entry; USER NULL or "" = site table. */
int qstore_table_set(struct qstore *qs, const char *user,
		     enum qstore_table_kind kind, const char *key,
		     enum qstore_action_kind action, const char *who,
		     const char *comment, char **error_r,
		     enum errkind *kind_r);
/* 1 deleted, 0 was not there, -1 error */
int qstore_table_delete(struct qstore *qs, const char *user,
			enum qstore_table_kind kind, const char *key,
			char **error_r, enum errkind *kind_r);
/* exact entry (after normalizing KEY): 1 found, 0 none, -1 error */
int qstore_table_get(struct qstore *qs, const char *user,
		     enum qstore_table_kind kind, const char *key,
		     struct qstore_table_entry *e_r, char **error_r,
		     enum errkind *kind_r);
/* every entry of (USER, KIND), in key order; callback returns 0 to go on */
int qstore_table_list(struct qstore *qs, const char *user,
		      enum qstore_table_kind kind,
		      int (*fn)(const struct qstore_table_entry *e, void *ctx),
		      void *ctx, char **error_r, enum errkind *kind_r);

/*
 * The best match of every (scope, kind) for one message, one
 * transaction.  Within a table the most specific entry wins: for
 * senders the exact address; for domains the longest suffix
 * ("a.b.org" before "b.org" before "org"); for relays the longest
 * prefix (the address itself, /32 or /128, down to /0).
 * Which slot decides is policy's business (lmtpd/policy.h): user
 * slots before site slots, and in each scope sender, then domain,
 * then relay; the first slot with an entry decides, even "default".
 */
enum qstore_scope { QSTORE_SCOPE_USER = 0, QSTORE_SCOPE_SITE = 1 };

struct qstore_table_match {
	int found;
	enum qstore_action_kind action;
	char *key;		/* the entry that matched */
	char *who;
	char *comment;
};

struct qstore_table_matches {
	struct qstore_table_match m[2][QSTORE_TABLE_KINDS]; /* [scope][kind] */
};

/* SENDER "" (null sender) or RELAY_IP "" / NULL skip those lookups. */
int qstore_table_lookup(struct qstore *qs, const char *user,
			const char *sender, const char *relay_ip,
			struct qstore_table_matches *matches_r,
			char **error_r, enum errkind *kind_r);
void qstore_table_matches_deinit(struct qstore_table_matches *matches);

const char *qstore_table_kind_name(enum qstore_table_kind kind);
int qstore_table_kind_parse(const char *name, enum qstore_table_kind *table_r);
const char *qstore_action_name(enum qstore_action_kind action);
/* "allow", "hold", "default", "reject"; 0 on unknown */
int qstore_action_parse(const char *name);

/* ------------------------------------------------------------------ */
/* Preferences: built-in defaults < site record < user record */

enum qstore_sort { QSTORE_SORT_DATE = 0, QSTORE_SORT_SCORE,
		   QSTORE_SORT_SUBJECT, QSTORE_SORT_SENDER,
		   QSTORE_SORT_RECIPIENT };

struct qstore_prefs {
	double spam_threshold;		/* 5; held when score >= this */
	double auto_reject_threshold;	/* 2000; rejected when score > this */
	int tag_only;			/* tag instead of holding */
	char *tag_string;		/* "[Spam:%* %?]" */
	int rbl_hold, rbl_reject;
	int notify;
	char *notify_address;		/* "" = the user */
	int opt_out;
	int accept_allows_sender;	/* 1 */
	char *stream;			/* high medium low tag-only custom */
	int page_size;			/* 10 30 50 100 200; 30 */
	enum qstore_sort sort_field;	/* date */
	int sort_descending;		/* 1 */
	int show_relay, show_recipient;	/* 0 */
	int show_one_shot;		/* 1 */
};

/* the built-in defaults */
void qstore_prefs_init(struct qstore_prefs *p);
void qstore_prefs_deinit(struct qstore_prefs *p);
/*
 * Apply one "name = value" to P after validating it (and the result:
 * auto_reject_threshold must stay above spam_threshold).  "stream"
 * applies its preset: high = threshold 3, medium = 5, low = 8,
 * tag-only = 5 with tag_only; setting spam_threshold or tag_only makes
 * the stream "custom".  0, or -1 with a static reason.  No I/O.
 */
int qstore_prefs_apply(struct qstore_prefs *p, const char *name,
		       const char *value, const char **error_r);
/*
 * The effective preferences of USER (NULL or "": the site's) into P_R,
 * which it initializes (do not qstore_prefs_init() it first: that copy
 * would leak); qstore_prefs_deinit() it afterwards, also on failure.
 */
int qstore_prefs_get(struct qstore *qs, const char *user,
		     struct qstore_prefs *p_r, char **error_r,
		     enum errkind *kind_r);
/* Store one setting for USER (NULL or "": site default); validated. */
int qstore_prefs_set(struct qstore *qs, const char *user, const char *name,
		     const char *value, char **error_r, enum errkind *kind_r);
/* Remove USER's own setting (back to the site value); 1/0/-1 */
int qstore_prefs_unset(struct qstore *qs, const char *user,
		       const char *name, char **error_r,
		       enum errkind *kind_r);
/* the names, NULL-terminated, and the effective value of one as text */
extern const char *const qstore_prefs_names[];
void qstore_prefs_format(const struct qstore_prefs *p, const char *name,
			 struct str *out);

/* ------------------------------------------------------------------ */
/* (envelope sender, relay) pair history, for the one-shot decision */

struct qstore_pair {
	time_t first_seen, last_seen;
	uint64_t count;
};

/* Record one sighting; *before_r = the record as it was (count 0 if new) */
int qstore_pair_seen(struct qstore *qs, const char *sender,
		     const char *relay_ip, time_t when,
		     struct qstore_pair *before_r, char **error_r,
		     enum errkind *kind_r);
/* 1 known, 0 never seen, -1 error */
int qstore_pair_get(struct qstore *qs, const char *sender,
		    const char *relay_ip, struct qstore_pair *pair_r,
		    char **error_r, enum errkind *kind_r);

/* ------------------------------------------------------------------ */
/* X-Spamtrap-Id: "ID.MAC", MAC = HMAC-SHA256(secret, "spamtrap-id:" ID)
   truncated to 80 bits, base32 (16 characters). */

#define QSTORE_TOKEN_LEN	(QSTORE_ID_LEN + 1 + 16)

void qstore_token_make(const struct qstore *qs, const char *id,
		       struct str *out);
/* 1 and the id in id_r if TOKEN is authentic, else 0 */
int qstore_token_verify(const struct qstore *qs, const char *token,
			char id_r[QSTORE_ID_LEN + 1]);

/* ------------------------------------------------------------------ */
/* Consistency check (spamtrap db check) */

struct qstore_check_result {
	size_t incidents, messages, index_entries;
	size_t problems;	/* found */
	size_t repaired;	/* fixed (with repair) */
};

/*
 * Walk incidents, indexes and message copies: undecodable records,
 * incidents missing from an index, index entries pointing at nothing,
 * copies without an incident, incidents whose copy is missing or
 * damaged.  Each problem is printed to REPORT (may be NULL).  With
 * REPAIR: orphan copies and dangling index entries are removed,
 * indexes rebuilt, incidents without a copy marked QSTORE_FLAG_NO_COPY,
 * undecodable records removed.  -1 only if the check could not run.
 */
int qstore_check(struct qstore *qs, int repair, FILE *report,
		 struct qstore_check_result *result_r, char **error_r,
		 enum errkind *kind_r);

#endif
