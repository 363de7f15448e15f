/*
 * store_maildir - deliver into Maildir++ directories, as Dovecot reads them.
 *
 *	maildir:/var/mail/%d/%n
 *
 * The template (%u user, %n local part, %d domain) names the user's
 * Maildir, which is the INBOX; folder "Spam/One-Shot" is the directory
 * ".Spam.One-Shot" inside it (folder_name.h).  Missing Maildirs and
 * folders are created with mail_dir_mode (and mail_group), with their
 * cur/ new/ tmp/, a "maildirfolder" file in folders, and new folders
 * are added to the Maildir's "subscriptions" file the way Dovecot 2.3
 * keeps it.
 *
 * One message file per recipient (each starts with its own Return-Path
 * and Delivered-To, like Dovecot's LDA): written as an unnamed file in
 * tmp/ (O_TMPFILE), then named there under a unique name
 * (time.M<usec>P<pid>Q<counter>.<host>) through /proc/self/fd, synced
 * (fdatasync: its data, size and link count), hard-linked into new/
 * under that name and its size (",S=<size>"), its tmp/ name removed, and
 * new/ synced (fdatasync: its entries).  Only then is the recipient
 * stored.  Where unnamed files cannot be made or linked, the file is
 * created in tmp/ by name instead; where hard links are not supported,
 * it is renamed into new/.  On a failure nothing is left in new/ and the
 * tmp/ name is removed; a delivery killed between naming the file and
 * linking it may leave it in tmp/, which readers sweep (Dovecot after
 * 36 hours).
 *
 * The file is named in tmp/ before it is synced, not linked straight
 * from its unnamed state into new/ once synced (as spamtrap did for a
 * while): an unnamed file's inode goes to disk with a link count of 0,
 * and syncing new/ after the link writes the directory, not the inode.
 * On a file system that does not journal its metadata (ext2, ext4
 * without a journal) a power cut could then leave new/ naming an inode
 * whose link count says deleted, and e2fsck would remove the entry of
 * an acknowledged message.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "folder_name.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "store_private.h"
#include "str.h"

#define MAILDIR_NAME_TRIES	5	/* unique-name collisions before giving up */
#define SUBSCRIPTIONS_FILE	"subscriptions"
#define SUBSCRIPTIONS_LOCK	"subscriptions.lock"
#define SUBSCRIPTIONS_V2	"V\t2\n\n"
#define SUBSCRIPTIONS_LOCK_WAIT	10	/* seconds to wait for the lock */
#define SUBSCRIPTIONS_LOCK_STALE 30	/* seconds after which a lock is stale
					   (Dovecot's own value) */
#define SUBSCRIPTIONS_MAX	(1024 * 1024)

struct maildir_store {
	struct store store;
	char *tmpl;		/* path template of the Maildir */
	int have_group;
	gid_t gid;
	char *host;		/* host name, made safe for file names */
	unsigned int counter;	/* Q<counter> in unique names */
	int unnamed;		/* write new files unnamed (O_TMPFILE) */
};

/* what failed, for the recipient's reason */
struct maildir_error {
	int err;		/* errno */
	const char *what;	/* "mkdir", "write", ... */
	char *path;
};

static void maildir_error_set(struct maildir_error *e, const char *what,
			      const char *path)
{
	e->err = errno;
	e->what = what;
	MYFREE(&e->path);
	e->path = mystrdup(path);
}

static void maildir_error_report(struct store_rcpt *rcpt,
				 const struct maildir_error *e)
{
	enum errkind kind = ERR_TEMPORARY;

	if (e->err == ENOSPC || e->err == EDQUOT)
		kind = ERR_NOSPACE;
	store_rcpt_fail(rcpt, kind, "%s %s: %s", e->what, e->path,
			strerror(e->err));
}

/* ---------------------------------------------------------------- set-up */

/* check the path template: absolute, no "." or ".." or empty levels */
static int maildir_check_template(const char *tmpl, const char **error_r)
{
	struct address probe = { "u", "", "d", "u@d" };
	struct str out = STR_INIT;
	const char *p, *end;
	int ret;

	if (tmpl[0] != '/') {
		*error_r = "the Maildir path must be absolute";
		return -1;
	}
	if (!store_text_safe(tmpl)) {
		*error_r = "control character in the Maildir path";
		return -1;
	}
	ret = address_expand(tmpl, &probe, &out, error_r);
	str_deinit(&out);
	if (ret < 0)
		return -1;
	for (p = tmpl + 1; *p != '\0'; p = *end ? end + 1 : end) {
		size_t len;

		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0 && *end != '\0') {
			*error_r = "empty level (\"//\") in the Maildir path";
			return -1;
		}
		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.')) {
			*error_r = "\".\" or \"..\" in the Maildir path";
			return -1;
		}
	}
	return 0;
}

