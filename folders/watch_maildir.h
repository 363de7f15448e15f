/*
 * watch_maildir - folderd's Maildir watcher: the users' Maildir++ folders
 * under the "store = maildir:TEMPLATE" directories, seen directly.
 *
 * Every user's folders are classified (quarantine and one-shot folders
 * and their sub-folders; ignore_folders; everything else is "normal"),
 * watched with inotify (new/ and cur/ of each folder, and the Maildir
 * itself for new folders), and rescanned in full every watch_interval.
 * A scan reads only the header of files it has not seen before (their
 * base name is remembered: Dovecot keeps it when it moves or flags a
 * message), collects which incidents are where, and hands that to
 * quarantine_action_observe().  A message without X-Spamtrap-Id that
 * appears in the quarantine is reported.
 */
#ifndef SPAMTRAP_WATCH_MAILDIR_H
#define SPAMTRAP_WATCH_MAILDIR_H

#include "qstore.h"

struct watch_maildir;

struct watch_maildir *watch_maildir_init(struct qstore *qs, const char *tmpl,
					 char **error_r);
void watch_maildir_deinit(struct watch_maildir **w);

/* the inotify descriptor (poll it for input) */
int watch_maildir_fd(const struct watch_maildir *w);
/* find users and folders, add watches, scan everyone; 1 if a confirming
   scan is wanted (watch_maildir_scan_dirty(w, 1) soon) */
int watch_maildir_scan_all(struct watch_maildir *w);
/* read pending inotify events; 1 if some user needs a scan, 2 if a
   folder was created (call watch_maildir_scan_all) */
int watch_maildir_events(struct watch_maildir *w);
/* scan the users that changed (FINAL: also those waiting to confirm a
   vanished message); returns 1 if a confirming scan is still wanted */
int watch_maildir_scan_dirty(struct watch_maildir *w, int final);
/* users known */
size_t watch_maildir_users(const struct watch_maildir *w);

#endif
