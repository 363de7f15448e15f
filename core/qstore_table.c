/*
 * qstore_table - sender, domain and relay tables, per user and site-wide.
 *
 * tables.db key:  scope \0 kind-letter normalized-key
 *	scope is the user, or "" for the site table; kind-letter is
 *	's' sender, 'd' domain, 'r' relay.  Relay keys are canonical
 *	"address/length" with the host bits zero, so a lookup of an
 *	address tries each prefix length from the longest down.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "mymalloc.h"
#include "qstore_private.h"

enum { TT_ACTION = 1, TT_WHO, TT_COMMENT, TT_WHEN };

static const char kind_letter[QSTORE_TABLE_KINDS] = { 's', 'd', 'r' };

const char *qstore_table_kind_name(enum qstore_table_kind kind)
{
	switch (kind) {
	case QSTORE_TABLE_SENDER:
		return "sender";
	case QSTORE_TABLE_DOMAIN:
		return "domain";
	case QSTORE_TABLE_RELAY:
		return "relay";
	}
	return "unknown";
}

int qstore_table_kind_parse(const char *name, enum qstore_table_kind *r)
{
	int k;

	for (k = 0; k < QSTORE_TABLE_KINDS; k++) {
		if (strcasecmp(name, qstore_table_kind_name(k)) == 0) {
			*r = k;
			return 0;
		}
	}
	return -1;
}

const char *qstore_action_name(enum qstore_action_kind action)
{
	switch (action) {
	case QSTORE_ACT_ALLOW:
		return "allow";
	case QSTORE_ACT_HOLD:
		return "hold";
	case QSTORE_ACT_DEFAULT:
		return "default";
	case QSTORE_ACT_REJECT:
		return "reject";
	case QSTORE_ACT_NONE:
		break;
	}
	return "none";
}

int qstore_action_parse(const char *name)
{
	int a;

	for (a = QSTORE_ACT_ALLOW; a <= QSTORE_ACT_REJECT; a++)
		if (strcasecmp(name, qstore_action_name(a)) == 0)
			return a;
	return 0;
}

void qstore_table_entry_deinit(struct qstore_table_entry *e)
{
	MYFREE(&e->scope);
	MYFREE(&e->key);
	MYFREE(&e->who);
	MYFREE(&e->comment);
}

/* ---- normalizing keys */

static int norm_domain(const char *s, struct str *out, const char **error_r)
{
	size_t len, i;
	char prev = '.';

	while (*s == '@' || *s == '.')
		s++;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 255) {
		*error_r = "a domain must have 1 to 255 characters";
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '-' || c == '_' || c == '.')) {
			*error_r = "a domain may only hold letters, digits, "
				"'-', '_' and '.'";
			return -1;
		}
		if (c == '.' && prev == '.') {
			*error_r = "empty label in domain";
			return -1;
		}
		prev = (char)c;
		str_appendc(out, (char)tolower(c));
	}
	return 0;
}

static int norm_sender(const char *s, struct str *out, const char **error_r)
{
	size_t len = strlen(s), i;
	const char *at;

	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	if (len == 0 || len > ADDRESS_MAX) {
		*error_r = "a sender address must have 1 to 320 characters";
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>') {
			*error_r = "a sender address may not hold spaces, "
				"control characters or angle brackets";
			return -1;
		}
	}
	at = memrchr(s, '@', len);
	if (at == NULL || at == s || at == s + len - 1) {
		*error_r = "a sender address needs local@domain";
		return -1;
	}
	for (i = 0; i < len; i++)
		str_appendc(out, (char)tolower((unsigned char)s[i]));
	return 0;
}

struct ip {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char b[16];
	int bits;		/* 32 or 128 */
};

/* an address, IPv4-mapped IPv6 turned into IPv4 */
static int parse_ip(const char *s, struct ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->b) == 1) {
		ip->family = AF_INET;
		ip->bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->b) == 1) {
		static const unsigned char mapped[12] =
			{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(ip->b, mapped, 12) == 0) {
			memmove(ip->b, ip->b + 12, 4);
			memset(ip->b + 4, 0, 12);
			ip->family = AF_INET;
			ip->bits = 32;
		} else {
			ip->family = AF_INET6;
			ip->bits = 128;
		}
		return 0;
	}
	return -1;
}

