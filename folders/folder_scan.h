/*
 * folder_scan - find the users' Maildirs under a store template and count
 * the messages in each folder.
 *
 * The template is the one of "store = maildir:TEMPLATE": every path
 * component holding a % sequence matches any directory name, so
 * /var/vmail/%d/%n finds /var/vmail/<domain>/<user>.  A Maildir is a
 * directory with cur/ and new/; its folders are the Maildir++
 * sub-directories ".Name" holding cur/ and new/.
 */
#ifndef SPAMTRAP_FOLDER_SCAN_H
#define SPAMTRAP_FOLDER_SCAN_H

#include <stddef.h>

struct folder_count {
	char *maildir;		/* the user's Maildir path */
	char *folder;		/* "INBOX" or the on-disk Maildir++ name without
				   the leading dot ("Spam", "Spam.One-Shot") */
	size_t messages;	/* files in new/ and cur/ */
};

struct folder_scan {
	struct folder_count *counts;
	size_t n;
};

/* scan everything under TEMPLATE; 0, or -1 with *error_r */
int folder_scan_run(const char *template, struct folder_scan *scan,
		    char **error_r);
void folder_scan_clear(struct folder_scan *scan);

/* the entry for (maildir, folder) in SCAN, or NULL */
const struct folder_count *folder_scan_find(const struct folder_scan *scan,
					    const char *maildir,
					    const char *folder);

#endif
