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
};

/* the callbacks lmtp_session uses; ctx is a struct lmtp_deliver */
extern const struct lmtp_session_callbacks lmtp_deliver_callbacks;

/* close what a session process opened (before it exits) */
void lmtp_deliver_session_end(struct lmtp_deliver *d);

/*
 * The relay (the client that handed the message to our MTA): XFORWARD
 * when Postfix sent it, else the top Received: header, else the peer.
 */
void lmtp_deliver_relay(const struct lmtp_transaction *t, struct str *name_r,
			struct str *addr_r);

#endif
