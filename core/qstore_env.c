/*
 * qstore_env - the Berkeley DB environment, the transaction runner, the
 * site secret and the X-Spamtrap-Id token.
 *
 * Crash safety, in layers:
 *  - DB_REGISTER + DB_RECOVER at open: BDB keeps a registry of the
 *    processes in the environment; the first opener after one of them
 *    died without closing runs normal recovery.  Peers that are alive
 *    then see DB_RUNRECOVERY, and qstore_run() reopens their handles.
 *  - set_isalive + failchk: a process killed while holding locks or an
 *    open transaction is cleaned up (locks released, transaction
 *    aborted) by failchk, which qstore_run() calls when a lock wait
 *    times out; the lock timeout itself is enforced by a detector
 *    thread (BDB checks timeouts only when deadlock detection runs).
 *  - the watchdog: a call blocked on a mutex a dead process held ends
 *    the process (exit 75) so that the next opener recovers.
 *  - every operation is a transaction with synchronous commit, so a
 *    committed incident survives a machine crash.
 * Deadlocks are broken by the detector on every conflict
 * (set_lk_detect); the loser retries.  Checkpoints run every
 * db_checkpoint_interval; log files no longer needed are removed
 * automatically (DB_LOG_AUTO_REMOVE: catastrophic recovery from old
 * logs is given up for bounded disk use; back up with db_hotbackup).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <glib.h>

#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "qstore_private.h"

const char *const qstore_db_files[QDB_COUNT] = {
	[QDB_INCIDENTS] = "incidents.db",
	[QDB_IDX_USER] = "incidents-user.idx",
	[QDB_IDX_TIME] = "incidents-time.idx",
	[QDB_IDX_STATUS] = "incidents-status.idx",
	[QDB_MESSAGES] = "messages.db",
	[QDB_TABLES] = "tables.db",
	[QDB_PREFS] = "prefs.db",
	[QDB_PAIRS] = "pairs.db",
	[QDB_WATCH] = "watch.db",
};

#define QSTORE_THREAD_COUNT	1000	/* processes/threads in the env */
#define QSTORE_REOPEN_TRIES	5

/* settings with fallbacks, for programs and tests that load no config */
static int db_mode(void)
{
	return var_db_mode > 0 ? var_db_mode : 0600;
}

static long long db_cache(void)
{
	return var_db_cache_size > 0 ? var_db_cache_size : 16LL << 20;
}

static int lock_timeout(void)
{
	return var_db_lock_timeout > 0 ? var_db_lock_timeout : 2;
}

static int busy_timeout(void)
{
	return var_db_busy_timeout > 0 ? var_db_busy_timeout : 30;
}

static int stuck_timeout(void)
{
	return var_db_stuck_timeout > 0 ? var_db_stuck_timeout : 120;
}

static int checkpoint_interval(void)
{
	return var_db_checkpoint_interval > 0 ?
		var_db_checkpoint_interval : 60;
}

void qstore_fail(char **error_r, enum errkind *kind_r, enum errkind kind,
		 const char *fmt, ...)
{
	struct str sb = STR_INIT;
	va_list ap;

	if (kind_r != NULL)
		*kind_r = kind;
	if (error_r == NULL)
		return;
	va_start(ap, fmt);
	str_vprintf(&sb, fmt, ap);
	va_end(ap);
	*error_r = str_steal(&sb);
}

void qstore_dbt_in(DBT *d, const void *data, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)data;
	d->size = (u_int32_t)len;
}

void qstore_dbt_out(DBT *d)
{
	memset(d, 0, sizeof(*d));
	d->flags = DB_DBT_REALLOC;
}

static void qstore_errcall(const DB_ENV *env, const char *pfx, const char *m)
{
	struct qstore *qs = env->app_private;

	(void)pfx;
	if (qs != NULL) {
		str_clear(&qs->dberr);
		str_appends(&qs->dberr, m);
	}
	msg_warn("db: %s", m);
}

