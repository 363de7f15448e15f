/*
 * qstore_bulk - multi-change transactions, walks, markers and backup
 * for the spamtrap command (see qstore_bulk.h).
 *
 * The record formats are those of qstore_table.c ('T' records, key
 * scope \0 kind-letter key) and qstore_prefs.c ('P' records of
 * (name, value) pairs in the order they were set); the constants below
 * must stay in step with those files.  Markers live in prefs.db under
 * "\001" name "\0" user: no user name starts with a control character,
 * so qstore_prefs_get() never sees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "msg.h"
#include "mymalloc.h"
#include "qstore_bulk.h"
#include "qstore_private.h"

/* qstore_table.c */
enum { TT_ACTION = 1, TT_WHO, TT_COMMENT, TT_WHEN };
static const char kind_letter[QSTORE_TABLE_KINDS] = { 's', 'd', 'r' };
#define COMMENT_MAX	1000

/* qstore_prefs.c */
enum { TP_PAIR = 1 };
enum { TPP_NAME = 1, TPP_VALUE };

#define MARKER_LEAD	'\001'

/* ------------------------------------------------------------------ */
/* tables */

struct bulk_ctx {
	const char *scope;
	enum qstore_table_kind kind;
	struct qstore_bulk_item *items;
	size_t n;
	enum qstore_action_kind action;
	const char *who, *comment;
};

static void table_key(const char *scope, enum qstore_table_kind kind,
		      const char *norm, struct str *k)
{
	str_clear(k);
	str_append(k, scope, strlen(scope) + 1);
	str_appendc(k, kind_letter[kind]);
	str_appends(k, norm);
}

static enum qstore_action_kind record_action(const void *data, size_t len)
{
	struct qrec_reader r;
	const unsigned char *v;
	unsigned tag;
	uint64_t u;
	size_t n;

	if (qrec_open(&r, data, len, 'T') < 0)
		return QSTORE_ACT_NONE;
	while (qrec_next(&r, &tag, &v, &n) > 0)
		if (tag == TT_ACTION && qrec_get_u64(v, n, &u) == 0
		    && u >= QSTORE_ACT_ALLOW && u <= QSTORE_ACT_REJECT)
			return (enum qstore_action_kind)u;
	return QSTORE_ACT_NONE;
}

static int bulk_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct bulk_ctx *ctx = vctx;
	DB *db = qs->db[QDB_TABLES];
	struct str k = STR_INIT, rec = STR_INIT;
	time_t now = time(NULL);
	size_t i;
	int ret = 0;

	for (i = 0; i < ctx->n && ret == 0; i++) {
		struct qstore_bulk_item *it = &ctx->items[i];
		DBT key, data;

		table_key(ctx->scope, ctx->kind, it->norm, &k);
		qstore_dbt_in(&key, k.s, k.len);
		qstore_dbt_out(&data);
		ret = db->get(db, txn, &key, &data, DB_RMW);
		it->before = ret == 0 ? record_action(data.data, data.size)
			: QSTORE_ACT_NONE;
		free(data.data);
		if (ret == DB_NOTFOUND)
			ret = 0;
		if (ret != 0)
			break;
		if (ctx->action == QSTORE_ACT_NONE) {
			if (it->before != QSTORE_ACT_NONE
			    && (ret = db->del(db, txn, &key, 0)) == DB_NOTFOUND)
				ret = 0;
			continue;
		}
		qrec_begin(&rec, 'T');
		qrec_put_u64(&rec, TT_ACTION, ctx->action);
		qrec_put_str(&rec, TT_WHO, ctx->who);
		qrec_put_str(&rec, TT_COMMENT, it->comment != NULL
			     ? it->comment : ctx->comment);
		qrec_put_i64(&rec, TT_WHEN, (int64_t)now);
		qstore_dbt_in(&data, rec.s, rec.len);
		ret = db->put(db, txn, &key, &data, 0);
		str_clear(&rec);
	}
	str_deinit(&k);
	str_deinit(&rec);
	return ret;
}