static void maildir_deinit(struct store *store)
{
	struct maildir_store *ms = (struct maildir_store *)store;

	free(ms->tmpl);
	free(ms->host);
	free(ms);
}

static void maildir_deliver(struct store *store,
			    const struct store_envelope *env,
			    struct store_rcpt *rcpts, size_t n);

struct store *store_maildir_init(const char *args, char **error_r)
{
	struct maildir_store *ms;
	struct str host = STR_INIT;
	const char *error, *h;
	char hostbuf[256];
	size_t len;

	if (maildir_check_template(args, &error) < 0) {
		struct str e = STR_INIT;

		str_printf(&e, "store \"maildir:%s\": %s", args, error);
		*error_r = str_steal(&e);
		return NULL;
	}
	ms = mycalloc(1, sizeof(*ms));
	ms->store.type = "maildir";
	ms->store.deliver = maildir_deliver;
	ms->store.deinit = maildir_deinit;
	ms->tmpl = mystrdup(args);
	ms->unnamed = 1;
	/* a trailing '/' would give "//new" later */
	len = strlen(ms->tmpl);
	while (len > 1 && ms->tmpl[len - 1] == '/')
		ms->tmpl[--len] = '\0';

	if (var_mail_group != NULL && var_mail_group[0] != '\0') {
		struct group *gr = getgrnam(var_mail_group);

		if (gr == NULL) {
			struct str e = STR_INIT;

			str_printf(&e, "mail_group \"%s\": no such group",
				   var_mail_group);
			*error_r = str_steal(&e);
			maildir_deinit(&ms->store);
			return NULL;
		}
		ms->have_group = 1;
		ms->gid = gr->gr_gid;
	}

	/* Maildir unique names: '/' and ':' in the host are escaped */
	if (var_myhostname != NULL && var_myhostname[0] != '\0') {
		h = var_myhostname;
	} else if (gethostname(hostbuf, sizeof(hostbuf)) == 0) {
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		h = hostbuf;
	} else {
		h = "localhost";
	}
	for (; *h; h++) {
		if (*h == '/')
			str_appends(&host, "\\057");
		else if (*h == ':')
			str_appends(&host, "\\072");
		else if ((unsigned char)*h > 0x20 && (unsigned char)*h < 0x7f)
			str_appendc(&host, *h);
	}
	if (host.len == 0)
		str_appends(&host, "localhost");
	ms->host = str_steal(&host);
	*error_r = NULL;
	return &ms->store;
}

/* ---------------------------------------------------------------- directories */

/*
 * Sync directory PATH; DATASYNC: its entries only (fdatasync, as Dovecot
 * syncs new/ after a delivery: the entries are the directory's data, its
 * times need not be on disk), else its inode too (fsync).
 */
static int sync_dir(const char *path, int datasync)
{
	int fd, ret, saved;

	if (!var_maildir_fsync)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = datasync ? fdatasync(fd) : fsync(fd);
	saved = errno;
	if (close(fd) < 0 && ret == 0)
		return -1;
	errno = saved;
	return ret;
}

/* fsync the directory that holds PATH */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	int ret;

	if (slash == NULL)
		return sync_dir(".", 0);
	parent = mystrndup(path, slash == path ? 1 : (size_t)(slash - path));
	ret = sync_dir(parent, 0);
	free(parent);
	return ret;
}

/* give a new directory or file its mode (not the umask's) and group */
static int maildir_set_perms(struct maildir_store *ms, const char *path,
			     mode_t mode)
{
	if (chmod(path, mode) < 0)
		return -1;
	if (ms->have_group && chown(path, (uid_t)-1, ms->gid) < 0)
		return -1;
	return 0;
}

