/*
 * watch_imap - folderd's IMAP watcher, for Dovecot and Cyrus sites.
 *
 * For each user it keeps one IMAP connection (logged in as the user
 * through imap_admin_user, imap_client.h) and tracks three folders, the
 * quarantine and one-shot folders and INBOX, by UIDVALIDITY, UIDNEXT and
 * message count:
 * every imap_poll_interval one STATUS per folder (a quarantine folder
 * that does not exist is asked about again only every watch_interval);
 * only when one of them changed is the folder examined (read-only), its
 * UIDs listed and the header of new UIDs fetched.  Messages are known by X-Spamtrap-Id (or
 * a reported message's key), never by UID: the UID only indexes the
 * cache.  The cache (UIDVALIDITY, UIDNEXT, count, UID -> incident) is
 * saved in watch.db ("I" records), so a restart fetches nothing that did
 * not change.  What was seen goes to quarantine_action_observe().
 *
 * A held message that left the tracked folders is looked for in the
 * user's other folders (LIST, then SEARCH HEADER X-Spamtrap-Id in each)
 * before it counts as rejected: found in an ordinary folder it is
 * accepted, in an ignore_folders folder rejected.
 *
 * At most imap_max_connections connections stay open (libetpan uses
 * select(), so one process cannot go much above 330): with more users,
 * the connection used most recently (needed last) is closed before the
 * next login.
 *
 * Users watched: those with held incidents, those watched before (saved
 * state), and every name in passwd_file; the list is refreshed every
 * watch_interval.  A user whose login fails is retried with back-off.
 */
#ifndef SPAMTRAP_WATCH_IMAP_H
#define SPAMTRAP_WATCH_IMAP_H

#include <time.h>

#include "qstore.h"

struct watch_imap;

struct watch_imap *watch_imap_init(struct qstore *qs, char **error_r);
void watch_imap_deinit(struct watch_imap **w);

/* refresh the user list */
void watch_imap_refresh_users(struct watch_imap *w);
/* poll the users that are due; returns seconds until the next one is due */
double watch_imap_poll(struct watch_imap *w);

struct watch_imap_stats {
	size_t users, connected;
	unsigned long status_cmds, syncs, logins, login_failures, evictions;
};
void watch_imap_get_stats(const struct watch_imap *w,
			  struct watch_imap_stats *st);

#endif
