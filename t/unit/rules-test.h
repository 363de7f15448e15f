/*
 * rules-test.h - a scratch rule directory for the rule engine tests:
 * write files into it, load it as the daemon would, look at the hits.
 */
#ifndef SPAMTRAP_RULES_TEST_H
#define SPAMTRAP_RULES_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "str.h"

/* the directory, made by rules_test_dir() */
static char dir[64];

/* load() sets rule_set_options.every_rule to this */
__attribute__((unused)) static int load_every_rule;

__attribute__((unused))
static void write_file(const char *name, const char *text)
{
	struct str p = STR_INIT;
	FILE *fp;

	str_printf(&p, "%s/%s", dir, name);
	fp = fopen(p.s, "w");
	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
		perror(p.s);
		exit(1);
	}
	str_deinit(&p);
}

__attribute__((unused))
static void clean_dir(void)
{
	struct str cmd = STR_INIT;

	str_printf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.s) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	str_deinit(&cmd);
}

__attribute__((unused))
static struct rule_set *load(struct rule_lint *lint)
{
	const char *dirs[1] = { dir };
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	char *error = NULL;
	struct rule_set *rs;

	opts.quiet = 1;
	opts.every_rule = load_every_rule;
	/* make valgrind: valgrind cannot follow PCRE2's JIT code */
	opts.no_jit = getenv("SPAMTRAP_TEST_NO_JIT") != NULL;
	rule_lint_init(lint);
	rs = rule_set_load(dirs, 1, &opts, lint, &error);
	if (rs == NULL) {
		printf("# load failed: %s\n", error);
		free(error);
	}
	return rs;
}

/* " RULE " is among the hits (all_hits, __ rules included) */
__attribute__((unused))
static int hit(const struct rule_result *res, const char *rule)
{
	struct str sb = STR_INIT;
	int found;

	str_printf(&sb, " %s ", res->all_hits);
	{
		struct str pat = STR_INIT;

		str_printf(&pat, " %s ", rule);
		found = strstr(sb.s, pat.s) != NULL;
		str_deinit(&pat);
	}
	str_deinit(&sb);
	return found;
}

/* a fresh directory /tmp/NAME.XXXXXX; exits if it cannot be made */
__attribute__((unused))
static void rules_test_dir(const char *name)
{
	snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

#endif