/* mkdir PATH: 1 made, 0 already a directory, -1 with errno */
static int maildir_mkdir(struct maildir_store *ms, const char *path)
{
	struct stat st;

	if (mkdir(path, (mode_t)var_mail_dir_mode) < 0) {
		if (errno != EEXIST)
			return -1;
		if (stat(path, &st) < 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		return 0;
	}
	if (maildir_set_perms(ms, path, (mode_t)var_mail_dir_mode) < 0)
		return -1;
	return 1;
}

/* mkdir PATH and its missing parents */
static int maildir_mkdir_parents(struct maildir_store *ms, const char *path,
				 struct maildir_error *e)
{
	struct str p = STR_INIT;
	const char *s;
	int r;

	r = maildir_mkdir(ms, path);
	if (r >= 0 || errno != ENOENT)
		goto done;
	/* walk down from the top, making what is missing */
	for (s = strchr(path + 1, '/'); ; s = strchr(s + 1, '/')) {
		str_clear(&p);
		str_append(&p, path, s ? (size_t)(s - path) : strlen(path));
		r = maildir_mkdir(ms, str_c(&p));
		if (r < 0) {
			maildir_error_set(e, "mkdir", str_c(&p));
			str_deinit(&p);
			return -1;
		}
		if (r > 0 && fsync_parent(str_c(&p)) < 0) {
			maildir_error_set(e, "fsync parent of", str_c(&p));
			str_deinit(&p);
			return -1;
		}
		if (s == NULL)
			break;
	}
	str_deinit(&p);
	return 1;
done:
	if (r < 0) {
		maildir_error_set(e, "mkdir", path);
		return -1;
	}
	if (r > 0 && fsync_parent(path) < 0) {
		maildir_error_set(e, "fsync parent of", path);
		return -1;
	}
	return r;
}

/* make sure DIR has cur/ new/ tmp/; with parents if a Maildir root */
static int maildir_make(struct maildir_store *ms, const char *dir, int root,
			struct maildir_error *e)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	struct str p = STR_INIT;
	struct stat st;
	int made = 0, r;
	size_t i;

	/* the usual case, three lookups instead of four failing mkdirs */
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		str_clear(&p);
		str_printf(&p, "%s/%s", dir, subdirs[i]);
		if (stat(str_c(&p), &st) < 0 || !S_ISDIR(st.st_mode))
			break;
	}
	str_deinit(&p);
	if (i == sizeof(subdirs) / sizeof(subdirs[0]))
		return 0;
	if (root) {
		r = maildir_mkdir_parents(ms, dir, e);
	} else {
		r = maildir_mkdir(ms, dir);
		if (r < 0)
			maildir_error_set(e, "mkdir", dir);
		else if (r > 0 && fsync_parent(dir) < 0) {
			maildir_error_set(e, "fsync parent of", dir);
			r = -1;
		}
	}
	if (r < 0)
		return -1;
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		str_clear(&p);
		str_printf(&p, "%s/%s", dir, subdirs[i]);
		r = maildir_mkdir(ms, str_c(&p));
		if (r < 0) {
			maildir_error_set(e, "mkdir", str_c(&p));
			str_deinit(&p);
			return -1;
		}
		made |= r;
	}
	str_deinit(&p);
	if (made && sync_dir(dir, 0) < 0) {
		maildir_error_set(e, "fsync", dir);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- subscriptions */

static int read_file(const char *path, struct str *out)
{
	char buf[8192];
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		str_append(out, buf, (size_t)r);
		if (out->len > SUBSCRIPTIONS_MAX) {
			errno = EFBIG;
			r = -1;
			break;
		}
	}
	if (r < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t r = write(fd, data, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += r;
		len -= (size_t)r;
	}
	return 0;
}

/* 1 if LINE (LEN bytes) is one of the lines of TEXT */
static int has_line(const char *text, size_t text_len, const char *line)
{
	size_t len = strlen(line);
	const char *p = text, *end = text + text_len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (l == len && memcmp(p, line, len) == 0)
			return 1;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}

/* take Dovecot's dotlock on the subscriptions file; fd or -1 */
static int subscriptions_lock(struct maildir_store *ms, const char *lock,
			      struct maildir_error *e)
{
	time_t start = time(NULL);
	struct stat st;
	int fd;

	for (;;) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  (mode_t)var_mail_mode);
		if (fd >= 0)
			break;
		if (errno != EEXIST) {
			maildir_error_set(e, "create", lock);
			return -1;
		}
		/* a lock nobody has touched for a while is left over */
		if (stat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > SUBSCRIPTIONS_LOCK_STALE) {
			if (unlink(lock) < 0 && errno != ENOENT) {
				maildir_error_set(e, "unlink stale", lock);
				return -1;
			}
			continue;
		}
		if (time(NULL) - start > SUBSCRIPTIONS_LOCK_WAIT) {
			errno = EAGAIN;
			maildir_error_set(e, "timed out waiting for lock", lock);
			return -1;
		}
		usleep(100 * 1000);
	}
	if (fchmod(fd, (mode_t)var_mail_mode) < 0 ||
	    (ms->have_group && fchown(fd, (uid_t)-1, ms->gid) < 0)) {
		maildir_error_set(e, "fchmod", lock);
		close(fd);
		unlink(lock);
		return -1;
	}
	return fd;
}

