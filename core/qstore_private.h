/*
 * qstore_private - what the qstore_*.c files share: the handle, the
 * transaction runner, the record codec.  Not for other modules.
 */
#ifndef SPAMTRAP_QSTORE_PRIVATE_H
#define SPAMTRAP_QSTORE_PRIVATE_H

#include <db.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "qstore.h"

enum qstore_dbi {
	QDB_INCIDENTS = 0,
	QDB_IDX_USER,		/* user \0 status received id */
	QDB_IDX_TIME,		/* user \0 received id */
	QDB_IDX_STATUS,		/* status received id */
	QDB_MESSAGES,
	QDB_TABLES,
	QDB_PREFS,
	QDB_PAIRS,
	QDB_WATCH,		/* folderd state (qstore_watch.c) */
	QDB_COUNT
};

#define QSTORE_SECRET_LEN	32

struct qstore {
	char *dir;
	DB_ENV *env;
	DB *db[QDB_COUNT];
	unsigned char secret[QSTORE_SECRET_LEN];
	time_t last_checkpoint;
	timer_t watchdog;	/* see qstore_run */
	int have_watchdog;
	int watchdog_off;	/* long walks (db check) */
	/* the lock-timeout detector thread (see qstore_env.c) */
	pthread_t detector;
	pthread_mutex_t env_lock;	/* env may be replaced under it */
	pthread_mutex_t detector_lock;	/* guards detector_stop */
	pthread_cond_t detector_wake;
	int have_detector;
	int detector_stop;
	volatile int busy;		/* a qstore_run is in progress */
	struct str dberr;	/* last message from BDB's errcall */
};

extern const char *const qstore_db_files[QDB_COUNT];

/* our own "return codes" for transaction bodies, beside BDB's */
#define QSTORE_EAPP	(-1)	/* application error, message in ctx */

/*
 * Run FN(qs, txn, ctx) in a transaction: commit on 0, abort otherwise;
 * retry on deadlock / lock timeout (after failchk), reopen the
 * environment on DB_RUNRECOVERY.  WHAT names the operation in errors.
 * FN must be restartable (it may run several times).
 * FN returning QSTORE_EAPP: *app_error (allocated by FN, in ctx) is used.
 */
typedef int qstore_txn_fn(struct qstore *qs, DB_TXN *txn, void *ctx);
/* WRITE: 0 read only, 1 write (durable at commit), QSTORE_WRITE_NOSYNC
   write whose loss in a crash costs nothing (written, not flushed) */
#define QSTORE_WRITE_NOSYNC	2
int qstore_run(struct qstore *qs, int write, qstore_txn_fn *fn, void *ctx,
	       const char *what, char **app_error, char **error_r,
	       enum errkind *kind_r);

