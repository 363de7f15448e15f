/*
 * qstore_watch - conditional verdicts and folderd's state records.
 * See qstore_watch.h.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "qstore_private.h"
#include "qstore_watch.h"

/* ------------------------------------------------------------------ */
/* conditional verdict */

struct verdict_ctx {
	const char *id, *user, *who, *note;
	enum qstore_status status;
	unsigned only_from;
	enum qstore_via via;
	struct qstore_incident inc;	/* valid when have_inc */
	int have_inc;
	enum qstore_verdict_result result;
	char *app_error;
};

static void verdict_reset(struct verdict_ctx *ctx)
{
	if (ctx->have_inc)
		qstore_incident_deinit(&ctx->inc);
	ctx->have_inc = 0;
	ctx->result = QSTORE_VERDICT_UNKNOWN;
}

static int verdict_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct verdict_ctx *ctx = vctx;
	DB *db = qs->db[QDB_INCIDENTS];
	struct str rec = STR_INIT, what = STR_INIT;
	DBT key, data;
	int ret;

	verdict_reset(ctx);	/* the body may run more than once */
	qstore_dbt_in(&key, ctx->id, strlen(ctx->id));
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, DB_RMW);
	if (ret == DB_NOTFOUND) {
		free(data.data);
		return 0;
	}
	if (ret != 0) {
		free(data.data);
		return ret;
	}
	/* decode initialises the incident (and frees it on failure) */
	if (qstore_incident_decode(data.data, data.size, &ctx->inc) < 0) {
		free(data.data);
		ctx->app_error = mystrdup("incident record is damaged "
					  "(run spamtrap db check)");
		return QSTORE_EAPP;
	}
	ctx->have_inc = 1;
	free(data.data);
	memcpy(ctx->inc.id, ctx->id, QSTORE_ID_LEN + 1);
	if (ctx->user != NULL && strcmp(ctx->inc.user, ctx->user) != 0) {
		ctx->result = QSTORE_VERDICT_FOREIGN;
		return 0;
	}
	if (ctx->inc.status == ctx->status
	    || (ctx->only_from != 0
		&& (ctx->only_from & QSTORE_STATUS_BIT(ctx->inc.status)) == 0)) {
		ctx->result = QSTORE_VERDICT_UNCHANGED;
		return 0;
	}
	ctx->inc.status = ctx->status;
	str_printf(&what, "status %s", qstore_status_name(ctx->status));
	if (ctx->note != NULL && ctx->note[0] != '\0')
		str_printf(&what, ": %s", ctx->note);
	qstore_incident_add_action(&ctx->inc, time(NULL), ctx->who, ctx->via,
				   str_c(&what));
	str_deinit(&what);
	qstore_incident_encode(&ctx->inc, &rec);
	qstore_dbt_in(&data, rec.s, rec.len);
	ret = db->put(db, txn, &key, &data, 0);
	str_deinit(&rec);
	if (ret != 0)
		return ret;
	ctx->result = QSTORE_VERDICT_CHANGED;
	return 0;
}

int qstore_incident_verdict(struct qstore *qs, const char *id,
			    const char *user, enum qstore_status status,
			    unsigned only_from, const char *who,
			    enum qstore_via via, const char *note,
			    struct qstore_incident *inc_r,
			    enum qstore_verdict_result *result_r,
			    char **error_r, enum errkind *kind_r)
{
	struct verdict_ctx ctx;
	int ret;

	if (status < QSTORE_PENDING || status > QSTORE_NON_SPAM)
		msg_panic("qstore_incident_verdict: bad status %d", (int)status);
	*result_r = QSTORE_VERDICT_UNKNOWN;
	if (!qstore_id_valid(id))
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = id;
	ctx.user = user;
	ctx.who = who;
	ctx.note = note;
	ctx.status = status;
	ctx.only_from = only_from;
	ctx.via = via;
	ret = qstore_run(qs, 1, verdict_txn, &ctx, "recording a verdict",
			 &ctx.app_error, error_r, kind_r);
	if (ret < 0) {
		verdict_reset(&ctx);
		return -1;
	}
	*result_r = ctx.result;
	if (ctx.have_inc && inc_r != NULL && ctx.result != QSTORE_VERDICT_UNKNOWN)
		*inc_r = ctx.inc;	/* handed over */
	else if (ctx.have_inc)
		qstore_incident_deinit(&ctx.inc);
	return 0;
}

/* ------------------------------------------------------------------ */
/* state records */

void qstore_watch_key(struct str *key, char tag, const char *a, const char *b)
{
	str_clear(key);
	str_appendc(key, tag);
	str_appends(key, a);
	str_appendc(key, '\0');
	if (b != NULL)
		str_appends(key, b);
}

struct rec_ctx {
	const struct str *key;
	const void *val;
	size_t len;
	struct str *out;
	int found, stored, del;
	int noover;
};