static void mask_ip(struct ip *ip, int len)
{
	int i;

	for (i = 0; i < 16; i++) {
		int keep = len - i * 8;

		if (keep >= 8)
			continue;
		ip->b[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

static void format_net(const struct ip *ip, int len, struct str *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(ip->family, ip->b, buf, sizeof(buf)) == NULL)
		buf[0] = '\0';
	str_printf(out, "%s/%d", buf, len);
}

static int norm_relay(const char *s, struct str *out, const char **error_r)
{
	const char *slash = strchr(s, '/');
	struct str addr = STR_INIT;
	struct ip ip, masked;
	long len = -1;
	int ret = -1;

	if (slash != NULL) {
		char *end;

		str_append(&addr, s, (size_t)(slash - s));
		if (!isdigit((unsigned char)slash[1])) {
			*error_r = "bad prefix length after '/'";
			goto out;
		}
		len = strtol(slash + 1, &end, 10);
		if (*end != '\0') {
			*error_r = "bad prefix length after '/'";
			goto out;
		}
	} else {
		str_appends(&addr, s);
	}
	if (parse_ip(str_c(&addr), &ip) < 0) {
		*error_r = "not an IPv4 or IPv6 address";
		goto out;
	}
	if (len < 0)
		len = ip.bits;
	if (slash != NULL && ip.family == AF_INET && strchr(str_c(&addr), ':'))
		len -= 96;	/* ::ffff:a.b.c.d/120 means a.b.c.d/24 */
	if (len < 0 || len > ip.bits) {
		*error_r = "prefix length out of range";
		goto out;
	}
	masked = ip;
	mask_ip(&masked, (int)len);
	if (memcmp(masked.b, ip.b, sizeof(ip.b)) != 0) {
		*error_r = "address has bits set beyond the prefix length "
			"(write the network, such as 192.0.2.0/24)";
		goto out;
	}
	format_net(&ip, (int)len, out);
	ret = 0;
out:
	str_deinit(&addr);
	return ret;
}

int qstore_table_normalize(enum qstore_table_kind kind, const char *key,
			   struct str *out, const char **error_r)
{
	str_clear(out);
	if (key == NULL) {
		*error_r = "empty key";
		return -1;
	}
	switch (kind) {
	case QSTORE_TABLE_SENDER:
		return norm_sender(key, out, error_r);
	case QSTORE_TABLE_DOMAIN:
		return norm_domain(key, out, error_r);
	case QSTORE_TABLE_RELAY:
		return norm_relay(key, out, error_r);
	}
	*error_r = "unknown table";
	return -1;
}

static void db_key(const char *scope, enum qstore_table_kind kind,
		   const char *norm, struct str *k)
{
	str_clear(k);
	str_append(k, scope, strlen(scope) + 1);
	str_appendc(k, kind_letter[kind]);
	str_appends(k, norm);
}

static int decode_entry(const void *data, size_t len,
			struct qstore_table_entry *e)
{
	struct qrec_reader r;
	const unsigned char *v;
	unsigned tag;
	uint64_t u;
	size_t n;
	int ret;

	e->action = QSTORE_ACT_NONE;
	if (qrec_open(&r, data, len, 'T') < 0)
		return -1;
	while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
		if (tag == TT_WHO && e->who == NULL)
			e->who = qrec_get_str(v, n);
		else if (tag == TT_COMMENT && e->comment == NULL)
			e->comment = qrec_get_str(v, n);
		else if (tag == TT_ACTION || tag == TT_WHEN) {
			if (qrec_get_u64(v, n, &u) < 0)
				return -1;
			if (tag == TT_ACTION)
				e->action = (enum qstore_action_kind)u;
			else
				e->when = (time_t)(int64_t)u;
		}
	}
	if (e->who == NULL)
		e->who = mystrdup("");
	if (e->comment == NULL)
		e->comment = mystrdup("");
	if (ret < 0 || e->action < QSTORE_ACT_ALLOW
	    || e->action > QSTORE_ACT_REJECT)
		return -1;
	return 0;
}

/* ---- set, delete, get, list */

struct tab_ctx {
	struct str key;
	struct str rec;		/* for set */
	int op;			/* 0 get, 1 set, 2 delete */
	int found;
	struct qstore_table_entry *e;
	char *app_error;
	/* list */
	int (*fn)(const struct qstore_table_entry *e, void *ctx);
	void *fn_ctx;
	const char *scope;
	enum qstore_table_kind kind;
};

static int tab_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct tab_ctx *ctx = vctx;
	DB *db = qs->db[QDB_TABLES];
	DBT key, data;
	int ret;

	ctx->found = 0;
	qstore_dbt_in(&key, ctx->key.s, ctx->key.len);
	if (ctx->op == 1) {
		qstore_dbt_in(&data, ctx->rec.s, ctx->rec.len);
		return db->put(db, txn, &key, &data, 0);
	}
	if (ctx->op == 2) {
		ret = db->del(db, txn, &key, 0);
		if (ret == DB_NOTFOUND)
			return 0;
		ctx->found = ret == 0;
		return ret;
	}
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, 0);
	if (ret == 0) {
		qstore_table_entry_deinit(ctx->e);
		if (decode_entry(data.data, data.size, ctx->e) < 0) {
			ctx->app_error = mystrdup("table entry is damaged");
			ret = QSTORE_EAPP;
		} else {
			ctx->found = 1;
		}
	} else if (ret == DB_NOTFOUND) {
		ret = 0;
	}
	free(data.data);
	return ret;
}

