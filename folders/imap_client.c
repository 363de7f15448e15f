/*
 * imap_client - IMAP as the quarantine needs it, over libetpan.
 * See imap_client.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>

#include <libetpan/libetpan.h>

#include "address.h"
#include "folder_name.h"
#include "imap_client.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"

struct imap_client {
	mailimap *imap;
	char *user;
	int dead;
	int has_move, has_uidplus;
	char *selected;		/* folder name, or NULL */
	int read_only;
};

static int fail(struct imap_client *c, char **error_r, const char *what,
		int r)
{
	const char *resp = c && c->imap && c->imap->imap_response
		? c->imap->imap_response : "";
	struct str sb = STR_INIT;

	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE
	    || r == MAILIMAP_ERROR_CONNECTION_REFUSED || r == MAILIMAP_ERROR_BAD_STATE)
		if (c != NULL)
			c->dead = 1;
	str_printf(&sb, "imap %s: %s: %s (libetpan error %d)%s%s",
		   c && c->user ? c->user : "", what,
		   r == MAILIMAP_ERROR_STREAM ? "connection lost or timed out"
		   : r == MAILIMAP_ERROR_CONNECTION_REFUSED ? "connection refused"
		   : "server said no", r, resp[0] ? ": " : "", resp);
	*error_r = str_steal(&sb);
	return -1;
}

int imap_client_admin_password(struct str *out, char **error_r)
{
	FILE *fp;
	char line[1024];
	size_t n;

	str_clear(out);
	if (var_imap_admin_password_file == NULL
	    || var_imap_admin_password_file[0] == '\0') {
		*error_r = mystrdup("imap_admin_password_file is not set");
		return -1;
	}
	if ((fp = fopen(var_imap_admin_password_file, "r")) != NULL) {
		struct stat st;

		if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077) != 0)
			msg_warn("imap_admin_password_file = %s: readable by "
				 "others (mode %04o); chmod 600 it",
				 var_imap_admin_password_file,
				 (unsigned)(st.st_mode & 07777));
	}
	if (fp == NULL) {
		struct str sb = STR_INIT;

		str_printf(&sb, "imap_admin_password_file = %s: %s",
			   var_imap_admin_password_file, strerror(errno));
		*error_r = str_steal(&sb);
		return -1;
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	n = strcspn(line, "\r\n");
	str_append(out, line, n);
	if (n == 0) {
		*error_r = mystrdup("imap_admin_password_file: empty first line");
		return -1;
	}
	return 0;
}

/* "host:port" or "[v6]:port" */
static int split_server(const char *spec, struct str *host, uint16_t *port)
{
	const char *colon;
	char *end;
	long p;

	str_clear(host);
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		str_append(host, spec + 1, (size_t)(close - spec - 1));
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		str_append(host, spec, (size_t)(colon - spec));
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535 || host->len == 0)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* the mailbox name on the wire: modified UTF-7, '/' separated */
static int wire_name(const char *folder, struct str *out, char **error_r)
{
	const char *why;

	str_clear(out);
	if (folder_name_is_inbox(folder)) {
		str_appends(out, "INBOX");
		return 0;
	}
	if (folder_name_check(folder, &why) < 0
	    || folder_name_utf8_to_mutf7(folder, strlen(folder), out, &why) < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "folder \"%s\": %s", folder, why);
		*error_r = str_steal(&sb);
		return -1;
	}
	return 0;
}

