/*
 * privs - run as the configured unprivileged account ("user" setting).
 */
#ifndef SPAMTRAP_PRIVS_H
#define SPAMTRAP_PRIVS_H

/*
 * Become USER (empty: stay as started, with a warning when that is
 * root).  Fatal when USER does not exist, is root, or cannot be
 * switched to; a process already running as USER goes on.
 */
void privs_drop(const char *user);

#endif