void qstore_bulk_items_clear(struct qstore_bulk_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		MYFREE(&items[i].norm);
}

int qstore_table_bulk(struct qstore *qs, const char *user,
		      enum qstore_table_kind kind,
		      struct qstore_bulk_item *items, size_t n,
		      enum qstore_action_kind action, const char *who,
		      const char *comment, char **error_r,
		      enum errkind *kind_r)
{
	struct bulk_ctx ctx;
	struct str norm = STR_INIT;
	const char *why;
	size_t i;

	if ((unsigned)kind >= QSTORE_TABLE_KINDS
	    || action < QSTORE_ACT_NONE || action > QSTORE_ACT_REJECT) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "unknown table or action");
		return -1;
	}
	if (user != NULL && strlen(user) > ADDRESS_MAX) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "user too long");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *c = items[i].comment != NULL ? items[i].comment
			: comment;

		items[i].before = QSTORE_ACT_NONE;
		if (c != NULL && strlen(c) > COMMENT_MAX) {
			qstore_fail(error_r, kind_r, ERR_PERMANENT,
				    "line %zu: comment longer than %d "
				    "characters", i + 1, COMMENT_MAX);
			goto fail;
		}
		if (qstore_table_normalize(kind, items[i].key, &norm,
					   &why) < 0) {
			qstore_fail(error_r, kind_r, ERR_PERMANENT,
				    "line %zu: %s \"%s\": %s", i + 1,
				    qstore_table_kind_name(kind),
				    items[i].key != NULL ? items[i].key : "",
				    why);
			goto fail;
		}
		items[i].norm = str_steal(&norm);
	}
	str_deinit(&norm);
	memset(&ctx, 0, sizeof(ctx));
	ctx.scope = user != NULL ? user : "";
	ctx.kind = kind;
	ctx.items = items;
	ctx.n = n;
	ctx.action = action;
	ctx.who = who != NULL ? who : "";
	ctx.comment = comment != NULL ? comment : "";
	if (qstore_run(qs, 1, bulk_txn, &ctx, "changing table entries in bulk",
		       NULL, error_r, kind_r) < 0) {
		qstore_bulk_items_clear(items, n);
		return -1;
	}
	return 0;
fail:
	str_deinit(&norm);
	qstore_bulk_items_clear(items, n);
	return -1;
}

/* ------------------------------------------------------------------ */
/* preferences */

struct many_ctx {
	const char *user;
	const char *const *names, *const *values;
	size_t n;
	int invalid;
	char *app_error;
};

static int many_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct many_ctx *ctx = vctx;
	struct qstore_pref_list site = { NULL, 0 }, user = { NULL, 0 };
	struct qstore_pref_list *own = ctx->user[0] ? &user : &site;
	struct qstore_prefs p;
	struct str rec = STR_INIT;
	DB *db = qs->db[QDB_PREFS];
	const char *why;
	DBT key, data;
	size_t i;
	int ret;

	qstore_prefs_init(&p);
	if ((ret = qstore_pref_list_read(qs, txn, "", !ctx->user[0], &site)) != 0)
		goto out;
	if (ctx->user[0]
	    && (ret = qstore_pref_list_read(qs, txn, ctx->user, 1, &user)) != 0)
		goto out;
	for (i = 0; i < ctx->n; i++) {
		const char *name = ctx->names[i], *value = ctx->values[i];

		if (value == NULL) {
			(void)qstore_pref_list_unset(own, name);
			continue;
		}
		/* validate against what is effective at this point */
		qstore_prefs_deinit(&p);
		qstore_prefs_init(&p);
		qstore_pref_list_apply(&p, &site, "");
		if (ctx->user[0])
			qstore_pref_list_apply(&p, &user, ctx->user);
		if (qstore_prefs_apply(&p, name, value, &why) < 0) {
			struct str e = STR_INIT;

			str_printf(&e, "%s = %s: %s", name, value, why);
			ctx->app_error = str_steal(&e);
			ctx->invalid = 1;
			ret = QSTORE_EAPP;
			goto out;
		}
		if (strcmp(name, "stream") == 0) {
			struct str v = STR_INIT;

			qstore_prefs_format(&p, "spam_threshold", &v);
			qstore_pref_list_set(own, "spam_threshold", str_c(&v));
			qstore_pref_list_set(own, "tag_only", p.tag_only ? "yes" : "no");
			str_deinit(&v);
		}
		qstore_pref_list_set(own, name, value);
		if (strcmp(name, "spam_threshold") == 0
		    || strcmp(name, "tag_only") == 0)
			qstore_pref_list_set(own, "stream", "custom");
	}
	qstore_pref_list_encode(own, &rec);
	qstore_dbt_in(&key, ctx->user, strlen(ctx->user));
	qstore_dbt_in(&data, rec.s, rec.len);
	ret = db->put(db, txn, &key, &data, 0);