static void qstore_msgcall(const DB_ENV *env, const char *m)
{
	(void)env;
	/* failchk reports what it cleaned up here */
	msg_info("db: %s", m);
}

/*
 * Is the process alive?  A zombie (killed, not yet reaped by its parent)
 * counts as dead: it holds nothing any more, and failchk must be able to
 * release its locks before the parent gets round to wait().
 */
static int qstore_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid,
			  u_int32_t flags)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	(void)env;
	(void)tid;
	(void)flags;
	/* threads of our own process are alive as long as we are */
	if (pid == getpid())
		return 1;
	if (kill(pid, 0) < 0 && errno != EPERM)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;	/* no /proc: trust kill() */
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	if ((p = strrchr(buf, ')')) != NULL && p[1] == ' '
	    && (p[2] == 'Z' || p[2] == 'X'))
		return 0;
	return 1;
}

/* the text for a BDB return code, with BDB's own last message if any */
static void db_error(struct qstore *qs, int ret, const char *what,
		     char **error_r, enum errkind *kind_r)
{
	enum errkind kind;

	switch (ret) {
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
	case DB_RUNRECOVERY:
	case DB_REP_HANDLE_DEAD:
	case EAGAIN:
	case EBUSY:
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOENT:
	case EIO:
		kind = ERR_TEMPORARY;
		break;
	case ENOSPC:
	case EDQUOT:
		kind = ERR_NOSPACE;
		break;
	default:
		kind = ERR_INTERNAL;
		break;
	}
	if (qs != NULL && qs->dberr.len > 0) {
		qstore_fail(error_r, kind_r, kind, "%s: %s (%s)", what,
			    db_strerror(ret), str_c(&qs->dberr));
		str_clear(&qs->dberr);
	} else {
		qstore_fail(error_r, kind_r, kind, "%s: %s", what,
			    db_strerror(ret));
	}
}

static void close_dbs(struct qstore *qs);

static void close_handles(struct qstore *qs)
{
	close_dbs(qs);
	if (qs->env != NULL) {
		if (qs->have_detector)
			(void)pthread_mutex_lock(&qs->env_lock);
		(void)qs->env->close(qs->env, 0);
		qs->env = NULL;
		if (qs->have_detector)
			(void)pthread_mutex_unlock(&qs->env_lock);
	}
}

static double now_seconds(void)
{
	struct timeval tv;

	(void)gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* a short random sleep, growing with the attempt number */
static void backoff(int attempt)
{
	unsigned r = 0;
	long max_us = 1000L << (attempt < 7 ? attempt : 7);	/* <= 128ms */

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned)getpid() * 2654435761u + (unsigned)attempt;
	(void)usleep((useconds_t)(r % (unsigned long)max_us));
}

static void close_dbs(struct qstore *qs)
{
	int i;

	/* secondaries before the primary */
	for (i = QDB_COUNT - 1; i >= 0; i--) {
		if (qs->db[i] != NULL) {
			/* the log makes the data durable: no file sync
			   (which waits on pages other processes pin) */
			(void)qs->db[i]->close(qs->db[i], DB_NOSYNC);
			qs->db[i] = NULL;
		}
	}
}

static int open_dbs(struct qstore *qs, DB_TXN *txn)
{
	int ret, i;

	for (i = 0; i < QDB_COUNT; i++) {
		DB *db;

		if ((ret = db_create(&db, qs->env, 0)) != 0)
			return ret;
		qs->db[i] = db;
		if ((ret = db->open(db, txn, qstore_db_files[i], NULL,
				    DB_BTREE, DB_CREATE | DB_THREAD,
				    db_mode())) != 0)
			return ret;
	}
	return qstore_associate(qs, txn);
}