struct imap_client *imap_client_login(const char *user, const char *password,
				      char **error_r)
{
	struct imap_client *c = mycalloc(1, sizeof(*c));
	struct str host = STR_INIT, login = STR_INIT;
	struct mailimap_capability_data *caps = NULL;
	struct address a;
	const char *why;
	uint16_t port;
	int r;

	c->user = mystrdup(user);
	if (split_server(var_imap_server, &host, &port) < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "imap_server = %s: not host:port", var_imap_server);
		*error_r = str_steal(&sb);
		goto bad;
	}
	if (address_parse(user, "", &a, &why) < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "user \"%s\": %s", user, why);
		*error_r = str_steal(&sb);
		goto bad;
	}
	r = address_expand(var_imap_login_format, &a, &login, &why);
	address_deinit(&a);
	if (r < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "imap_login_format = %s: %s",
			   var_imap_login_format, why);
		*error_r = str_steal(&sb);
		goto bad;
	}
	c->imap = mailimap_new(0, NULL);
	mailimap_set_timeout(c->imap, var_imap_timeout > 0 ? var_imap_timeout : 30);
	r = mailimap_socket_connect(c->imap, str_c(&host), port);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED
	    && r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR) {
		fail(c, error_r, "connect", r);
		goto bad;
	}
	/* SASL PLAIN: authorization id the user, authentication id admin */
	r = mailimap_authenticate(c->imap, "PLAIN", NULL, NULL, NULL,
				  str_c(&login), var_imap_admin_user, password,
				  NULL);
	if (r != MAILIMAP_NO_ERROR) {
		fail(c, error_r, "AUTHENTICATE PLAIN as admin", r);
		goto bad;
	}
	/* capabilities change after login */
	if (mailimap_capability(c->imap, &caps) == MAILIMAP_NO_ERROR) {
		mailimap_capability_data_free(caps);
		c->has_move = mailimap_has_extension(c->imap, "MOVE");
		c->has_uidplus = mailimap_has_extension(c->imap, "UIDPLUS");
	}
	str_deinit(&host);
	str_deinit(&login);
	return c;
bad:
	str_deinit(&host);
	str_deinit(&login);
	imap_client_deinit(&c);
	return NULL;
}

void imap_client_deinit(struct imap_client **cp)
{
	struct imap_client *c = *cp;

	if (c == NULL)
		return;
	if (c->imap != NULL) {
		if (!c->dead)
			(void)mailimap_logout(c->imap);
		mailimap_free(c->imap);
	}
	free(c->user);
	free(c->selected);
	free(c);
	*cp = NULL;
}

int imap_client_alive(const struct imap_client *c)
{
	return c != NULL && !c->dead;
}

int imap_client_status(struct imap_client *c, const char *folder,
		       struct imap_folder_status *st, char **error_r)
{
	struct mailimap_status_att_list *atts;
	struct mailimap_mailbox_data_status *info = NULL;
	struct str name = STR_INIT;
	clistiter *it;
	int r;

	memset(st, 0, sizeof(*st));
	if (wire_name(folder, &name, error_r) < 0)
		return -1;
	atts = mailimap_status_att_list_new_empty();
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDVALIDITY);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDNEXT);
	mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_MESSAGES);
	r = mailimap_status(c->imap, str_c(&name), atts, &info);
	mailimap_status_att_list_free(atts);
	str_deinit(&name);
	if (r == MAILIMAP_ERROR_STATUS && !c->dead)
		return 0;	/* NO: the folder does not exist (yet) */
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "STATUS", r);
	for (it = clist_begin(info->st_info_list); it; it = clist_next(it)) {
		struct mailimap_status_info *si = clist_content(it);

		if (si->st_att == MAILIMAP_STATUS_ATT_UIDVALIDITY)
			st->uidvalidity = si->st_value;
		else if (si->st_att == MAILIMAP_STATUS_ATT_UIDNEXT)
			st->uidnext = si->st_value;
		else if (si->st_att == MAILIMAP_STATUS_ATT_MESSAGES)
			st->messages = si->st_value;
	}
	mailimap_mailbox_data_status_free(info);
	return 0;
}

int imap_client_list(struct imap_client *c, char ***names_r, size_t *n_r,
		     char **error_r)
{
	clist *result = NULL;
	clistiter *it;
	size_t n = 0;
	int r;

	*names_r = NULL;
	*n_r = 0;
	r = mailimap_list(c->imap, "", "*", &result);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "LIST", r);
	*names_r = mycalloc((size_t)clist_count(result) + 1, sizeof(char *));
	for (it = clist_begin(result); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		struct str name = STR_INIT, t = STR_INIT;
		const char *why, *p;

		if (mb->mb_flag != NULL && mb->mb_flag->mbf_type
		    == MAILIMAP_MBX_LIST_FLAGS_SFLAG
		    && mb->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
			continue;
		/* spamtrap's names use '/' between levels */
		for (p = mb->mb_name; *p; p++)
			str_appendc(&t, mb->mb_delimiter && *p == mb->mb_delimiter
				    ? '/' : *p);
		if (strcasecmp(str_c(&t), "INBOX") == 0)
			str_appends(&name, "INBOX");
		else if (folder_name_mutf7_to_utf8(t.s, t.len, &name, &why) < 0) {
			str_deinit(&t);
			str_deinit(&name);
			continue;
		}
		str_deinit(&t);
		(*names_r)[n++] = str_steal(&name);
	}
	mailimap_list_result_free(result);
	*n_r = n;
	return 0;
}

