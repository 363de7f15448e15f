/*
 * qstore_prefs - per-user preferences over site defaults over built-in
 * defaults.
 *
 * prefs.db maps a user ("" for the site) to a record of the settings
 * that user has set, as (name, value) text pairs in the order they were
 * set.  The effective preferences are the built-in defaults with the
 * site record applied, then the user's: a user only overrides what they
 * set, and a changed site default reaches everyone who did not.
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "qstore_private.h"

#define TAG_STRING_MAX	100
#define THRESHOLD_MIN	(-1000.0)
#define THRESHOLD_MAX	100000.0

enum { TP_PAIR = 1 };
enum { TPP_NAME = 1, TPP_VALUE };

const char *const qstore_prefs_names[] = {
	"spam_threshold", "auto_reject_threshold", "tag_only", "tag_string",
	"rbl_hold", "rbl_reject", "notify", "notify_address", "opt_out",
	"accept_allows_sender", "stream", "page_size", "sort_field",
	"sort_order", "show_relay", "show_recipient", "show_one_shot", NULL
};

static const char *const sort_names[] = {
	[QSTORE_SORT_DATE] = "date", [QSTORE_SORT_SCORE] = "score",
	[QSTORE_SORT_SUBJECT] = "subject", [QSTORE_SORT_SENDER] = "sender",
	[QSTORE_SORT_RECIPIENT] = "recipient",
};

struct preset {
	const char *name;
	double threshold;
	int tag_only;
};

static const struct preset presets[] = {
	{ "high", 3, 0 },	/* aggressive */
	{ "medium", 5, 0 },	/* standard */
	{ "low", 8, 0 },
	{ "tag-only", 5, 1 },
	{ NULL, 0, 0 },
};

void qstore_prefs_init(struct qstore_prefs *p)
{
	memset(p, 0, sizeof(*p));
	p->spam_threshold = 5;
	p->auto_reject_threshold = 2000;
	p->tag_string = mystrdup("[Spam:%* %?]");
	p->notify_address = mystrdup("");
	p->accept_allows_sender = 1;
	p->stream = mystrdup("medium");
	p->page_size = 30;
	p->sort_field = QSTORE_SORT_DATE;
	p->sort_descending = 1;
	p->show_one_shot = 1;
}

void qstore_prefs_deinit(struct qstore_prefs *p)
{
	MYFREE(&p->tag_string);
	MYFREE(&p->notify_address);
	MYFREE(&p->stream);
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = mystrdup(value);
}

static int parse_threshold(const char *value, double *r, const char **error_r)
{
	char *end;
	double d;

	while (isspace((unsigned char)*value))
		value++;
	d = strtod(value, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (end == value || *end != '\0' || !isfinite(d)) {
		*error_r = "not a number";
		return -1;
	}
	if (d < THRESHOLD_MIN || d > THRESHOLD_MAX) {
		*error_r = "out of range (-1000 to 100000)";
		return -1;
	}
	*r = d;
	return 0;
}

/* only %*, %?, %d and %% may appear; printable, one line */
static int check_tag_string(const char *s, const char **error_r)
{
	const char *p;

	if (strlen(s) > TAG_STRING_MAX) {
		*error_r = "longer than 100 characters";
		return -1;
	}
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < ' ' || c == 0x7f) {
			*error_r = "control characters are not allowed";
			return -1;
		}
		if (c == '%') {
			if (p[1] != '*' && p[1] != '?' && p[1] != 'd'
			    && p[1] != '%') {
				*error_r = "unknown % sequence (use %*, %?, "
					"%d or %%)";
				return -1;
			}
			p++;
		}
	}
	return 0;
}

static int check_address(const char *s, const char **error_r)
{
	const char *p, *at;

	if (*s == '\0')
		return 0;
	if (strlen(s) > 320) {
		*error_r = "address too long";
		return -1;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<'
		    || *p == '>' || *p == ',') {
			*error_r = "not a plain address (local@domain)";
			return -1;
		}
	}
	at = strrchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0') {
		*error_r = "not a plain address (local@domain)";
		return -1;
	}
	return 0;
}

