/*
 * watch_imap - folderd's IMAP watcher.  See watch_imap.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap_client.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "qstore_private.h"
#include "qstore_watch.h"
#include "quarantine_action.h"
#include "watch_imap.h"

#define WI_RETRY_MIN	5.0	/* seconds before a failed login is retried */
#define WI_RETRY_MAX	300.0
#define WI_CONFIRM	0.5	/* seconds before a confirming sync */

struct wi_msg {
	uint32_t uid;
	char id[QSTORE_ID_LEN + 1];	/* "" when not ours */
};

struct wi_folder {
	const char *name;
	unsigned place;
	struct imap_folder_status st;
	struct wi_msg *msgs;	/* ascending UIDs */
	size_t n;
	int missing;		/* STATUS said it does not exist: asked again
				   only at the next complete refresh */
};

struct wi_user {
	char *name;
	struct imap_client *c;
	struct wi_folder f[3];	/* quarantine, one-shot folder, INBOX */
	double next, retry_delay;
	double last_used;	/* when its connection was last used */
	int confirm, loaded;
	int complete_due;	/* look at every held incident at the next poll */
};

struct watch_imap {
	struct qstore *qs;
	struct str password;
	char **ignore;		/* ignore_folders */
	size_t n_ignore;
	struct wi_user *users;
	size_t n_users;
	struct watch_imap_stats stats;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct watch_imap *watch_imap_init(struct qstore *qs, char **error_r)
{
	struct watch_imap *w = mycalloc(1, sizeof(*w));

	w->qs = qs;
	{
		char *copy = mystrdup(var_ignore_folders), *tok, *save = NULL;

		for (tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			size_t len;

			while (*tok == ' ' || *tok == '\t')
				tok++;
			len = strlen(tok);
			while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
				tok[--len] = '\0';
			if (len == 0)
				continue;
			w->ignore = myrealloc(w->ignore,
					      (w->n_ignore + 1) * sizeof(char *));
			w->ignore[w->n_ignore++] = mystrdup(tok);
		}
		free(copy);
	}
	if (var_imap_admin_user[0] == '\0') {
		*error_r = mystrdup("watch = imap needs imap_admin_user");
		watch_imap_deinit(&w);
		return NULL;
	}
	if (imap_client_admin_password(&w->password, error_r) < 0) {
		watch_imap_deinit(&w);
		return NULL;
	}
	return w;
}

void watch_imap_deinit(struct watch_imap **wp)
{
	struct watch_imap *w = *wp;
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n_users; i++) {
		imap_client_deinit(&w->users[i].c);
		free(w->users[i].f[0].msgs);
		free(w->users[i].f[1].msgs);
		free(w->users[i].f[2].msgs);
		free(w->users[i].name);
	}
	free(w->users);
	for (i = 0; i < w->n_ignore; i++)
		free(w->ignore[i]);
	free(w->ignore);
	str_deinit(&w->password);
	free(w);
	*wp = NULL;
}

void watch_imap_get_stats(const struct watch_imap *w,
			  struct watch_imap_stats *st)
{
	size_t i;

	*st = w->stats;
	st->users = w->n_users;
	st->connected = 0;
	for (i = 0; i < w->n_users; i++)
		st->connected += w->users[i].c != NULL;
}

/* ------------------------------------------------------------------ */
/* users */

static struct wi_user *user_add(struct watch_imap *w, const char *name)
{
	struct wi_user *u;
	size_t i;

	for (i = 0; i < w->n_users; i++)
		if (strcmp(w->users[i].name, name) == 0)
			return &w->users[i];
	w->users = myrealloc(w->users, (w->n_users + 1) * sizeof(*w->users));
	u = &w->users[w->n_users++];
	memset(u, 0, sizeof(*u));
	u->name = mystrdup(name);
	u->f[0].name = var_quarantine_folder;
	u->f[0].place = QA_IN_QUARANTINE;
	u->f[1].name = var_one_shot_folder;
	u->f[1].place = QA_IN_QUARANTINE;
	u->f[2].name = "INBOX";
	u->f[2].place = QA_IN_NORMAL;
	/* spread the first polls over one interval */
	u->next = now_s() + (double)(w->n_users % 50) * var_imap_poll_interval / 50.0;
	u->retry_delay = WI_RETRY_MIN;
	return u;
}

