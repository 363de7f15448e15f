/*
 * qstore: the site secret and X-Spamtrap-Id tokens; the consistency
 * check finding and repairing damage made on purpose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qstore.h"
#include "qstore_private.h"
#include "qstore-test.h"
#include "test-lib.h"

static void test_secret_token(const char *dir)
{
	struct qstore *qs = qt_open(dir), *other;
	struct str path = STR_INIT, tok = STR_INIT, forged = STR_INIT;
	struct str dir2 = STR_INIT;
	char id[QSTORE_ID_LEN + 1];
	char *error = NULL;
	struct stat st;

	str_printf(&path, "%s/secret", dir);
	/* stat first: the order in which the arguments of TEST_OK are
	   evaluated is unspecified, so st must be set before the call */
	if (stat(str_c(&path), &st) < 0)
		memset(&st, 0, sizeof(st));
	TEST_OK(st.st_size == 32 && (st.st_mode & 07777) == 0600,
		"secret created, 32 bytes, mode 0600 (%04o)",
		(unsigned)(st.st_mode & 07777));
	qstore_token_make(qs, "1ng57zgzd6jmn", &tok);
	TEST_IS_INT(tok.len, QSTORE_TOKEN_LEN, "token length");
	TEST_OK(strncmp(str_c(&tok), "1ng57zgzd6jmn.", 14) == 0,
		"token starts with the id: %s", str_c(&tok));
	TEST_IS_INT(qstore_token_verify(qs, str_c(&tok), id), 1,
		    "token verifies");
	TEST_IS_STR(id, "1ng57zgzd6jmn", "and yields the id");
	str_printf(&forged, " %s \r\n", str_c(&tok));
	TEST_IS_INT(qstore_token_verify(qs, str_c(&forged), id), 1,
		    "surrounding white space is fine (header value)");

	str_clear(&forged);
	str_append(&forged, tok.s, tok.len);
	forged.s[forged.len - 1] = forged.s[forged.len - 1] == 'a' ? 'b' : 'a';
	TEST_IS_INT(qstore_token_verify(qs, str_c(&forged), id), 0,
		    "one MAC character changed: refused");
	TEST_IS_STR(id, "", "no id from a forged token");
	str_clear(&forged);
	str_append(&forged, tok.s, tok.len);
	forged.s[0] = forged.s[0] == '1' ? '2' : '1';
	TEST_IS_INT(qstore_token_verify(qs, str_c(&forged), id), 0,
		    "another id with this MAC: refused");
	TEST_IS_INT(qstore_token_verify(qs, "1ng57zgzd6jmn", id), 0,
		    "id without MAC: refused");
	TEST_IS_INT(qstore_token_verify(qs, "", id), 0, "empty: refused");
	TEST_IS_INT(qstore_token_verify(qs, NULL, id), 0, "NULL: refused");
	str_clear(&forged);
	str_printf(&forged, "%sx", str_c(&tok));
	TEST_IS_INT(qstore_token_verify(qs, str_c(&forged), id), 0,
		    "trailing garbage: refused");
	str_clear(&forged);
	str_printf(&forged, "../../etc/pass.%s", str_c(&tok) + 14);
	TEST_IS_INT(qstore_token_verify(qs, str_c(&forged), id), 0,
		    "not an id: refused");
	qstore_close(&qs);

	qs = qt_open(dir);
	TEST_IS_INT(qstore_token_verify(qs, str_c(&tok), id), 1,
		    "same secret after reopen");
	qstore_close(&qs);

	str_printf(&dir2, "%s2", dir);
	other = qt_open(str_c(&dir2));
	TEST_IS_INT(qstore_token_verify(other, str_c(&tok), id), 0,
		    "another site's secret refuses it");
	qstore_close(&other);

	str_clear(&path);
	str_printf(&path, "%s/secret", str_c(&dir2));
	TEST_IS_INT(chmod(str_c(&path), 0644), 0, "make the secret readable");
	other = qstore_open(str_c(&dir2), &error, NULL);
	TEST_OK(other == NULL, "a world-readable secret is refused");
	TEST_LIKE(error, "readable by others", "with a clear reason");
	free(error);
	qstore_close(&other);

	str_deinit(&path);
	str_deinit(&tok);
	str_deinit(&forged);
	str_deinit(&dir2);
}

static char *add(struct qstore *qs, const char *user, const char *body)
{
	struct qstore_incident inc;
	char *error = NULL, *id;

	qstore_incident_init(&inc);
	qstore_incident_set(&inc.user, user);
	inc.received = 1700000000;
	if (qstore_incident_add(qs, &inc, body, strlen(body), "t",
				QSTORE_VIA_CLI, &error, NULL) < 0) {
		printf("Bail out! %s\n", error);
		exit(1);
	}
	id = strdup(inc.id);
	qstore_incident_deinit(&inc);
	return id;
}

/* damage made directly in the databases, below the API */
struct damage {
	int what;
	const char *id;
};

