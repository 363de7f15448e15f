/*
 * quarantine_mailbox - move or remove a held message in the user's
 * mailbox.  See quarantine_mailbox.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap_client.h"
#include "maildir_box.h"
#include "mymalloc.h"
#include "params.h"
#include "quarantine_mailbox.h"

struct tok_check {
	struct qstore *qs;
};

static int token_is(const char *token, const char *id, void *vctx)
{
	struct tok_check *tc = vctx;
	char got[QSTORE_ID_LEN + 1];

	return qstore_token_verify(tc->qs, token, got) && strcmp(got, id) == 0;
}

static const char *held_folder(const struct qstore_incident *inc)
{
	if (inc->folder[0] != '\0' && !(inc->flags & QSTORE_FLAG_TAGGED))
		return inc->folder;
	return var_quarantine_folder;
}

static char *sys_error(const char *what, const char *path)
{
	struct str sb = STR_INIT;

	str_printf(&sb, "%s %s: %s", what, path, strerror(errno));
	return str_steal(&sb);
}

/* find the file; 1 (*path_r), 0, -1 */
static int maildir_find(struct qstore *qs, const struct qstore_incident *inc,
			struct str *maildir, struct str *path_r,
			char **error_r)
{
	struct str dir = STR_INIT;
	struct tok_check tc = { qs };
	const char *why;
	int r;

	if (maildir_box_user_dir(var_store + 8, inc->user, maildir, &why) < 0
	    || maildir_box_folder_dir(str_c(maildir), held_folder(inc), &dir,
				      &why) < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "user %s, folder %s: %s", inc->user,
			   held_folder(inc), why);
		*error_r = str_steal(&sb);
		str_deinit(&dir);
		return -1;
	}
	r = maildir_box_find(str_c(&dir), inc->location, inc->id, token_is, &tc,
			     path_r);
	if (r < 0)
		*error_r = sys_error("reading", str_c(&dir));
	str_deinit(&dir);
	return r;
}

static int is_maildir_store(void)
{
	return strncmp(var_store, "maildir:", 8) == 0;
}

/* over IMAP: log in, select the quarantine folder, find the token */
static struct imap_client *imap_find(struct qstore *qs,
				     const struct qstore_incident *inc,
				     uint32_t *uid_r, int *found_r,
				     char **error_r)
{
	struct str pw = STR_INIT, token = STR_INIT;
	struct imap_client *c;
	struct imap_folder_status st;
	uint32_t *uids = NULL;
	size_t n = 0;

	*found_r = 0;
	if (imap_client_admin_password(&pw, error_r) < 0) {
		str_deinit(&pw);
		return NULL;
	}
	c = imap_client_login(inc->user, str_c(&pw), error_r);
	str_deinit(&pw);
	if (c == NULL)
		return NULL;
	qstore_token_make(qs, inc->id, &token);
	if (imap_client_select(c, held_folder(inc), 0, &st, error_r) < 0) {
		/* no such folder: nothing to find */
		free(*error_r);
		*error_r = NULL;
		str_deinit(&token);
		return c;
	}
	if (imap_client_search_token(c, str_c(&token), &uids, &n, error_r) < 0) {
		str_deinit(&token);
		imap_client_deinit(&c);
		return NULL;
	}
	if (n > 0) {
		*uid_r = uids[0];
		*found_r = 1;
	}
	free(uids);
	str_deinit(&token);
	return c;
}

int quarantine_mailbox_release(struct qstore *qs,
			       const struct qstore_incident *inc,
			       struct str *where_r, char **error_r)
{
	if (is_maildir_store()) {
		struct str maildir = STR_INIT, path = STR_INIT, dst = STR_INIT;
		int r = maildir_find(qs, inc, &maildir, &path, error_r);

		if (r == 1) {
			if (maildir_box_move(str_c(&path), str_c(&maildir),
					     &dst) < 0) {
				*error_r = sys_error("moving", str_c(&path));
				r = -1;
			} else if (where_r != NULL) {
				str_clear(where_r);
				str_append(where_r, dst.s, dst.len);
			}
		}
		str_deinit(&maildir);
		str_deinit(&path);
		str_deinit(&dst);
		return r;
	} else {
		uint32_t uid = 0;
		int found;
		struct imap_client *c = imap_find(qs, inc, &uid, &found, error_r);
		int r;

		if (c == NULL)
			return -1;
		r = found ? imap_client_move(c, uid, "INBOX", error_r) : 0;
		if (r == 0 && found) {
			r = 1;
			if (where_r != NULL) {
				str_clear(where_r);
				str_appends(where_r, "imap:INBOX");
			}
		}
		imap_client_deinit(&c);
		return r;
	}
}

int quarantine_mailbox_remove(struct qstore *qs,
			      const struct qstore_incident *inc,
			      char **error_r)
{
	if (is_maildir_store()) {
		struct str maildir = STR_INIT, path = STR_INIT;
		int r = maildir_find(qs, inc, &maildir, &path, error_r);

		if (r == 1 && unlink(str_c(&path)) < 0 && errno != ENOENT) {
			*error_r = sys_error("removing", str_c(&path));
			r = -1;
		}
		str_deinit(&maildir);
		str_deinit(&path);
		return r;
	} else {
		uint32_t uid = 0;
		int found;
		struct imap_client *c = imap_find(qs, inc, &uid, &found, error_r);
		int r;

		if (c == NULL)
			return -1;
		r = found ? imap_client_remove(c, uid, error_r) : 0;
		if (r == 0 && found)
			r = 1;
		imap_client_deinit(&c);
		return r;
	}
}