out:
	qstore_prefs_deinit(&p);
	str_deinit(&rec);
	qstore_pref_list_clear(&site);
	qstore_pref_list_clear(&user);
	return ret;
}

int qstore_prefs_set_many(struct qstore *qs, const char *user,
			  const char *const *names,
			  const char *const *values, size_t n,
			  char **error_r, enum errkind *kind_r)
{
	struct many_ctx ctx;
	size_t i;
	int j, ret;

	for (i = 0; i < n; i++) {
		for (j = 0; qstore_prefs_names[j]; j++)
			if (names[i] != NULL
			    && strcmp(names[i], qstore_prefs_names[j]) == 0)
				break;
		if (qstore_prefs_names[j] == NULL) {
			qstore_fail(error_r, kind_r, ERR_PERMANENT,
				    "unknown preference \"%s\"",
				    names[i] != NULL ? names[i] : "");
			return -1;
		}
	}
	if (user != NULL && strlen(user) > ADDRESS_MAX) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "user too long");
		return -1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user != NULL ? user : "";
	ctx.names = names;
	ctx.values = values;
	ctx.n = n;
	ret = qstore_run(qs, 1, many_txn, &ctx, "changing preferences",
			 &ctx.app_error, error_r, kind_r);
	if (ret < 0 && ctx.invalid && kind_r != NULL)
		*kind_r = ERR_PERMANENT;
	return ret;
}

struct stored_ctx {
	const char *user;
	struct qstore_pref_list l;
};

static int stored_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct stored_ctx *ctx = vctx;

	return qstore_pref_list_read(qs, txn, ctx->user, 0, &ctx->l);
}

int qstore_prefs_stored(struct qstore *qs, const char *user,
			void (*fn)(const char *name, const char *value,
				   void *ctx),
			void *fn_ctx, char **error_r, enum errkind *kind_r)
{
	struct stored_ctx ctx;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user != NULL ? user : "";
	if (qstore_run(qs, 0, stored_txn, &ctx, "reading preferences", NULL,
		       error_r, kind_r) < 0) {
		qstore_pref_list_clear(&ctx.l);
		return -1;
	}
	for (i = 0; i < ctx.l.n; i++)
		fn(ctx.l.v[i].name, ctx.l.v[i].value, fn_ctx);
	qstore_pref_list_clear(&ctx.l);
	return 0;
}

/* ------------------------------------------------------------------ */
/* walking incidents */

struct scan_ctx {
	const char *user;
	int status, oldest_first;
	qstore_scan_fn *fn;
	void *fn_ctx;
	int started;
	char *app_error;
};

