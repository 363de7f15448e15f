/*
 * msg - diagnostics.
 *
 * msg_info/msg_warn/msg_error: log and go on.  msg_fatal: bad config or
 * environment, log and exit(1).  msg_panic: a bug, log and abort().
 * The _sys variants append ": strerror(errno)".
 * Output goes to stderr (the default, for foreground use and tests) or
 * to syslog after msg_syslog_init().
 */
#ifndef SPAMTRAP_MSG_H
#define SPAMTRAP_MSG_H

#define MSG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void msg_init(const char *progname);
/* switch to syslog; facility is a name such as "mail" or "local0" */
int msg_syslog_init(const char *facility);
const char *msg_progname(void);
/* optional hook run before a fatal exit (e.g. to remove a pid file) */
void msg_set_cleanup(void (*fn)(void));

void msg_info(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_warn_sys(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_error(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_fatal(const char *fmt, ...) MSG_PRINTF(1, 2) __attribute__((noreturn));
void msg_fatal_sys(const char *fmt, ...) MSG_PRINTF(1, 2) __attribute__((noreturn));
void msg_panic(const char *fmt, ...) MSG_PRINTF(1, 2) __attribute__((noreturn));

#endif
