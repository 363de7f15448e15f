/*
 * qstore-driver - load and inspect a quarantine database from tests and
 * benchmarks.
 *
 *	qstore-driver write DIR USER N	N rounds (0: until killed) of: add an
 *		incident with a copy, change one status, set a table entry,
 *		a preference and a pair; print each committed id, flushed
 *	qstore-driver check DIR		check; print "incidents=N problems=M";
 *		exit 1 on problems
 *	qstore-driver exists DIR	read ids on stdin; exit 1 if one is
 *		missing (printing it)
 *	qstore-driver hold DIR		write in a transaction, print
 *		"holding" and sleep inside it (to be killed: its locks stay)
 *	qstore-driver idle DIR		open, print "idle", sleep (to be
 *		killed: a dead process in the registry forces recovery)
 *	qstore-driver orphan DIR	store a message copy that belongs to
 *		no incident (damage for "spamtrap db check" to find)
 *	qstore-driver pair DIR SENDER RELAY	print the sender/relay history:
 *		"count=N" (0 when never seen)
 *	qstore-driver bench DIR N USERS	insert N incidents over USERS users
 *		(commits without fsync, to load fast), then time paged
 *		queries
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "msg.h"
#include "params.h"
#include "qstore.h"
#include "qstore_private.h"

static struct qstore *open_or_die(const char *dir)
{
	char *error = NULL;
	struct qstore *qs = qstore_open(dir, &error, NULL);

	if (qs == NULL) {
		fprintf(stderr, "qstore-driver: %s\n", error);
		exit(1);
	}
	return qs;
}

static void die(const char *what, char *error)
{
	fprintf(stderr, "qstore-driver: %s: %s\n", what, error);
	exit(1);
}

static double now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static void fill(struct qstore_incident *inc, const char *user, long i,
		 time_t received)
{
	struct str s = STR_INIT;

	qstore_incident_init(inc);
	qstore_incident_set(&inc->user, user);
	qstore_incident_set(&inc->recipient, user);
	str_printf(&s, "sender%ld@spam%ld.example", i % 97, i % 13);
	qstore_incident_set(&inc->sender, str_c(&s));
	str_clear(&s);
	str_printf(&s, "Offer number %ld", i);
	qstore_incident_set(&inc->subject, str_c(&s));
	qstore_incident_set(&inc->relay_ip, "192.0.2.1");
	inc->received = received;
	inc->scored = 1;
	inc->score = 5 + (double)(i % 50) / 10;
	inc->reasons = QSTORE_REASON_SPAMSCORE;
	qstore_incident_add_hit(inc, "SOME_RULE", 5, "a rule");
	str_deinit(&s);
}

static int do_write(const char *dir, const char *user, long n)
{
	struct qstore *qs = open_or_die(dir);
	struct str body = STR_INIT, key = STR_INIT;
	char *error = NULL, last[QSTORE_ID_LEN + 1] = "";
	long i, j;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; n == 0 || i < n; i++) {
		struct qstore_incident inc;
		struct qstore_pair p;

		str_clear(&body);
		str_printf(&body, "Subject: Offer number %ld\n\n", i);
		for (j = 0; j < 50 + (i * 37) % 400; j++)
			str_printf(&body, "line %ld of message %ld from %s\n",
				   j, i, user);
		fill(&inc, user, i, time(NULL));
		if (qstore_incident_add(qs, &inc, body.s, body.len, "driver",
					QSTORE_VIA_LMTP, &error, NULL) < 0)
			die("add", error);
		/* committed: from now on it must survive anything */
		printf("%s\n", inc.id);
		if (last[0] != '\0'
		    && qstore_incident_set_status(qs, last, QSTORE_SPAM,
						  user, QSTORE_VIA_IMAP_MOVE,
						  NULL, &error, NULL) < 0)
			die("set_status", error);
		memcpy(last, inc.id, sizeof(last));
		qstore_incident_deinit(&inc);
		str_clear(&key);
		str_printf(&key, "sender%ld@example.com", i % 50);
		if (qstore_table_set(qs, i % 2 ? user : NULL,
				     QSTORE_TABLE_SENDER, str_c(&key),
				     QSTORE_ACT_HOLD, user, "driver", &error,
				     NULL) < 0)
			die("table_set", error);
		if (qstore_prefs_set(qs, i % 3 ? user : NULL, "page_size",
				     i % 2 ? "50" : "100", &error, NULL) < 0)
			die("prefs_set", error);
		if (qstore_pair_seen(qs, str_c(&key), "192.0.2.1", time(NULL),
				     &p, &error, NULL) < 0)
			die("pair_seen", error);
	}
	str_deinit(&body);
	str_deinit(&key);
	qstore_close(&qs);
	return 0;
}