static int scope_ok(const char *user, const char **scope_r, char **error_r,
		    enum errkind *kind_r)
{
	*scope_r = user != NULL ? user : "";
	if (strlen(*scope_r) > ADDRESS_MAX) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "user too long");
		return -1;
	}
	return 0;
}

static int tab_prepare(struct tab_ctx *ctx, const char *user,
		       enum qstore_table_kind kind, const char *key,
		       char **error_r, enum errkind *kind_r)
{
	struct str norm = STR_INIT;
	const char *why, *scope;

	memset(ctx, 0, sizeof(*ctx));
	if ((unsigned)kind >= QSTORE_TABLE_KINDS) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "unknown table");
		return -1;
	}
	if (scope_ok(user, &scope, error_r, kind_r) < 0)
		return -1;
	if (qstore_table_normalize(kind, key, &norm, &why) < 0) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "%s table key "
			    "\"%s\": %s", qstore_table_kind_name(kind),
			    key != NULL ? key : "", why);
		str_deinit(&norm);
		return -1;
	}
	db_key(scope, kind, str_c(&norm), &ctx->key);
	str_deinit(&norm);
	return 0;
}

int qstore_table_set(struct qstore *qs, const char *user,
		     enum qstore_table_kind kind, const char *key,
		     enum qstore_action_kind action, const char *who,
		     const char *comment, char **error_r,
		     enum errkind *kind_r)
{
	struct tab_ctx ctx;
	int ret;

	if (action < QSTORE_ACT_ALLOW || action > QSTORE_ACT_REJECT) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "table action must be allow, hold, default "
			    "or reject");
		return -1;
	}
	if (comment != NULL && strlen(comment) > 1000) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "comment longer than 1000 characters");
		return -1;
	}
	if (tab_prepare(&ctx, user, kind, key, error_r, kind_r) < 0)
		return -1;
	ctx.op = 1;
	qrec_begin(&ctx.rec, 'T');
	qrec_put_u64(&ctx.rec, TT_ACTION, action);
	qrec_put_str(&ctx.rec, TT_WHO, who);
	qrec_put_str(&ctx.rec, TT_COMMENT, comment);
	qrec_put_i64(&ctx.rec, TT_WHEN, (int64_t)time(NULL));
	ret = qstore_run(qs, 1, tab_txn, &ctx, "changing a table entry",
			 NULL, error_r, kind_r);
	str_deinit(&ctx.key);
	str_deinit(&ctx.rec);
	return ret;
}

int qstore_table_delete(struct qstore *qs, const char *user,
			enum qstore_table_kind kind, const char *key,
			char **error_r, enum errkind *kind_r)
{
	struct tab_ctx ctx;
	int ret;

	if (tab_prepare(&ctx, user, kind, key, error_r, kind_r) < 0)
		return -1;
	ctx.op = 2;
	ret = qstore_run(qs, 1, tab_txn, &ctx, "deleting a table entry",
			 NULL, error_r, kind_r);
	str_deinit(&ctx.key);
	return ret < 0 ? -1 : ctx.found;
}

