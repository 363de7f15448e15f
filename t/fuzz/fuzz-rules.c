/*
 * libFuzzer target: the rule-file parser (rules/rules.h) over arbitrary
 * file contents, then scoring a small fixed message with whatever
 * loaded (regex compilation, meta expressions, ReplaceTags, if/else).
 * A bad line is skipped with a warning; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "message.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample[] =
	"From: Sender <sender@example.net>\r\n"
	"To: you@example.org\r\n"
	"Subject: =?utf-8?q?Free_money?= now\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=b\r\n"
	"\r\n--b\r\nContent-Type: text/plain\r\n\r\nClick http://example.com/x now\r\n"
	"--b\r\nContent-Type: text/html\r\n\r\n<p>Buy <a href=\"http://spam.example/\">here</a></p>\r\n"
	"--b--\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64], path[96];
	static struct message *msg;
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	struct rule_lint lint;
	struct rule_set *rs;
	const char *dirs[1];
	char *error = NULL;
	FILE *fp;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-rules-%ld", (long) getpid());
		snprintf(path, sizeof(path), "%s/10_fuzz.cf", dir);
		msg = message_parse(sample, sizeof(sample) - 1);
	}
	(void) mkdir(dir, 0700);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	if (fclose(fp) != 0)
		abort();
	opts.quiet = 1;
	opts.time_budget = 1.0;
	opts.match_limit = 100000;
	rule_lint_init(&lint);
	dirs[0] = dir;
	rs = rule_set_load(dirs, 1, &opts, &lint, &error);
	if (rs != NULL) {
		struct rule_result res;

		rule_set_score(rs, msg, &res);
		rule_result_deinit(&res);
		rule_set_deinit(&rs);
	} else {
		free(error);
	}
	rule_lint_deinit(&lint);
	unlink(path);
	return 0;
}
