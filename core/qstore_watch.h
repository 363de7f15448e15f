/*
 * qstore_watch - what folderd and the quarantine actions keep beside the
 * incidents: conditional verdicts (a status change that happens once) and
 * small state records (watch.db) in the same Berkeley DB environment.
 *
 * Conditional verdicts
 *	qstore_incident_verdict() reads the incident, checks its owner and
 *	changes its status in ONE transaction, only when the status really
 *	changes: applying the same verdict twice (a message seen by the
 *	IMAPSieve push and again by folderd, a move copied instead of moved)
 *	adds no history entry.
 *
 * State records (watch.db, keys chosen by the callers)
 *	"P" user NUL id		placement bits last seen (quarantine_action.h)
 *	"R" user NUL key	incident id of a reported message (by key)
 *	"I" user NUL folder	IMAP folder state (folders/watch_imap.c)
 *	Values are opaque bytes.  Every call is its own transaction.
 */
#ifndef SPAMTRAP_QSTORE_WATCH_H
#define SPAMTRAP_QSTORE_WATCH_H

#include "qstore.h"

enum qstore_verdict_result {
	QSTORE_VERDICT_UNKNOWN = 0,	/* no such incident */
	QSTORE_VERDICT_CHANGED,		/* status changed, history entry added */
	QSTORE_VERDICT_UNCHANGED,	/* already so, or not allowed from the
					   current status: nothing written */
	QSTORE_VERDICT_FOREIGN,		/* the incident belongs to another user */
};

/* a set of statuses, for only_from */
#define QSTORE_STATUS_BIT(s)	(1u << (unsigned)(s))
#define QSTORE_STATUS_HELD	(QSTORE_STATUS_BIT(QSTORE_PENDING) | \
				 QSTORE_STATUS_BIT(QSTORE_ONE_SHOT))

/*
 * Set incident ID to STATUS if it is not already so and (ONLY_FROM 0 or)
 * its current status is in ONLY_FROM; USER non-NULL: the incident must
 * belong to USER.  The history entry is "status NAME[: NOTE]" by WHO/VIA.
 * INC_R (may be NULL) receives the incident as it is afterwards (deinit
 * it when the result is not UNKNOWN).  0 with *result_r, or -1.
 */
int qstore_incident_verdict(struct qstore *qs, const char *id,
			    const char *user, enum qstore_status status,
			    unsigned only_from, const char *who,
			    enum qstore_via via, const char *note,
			    struct qstore_incident *inc_r,
			    enum qstore_verdict_result *result_r,
			    char **error_r, enum errkind *kind_r);

/* 1 found (*val_r replaced), 0 none, -1 error */
int qstore_watch_get(struct qstore *qs, const struct str *key,
		     struct str *val_r, char **error_r, enum errkind *kind_r);
/* store (replace); 0 or -1 */
int qstore_watch_put(struct qstore *qs, const struct str *key,
		     const void *val, size_t len, char **error_r,
		     enum errkind *kind_r);
/* store only if KEY is absent: 1 stored, 0 present (*old_r = its value,
   if old_r is not NULL), -1 error */
int qstore_watch_add(struct qstore *qs, const struct str *key,
		     const void *val, size_t len, struct str *old_r,
		     char **error_r, enum errkind *kind_r);
/* 1 deleted, 0 was not there, -1 error */
int qstore_watch_del(struct qstore *qs, const struct str *key,
		     char **error_r, enum errkind *kind_r);
/* every record whose key starts with PREFIX, in key order; FN returns
   0 to go on.  Records are collected first, so FN may write. */
int qstore_watch_scan(struct qstore *qs, const struct str *prefix,
		      int (*fn)(const struct str *key, const struct str *val,
				void *ctx),
		      void *ctx, char **error_r, enum errkind *kind_r);

/* key builders: TAG, A, NUL, B (B may be NULL: prefix TAG A NUL) */
void qstore_watch_key(struct str *key, char tag, const char *a,
		      const char *b);

#endif