static int add_state_user(const struct str *key, const struct str *val,
			  void *ctx)
{
	struct watch_imap *w = ctx;

	if (key->len > 1)
		(void)user_add(w, key->s + 1);	/* "I" user NUL folder */
	return 0;
}

static void add_held_users(struct watch_imap *w, int status)
{
	struct qstore_query q;
	struct qstore_page page;
	char *error = NULL;
	size_t i;
	int more;

	memset(&q, 0, sizeof(q));
	q.status = status;
	q.page_size = 500;
	for (q.page = 1;; q.page++) {
		if (qstore_incident_list(w->qs, &q, &page, &error, NULL) < 0) {
			msg_warn("listing users: %s", error);
			free(error);
			return;
		}
		for (i = 0; i < page.n; i++)
			(void)user_add(w, page.items[i].user);
		more = page.more;
		qstore_page_deinit(&page);
		if (!more)
			break;
	}
}

static void add_passwd_users(struct watch_imap *w)
{
	FILE *fp;
	char line[4096];

	if (var_passwd_file == NULL || var_passwd_file[0] == '\0')
		return;
	if ((fp = fopen(var_passwd_file, "r")) == NULL) {
		msg_warn("passwd_file = %s: %m", var_passwd_file);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n = strcspn(line, ":\r\n");

		if (n == 0 || line[0] == '#')
			continue;
		line[n] = '\0';
		(void)user_add(w, line);
	}
	fclose(fp);
}

void watch_imap_refresh_users(struct watch_imap *w)
{
	struct str prefix = STR_INIT;
	char *error = NULL;
	size_t before = w->n_users;

	str_appendc(&prefix, 'I');
	if (qstore_watch_scan(w->qs, &prefix, add_state_user, w, &error,
			      NULL) < 0) {
		msg_warn("reading folder state: %s", error);
		free(error);
	}
	str_deinit(&prefix);
	add_held_users(w, QSTORE_PENDING);
	add_held_users(w, QSTORE_ONE_SHOT);
	add_passwd_users(w);
	for (size_t i = 0; i < w->n_users; i++)
		w->users[i].complete_due = 1;
	if (w->n_users != before)
		msg_info("watching %zu users over IMAP (%s)", w->n_users,
			 var_imap_server);
}

/* ------------------------------------------------------------------ */
/* saved folder state: uidvalidity uidnext messages {uid id[13]}... */

static void state_key(const struct wi_user *u, const struct wi_folder *f,
		      struct str *key)
{
	qstore_watch_key(key, 'I', u->name, f->name);
}

static void state_save(struct watch_imap *w, const struct wi_user *u,
		       const struct wi_folder *f)
{
	struct str key = STR_INIT, val = STR_INIT;
	unsigned char b[4];
	char *error = NULL;
	size_t i;

	state_key(u, f, &key);
	qstore_be32(b, f->st.uidvalidity);
	str_append(&val, b, 4);
	qstore_be32(b, f->st.uidnext);
	str_append(&val, b, 4);
	qstore_be32(b, f->st.messages);
	str_append(&val, b, 4);
	for (i = 0; i < f->n; i++) {
		char id[QSTORE_ID_LEN];

		qstore_be32(b, f->msgs[i].uid);
		str_append(&val, b, 4);
		memset(id, 0, sizeof(id));
		memcpy(id, f->msgs[i].id, strlen(f->msgs[i].id));
		str_append(&val, id, QSTORE_ID_LEN);
	}
	if (qstore_watch_put(w->qs, &key, val.s, val.len, &error, NULL) < 0) {
		msg_warn("user=%s: saving the state of %s: %s", u->name,
			 f->name, error);
		free(error);
	}
	str_deinit(&key);
	str_deinit(&val);
}

static void state_load(struct watch_imap *w, struct wi_user *u,
		       struct wi_folder *f)
{
	struct str key = STR_INIT, val = STR_INIT;
	const unsigned char *p;
	char *error = NULL;
	size_t rec = 4 + QSTORE_ID_LEN, i, n;
	int r;