/*
 * Add FOLDER to ROOT/subscriptions unless it is there.  Dovecot 2.3
 * writes "V\t2\n\n" and then one name per line with the levels in
 * modified UTF-7, separated by tabs; an old file without the header
 * (version 1) has the Maildir++ names with '.'.  The new contents go
 * to Dovecot's lock file "subscriptions.lock", which is then renamed
 * over the file, so readers see the old or the new list, never half.
 */
static int maildir_subscribe(struct maildir_store *ms, const char *root,
			     const char *folder, struct maildir_error *e)
{
	struct str path = STR_INIT, lock = STR_INIT, old = STR_INIT;
	struct str name = STR_INIT, out = STR_INIT;
	const char *error, *body;
	size_t body_len, i;
	int fd, v2, ret = -1;

	str_printf(&path, "%s/%s", root, SUBSCRIPTIONS_FILE);
	str_printf(&lock, "%s/%s", root, SUBSCRIPTIONS_LOCK);
	fd = subscriptions_lock(ms, str_c(&lock), e);
	if (fd < 0)
		goto out;
	str_init(&old, 256);
	if (read_file(str_c(&path), &old) < 0 && errno != ENOENT) {
		maildir_error_set(e, "read", str_c(&path));
		goto unlock;
	}
	v2 = old.len == 0 || (old.len >= strlen(SUBSCRIPTIONS_V2) &&
		memcmp(old.s, SUBSCRIPTIONS_V2, strlen(SUBSCRIPTIONS_V2)) == 0);
	/* ".Spam.One-Shot" -> "Spam\tOne-Shot" (v2) or "Spam.One-Shot" (v1) */
	if (folder_name_maildir(folder, &out, &error) < 0)
		msg_panic("maildir_subscribe: unchecked folder name: %s", error);
	str_appends(&name, str_c(&out) + 1);	/* without the leading dot */
	str_clear(&out);
	if (v2)
		for (i = 0; i < name.len; i++)
			if (name.s[i] == FOLDER_NAME_MAILDIR_SEP)
				name.s[i] = '\t';
	body = old.len ? old.s : "";
	body_len = old.len;
	if (v2 && old.len > 0) {
		body += strlen(SUBSCRIPTIONS_V2);
		body_len -= strlen(SUBSCRIPTIONS_V2);
	}
	if (has_line(body, body_len, str_c(&name))) {
		ret = 0;
		goto unlock;
	}
	if (v2)
		str_appends(&out, SUBSCRIPTIONS_V2);
	str_append(&out, body, body_len);
	if (out.len > 0 && out.s[out.len - 1] != '\n')
		str_appendc(&out, '\n');
	str_printf(&out, "%s\n", str_c(&name));
	if (write_all(fd, out.s, out.len) < 0) {
		maildir_error_set(e, "write", str_c(&lock));
		goto unlock;
	}
	if (var_maildir_fsync && fsync(fd) < 0) {
		maildir_error_set(e, "fsync", str_c(&lock));
		goto unlock;
	}
	if (close(fd) < 0) {
		fd = -1;
		maildir_error_set(e, "close", str_c(&lock));
		goto unlock;
	}
	fd = -1;
	if (rename(str_c(&lock), str_c(&path)) < 0) {
		maildir_error_set(e, "rename to", str_c(&path));
		goto unlock;
	}
	if (sync_dir(root, 0) < 0) {
		maildir_error_set(e, "fsync", root);
		goto out;
	}
	ret = 0;
	goto out;
unlock:
	if (fd >= 0)
		close(fd);
	unlink(str_c(&lock));
out:
	str_deinit(&path);
	str_deinit(&lock);
	str_deinit(&old);
	str_deinit(&name);
	str_deinit(&out);
	return ret;
}