static int scan_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct scan_ctx *ctx = vctx;
	struct str prefix = STR_INIT;
	DB *db;
	DBC *c = NULL;
	DBT skey, pkey, data;
	int backwards = !ctx->oldest_first, primary = 0, ret, tret;

	if (ctx->started)
		(void)ctx->fn(NULL, ctx->fn_ctx);
	ctx->started = 1;
	db = qstore_incident_index(qs, ctx->user, ctx->status, &prefix, &primary);
	if ((ret = db->cursor(db, txn, &c, DB_READ_COMMITTED)) != 0)
		goto out;
	qstore_dbt_out(&skey);
	qstore_dbt_out(&pkey);
	qstore_dbt_out(&data);
	ret = qstore_walk_first(c, primary, &prefix, backwards, &skey, &pkey,
				&data);
	while (ret == 0) {
		struct qstore_incident inc;
		const DBT *idk = primary ? &skey : &pkey;
		int stop;

		if (!qstore_walk_in(&skey, &prefix))
			break;
		/* decode initializes INC, and leaves it freeable on failure */
		if (qstore_incident_decode(data.data, data.size, &inc) < 0) {
			qstore_incident_deinit(&inc);
			ctx->app_error = mystrdup("an incident record is "
				"damaged (run spamtrap db check)");
			ret = QSTORE_EAPP;
			break;
		}
		if (idk->size == QSTORE_ID_LEN)
			memcpy(inc.id, idk->data, QSTORE_ID_LEN);
		inc.id[QSTORE_ID_LEN] = '\0';
		stop = ctx->fn(&inc, ctx->fn_ctx);
		qstore_incident_deinit(&inc);
		if (stop)
			break;
		ret = qstore_walk_next(c, primary, backwards, &skey, &pkey,
				       &data);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(skey.data);
	free(pkey.data);
	free(data.data);
out:
	if (c != NULL && (tret = c->close(c)) != 0 && ret == 0)
		ret = tret;
	str_deinit(&prefix);
	return ret;
}

int qstore_incident_scan(struct qstore *qs, const char *user, int status,
			 int oldest_first, qstore_scan_fn *fn, void *fn_ctx,
			 char **error_r, enum errkind *kind_r)
{
	struct scan_ctx ctx;
	int ret;

	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user;
	ctx.status = status;
	ctx.oldest_first = oldest_first;
	ctx.fn = fn;
	ctx.fn_ctx = fn_ctx;
	qs->watchdog_off = 1;
	ret = qstore_run(qs, 0, scan_txn, &ctx, "walking incidents",
			 &ctx.app_error, error_r, kind_r);
	qs->watchdog_off = 0;
	return ret;
}

/* ------------------------------------------------------------------ */
/* users */

struct user_seen {
	char *user;
	unsigned what;
};

struct users_ctx {
	struct user_seen *v;
	size_t n;
};

static void users_clear(struct users_ctx *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->v[i].user);
	MYFREE(&u->v);
	u->n = 0;
}

static void users_add(struct users_ctx *u, const char *user, size_t len,
		      unsigned what)
{
	/* keys come sorted: skip the repeats of one walk (the walks are
	   merged after sorting) */
	if (u->n > 0 && u->v[u->n - 1].what == what
	    && strlen(u->v[u->n - 1].user) == len
	    && memcmp(u->v[u->n - 1].user, user, len) == 0)
		return;
	u->v = myrealloc(u->v, (u->n + 1) * sizeof(*u->v));
	u->v[u->n].user = mystrndup(user, len);
	u->v[u->n].what = what;
	u->n++;
}

static int users_walk(struct qstore *qs, DB_TXN *txn, enum qstore_dbi dbi,
		      struct users_ctx *u)
{
	DB *db = qs->db[dbi];
	DBC *c;
	DBT key, data;
	int ret, tret;