	state_key(u, f, &key);
	r = qstore_watch_get(w->qs, &key, &val, &error, NULL);
	if (r < 0) {
		msg_warn("user=%s: reading the state of %s: %s", u->name,
			 f->name, error);
		free(error);
	}
	if (r > 0 && val.len >= 12 && (val.len - 12) % rec == 0) {
		p = (const unsigned char *)val.s;
		f->st.uidvalidity = qstore_get_be32(p);
		f->st.uidnext = qstore_get_be32(p + 4);
		f->st.messages = qstore_get_be32(p + 8);
		n = (val.len - 12) / rec;
		f->msgs = mycalloc(n + 1, sizeof(*f->msgs));
		for (i = 0; i < n; i++) {
			const unsigned char *m = p + 12 + i * rec;

			f->msgs[i].uid = qstore_get_be32(m);
			memcpy(f->msgs[i].id, m + 4, QSTORE_ID_LEN);
			f->msgs[i].id[QSTORE_ID_LEN] = '\0';
		}
		f->n = n;
	}
	str_deinit(&key);
	str_deinit(&val);
}

/* ------------------------------------------------------------------ */
/* syncing one folder */

struct fetch_ctx {
	struct watch_imap *w;
	struct wi_user *u;
	struct wi_folder *f;
	struct wi_msg *msgs;	/* the new list, UIDs from the search */
	size_t n;
	uint32_t *to_report;	/* quarantine messages without a token */
	size_t n_report;
};

