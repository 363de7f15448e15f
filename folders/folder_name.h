/*
 * folder_name - mail folder names: checks and their on-disk form.
 *
 * A folder name is UTF-8 with '/' between hierarchy levels, as IMAP
 * clients see it with Dovecot's "separator = /" ("Spam",
 * "Spam/One-Shot").  On disk, Dovecot's Maildir++ layout keeps each
 * level in modified UTF-7 (RFC 3501 section 5.1.3) and joins the
 * levels with '.', under a leading '.': "Spam/Übersicht" is the
 * directory ".Spam.&ANw-bersicht".
 *
 * A name that could leave the Maildir or that Maildir++ cannot hold
 * is refused: empty levels ("a//b", '/' at either end), "." or ".."
 * or a leading '.' or '~', a '.' inside a level (it is the Maildir++
 * separator; Dovecot refuses it without the listescape plugin),
 * control bytes, bad UTF-8, and levels too long for a file name.
 */
#ifndef SPAMTRAP_FOLDER_NAME_H
#define SPAMTRAP_FOLDER_NAME_H

#include "str.h"

#define FOLDER_NAME_SEP		'/'	/* between levels, as clients see it */
#define FOLDER_NAME_MAILDIR_SEP	'.'	/* between levels, on disk */
#define FOLDER_NAME_MAX		1024	/* whole name, bytes of UTF-8 */

/*
 * Append the modified UTF-7 form of UTF-8 text IN (LEN bytes) to OUT.
 * Returns 0, or -1 with a static reason in *error_r on bad UTF-8
 * (overlong forms, surrogates, code points above U+10FFFF).
 */
int folder_name_utf8_to_mutf7(const char *in, size_t len, struct str *out,
			      const char **error_r);

/*
 * Append the UTF-8 form of modified UTF-7 text IN to OUT.  Only the
 * canonical encoding is accepted: printable ASCII stands for itself,
 * "&-" for '&', and a base64 run encodes non-printable characters
 * only, with no padding bits set, no adjacent runs and valid UTF-16.
 * Returns 0, or -1 with a static reason.
 */
int folder_name_mutf7_to_utf8(const char *in, size_t len, struct str *out,
			      const char **error_r);

/* 1 if NAME means the inbox (NULL, "", or "INBOX" in any case) */
int folder_name_is_inbox(const char *name);

/* Check a folder name (see above).  Returns 0, or -1 with a static reason. */
int folder_name_check(const char *name, const char **error_r);

/*
 * Append the Maildir++ directory name of folder NAME (".Spam.One-Shot")
 * to OUT; checks NAME first.  Returns 0, or -1 with a static reason.
 * Not for the inbox, which is the Maildir itself.
 */
int folder_name_maildir(const char *name, struct str *out,
			const char **error_r);

#endif