static void fill_names(struct qstore_table_entry *e, const char *scope,
		       enum qstore_table_kind kind, const char *norm)
{
	e->kind = kind;
	free(e->scope);
	e->scope = mystrdup(scope);
	free(e->key);
	e->key = mystrdup(norm);
}

int qstore_table_get(struct qstore *qs, const char *user,
		     enum qstore_table_kind kind, const char *key,
		     struct qstore_table_entry *e_r, char **error_r,
		     enum errkind *kind_r)
{
	struct tab_ctx ctx;
	int ret;

	memset(e_r, 0, sizeof(*e_r));
	if (tab_prepare(&ctx, user, kind, key, error_r, kind_r) < 0)
		return -1;
	ctx.e = e_r;
	ret = qstore_run(qs, 0, tab_txn, &ctx, "reading a table entry",
			 &ctx.app_error, error_r, kind_r);
	if (ret == 0 && ctx.found) {
		const char *scope = user != NULL ? user : "";

		fill_names(e_r, scope, kind,
			   ctx.key.s + strlen(scope) + 2);
	} else {
		qstore_table_entry_deinit(e_r);
	}
	str_deinit(&ctx.key);
	return ret < 0 ? -1 : ctx.found;
}

static int list_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct tab_ctx *ctx = vctx;
	DB *db = qs->db[QDB_TABLES];
	size_t plen = ctx->key.len;
	DBC *c;
	DBT key, data;
	int ret, tret;

	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return ret;
	qstore_dbt_out(&key);
	key.data = mymemdup(ctx->key.s, plen);
	key.size = (u_int32_t)plen;
	qstore_dbt_out(&data);
	ret = c->get(c, &key, &data, DB_SET_RANGE);
	while (ret == 0 && key.size >= plen
	       && memcmp(key.data, ctx->key.s, plen) == 0) {
		struct qstore_table_entry e;
		struct str norm = STR_INIT;

		memset(&e, 0, sizeof(e));
		if (decode_entry(data.data, data.size, &e) == 0) {
			str_append(&norm, (char *)key.data + plen,
				   key.size - plen);
			fill_names(&e, ctx->scope, ctx->kind, str_c(&norm));
			if (ctx->fn(&e, ctx->fn_ctx) != 0) {
				qstore_table_entry_deinit(&e);
				str_deinit(&norm);
				break;
			}
		}
		qstore_table_entry_deinit(&e);
		str_deinit(&norm);
		ret = c->get(c, &key, &data, DB_NEXT);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(key.data);
	free(data.data);
	tret = c->close(c);
	return ret != 0 ? ret : tret;
}

int qstore_table_list(struct qstore *qs, const char *user,
		      enum qstore_table_kind kind,
		      int (*fn)(const struct qstore_table_entry *e, void *ctx),
		      void *fn_ctx, char **error_r, enum errkind *kind_r)
{
	struct tab_ctx ctx;
	const char *scope;
	int ret;

	memset(&ctx, 0, sizeof(ctx));
	if ((unsigned)kind >= QSTORE_TABLE_KINDS) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "unknown table");
		return -1;
	}
	if (scope_ok(user, &scope, error_r, kind_r) < 0)
		return -1;
	db_key(scope, kind, "", &ctx.key);
	ctx.fn = fn;
	ctx.fn_ctx = fn_ctx;
	ctx.scope = scope;
	ctx.kind = kind;
	/* a callback that aborts mid-way must not be run twice: no retry
	   can happen after the first entry is seen unless the callback is
	   idempotent, which listing is */
	ret = qstore_run(qs, 0, list_txn, &ctx, "listing a table", NULL,
			 error_r, kind_r);
	str_deinit(&ctx.key);
	return ret;
}

/* ---- lookup: the best match of each (scope, kind) */

struct lookup_ctx {
	const char *scopes[2];
	struct str sender;		/* normalized, "" if none */
	const char *domain;		/* in sender, or NULL */
	struct ip ip;
	int have_ip;
	struct qstore_table_matches *r;
};

static void match_clear(struct qstore_table_match *m)
{
	MYFREE(&m->key);
	MYFREE(&m->who);
	MYFREE(&m->comment);
	memset(m, 0, sizeof(*m));
}

void qstore_table_matches_deinit(struct qstore_table_matches *r)
{
	int s, k;

	for (s = 0; s < 2; s++)
		for (k = 0; k < QSTORE_TABLE_KINDS; k++)
			match_clear(&r->m[s][k]);
}

