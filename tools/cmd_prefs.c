/*
 * spamtrap prefs, optout, optin, user - preferences and users.
 *
 *	prefs U|--site [--json]			show the effective values
 *	prefs U|--site name=value... [--unset name]... [--stream P]
 *						change, all or nothing
 *	optout U / optin U			opt_out = yes / no
 *	user list [--json]			users with incidents or settings
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mymalloc.h"
#include "qstore_bulk.h"

#define PREFS_MAX_CHANGES	64

static void prefs_usage(FILE *fp)
{
	fputs("usage: spamtrap prefs USER|--site [--json]\n"
	      "       spamtrap prefs USER|--site [name=value...] "
	      "[--unset name]... [--stream P]\n"
	      "  --stream P   apply a preset: high (threshold 3), medium (5), "
	      "low (8),\n"
	      "               tag-only (5, tag instead of hold)\n"
	      "  --unset N    back to the site default (for a user)\n"
	      "  all changes are checked first and stored together, or none\n"
	      "names:\n", fp);
	fputs("  spam_threshold auto_reject_threshold tag_only tag_string\n"
	      "  rbl_hold rbl_reject notify notify_address opt_out\n"
	      "  accept_allows_sender stream page_size (10 30 50 100 200)\n"
	      "  sort_field (date score subject sender recipient)\n"
	      "  sort_order (ascending descending) show_relay show_recipient\n"
	      "  show_one_shot\n", fp);
}

/* which names a scope has stored: a bit per qstore_prefs_names[] entry */
static void mark_stored(const char *name, const char *value, void *ctx)
{
	unsigned long *bits = ctx;
	int i;

	for (i = 0; qstore_prefs_names[i]; i++)
		if (strcmp(name, qstore_prefs_names[i]) == 0)
			*bits |= 1UL << i;
}

/*
 * Every preference with its effective value and where it comes from:
 * the user's own setting (unmarked), "# site" (the site's default) or
 * "# default" (built in), like "spamtrap config" marks defaults.
 */
static int prefs_show(struct qstore *qs, const struct qstore_prefs *p,
		      const char *user, int json)
{
	struct str out = STR_INIT, v = STR_INIT;
	unsigned long own = 0, site = 0;
	char *error = NULL;
	int i;

	if ((user != NULL && qstore_prefs_stored(qs, user, mark_stored, &own,
						 &error, NULL) < 0)
	    || qstore_prefs_stored(qs, NULL, mark_stored, &site, &error,
				   NULL) < 0) {
		cli_db_error("prefs", error);
		return -1;
	}
	if (user == NULL) {
		own = site;
		site = 0;
	}
	if (json)
		cli_json_field(&out, 1, "user", user != NULL ? user : "");
	for (i = 0; qstore_prefs_names[i]; i++) {
		const char *from = own & (1UL << i) ? (user ? "user" : "site")
			: site & (1UL << i) ? "site" : "default";

		str_clear(&v);
		qstore_prefs_format(p, qstore_prefs_names[i], &v);
		if (json) {
			cli_json_field(&out, 0, qstore_prefs_names[i],
				       str_c(&v));
			continue;
		}
		printf("%s = %s%s%s\n", qstore_prefs_names[i], str_c(&v),
		       strcmp(from, "site") == 0 && user != NULL
		       ? "\t# site" : "",
		       strcmp(from, "default") == 0 ? "\t# default" : "");
	}
	if (json) {
		/* where each value comes from, for scripts */
		str_appends(&out, ",\"from\":{");
		for (i = 0; qstore_prefs_names[i]; i++) {
			const char *from = own & (1UL << i)
				? (user ? "user" : "site")
				: site & (1UL << i) ? "site" : "default";

			if (i > 0)
				str_appendc(&out, ',');
			cli_json_str(&out, qstore_prefs_names[i]);
			str_appendc(&out, ':');
			cli_json_str(&out, from);
		}
		str_appends(&out, "}}");
		printf("%s\n", str_c(&out));
	}
	str_deinit(&out);
	str_deinit(&v);
	return 0;
}

