/*
 * watch_maildir - folderd's Maildir watcher.  See watch_maildir.h.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <glib.h>

#include "folder_name.h"
#include "folder_scan.h"
#include "maildir_box.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "qstore_watch.h"
#include "quarantine_action.h"
#include "watch_maildir.h"

#define WM_DIR_EVENTS	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)

enum wm_class { WM_QUARANTINE = 0, WM_NORMAL, WM_TRASH, WM_CLASSES };

static const unsigned wm_place[WM_CLASSES] = {
	QA_IN_QUARANTINE, QA_IN_NORMAL, QA_IN_TRASH
};

struct wm_folder {
	char *dir;		/* the folder's directory */
	char *name;		/* its name as clients see it ("INBOX", "Spam") */
	enum wm_class klass;
};

/* what a message file (by base name) is known to be */
struct wm_entry {
	char id[QSTORE_ID_LEN + 1];	/* its incident, or "" */
	char *rkey;			/* report key of a message without token */
	int ignored;			/* forged / foreign token */
	unsigned gen;			/* last scan that saw it */
};

struct wm_user {
	char *name;
	char *maildir;
	struct wm_folder *folders;
	size_t n_folders;
	GHashTable *files;	/* base name -> struct wm_entry */
	GHashTable *reported;	/* report key -> incident id */
	unsigned gen;
	int dirty, confirm, seen;
};

struct watch_maildir {
	struct qstore *qs;
	char *tmpl;
	int fd;
	struct wm_user *users;
	size_t n_users;
	GHashTable *wds;	/* watch descriptor -> user index + 1 */
	GHashTable *roots;	/* watch descriptors of Maildir roots */
	char *qname, *oname;	/* on-disk names of the quarantine folders */
	char **ignore;		/* on-disk names of ignore_folders */
	size_t n_ignore;
	int rediscover;		/* a folder was created: find folders again */
};

static int scan_users(struct watch_maildir *w, int final, int complete);

static void entry_free(void *p)
{
	struct wm_entry *e = p;

	free(e->rkey);
	free(e);
}

/* the on-disk name (no leading dot) of folder NAME, or NULL */
static char *ondisk(const char *name)
{
	struct str out = STR_INIT;
	const char *why;

	if (folder_name_maildir(name, &out, &why) < 0) {
		msg_warn("folder \"%s\": %s: not watched", name, why);
		str_deinit(&out);
		return NULL;
	}
	{
		char *r = mystrdup(out.s + 1);

		str_deinit(&out);
		return r;
	}
}

static int is_or_under(const char *name, const char *base)
{
	size_t n = strlen(base);

	return base != NULL && strncmp(name, base, n) == 0
		&& (name[n] == '\0' || name[n] == FOLDER_NAME_MAILDIR_SEP);
}

static enum wm_class classify(const struct watch_maildir *w, const char *disk)
{
	size_t i;

	if (strcmp(disk, "INBOX") == 0)
		return WM_NORMAL;
	if ((w->qname && is_or_under(disk, w->qname))
	    || (w->oname && strcmp(disk, w->oname) == 0))
		return WM_QUARANTINE;
	for (i = 0; i < w->n_ignore; i++)
		if (is_or_under(disk, w->ignore[i]))
			return WM_TRASH;
	return WM_NORMAL;
}

/* client-visible name of an on-disk folder name */
static char *visible(const char *disk)
{
	struct str t = STR_INIT, out = STR_INIT;
	const char *why;
	size_t i;

	if (strcmp(disk, "INBOX") == 0)
		return mystrdup("INBOX");
	for (i = 0; disk[i]; i++)
		str_appendc(&t, disk[i] == FOLDER_NAME_MAILDIR_SEP
			    ? FOLDER_NAME_SEP : disk[i]);
	if (folder_name_mutf7_to_utf8(t.s, t.len, &out, &why) < 0) {
		str_deinit(&out);
		return str_steal(&t);
	}
	str_deinit(&t);
	return str_steal(&out);
}