/* a folder is complete once its "maildirfolder" file exists: make the
   directories, subscribe, then create that file */
static int maildir_make_folder(struct maildir_store *ms, const char *root,
			       const char *dir, const char *folder,
			       struct maildir_error *e)
{
	struct str marker = STR_INIT;
	struct stat st;
	int fd, ret = -1;

	str_printf(&marker, "%s/maildirfolder", dir);
	if (stat(str_c(&marker), &st) == 0) {
		str_deinit(&marker);
		return 0;
	}
	if (maildir_make(ms, dir, 0, e) < 0 ||
	    maildir_subscribe(ms, root, folder, e) < 0)
		goto out;
	fd = open(str_c(&marker), O_WRONLY | O_CREAT | O_CLOEXEC,
		  (mode_t)var_mail_mode);
	if (fd < 0) {
		maildir_error_set(e, "create", str_c(&marker));
		goto out;
	}
	if (fchmod(fd, (mode_t)var_mail_mode) < 0 ||
	    (ms->have_group && fchown(fd, (uid_t)-1, ms->gid) < 0)) {
		maildir_error_set(e, "fchmod", str_c(&marker));
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		maildir_error_set(e, "close", str_c(&marker));
		goto out;
	}
	ret = 0;
out:
	str_deinit(&marker);
	return ret;
}

/* ---------------------------------------------------------------- messages */

/*
 * A new unique base name, time.M<usec>P<pid>Q<counter>.<host>, and the
 * message's path in DIR/new under it, with its SIZE as Dovecot names it
 */
static void maildir_unique(struct maildir_store *ms, const char *dir,
			   size_t size, struct str *base, struct str *path_r)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	str_clear(base);
	str_printf(base, "%lld.M%ldP%ldQ%u.%s", (long long)tv.tv_sec,
		   (long)tv.tv_usec, (long)getpid(), ++ms->counter, ms->host);
	str_clear(path_r);
	str_printf(path_r, "%s/new/%s,S=%zu", dir, str_c(base), size);
}

/* unnamed files cannot be used here (WHAT failed on PATH): say so once,
   create them by name from now on; 1 for maildir_write_unnamed to return */
static int maildir_unnamed_off(struct maildir_store *ms, const char *what,
			       const char *path, int err)
{
	msg_info("maildir: %s: %s (%s), creating files in tmp/ by name from "
		 "now on", path, what, strerror(err));
	ms->unnamed = 0;
	return 1;
}

/* mode, group and contents of the new file FD (named WHAT) */
static int maildir_fill(struct maildir_store *ms, int fd, const char *what,
			const struct str *head, const struct store_rcpt *rcpt,
			struct maildir_error *e)
{
	if (fchmod(fd, (mode_t)var_mail_mode) < 0 ||
	    (ms->have_group && fchown(fd, (uid_t)-1, ms->gid) < 0)) {
		maildir_error_set(e, "fchmod", what);
		return -1;
	}
	if (write_all(fd, head->s, head->len) < 0 ||
	    write_all(fd, rcpt->msg->data, rcpt->msg->len) < 0) {
		maildir_error_set(e, "write", what);
		return -1;
	}
	return 0;
}

/*
 * Sync the data, size and link count of FD, named TMP (fdatasync skips
 * only the file's times), and close it; *fd_r is -1 afterwards.
 */
static int maildir_sync_close(int *fd_r, const char *tmp,
			      struct maildir_error *e)
{
	int fd = *fd_r;

	*fd_r = -1;
	if (var_maildir_fsync && fdatasync(fd) < 0) {
		maildir_error_set(e, "fsync", tmp);
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		maildir_error_set(e, "close", tmp);
		return -1;
	}
	return 0;
}

/* give the synced file TMP its name NEW in new/, and drop the tmp/ one */
static int maildir_link_new(const char *tmp, const char *new,
			    struct maildir_error *e)
{
	if (link(tmp, new) < 0) {
		if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS) {
			maildir_error_set(e, "link to", new);
			return -1;
		}
		/* no hard links here (some FUSE or network filesystems) */
		if (rename(tmp, new) < 0) {
			maildir_error_set(e, "rename to", new);
			return -1;
		}
	} else if (unlink(tmp) < 0) {
		/* harmless for the message; tmp/ is swept by readers */
		msg_warn_sys("unlink %s", tmp);
	}
	return 0;
}

