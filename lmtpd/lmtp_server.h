/*
 * lmtp_server - listeners and the process model of spamtrap-lmtpd.
 *
 * One master process owns the listening sockets and forks one child per
 * connection (as Postfix's master does with its daemons), so a crash in
 * one session cannot take another down.  The master never parses
 * client input.  SIGTERM: stop accepting, let each session finish its
 * transaction (drain_timeout at most), exit.  SIGHUP: read the
 * configuration again; sessions already running keep the old one, new
 * sessions get the new one; a configuration that fails to load leaves
 * the old one in force.
 */
#ifndef SPAMTRAP_LMTP_SERVER_H
#define SPAMTRAP_LMTP_SERVER_H

#include <stddef.h>

struct lmtp_listener {
	int fd;
	char *spec;		/* as configured */
	char *unix_path;	/* unlinked on exit, or NULL */
};

/* bind everything in SPEC ("127.0.0.1:2424, unix:/path"); fatal on error */
struct lmtp_listener *lmtp_server_listen(const char *spec, size_t *n_r);

/* "reload": called on SIGHUP in the master; returns 0 or -1 (logged) */
typedef int lmtp_server_reload_fn(void);

struct lmtp_deliver;

/*
 * The master loop; returns when the daemon has stopped.  Each session
 * child uses *deliver as it was when the child was forked.
 */
void lmtp_server_run(struct lmtp_listener *ls, size_t n,
		     struct lmtp_deliver *deliver,
		     lmtp_server_reload_fn *reload);
void lmtp_server_close(struct lmtp_listener *ls, size_t n);

#endif
