/*
 * spamtrap sender|domain|relay list|set|del|bulk - the sender, domain
 * and relay tables (the web pages' "Rules/Lists"), per user or for the
 * site.
 *
 *	list [--user U|--site] [--action A] [--json]
 *	set KEY ACTION [--user U|--site] [--comment C] [--who W]
 *	del KEY [--user U|--site]
 *	bulk --action A|--delete [--user U|--site] [--comment C] [--who W]
 *	     [FILE]		(default: standard input)
 *
 * Bulk input: one KEY per line, optionally followed by blanks and a
 * comment of its own (overriding --comment); blank lines and lines
 * starting with '#' are skipped.  Every key is checked before anything
 * changes, and all of them change in one transaction.  The confirmation
 * lists each entry and what happened to it; "bulk --delete" with the
 * same input removes them again.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mymalloc.h"
#include "qstore_bulk.h"

#define BULK_LINE_MAX	2048
#define BULK_MAX	100000

struct table_opts {
	const char *cmd;		/* "sender", "domain", "relay" */
	enum qstore_table_kind kind;
	char *user;			/* NULL: the site table */
	int site;
	int action;			/* QSTORE_ACT_*, 0 none given */
	int delete;
	const char *comment;
	char *who;
	int json;
};

static void usage(FILE *fp, const char *cmd)
{
	fprintf(fp,
		"usage: spamtrap %s list [--user U|--site] [--action A] "
		"[--json]\n"
		"       spamtrap %s set KEY ACTION [--user U|--site] "
		"[--comment C] [--who W]\n"
		"       spamtrap %s del KEY [--user U|--site]\n"
		"       spamtrap %s bulk --action A|--delete [--user U|--site] "
		"[--comment C] [FILE]\n"
		"  ACTION: allow (deliver unscanned), hold (always hold), "
		"default\n"
		"  (hold if it looks like spam) or reject\n"
		"  KEY: %s\n"
		"  without --user, the site table is meant\n", cmd, cmd, cmd,
		cmd, strcmp(cmd, "sender") == 0 ? "an address, local@domain"
		: strcmp(cmd, "domain") == 0 ? "a domain (matches its "
		"subdomains too)" : "an IPv4 or IPv6 address or network "
		"(192.0.2.0/24)");
}

static int parse_action(const char *cmd, const char *arg)
{
	int a = qstore_action_parse(arg);

	if (a == 0)
		fprintf(stderr, "spamtrap %s: unknown action \"%s\" (allow, "
			"hold, default or reject)\n", cmd, arg);
	return a;
}

/* options common to the verbs; returns -1 to go on, else exit status */
static int parse_opts(int argc, char **argv, struct table_opts *o)
{
	enum { O_SITE = 256, O_JSON, O_DELETE };
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "site", no_argument, NULL, O_SITE },
		{ "action", required_argument, NULL, 'a' },
		{ "comment", required_argument, NULL, 'C' },
		{ "who", required_argument, NULL, 'w' },
		{ "delete", no_argument, NULL, O_DELETE },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;	/* 0: glibc re-reads the option string ordering */
	while ((c = getopt_long(argc, argv, "u:a:C:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			free(o->user);
			if ((o->user = cli_user(o->cmd, optarg)) == NULL)
				return 1;
			break;
		case O_SITE:
			o->site = 1;
			break;
		case 'a':
			if ((o->action = parse_action(o->cmd, optarg)) == 0)
				return 2;
			break;
		case 'C':
			o->comment = optarg;
			break;
		case 'w':
			free(o->who);
			o->who = mystrdup(optarg);
			break;
		case O_DELETE:
			o->delete = 1;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case 'h':
			usage(stdout, o->cmd);
			return 0;
		default:
			usage(stderr, o->cmd);
			return 2;
		}
	}
	if (o->site && o->user != NULL) {
		fprintf(stderr, "spamtrap %s: --user and --site exclude each "
			"other\n", o->cmd);
		return 2;
	}
	if (o->who == NULL)
		o->who = cli_who();
	return -1;
}

static const char *scope_name(const struct table_opts *o)
{
	return o->user != NULL ? o->user : "the site";
}

/* ---- list */

struct list_ctx {
	const struct table_opts *o;
	size_t n;
};

