/*
 * maildir_box - Maildir++ folders of one user.  See maildir_box.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "folder_name.h"
#include "maildir_box.h"
#include "mymalloc.h"
#include "params.h"
#include "quarantine_action.h"

int maildir_box_user_dir(const char *tmpl, const char *user, struct str *out,
			 const char **error_r)
{
	struct address a;
	int r;

	if (address_parse(user, "", &a, error_r) < 0)
		return -1;
	str_clear(out);
	r = address_expand(tmpl, &a, out, error_r);
	address_deinit(&a);
	return r;
}

/* match one template component (with at most one % sequence plus
   literal text around it) against NAME; append what it stands for */
static int match_component(const char *t, size_t tlen, const char *name,
			   size_t nlen, char *seq_r, struct str *val)
{
	const char *pct = memchr(t, '%', tlen);
	size_t pre, post;

	*seq_r = 0;
	if (pct == NULL)
		return tlen == nlen && memcmp(t, name, nlen) == 0 ? 0 : -1;
	if ((size_t)(pct - t) + 1 >= tlen)
		return -1;
	pre = (size_t)(pct - t);
	post = tlen - pre - 2;
	if (memchr(pct + 2, '%', post) != NULL || nlen <= pre + post
	    || memcmp(name, t, pre) != 0
	    || memcmp(name + nlen - post, pct + 2, post) != 0)
		return -1;
	*seq_r = pct[1];
	str_clear(val);
	str_append(val, name + pre, nlen - pre - post);
	return 0;
}

int maildir_box_path_user(const char *tmpl, const char *maildir,
			  struct str *user)
{
	struct str u = STR_INIT, n = STR_INIT, d = STR_INIT, v = STR_INIT;
	const char *t = tmpl, *p = maildir;
	int r = 0;

	while (r == 0 && (*t || *p)) {
		size_t tl = strcspn(t, "/"), pl = strcspn(p, "/");
		char seq;

		if (match_component(t, tl, p, pl, &seq, &v) < 0) {
			r = -1;
			break;
		}
		if (seq == 'u')
			str_append(&u, v.s, v.len);
		else if (seq == 'n')
			str_append(&n, v.s, v.len);
		else if (seq == 'd')
			str_append(&d, v.s, v.len);
		else if (seq != 0)
			r = -1;
		t += tl;
		p += pl;
		if ((*t == '/') != (*p == '/'))
			r = -1;
		if (*t == '/')
			t++;
		if (*p == '/')
			p++;
	}
	str_clear(user);
	if (r == 0 && u.len > 0)
		str_append(user, u.s, u.len);
	else if (r == 0 && n.len > 0 && d.len > 0)
		str_printf(user, "%s@%s", str_c(&n), str_c(&d));
	else if (r == 0 && n.len > 0)
		str_append(user, n.s, n.len);
	else
		r = -1;
	str_deinit(&u);
	str_deinit(&n);
	str_deinit(&d);
	str_deinit(&v);
	return r;
}

int maildir_box_folder_dir(const char *maildir, const char *folder,
			   struct str *out, const char **error_r)
{
	struct str name = STR_INIT;

	str_clear(out);
	str_appends(out, maildir);
	if (folder_name_is_inbox(folder))
		return 0;
	if (folder_name_maildir(folder, &name, error_r) < 0) {
		str_deinit(&name);
		return -1;
	}
	str_printf(out, "/%s", str_c(&name));
	str_deinit(&name);
	return 0;
}

static int mkdir_mode(const char *path)
{
	mode_t mode = var_mail_dir_mode > 0 ? (mode_t)var_mail_dir_mode : 0700;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int maildir_box_create(const char *folder_dir)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	struct str p = STR_INIT;
	size_t i;
	int r = mkdir_mode(folder_dir);

	for (i = 0; r == 0 && i < 3; i++) {
		str_clear(&p);
		str_printf(&p, "%s/%s", folder_dir, subs[i]);
		r = mkdir_mode(p.s);
	}
	str_deinit(&p);
	return r;
}

int maildir_box_read_header(const char *path, struct str *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	str_clear(out);
	if (fd < 0)
		return -1;
	while (out->len < MAILDIR_BOX_HEADER_MAX
	       && (n = read(fd, buf, sizeof(buf))) != 0) {
		size_t from;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		from = out->len > 2 ? out->len - 2 : 0;
		str_append(out, buf, (size_t)n);
		/* stop at the end of the header */
		if (memmem(out->s + from, out->len - from, "\n\n", 2) != NULL
		    || memmem(out->s + (from > 2 ? from - 2 : 0),
			      out->len - (from > 2 ? from - 2 : 0),
			      "\n\r\n", 3) != NULL)
			break;
	}
	close(fd);
	str_truncate(out, quarantine_action_header_len(out->s, out->len));
	return 0;
}

int maildir_box_read_file(const char *path, struct str *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;

	str_clear(out);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		str_append(out, buf, (size_t)n);
	}
	close(fd);
	return 0;
}

/* the base name of a Maildir file without its ":2,FLAGS" info */
static size_t base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon ? (size_t)(colon - name) : strlen(name);
}

int maildir_box_find(const char *folder_dir, const char *location,
		     const char *id, int (*check)(const char *token,
						  const char *id, void *ctx),
		     void *ctx, struct str *path_r)
{
	static const char *const subs[] = { "new", "cur" };
	const char *want = NULL;
	size_t want_len = 0, i;
	struct str hdr = STR_INIT;
	int pass, found = 0;

	if (location != NULL && location[0] == '/') {
		const char *slash = strrchr(location, '/');

		want = slash + 1;
		want_len = base_len(want);
	}
	/* pass 0: by the base name of the location; pass 1: by token */
	for (pass = want ? 0 : 1; pass < 2 && !found; pass++) {
		for (i = 0; i < 2 && !found; i++) {
			struct str dir = STR_INIT;
			struct dirent *de;
			DIR *d;

			str_printf(&dir, "%s/%s", folder_dir, subs[i]);
			d = opendir(dir.s);
			if (d == NULL) {
				int e = errno;

				str_deinit(&dir);
				if (e == ENOENT)
					continue;
				str_deinit(&hdr);
				errno = e;
				return -1;
			}
			while (!found && (de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				str_clear(path_r);
				str_printf(path_r, "%s/%s", dir.s, de->d_name);
				if (pass == 0) {
					found = base_len(de->d_name) == want_len
						&& memcmp(de->d_name, want,
							  want_len) == 0;
				} else if (maildir_box_read_header(path_r->s,
								   &hdr) == 0) {
					char *tok = quarantine_action_header_token(
						hdr.s, hdr.len);

					found = tok != NULL
						&& check(tok, id, ctx);
					free(tok);
				}
			}
			closedir(d);
			str_deinit(&dir);
		}
	}
	str_deinit(&hdr);
	return found;
}

int maildir_box_move(const char *src, const char *dest_dir, struct str *dst_r)
{
	const char *name = strrchr(src, '/');
	int has_info;

	name = name ? name + 1 : src;
	has_info = strchr(name, ':') != NULL;
	if (maildir_box_create(dest_dir) < 0)
		return -1;
	str_clear(dst_r);
	str_printf(dst_r, "%s/%s/%s", dest_dir, has_info ? "cur" : "new", name);
	/* link + unlink as Dovecot does would leave both names visible for
	   a moment; one rename is atomic */
	return rename(src, dst_r->s);
}