static int open_env(struct qstore *qs, char **error_r, enum errkind *kind_r)
{
	DB_ENV *env;
	long long cache = db_cache();
	double deadline = now_seconds() + busy_timeout();
	u_int32_t flags;
	DB_TXN *txn = NULL;
	int ret, attempt, was_busy = qs->busy;

	if ((ret = db_env_create(&env, 0)) != 0) {
		db_error(NULL, ret, "db_env_create", error_r, kind_r);
		return -1;
	}
	env->app_private = qs;
	env->set_errcall(env, qstore_errcall);
	env->set_msgcall(env, qstore_msgcall);
	if ((ret = env->set_cachesize(env, (u_int32_t)(cache >> 30),
				      (u_int32_t)(cache & ((1LL << 30) - 1)),
				      1)) != 0
	    || (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0
	    || (ret = env->set_timeout(env,
				       (db_timeout_t)lock_timeout() * 1000000,
				       DB_SET_LOCK_TIMEOUT)) != 0
	    || (ret = env->set_flags(env, DB_TIME_NOTGRANTED, 1)) != 0
	    || (ret = env->set_lk_max_locks(env, 50000)) != 0
	    || (ret = env->set_lk_max_objects(env, 50000)) != 0
	    || (ret = env->set_lk_max_lockers(env, 10000)) != 0
	    || (ret = env->set_tx_max(env, 1000)) != 0
	    || (ret = env->set_thread_count(env, QSTORE_THREAD_COUNT)) != 0
	    || (ret = env->set_isalive(env, qstore_isalive)) != 0
	    || (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
		db_error(qs, ret, "configuring the database environment",
			 error_r, kind_r);
		(void)env->close(env, 0);
		return -1;
	}
	/*
	 * No DB_FAILCHK here: with it, an opener that finds a dead process
	 * in the registry tries failchk instead of recovery, and blocks for
	 * good on a mutex the dead process held.  DB_RECOVER recovers
	 * instead; failchk is called on lock timeouts (qstore_run).
	 */
	flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
		DB_INIT_MPOOL | DB_THREAD | DB_REGISTER | DB_RECOVER;
	if ((ret = env->open(env, qs->dir, flags, db_mode())) != 0) {
		struct str what = STR_INIT;

		str_printf(&what, "opening the database environment %s",
			   qs->dir);
		db_error(qs, ret, str_c(&what), error_r, kind_r);
		str_deinit(&what);
		(void)env->close(env, 0);
		return -1;
	}
	/* from now on the detector thread may use it */
	if (qs->have_detector)
		(void)pthread_mutex_lock(&qs->env_lock);
	qs->env = env;
	if (qs->have_detector)
		(void)pthread_mutex_unlock(&qs->env_lock);
	/*
	 * Open (creating) the databases in one transaction.  A peer that
	 * died holding a lock on them makes this wait time out: then
	 * failchk, and again, as in qstore_run.
	 */
	qs->busy = 1;
	for (attempt = 0;; attempt++) {
		txn = NULL;
		if ((ret = env->txn_begin(env, NULL, &txn, 0)) == 0)
			ret = open_dbs(qs, txn);
		if (ret == 0) {
			ret = txn->commit(txn, 0);
			txn = NULL;
		}
		if (ret == 0)
			break;
		if (txn != NULL)
			(void)txn->abort(txn);
		close_dbs(qs);
		if ((ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
		    || now_seconds() > deadline)
			break;
		if (ret == DB_LOCK_NOTGRANTED
		    && env->failchk(env, 0) == DB_RUNRECOVERY) {
			ret = DB_RUNRECOVERY;
			break;
		}
		str_clear(&qs->dberr);
		backoff(attempt);
	}
	qs->busy = was_busy;
	if (ret == 0)
		return 0;
	db_error(qs, ret, "opening the databases", error_r, kind_r);
	close_handles(qs);
	return -1;
}

/* ---- the site secret */

static int secret_read(const char *path, unsigned char *buf,
		       char **error_r, enum errkind *kind_r)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "open %s: %s",
			    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		qstore_fail(error_r, kind_r, ERR_INTERNAL,
			    "%s: not a regular file", path);
		(void)close(fd);
		return -1;
	}
	if (st.st_mode & 07) {
		qstore_fail(error_r, kind_r, ERR_INTERNAL,
			    "%s: readable by others (mode %04o); "
			    "chmod 600 it and change the secret",
			    path, (unsigned)(st.st_mode & 07777));
		(void)close(fd);
		return -1;
	}
	n = read(fd, buf, QSTORE_SECRET_LEN);
	(void)close(fd);
	if (n != QSTORE_SECRET_LEN) {
		qstore_fail(error_r, kind_r, ERR_INTERNAL,
			    "%s: short or unreadable secret (%zd bytes)",
			    path, n);
		return -1;
	}
	return 1;
}

/* read db_dir/secret, creating it (0600, atomically) on first start */
static int secret_load(struct qstore *qs, char **error_r,
		       enum errkind *kind_r)
{
	struct str path = STR_INIT, tmp = STR_INIT;
	unsigned char buf[QSTORE_SECRET_LEN];
	int ret, fd = -1;

	str_printf(&path, "%s/secret", qs->dir);
	if ((ret = secret_read(str_c(&path), qs->secret, error_r, kind_r)) != 0)
		goto out;
	if (getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "getrandom: %s",
			    strerror(errno));
		ret = -1;
		goto out;
	}
	str_printf(&tmp, "%s/secret.%ld.tmp", qs->dir, (long)getpid());
	(void)unlink(str_c(&tmp));
	fd = open(str_c(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)
	    || fsync(fd) < 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "writing %s: %s",
			    str_c(&tmp), strerror(errno));
		ret = -1;
		goto out;
	}
	/* link() fails if a peer created it first: then use theirs */
	if (link(str_c(&tmp), str_c(&path)) < 0 && errno != EEXIST) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "link %s: %s",
			    str_c(&path), strerror(errno));
		ret = -1;
		goto out;
	}
	ret = secret_read(str_c(&path), qs->secret, error_r, kind_r);
	if (ret == 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY,
			    "%s vanished while being created", str_c(&path));
		ret = -1;
	}
