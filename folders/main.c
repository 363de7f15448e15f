/*
 * spamtrap-folderd - turns the users' moves in their mail folders into
 * quarantine actions.
 *
 *	spamtrap-folderd [-c FILE] [-o name=value]... [-1] [-d]
 *
 * watch = maildir: the Maildir++ folders of "store = maildir:..." seen
 * directly (watch_maildir.h); watch = imap: every user's INBOX and
 * quarantine folder over IMAP (watch_imap.h).  Both hand what they see
 * to quarantine_action; held mail older than quarantine_retention is
 * expired (watch_expire.h).  Started as root, it runs as "user" (the
 * mail user owning the Maildirs and db_dir).  -1: scan the Maildir store once, print each
 * folder's message count, exit.  SIGHUP reloads the configuration,
 * SIGUSR1 logs counters, SIGTERM stops.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "folder_scan.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "privs.h"
#include "qstore.h"
#include "watch_expire.h"
#include "watch_imap.h"
#include "watch_maildir.h"

#define FOLDERD_CONFIRM_DELAY	0.5	/* s before a confirming rescan */

static volatile sig_atomic_t got_term, got_hup, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void usage(void)
{
	fputs("usage: spamtrap-folderd [-c FILE] [-o name=value]... [-1] [-d]\n"
	      "  -1  scan the Maildir store once, print each folder's message\n"
	      "      count, exit\n"
	      "  -d  detach and log to syslog (default: foreground)\n", stderr);
	exit(2);
}