static struct wi_msg *find_uid(struct wi_msg *msgs, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (msgs[mid].uid == uid)
			return &msgs[mid];
		if (msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void got_header(uint32_t uid, const char *hdr, size_t len, void *vctx)
{
	struct fetch_ctx *ctx = vctx;
	struct wi_msg *m = find_uid(ctx->msgs, ctx->n, uid);
	char *token;
	struct str where = STR_INIT;

	if (m == NULL)
		return;
	token = quarantine_action_header_token(hdr, len);
	str_printf(&where, "imap user=%s folder=%s uid=%u", ctx->u->name,
		   ctx->f->name, uid);
	if (token != NULL) {
		if (!quarantine_action_token(ctx->w->qs, token, ctx->u->name,
					     str_c(&where), m->id))
			m->id[0] = '\0';
		free(token);
	} else {
		struct str key = STR_INIT;
		char *error = NULL;
		int r;

		quarantine_action_report_key(hdr, len, &key);
		r = quarantine_action_reported(ctx->w->qs, ctx->u->name,
					       str_c(&key), m->id, &error);
		if (r < 0) {
			msg_warn("%s: %s", str_c(&where), error);
			free(error);
		}
		if (r <= 0) {
			m->id[0] = '\0';
			if (ctx->f->place == QA_IN_QUARANTINE) {
				ctx->to_report = myrealloc(ctx->to_report,
					(ctx->n_report + 1) * sizeof(uint32_t));
				ctx->to_report[ctx->n_report++] = uid;
			}
		}
		str_deinit(&key);
	}
	str_deinit(&where);
}

static void report_uid(struct fetch_ctx *ctx, uint32_t uid)
{
	struct quarantine_actor a = { ctx->u->name, ctx->u->name,
				      QSTORE_VIA_IMAP_MOVE,
				      "moved into the quarantine" };
	struct str msgbuf = STR_INIT, loc = STR_INIT;
	struct wi_msg *m = find_uid(ctx->msgs, ctx->n, uid);
	char *error = NULL;
	char id[QSTORE_ID_LEN + 1];

	if (m == NULL)
		return;
	if (imap_client_fetch(ctx->u->c, uid, &msgbuf, &error) < 0) {
		msg_warn("user=%s: fetching %s uid %u to report it: %s",
			 ctx->u->name, ctx->f->name, uid, error);
		free(error);
		str_deinit(&msgbuf);
		return;
	}
	str_printf(&loc, "imap:%s", ctx->f->name);
	if (quarantine_action_report(ctx->w->qs, msgbuf.s, msgbuf.len,
				     ctx->f->name, str_c(&loc), &a, id,
				     &error) == QA_ERROR) {
		msg_warn("user=%s: reporting uid %u: %s", ctx->u->name, uid,
			 error);
		free(error);
	} else {
		memcpy(m->id, id, sizeof(id));
	}
	str_deinit(&msgbuf);
	str_deinit(&loc);
}

/* bring F up to date; 1 changed, 0 unchanged, -1 error */
static int sync_folder(struct watch_imap *w, struct wi_user *u,
		       struct wi_folder *f, int force)
{
	struct imap_folder_status st;
	struct fetch_ctx ctx;
	uint32_t *uids = NULL, first_new = 0;
	size_t n = 0, i;
	char *error = NULL;

	if (f->missing && !force && !u->complete_due)
		return 0;
	w->stats.status_cmds++;
	if (imap_client_status(u->c, f->name, &st, &error) < 0)
		goto fail;
	f->missing = st.uidvalidity == 0 && f->place != QA_IN_NORMAL;
	if (!force && st.uidvalidity == f->st.uidvalidity
	    && st.uidnext == f->st.uidnext && st.messages == f->st.messages)
		return 0;
	w->stats.syncs++;
	if (st.uidvalidity == 0) {
		/* the folder does not exist */
		MYFREE(&f->msgs);
		f->n = 0;
		f->st = st;
		state_save(w, u, f);
		return 1;
	}
	if (imap_client_examine(u->c, f->name, &st, &error) < 0
	    || imap_client_uids(u->c, &uids, &n, &error) < 0)
		goto fail;
	memset(&ctx, 0, sizeof(ctx));
	ctx.w = w;
	ctx.u = u;
	ctx.f = f;
	ctx.msgs = mycalloc(n + 1, sizeof(*ctx.msgs));
	ctx.n = n;
	for (i = 0; i < n; i++) {
		struct wi_msg *old = st.uidvalidity == f->st.uidvalidity
			? find_uid(f->msgs, f->n, uids[i]) : NULL;

		ctx.msgs[i].uid = uids[i];
		if (old != NULL)
			memcpy(ctx.msgs[i].id, old->id, sizeof(old->id));
		else if (first_new == 0)
			first_new = uids[i];
	}
	free(uids);
	if (first_new != 0
	    && imap_client_headers(u->c, first_new, got_header, &ctx,
				   &error) < 0) {
		free(ctx.msgs);
		free(ctx.to_report);
		goto fail;
	}
	for (i = 0; i < ctx.n_report; i++)
		report_uid(&ctx, ctx.to_report[i]);
	free(ctx.to_report);
	if (imap_client_unexamine(u->c, &error) < 0) {
		free(ctx.msgs);
		goto fail;
	}
	free(f->msgs);
	f->msgs = ctx.msgs;
	f->n = ctx.n;
	f->st = st;
	state_save(w, u, f);
	return 1;
fail:
	msg_warn("user=%s folder=%s: %s", u->name, f->name, error);
	free(error);
	return -1;
}

static int is_or_under(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

struct locate_ctx {
	struct watch_imap *w;
	struct wi_user *u;
};

/* a held message vanished from the folders tracked: look in the others
   (rare: only on a confirmed vanishing) */
static int locate(const char *user, const char *id, void *vctx)
{
	struct locate_ctx *ctx = vctx;
	struct wi_user *u = ctx->u;
	struct str token = STR_INIT;
	struct imap_folder_status st;
	char **names = NULL, *error = NULL;
	size_t n = 0, i, k;
	int places = 0;

	if (u->c == NULL)
		return -1;
	qstore_token_make(ctx->w->qs, id, &token);
	if (imap_client_list(u->c, &names, &n, &error) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		uint32_t *uids = NULL;
		size_t nu = 0;
		int trash = 0;

		if (strcmp(names[i], "INBOX") == 0
		    || strcmp(names[i], var_quarantine_folder) == 0
		    || strcmp(names[i], var_one_shot_folder) == 0)
			continue;
		for (k = 0; k < ctx->w->n_ignore; k++)
			trash |= is_or_under(names[i], ctx->w->ignore[k]);
		if (imap_client_examine(u->c, names[i], &st, &error) < 0) {
			if (!imap_client_alive(u->c))
				goto fail;
			free(error);	/* vanished or not selectable */
			error = NULL;
			continue;
		}
		if (imap_client_search_token(u->c, str_c(&token), &uids, &nu,
					     &error) < 0)
			goto fail;
		free(uids);
		if (nu > 0)
			places |= trash ? QA_IN_TRASH : QA_IN_NORMAL;
		if (imap_client_unexamine(u->c, &error) < 0)
			goto fail;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	str_deinit(&token);
	return places;
fail:
	msg_warn("user=%s: looking for incident %s in other folders: %s",
		 user, id, error);
	free(error);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	str_deinit(&token);
	return -1;
}

static void observe(struct watch_imap *w, struct wi_user *u, int final,
		    int complete)
{
	struct locate_ctx lctx = { w, u };
	struct quarantine_scan scan;
	char *error = NULL;
	size_t k, i;

	quarantine_scan_init(&scan);
	scan.final = final;
	scan.complete = complete || final;
	scan.locate = locate;
	scan.locate_ctx = &lctx;
	for (k = 0; k < 3; k++)
		for (i = 0; i < u->f[k].n; i++)
			if (u->f[k].msgs[i].id[0] != '\0')
				quarantine_scan_add(&scan, u->f[k].msgs[i].id,
						    u->f[k].place);
	if (quarantine_action_observe(w->qs, u->name, &scan,
				      QSTORE_VIA_IMAP_MOVE, &error) < 0) {
		msg_warn("user=%s: %s", u->name, error);
		free(error);
	} else {
		u->confirm = scan.unconfirmed > 0;
	}
	quarantine_scan_deinit(&scan);
}

/*
 * Make room for one more connection.  Users are polled in turn, so the
 * connection used most recently is the one needed last: closing it
 * keeps the others for their next poll (least-recently-used would
 * close exactly the next one due, every time).
 */
static void make_room(struct watch_imap *w, const struct wi_user *keep)
{
	struct wi_user *victim = NULL;
	size_t i, open = 0;

	for (i = 0; i < w->n_users; i++) {
		struct wi_user *o = &w->users[i];

		if (o->c == NULL)
			continue;
		open++;
		if (o != keep && (victim == NULL
				  || o->last_used > victim->last_used))
			victim = o;
	}
	if (open >= (size_t)var_imap_max_connections && victim != NULL) {
		imap_client_deinit(&victim->c);
		w->stats.evictions++;
	}
}

static void poll_user(struct watch_imap *w, struct wi_user *u, double now)
{
	char *error = NULL;
	int changed = 0, k, r, final = u->confirm;

	u->last_used = now;
	if (u->c == NULL) {
		make_room(w, u);
		w->stats.logins++;
		u->c = imap_client_login(u->name, str_c(&w->password), &error);
		if (u->c == NULL) {
			w->stats.login_failures++;
			msg_warn("user=%s: %s (retry in %.0fs)", u->name, error,
				 u->retry_delay);
			free(error);
			u->next = now + u->retry_delay;
			u->retry_delay *= 2;
			if (u->retry_delay > WI_RETRY_MAX)
				u->retry_delay = WI_RETRY_MAX;
			return;
		}
		u->retry_delay = WI_RETRY_MIN;
		if (!u->loaded) {
			state_load(w, u, &u->f[0]);
			state_load(w, u, &u->f[1]);
			state_load(w, u, &u->f[2]);
			u->loaded = 1;
			u->complete_due = 1;	/* compare with the saved state */
		}
	}
	/* the quarantine first: a MOVE adds to the target before it
	   removes from the source */
	for (k = 0; k < 3; k++) {
		r = sync_folder(w, u, &u->f[k], final);
		if (r < 0) {
			if (!imap_client_alive(u->c))
				imap_client_deinit(&u->c);
			u->next = now + var_imap_poll_interval;
			return;
		}
		changed |= r;
	}
	if (changed || final || u->complete_due) {
		observe(w, u, final, u->complete_due);
		u->complete_due = 0;
	}
	u->next = now + (u->confirm ? WI_CONFIRM : var_imap_poll_interval);
}

double watch_imap_poll(struct watch_imap *w)
{
	double now = now_s(), wait = var_imap_poll_interval;
	size_t i;

	for (i = 0; i < w->n_users; i++) {
		struct wi_user *u = &w->users[i];

		if (u->next <= now) {
			poll_user(w, u, now);
			now = now_s();
		}
		if (u->next - now < wait)
			wait = u->next - now;
	}
	return wait < 0.01 ? 0.01 : wait;
}