struct watch_maildir *watch_maildir_init(struct qstore *qs, const char *tmpl,
					 char **error_r)
{
	struct watch_maildir *w = mycalloc(1, sizeof(*w));
	char *copy, *tok, *save = NULL;

	w->qs = qs;
	w->tmpl = mystrdup(tmpl);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "inotify_init1: %s", strerror(errno));
		*error_r = str_steal(&sb);
		free(w->tmpl);
		free(w);
		return NULL;
	}
	w->wds = g_hash_table_new(g_direct_hash, g_direct_equal);
	w->roots = g_hash_table_new(g_direct_hash, g_direct_equal);
	w->qname = ondisk(var_quarantine_folder);
	w->oname = ondisk(var_one_shot_folder);
	copy = mystrdup(var_ignore_folders);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *name;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		while (*tok && (tok[strlen(tok) - 1] == ' '))
			tok[strlen(tok) - 1] = '\0';
		if (*tok == '\0' || (name = ondisk(tok)) == NULL)
			continue;
		w->ignore = myrealloc(w->ignore, (w->n_ignore + 1) * sizeof(char *));
		w->ignore[w->n_ignore++] = name;
	}
	free(copy);
	return w;
}

static void user_free_folders(struct wm_user *u)
{
	size_t i;

	for (i = 0; i < u->n_folders; i++) {
		free(u->folders[i].dir);
		free(u->folders[i].name);
	}
	MYFREE(&u->folders);
	u->n_folders = 0;
}

void watch_maildir_deinit(struct watch_maildir **wp)
{
	struct watch_maildir *w = *wp;
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n_users; i++) {
		struct wm_user *u = &w->users[i];

		user_free_folders(u);
		g_hash_table_destroy(u->files);
		g_hash_table_destroy(u->reported);
		free(u->name);
		free(u->maildir);
	}
	free(w->users);
	for (i = 0; i < w->n_ignore; i++)
		free(w->ignore[i]);
	free(w->ignore);
	free(w->qname);
	free(w->oname);
	g_hash_table_destroy(w->wds);
	g_hash_table_destroy(w->roots);
	close(w->fd);
	free(w->tmpl);
	free(w);
	*wp = NULL;
}

int watch_maildir_fd(const struct watch_maildir *w)
{
	return w->fd;
}

size_t watch_maildir_users(const struct watch_maildir *w)
{
	return w->n_users;
}

static struct wm_user *user_get(struct watch_maildir *w, const char *maildir,
				const char *name)
{
	struct wm_user *u;
	size_t i;

	for (i = 0; i < w->n_users; i++)
		if (strcmp(w->users[i].maildir, maildir) == 0)
			return &w->users[i];
	w->users = myrealloc(w->users, (w->n_users + 1) * sizeof(*w->users));
	u = &w->users[w->n_users++];
	memset(u, 0, sizeof(*u));
	u->name = mystrdup(name);
	u->maildir = mystrdup(maildir);
	u->files = g_hash_table_new_full(g_str_hash, g_str_equal, free, entry_free);
	u->reported = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
	u->dirty = 1;
	return u;
}

static void add_watch(struct watch_maildir *w, const char *path, size_t ui,
		      uint32_t mask, int root)
{
	int wd = inotify_add_watch(w->fd, path, mask);

	if (wd < 0) {
		if (errno != ENOENT)
			msg_warn("inotify_add_watch %s: %m (rescans still see it)",
				 path);
		return;
	}
	g_hash_table_insert(w->wds, GINT_TO_POINTER(wd),
			    GSIZE_TO_POINTER(ui + 1));
	if (root)
		g_hash_table_add(w->roots, GINT_TO_POINTER(wd));
}

static int load_reported(const struct str *key, const struct str *val,
			 void *ctx)
{
	struct wm_user *u = ctx;
	const char *nul = memchr(key->s, '\0', key->len);

	if (nul != NULL && val->len == QSTORE_ID_LEN)
		g_hash_table_replace(u->reported, mystrdup(nul + 1),
				     mymemdup(val->s, QSTORE_ID_LEN + 1));
	return 0;
}

