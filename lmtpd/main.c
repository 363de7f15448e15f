/*
 * spamtrap-lmtpd - the LMTP delivery agent.
 *
 *	spamtrap-lmtpd [-c FILE] [-o name=value]... [-d]
 *
 * Glue: configuration, listeners, privileges, then the server loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lmtp_deliver.h"
#include "lmtp_server.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "privs.h"
#include "qstore.h"
#include "rules.h"
#include "store.h"
#include "userdb.h"

static const char *conf_file;
static char **overrides;
static int n_overrides;
static struct lmtp_deliver deliver;
static char *hostname;

static void usage(void)
{
	fputs("usage: spamtrap-lmtpd [-c FILE] [-o name=value]... [-d]\n"
	      "  -c FILE   configuration file (default: $SPAMTRAP_CONF, else built-in)\n"
	      "  -o N=V    override a setting\n"
	      "  -d        detach and log to syslog (default: foreground)\n", stderr);
	exit(2);
}

static void set_hostname(void)
{
	char buf[256];

	free(hostname);
	if (var_myhostname[0]) {
		hostname = mystrdup(var_myhostname);
		return;
	}
	if (gethostname(buf, sizeof(buf)) < 0)
		msg_fatal_sys("gethostname");
	buf[sizeof(buf) - 1] = '\0';
	hostname = mystrdup(buf);
}

/*
 * The rule set for new sessions.  A set that cannot be loaded at all
 * leaves the one in force; bad lines only skip their rule (logged).
 */
static int load_rules(void)
{
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	struct rule_lint lint;
	struct rule_set *rs;
	char **dirs = rule_dirs_default(), *error = NULL;
	size_t n = 0;
	int i;

	while (dirs[n] != NULL)
		n++;
	opts.time_budget = var_rules_time_budget_ms / 1000.0;
	opts.match_limit = (unsigned long)var_rules_match_limit;
	opts.no_jit = !var_rules_jit;
	opts.no_hyperscan = !var_rules_hyperscan;
	opts.threads = var_rules_threads;
	opts.cache_dir = *var_rules_cache_dir ? var_rules_cache_dir : NULL;
	rule_lint_init(&lint);
	rs = rule_set_load((const char *const *)dirs, n, &opts, &lint, &error);
	if (rs == NULL) {
		msg_error("rules: %s", error);
		free(error);
		rule_lint_deinit(&lint);
		rule_dirs_free(&dirs);
		return -1;
	}
	{
		int loaded = 0;

		for (i = 0; i < RULE_TYPE_COUNT; i++)
			loaded += lint.loaded[i];
		msg_info("rules: %d loaded from %zu director%s, %d bad line%s skipped",
			 loaded, n, n == 1 ? "y" : "ies", lint.errors,
			 lint.errors == 1 ? "" : "s");
		if (lint.hyperscan_cached + lint.hyperscan_compiled > 0)
			msg_info("rules: Hyperscan pass over %d regexes, %d "
				 "databases from the cache, %d compiled",
				 lint.hyperscan[RULE_BODY] +
				 lint.hyperscan[RULE_RAWBODY] +
				 lint.hyperscan[RULE_URI],
				 lint.hyperscan_cached,
				 lint.hyperscan_compiled);
	}
	rule_lint_deinit(&lint);
	rule_dirs_free(&dirs);
	rule_set_deinit(&deliver.rules);
	deliver.rules = rs;
	return 0;
}

/* store and user list for new sessions; 0 or -1 (old ones kept) */
static int open_backends(void)
{
	struct store *store;
	struct userdb *users = NULL;
	char *error;

	if (strcmp(var_lmtp_reject_mode, "discard") != 0 &&
	    strcmp(var_lmtp_reject_mode, "bounce") != 0) {
		msg_error("lmtp_reject_mode = %s: expected discard or bounce",
			  var_lmtp_reject_mode);
		return -1;
	}

	store = store_init(var_store, &error);
	if (store == NULL) {
		msg_error("store = %s: %s", var_store, error);
		free(error);
		return -1;
	}
	if (var_passwd_file[0]) {
		users = userdb_init(var_passwd_file, &error);
		if (users == NULL) {
			msg_error("passwd_file: %s", error);
			free(error);
			store_deinit(&store);
			return -1;
		}
	}
	store_deinit(&deliver.store);
	userdb_deinit(&deliver.users);
	deliver.store = store;
	deliver.users = users;
	deliver.reject_bounce = strcmp(var_lmtp_reject_mode, "bounce") == 0;
	set_hostname();
	deliver.hostname = hostname;
	return 0;
}