static int get_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct rec_ctx *ctx = vctx;
	DB *db = qs->db[QDB_WATCH];
	DBT key, data;
	int ret;

	ctx->found = 0;
	qstore_dbt_in(&key, ctx->key->s, ctx->key->len);
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, 0);
	if (ret == 0) {
		ctx->found = 1;
		if (ctx->out != NULL) {
			str_clear(ctx->out);
			str_append(ctx->out, data.data, data.size);
		}
	}
	free(data.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

int qstore_watch_get(struct qstore *qs, const struct str *key,
		     struct str *val_r, char **error_r, enum errkind *kind_r)
{
	struct rec_ctx ctx = { .key = key, .out = val_r };

	if (qstore_run(qs, 0, get_txn, &ctx, "reading folder state", NULL,
		       error_r, kind_r) < 0)
		return -1;
	return ctx.found;
}

static int put_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct rec_ctx *ctx = vctx;
	DB *db = qs->db[QDB_WATCH];
	DBT key, data;
	int ret;

	ctx->stored = 0;
	ctx->found = 0;
	qstore_dbt_in(&key, ctx->key->s, ctx->key->len);
	if (ctx->del) {
		ret = db->del(db, txn, &key, 0);
		if (ret == 0)
			ctx->found = 1;
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	if (ctx->noover) {
		qstore_dbt_out(&data);
		ret = db->get(db, txn, &key, &data, DB_RMW);
		if (ret == 0) {
			ctx->found = 1;
			if (ctx->out != NULL) {
				str_clear(ctx->out);
				str_append(ctx->out, data.data, data.size);
			}
		}
		free(data.data);
		if (ret == 0)
			return 0;
		if (ret != DB_NOTFOUND)
			return ret;
	}
	qstore_dbt_in(&data, ctx->val, ctx->len);
	if ((ret = db->put(db, txn, &key, &data, 0)) != 0)
		return ret;
	ctx->stored = 1;
	return 0;
}

int qstore_watch_put(struct qstore *qs, const struct str *key,
		     const void *val, size_t len, char **error_r,
		     enum errkind *kind_r)
{
	struct rec_ctx ctx = { .key = key, .val = val, .len = len };

	return qstore_run(qs, 1, put_txn, &ctx, "saving folder state", NULL,
			  error_r, kind_r) < 0 ? -1 : 0;
}

int qstore_watch_add(struct qstore *qs, const struct str *key,
		     const void *val, size_t len, struct str *old_r,
		     char **error_r, enum errkind *kind_r)
{
	struct rec_ctx ctx = { .key = key, .val = val, .len = len,
			       .out = old_r, .noover = 1 };

	if (qstore_run(qs, 1, put_txn, &ctx, "saving folder state", NULL,
		       error_r, kind_r) < 0)
		return -1;
	return ctx.stored;
}

int qstore_watch_del(struct qstore *qs, const struct str *key,
		     char **error_r, enum errkind *kind_r)
{
	struct rec_ctx ctx = { .key = key, .del = 1 };

	if (qstore_run(qs, 1, put_txn, &ctx, "removing folder state", NULL,
		       error_r, kind_r) < 0)
		return -1;
	return ctx.found;
}

struct scan_ctx {
	const struct str *prefix;
	struct str *keys, *vals;
	size_t n, cap;
};

static void scan_clear(struct scan_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n; i++) {
		str_deinit(&ctx->keys[i]);
		str_deinit(&ctx->vals[i]);
	}
	ctx->n = 0;
}

static int scan_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct scan_ctx *ctx = vctx;
	DB *db = qs->db[QDB_WATCH];
	DBC *c;
	DBT key, data;
	int ret, tret;
	u_int32_t op = DB_SET_RANGE;

	scan_clear(ctx);
	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return ret;
	qstore_dbt_out(&key);
	qstore_dbt_out(&data);
	/* DB_SET_RANGE needs the prefix in the key buffer */
	key.data = mymemdup(ctx->prefix->s, ctx->prefix->len ? ctx->prefix->len : 1);
	key.size = (u_int32_t)ctx->prefix->len;
	for (;;) {
		ret = c->get(c, &key, &data, op);
		op = DB_NEXT;
		if (ret != 0)
			break;
		if (key.size < ctx->prefix->len
		    || memcmp(key.data, ctx->prefix->s, ctx->prefix->len) != 0)
			break;
		if (ctx->n == ctx->cap) {
			ctx->cap = ctx->cap ? 2 * ctx->cap : 16;
			ctx->keys = myrealloc(ctx->keys, ctx->cap * sizeof(*ctx->keys));
			ctx->vals = myrealloc(ctx->vals, ctx->cap * sizeof(*ctx->vals));
		}
		str_init(&ctx->keys[ctx->n], key.size + 1);
		str_append(&ctx->keys[ctx->n], key.data, key.size);
		str_init(&ctx->vals[ctx->n], data.size + 1);
		str_append(&ctx->vals[ctx->n], data.data, data.size);
		ctx->n++;
	}
	free(key.data);
	free(data.data);
	tret = c->close(c);
	if (ret == DB_NOTFOUND)
		ret = 0;
	return ret != 0 ? ret : tret;
}

int qstore_watch_scan(struct qstore *qs, const struct str *prefix,
		      int (*fn)(const struct str *key, const struct str *val,
				void *ctx),
		      void *fctx, char **error_r, enum errkind *kind_r)
{
	struct scan_ctx ctx = { .prefix = prefix };
	size_t i;
	int ret = 0;

	if (qstore_run(qs, 0, scan_txn, &ctx, "reading folder state", NULL,
		       error_r, kind_r) < 0)
		ret = -1;
	for (i = 0; ret == 0 && i < ctx.n; i++)
		if (fn(&ctx.keys[i], &ctx.vals[i], fctx) != 0)
			break;
	scan_clear(&ctx);
	free(ctx.keys);
	free(ctx.vals);
	return ret;
}
