/*
 * qstore_check - are incidents, indexes and message copies consistent?
 *
 * Three passes, each one read-committed transaction (so it holds few
 * locks while walking a large database):
 *  1. every incident decodes, is found under its key in each index, and
 *     has a readable copy (unless flagged QSTORE_FLAG_NO_COPY);
 *  2. every index entry (read through a plain, unassociated handle, so a
 *     dangling entry is seen as such) names an incident whose record
 *     yields exactly that key;
 *  3. every message copy belongs to an incident.
 * Problems are collected, printed after the pass succeeded (a retried
 * pass does not print twice), and repaired in small transactions.
 * Indexes are repaired by emptying them and letting DB->associate
 * rebuild them from the incidents (best with the daemons stopped).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "qstore_private.h"

struct idlist {
	char (*v)[QSTORE_ID_LEN + 1];
	size_t n;
};

struct check_ctx {
	struct qstore_check_result r;
	struct str report;		/* problem lines */
	struct str bad_keys;		/* undecodable with a bad key:
					   length-prefixed raw keys */
	struct idlist missing_copy, damaged_copy, orphan_copy;
	int index_bad;
	DB *raw;			/* pass 2: unassociated index handle */
	int idx;
	size_t index_base;		/* index entries before this pass */
	size_t problems_base;		/* problems before this pass */
};

static void idlist_add(struct idlist *l, const char *id)
{
	l->v = myrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	memcpy(l->v[l->n], id, QSTORE_ID_LEN);
	l->v[l->n][QSTORE_ID_LEN] = '\0';
	l->n++;
}

static void idlist_free(struct idlist *l)
{
	MYFREE(&l->v);
	l->n = 0;
}

static void problem(struct check_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct check_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	ctx->r.problems++;
	va_start(ap, fmt);
	str_vprintf(&ctx->report, fmt, ap);
	va_end(ap);
	str_appendc(&ctx->report, '\n');
}

static void printable(const void *data, size_t len, struct str *out)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len && i < 64; i++) {
		if (p[i] >= ' ' && p[i] < 0x7f && p[i] != '\\')
			str_appendc(out, (char)p[i]);
		else
			str_printf(out, "\\x%02x", p[i]);
	}
}

static void reset_pass(struct check_ctx *ctx)
{
	ctx->r.problems = ctx->problems_base;
	str_truncate(&ctx->report, 0);
}

/* ---- pass 1: incidents */

static int index_has(struct qstore *qs, DB_TXN *txn, int idx,
		     const struct str *skey, const char *id, int *err)
{
	DB *db = qs->db[idx];
	DBT key, pkey, data;
	int ret, found;

	qstore_dbt_in(&key, skey->s, skey->len);
	qstore_dbt_out(&pkey);
	qstore_dbt_out(&data);
	data.flags |= DB_DBT_PARTIAL;
	ret = db->pget(db, txn, &key, &pkey, &data, 0);
	found = ret == 0 && pkey.size == QSTORE_ID_LEN
		&& memcmp(pkey.data, id, QSTORE_ID_LEN) == 0;
	free(pkey.data);
	free(data.data);
	if (ret != 0 && ret != DB_NOTFOUND && ret != DB_SECONDARY_BAD) {
		*err = ret;
		return -1;
	}
	return found;
}

static const char *const idx_names[QDB_COUNT] = {
	[QDB_IDX_USER] = "user", [QDB_IDX_TIME] = "date",
	[QDB_IDX_STATUS] = "status",
};