static int reload(void)
{
	char *error;
	char *old_listen = mystrdup(var_lmtp_listen);
	int ret = 0;

	if (config_load(conf_file, overrides, n_overrides, &error) < 0) {
		msg_error("%s", error);
		free(error);
		free(old_listen);
		return -1;
	}
	if (strcmp(old_listen, var_lmtp_listen) != 0)
		msg_warn("lmtp_listen changed: restart spamtrap-lmtpd to apply it");
	if (open_backends() < 0 || load_rules() < 0)
		ret = -1;
	else
		msg_info("configuration reloaded%s%s",
			 conf_file ? " from " : "", conf_file ? conf_file : "");
	free(old_listen);
	return ret;
}

/* directories the daemon writes in, created before privileges drop */
static void make_dir(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	if (path[0] == '\0' || stat(path, &st) == 0)
		return;
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		msg_fatal_sys("mkdir %s", path);
	if (uid != (uid_t)-1 && chown(path, uid, gid) < 0)
		msg_fatal_sys("chown %s", path);
}

static void prepare_dirs(void)
{
	struct passwd *pw = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (var_user[0] && geteuid() == 0 && (pw = getpwnam(var_user)) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	make_dir(var_var_dir, uid, gid);
	make_dir(var_db_dir, uid, gid);
	if (var_rules_cache_dir[0] && var_rules_hyperscan) {
		struct stat st;

		make_dir(var_rules_cache_dir, uid, gid);
		/* made by "spamtrap score" as root: the daemon writes it too */
		if (uid != (uid_t)-1 && stat(var_rules_cache_dir, &st) == 0 &&
		    S_ISDIR(st.st_mode) && st.st_uid != uid &&
		    chown(var_rules_cache_dir, uid, gid) < 0)
			msg_warn("chown %s: %s; compiled rules will not be "
				 "cached", var_rules_cache_dir, strerror(errno));
	}
}

/*
 * Open the database once at start-up, so that a bad db_dir stops the
 * daemon at once and the first session does not pay for creating the
 * environment; then close it: the master keeps no database handle
 * (session processes open their own after fork).
 */
static void check_database(void)
{
	enum errkind kind;
	char *error = NULL;
	struct qstore *qs = qstore_open(var_db_dir, &error, &kind);

	if (qs == NULL)
		msg_fatal("db_dir = %s: %s", var_db_dir, error);
	qstore_close(&qs);
}

static void daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		msg_fatal_sys("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		msg_fatal_sys("setsid");
	if (chdir("/") < 0)
		msg_fatal_sys("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		msg_fatal_sys("open /dev/null");
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		msg_fatal_sys("dup2");
	if (fd > 2)
		close(fd);
}

static char *pid_path;

static void remove_pid_file(void)
{
	if (pid_path)
		unlink(pid_path);
}

static void write_pid_file(void)
{
	FILE *fp;

	if (var_pid_file[0] == '\0')
		return;
	pid_path = mystrdup(var_pid_file);
	if ((fp = fopen(pid_path, "w")) == NULL)
		msg_fatal_sys("open %s", pid_path);
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0)
		msg_fatal_sys("write %s", pid_path);
	msg_set_cleanup(remove_pid_file);
}

int main(int argc, char **argv)
{
	struct lmtp_listener *ls;
	size_t n_ls;
	int c, detach = 0;
	char *error;

	msg_init("spamtrap-lmtpd");
	conf_file = getenv("SPAMTRAP_CONF");
	overrides = mycalloc((size_t)argc, sizeof(*overrides));
	while ((c = getopt(argc, argv, "c:o:dh")) != -1) {
		switch (c) {
		case 'c':
			conf_file = optarg;
			break;
		case 'o':
			overrides[n_overrides++] = optarg;
			break;
		case 'd':
			detach = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf_file && conf_file[0] == '\0')
		conf_file = NULL;
	if (config_load(conf_file, overrides, n_overrides, &error) < 0)
		msg_fatal("%s", error);
	if (detach || strcmp(var_log, "syslog") == 0) {
		if (msg_syslog_init(var_syslog_facility) < 0)
			msg_fatal("syslog_facility = %s: unknown facility",
				  var_syslog_facility);
	} else if (strcmp(var_log, "stderr") != 0) {
		msg_fatal("log = %s: expected stderr or syslog", var_log);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);

	ls = lmtp_server_listen(var_lmtp_listen, &n_ls);
	prepare_dirs();
	privs_drop(var_user);
	if (open_backends() < 0 || load_rules() < 0)
		msg_fatal("cannot start: see the errors above");
	check_database();
	if (detach)
		daemonize();
	write_pid_file();
	msg_info("listening on %s, store %s", var_lmtp_listen, var_store);
	lmtp_server_run(ls, n_ls, &deliver, reload);
	lmtp_server_close(ls, n_ls);
	remove_pid_file();
	store_deinit(&deliver.store);
	userdb_deinit(&deliver.users);
	rule_set_deinit(&deliver.rules);
	free(hostname);
	free(pid_path);
	free(overrides);
	config_deinit();
	return 0;
}