int watch_maildir_scan_all(struct watch_maildir *w)
{
	struct folder_scan fs;
	struct str user = STR_INIT, sub = STR_INIT, prefix = STR_INIT;
	char *error = NULL;
	size_t i;

	if (folder_scan_run(w->tmpl, &fs, &error) < 0) {
		msg_warn("scanning %s: %s", w->tmpl, error);
		free(error);
		return 0;
	}
	for (i = 0; i < w->n_users; i++) {
		user_free_folders(&w->users[i]);
		w->users[i].seen = 0;
	}
	for (i = 0; i < fs.n; i++) {
		const struct folder_count *fc = &fs.counts[i];
		struct wm_user *u;
		struct wm_folder *f;
		size_t ui;
		static const char *const subs[] = { "new", "cur" };
		size_t k;

		if (maildir_box_path_user(w->tmpl, fc->maildir, &user) < 0)
			continue;
		u = user_get(w, fc->maildir, str_c(&user));
		ui = (size_t)(u - w->users);
		if (!u->seen) {
			u->seen = 1;
			u->dirty = 1;
			add_watch(w, fc->maildir, ui, IN_CREATE | IN_MOVED_TO
				  | IN_ONLYDIR, 1);
		}
		u->folders = myrealloc(u->folders,
				       (u->n_folders + 1) * sizeof(*u->folders));
		f = &u->folders[u->n_folders++];
		str_clear(&sub);
		if (strcmp(fc->folder, "INBOX") == 0)
			str_appends(&sub, fc->maildir);
		else
			str_printf(&sub, "%s/.%s", fc->maildir, fc->folder);
		f->dir = mystrdup(str_c(&sub));
		f->name = visible(fc->folder);
		f->klass = classify(w, fc->folder);
		for (k = 0; k < 2; k++) {
			struct str d = STR_INIT;

			str_printf(&d, "%s/%s", f->dir, subs[k]);
			add_watch(w, d.s, ui, WM_DIR_EVENTS | IN_ONLYDIR, 0);
			str_deinit(&d);
		}
	}
	folder_scan_clear(&fs);
	/* reports made by "spamtrap learn" in the meantime */
	for (i = 0; i < w->n_users; i++) {
		qstore_watch_key(&prefix, 'R', w->users[i].name, NULL);
		if (qstore_watch_scan(w->qs, &prefix, load_reported, &w->users[i],
				      &error, NULL) < 0) {
			msg_warn("user=%s: reading reports: %s",
				 w->users[i].name, error);
			MYFREE(&error);
		}
		w->users[i].dirty = w->users[i].seen;
	}
	str_deinit(&user);
	str_deinit(&sub);
	str_deinit(&prefix);
	return scan_users(w, 0, 1);
}