out:
	if (fd >= 0) {
		(void)close(fd);
		(void)unlink(str_c(&tmp));
	}
	explicit_bzero(buf, sizeof(buf));
	str_deinit(&path);
	str_deinit(&tmp);
	return ret < 0 ? -1 : 0;
}

/*
 * The watchdog.  Berkeley DB 5.3 mutexes are not robust: a process
 * killed while holding one (the log flush mutex during a commit's
 * fsync, a cache bucket) leaves every process that then waits for it
 * blocked for good, where no lock timeout or failchk can reach.  So
 * each qstore_run() arms a timer; if one call lasts db_stuck_timeout,
 * the process logs why and exits with EX_TEMPFAIL (75): nothing it did
 * was committed, its client sees a temporary failure, and the next
 * process to open the environment finds it dead in the registry and
 * runs recovery.
 */
static void watchdog_fire(union sigval sv)
{
	(void)sv;
	msg_error("database call stuck for %d seconds (a process probably "
		  "died holding a database mutex); exiting so that the "
		  "environment is recovered", stuck_timeout());
	_exit(75);
}

/*
 * The detector.  BDB enforces lock timeouts only when deadlock detection
 * runs, and set_lk_detect runs it only when a new conflict arises: a
 * process waiting for a lock that a killed process holds would wait
 * forever.  So while a qstore_run() is under way a thread runs the
 * detector with DB_LOCK_EXPIRE every half lock timeout; the expired
 * waiter gets DB_LOCK_NOTGRANTED, calls failchk, which releases the dead
 * process's locks and aborts its transaction, and retries.
 */
