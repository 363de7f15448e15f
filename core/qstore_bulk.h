/*
 * qstore_bulk - qstore operations the spamtrap command needs beyond
 * qstore.h: several changes in one transaction (a bulk table entry, a
 * group of preferences), walks over every incident, the users known
 * to the store, per-user markers (the last digest day) and a hot
 * backup.  Same conventions as qstore.h: 0 / 1 / -1 with *error_r
 * (allocated) and *kind_r; nothing is changed when -1 is returned.
 */
#ifndef SPAMTRAP_QSTORE_BULK_H
#define SPAMTRAP_QSTORE_BULK_H

#include "qstore.h"

/* ---- tables: many keys, one transaction */

struct qstore_bulk_item {
	/* input */
	const char *key;	/* as given */
	const char *comment;	/* NULL: the global comment */
	/* output */
	char *norm;		/* normalized key (allocated) */
	enum qstore_action_kind before;	/* QSTORE_ACT_NONE: was absent */
};

/*
 * Set every item to ACTION (or, with QSTORE_ACT_NONE, delete it) in
 * USER's table (NULL or "": the site's) in one transaction: all or
 * nothing.  Every key is normalized first; a bad one fails the whole
 * call (ERR_PERMANENT, "line N: ..." with N = index + 1) before the
 * database is touched.  Each item's previous action is reported in
 * ->before.  Free the outputs with qstore_bulk_items_clear().
 */
int qstore_table_bulk(struct qstore *qs, const char *user,
		      enum qstore_table_kind kind,
		      struct qstore_bulk_item *items, size_t n,
		      enum qstore_action_kind action, const char *who,
		      const char *comment, char **error_r,
		      enum errkind *kind_r);
void qstore_bulk_items_clear(struct qstore_bulk_item *items, size_t n);

/* ---- preferences: several name=value at once */

/*
 * Apply NAMES[i] = VALUES[i] in order to USER's preferences (NULL or
 * "": the site defaults), with the same validation and stream-preset
 * rules as qstore_prefs_set(), in one transaction: either every value
 * is stored or none (ERR_PERMANENT naming the bad one).  A NULL value
 * removes the user's own setting, as qstore_prefs_unset().
 */
int qstore_prefs_set_many(struct qstore *qs, const char *user,
			  const char *const *names,
			  const char *const *values, size_t n,
			  char **error_r, enum errkind *kind_r);

/*
 * The settings USER (NULL or "": the site) has stored, as text, in the
 * order they were set; FN is called after the read, once per pair.
 */
int qstore_prefs_stored(struct qstore *qs, const char *user,
			void (*fn)(const char *name, const char *value,
				   void *ctx),
			void *ctx, char **error_r, enum errkind *kind_r);

/* ---- walks */

/*
 * Call FN for every incident of USER (NULL: all) with STATUS (0: any),
 * newest first unless OLDEST_FIRST, in one read-committed transaction
 * (writers are not blocked).  FN returns 0 to go on, 1 to stop.  If the
 * walk has to be restarted (deadlock, recovery), FN is first called
 * with INC == NULL: forget what was collected.  The watchdog is off
 * during the walk.
 */
typedef int qstore_scan_fn(const struct qstore_incident *inc, void *ctx);
int qstore_incident_scan(struct qstore *qs, const char *user, int status,
			 int oldest_first, qstore_scan_fn *fn, void *ctx,
			 char **error_r, enum errkind *kind_r);

/*
 * Every user with preferences of their own or a table of their own
 * (not the site), each once, in order.  FN as above (INC == NULL
 * meaning restart becomes USER == NULL).
 */
int qstore_users_scan(struct qstore *qs,
		      int (*fn)(const char *user, unsigned what, void *ctx),
		      void *ctx, char **error_r, enum errkind *kind_r);
#define QSTORE_USER_HAS_PREFS	(1u << 0)
#define QSTORE_USER_HAS_TABLES	(1u << 1)

/* ---- per-user markers (kept in prefs.db under keys no user can have) */

/*
 * Compare-and-set USER's marker NAME: if its value differs from VALUE,
 * store VALUE and return 1 (the caller "claimed" it); if it already
 * equals VALUE return 0.  *old_r (may be NULL) gets the previous value
 * (allocated, "" when none) so a failed follow-up can restore it with
 * qstore_marker_set().
 */
int qstore_marker_claim(struct qstore *qs, const char *user,
			const char *name, const char *value, char **old_r,
			char **error_r, enum errkind *kind_r);
/* set (VALUE "" removes) */
int qstore_marker_set(struct qstore *qs, const char *user, const char *name,
		      const char *value, char **error_r, enum errkind *kind_r);
/* 1 found (*value_r allocated), 0 none, -1 error */
int qstore_marker_get(struct qstore *qs, const char *user, const char *name,
		      char **value_r, char **error_r, enum errkind *kind_r);

/* ---- hot backup */

/*
 * Copy the environment (databases, the logs needed to recover them,
 * and the site secret) into DIR, created if missing, while other
 * processes keep working.  DIR must not be db_dir.  A copy made this
 * way opens like the original (recovery runs on the first open).
 */
int qstore_backup(struct qstore *qs, const char *dir, char **error_r,
		  enum errkind *kind_r);

#endif