int cmd_prefs(int argc, char **argv)
{
	enum { O_SITE = 256, O_JSON, O_UNSET, O_STREAM };
	static const struct option opts[] = {
		{ "site", no_argument, NULL, O_SITE },
		{ "json", no_argument, NULL, O_JSON },
		{ "unset", required_argument, NULL, O_UNSET },
		{ "stream", required_argument, NULL, O_STREAM },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[PREFS_MAX_CHANGES], *values[PREFS_MAX_CHANGES];
	char *copies[PREFS_MAX_CHANGES];
	size_t n = 0, n_copies = 0, i;
	struct qstore_prefs p;
	struct qstore *qs = NULL;
	char *user = NULL, *error = NULL;
	int c, site = 0, json = 0, status = 2;

	optind = 0;	/* 0: glibc re-reads the option string ordering */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SITE:
			site = 1;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_UNSET:
		case O_STREAM:
			if (n >= PREFS_MAX_CHANGES) {
				fprintf(stderr, "spamtrap prefs: too many "
					"changes\n");
				goto out;
			}
			names[n] = c == O_UNSET ? optarg : "stream";
			values[n] = c == O_UNSET ? NULL : optarg;
			n++;
			break;
		case 'h':
			prefs_usage(stdout);
			return 0;
		default:
			prefs_usage(stderr);
			return 2;
		}
	}
	if (!site) {
		if (optind >= argc) {
			fprintf(stderr, "spamtrap prefs: give a USER or "
				"--site\n");
			prefs_usage(stderr);
			goto out;
		}
		if ((user = cli_user("prefs", argv[optind++])) == NULL) {
			status = 1;
			goto out;
		}
	}
	for (; optind < argc; optind++) {
		char *eq = strchr(argv[optind], '='), *copy;

		if (eq == NULL || eq == argv[optind]) {
			fprintf(stderr, "spamtrap prefs: \"%s\" is not "
				"name=value\n", argv[optind]);
			goto out;
		}
		if (n >= PREFS_MAX_CHANGES) {
			fprintf(stderr, "spamtrap prefs: too many changes\n");
			goto out;
		}
		copy = copies[n_copies++] = mystrdup(argv[optind]);
		copy[eq - argv[optind]] = '\0';
		names[n] = copy;
		values[n] = copy + (eq - argv[optind]) + 1;
		n++;
	}
	for (i = 0; i < n; i++) {
		if (values[i] == NULL && site) {
			fprintf(stderr, "spamtrap prefs: --unset is for a "
				"user's own settings\n");
			goto out;
		}
	}
	status = 1;
	if ((qs = cli_open_db("prefs")) == NULL)
		goto out;
	if (n > 0 && qstore_prefs_set_many(qs, user, names, values, n,
					   &error, NULL) < 0) {
		fprintf(stderr, "spamtrap prefs: %s; nothing was changed\n",
			error);
		free(error);
		goto out;
	}
	if (qstore_prefs_get(qs, user, &p, &error, NULL) < 0) {
		cli_db_error("prefs", error);
		qstore_prefs_deinit(&p);
		goto out;
	}
	if (n == 0 || json) {
		if (prefs_show(qs, &p, user, json) < 0) {
			qstore_prefs_deinit(&p);
			goto out;
		}
	} else
		printf("preferences of %s: %zu change%s stored\n",
		       user != NULL ? user : "the site", n, n == 1 ? "" : "s");
	qstore_prefs_deinit(&p);
	status = 0;
out:
	for (i = 0; i < n_copies; i++)
		free(copies[i]);
	qstore_close(&qs);
	free(user);
	return status;
}

static int opt_set(int argc, char **argv, int out)
{
	const char *cmd = out ? "optout" : "optin";
	const char *names[1] = { "opt_out" }, *values[1];
	struct qstore *qs;
	char *user, *error = NULL;
	int status = 1;

	if (command_wants_help(argc, argv)) {
		printf("usage: spamtrap %s USER\n  %s\n", cmd, out
		       ? "stop scanning USER's mail (delivered unscanned)"
		       : "scan USER's mail again");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: spamtrap %s USER\n", cmd);
		return 2;
	}
	if ((user = cli_user(cmd, argv[1])) == NULL)
		return 1;
	values[0] = out ? "yes" : "no";
	if ((qs = cli_open_db(cmd)) != NULL) {
		if (qstore_prefs_set_many(qs, user, names, values, 1, &error,
					  NULL) < 0) {
			cli_db_error(cmd, error);
		} else {
			printf("%s: opted %s of spam scanning\n", user,
			       out ? "out" : "in");
			status = 0;
		}
		qstore_close(&qs);
	}
	free(user);
	return status;
}

int cmd_optout(int argc, char **argv)
{
	return opt_set(argc, argv, 1);
}

int cmd_optin(int argc, char **argv)
{
	return opt_set(argc, argv, 0);
}

