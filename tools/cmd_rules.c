/*
 * spamtrap rules lint [--list] [DIR...]	check rule files
 * spamtrap score [--json] [--rules DIR]... FILE...	score messages
 *
 * Without DIR, both use the configured rule directories (rules_dir, or
 * the shipped rules plus SpamAssassin's when rules_dir is empty).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "message.h"
#include "mymalloc.h"
#include "params.h"
#include "rules.h"
#include "str.h"

#define SCORE_MAX_MESSAGE	(256L * 1024 * 1024)	/* bytes read per file */

static void rules_usage(FILE *fp)
{
	fputs("usage: spamtrap rules lint [--list] [DIR|FILE...]\n"
	      "  Read the rule files as the daemon would, print every warning\n"
	      "  (file:line), then totals by rule type: loaded, eval tests and\n"
	      "  other unsupported rules, disabled (score 0 or network tests).\n"
	      "  Exits 1 if a line had an error.  Without DIR: the configured\n"
	      "  rule directories.\n"
	      "  --list  also print every rule: NAME TYPE STATUS\n", fp);
}

static void score_usage(FILE *fp)
{
	fputs("usage: spamtrap score [--json] [--rules DIR]... FILE...\n"
	      "  Score raw RFC 822 messages (\"-\" reads standard input) and\n"
	      "  print the rules hit with their scores and descriptions.\n"
	      "  --json      one JSON object per line per message:\n"
	      "              {\"file\":..,\"score\":..,\"hits\":[{\"rule\":..,"
	      "\"score\":..},..]}\n"
	      "  --rules DIR read these rule directories (repeatable) instead\n"
	      "              of the configured ones\n"
	      "  --hits      print every rule hit, \"__\" sub-rules included\n"
	      "              (one line per message: FILE: RULE...); runs even\n"
	      "              the sub-rules that cannot change the result\n"
	      "  --profile   print the slowest rules on stderr at the end\n", fp);
}

static int profile, every_rule;

static struct rule_set *load(char **dirs, size_t n, struct rule_lint *lint,
			     int quiet)
{
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	struct rule_set *rs;
	char *error = NULL;

	opts.time_budget = var_rules_time_budget_ms / 1000.0;
	opts.match_limit = (unsigned long)var_rules_match_limit;
	opts.no_jit = !var_rules_jit;
	opts.no_hyperscan = !var_rules_hyperscan;
	opts.threads = var_rules_threads;
	opts.cache_dir = *var_rules_cache_dir ? var_rules_cache_dir : NULL;
	opts.quiet = quiet;
	opts.profile = profile;
	opts.every_rule = every_rule;
	rs = rule_set_load((const char *const *)dirs, n, &opts, lint, &error);
	if (rs == NULL) {
		fprintf(stderr, "spamtrap: %s\n", error);
		free(error);
	}
	return rs;
}

static int rules_lint(int argc, char **argv)
{
	int c, list = 0, status;
	char **dirs;
	size_t n = 0, i;
	struct rule_lint lint;
	struct rule_set *rs;
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	optind = 1;
	while ((c = getopt_long(argc, argv, "lh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			list = 1;
			break;
		case 'h':
			rules_usage(stdout);
			return 0;
		default:
			rules_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		dirs = mycalloc((size_t)(argc - optind) + 1, sizeof(char *));
		for (; optind < argc; optind++)
			dirs[n++] = mystrdup(argv[optind]);
	} else {
		dirs = rule_dirs_default();
		while (dirs[n])
			n++;
	}
	if (n == 0) {
		fprintf(stderr, "spamtrap rules lint: no rule directory "
			"(set rules_dir)\n");
		rule_dirs_free(&dirs);
		return 1;
	}
	rule_lint_init(&lint);
	rs = load(dirs, n, &lint, 1);
	fputs(str_c(&lint.messages), stdout);
	if (rs == NULL) {
		rule_lint_deinit(&lint);
		rule_dirs_free(&dirs);
		return 1;
	}
	if (list)
		rule_set_list(rs, stdout);
	printf("read %d files from", lint.files);
	for (i = 0; i < n; i++)
		printf(" %s", dirs[i]);
	printf("\n%-8s %7s %7s %12s\n", "type", "loaded", "eval",
	       "unsupported");
	for (i = 0; i < RULE_TYPE_COUNT; i++)
		printf("%-8s %7d %7d %12d\n", rule_type_name((enum rule_type)i),
		       lint.loaded[i], lint.eval[i], lint.unsupported[i]);
	printf("disabled (score 0 or network test): %d\n", lint.disabled);
	printf("meta rules depending only on unsupported rules: %d\n",
	       lint.meta_unsupported);
	printf("meta rules depending partly on unsupported rules: %d\n",
	       lint.meta_partial);
	printf("plugins loaded: %d; ignored settings: %d; lang lines: %d\n",
	       lint.plugins, lint.ignored_settings, lint.lang_lines);
	printf("run only where a Hyperscan pass says they may match: header %d, "
	       "body %d, rawbody %d, uri %d (%d databases from the cache, %d "
	       "compiled, %zu kB)\n", lint.hyperscan[RULE_HEADER],
	       lint.hyperscan[RULE_BODY], lint.hyperscan[RULE_RAWBODY],
	       lint.hyperscan[RULE_URI],
	       lint.hyperscan_cached, lint.hyperscan_compiled,
	       lint.hyperscan_bytes / 1024);
	printf("body and rawbody rules with a literal prefilter: %d of %d\n",
	       lint.prefiltered, lint.loaded[RULE_BODY] +
	       lint.loaded[RULE_RAWBODY]);
	printf("sub-rules run only where they can change the result: %d\n",
	       lint.deferred);
	printf("required_score %.1f\n", rule_set_required(rs));
	printf("errors: %d\n", lint.errors);
	status = lint.errors > 0 ? 1 : 0;
	rule_set_deinit(&rs);
	rule_lint_deinit(&lint);
	rule_dirs_free(&dirs);
	return status;
}

int cmd_rules(int argc, char **argv)
{
	if (argc < 2) {
		rules_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		rules_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "lint") == 0)
		return rules_lint(argc - 1, argv + 1);
	fprintf(stderr, "spamtrap rules: unknown subcommand \"%s\"\n",
		argv[1]);
	rules_usage(stderr);
	return 2;
}

/* the whole file (or stdin) into *out; -1 with errno */
static int read_all(const char *path, struct str *out)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (fp == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (out->len + n > (size_t)SCORE_MAX_MESSAGE) {
			if (fp != stdin)
				fclose(fp);
			errno = EFBIG;
			return -1;
		}
		str_append(out, buf, n);
	}
	if (ferror(fp)) {
		int e = errno;

		if (fp != stdin)
			fclose(fp);
		errno = e;
		return -1;
	}
	if (fp != stdin)
		fclose(fp);
	return 0;
}