static int pass_incidents(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct check_ctx *ctx = vctx;
	DB *db = qs->db[QDB_INCIDENTS];
	struct str skey = STR_INIT, copy = STR_INIT, shown = STR_INIT;
	DBC *c;
	DBT key, data;
	int ret, tret, err = 0;

	reset_pass(ctx);
	ctx->r.incidents = 0;
	idlist_free(&ctx->missing_copy);
	idlist_free(&ctx->damaged_copy);
	str_clear(&ctx->bad_keys);
	ctx->index_bad = 0;
	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return ret;
	qstore_dbt_out(&key);
	qstore_dbt_out(&data);
	while ((ret = c->get(c, &key, &data, DB_NEXT)) == 0) {
		struct qstore_incident inc;
		char id[QSTORE_ID_LEN + 1];
		char *why = NULL;
		int i;

		ctx->r.incidents++;
		str_clear(&shown);
		printable(key.data, key.size, &shown);
		if (key.size != QSTORE_ID_LEN) {
			problem(ctx, "incident key \"%s\": not an id",
				str_c(&shown));
			qrec_put_bytes(&ctx->bad_keys, 0, key.data, key.size);
			continue;
		}
		memcpy(id, key.data, QSTORE_ID_LEN);
		id[QSTORE_ID_LEN] = '\0';
		if (!qstore_id_valid(id)
		    || qstore_incident_decode(data.data, data.size, &inc) < 0) {
			problem(ctx, "incident %s: record cannot be decoded",
				str_c(&shown));
			qrec_put_bytes(&ctx->bad_keys, 0, key.data, key.size);
			continue;
		}
		for (i = QDB_IDX_USER; i <= QDB_IDX_STATUS; i++) {
			if (i == QDB_IDX_USER)
				qstore_key_user(inc.user, inc.status,
						inc.received, id, &skey);
			else if (i == QDB_IDX_TIME)
				qstore_key_time(inc.user, inc.received, id,
						&skey);
			else
				qstore_key_status(inc.status, inc.received, id,
						  &skey);
			ret = index_has(qs, txn, i, &skey, id, &err);
			if (ret < 0)
				break;
			if (ret == 0) {
				problem(ctx, "incident %s: missing from the "
					"%s index", id, idx_names[i]);
				ctx->index_bad = 1;
			}
		}
		if (ret < 0) {
			qstore_incident_deinit(&inc);
			ret = err;
			break;
		}
		if (!(inc.flags & QSTORE_FLAG_NO_COPY)) {
			ret = qstore_message_read(qs, txn, id, &copy, &why);
			if (ret == DB_NOTFOUND) {
				problem(ctx, "incident %s: message copy "
					"missing", id);
				idlist_add(&ctx->missing_copy, id);
			} else if (ret == QSTORE_EAPP) {
				problem(ctx, "incident %s: %s", id, why);
				idlist_add(&ctx->damaged_copy, id);
				free(why);
			} else if (ret != 0) {
				qstore_incident_deinit(&inc);
				break;
			}
		}
		qstore_incident_deinit(&inc);
		ret = 0;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(key.data);
	free(data.data);
	str_deinit(&skey);
	str_deinit(&copy);
	str_deinit(&shown);
	tret = c->close(c);
	return ret != 0 ? ret : tret;
}

/* ---- pass 2: index entries, through a raw handle */

static int pass_index(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct check_ctx *ctx = vctx;
	DB *db = qs->db[QDB_INCIDENTS];
	struct str want = STR_INIT, shown = STR_INIT;
	DBC *c;
	DBT key, data, pkey, pdata;
	int ret, tret;

	reset_pass(ctx);
	ctx->r.index_entries = ctx->index_base;
	if ((ret = ctx->raw->cursor(ctx->raw, txn, &c, 0)) != 0)
		return ret;
	qstore_dbt_out(&key);
	qstore_dbt_out(&data);
	qstore_dbt_out(&pdata);
	while ((ret = c->get(c, &key, &data, DB_NEXT)) == 0) {
		struct qstore_incident inc;
		char id[QSTORE_ID_LEN + 1];
		int ok = 0;

		ctx->r.index_entries++;
		if (data.size == QSTORE_ID_LEN) {
			memcpy(id, data.data, QSTORE_ID_LEN);
			id[QSTORE_ID_LEN] = '\0';
			qstore_dbt_in(&pkey, id, QSTORE_ID_LEN);
			ret = db->get(db, txn, &pkey, &pdata, 0);
			if (ret != 0 && ret != DB_NOTFOUND)
				break;
			if (ret == 0 && qstore_incident_decode(pdata.data,
					pdata.size, &inc) == 0) {
				if (ctx->idx == QDB_IDX_USER)
					qstore_key_user(inc.user, inc.status,
						inc.received, id, &want);
				else if (ctx->idx == QDB_IDX_TIME)
					qstore_key_time(inc.user, inc.received,
							id, &want);
				else
					qstore_key_status(inc.status,
						inc.received, id, &want);
				ok = want.len == key.size
					&& memcmp(want.s, key.data, want.len) == 0;
				qstore_incident_deinit(&inc);
			}
			ret = 0;
		}
		if (!ok) {
			str_clear(&shown);
			printable(data.data, data.size, &shown);
			problem(ctx, "%s index: entry for \"%s\" does not match "
				"an incident", idx_names[ctx->idx],
				str_c(&shown));
			ctx->index_bad = 1;
		}
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(key.data);
	free(data.data);
	free(pdata.data);
	str_deinit(&want);
	str_deinit(&shown);
	tret = c->close(c);
	return ret != 0 ? ret : tret;
}

/* ---- pass 3: message copies */

static int pass_messages(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct check_ctx *ctx = vctx;
	DB *db = qs->db[QDB_MESSAGES], *inc = qs->db[QDB_INCIDENTS];
	char last[QSTORE_ID_LEN + 1] = "";
	DBC *c;
	DBT key, data, ikey, idata;
	int ret, tret;

	reset_pass(ctx);
	ctx->r.messages = 0;
	idlist_free(&ctx->orphan_copy);
	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return ret;
	qstore_dbt_out(&key);
	qstore_dbt_out(&data);
	data.flags |= DB_DBT_PARTIAL;
	qstore_dbt_out(&idata);
	idata.flags |= DB_DBT_PARTIAL;
	while ((ret = c->get(c, &key, &data, DB_NEXT)) == 0) {
		char id[QSTORE_ID_LEN + 1];

		if (key.size != QSTORE_ID_LEN + 4)
			continue;	/* reported below as orphan id "" */
		memcpy(id, key.data, QSTORE_ID_LEN);
		id[QSTORE_ID_LEN] = '\0';
		if (strcmp(id, last) == 0)
			continue;
		memcpy(last, id, sizeof(last));
		ctx->r.messages++;
		qstore_dbt_in(&ikey, id, QSTORE_ID_LEN);
		ret = inc->get(inc, txn, &ikey, &idata, 0);
		if (ret == DB_NOTFOUND) {
			problem(ctx, "message copy %s: no incident", id);
			idlist_add(&ctx->orphan_copy, id);
		} else if (ret != 0) {
			break;
		}
		ret = 0;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(key.data);
	free(data.data);
	free(idata.data);
	tret = c->close(c);
	return ret != 0 ? ret : tret;
}

/* ---- repairs */

struct fix_ctx {
	const char *id;
	const void *raw_key;
	size_t raw_len;
	int what;		/* 0 delete record, 1 delete copy, 2 mark */
	char *app_error;
};

static int fix_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct fix_ctx *ctx = vctx;
	DB *db = qs->db[QDB_INCIDENTS];
	struct qstore_incident inc;
	struct str rec = STR_INIT;
	DBT key, data;
	int ret;

	if (ctx->what == 0) {
		qstore_dbt_in(&key, ctx->raw_key, ctx->raw_len);
		ret = db->del(db, txn, &key, 0);
		if (ret == 0 && ctx->raw_len == QSTORE_ID_LEN) {
			char id[QSTORE_ID_LEN + 1];

			memcpy(id, ctx->raw_key, QSTORE_ID_LEN);
			id[QSTORE_ID_LEN] = '\0';
			ret = qstore_message_del(qs, txn, id);
		}
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	if ((ret = qstore_message_del(qs, txn, ctx->id)) != 0 || ctx->what == 1)
		return ret;
	qstore_dbt_in(&key, ctx->id, QSTORE_ID_LEN);
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, DB_RMW);
	if (ret == 0 && qstore_incident_decode(data.data, data.size, &inc) == 0) {
		inc.flags |= QSTORE_FLAG_NO_COPY;
		qstore_incident_add_action(&inc, time(NULL), "db check",
					   QSTORE_VIA_CLI,
					   "message copy lost");
		qstore_incident_encode(&inc, &rec);
		qstore_incident_deinit(&inc);
		free(data.data);
		qstore_dbt_in(&data, rec.s, rec.len);
		ret = db->put(db, txn, &key, &data, 0);
		str_deinit(&rec);
		return ret;
	}
	free(data.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

static int fix(struct qstore *qs, struct check_ctx *ctx, struct fix_ctx *f,
	       char **error_r, enum errkind *kind_r)
{
	if (qstore_run(qs, 1, fix_txn, f, "repairing", NULL, error_r,
		       kind_r) < 0)
		return -1;
	ctx->r.repaired++;
	return 0;
}

/* empty the indexes, then let associate(DB_CREATE) rebuild them */
static int rebuild_indexes(struct qstore *qs, char **error_r,
			   enum errkind *kind_r)
{
	DB_TXN *txn = NULL;
	u_int32_t count;
	int i, ret;

	for (i = QDB_IDX_STATUS; i >= QDB_IDX_USER; i--) {
		(void)qs->db[i]->close(qs->db[i], 0);
		qs->db[i] = NULL;
	}
	if ((ret = qs->env->txn_begin(qs->env, NULL, &txn, 0)) != 0)
		goto fail;
	for (i = QDB_IDX_USER; i <= QDB_IDX_STATUS; i++) {
		if ((ret = db_create(&qs->db[i], qs->env, 0)) != 0
		    || (ret = qs->db[i]->open(qs->db[i], txn,
				qstore_db_files[i], NULL, DB_BTREE,
				DB_CREATE | DB_THREAD, 0600)) != 0
		    || (ret = qs->db[i]->truncate(qs->db[i], txn, &count,
						  0)) != 0)
			goto fail;
	}
	if ((ret = txn->commit(txn, 0)) != 0) {
		txn = NULL;
		goto fail;
	}
	/* reopen associated: the empty indexes are filled from incidents */
	for (i = QDB_IDX_STATUS; i >= QDB_IDX_USER; i--) {
		(void)qs->db[i]->close(qs->db[i], 0);
		qs->db[i] = NULL;
	}
	if ((ret = qs->env->txn_begin(qs->env, NULL, &txn, 0)) != 0)
		goto fail;
	for (i = QDB_IDX_USER; i <= QDB_IDX_STATUS; i++) {
		if ((ret = db_create(&qs->db[i], qs->env, 0)) != 0
		    || (ret = qs->db[i]->open(qs->db[i], txn,
				qstore_db_files[i], NULL, DB_BTREE,
				DB_CREATE | DB_THREAD, 0600)) != 0)
			goto fail;
	}
	if ((ret = qstore_associate(qs, txn)) != 0)
		goto fail;
	if ((ret = txn->commit(txn, 0)) != 0) {
		txn = NULL;
		goto fail;
	}
	return 0;
fail:
	if (txn != NULL)
		(void)txn->abort(txn);
	qstore_fail(error_r, kind_r, ERR_TEMPORARY,
		    "rebuilding the indexes: %s", db_strerror(ret));
	return -1;
}

static int run_pass(struct qstore *qs, struct check_ctx *ctx,
		    qstore_txn_fn *fn, const char *what, FILE *report,
		    char **error_r, enum errkind *kind_r)
{
	size_t problems = ctx->r.problems;

	/* each pass body starts with reset_pass(): a retried pass (after
	   a deadlock) must not count its problems twice */
	ctx->problems_base = problems;
	if (qstore_run(qs, 0, fn, ctx, what, NULL, error_r, kind_r) < 0)
		return -1;
	if (report != NULL)
		fputs(str_c(&ctx->report), report);
	return 0;
}

int qstore_check(struct qstore *qs, int repair, FILE *report,
		 struct qstore_check_result *r, char **error_r,
		 enum errkind *kind_r)
{
	struct check_ctx ctx;
	struct qrec_reader rd;
	struct fix_ctx f;
	const unsigned char *v;
	unsigned tag;
	size_t i, n;
	int ret = -1, idx;

	memset(&ctx, 0, sizeof(ctx));
	memset(r, 0, sizeof(*r));
	/* walking a large database may take longer than any one call in
	   a daemon should */
	qs->watchdog_off = 1;
	if (run_pass(qs, &ctx, pass_incidents, "checking incidents", report,
		     error_r, kind_r) < 0)
		goto out;
	for (idx = QDB_IDX_USER; idx <= QDB_IDX_STATUS; idx++) {
		int oret;

		if ((oret = db_create(&ctx.raw, qs->env, 0)) != 0
		    || (oret = ctx.raw->open(ctx.raw, NULL, qstore_db_files[idx],
					     NULL, DB_BTREE,
					     DB_THREAD | DB_AUTO_COMMIT,
					     0600)) != 0) {
			qstore_fail(error_r, kind_r, ERR_TEMPORARY,
				    "opening %s: %s", qstore_db_files[idx],
				    db_strerror(oret));
			if (ctx.raw != NULL)
				(void)ctx.raw->close(ctx.raw, 0);
			ctx.raw = NULL;
			goto out;
		}
		ctx.idx = idx;
		ctx.index_base = ctx.r.index_entries;
		ret = run_pass(qs, &ctx, pass_index, "checking an index",
			       report, error_r, kind_r);
		(void)ctx.raw->close(ctx.raw, 0);
		ctx.raw = NULL;
		if (ret < 0)
			goto out;
	}
	ret = -1;
	if (run_pass(qs, &ctx, pass_messages, "checking message copies",
		     report, error_r, kind_r) < 0)
		goto out;
	if (repair) {
		memset(&f, 0, sizeof(f));
		qrec_open_inner(&rd, ctx.bad_keys.s, ctx.bad_keys.len);
		while (qrec_next(&rd, &tag, &v, &n) > 0) {
			f.what = 0;
			f.raw_key = v;
			f.raw_len = n;
			if (fix(qs, &ctx, &f, error_r, kind_r) < 0)
				goto out;
		}
		for (i = 0; i < ctx.orphan_copy.n; i++) {
			f.what = 1;
			f.id = ctx.orphan_copy.v[i];
			if (fix(qs, &ctx, &f, error_r, kind_r) < 0)
				goto out;
		}
		for (i = 0; i < ctx.missing_copy.n + ctx.damaged_copy.n; i++) {
			f.what = 2;
			f.id = i < ctx.missing_copy.n ? ctx.missing_copy.v[i] :
				ctx.damaged_copy.v[i - ctx.missing_copy.n];
			if (fix(qs, &ctx, &f, error_r, kind_r) < 0)
				goto out;
		}
		if (ctx.index_bad) {
			if (rebuild_indexes(qs, error_r, kind_r) < 0)
				goto out;
			ctx.r.repaired++;
			if (report != NULL)
				fputs("indexes rebuilt\n", report);
		}
	}
	ret = 0;
out:
	qs->watchdog_off = 0;
	*r = ctx.r;
	str_deinit(&ctx.report);
	str_deinit(&ctx.bad_keys);
	idlist_free(&ctx.missing_copy);
	idlist_free(&ctx.damaged_copy);
	idlist_free(&ctx.orphan_copy);
	return ret;
}