static int list_one(const struct qstore_table_entry *e, void *vctx)
{
	struct list_ctx *ctx = vctx;
	struct str l = STR_INIT;

	if (ctx->o->action != 0 && (int)e->action != ctx->o->action)
		return 0;
	if (ctx->o->json) {
		cli_json_field(&l, 1, "table", qstore_table_kind_name(e->kind));
		cli_json_field(&l, 0, "scope", e->scope[0] ? e->scope : "");
		cli_json_field(&l, 0, "key", e->key);
		cli_json_field(&l, 0, "action", qstore_action_name(e->action));
		cli_json_field(&l, 0, "who", e->who);
		cli_json_field(&l, 0, "comment", e->comment);
		str_appends(&l, ",\"date\":");
		{
			struct str t = STR_INIT;

			cli_time_iso(e->when, &t);
			cli_json_str(&l, str_c(&t));
			str_deinit(&t);
		}
		str_appendc(&l, '}');
	} else {
		if (ctx->n == 0)
			printf("%-32s %-8s %-12s %-16s %s\n",
			       ctx->o->kind == QSTORE_TABLE_SENDER ? "SENDER"
			       : ctx->o->kind == QSTORE_TABLE_DOMAIN
			       ? "DOMAIN" : "RELAY", "ACTION", "WHO", "DATE",
			       "COMMENT");
		cli_time_short(e->when, &l);
		printf("%-32s %-8s %-12s %-16s %s\n", e->key,
		       qstore_action_name(e->action), e->who[0] ? e->who : "-",
		       str_c(&l), e->comment);
		str_clear(&l);
	}
	if (l.len > 0)
		printf("%s\n", str_c(&l));
	str_deinit(&l);
	ctx->n++;
	return 0;
}

static int table_list(struct qstore *qs, struct table_opts *o)
{
	struct list_ctx ctx = { o, 0 };
	char *error = NULL;

	if (qstore_table_list(qs, o->user, o->kind, list_one, &ctx, &error,
			      NULL) < 0) {
		cli_db_error(o->cmd, error);
		return 1;
	}
	if (ctx.n == 0 && !o->json)
		printf("the %s table of %s has no%s entries\n", o->cmd,
		       scope_name(o), o->action ? " such" : "");
	return 0;
}

/* ---- set, del */

static int check_key(const struct table_opts *o, const char *key,
		     struct str *norm)
{
	const char *why;

	if (qstore_table_normalize(o->kind, key, norm, &why) < 0) {
		fprintf(stderr, "spamtrap %s: bad %s \"%s\": %s\n", o->cmd,
			o->cmd, key, why);
		return -1;
	}
	return 0;
}

static int table_set(struct qstore *qs, struct table_opts *o, int argc,
		     char **argv)
{
	struct str norm = STR_INIT;
	char *error = NULL;
	int action;

	if (argc != 2) {
		fprintf(stderr, "spamtrap %s set: give KEY and ACTION\n",
			o->cmd);
		usage(stderr, o->cmd);
		return 2;
	}
	if (check_key(o, argv[0], &norm) < 0)
		return 1;
	if ((action = parse_action(o->cmd, argv[1])) == 0) {
		str_deinit(&norm);
		return 1;
	}
	if (qstore_table_set(qs, o->user, o->kind, argv[0], action, o->who,
			     o->comment != NULL ? o->comment : "", &error,
			     NULL) < 0) {
		cli_db_error(o->cmd, error);
		str_deinit(&norm);
		return 1;
	}
	printf("%s %s: %s (table of %s)\n", o->cmd, str_c(&norm),
	       qstore_action_name(action), scope_name(o));
	str_deinit(&norm);
	return 0;
}

static int table_del(struct qstore *qs, struct table_opts *o, int argc,
		     char **argv)
{
	struct str norm = STR_INIT;
	char *error = NULL;
	int ret;

	if (argc != 1) {
		fprintf(stderr, "spamtrap %s del: give one KEY\n", o->cmd);
		usage(stderr, o->cmd);
		return 2;
	}
	if (check_key(o, argv[0], &norm) < 0)
		return 1;
	ret = qstore_table_delete(qs, o->user, o->kind, argv[0], &error, NULL);
	if (ret < 0) {
		cli_db_error(o->cmd, error);
		str_deinit(&norm);
		return 1;
	}
	if (ret == 0) {
		fprintf(stderr, "spamtrap %s: %s is not in the table of %s\n",
			o->cmd, str_c(&norm), scope_name(o));
		str_deinit(&norm);
		return 1;
	}
	printf("%s %s: deleted from the table of %s\n", o->cmd, str_c(&norm),
	       scope_name(o));
	str_deinit(&norm);
	return 0;
}