static void *detector_main(void *arg)
{
	struct qstore *qs = arg;
	struct timespec until;
	long step_ms = lock_timeout() * 500L;
	int stop;

	(void)pthread_mutex_lock(&qs->detector_lock);
	for (;;) {
		(void)clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += step_ms / 1000;
		until.tv_nsec += (step_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!qs->detector_stop
		       && pthread_cond_timedwait(&qs->detector_wake,
						 &qs->detector_lock,
						 &until) == 0)
			;	/* woken early, but not told to stop */
		stop = qs->detector_stop;
		(void)pthread_mutex_unlock(&qs->detector_lock);
		if (stop)
			break;
		if (qs->busy) {
			(void)pthread_mutex_lock(&qs->env_lock);
			if (qs->env != NULL)
				(void)qs->env->lock_detect(qs->env, 0,
							   DB_LOCK_EXPIRE,
							   NULL);
			(void)pthread_mutex_unlock(&qs->env_lock);
		}
		(void)pthread_mutex_lock(&qs->detector_lock);
	}
	return NULL;
}

static void detector_init(struct qstore *qs)
{
	pthread_condattr_t attr;
	int err;

	(void)pthread_mutex_init(&qs->env_lock, NULL);
	(void)pthread_mutex_init(&qs->detector_lock, NULL);
	(void)pthread_condattr_init(&attr);
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&qs->detector_wake, &attr);
	(void)pthread_condattr_destroy(&attr);
	if ((err = pthread_create(&qs->detector, NULL, detector_main,
				  qs)) != 0) {
		errno = err;
		msg_warn_sys("pthread_create (database lock detector)");
		return;
	}
	qs->have_detector = 1;
}

static void detector_deinit(struct qstore *qs)
{
	if (!qs->have_detector)
		return;
	(void)pthread_mutex_lock(&qs->detector_lock);
	qs->detector_stop = 1;
	(void)pthread_cond_signal(&qs->detector_wake);
	(void)pthread_mutex_unlock(&qs->detector_lock);
	(void)pthread_join(qs->detector, NULL);
	qs->have_detector = 0;
}

static void watchdog_init(struct qstore *qs)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = watchdog_fire;
	if (timer_create(CLOCK_MONOTONIC, &sev, &qs->watchdog) == 0)
		qs->have_watchdog = 1;
	else
		msg_warn_sys("timer_create (database watchdog)");
}

static void watchdog_arm(struct qstore *qs, int on)
{
	struct itimerspec its;

	if (!qs->have_watchdog || (on && qs->watchdog_off))
		return;
	memset(&its, 0, sizeof(its));
	if (on)
		its.it_value.tv_sec = stuck_timeout();
	(void)timer_settime(qs->watchdog, 0, &its, NULL);
}

struct qstore *qstore_open(const char *db_dir, char **error_r,
			   enum errkind *kind_r)
{
	struct qstore *qs;
	char *parent = mystrdup(db_dir), *slash;

	/* db_dir and, for the embedded default (./var/db), its parents */
	for (slash = strchr(parent + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
			*slash = '/';
			break;
		}
		*slash = '/';
	}
	free(parent);
	if (mkdir(db_dir, 0700) < 0 && errno != EEXIST) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "mkdir %s: %s",
			    db_dir, strerror(errno));
		return NULL;
	}
	qs = mycalloc(1, sizeof(*qs));
	qs->dir = mystrdup(db_dir);
	str_init(&qs->dberr, 64);
	watchdog_init(qs);
	detector_init(qs);
	if (secret_load(qs, error_r, kind_r) < 0) {
		qstore_close(&qs);
		return NULL;
	}
	/* recovery can take a while, but not forever */
	watchdog_arm(qs, 1);
	if (open_env(qs, error_r, kind_r) < 0) {
		watchdog_arm(qs, 0);
		qstore_close(&qs);
		return NULL;
	}
	watchdog_arm(qs, 0);
	qs->last_checkpoint = time(NULL);
	return qs;
}