/* set *error_r / *kind_r if wanted */
void qstore_fail(char **error_r, enum errkind *kind_r, enum errkind kind,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* DBT helpers */
void qstore_dbt_in(DBT *d, const void *data, size_t len);
void qstore_dbt_out(DBT *d);		/* DB_DBT_REALLOC, data NULL */

/* ---- record codec: magic byte, version byte, then TLVs */

#define QREC_VERSION	1

void qrec_begin(struct str *b, char magic);
void qrec_put_bytes(struct str *b, unsigned tag, const void *p, size_t len);
void qrec_put_str(struct str *b, unsigned tag, const char *s);
void qrec_put_u64(struct str *b, unsigned tag, uint64_t v);
void qrec_put_i64(struct str *b, unsigned tag, int64_t v);
/* nested record as the value of TAG */
void qrec_put_rec(struct str *b, unsigned tag, const struct str *inner);

struct qrec_reader {
	const unsigned char *p;
	size_t left;
};
/* check magic and version; 0 or -1 */
int qrec_open(struct qrec_reader *r, const void *data, size_t len, char magic);
/* a nested record's fields */
void qrec_open_inner(struct qrec_reader *r, const void *data, size_t len);
/* 1 next field, 0 end, -1 malformed */
int qrec_next(struct qrec_reader *r, unsigned *tag_r, const unsigned char **p_r,
	      size_t *len_r);
int qrec_get_u64(const unsigned char *p, size_t len, uint64_t *v_r);
char *qrec_get_str(const unsigned char *p, size_t len);

void qstore_be64(unsigned char out[8], uint64_t v);
uint64_t qstore_get_be64(const unsigned char in[8]);
void qstore_be32(unsigned char out[4], uint32_t v);
uint32_t qstore_get_be32(const unsigned char in[4]);

/* base32 (lower case, no padding) of the top NBITS of V */
void qstore_base32(uint64_t v, int nchars, char *out);
/* 1 if S looks like an incident id */
int qstore_id_valid(const char *s);

/* incident record codec (qstore_incident.c) */
void qstore_incident_encode(const struct qstore_incident *inc, struct str *b);
int qstore_incident_decode(const void *data, size_t len,
			   struct qstore_incident *inc);
/* secondary key builders, shared with the check */
void qstore_key_user(const char *user, int status, time_t received,
		     const char *id, struct str *k);
void qstore_key_time(const char *user, time_t received, const char *id,
		     struct str *k);
void qstore_key_status(int status, time_t received, const char *id,
		       struct str *k);
int qstore_associate(struct qstore *qs, DB_TXN *txn);

/* message copies (qstore_incident.c) */
int qstore_message_put(struct qstore *qs, DB_TXN *txn, const char *id,
		       const void *msg, size_t len);
int qstore_message_del(struct qstore *qs, DB_TXN *txn, const char *id);
/* read and check a copy; 0 ok, DB_NOTFOUND, or QSTORE_EAPP when damaged */
int qstore_message_read(struct qstore *qs, DB_TXN *txn, const char *id,
			struct str *out, char **why_r);

/*
 * The index that lists USER's (NULL: everyone's) incidents of STATUS
 * (QSTORE_STATUS_ANY: all) by date; PREFIX gets the key prefix to seek,
 * *primary_r is 1 when it is the incidents database itself.
 */
DB *qstore_incident_index(struct qstore *qs, const char *user, int status,
			  struct str *prefix, int *primary_r);

/*
 * A walk with cursor C over that index (the incidents themselves when
 * PRIMARY): qstore_walk_first() positions it on the first entry under
 * PREFIX, the newest when BACKWARDS (SKEY, PKEY, DATA set up with
 * qstore_dbt_out(); SKEY's data is allocated here), qstore_walk_next()
 * moves one step on; both return the Berkeley DB code (DB_NOTFOUND at
 * the end).  qstore_walk_in() says whether SKEY is still under PREFIX.
 */
int qstore_walk_first(DBC *c, int primary, const struct str *prefix,
		      int backwards, DBT *skey, DBT *pkey, DBT *data);
int qstore_walk_next(DBC *c, int primary, int backwards, DBT *skey,
		     DBT *pkey, DBT *data);
int qstore_walk_in(const DBT *skey, const struct str *prefix);

/* a scope's stored preferences: "name = value" pairs in setting order
   (qstore_prefs.c; qstore_bulk.c changes several in one transaction) */
struct qstore_pref_pair {
	char *name, *value;
};

struct qstore_pref_list {
	struct qstore_pref_pair *v;
	size_t n;
};

void qstore_pref_list_clear(struct qstore_pref_list *l);
/* set NAME (moved to the end: the order of setting matters) */
void qstore_pref_list_set(struct qstore_pref_list *l, const char *name,
			  const char *value);
int qstore_pref_list_unset(struct qstore_pref_list *l, const char *name);
void qstore_pref_list_encode(const struct qstore_pref_list *l, struct str *b);
/* SCOPE's stored list ("" the site; empty when none, or damaged: warned) */
int qstore_pref_list_read(struct qstore *qs, DB_TXN *txn, const char *scope,
			  int rmw, struct qstore_pref_list *l);
/* apply L to P; a stored value no longer valid is warned about, skipped */
void qstore_pref_list_apply(struct qstore_prefs *p,
			    const struct qstore_pref_list *l, const char *scope);

#endif