int watch_maildir_events(struct watch_maildir *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int any = 0;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *ev = (struct inotify_event *)p;
			size_t ui = GPOINTER_TO_SIZE(g_hash_table_lookup(
				w->wds, GINT_TO_POINTER(ev->wd)));

			int root = g_hash_table_contains(w->roots,
							 GINT_TO_POINTER(ev->wd));

			/* in a Maildir root only a new ".Folder" matters
			   (Dovecot's index and uidlist files change there) */
			if (root && ev->len > 0 && ev->name[0] == '.')
				w->rediscover = 1;
			if (ev->mask & IN_IGNORED) {
				g_hash_table_remove(w->wds, GINT_TO_POINTER(ev->wd));
				g_hash_table_remove(w->roots, GINT_TO_POINTER(ev->wd));
			} else if (!root && ui > 0 && ui <= w->n_users) {
				w->users[ui - 1].dirty = 1;
				any = 1;
			}
			if (ev->mask & IN_Q_OVERFLOW) {
				size_t i;

				for (i = 0; i < w->n_users; i++)
					w->users[i].dirty = 1;
				any = 1;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	if (w->rediscover) {
		w->rediscover = 0;
		return 2;
	}
	return any;
}

/* look at one file; adds to SCAN */
static void scan_file(struct watch_maildir *w, struct wm_user *u,
		      const struct wm_folder *f, const char *dir,
		      const char *name, struct quarantine_scan *scan)
{
	size_t blen = strcspn(name, ":");
	char *base = mystrndup(name, blen);
	struct wm_entry *e = g_hash_table_lookup(u->files, base);
	struct str path = STR_INIT, hdr = STR_INIT;

	str_printf(&path, "%s/%s", dir, name);
	if (e == NULL) {
		char *token;

		if (maildir_box_read_header(str_c(&path), &hdr) < 0) {
			/* gone in the meantime, or unreadable */
			if (errno != ENOENT)
				msg_warn("reading %s: %m", str_c(&path));
			free(base);
			str_deinit(&path);
			return;
		}
		e = mycalloc(1, sizeof(*e));
		token = quarantine_action_header_token(hdr.s, hdr.len);
		if (token != NULL) {
			if (!quarantine_action_token(w->qs, token, u->name,
						     str_c(&path), e->id)) {
				e->id[0] = '\0';
				e->ignored = 1;
			}
			free(token);
		} else {
			struct str key = STR_INIT;

			quarantine_action_report_key(hdr.s, hdr.len, &key);
			e->rkey = str_steal(&key);
		}
		g_hash_table_insert(u->files, base, e);
		base = NULL;
	}
	free(base);
	e->gen = u->gen;
	if (e->id[0] == '\0' && e->rkey != NULL) {
		const char *rid = g_hash_table_lookup(u->reported, e->rkey);

		if (rid != NULL) {
			memcpy(e->id, rid, QSTORE_ID_LEN + 1);
		} else if (f->klass == WM_QUARANTINE) {
			struct quarantine_actor a = { u->name, u->name,
						      QSTORE_VIA_MAILDIR,
						      "moved into the quarantine" };
			struct str msgbuf = STR_INIT;
			char *error = NULL;
			char id[QSTORE_ID_LEN + 1];

			if (maildir_box_read_file(str_c(&path), &msgbuf) == 0) {
				if (quarantine_action_report(w->qs, msgbuf.s,
							     msgbuf.len, f->name,
							     str_c(&path), &a, id,
							     &error) == QA_ERROR) {
					msg_warn("user=%s: reporting %s: %s",
						 u->name, str_c(&path), error);
					free(error);
				} else {
					memcpy(e->id, id, sizeof(id));
					g_hash_table_replace(u->reported,
						mystrdup(e->rkey),
						mymemdup(id, sizeof(id)));
				}
			}
			str_deinit(&msgbuf);
		}
	}
	if (e->id[0] != '\0')
		quarantine_scan_add(scan, e->id, wm_place[f->klass]);
	str_deinit(&path);
	str_deinit(&hdr);
}

/* 0, or -1 when a folder could not be read (the view is incomplete) */
static int scan_folder(struct watch_maildir *w, struct wm_user *u,
		       const struct wm_folder *f, struct quarantine_scan *scan)
{
	static const char *const subs[] = { "new", "cur" };	/* this order */
	struct str dir = STR_INIT;
	size_t k;
	int r = 0;

	for (k = 0; k < 2 && r == 0; k++) {
		struct dirent *de;
		DIR *d;

		str_clear(&dir);
		str_printf(&dir, "%s/%s", f->dir, subs[k]);
		if ((d = opendir(dir.s)) == NULL) {
			if (errno != ENOENT) {
				msg_warn("user=%s: %s: %m", u->name, dir.s);
				r = -1;
			}
			continue;
		}
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				scan_file(w, u, f, dir.s, de->d_name, scan);
		closedir(d);
	}
	str_deinit(&dir);
	return r;
}

static gboolean stale(gpointer key, gpointer value, gpointer ctx)
{
	const struct wm_entry *e = value;

	return e->gen != *(unsigned *)ctx;
}

static void scan_user(struct watch_maildir *w, struct wm_user *u, int final,
		      int complete)
{
	struct quarantine_scan scan;
	char *error = NULL;
	size_t i;
	int k, ok = 1, n;

	quarantine_scan_init(&scan);
	scan.final = final;
	scan.complete = complete || final;
	u->gen++;
	/* quarantine first: a move links the new name before it removes
	   the old one, so reading the source last never misses it */
	for (k = 0; k < WM_CLASSES && ok; k++)
		for (i = 0; i < u->n_folders && ok; i++)
			if ((int)u->folders[i].klass == k
			    && scan_folder(w, u, &u->folders[i], &scan) < 0)
				ok = 0;
	if (ok) {
		n = quarantine_action_observe(w->qs, u->name, &scan,
					      QSTORE_VIA_MAILDIR, &error);
		if (n < 0) {
			msg_warn("user=%s: %s", u->name, error);
			free(error);
			u->dirty = 1;
		} else {
			u->confirm = scan.unconfirmed > 0;
		}
		g_hash_table_foreach_remove(u->files, stale, &u->gen);
	} else {
		u->dirty = 1;
	}
	quarantine_scan_deinit(&scan);
}

static int scan_users(struct watch_maildir *w, int final, int complete)
{
	size_t i;
	int again = 0;

	for (i = 0; i < w->n_users; i++) {
		struct wm_user *u = &w->users[i];

		if (!u->seen)
			continue;
		if (u->dirty || (final && u->confirm)) {
			u->dirty = 0;
			scan_user(w, u, final && u->confirm, complete);
		}
		again |= u->confirm;
	}
	return again;
}

int watch_maildir_scan_dirty(struct watch_maildir *w, int final)
{
	return scan_users(w, final, 0);
}
