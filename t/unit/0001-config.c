/*
 * config parser: syntax, types, bounds, expansion, errors with file:line,
 * and a failed load leaving the values in force alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "params.h"
#include "test-lib.h"

static char path[] = "/tmp/spamtrap-config-XXXXXX";

static int load_text(const char *text, char **error_r)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	return config_load(path, NULL, 0, error_r);
}

static void expect_error(const char *text, const char *part, const char *what)
{
	char *error = NULL;

	TEST_IS_INT(load_text(text, &error), -1, "%s: refused", what);
	TEST_LIKE(error, part, "%s: message", what);
	free(error);
}

int main(void)
{
	char *error = NULL;
	int fd = mkstemp(path);
	char *ovr[] = { "lmtp_max_recipients=7" };

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);

	/* built-in defaults */
	TEST_IS_INT(config_load(NULL, NULL, 0, &error), 0, "defaults load");
	TEST_IS_STR(var_lmtp_listen, "127.0.0.1:2424", "default listener");
	TEST_IS_INT(var_message_size_limit, 50LL * 1024 * 1024, "default size 50M");
	TEST_IS_INT(var_lmtp_command_timeout, 300, "default timeout 5m");
	TEST_OK(var_var_dir[0] == '/', "var_dir made absolute: %s", var_var_dir);
	TEST_OK(strncmp(var_store, "maildir:/", 9) == 0 &&
		strstr(var_store, "/var/mail/%u") != NULL,
		"store default expands $var_dir: %s", var_store);

	/* a file: comments, continuation, expansion, units */
	TEST_IS_INT(load_text(
		"# a comment\n"
		"var_dir = /srv/st\n"
		"\n"
		"db_dir = ${var_dir}/database\n"
		"lmtp_listen = 127.0.0.1:24,\n"
		"    unix:$var_dir/lmtp\n"
		"  # a comment inside a continuation is ignored\n"
		"message_size_limit = 10k\n"
		"lmtp_data_timeout = 2h\n"
		"maildir_fsync = no\n"
		"mail_mode = 0640\n"
		"myhostname = mx$$1\n", &error), 0, "file loads");
	TEST_IS_STR(var_db_dir, "/srv/st/database", "${name} expansion");
	TEST_IS_STR(var_lmtp_listen, "127.0.0.1:24, unix:/srv/st/lmtp",
		    "continuation line joined");
	TEST_IS_INT(var_message_size_limit, 10240, "size unit k");
	TEST_IS_INT(var_lmtp_data_timeout, 7200, "time unit h");
	TEST_IS_INT(var_maildir_fsync, 0, "bool no");
	TEST_IS_INT(var_mail_mode, 0640, "octal mode");
	TEST_IS_STR(var_myhostname, "mx$1", "$$ is a dollar");
	TEST_IS_STR(var_store, "maildir:/srv/st/mail/%u",
		    "default follows a changed $var_dir");

	/* command line overrides win */
	TEST_IS_INT(config_load(path, ovr, 1, &error), 0, "override loads");
	TEST_IS_INT(var_lmtp_max_recipients, 7, "override applied");

	/* errors name file and line; values in force stay */
	expect_error("var_dir = /x\nbogus_setting = 1\n", ":2: unknown setting \"bogus_setting\"",
		     "unknown key");
	TEST_IS_STR(var_var_dir, "/srv/st", "failed load changed nothing");
	expect_error("lmtp_max_recipients = 0\n", ":1: bad value \"0\" for lmtp_max_recipients",
		     "below minimum");
	expect_error("\n\nlmtp_max_recipients = many\n", ":3: bad value \"many\"",
		     "not a number");
	expect_error("maildir_fsync = perhaps\n", "expected yes or no", "bad bool");
	expect_error("lmtp_command_timeout = 5x\n", "expected a time", "bad time unit");
	expect_error("message_size_limit = 1T\n", "expected a size", "bad size unit");
	expect_error("just words\n", ":1: expected \"name = value\"", "no equals");
	expect_error("  indented = 1\n", ":1: continuation line without a setting",
		     "leading continuation");
	expect_error("db_dir = $nosuch/x\n", "unknown setting \"$nosuch\"",
		     "unknown expansion");
	expect_error("myhostname = $myhostname\n", "refers to itself", "self loop");
	expect_error("myhostname = ${var_dir\n", "unterminated", "unterminated ${");
	expect_error("myhostname = a $ b\n", "lone \"$\"", "lone dollar");
	TEST_IS_INT(var_lmtp_max_recipients, 7, "values from last good load kept");

	TEST_IS_INT(config_load("/nonexistent/spamtrap.conf", NULL, 0, &error), -1,
		    "missing file refused");
	TEST_LIKE(error, "cannot open /nonexistent/spamtrap.conf", "missing file message");
	free(error);

	unlink(path);
	config_deinit();
	return test_done();
}