	if ((ret = db->cursor(db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	qstore_dbt_out(&key);
	qstore_dbt_out(&data);
	data.flags |= DB_DBT_PARTIAL;	/* dlen 0: keys only */
	while ((ret = c->get(c, &key, &data, DB_NEXT)) == 0) {
		const char *k = key.data;
		size_t len;

		if (key.size == 0 || k[0] == MARKER_LEAD || k[0] == '\0')
			continue;	/* marker or site */
		if (dbi == QDB_PREFS) {
			users_add(u, k, key.size, QSTORE_USER_HAS_PREFS);
		} else {
			const char *nul = memchr(k, '\0', key.size);

			len = nul != NULL ? (size_t)(nul - k) : key.size;
			users_add(u, k, len, QSTORE_USER_HAS_TABLES);
		}
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(key.data);
	free(data.data);
	tret = c->close(c);
	return ret != 0 ? ret : tret;
}

static int users_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct users_ctx *u = vctx;
	int ret;

	users_clear(u);
	if ((ret = users_walk(qs, txn, QDB_PREFS, u)) != 0)
		return ret;
	return users_walk(qs, txn, QDB_TABLES, u);
}

static int user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct user_seen *)a)->user,
		      ((const struct user_seen *)b)->user);
}

int qstore_users_scan(struct qstore *qs,
		      int (*fn)(const char *user, unsigned what, void *ctx),
		      void *fn_ctx, char **error_r, enum errkind *kind_r)
{
	struct users_ctx u = { NULL, 0 };
	size_t i, j;

	if (qstore_run(qs, 0, users_txn, &u, "listing users", NULL, error_r,
		       kind_r) < 0) {
		users_clear(&u);
		return -1;
	}
	if (u.n > 0)
		qsort(u.v, u.n, sizeof(*u.v), user_cmp);
	for (i = 0; i < u.n; i = j) {
		unsigned what = u.v[i].what;

		for (j = i + 1; j < u.n && strcmp(u.v[j].user,
						  u.v[i].user) == 0; j++)
			what |= u.v[j].what;
		if (fn(u.v[i].user, what, fn_ctx) != 0)
			break;
	}
	users_clear(&u);
	return 0;
}

/* ------------------------------------------------------------------ */
/* markers */

struct marker_ctx {
	struct str key;
	const char *value;
	int op;			/* 0 get, 1 claim, 2 set */
	int found, claimed;
	char *old;
};

static int marker_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct marker_ctx *ctx = vctx;
	DB *db = qs->db[QDB_PREFS];
	DBT key, data;
	int ret;

	MYFREE(&ctx->old);
	ctx->found = ctx->claimed = 0;
	qstore_dbt_in(&key, ctx->key.s, ctx->key.len);
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, ctx->op != 0 ? DB_RMW : 0);
	if (ret == 0) {
		ctx->found = 1;
		ctx->old = mystrndup(data.data, data.size);
	}
	free(data.data);
	if (ret == DB_NOTFOUND) {
		ctx->old = mystrdup("");
		ret = 0;
	}
	if (ret != 0 || ctx->op == 0)
		return ret;
	if (ctx->op == 1 && strcmp(ctx->old, ctx->value) == 0)
		return 0;
	ctx->claimed = 1;
	if (ctx->value[0] == '\0') {
		ret = db->del(db, txn, &key, 0);
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	qstore_dbt_in(&data, ctx->value, strlen(ctx->value));
	return db->put(db, txn, &key, &data, 0);
}

static int marker_run(struct qstore *qs, const char *user, const char *name,
		      const char *value, int op, struct marker_ctx *ctx,
		      char **error_r, enum errkind *kind_r)
{
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	if (user == NULL || name == NULL || strlen(user) > ADDRESS_MAX
	    || strchr(name, '\0') == name) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "bad marker name or user");
		return -1;
	}
	str_appendc(&ctx->key, MARKER_LEAD);
	str_append(&ctx->key, name, strlen(name) + 1);
	str_appends(&ctx->key, user);
	ctx->value = value != NULL ? value : "";
	ctx->op = op;
	ret = qstore_run(qs, op != 0, marker_txn, ctx, "marking a user", NULL,
			 error_r, kind_r);
	str_deinit(&ctx->key);
	if (ret < 0)
		MYFREE(&ctx->old);
	return ret;
}