void qstore_close(struct qstore **qsp)
{
	struct qstore *qs = *qsp;

	if (qs == NULL)
		return;
	watchdog_arm(qs, 1);
	detector_deinit(qs);
	/*
	 * Checkpoint only when the environment's last one is older than the
	 * interval (BDB's MIN is environment-wide, in minutes): a session
	 * process closes after every connection, and unconditional
	 * checkpoints serialize them (each waits for the checkpoint mutex
	 * and pinned pages), piling up exiting processes under load.
	 */
	if (qs->env != NULL)
		(void)qs->env->txn_checkpoint(qs->env, 0,
			(u_int32_t)((checkpoint_interval() + 59) / 60), 0);
	close_handles(qs);
	if (qs->have_watchdog)
		(void)timer_delete(qs->watchdog);
	(void)pthread_mutex_destroy(&qs->env_lock);
	(void)pthread_mutex_destroy(&qs->detector_lock);
	(void)pthread_cond_destroy(&qs->detector_wake);
	explicit_bzero(qs->secret, sizeof(qs->secret));
	str_deinit(&qs->dberr);
	MYFREE(&qs->dir);
	MYFREE(qsp);
}

const char *qstore_dir(const struct qstore *qs)
{
	return qs->dir;
}

int qstore_checkpoint(struct qstore *qs, char **error_r)
{
	int ret;

	if ((ret = qs->env->txn_checkpoint(qs->env, 0, 0, 0)) != 0) {
		db_error(qs, ret, "checkpoint", error_r, NULL);
		return -1;
	}
	qs->last_checkpoint = time(NULL);
	return 0;
}

static void maybe_checkpoint(struct qstore *qs)
{
	time_t now = time(NULL);
	char *error = NULL;

	if (now - qs->last_checkpoint < checkpoint_interval())
		return;
	if (qstore_checkpoint(qs, &error) < 0) {
		msg_warn("%s", error);
		free(error);
	}
}

static int run_txn(struct qstore *qs, int write, qstore_txn_fn *fn,
		   void *ctx, const char *what, char **app_error,
		   char **error_r, enum errkind *kind_r)
{
	double deadline = now_seconds() + busy_timeout();
	int attempt, ret, reopens = 0;
	DB_TXN *txn;

	for (attempt = 0;; attempt++) {
		if (qs->env == NULL) {
			/* a previous reopen failed: try again */
			ret = DB_RUNRECOVERY;
		} else if ((ret = qs->env->txn_begin(qs->env, NULL, &txn,
				write ? 0 : DB_READ_COMMITTED)) == 0) {
			ret = fn(qs, txn, ctx);
			if (ret == 0)
				ret = txn->commit(txn, write == QSTORE_WRITE_NOSYNC
						  ? DB_TXN_WRITE_NOSYNC : 0);
			else
				(void)txn->abort(txn);
		}
		if (ret == 0) {
			if (write)
				maybe_checkpoint(qs);
			return 0;
		}
		if (ret == QSTORE_EAPP) {
			char *why = app_error != NULL ? *app_error : NULL;

			if (why == NULL)
				why = mystrdup("internal error");
			if (kind_r != NULL)
				*kind_r = ERR_INTERNAL;
			if (error_r != NULL)
				*error_r = why;
			else
				free(why);
			if (app_error != NULL)
				*app_error = NULL;
			return -1;
		}
		if (app_error != NULL && *app_error != NULL)
			MYFREE(app_error);
		if (now_seconds() > deadline)
			break;
		if (ret == DB_LOCK_DEADLOCK) {
			backoff(attempt);
			continue;
		}
		if (ret == DB_LOCK_NOTGRANTED) {
			/*
			 * A lock wait timed out: is its holder dead?
			 * failchk frees a dead process's locks and aborts
			 * its transaction; it may still complain (EBUSY
			 * destroying a mutex the dead held), which does not
			 * matter to us: retry, up to the deadline.
			 */
			ret = qs->env->failchk(qs->env, 0);
			if (ret != DB_RUNRECOVERY) {
				if (ret != 0)
					msg_warn("%s: failchk: %s", what,
						 db_strerror(ret));
				str_clear(&qs->dberr);
				backoff(attempt);
				continue;
			}
		}
		if (ret == DB_RUNRECOVERY && reopens < QSTORE_REOPEN_TRIES) {
			char *error = NULL;

			reopens++;
			msg_warn("%s: database environment needs recovery; "
				 "reopening %s", what, qs->dir);
			close_handles(qs);
			if (open_env(qs, &error, NULL) < 0) {
				msg_warn("%s", error);
				free(error);
				backoff(attempt + 3);
			}
			continue;
		}
		break;
	}
	{
		struct str w = STR_INIT;

		str_printf(&w, "%s (after %d attempts)", what, attempt + 1);
		db_error(qs, ret, str_c(&w), error_r, kind_r);
		str_deinit(&w);
	}
	return -1;
}