/* 1 found (m filled), 0 not, -1 with a BDB error in *err */
static int try_key(struct qstore *qs, DB_TXN *txn, const char *scope,
		   enum qstore_table_kind kind, const char *norm,
		   struct qstore_table_match *m, int *err)
{
	DB *db = qs->db[QDB_TABLES];
	struct qstore_table_entry e;
	struct str k = STR_INIT;
	DBT key, data;
	int ret;

	db_key(scope, kind, norm, &k);
	qstore_dbt_in(&key, k.s, k.len);
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, 0);
	str_deinit(&k);
	if (ret == DB_NOTFOUND) {
		free(data.data);
		return 0;
	}
	if (ret != 0) {
		free(data.data);
		*err = ret;
		return -1;
	}
	memset(&e, 0, sizeof(e));
	if (decode_entry(data.data, data.size, &e) < 0) {
		/* a damaged entry does not decide anything */
		qstore_table_entry_deinit(&e);
		free(data.data);
		return 0;
	}
	free(data.data);
	match_clear(m);
	m->found = 1;
	m->action = e.action;
	m->key = mystrdup(norm);
	m->who = e.who;
	m->comment = e.comment;
	e.who = e.comment = NULL;
	qstore_table_entry_deinit(&e);
	return 1;
}

static int lookup_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct lookup_ctx *ctx = vctx;
	int s, ret, len, err = 0;

	qstore_table_matches_deinit(ctx->r);
	for (s = 0; s < 2; s++) {
		const char *scope = ctx->scopes[s];

		if (scope == NULL)
			continue;
		if (ctx->sender.len > 0) {
			ret = try_key(qs, txn, scope, QSTORE_TABLE_SENDER,
				      str_c(&ctx->sender),
				      &ctx->r->m[s][QSTORE_TABLE_SENDER], &err);
			if (ret < 0)
				return err;
		}
		if (ctx->domain != NULL) {
			const char *d = ctx->domain;

			/* a.b.org, then b.org, then org */
			while (d != NULL && *d != '\0') {
				ret = try_key(qs, txn, scope,
					QSTORE_TABLE_DOMAIN, d,
					&ctx->r->m[s][QSTORE_TABLE_DOMAIN], &err);
				if (ret != 0) {
					if (ret < 0)
						return err;
					break;
				}
				d = strchr(d, '.');
				if (d != NULL)
					d++;
			}
		}
		if (ctx->have_ip) {
			for (len = ctx->ip.bits; len >= 0; len--) {
				struct ip net = ctx->ip;
				struct str k = STR_INIT;

				mask_ip(&net, len);
				format_net(&net, len, &k);
				ret = try_key(qs, txn, scope,
					QSTORE_TABLE_RELAY, str_c(&k),
					&ctx->r->m[s][QSTORE_TABLE_RELAY], &err);
				str_deinit(&k);
				if (ret != 0) {
					if (ret < 0)
						return err;
					break;
				}
			}
		}
	}
	return 0;
}

int qstore_table_lookup(struct qstore *qs, const char *user,
			const char *sender, const char *relay_ip,
			struct qstore_table_matches *r, char **error_r,
			enum errkind *kind_r)
{
	struct lookup_ctx ctx;
	const char *why;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&ctx, 0, sizeof(ctx));
	ctx.scopes[QSTORE_SCOPE_USER] = user != NULL && user[0] != '\0' ?
		user : NULL;
	ctx.scopes[QSTORE_SCOPE_SITE] = "";
	ctx.r = r;
	/* an unusable sender or relay matches nothing (not an error: the
	   envelope is what it is) */
	if (sender != NULL && sender[0] != '\0'
	    && norm_sender(sender, &ctx.sender, &why) == 0) {
		const char *at = strrchr(str_c(&ctx.sender), '@');

		ctx.domain = at != NULL ? at + 1 : NULL;
	} else {
		str_clear(&ctx.sender);
	}
	if (relay_ip != NULL && relay_ip[0] != '\0'
	    && parse_ip(relay_ip, &ctx.ip) == 0)
		ctx.have_ip = 1;
	ret = qstore_run(qs, 0, lookup_txn, &ctx, "looking up the tables",
			 NULL, error_r, kind_r);
	str_deinit(&ctx.sender);
	if (ret < 0)
		qstore_table_matches_deinit(r);
	return ret;
}