/*
 * The message written as an unnamed file in DIR/tmp (O_TMPFILE), then
 * named there (linked through /proc/self/fd), synced, and linked into
 * new/ (in *path_r).  Nothing has a name while it is written, and, not
 * being created by name, the file does not make the file system sync
 * tmp/ along with it.  It is named before it is synced so that its
 * link count goes to disk with its data: a link count of 0 on disk, on a
 * file system that does not journal its metadata (ext4 without a
 * journal), would let fsck remove the message from new/ after a power
 * cut.  Returns 0 stored, -1 failed, 1 not possible here (no O_TMPFILE
 * on this file system, no /proc to link from): ms->unnamed is cleared
 * and the caller creates the file by name.
 */
static int maildir_write_unnamed(struct maildir_store *ms, const char *dir,
				 const struct str *head,
				 const struct store_rcpt *rcpt, size_t size,
				 struct str *path_r, struct maildir_error *e)
{
	struct str tmpdir = STR_INIT, base = STR_INIT, tmp = STR_INIT;
	char proc[64];
	int fd, tries, err, named = 0, ret = -1;

	str_printf(&tmpdir, "%s/tmp", dir);
	fd = open(str_c(&tmpdir), O_WRONLY | O_TMPFILE | O_CLOEXEC,
		  (mode_t)var_mail_mode);
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			ret = maildir_unnamed_off(ms, "no unnamed files",
						  str_c(&tmpdir), errno);
		else
			maildir_error_set(e, "create in", str_c(&tmpdir));
		goto out;
	}
	if (maildir_fill(ms, fd, str_c(&tmpdir), head, rcpt, e) < 0)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (tries = 0; ; tries++) {
		maildir_unique(ms, dir, size, &base, path_r);
		str_clear(&tmp);
		str_printf(&tmp, "%s/tmp/%s", dir, str_c(&base));
		if (linkat(AT_FDCWD, proc, AT_FDCWD, str_c(&tmp),
			   AT_SYMLINK_FOLLOW) == 0)
			break;
		err = errno;
		if (err == EEXIST && tries < MAILDIR_NAME_TRIES)
			continue;
		if (err == EPERM || err == EACCES || err == ENOTSUP ||
		    err == ENOSYS || err == EXDEV ||
		    (err == ENOENT && access(proc, F_OK) < 0)) {
			/* no hard links here, or no /proc to link from */
			ret = maildir_unnamed_off(ms, "cannot link an unnamed "
						  "file", str_c(&tmp), err);
		} else {
			errno = err;
			maildir_error_set(e, "link to", str_c(&tmp));
		}
		goto out;
	}
	named = 1;
	if (maildir_sync_close(&fd, str_c(&tmp), e) < 0 ||
	    maildir_link_new(str_c(&tmp), str_c(path_r), e) < 0)
		goto out;
	ret = 0;
out:
	/* an unnamed file not named vanishes with its last descriptor */
	if (fd >= 0)
		close(fd);
	if (ret < 0 && named && unlink(str_c(&tmp)) < 0 && errno != ENOENT)
		msg_warn_sys("unlink %s", str_c(&tmp));
	str_deinit(&tmpdir);
	str_deinit(&base);
	str_deinit(&tmp);
	return ret;
}

/* the message created in DIR/tmp by name, synced, linked into new/ */
static int maildir_write_named(struct maildir_store *ms, const char *dir,
			       const struct str *head,
			       const struct store_rcpt *rcpt, size_t size,
			       struct str *path_r, struct maildir_error *e)
{
	struct str tmp = STR_INIT, base = STR_INIT;
	int fd = -1, tries, ret = -1;

	for (tries = 0; ; tries++) {
		maildir_unique(ms, dir, size, &base, path_r);
		str_clear(&tmp);
		str_printf(&tmp, "%s/tmp/%s", dir, str_c(&base));
		fd = open(str_c(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  (mode_t)var_mail_mode);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries >= MAILDIR_NAME_TRIES) {
			maildir_error_set(e, "create", str_c(&tmp));
			goto out;
		}
	}
	if (maildir_fill(ms, fd, str_c(&tmp), head, rcpt, e) < 0 ||
	    maildir_sync_close(&fd, str_c(&tmp), e) < 0 ||
	    maildir_link_new(str_c(&tmp), str_c(path_r), e) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	if (unlink(str_c(&tmp)) < 0 && errno != ENOENT)
		msg_warn_sys("unlink %s", str_c(&tmp));
out:
	str_deinit(&tmp);
	str_deinit(&base);
	return ret;
}

/* write the message into DIR/new, durably; the new path in *path_r */
static int maildir_write(struct maildir_store *ms, const char *dir,
			 const struct store_envelope *env,
			 const struct store_rcpt *rcpt, struct str *path_r,
			 struct maildir_error *e)
{
	struct str head = STR_INIT, newdir = STR_INIT;
	size_t size;
	int ret = 1;