static int damage_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct damage *d = vctx;
	unsigned char k[QSTORE_ID_LEN + 4];
	DBT key, data;

	switch (d->what) {
	case 0:		/* a copy without an incident */
		return qstore_message_put(qs, txn, d->id, "orphan", 6);
	case 1:		/* an incident without its copy */
		return qstore_message_del(qs, txn, d->id);
	case 2:		/* a damaged copy: chunk 1 overwritten */
		memcpy(k, d->id, QSTORE_ID_LEN);
		qstore_be32(k + QSTORE_ID_LEN, 1);
		qstore_dbt_in(&key, k, sizeof(k));
		qstore_dbt_in(&data, "garbage", 7);
		return qs->db[QDB_MESSAGES]->put(qs->db[QDB_MESSAGES], txn,
						 &key, &data, 0);
	case 3:		/* an undecodable incident record */
		qstore_dbt_in(&key, d->id, QSTORE_ID_LEN);
		qstore_dbt_in(&data, "I\001\377", 3);
		return qs->db[QDB_INCIDENTS]->put(qs->db[QDB_INCIDENTS], txn,
						  &key, &data, 0);
	}
	return EINVAL;
}

static void damage(struct qstore *qs, int what, const char *id)
{
	struct damage d = { what, id };
	char *error = NULL;

	if (qstore_run(qs, 1, damage_txn, &d, "damage", NULL, &error,
		       NULL) < 0) {
		printf("Bail out! damage: %s\n", error);
		exit(1);
	}
}

static void test_check(const char *dir)
{
	struct qstore_check_result r;
	struct qstore *qs = qt_open(dir);
	struct qstore_incident inc;
	char *ids[4], *error = NULL, *data = NULL;
	char report[4096];
	size_t len;
	FILE *fp;
	int i;

	for (i = 0; i < 4; i++)
		ids[i] = add(qs, "alice@example.org",
			     "Subject: x\n\nbody body body body\n");
	TEST_IS_INT(qstore_check(qs, 0, NULL, &r, &error, NULL), 0,
		    "check runs");
	TEST_IS_INT(r.problems, 0, "a clean database has no problems");
	TEST_IS_INT(r.incidents, 4, "4 incidents");
	TEST_IS_INT(r.messages, 4, "4 copies");
	TEST_IS_INT(r.index_entries, 12, "12 index entries");

	damage(qs, 0, "zzzzzzzzzzzzz");
	damage(qs, 1, ids[0]);
	damage(qs, 2, ids[1]);
	damage(qs, 3, ids[2]);
	memset(report, 0, sizeof(report));
	fp = fmemopen(report, sizeof(report) - 1, "w");
	TEST_IS_INT(qstore_check(qs, 0, fp, &r, &error, NULL), 0,
		    "check a damaged database");
	fclose(fp);
	{
		char *line, *save = NULL, copy[sizeof(report)];

		memcpy(copy, report, sizeof(copy));
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			printf("# %s\n", line);
	}
	TEST_OK(r.problems >= 4, "problems found (%zu)", r.problems);
	TEST_LIKE(report, "message copy zzzzzzzzzzzzz: no incident",
		  "orphan copy reported");
	TEST_LIKE(report, "message copy missing", "missing copy reported");
	TEST_LIKE(report, "copy damaged", "damaged copy reported");
	TEST_LIKE(report, "record cannot be decoded",
		  "undecodable record reported");

	TEST_IS_INT(qstore_check(qs, 1, NULL, &r, &error, NULL), 0, "repair");
	TEST_OK(r.repaired >= 4, "repaired (%zu)", r.repaired);
	TEST_IS_INT(qstore_check(qs, 0, NULL, &r, &error, NULL), 0,
		    "check again");
	TEST_IS_INT(r.problems, 0, "clean after repair");
	TEST_IS_INT(r.incidents, 3, "the undecodable incident was removed");
	TEST_IS_INT(r.messages, 1, "one good copy left");
	TEST_IS_INT(qstore_incident_get(qs, ids[0], &inc, &error, NULL), 1,
		    "incident whose copy was lost is kept");
	TEST_OK(inc.flags & QSTORE_FLAG_NO_COPY, "flagged no-copy");
	TEST_IS_STR(inc.actions[inc.n_actions - 1].what, "message copy lost",
		    "and the history says so");
	qstore_incident_deinit(&inc);
	TEST_IS_INT(qstore_message_get(qs, ids[3], &data, &len, &error, NULL),
		    1, "the intact copy is untouched");
	free(data);
	qstore_close(&qs);
	for (i = 0; i < 4; i++)
		free(ids[i]);
}

int main(void)
{
	struct str dir = STR_INIT, dir2 = STR_INIT;

	qt_setup(&dir);
	test_secret_token(str_c(&dir));
	str_printf(&dir2, "%s-check", str_c(&dir));
	test_check(str_c(&dir2));
	str_deinit(&dir);
	str_deinit(&dir2);
	qt_cleanup();
	return test_done();
}
