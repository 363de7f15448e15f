/*
 * store_private - what the delivery backends share with store.c.
 *
 * A backend embeds struct store as its first member and fills in the
 * type name and its two methods.  store.c parses the spec's scheme,
 * calls the backend's init with what follows "scheme:", and marks
 * every recipient "not stored" before the backend runs, so a backend
 * that forgets one can never report it stored.
 */
#ifndef SPAMTRAP_STORE_PRIVATE_H
#define SPAMTRAP_STORE_PRIVATE_H

#include "store.h"

struct store {
	const char *type;		/* "maildir", "lmtp" */
	void (*deliver)(struct store *store, const struct store_envelope *env,
			struct store_rcpt *rcpts, size_t n);
	void (*deinit)(struct store *store);
};

/* ARGS is the spec after "maildir:" / "lmtp:" */
struct store *store_maildir_init(const char *args, char **error_r);
struct store *store_lmtp_init(const char *args, char **error_r);

/* set RCPT's result to a failure of KIND with a formatted reason */
void store_rcpt_fail(struct store_rcpt *rcpt, enum errkind kind,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* set RCPT's result to stored at LOCATION */
void store_rcpt_stored(struct store_rcpt *rcpt, const char *location);

/* the recipient's parsed address: rcpt->addr, or parsed into TMP */
const struct address *store_rcpt_address(const struct store_rcpt *rcpt,
					 struct address *tmp,
					 const char **error_r);

/* 1 if S has no control bytes (safe in a header line or a command) */
int store_text_safe(const char *s);

#endif
