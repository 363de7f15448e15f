/*
 * lmtp_deliver - what happens to a complete message: the headers we add,
 * the relay it came from, the store call, one log line per recipient.
 */
#ifndef SPAMTRAP_LMTP_DELIVER_H
#define SPAMTRAP_LMTP_DELIVER_H

#include "lmtp_session.h"
#include "store.h"
#include "userdb.h"

struct lmtp_deliver {
	struct store *store;
	struct userdb *users;		/* NULL: every user is accepted */
	const char *hostname;
};

/* the callbacks lmtp_session uses; ctx is a struct lmtp_deliver */
extern const struct lmtp_session_callbacks lmtp_deliver_callbacks;

/*
 * The relay (the client that handed the message to our MTA): XFORWARD
 * when Postfix sent it, else the top Received: header, else the peer.
 * Writes "name[addr]" into out; *addr_r points into it or is "".
 */
void lmtp_deliver_relay(const struct lmtp_transaction *t, struct str *name_r,
			struct str *addr_r);

#endif
