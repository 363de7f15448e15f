/*
 * spamtrap-folderd - watches the users' folders.
 *
 *	spamtrap-folderd [-c FILE] [-o name=value]... [-1] [-d]
 *
 * With a Maildir store it scans every user's Maildir++ folders each
 * watch_interval and logs each change in a folder's message count
 * (-1: scan once, print the counts, exit).  Turning moves into
 * quarantine actions builds on this scan.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "folder_scan.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void usage(void)
{
	fputs("usage: spamtrap-folderd [-c FILE] [-o name=value]... [-1] [-d]\n"
	      "  -1  scan once, print each folder's message count, exit\n"
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

static void log_changes(const struct folder_scan *old,
			const struct folder_scan *now)
{
	size_t i;

	for (i = 0; i < now->n; i++) {
		const struct folder_count *c = &now->counts[i];
		const struct folder_count *o =
			folder_scan_find(old, c->maildir, c->folder);

		if (o == NULL)
			msg_info("maildir=%s folder=%s messages=%zu new=yes",
				 c->maildir, c->folder, c->messages);
		else if (o->messages != c->messages)
			msg_info("maildir=%s folder=%s messages=%zu was=%zu",
				 c->maildir, c->folder, c->messages, o->messages);
	}
	for (i = 0; i < old->n; i++) {
		const struct folder_count *o = &old->counts[i];

		if (folder_scan_find(now, o->maildir, o->folder) == NULL)
			msg_info("maildir=%s folder=%s gone=yes", o->maildir,
				 o->folder);
	}
}

int main(int argc, char **argv)
{
	const char *conf = getenv("SPAMTRAP_CONF");
	char **overrides = mycalloc((size_t)argc, sizeof(char *));
	int n_overrides = 0, c, once = 0, detach = 0;
	struct folder_scan last, now;
	struct sigaction sa;
	char *error;
	size_t i;

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
	if (maildir_template() == NULL)
		msg_fatal("store = %s: spamtrap-folderd watches Maildir stores only; "
			  "watching folders over IMAP is not available yet",
			  var_store);
	if (once) {
		if (folder_scan_run(maildir_template(), &now, &error) < 0)
			msg_fatal("%s", error);
		for (i = 0; i < now.n; i++)
			printf("%s\t%s\t%zu\n", now.counts[i].maildir,
			       now.counts[i].folder, now.counts[i].messages);
		folder_scan_clear(&now);
		free(overrides);
		config_deinit();
		return 0;
	}
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
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		msg_fatal_sys("sigaction");

	msg_info("watching %s every %ds", maildir_template(), var_watch_interval);
	memset(&last, 0, sizeof(last));
	if (folder_scan_run(maildir_template(), &last, &error) < 0)
		msg_fatal("%s", error);
	msg_info("%zu folders found", last.n);
	while (!got_term) {
		unsigned left = (unsigned)var_watch_interval;

		while (left > 0 && !got_term && !got_hup)
			left = sleep(left);
		if (got_hup) {
			got_hup = 0;
			if (config_load(conf, overrides, n_overrides, &error) < 0) {
				msg_error("reload failed, keeping the configuration in force: %s",
					  error);
				free(error);
			} else if (maildir_template() == NULL) {
				msg_fatal("store = %s is not a Maildir store", var_store);
			} else {
				msg_info("configuration reloaded");
			}
		}
		if (got_term)
			break;
		if (folder_scan_run(maildir_template(), &now, &error) < 0) {
			msg_warn("%s", error);
			free(error);
			continue;
		}
		log_changes(&last, &now);
		folder_scan_clear(&last);
		last = now;
	}
	folder_scan_clear(&last);
	msg_info("stopped");
	free(overrides);
	config_deinit();
	return 0;
}
