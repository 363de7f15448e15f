/*
 * store - delivery backends behind one interface.
 *
 *	maildir:/path/%d/%n	Maildir++ written directly (Dovecot layout)
 *	lmtp:host:port		forwarded to a downstream LMTP server
 *	lmtp:unix:/path		(Dovecot, Cyrus), folder as +detail
 *
 * A recipient's result is ERR_NONE only once its copy is durably stored
 * (Maildir: file and directory fsynced and linked into new/; LMTP: the
 * downstream server said 2xx for it).  Storage code never chooses
 * LMTP reply codes: it reports an errkind and a reason; a downstream
 * LMTP reply is passed up as remote_code/remote_status for lmtpd to
 * relay.
 */
#ifndef SPAMTRAP_STORE_H
#define SPAMTRAP_STORE_H

#include <stddef.h>
#include <time.h>

#include "address.h"
#include "errkind.h"

#define STORE_INBOX	"INBOX"

/* one message as it will be stored: header and body with LF line ends */
struct store_message {
	const char *data;
	size_t len;
};

struct store_rcpt {
	/* input */
	const char *address;		/* as given in RCPT TO, no brackets */
	const struct address *addr;	/* parsed (user, local, detail, domain) */
	const char *folder;		/* NULL or "INBOX": the inbox; else a
					   folder name such as "Spam" or
					   "Spam/One-Shot" ('/' separates) */
	const struct store_message *msg;
	/* output */
	enum errkind kind;		/* ERR_NONE: stored */
	char *error;			/* allocated reason, NULL when stored */
	int remote_code;		/* downstream LMTP reply code, or 0 */
	char remote_status[16];		/* its enhanced status, or "" */
	char *location;			/* allocated: where it went (Maildir
					   file path, or "lmtp:..."), or NULL */
};

struct store_envelope {
	const char *sender;		/* envelope sender, "" for <> */
	const char *session_id;		/* for logs */
	time_t received;
};

struct store;

/* Parse SPEC ("maildir:..." or "lmtp:..."); NULL and *error_r on a bad spec. */
struct store *store_init(const char *spec, char **error_r);
void store_deinit(struct store **store);

/*
 * Deliver to N recipients.  Every rcpt gets kind/error (and maybe
 * remote_code/location) set.  Recipients may carry different messages
 * (a tagged subject for one of them); backends batch what they can.
 * The outputs must be zero (or left from an earlier delivery): they are
 * cleared first.  A folder name that folder_name_check() refuses
 * (folders/folder_name.h) is ERR_PERMANENT and nothing is written.
 */
void store_deliver(struct store *store, const struct store_envelope *env,
		   struct store_rcpt *rcpts, size_t n);

/* free the outputs of a store_rcpt */
void store_rcpt_clear(struct store_rcpt *rcpt);

/* "maildir" or "lmtp" */
const char *store_type(const struct store *store);

#endif