int qstore_prefs_apply(struct qstore_prefs *p, const char *name,
		       const char *value, const char **error_r)
{
	double d;
	int b, i;

	if (name == NULL || value == NULL) {
		*error_r = "missing name or value";
		return -1;
	}
	if (strcmp(name, "spam_threshold") == 0
	    || strcmp(name, "auto_reject_threshold") == 0) {
		int spam = name[0] == 's';

		if (parse_threshold(value, &d, error_r) < 0)
			return -1;
		if (spam ? d >= p->auto_reject_threshold
		    : d <= p->spam_threshold) {
			*error_r = "auto_reject_threshold must be greater "
				"than spam_threshold";
			return -1;
		}
		if (spam) {
			p->spam_threshold = d;
			set_str(&p->stream, "custom");
		} else {
			p->auto_reject_threshold = d;
		}
		return 0;
	}
	if (strcmp(name, "tag_string") == 0) {
		if (check_tag_string(value, error_r) < 0)
			return -1;
		set_str(&p->tag_string, value);
		return 0;
	}
	if (strcmp(name, "notify_address") == 0) {
		if (check_address(value, error_r) < 0)
			return -1;
		set_str(&p->notify_address, value);
		return 0;
	}
	if (strcmp(name, "stream") == 0) {
		if (strcmp(value, "custom") == 0) {
			set_str(&p->stream, value);
			return 0;
		}
		for (i = 0; presets[i].name; i++) {
			if (strcmp(value, presets[i].name) != 0)
				continue;
			if (presets[i].threshold >= p->auto_reject_threshold) {
				*error_r = "the preset's spam_threshold is not "
					"below auto_reject_threshold";
				return -1;
			}
			p->spam_threshold = presets[i].threshold;
			p->tag_only = presets[i].tag_only;
			set_str(&p->stream, value);
			return 0;
		}
		*error_r = "stream must be high, medium, low, tag-only "
			"or custom";
		return -1;
	}
	if (strcmp(name, "page_size") == 0) {
		static const char *const sizes[] = {
			"10", "30", "50", "100", "200", NULL };

		for (i = 0; sizes[i]; i++) {
			if (strcmp(value, sizes[i]) == 0) {
				p->page_size = atoi(value);
				return 0;
			}
		}
		*error_r = "page_size must be 10, 30, 50, 100 or 200";
		return -1;
	}
	if (strcmp(name, "sort_field") == 0) {
		for (i = 0; i <= QSTORE_SORT_RECIPIENT; i++) {
			if (strcmp(value, sort_names[i]) == 0) {
				p->sort_field = (enum qstore_sort)i;
				return 0;
			}
		}
		*error_r = "sort_field must be date, score, subject, sender "
			"or recipient";
		return -1;
	}
	if (strcmp(name, "sort_order") == 0) {
		if (strcmp(value, "ascending") == 0
		    || strcmp(value, "asc") == 0)
			p->sort_descending = 0;
		else if (strcmp(value, "descending") == 0
			 || strcmp(value, "desc") == 0)
			p->sort_descending = 1;
		else {
			*error_r = "sort_order must be ascending or descending";
			return -1;
		}
		return 0;
	}
	{
		static const struct {
			const char *name;
			size_t off;
		} bools[] = {
			{ "tag_only", offsetof(struct qstore_prefs, tag_only) },
			{ "rbl_hold", offsetof(struct qstore_prefs, rbl_hold) },
			{ "rbl_reject",
			  offsetof(struct qstore_prefs, rbl_reject) },
			{ "notify", offsetof(struct qstore_prefs, notify) },
			{ "opt_out", offsetof(struct qstore_prefs, opt_out) },
			{ "accept_allows_sender",
			  offsetof(struct qstore_prefs, accept_allows_sender) },
			{ "show_relay",
			  offsetof(struct qstore_prefs, show_relay) },
			{ "show_recipient",
			  offsetof(struct qstore_prefs, show_recipient) },
			{ "show_one_shot",
			  offsetof(struct qstore_prefs, show_one_shot) },
		};

		for (i = 0; i < (int)(sizeof(bools) / sizeof(bools[0])); i++) {
			if (strcmp(name, bools[i].name) != 0)
				continue;
			if (config_parse_bool(value, &b) < 0) {
				*error_r = "must be yes or no";
				return -1;
			}
			*(int *)((char *)p + bools[i].off) = b;
			if (strcmp(name, "tag_only") == 0)
				set_str(&p->stream, "custom");
			return 0;
		}
	}
	*error_r = "unknown preference";
	return -1;
}

