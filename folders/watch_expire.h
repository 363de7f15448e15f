/*
 * watch_expire - folderd's expiry: a message still held (pending or
 * one-shot) after quarantine_retention is removed from the user's
 * quarantine folder (quarantine_mailbox) and its incident becomes spam,
 * via expiry.  The incident and its copy stay until "spamtrap db
 * expire" deletes old incidents.
 */
#ifndef SPAMTRAP_WATCH_EXPIRE_H
#define SPAMTRAP_WATCH_EXPIRE_H

#include <time.h>

#include "qstore.h"

/* expire what was received before NOW - quarantine_retention; returns
   the number expired, or -1 when the database could not be read */
int watch_expire_run(struct qstore *qs, time_t now);

#endif