int qstore_run(struct qstore *qs, int write, qstore_txn_fn *fn, void *ctx,
	       const char *what, char **app_error, char **error_r,
	       enum errkind *kind_r)
{
	int ret;

	watchdog_arm(qs, 1);
	qs->busy = 1;
	ret = run_txn(qs, write, fn, ctx, what, app_error, error_r, kind_r);
	qs->busy = 0;
	watchdog_arm(qs, 0);
	return ret;
}

/* ---- the X-Spamtrap-Id token */

static void token_mac(const struct qstore *qs, const char *id, char out[17])
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
	guint8 digest[32];
	gsize dlen = sizeof(digest);
	GHmac *h;
	uint64_t hi, lo;
	int i;

	h = g_hmac_new(G_CHECKSUM_SHA256, qs->secret, sizeof(qs->secret));
	g_hmac_update(h, (const guchar *)"spamtrap-id:", 12);
	g_hmac_update(h, (const guchar *)id, (gssize)strlen(id));
	g_hmac_get_digest(h, digest, &dlen);
	g_hmac_unref(h);
	/* first 80 bits: 16 base32 characters */
	hi = qstore_get_be64(digest);		/* bits 0..63 */
	lo = (uint64_t)digest[8] << 8 | digest[9];	/* bits 64..79 */
	for (i = 15; i >= 0; i--) {
		out[i] = b32[lo & 31];
		lo = (lo >> 5) | ((hi & 31) << 11);
		hi >>= 5;
	}
	out[16] = '\0';
	explicit_bzero(digest, sizeof(digest));
}

void qstore_token_make(const struct qstore *qs, const char *id,
		       struct str *out)
{
	char mac[17];

	token_mac(qs, id, mac);
	str_printf(out, "%s.%s", id, mac);
}

int qstore_token_verify(const struct qstore *qs, const char *token,
			char id_r[QSTORE_ID_LEN + 1])
{
	char id[QSTORE_ID_LEN + 1], mac[17];
	const char *given;
	unsigned diff = 0;
	size_t i;

	id_r[0] = '\0';
	if (token == NULL)
		return 0;
	while (*token == ' ' || *token == '\t')
		token++;
	if (strlen(token) < QSTORE_TOKEN_LEN)
		return 0;
	for (i = QSTORE_TOKEN_LEN; token[i] != '\0'; i++)
		if (token[i] != ' ' && token[i] != '\t' && token[i] != '\r'
		    && token[i] != '\n')
			return 0;
	if (token[QSTORE_ID_LEN] != '.')
		return 0;
	memcpy(id, token, QSTORE_ID_LEN);
	id[QSTORE_ID_LEN] = '\0';
	if (!qstore_id_valid(id))
		return 0;
	token_mac(qs, id, mac);
	given = token + QSTORE_ID_LEN + 1;
	for (i = 0; i < 16; i++)	/* constant time */
		diff |= (unsigned)(mac[i] ^ given[i]);
	explicit_bzero(mac, sizeof(mac));
	if (diff != 0)
		return 0;
	memcpy(id_r, id, QSTORE_ID_LEN + 1);
	return 1;
}