	str_printf(&head, "Return-Path: <%s>\nDelivered-To: %s\n",
		   env->sender, rcpt->address);
	size = head.len + rcpt->msg->len;
	if (ms->unnamed)
		ret = maildir_write_unnamed(ms, dir, &head, rcpt, size,
					    path_r, e);
	if (ret > 0)
		ret = maildir_write_named(ms, dir, &head, rcpt, size,
					  path_r, e);
	if (ret < 0)
		goto out;
	str_printf(&newdir, "%s/new", dir);
	if (sync_dir(str_c(&newdir), 1) < 0) {
		maildir_error_set(e, "fsync", str_c(&newdir));
		if (unlink(str_c(path_r)) < 0)
			msg_warn_sys("unlink %s", str_c(path_r));
		ret = -1;
	}
out:
	str_deinit(&head);
	str_deinit(&newdir);
	return ret;
}

/* check that an expanded path has no empty, "." or ".." levels */
static int maildir_path_safe(const char *path)
{
	const char *p, *end;

	if (path[0] != '/')
		return 0;
	for (p = path + 1; ; p = end + 1) {
		size_t len;

		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (end == NULL)
			return 1;
	}
}

static void maildir_deliver_one(struct maildir_store *ms,
				const struct store_envelope *env,
				struct store_rcpt *rcpt)
{
	struct maildir_error e = { 0, NULL, NULL };
	struct str root = STR_INIT, dir = STR_INIT, path = STR_INIT;
	struct address tmp;
	const struct address *a;
	const char *error;
	int inbox = folder_name_is_inbox(rcpt->folder);

	a = store_rcpt_address(rcpt, &tmp, &error);
	if (a == NULL) {
		store_rcpt_fail(rcpt, ERR_PERMANENT, "recipient <%s>: %s",
				rcpt->address, error);
		goto out;
	}
	if (!store_text_safe(env->sender) || !store_text_safe(rcpt->address)) {
		store_rcpt_fail(rcpt, ERR_PERMANENT,
				"control character in the envelope");
		goto out;
	}
	if (address_expand(ms->tmpl, a, &root, &error) < 0) {
		store_rcpt_fail(rcpt, ERR_INTERNAL, "maildir template: %s",
				error);
		goto out;
	}
	if (!maildir_path_safe(str_c(&root))) {
		store_rcpt_fail(rcpt, ERR_PERMANENT,
				"recipient <%s> gives an unsafe Maildir path %s",
				rcpt->address, str_c(&root));
		goto out;
	}
	str_appends(&dir, str_c(&root));
	if (!inbox) {
		str_appendc(&dir, '/');
		if (folder_name_maildir(rcpt->folder, &dir, &error) < 0) {
			store_rcpt_fail(rcpt, ERR_PERMANENT,
					"folder \"%s\" refused: %s",
					rcpt->folder, error);
			goto out;
		}
	}
	if (maildir_make(ms, str_c(&root), 1, &e) < 0 ||
	    (!inbox && maildir_make_folder(ms, str_c(&root), str_c(&dir),
					   rcpt->folder, &e) < 0) ||
	    maildir_write(ms, str_c(&dir), env, rcpt, &path, &e) < 0) {
		maildir_error_report(rcpt, &e);
		goto out;
	}
	store_rcpt_stored(rcpt, str_c(&path));
out:
	free(e.path);
	address_deinit(&tmp);
	str_deinit(&root);
	str_deinit(&dir);
	str_deinit(&path);
}

static void maildir_deliver(struct store *store,
			    const struct store_envelope *env,
			    struct store_rcpt *rcpts, size_t n)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	size_t i;

	for (i = 0; i < n; i++)
		maildir_deliver_one(ms, env, &rcpts[i]);
}