int cmd_score(int argc, char **argv)
{
	int c, json = 0, hits_only = 0, status = 0;
	char **dirs = NULL;
	size_t n = 0;
	struct rule_set *rs;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "rules", required_argument, NULL, 'r' },
		{ "hits", no_argument, NULL, 'H' },
		{ "profile", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	optind = 1;
	while ((c = getopt_long(argc, argv, "jr:Hph", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			profile = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'H':
			hits_only = 1;
			every_rule = 1;
			break;
		case 'r':
			dirs = myrealloc(dirs, (n + 2) * sizeof(char *));
			dirs[n++] = mystrdup(optarg);
			dirs[n] = NULL;
			break;
		case 'h':
			score_usage(stdout);
			rule_dirs_free(&dirs);
			return 0;
		default:
			score_usage(stderr);
			rule_dirs_free(&dirs);
			return 2;
		}
	}
	if (optind >= argc) {
		score_usage(stderr);
		rule_dirs_free(&dirs);
		return 2;
	}
	if (dirs == NULL) {
		dirs = rule_dirs_default();
		while (dirs[n])
			n++;
	}
	rs = n > 0 ? load(dirs, n, NULL, 0) : NULL;
	rule_dirs_free(&dirs);
	if (rs == NULL) {
		if (n == 0)
			fprintf(stderr, "spamtrap score: no rule directory\n");
		return 1;
	}
	for (; optind < argc; optind++) {
		const char *file = argv[optind];
		struct str data = STR_INIT, out = STR_INIT;
		struct message *msg;
		struct rule_result res;
		size_t i;

		if (read_all(file, &data) < 0) {
			fprintf(stderr, "spamtrap score: %s: %s\n", file,
				strerror(errno));
			str_deinit(&data);
			status = 1;
			continue;
		}
		msg = message_parse(data.s ? data.s : "", data.len);
		rule_set_score(rs, msg, &res);
		if (hits_only) {
			printf("%s: %s\n", file, res.all_hits);
		} else if (json) {
			rule_result_json(&res, file, &out);
			puts(out.s);
		} else {
			printf("%s: score %.1f (required %.1f)%s%s\n", file,
			       res.score, res.required,
			       res.score >= res.required ? " SPAM" : "",
			       res.timed_out ? " [time budget exceeded]" : "");
			for (i = 0; i < res.n_hits; i++) {
				const struct rule_hit *h = &res.hits[i];

				printf("  %7.3f %-28s %s", h->score, h->rule,
				       h->description);
				if (h->count > 1)
					printf(" (x%d)", h->count);
				putchar('\n');
			}
		}
		fflush(stdout);
		rule_result_deinit(&res);
		message_deinit(&msg);
		str_deinit(&data);
		str_deinit(&out);
	}
	if (profile)
		rule_set_profile(rs, stderr, 25);
	rule_set_deinit(&rs);
	return status;
}