/* ---- user list */

struct user_row {
	char *user;
	size_t by_status[QSTORE_NON_SPAM + 1];
	unsigned what;
};

struct user_rows {
	struct user_row *v;
	size_t n;
};

static struct user_row *row_for(struct user_rows *r, const char *user)
{
	size_t i;

	/* incidents come grouped by time, not user: a linear search over
	   the distinct users, few compared to incidents */
	for (i = r->n; i > 0; i--)
		if (strcmp(r->v[i - 1].user, user) == 0)
			return &r->v[i - 1];
	r->v = myrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	r->v[r->n].user = mystrdup(user);
	return &r->v[r->n++];
}

static void rows_clear(struct user_rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].user);
	MYFREE(&r->v);
	r->n = 0;
}

static int count_one(const struct qstore_incident *inc, void *vctx)
{
	struct user_rows *r = vctx;

	if (inc == NULL) {
		rows_clear(r);
		return 0;
	}
	if (inc->status >= QSTORE_PENDING && inc->status <= QSTORE_NON_SPAM)
		row_for(r, inc->user)->by_status[inc->status]++;
	return 0;
}

static int settings_one(const char *user, unsigned what, void *vctx)
{
	row_for(vctx, user)->what |= what;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct user_row *)a)->user,
		      ((const struct user_row *)b)->user);
}

int cmd_user(int argc, char **argv)
{
	struct user_rows rows = { NULL, 0 };
	struct qstore *qs;
	char *error = NULL;
	size_t i;
	int json = 0, status = 1;

	if (command_wants_help(argc, argv)) {
		printf("usage: spamtrap user list [--json]\n"
		       "  users with incidents or settings of their own, with "
		       "their\n  pending, one-shot, spam and non-spam counts\n");
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "list") != 0
	    || (argc == 3 && strcmp(argv[2], "--json") != 0) || argc > 3) {
		fprintf(stderr, "usage: spamtrap user list [--json]\n");
		return 2;
	}
	json = argc == 3;
	if ((qs = cli_open_db("user")) == NULL)
		return 1;
	if (qstore_incident_scan(qs, NULL, QSTORE_STATUS_ANY, 0, count_one,
				 &rows, &error, NULL) < 0
	    || qstore_users_scan(qs, settings_one, &rows, &error, NULL) < 0) {
		cli_db_error("user", error);
		goto out;
	}
	if (rows.n > 1)
		qsort(rows.v, rows.n, sizeof(*rows.v), row_cmp);
	if (!json && rows.n > 0)
		printf("%-32s %7s %8s %6s %8s  %s\n", "USER", "PENDING",
		       "ONE-SHOT", "SPAM", "NON-SPAM", "SETTINGS");
	for (i = 0; i < rows.n; i++) {
		const struct user_row *u = &rows.v[i];
		const char *what = u->what == (QSTORE_USER_HAS_PREFS
					       | QSTORE_USER_HAS_TABLES)
			? "prefs,tables" : u->what & QSTORE_USER_HAS_PREFS
			? "prefs" : u->what & QSTORE_USER_HAS_TABLES
			? "tables" : "-";

		if (json) {
			struct str l = STR_INIT;

			cli_json_field(&l, 1, "user", u->user);
			str_printf(&l, ",\"pending\":%zu,\"one_shot\":%zu,"
				   "\"spam\":%zu,\"non_spam\":%zu,"
				   "\"prefs\":%s,\"tables\":%s}",
				   u->by_status[QSTORE_PENDING],
				   u->by_status[QSTORE_ONE_SHOT],
				   u->by_status[QSTORE_SPAM],
				   u->by_status[QSTORE_NON_SPAM],
				   u->what & QSTORE_USER_HAS_PREFS
				   ? "true" : "false",
				   u->what & QSTORE_USER_HAS_TABLES
				   ? "true" : "false");
			printf("%s\n", str_c(&l));
			str_deinit(&l);
		} else {
			printf("%-32s %7zu %8zu %6zu %8zu  %s\n", u->user,
			       u->by_status[QSTORE_PENDING],
			       u->by_status[QSTORE_ONE_SHOT],
			       u->by_status[QSTORE_SPAM],
			       u->by_status[QSTORE_NON_SPAM], what);
		}
	}
	if (!json && rows.n == 0)
		printf("no users with incidents or settings\n");
	status = 0;
out:
	rows_clear(&rows);
	qstore_close(&qs);
	return status;
}