int qstore_marker_claim(struct qstore *qs, const char *user,
			const char *name, const char *value, char **old_r,
			char **error_r, enum errkind *kind_r)
{
	struct marker_ctx ctx;

	if (marker_run(qs, user, name, value, 1, &ctx, error_r, kind_r) < 0)
		return -1;
	if (old_r != NULL)
		*old_r = ctx.old;
	else
		free(ctx.old);
	return ctx.claimed;
}

int qstore_marker_set(struct qstore *qs, const char *user, const char *name,
		      const char *value, char **error_r, enum errkind *kind_r)
{
	struct marker_ctx ctx;

	if (marker_run(qs, user, name, value, 2, &ctx, error_r, kind_r) < 0)
		return -1;
	free(ctx.old);
	return 0;
}

int qstore_marker_get(struct qstore *qs, const char *user, const char *name,
		      char **value_r, char **error_r, enum errkind *kind_r)
{
	struct marker_ctx ctx;

	*value_r = NULL;
	if (marker_run(qs, user, name, NULL, 0, &ctx, error_r, kind_r) < 0)
		return -1;
	if (!ctx.found) {
		free(ctx.old);
		return 0;
	}
	*value_r = ctx.old;
	return 1;
}

/* ------------------------------------------------------------------ */
/* hot backup */

static int copy_file(const char *from, const char *to, char **error_r,
		     enum errkind *kind_r)
{
	char buf[8192];
	ssize_t n;
	int in, out, ret = -1;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "open %s: %s",
			    from, strerror(errno));
		return -1;
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "create %s: %s",
			    to, strerror(errno));
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);

			if (w < 0) {
				qstore_fail(error_r, kind_r, errno == ENOSPC
					    ? ERR_NOSPACE : ERR_TEMPORARY,
					    "write %s: %s", to,
					    strerror(errno));
				goto done;
			}
			p += w;
			n -= w;
		}
	}
	if (n < 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "read %s: %s",
			    from, strerror(errno));
		goto done;
	}
	if (fsync(out) < 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "fsync %s: %s",
			    to, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (close(out) < 0 && ret == 0) {
		qstore_fail(error_r, kind_r, ERR_TEMPORARY, "close %s: %s",
			    to, strerror(errno));
		ret = -1;
	}
	close(in);
	return ret;
}

int qstore_backup(struct qstore *qs, const char *dir, char **error_r,
		  enum errkind *kind_r)
{
	struct str from = STR_INIT, to = STR_INIT;
	char *real_db, *real_dir;
	int ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "mkdir %s: %s",
			    dir, strerror(errno));
		return -1;
	}
	real_db = realpath(qs->dir, NULL);
	real_dir = realpath(dir, NULL);
	if (real_dir == NULL || real_db == NULL
	    || strcmp(real_db, real_dir) == 0) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "%s: not a usable backup directory%s", dir,
			    real_dir != NULL ? " (it is db_dir)" : "");
		free(real_db);
		free(real_dir);
		return -1;
	}
	free(real_db);
	free(real_dir);
	/* a checkpoint first keeps the log tail to copy short */
	if (qstore_checkpoint(qs, NULL) < 0)
		msg_warn("backup: checkpoint failed; copying more log");
	/* qs->env is only replaced by this thread (qstore_run) */
	if (qs->env == NULL) {
		ret = DB_RUNRECOVERY;
	} else {
		/* DB_BACKUP_CLEAN: a stale copy in DIR is replaced */
		ret = qs->env->backup(qs->env, dir,
				      DB_CREATE | DB_BACKUP_CLEAN);
	}
	if (ret != 0) {
		qstore_fail(error_r, kind_r, ret == ENOSPC ? ERR_NOSPACE
			    : ERR_TEMPORARY, "backup to %s: %s", dir,
			    db_strerror(ret));
		return -1;
	}
	str_printf(&from, "%s/secret", qs->dir);
	str_printf(&to, "%s/secret", dir);
	ret = copy_file(str_c(&from), str_c(&to), error_r, kind_r);
	str_deinit(&from);
	str_deinit(&to);
	return ret;
}