static void format_number(double d, struct str *out)
{
	str_printf(out, "%g", d);
}

void qstore_prefs_format(const struct qstore_prefs *p, const char *name,
			 struct str *out)
{
	if (strcmp(name, "spam_threshold") == 0)
		format_number(p->spam_threshold, out);
	else if (strcmp(name, "auto_reject_threshold") == 0)
		format_number(p->auto_reject_threshold, out);
	else if (strcmp(name, "tag_only") == 0)
		str_appends(out, p->tag_only ? "yes" : "no");
	else if (strcmp(name, "tag_string") == 0)
		str_appends(out, p->tag_string);
	else if (strcmp(name, "rbl_hold") == 0)
		str_appends(out, p->rbl_hold ? "yes" : "no");
	else if (strcmp(name, "rbl_reject") == 0)
		str_appends(out, p->rbl_reject ? "yes" : "no");
	else if (strcmp(name, "notify") == 0)
		str_appends(out, p->notify ? "yes" : "no");
	else if (strcmp(name, "notify_address") == 0)
		str_appends(out, p->notify_address);
	else if (strcmp(name, "opt_out") == 0)
		str_appends(out, p->opt_out ? "yes" : "no");
	else if (strcmp(name, "accept_allows_sender") == 0)
		str_appends(out, p->accept_allows_sender ? "yes" : "no");
	else if (strcmp(name, "stream") == 0)
		str_appends(out, p->stream);
	else if (strcmp(name, "page_size") == 0)
		str_printf(out, "%d", p->page_size);
	else if (strcmp(name, "sort_field") == 0)
		str_appends(out, sort_names[p->sort_field]);
	else if (strcmp(name, "sort_order") == 0)
		str_appends(out, p->sort_descending ? "descending" :
			    "ascending");
	else if (strcmp(name, "show_relay") == 0)
		str_appends(out, p->show_relay ? "yes" : "no");
	else if (strcmp(name, "show_recipient") == 0)
		str_appends(out, p->show_recipient ? "yes" : "no");
	else if (strcmp(name, "show_one_shot") == 0)
		str_appends(out, p->show_one_shot ? "yes" : "no");
}

/* ---- stored records (the list type is in qstore_private.h) */

void qstore_pref_list_clear(struct qstore_pref_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	MYFREE(&l->v);
	l->n = 0;
}

void qstore_pref_list_set(struct qstore_pref_list *l, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			/* move to the end: the order of setting matters */
			struct qstore_pref_pair pp = l->v[i];

			memmove(&l->v[i], &l->v[i + 1],
				(l->n - i - 1) * sizeof(pp));
			free(pp.value);
			pp.value = mystrdup(value);
			l->v[l->n - 1] = pp;
			return;
		}
	}
	l->v = myrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].name = mystrdup(name);
	l->v[l->n].value = mystrdup(value);
	l->n++;
}

int qstore_pref_list_unset(struct qstore_pref_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			free(l->v[i].name);
			free(l->v[i].value);
			memmove(&l->v[i], &l->v[i + 1],
				(l->n - i - 1) * sizeof(l->v[0]));
			l->n--;
			return 1;
		}
	}
	return 0;
}

