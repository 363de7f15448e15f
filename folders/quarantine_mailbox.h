/*
 * quarantine_mailbox - act on the held message itself, in the user's
 * mailbox: move it from the quarantine folder to INBOX, or remove it.
 * With "store = maildir:..." the files are renamed / unlinked directly;
 * with an LMTP store (Dovecot, Cyrus) it is done over IMAP, logged in as
 * the user through imap_admin_user (imap_client.h).  The message is
 * found by its X-Spamtrap-Id (the Maildir location's base name first).
 */
#ifndef SPAMTRAP_QUARANTINE_MAILBOX_H
#define SPAMTRAP_QUARANTINE_MAILBOX_H

#include "qstore.h"

/* 1 moved (*where_r: the new location, may be NULL), 0 not in the
   folder, -1 error */
int quarantine_mailbox_release(struct qstore *qs,
			       const struct qstore_incident *inc,
			       struct str *where_r, char **error_r);
/* 1 removed, 0 not in the folder, -1 error */
int quarantine_mailbox_remove(struct qstore *qs,
			      const struct qstore_incident *inc,
			      char **error_r);

#endif