static int do_select(struct imap_client *c, const char *folder, int create,
		     int examine, struct imap_folder_status *st, char **error_r)
{
	struct str name = STR_INIT;
	int r;

	memset(st, 0, sizeof(*st));
	MYFREE(&c->selected);
	if (wire_name(folder, &name, error_r) < 0)
		return -1;
	r = examine ? mailimap_examine(c->imap, str_c(&name))
		    : mailimap_select(c->imap, str_c(&name));
	if (r == MAILIMAP_ERROR_SELECT && create && !c->dead) {
		(void)mailimap_create(c->imap, str_c(&name));
		(void)mailimap_subscribe(c->imap, str_c(&name));
		r = mailimap_select(c->imap, str_c(&name));
	}
	str_deinit(&name);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, examine ? "EXAMINE" : "SELECT", r);
	c->selected = mystrdup(folder);
	c->read_only = examine;
	if (c->imap->imap_selection_info != NULL) {
		st->uidvalidity = c->imap->imap_selection_info->sel_uidvalidity;
		st->uidnext = c->imap->imap_selection_info->sel_uidnext;
		st->messages = c->imap->imap_selection_info->sel_exists;
	}
	return 0;
}

int imap_client_select(struct imap_client *c, const char *folder, int create,
		       struct imap_folder_status *st, char **error_r)
{
	if (c->selected && !c->read_only && strcmp(c->selected, folder) == 0
	    && !create) {
		/* already selected read-write: refresh with NOOP */
		int r = mailimap_noop(c->imap);

		if (r != MAILIMAP_NO_ERROR)
			return fail(c, error_r, "NOOP", r);
	}
	return do_select(c, folder, create, 0, st, error_r);
}

int imap_client_examine(struct imap_client *c, const char *folder,
			struct imap_folder_status *st, char **error_r)
{
	return do_select(c, folder, 0, 1, st, error_r);
}

int imap_client_unexamine(struct imap_client *c, char **error_r)
{
	int r;

	if (c->selected == NULL || !c->read_only)
		return 0;
	MYFREE(&c->selected);
	r = mailimap_close(c->imap);
	return r == MAILIMAP_NO_ERROR ? 0 : fail(c, error_r, "CLOSE", r);
}

const char *imap_client_selected(const struct imap_client *c)
{
	return c->selected;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void collect_uids(clist *result, uint32_t **uids_r, size_t *n_r)
{
	clistiter *it;
	size_t n = 0;

	*uids_r = mycalloc((size_t)clist_count(result) + 1, sizeof(uint32_t));
	for (it = clist_begin(result); it; it = clist_next(it))
		(*uids_r)[n++] = *(uint32_t *)clist_content(it);
	qsort(*uids_r, n, sizeof(uint32_t), cmp_u32);
	*n_r = n;
}

int imap_client_uids(struct imap_client *c, uint32_t **uids_r, size_t *n_r,
		     char **error_r)
{
	struct mailimap_search_key *key = mailimap_search_key_new_all();
	clist *result = NULL;
	int r;

	r = mailimap_uid_search(c->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "UID SEARCH ALL", r);
	collect_uids(result, uids_r, n_r);
	mailimap_search_result_free(result);
	return 0;
}

int imap_client_search_token(struct imap_client *c, const char *token,
			     uint32_t **uids_r, size_t *n_r, char **error_r)
{
	struct mailimap_search_key *key =
		mailimap_search_key_new_header(mystrdup("X-Spamtrap-Id"),
					       mystrdup(token));
	clist *result = NULL;
	int r;

	r = mailimap_uid_search(c->imap, NULL, key, &result);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "UID SEARCH HEADER", r);
	collect_uids(result, uids_r, n_r);
	mailimap_search_result_free(result);
	return 0;
}