static int list_decode(const void *data, size_t len, struct qstore_pref_list *l)
{
	struct qrec_reader r, in;
	const unsigned char *v, *iv;
	unsigned tag, itag;
	size_t n, in_n;
	int ret, iret;

	if (qrec_open(&r, data, len, 'P') < 0)
		return -1;
	while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
		char *name = NULL, *value = NULL;

		if (tag != TP_PAIR)
			continue;
		qrec_open_inner(&in, v, n);
		while ((iret = qrec_next(&in, &itag, &iv, &in_n)) > 0) {
			if (itag == TPP_NAME && name == NULL)
				name = qrec_get_str(iv, in_n);
			else if (itag == TPP_VALUE && value == NULL)
				value = qrec_get_str(iv, in_n);
		}
		if (iret == 0 && name != NULL && value != NULL)
			qstore_pref_list_set(l, name, value);
		free(name);
		free(value);
		if (iret < 0)
			return -1;
	}
	return ret;
}

void qstore_pref_list_encode(const struct qstore_pref_list *l, struct str *b)
{
	struct str in = STR_INIT;
	size_t i;

	qrec_begin(b, 'P');
	for (i = 0; i < l->n; i++) {
		str_clear(&in);
		qrec_put_str(&in, TPP_NAME, l->v[i].name);
		qrec_put_str(&in, TPP_VALUE, l->v[i].value);
		qrec_put_rec(b, TP_PAIR, &in);
	}
	str_deinit(&in);
}

/* read SCOPE's stored list (empty when none) */
int qstore_pref_list_read(struct qstore *qs, DB_TXN *txn, const char *scope,
			  int rmw, struct qstore_pref_list *l)
{
	DB *db = qs->db[QDB_PREFS];
	DBT key, data;
	int ret;

	qstore_pref_list_clear(l);
	qstore_dbt_in(&key, scope, strlen(scope));
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, rmw ? DB_RMW : 0);
	if (ret == 0 && list_decode(data.data, data.size, l) < 0) {
		msg_warn("preferences of \"%s\" are damaged; using defaults",
			 scope[0] ? scope : "(site)");
		qstore_pref_list_clear(l);
	}
	free(data.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

void qstore_pref_list_apply(struct qstore_prefs *p,
			    const struct qstore_pref_list *l, const char *scope)
{
	const char *why;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (qstore_prefs_apply(p, l->v[i].name, l->v[i].value,
				       &why) < 0)
			msg_warn("preference %s = %s of \"%s\" ignored: %s",
				 l->v[i].name, l->v[i].value,
				 scope[0] ? scope : "(site)", why);
}

struct prefs_ctx {
	const char *user;	/* "" = site */
	struct qstore_prefs *p;
	/* for set/unset */
	const char *name, *value;
	int op;			/* 0 get, 1 set, 2 unset */
	int found;
	int invalid;		/* the new value was refused */
	char *app_error;
};

static int prefs_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct prefs_ctx *ctx = vctx;
	struct qstore_pref_list site = { NULL, 0 }, user = { NULL, 0 };
	struct qstore_pref_list *own = ctx->user[0] ? &user : &site;
	struct str rec = STR_INIT;
	const char *why;
	DB *db = qs->db[QDB_PREFS];
	DBT key, data;
	int ret;

	qstore_prefs_deinit(ctx->p);
	qstore_prefs_init(ctx->p);
	ctx->found = 0;
	if ((ret = qstore_pref_list_read(qs, txn, "", ctx->op != 0 && !ctx->user[0],
			     &site)) != 0)
		goto out;
	if (ctx->user[0] && (ret = qstore_pref_list_read(qs, txn, ctx->user,
					     ctx->op != 0, &user)) != 0)
		goto out;
	qstore_pref_list_apply(ctx->p, &site, "");
	if (ctx->user[0])
		qstore_pref_list_apply(ctx->p, &user, ctx->user);
	if (ctx->op == 0)
		goto out;
	if (ctx->op == 2) {
		ctx->found = qstore_pref_list_unset(own, ctx->name);
		if (!ctx->found)
			goto out;
	} else {
		if (qstore_prefs_apply(ctx->p, ctx->name, ctx->value,
				       &why) < 0) {
			struct str e = STR_INIT;

			str_printf(&e, "%s = %s: %s", ctx->name, ctx->value,
				   why);
			ctx->app_error = str_steal(&e);
			ctx->invalid = 1;
			ret = QSTORE_EAPP;
			goto out;
		}
		/* a preset is stored with what it implies; a threshold or
		   tag_only of one's own makes the stream "custom" */
		if (strcmp(ctx->name, "stream") == 0) {
			struct str v = STR_INIT;

			qstore_prefs_format(ctx->p, "spam_threshold", &v);
			qstore_pref_list_set(own, "spam_threshold", str_c(&v));
			qstore_pref_list_set(own, "tag_only", ctx->p->tag_only ? "yes" : "no");
			str_deinit(&v);
		}
		qstore_pref_list_set(own, ctx->name, ctx->value);
		if (strcmp(ctx->name, "spam_threshold") == 0
		    || strcmp(ctx->name, "tag_only") == 0)
			qstore_pref_list_set(own, "stream", "custom");
		ctx->found = 1;
	}
	qstore_pref_list_encode(own, &rec);
	qstore_dbt_in(&key, ctx->user, strlen(ctx->user));
	qstore_dbt_in(&data, rec.s, rec.len);
	ret = db->put(db, txn, &key, &data, 0);
out:
	str_deinit(&rec);
	qstore_pref_list_clear(&site);
	qstore_pref_list_clear(&user);
	return ret;
}

