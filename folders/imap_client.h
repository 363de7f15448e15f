/*
 * imap_client - the few IMAP operations the quarantine needs, over
 * libetpan, logged in as a user through the admin (Dovecot master user,
 * Cyrus proxy admin): SASL PLAIN with authzid = the user's login name
 * (imap_login_format), authcid = imap_admin_user, the password from
 * imap_admin_password_file.
 *
 * Folder names are spamtrap's ('/' between levels, UTF-8); they are sent
 * in modified UTF-7 with '/' as the hierarchy separator (Dovecot's
 * "separator = /", Cyrus with unixhierarchysep).  Every call returns 0
 * or -1 with an allocated *error_r; after an error the connection may be
 * dead (imap_client_alive() says so) and should be dropped.
 */
#ifndef SPAMTRAP_IMAP_CLIENT_H
#define SPAMTRAP_IMAP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

struct imap_client;

struct imap_folder_status {
	uint32_t uidvalidity, uidnext, messages;
};

/* read the admin password from imap_admin_password_file (trimmed) */
int imap_client_admin_password(struct str *out, char **error_r);

/* connect to imap_server and log in as USER (the spamtrap user: %u) */
struct imap_client *imap_client_login(const char *user, const char *password,
				      char **error_r);
void imap_client_deinit(struct imap_client **c);
int imap_client_alive(const struct imap_client *c);

/* STATUS FOLDER (UIDVALIDITY UIDNEXT MESSAGES); a missing folder is
   status 0/0/0, not an error */
int imap_client_status(struct imap_client *c, const char *folder,
		       struct imap_folder_status *st, char **error_r);
/* SELECT FOLDER (creating it when CREATE); status from the answer */
int imap_client_select(struct imap_client *c, const char *folder, int create,
		       struct imap_folder_status *st, char **error_r);

/* every folder of the user (UTF-8 names, '/' separated, INBOX as
   "INBOX"); *names_r is NULL-terminated, free each and the array */
int imap_client_list(struct imap_client *c, char ***names_r, size_t *n_r,
		     char **error_r);
/* EXAMINE FOLDER (read-only: nothing is expunged behind the user) */
int imap_client_examine(struct imap_client *c, const char *folder,
			struct imap_folder_status *st, char **error_r);
/* leave a folder opened with EXAMINE (CLOSE: read-only, so nothing is
   expunged).  Dovecot answers STATUS on the selected folder from the
   session's view, so a watcher must not stay in it. */
int imap_client_unexamine(struct imap_client *c, char **error_r);
/* the folder selected or examined last, or NULL */
const char *imap_client_selected(const struct imap_client *c);

/* in the selected folder: every UID (ascending) */
int imap_client_uids(struct imap_client *c, uint32_t **uids_r, size_t *n_r,
		     char **error_r);
/* the header of every message with UID >= FROM (only UIDs in WANT if
   WANT != NULL), FN(uid, header, len, ctx) */
int imap_client_headers(struct imap_client *c, uint32_t from,
			void (*fn)(uint32_t uid, const char *hdr, size_t len,
				   void *ctx),
			void *ctx, char **error_r);
/* the whole message */
int imap_client_fetch(struct imap_client *c, uint32_t uid, struct str *out,
		      char **error_r);
/* UIDs whose X-Spamtrap-Id contains TOKEN */
int imap_client_search_token(struct imap_client *c, const char *token,
			     uint32_t **uids_r, size_t *n_r, char **error_r);
/* move UID to DEST (UID MOVE, or COPY + \Deleted + UID EXPUNGE) */
int imap_client_move(struct imap_client *c, uint32_t uid, const char *dest,
		     char **error_r);
/* remove UID (\Deleted + UID EXPUNGE, or EXPUNGE without UIDPLUS) */
int imap_client_remove(struct imap_client *c, uint32_t uid, char **error_r);

#endif
