/*
 * msg - diagnostics to stderr or syslog.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "msg.h"

static const char *progname = "spamtrap";
static int use_syslog;
static void (*cleanup_fn)(void);

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

void msg_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	progname = slash ? slash + 1 : name;
}

const char *msg_progname(void)
{
	return progname;
}

void msg_set_cleanup(void (*fn)(void))
{
	cleanup_fn = fn;
}

int msg_syslog_init(const char *facility)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcmp(facilities[i].name, facility) == 0) {
			openlog(progname, LOG_PID | LOG_NDELAY, facilities[i].value);
			use_syslog = 1;
			return 0;
		}
	}
	return -1;
}

static void msg_vlog(int prio, const char *label, int err,
		     const char *fmt, va_list ap)
{
	char buf[2048];		/* a log line is cut, never overflowed */
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		n = 0;
	if (err && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(err));
	if (use_syslog) {
		if (label)
			syslog(prio, "%s: %s", label, buf);
		else
			syslog(prio, "%s", buf);
	} else {
		if (label)
			fprintf(stderr, "%s[%ld]: %s: %s\n", progname,
				(long)getpid(), label, buf);
		else
			fprintf(stderr, "%s[%ld]: %s\n", progname,
				(long)getpid(), buf);
	}
}

#define MSG_BODY(prio, label, err) do { \
	va_list ap; \
	va_start(ap, fmt); \
	msg_vlog(prio, label, err, fmt, ap); \
	va_end(ap); \
} while (0)

void msg_info(const char *fmt, ...)
{
	MSG_BODY(LOG_INFO, NULL, 0);
}

void msg_warn(const char *fmt, ...)
{
	MSG_BODY(LOG_WARNING, "warning", 0);
}

void msg_warn_sys(const char *fmt, ...)
{
	int err = errno;

	MSG_BODY(LOG_WARNING, "warning", err);
}

void msg_error(const char *fmt, ...)
{
	MSG_BODY(LOG_ERR, "error", 0);
}

static void __attribute__((noreturn)) msg_exit(void)
{
	if (cleanup_fn) {
		void (*fn)(void) = cleanup_fn;

		cleanup_fn = NULL;
		fn();
	}
	exit(1);
}

void msg_fatal(const char *fmt, ...)
{
	MSG_BODY(LOG_CRIT, "fatal", 0);
	msg_exit();
}

void msg_fatal_sys(const char *fmt, ...)
{
	int err = errno;

	MSG_BODY(LOG_CRIT, "fatal", err);
	msg_exit();
}

void msg_panic(const char *fmt, ...)
{
	MSG_BODY(LOG_CRIT, "panic", 0);
	abort();
}