/* ---- bulk */

struct bulk_input {
	struct qstore_bulk_item *items;
	char **lines;		/* owns the key and comment strings */
	size_t n;
};

static void bulk_input_free(struct bulk_input *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		free(in->lines[i]);
	MYFREE(&in->lines);
	MYFREE(&in->items);
	in->n = 0;
}

static int bulk_read(const struct table_opts *o, FILE *fp, const char *name,
		     struct bulk_input *in)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t got;

	while ((got = getline(&line, &cap, fp)) >= 0) {
		char *p = line, *key, *comment = NULL, *end;

		lineno++;
		if ((size_t)got > BULK_LINE_MAX) {
			fprintf(stderr, "spamtrap %s: %s:%zu: line longer than "
				"%d bytes\n", o->cmd, name, lineno,
				BULK_LINE_MAX);
			free(line);
			return -1;
		}
		while (got > 0 && (line[got - 1] == '\n'
				   || line[got - 1] == '\r'))
			line[--got] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (in->n >= BULK_MAX) {
			fprintf(stderr, "spamtrap %s: %s: more than %d "
				"entries\n", o->cmd, name, BULK_MAX);
			free(line);
			return -1;
		}
		key = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0') {
			*p++ = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
			end = p + strlen(p);
			while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
			if (*p != '\0')
				comment = p;
		}
		in->lines = myrealloc(in->lines,
				      (in->n + 1) * sizeof(*in->lines));
		in->items = myrealloc(in->items,
				      (in->n + 1) * sizeof(*in->items));
		in->lines[in->n] = mystrdup(key);
		memset(&in->items[in->n], 0, sizeof(in->items[0]));
		in->items[in->n].key = in->lines[in->n];
		if (comment != NULL) {
			/* keep "key\0comment" in one allocation */
			size_t kl = strlen(key);
			char *both = mymalloc(kl + strlen(comment) + 2);

			memcpy(both, key, kl + 1);
			memcpy(both + kl + 1, comment, strlen(comment) + 1);
			free(in->lines[in->n]);
			in->lines[in->n] = both;
			in->items[in->n].key = both;
			in->items[in->n].comment = both + kl + 1;
		}
		in->n++;
	}
	free(line);
	if (ferror(fp)) {
		fprintf(stderr, "spamtrap %s: reading %s failed\n", o->cmd,
			name);
		return -1;
	}
	return 0;
}