static int prefs_run(struct qstore *qs, struct prefs_ctx *ctx,
		     const char *what, char **error_r, enum errkind *kind_r)
{
	int ret;

	ret = qstore_run(qs, ctx->op != 0, prefs_txn, ctx, what,
			 &ctx->app_error, error_r, kind_r);
	/* an invalid value is the caller's error, not ours */
	if (ret < 0 && ctx->invalid && kind_r != NULL)
		*kind_r = ERR_PERMANENT;
	return ret;
}

int qstore_prefs_get(struct qstore *qs, const char *user,
		     struct qstore_prefs *p_r, char **error_r,
		     enum errkind *kind_r)
{
	struct prefs_ctx ctx;

	qstore_prefs_init(p_r);
	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user != NULL ? user : "";
	ctx.p = p_r;
	return prefs_run(qs, &ctx, "reading preferences", error_r, kind_r);
}

static int known_name(const char *name)
{
	int i;

	for (i = 0; qstore_prefs_names[i]; i++)
		if (strcmp(name, qstore_prefs_names[i]) == 0)
			return 1;
	return 0;
}

int qstore_prefs_set(struct qstore *qs, const char *user, const char *name,
		     const char *value, char **error_r, enum errkind *kind_r)
{
	struct qstore_prefs p;
	struct prefs_ctx ctx;
	const char *why;
	int ret;

	if (name == NULL || !known_name(name)) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "unknown preference \"%s\"", name ? name : "");
		return -1;
	}
	/* a quick check without the database, for a clear message */
	qstore_prefs_init(&p);
	if (strcmp(name, "spam_threshold") != 0
	    && strcmp(name, "auto_reject_threshold") != 0
	    && strcmp(name, "stream") != 0
	    && qstore_prefs_apply(&p, name, value, &why) < 0) {
		qstore_prefs_deinit(&p);
		qstore_fail(error_r, kind_r, ERR_PERMANENT, "%s = %s: %s",
			    name, value ? value : "", why);
		return -1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user != NULL ? user : "";
	ctx.p = &p;
	ctx.name = name;
	ctx.value = value;
	ctx.op = 1;
	ret = prefs_run(qs, &ctx, "changing preferences", error_r, kind_r);
	qstore_prefs_deinit(&p);
	return ret;
}

int qstore_prefs_unset(struct qstore *qs, const char *user,
		       const char *name, char **error_r,
		       enum errkind *kind_r)
{
	struct qstore_prefs p;
	struct prefs_ctx ctx;
	int ret;

	qstore_prefs_init(&p);
	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user != NULL ? user : "";
	ctx.p = &p;
	ctx.name = name;
	ctx.op = 2;
	ret = prefs_run(qs, &ctx, "changing preferences", error_r, kind_r);
	qstore_prefs_deinit(&p);
	return ret < 0 ? -1 : ctx.found;
}