/* UID FETCH SET (UID ITEM); FN per message with the item's bytes */
static int fetch(struct imap_client *c, struct mailimap_set *set, int whole,
		 void (*fn)(uint32_t uid, const char *data, size_t len,
			    void *ctx),
		 void *ctx, char **error_r)
{
	struct mailimap_fetch_type *ft =
		mailimap_fetch_type_new_fetch_att_list_empty();
	clist *result = NULL;
	clistiter *it, *jt;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
		mailimap_fetch_att_new_body_peek_section(
			whole ? mailimap_section_new(NULL)
			      : mailimap_section_new_header()));
	r = mailimap_uid_fetch(c->imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "UID FETCH", r);
	for (it = clist_begin(result); it; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		uint32_t uid = 0;
		const char *data = NULL;
		size_t len = 0;

		for (jt = clist_begin(ma->att_list); jt; jt = clist_next(jt)) {
			struct mailimap_msg_att_item *item = clist_content(jt);
			struct mailimap_msg_att_static *st;

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = item->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID) {
				uid = st->att_data.att_uid;
			} else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION
				   && st->att_data.att_body_section->sec_body_part) {
				data = st->att_data.att_body_section->sec_body_part;
				len = st->att_data.att_body_section->sec_length;
			}
		}
		if (uid != 0 && data != NULL)
			fn(uid, data, len, ctx);
	}
	mailimap_fetch_list_free(result);
	return 0;
}

int imap_client_headers(struct imap_client *c, uint32_t from,
			void (*fn)(uint32_t uid, const char *hdr, size_t len,
				   void *ctx),
			void *ctx, char **error_r)
{
	struct mailimap_set *set = mailimap_set_new_interval(from ? from : 1, 0);
	int r = fetch(c, set, 0, fn, ctx, error_r);

	mailimap_set_free(set);
	return r;
}

static void keep_whole(uint32_t uid, const char *data, size_t len, void *ctx)
{
	struct str *out = ctx;

	str_clear(out);
	str_append(out, data, len);
}

int imap_client_fetch(struct imap_client *c, uint32_t uid, struct str *out,
		      char **error_r)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	int r;

	str_clear(out);
	r = fetch(c, set, 1, keep_whole, out, error_r);
	mailimap_set_free(set);
	if (r == 0 && out->len == 0) {
		*error_r = mystrdup("message vanished before it was read");
		return -1;
	}
	return r;
}

static int delete_uid(struct imap_client *c, uint32_t uid, char **error_r)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sf;
	struct mailimap_set *set = mailimap_set_new_single(uid);
	int r;

	mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	r = mailimap_uid_store(c->imap, set, sf);
	mailimap_store_att_flags_free(sf);
	if (r != MAILIMAP_NO_ERROR) {
		mailimap_set_free(set);
		return fail(c, error_r, "UID STORE +FLAGS (\\Deleted)", r);
	}
	r = c->has_uidplus ? mailimap_uid_expunge(c->imap, set)
			   : mailimap_expunge(c->imap);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "EXPUNGE", r);
	return 0;
}

int imap_client_move(struct imap_client *c, uint32_t uid, const char *dest,
		     char **error_r)
{
	struct mailimap_set *set;
	struct str name = STR_INIT;
	int r;

	if (wire_name(dest, &name, error_r) < 0)
		return -1;
	set = mailimap_set_new_single(uid);
	if (c->has_move) {
		r = mailimap_uid_move(c->imap, set, str_c(&name));
		mailimap_set_free(set);
		str_deinit(&name);
		return r == MAILIMAP_NO_ERROR ? 0 : fail(c, error_r, "UID MOVE", r);
	}
	r = mailimap_uid_copy(c->imap, set, str_c(&name));
	mailimap_set_free(set);
	str_deinit(&name);
	if (r != MAILIMAP_NO_ERROR)
		return fail(c, error_r, "UID COPY", r);
	return delete_uid(c, uid, error_r);
}

int imap_client_remove(struct imap_client *c, uint32_t uid, char **error_r)
{
	return delete_uid(c, uid, error_r);
}