static int table_bulk(struct qstore *qs, struct table_opts *o, int argc,
		      char **argv)
{
	struct bulk_input in = { NULL, NULL, 0 };
	const char *name = "standard input";
	size_t i, added = 0, changed = 0, same = 0, gone = 0, absent = 0;
	char *error = NULL;
	FILE *fp = stdin;
	int action;

	if ((o->action == 0) == (o->delete == 0)) {
		fprintf(stderr, "spamtrap %s bulk: give --action A or "
			"--delete\n", o->cmd);
		return 2;
	}
	if (argc > 1) {
		fprintf(stderr, "spamtrap %s bulk: at most one FILE\n", o->cmd);
		return 2;
	}
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		name = argv[0];
		if ((fp = fopen(name, "r")) == NULL) {
			fprintf(stderr, "spamtrap %s bulk: cannot open %s: "
				"%m\n", o->cmd, name);
			return 1;
		}
	}
	if (bulk_read(o, fp, name, &in) < 0) {
		if (fp != stdin)
			fclose(fp);
		bulk_input_free(&in);
		return 1;
	}
	if (fp != stdin)
		fclose(fp);
	if (in.n == 0) {
		fprintf(stderr, "spamtrap %s bulk: no entries in %s\n", o->cmd,
			name);
		return 1;
	}
	action = o->delete ? QSTORE_ACT_NONE : o->action;
	if (qstore_table_bulk(qs, o->user, o->kind, in.items, in.n, action,
			      o->who, o->comment, &error, NULL) < 0) {
		fprintf(stderr, "spamtrap %s bulk: %s: %s; nothing was "
			"changed\n", o->cmd, name, error);
		free(error);
		bulk_input_free(&in);
		return 1;
	}
	printf("%s table of %s:\n", o->cmd, scope_name(o));
	for (i = 0; i < in.n; i++) {
		const struct qstore_bulk_item *it = &in.items[i];

		if (o->delete) {
			if (it->before == QSTORE_ACT_NONE) {
				printf("  %-32s not in the table\n", it->norm);
				absent++;
			} else {
				printf("  %-32s deleted (was %s)\n", it->norm,
				       qstore_action_name(it->before));
				gone++;
			}
		} else if (it->before == QSTORE_ACT_NONE) {
			printf("  %-32s added: %s\n", it->norm,
			       qstore_action_name(action));
			added++;
		} else if ((int)it->before != action) {
			printf("  %-32s changed: %s -> %s\n", it->norm,
			       qstore_action_name(it->before),
			       qstore_action_name(action));
			changed++;
		} else {
			printf("  %-32s %s (comment and date updated)\n",
			       it->norm, qstore_action_name(action));
			same++;
		}
	}
	if (o->delete)
		printf("%zu deleted, %zu not there\n", gone, absent);
	else
		printf("%zu added, %zu changed, %zu unchanged; undo with: "
		       "spamtrap %s bulk --delete%s%s < FILE\n", added,
		       changed, same, o->cmd, o->user ? " --user " : "",
		       o->user ? o->user : "");
	qstore_bulk_items_clear(in.items, in.n);
	bulk_input_free(&in);
	return 0;
}

static int table_cmd(const char *cmd, enum qstore_table_kind kind,
		     int argc, char **argv)
{
	struct table_opts o;
	struct qstore *qs;
	const char *verb;
	int ret;

	memset(&o, 0, sizeof(o));
	o.cmd = cmd;
	o.kind = kind;
	if (argc < 2) {
		usage(stderr, cmd);
		return 2;
	}
	verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		usage(stdout, cmd);
		return 0;
	}
	if (strcmp(verb, "list") != 0 && strcmp(verb, "set") != 0
	    && strcmp(verb, "del") != 0 && strcmp(verb, "bulk") != 0) {
		fprintf(stderr, "spamtrap %s: unknown subcommand \"%s\" (list, "
			"set, del or bulk)\n", cmd, verb);
		usage(stderr, cmd);
		return 2;
	}
	if ((ret = parse_opts(argc - 1, argv + 1, &o)) >= 0)
		goto out;
	argc -= 1 + optind;
	argv += 1 + optind;
	if (strcmp(verb, "list") == 0 && argc != 0) {
		fprintf(stderr, "spamtrap %s list: unexpected argument "
			"\"%s\"\n", cmd, argv[0]);
		ret = 2;
		goto out;
	}
	if ((strcmp(verb, "set") != 0 && strcmp(verb, "bulk") != 0
	     && o.comment != NULL)
	    || (strcmp(verb, "bulk") != 0 && o.delete)
	    || (strcmp(verb, "list") != 0 && strcmp(verb, "bulk") != 0
		&& o.action != 0)) {
		fprintf(stderr, "spamtrap %s %s: option not used by %s\n", cmd,
			verb, verb);
		ret = 2;
		goto out;
	}
	if ((qs = cli_open_db(cmd)) == NULL) {
		ret = 1;
		goto out;
	}
	if (strcmp(verb, "list") == 0)
		ret = table_list(qs, &o);
	else if (strcmp(verb, "set") == 0)
		ret = table_set(qs, &o, argc, argv);
	else if (strcmp(verb, "del") == 0)
		ret = table_del(qs, &o, argc, argv);
	else
		ret = table_bulk(qs, &o, argc, argv);
	qstore_close(&qs);
out:
	free(o.user);
	free(o.who);
	return ret;
}

int cmd_sender(int argc, char **argv)
{
	return table_cmd("sender", QSTORE_TABLE_SENDER, argc, argv);
}

int cmd_domain(int argc, char **argv)
{
	return table_cmd("domain", QSTORE_TABLE_DOMAIN, argc, argv);
}

int cmd_relay(int argc, char **argv)
{
	return table_cmd("relay", QSTORE_TABLE_RELAY, argc, argv);
}
