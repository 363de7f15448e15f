/*
 * maildir_box - a user's Maildir++ folders as the quarantine sees them:
 * where they are (from the store template), which message carries which
 * X-Spamtrap-Id (reading only the header), and moving a message between
 * folders the way Dovecot does (one rename, same base name, same inode).
 */
#ifndef SPAMTRAP_MAILDIR_BOX_H
#define SPAMTRAP_MAILDIR_BOX_H

#include "str.h"

#define MAILDIR_BOX_HEADER_MAX	(256 * 1024)	/* header bytes read */

/* USER's Maildir from TEMPLATE (%u %n %d); 0 or -1 with a static reason */
int maildir_box_user_dir(const char *tmpl, const char *user, struct str *out,
			 const char **error_r);
/* the user of a Maildir found under TEMPLATE; 0, or -1 if it does not fit */
int maildir_box_path_user(const char *tmpl, const char *maildir,
			  struct str *user);
/* the directory of FOLDER ("INBOX", "Spam", "Spam/One-Shot") */
int maildir_box_folder_dir(const char *maildir, const char *folder,
			   struct str *out, const char **error_r);
/* create FOLDER_DIR with cur/ new/ tmp/ if missing; 0 or -1 (errno) */
int maildir_box_create(const char *folder_dir);

/* read the header section of a message file into OUT (up to the blank
   line, at most MAILDIR_BOX_HEADER_MAX); 0, or -1 with errno */
int maildir_box_read_header(const char *path, struct str *out);
/* read the whole file; 0 or -1 with errno */
int maildir_box_read_file(const char *path, struct str *out);

/*
 * Find the message of incident ID in FOLDER_DIR: LOCATION's base name
 * first (Dovecot may have moved it from new/ to cur/ and added flags),
 * then every file's X-Spamtrap-Id (verified by CHECK(token, id)).
 * 1 found (*path_r), 0 not there, -1 error (errno).
 */
int maildir_box_find(const char *folder_dir, const char *location,
		     const char *id, int (*check)(const char *token,
						  const char *id, void *ctx),
		     void *ctx, struct str *path_r);

/*
 * Move the message file SRC into the folder DEST_DIR, keeping its name
 * (cur/ when it had flags, else new/); atomic (rename).  0 with *dst_r,
 * or -1 with errno.
 */
int maildir_box_move(const char *src, const char *dest_dir, struct str *dst_r);

#endif