static int do_check(const char *dir)
{
	struct qstore *qs = open_or_die(dir);
	struct qstore_check_result r;
	char *error = NULL;

	if (qstore_check(qs, 0, stdout, &r, &error, NULL) < 0)
		die("check", error);
	printf("incidents=%zu index_entries=%zu messages=%zu problems=%zu\n",
	       r.incidents, r.index_entries, r.messages, r.problems);
	qstore_close(&qs);
	return r.problems > 0;
}

static int do_exists(const char *dir)
{
	struct qstore *qs = open_or_die(dir);
	char line[256], *error = NULL;
	long n = 0, missing = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		int ret;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		n++;
		ret = qstore_incident_get(qs, line, NULL, &error, NULL);
		if (ret < 0)
			die("get", error);
		if (ret == 0) {
			printf("missing %s\n", line);
			missing++;
		}
	}
	printf("checked=%ld missing=%ld\n", n, missing);
	qstore_close(&qs);
	return missing > 0;
}

static int hold_txn(struct qstore *qs, DB_TXN *txn, void *ctx)
{
	DB *db = qs->db[QDB_TABLES];
	DBT key, data;
	int ret, i;

	(void)ctx;
	/* the site sender table and a few pages of incidents */
	qstore_dbt_in(&key, "\0ssender1@example.com", 21);
	qstore_dbt_in(&data, "junk", 4);
	if ((ret = db->put(db, txn, &key, &data, 0)) != 0)
		return ret;
	for (i = 0; i < 3; i++) {
		struct qstore_incident inc;
		struct str rec = STR_INIT;
		char id[QSTORE_ID_LEN + 1];

		fill(&inc, "holder@example.org", i, time(NULL));
		qstore_incident_encode(&inc, &rec);
		qstore_incident_deinit(&inc);
		memcpy(id, "zzzzzzzzzzzz0", sizeof(id));
		id[QSTORE_ID_LEN - 1] = (char)('0' + i);
		qstore_dbt_in(&key, id, QSTORE_ID_LEN);
		qstore_dbt_in(&data, rec.s, rec.len);
		ret = qs->db[QDB_INCIDENTS]->put(qs->db[QDB_INCIDENTS], txn,
						 &key, &data, 0);
		str_deinit(&rec);
		if (ret != 0)
			return ret;
	}
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static int do_hold(const char *dir)
{
	struct qstore *qs = open_or_die(dir);
	char *error = NULL;

	var_db_stuck_timeout = 3600;	/* no watchdog: we hang on purpose */
	if (qstore_run(qs, 1, hold_txn, NULL, "hold", NULL, &error, NULL) < 0)
		die("hold", error);
	return 0;
}

static int do_idle(const char *dir)
{
	struct qstore *qs = open_or_die(dir);

	printf("idle\n");
	fflush(stdout);
	for (;;)
		pause();
	qstore_close(&qs);
	return 0;
}

static int orphan_txn(struct qstore *qs, DB_TXN *txn, void *ctx)
{
	(void)ctx;
	return qstore_message_put(qs, txn, "zzzzzzzzzzzzz", "orphan", 6);
}

static int do_orphan(const char *dir)
{
	struct qstore *qs = open_or_die(dir);
	char *error = NULL;

	if (qstore_run(qs, 1, orphan_txn, NULL, "orphan", NULL, &error,
		       NULL) < 0)
		die("orphan", error);
	qstore_close(&qs);
	return 0;
}

static void time_query(struct qstore *qs, const char *user, int status,
		       size_t page, size_t size)
{
	struct qstore_query q = { user, status, 0, page, size };
	struct qstore_page pg;
	char *error = NULL;
	double t0, t;
	int i, reps = 20;

	t0 = now();
	for (i = 0; i < reps; i++) {
		if (qstore_incident_list(qs, &q, &pg, &error, NULL) < 0)
			die("list", error);
		if (i < reps - 1)
			qstore_page_deinit(&pg);
	}
	t = (now() - t0) / reps;
	printf("list user=%s status=%s page=%zu size=%zu: %zu items, "
	       "%.3f ms\n", user ? user : "(all)",
	       status ? qstore_status_name(status) : "any", page, size,
	       pg.n, t * 1000);
	qstore_page_deinit(&pg);
}

static int do_bench(const char *dir, long n, long users)
{
	struct qstore *qs = open_or_die(dir);
	struct str user = STR_INIT;
	char *error = NULL;
	size_t count;
	double t0, t;
	long i;

	/* loading a million incidents with an fsync each would take an
	   hour; the layout and query cost do not depend on it */
	if (qs->env->set_flags(qs->env, DB_TXN_WRITE_NOSYNC, 1) != 0)
		die("set_flags", "DB_TXN_WRITE_NOSYNC");
	t0 = now();
	for (i = 0; i < n; i++) {
		struct qstore_incident inc;

		str_clear(&user);
		str_printf(&user, "user%ld@example.org", i % users);
		fill(&inc, str_c(&user), i, 1700000000 + i);
		inc.status = i % 10 == 0 ? QSTORE_SPAM : QSTORE_PENDING;
		if (qstore_incident_add(qs, &inc, NULL, 0, "bench",
					QSTORE_VIA_LMTP, &error, NULL) < 0)
			die("add", error);
		qstore_incident_deinit(&inc);
	}
	t = now() - t0;
	printf("inserted %ld incidents over %ld users in %.1f s "
	       "(%.0f/s)\n", n, users, t, n / t);
	if (qstore_checkpoint(qs, &error) < 0)
		die("checkpoint", error);
	time_query(qs, "user7@example.org", QSTORE_PENDING, 1, 30);
	time_query(qs, "user7@example.org", QSTORE_PENDING, 10, 30);
	time_query(qs, "user7@example.org", QSTORE_STATUS_ANY, 1, 200);
	time_query(qs, "user10@example.org", QSTORE_SPAM, 1, 30);
	time_query(qs, NULL, QSTORE_SPAM, 1, 50);
	time_query(qs, NULL, QSTORE_PENDING, 100, 50);
	t0 = now();
	if (qstore_incident_count(qs, "user7@example.org", QSTORE_PENDING,
				  &count, &error, NULL) < 0)
		die("count", error);
	printf("count user7 pending: %zu in %.3f ms\n", count,
	       (now() - t0) * 1000);
	t0 = now();
	if (qstore_incident_count(qs, NULL, QSTORE_PENDING, &count, &error,
				  NULL) < 0)
		die("count", error);
	printf("count all pending: %zu in %.3f ms\n", count,
	       (now() - t0) * 1000);
	str_deinit(&user);
	qstore_close(&qs);
	return 0;
}

static int do_pair(const char *dir, const char *sender, const char *relay)
{
	struct qstore *qs = open_or_die(dir);
	struct qstore_pair p;
	char *error = NULL;
	int r = qstore_pair_get(qs, sender, relay, &p, &error, NULL);

	if (r < 0)
		die("pair_get", error);
	printf("count=%llu\n", r > 0 ? (unsigned long long)p.count : 0ULL);
	qstore_close(&qs);
	return 0;
}

int main(int argc, char **argv)
{
	msg_init("qstore-driver");
	/* short timeouts for the crash tests */
	if (getenv("QSTORE_STUCK_TIMEOUT") != NULL)
		var_db_stuck_timeout = atoi(getenv("QSTORE_STUCK_TIMEOUT"));
	if (getenv("QSTORE_LOCK_TIMEOUT") != NULL)
		var_db_lock_timeout = atoi(getenv("QSTORE_LOCK_TIMEOUT"));
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], argv[3], atol(argv[4]));
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return do_check(argv[2]);
	if (argc == 3 && strcmp(argv[1], "exists") == 0)
		return do_exists(argv[2]);
	if (argc == 3 && strcmp(argv[1], "idle") == 0)
		return do_idle(argv[2]);
	if (argc == 3 && strcmp(argv[1], "orphan") == 0)
		return do_orphan(argv[2]);
	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return do_hold(argv[2]);
	if (argc == 5 && strcmp(argv[1], "pair") == 0)
		return do_pair(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "bench") == 0)
		return do_bench(argv[2], atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: qstore-driver write DIR USER N | check DIR | "
		"exists DIR | pair DIR SENDER RELAY | bench DIR N USERS\n");
	return 2;
}