/* the Maildir template of "store = maildir:...", or NULL */
static const char *maildir_template(void)
{
	if (strncmp(var_store, "maildir:", 8) == 0)
		return var_store + 8;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int scan_once(void)
{
	struct folder_scan now;
	char *error;
	size_t i;

	if (folder_scan_run(maildir_template(), &now, &error) < 0)
		msg_fatal("%s", error);
	for (i = 0; i < now.n; i++)
		printf("%s\t%s\t%zu\n", now.counts[i].maildir,
		       now.counts[i].folder, now.counts[i].messages);
	folder_scan_clear(&now);
	return 0;
}

static void check_settings(void)
{
	if (strcmp(var_watch, "maildir") == 0) {
		if (maildir_template() == NULL)
			msg_fatal("store = %s: watch = maildir watches Maildir "
				  "stores only; set watch = imap for an IMAP "
				  "server", var_store);
	} else if (strcmp(var_watch, "imap") != 0) {
		msg_fatal("watch = %s: use maildir or imap", var_watch);
	}
}

static void expire(struct qstore *qs)
{
	int n = watch_expire_run(qs, time(NULL));

	if (n > 0)
		msg_info("expired %d held messages older than %ds", n,
			 var_quarantine_retention);
}

int main(int argc, char **argv)
{
	const char *conf = getenv("SPAMTRAP_CONF");
	char **overrides = mycalloc((size_t)argc, sizeof(char *));
	int n_overrides = 0, c, once = 0, detach = 0, imap;
	struct watch_maildir *wm = NULL;
	struct watch_imap *wi = NULL;
	struct qstore *qs;
	struct sigaction sa;
	double next_full, confirm_at = 0;
	char *error;

	msg_init("spamtrap-folderd");
	while ((c = getopt(argc, argv, "c:o:1dh")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'o': overrides[n_overrides++] = optarg; break;
		case '1': once = 1; break;
		case 'd': detach = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf && conf[0] == '\0')
		conf = NULL;
	if (config_load(conf, overrides, n_overrides, &error) < 0)
		msg_fatal("%s", error);
	if (once) {
		if (maildir_template() == NULL)
			msg_fatal("store = %s: -1 counts Maildir stores only",
				  var_store);
		scan_once();
		free(overrides);
		config_deinit();
		return 0;
	}
	check_settings();
	if (detach || strcmp(var_log, "syslog") == 0) {
		if (msg_syslog_init(var_syslog_facility) < 0)
			msg_fatal("syslog_facility = %s: unknown facility",
				  var_syslog_facility);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (detach && daemon(0, 0) < 0)
		msg_fatal_sys("daemon");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0
	    || sigaction(SIGHUP, &sa, NULL) < 0
	    || sigaction(SIGUSR1, &sa, NULL) < 0)
		msg_fatal_sys("sigaction");
	signal(SIGPIPE, SIG_IGN);

	/* Maildir files and the database are the mail user's */
	privs_drop(var_user);
	if ((qs = qstore_open(var_db_dir, &error, NULL)) == NULL)
		msg_fatal("%s", error);
	imap = strcmp(var_watch, "imap") == 0;
	if (imap) {
		if ((wi = watch_imap_init(qs, &error)) == NULL)
			msg_fatal("%s", error);
		msg_info("watching IMAP %s as %s, polling every %ds",
			 var_imap_server, var_imap_admin_user,
			 var_imap_poll_interval);
		watch_imap_refresh_users(wi);
	} else {
		if ((wm = watch_maildir_init(qs, maildir_template(), &error)) == NULL)
			msg_fatal("%s", error);
		msg_info("watching %s, rescanning every %ds", maildir_template(),
			 var_watch_interval);
		if (watch_maildir_scan_all(wm))
			confirm_at = now_s() + FOLDERD_CONFIRM_DELAY;
		msg_info("%zu users found", watch_maildir_users(wm));
	}
	expire(qs);
	next_full = now_s() + var_watch_interval;
	while (!got_term) {
		struct pollfd pfd;
		double now = now_s(), wait = next_full - now;
		int r;

		if (imap) {
			double next = watch_imap_poll(wi);

			if (next < wait)
				wait = next;
		} else if (confirm_at > 0 && confirm_at - now < wait) {
			wait = confirm_at - now;
		}
		if (wait < 0)
			wait = 0;
		pfd.fd = wm ? watch_maildir_fd(wm) : -1;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR)
			msg_fatal_sys("poll");
		if (got_term)
			break;
		if (got_hup) {
			got_hup = 0;
			if (config_load(conf, overrides, n_overrides, &error) < 0) {
				msg_error("reload failed, keeping the configuration in force: %s",
					  error);
				free(error);
			} else {
				check_settings();
				if ((strcmp(var_watch, "imap") == 0) != imap)
					msg_warn("watch changed: restart "
						 "spamtrap-folderd to switch");
				msg_info("configuration reloaded");
			}
		}
		if (got_usr1) {
			got_usr1 = 0;
			if (wi) {
				struct watch_imap_stats st;

				watch_imap_get_stats(wi, &st);
				msg_info("stats users=%zu connected=%zu status=%lu "
					 "syncs=%lu logins=%lu login_failures=%lu "
					 "evictions=%lu",
					 st.users, st.connected, st.status_cmds,
					 st.syncs, st.logins, st.login_failures,
					 st.evictions);
			} else {
				msg_info("stats users=%zu",
					 watch_maildir_users(wm));
			}
		}
		now = now_s();
		if (wm != NULL) {
			int ev = r > 0 ? watch_maildir_events(wm) : 0;

			if (ev == 2) {
				if (watch_maildir_scan_all(wm) && confirm_at == 0)
					confirm_at = now + FOLDERD_CONFIRM_DELAY;
			} else if (ev == 1) {
				if (watch_maildir_scan_dirty(wm, 0) && confirm_at == 0)
					confirm_at = now + FOLDERD_CONFIRM_DELAY;
			}
			if (confirm_at > 0 && now >= confirm_at) {
				confirm_at = 0;
				if (watch_maildir_scan_dirty(wm, 1))
					confirm_at = now + FOLDERD_CONFIRM_DELAY;
			}
		}
		if (now >= next_full) {
			next_full = now + var_watch_interval;
			if (wm != NULL) {
				if (watch_maildir_scan_all(wm) && confirm_at == 0)
					confirm_at = now + FOLDERD_CONFIRM_DELAY;
			} else {
				watch_imap_refresh_users(wi);
			}
			expire(qs);
		}
	}
	watch_maildir_deinit(&wm);
	watch_imap_deinit(&wi);
	qstore_close(&qs);
	msg_info("stopped");
	free(overrides);
	config_deinit();
	return 0;
}
