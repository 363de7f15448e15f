/*
 * lmtp_session - the RFC 2033 state machine of one connection.
 *
 * No I/O: the server feeds received bytes with lmtp_session_input() and
 * writes out whatever lmtp_session_output() holds.  Replies to pipelined
 * commands accumulate until the caller flushes them, which it does
 * before it waits for more input.  When a message is complete the
 * session calls the deliver callback once for the transaction; that
 * callback sets each recipient's result, and the session answers one
 * reply per accepted recipient, in RCPT order.
 */
#ifndef SPAMTRAP_LMTP_SESSION_H
#define SPAMTRAP_LMTP_SESSION_H

#include <stddef.h>
#include <sys/time.h>

#include "address.h"
#include "errkind.h"
#include "str.h"

/* what Postfix told us about the original client (XFORWARD) */
struct lmtp_xforward {
	char *name, *addr, *port, *helo, *proto, *source, *ident;
};

struct lmtp_peer {
	const char *addr;	/* "127.0.0.1", "::1", or "unix" */
	const char *name;	/* as resolved, or the same as addr */
};

struct lmtp_rcpt {
	char *address;		/* as given, without <> */
	struct address addr;	/* parsed */
	/* set by the deliver callback */
	enum errkind kind;	/* ERR_NONE: delivered (or discarded) */
	char *error;		/* reason, for the reply and the log */
	int remote_code;	/* a downstream server's reply, if any */
	char remote_status[16];
	char *note;		/* text for a 250 reply, or NULL */
};

struct lmtp_transaction {
	char *id;		/* session id "." transaction number */
	char *sender;		/* "" for <> */
	long long declared_size;	/* SIZE=, or -1 */
	int body_8bit;		/* BODY=8BITMIME */
	struct lmtp_rcpt *rcpts;	/* accepted recipients, RCPT order */
	size_t n_rcpts;
	struct str data;	/* the message, LF line ends, unstuffed */
	long long received;	/* bytes received (wire count) */
	int too_big;		/* over message_size_limit: data discarded */
	struct timeval start;	/* MAIL FROM time */
	const struct lmtp_xforward *xforward;	/* may have NULL members */
	const struct lmtp_peer *peer;
	const char *helo;	/* LHLO argument */
};

struct lmtp_session_callbacks {
	/*
	 * RCPT time: 0 to accept, -1 to refuse with *kind_r (ERR_NOUSER,
	 * ERR_BADADDR, ERR_REFUSED, ERR_TEMPORARY...) and *reason_r
	 * (static or owned by the callee until the next call).
	 */
	int (*check_rcpt)(void *ctx, const struct lmtp_transaction *t,
			  const struct lmtp_rcpt *rcpt, enum errkind *kind_r,
			  const char **reason_r);
	/* end of data: set kind/error/note of every rcpt */
	void (*deliver)(void *ctx, struct lmtp_transaction *t);
};

struct lmtp_session_limits {
	size_t line_limit;
	size_t max_recipients;
	long long message_size_limit;
	int max_errors;
	const char *hostname;
};

struct lmtp_session;

struct lmtp_session *lmtp_session_init(const char *session_id,
				       const struct lmtp_peer *peer,
				       const struct lmtp_session_limits *limits,
				       const struct lmtp_session_callbacks *cb,
				       void *ctx);
void lmtp_session_deinit(struct lmtp_session **session);

/* feed received bytes; replies accumulate in the output */
void lmtp_session_input(struct lmtp_session *s, const char *data, size_t len);
/* the client closed the connection: any partial message is dropped */
void lmtp_session_eof(struct lmtp_session *s);
/* no input within the timeout: 421 and close */
void lmtp_session_timeout(struct lmtp_session *s);
/* daemon stopping: 421 and close if between transactions, else 0 */
int lmtp_session_shutdown(struct lmtp_session *s);

struct str *lmtp_session_output(struct lmtp_session *s);
int lmtp_session_closing(const struct lmtp_session *s);
int lmtp_session_in_data(const struct lmtp_session *s);
int lmtp_session_in_transaction(const struct lmtp_session *s);
const char *lmtp_session_id(const struct lmtp_session *s);

/* lmtp_reply.c: the one place an errkind becomes an LMTP reply line */
void lmtp_reply_for_error(struct str *out, enum errkind kind,
			  int remote_code, const char *remote_status,
			  const char *address, const char *reason);

#endif
