/*
 * lmtp_deliver - what happens to a complete message, per recipient:
 * the user's preferences and tables (qstore), the score (rules, computed
 * once and only when a recipient needs it), the decision (policy), the
 * copy each recipient gets (headers, subject tag, X-Spamtrap-Id), the
 * incident for held and tagged mail, the store call, one log line.
 *
 * Order for a held or tagged message (see qstore.h): the incident and
 * its copy are committed, then the message is filed, then the incident
 * gets its location; a recipient gets 250 last.  If filing fails the
 * incident is deleted again and the recipient gets a 4xx.
 */
#ifndef SPAMTRAP_LMTP_DELIVER_H
#define SPAMTRAP_LMTP_DELIVER_H

#include <time.h>

#include "lmtp_session.h"
#include "qstore.h"
#include "rules.h"
#include "store.h"
#include "userdb.h"

struct lmtp_deliver {
	struct store *store;
	struct userdb *users;		/* NULL: every user is accepted */
	struct rule_set *rules;		/* loaded by the master */
	const char *hostname;
	int reject_bounce;		/* lmtp_reject_mode = bounce */
	/* per session process, opened on first use after fork() */
	struct qstore *qs;
	/* the sender/relay sighting of the last delivery, recorded after
	   its replies are written (lmtp_deliver_after_reply) */
	int pair_pending;
	struct str pair_sid, pair_sender, pair_relay;
	time_t pair_when;
};

/* the callbacks lmtp_session uses; ctx is a struct lmtp_deliver */
extern const struct lmtp_session_callbacks lmtp_deliver_callbacks;

/*
 * Once the replies of a delivery are written, before the session waits
 * for input: bookkeeping the client need not wait for (the sender/relay
 * history, a transaction that does not wait for the disk either way).
 */
void lmtp_deliver_after_reply(struct lmtp_deliver *d);

/* finish pending bookkeeping, close what a session process opened */
void lmtp_deliver_session_end(struct lmtp_deliver *d);

/*
 * The relay (the client that handed the message to our MTA): XFORWARD
 * when Postfix sent it, else the top Received: header, else the peer.
 */
void lmtp_deliver_relay(const struct lmtp_transaction *t, struct str *name_r,
			struct str *addr_r);

#endif
