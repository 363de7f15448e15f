/*
 * spamtrap db check [--repair]	are incidents, indexes and copies consistent?
 * spamtrap db stats		incidents per status, table and pair counts
 * spamtrap db expire		delete incidents older than quarantine_retention
 *				(also "spamtrap expire")
 * spamtrap db backup DIR	hot backup of the environment into DIR
 *
 * The database is opened like the daemons open it (joining a running
 * environment, or recovering it after a crash).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "qstore_bulk.h"
#include "params.h"
#include "qstore.h"

static void usage(FILE *fp)
{
	fputs("usage: spamtrap [-c FILE] db check [--repair]\n"
	      "       spamtrap [-c FILE] db stats\n"
	      "       spamtrap [-c FILE] db expire\n"
	      "       spamtrap [-c FILE] db backup DIR\n"
	      "  check   walk incidents, indexes and message copies; print\n"
	      "          each problem; exit 1 if any (--repair: fix them,\n"
	      "          best with spamtrap-lmtpd and spamtrap-folderd stopped)\n"
	      "  stats   number of incidents by status\n"
	      "  expire  delete incidents (and copies) older than\n"
	      "          quarantine_retention\n"
	      "  backup  copy the databases, the logs needed to recover them\n"
	      "          and the site secret into DIR while the daemons run;\n"
	      "          restore by stopping the daemons and copying DIR back\n"
	      "          as db_dir\n", fp);
}

static struct qstore *open_db(void)
{
	struct qstore *qs;
	char *error = NULL;

	qs = qstore_open(var_db_dir, &error, NULL);
	if (qs == NULL) {
		fprintf(stderr, "spamtrap db: %s\n", error);
		free(error);
	}
	return qs;
}

static int db_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qstore_check_result r;
	struct qstore *qs;
	char *error = NULL;
	int c, repair = 0, status;

	optind = 1;
	while ((c = getopt_long(argc, argv, "rh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			repair = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((qs = open_db()) == NULL)
		return 1;
	if (qstore_check(qs, repair, stdout, &r, &error, NULL) < 0) {
		fprintf(stderr, "spamtrap db check: %s\n", error);
		free(error);
		qstore_close(&qs);
		return 1;
	}
	printf("%zu incidents, %zu index entries, %zu message copies: "
	       "%zu problem%s", r.incidents, r.index_entries, r.messages,
	       r.problems, r.problems == 1 ? "" : "s");
	if (repair)
		printf(", %zu repaired", r.repaired);
	putchar('\n');
	qstore_close(&qs);
	/* after a repair, run again to confirm */
	status = r.problems > 0 && !repair ? 1 : 0;
	if (repair && r.problems > 0) {
		if ((qs = open_db()) == NULL)
			return 1;
		if (qstore_check(qs, 0, stdout, &r, &error, NULL) < 0) {
			fprintf(stderr, "spamtrap db check: %s\n", error);
			free(error);
			status = 1;
		} else if (r.problems > 0) {
			printf("%zu problem%s left after repair\n", r.problems,
			       r.problems == 1 ? "" : "s");
			status = 1;
		}
		qstore_close(&qs);
	}
	return status;
}

static int db_stats(int argc, char **argv)
{
	struct qstore *qs;
	size_t n, total = 0;
	char *error = NULL;
	int s;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if ((qs = open_db()) == NULL)
		return 1;
	for (s = QSTORE_PENDING; s <= QSTORE_NON_SPAM; s++) {
		if (qstore_incident_count(qs, NULL, s, &n, &error, NULL) < 0) {
			fprintf(stderr, "spamtrap db stats: %s\n", error);
			free(error);
			qstore_close(&qs);
			return 1;
		}
		printf("%-10s %zu\n", qstore_status_name(s), n);
		total += n;
	}
	printf("%-10s %zu\n", "total", total);
	qstore_close(&qs);
	return 0;
}

static int db_expire(int argc, char **argv)
{
	struct qstore *qs;
	char *error = NULL;
	size_t n;
	int ret;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if ((qs = open_db()) == NULL)
		return 1;
	ret = qstore_expire(qs, time(NULL) - var_quarantine_retention, &n,
			    &error, NULL);
	if (ret < 0) {
		fprintf(stderr, "spamtrap db expire: %s\n", error);
		free(error);
	} else {
		printf("%zu incident%s expired\n", n, n == 1 ? "" : "s");
	}
	qstore_close(&qs);
	return ret < 0 ? 1 : 0;
}

static int db_backup(int argc, char **argv)
{
	struct qstore *qs;
	char *error = NULL;
	int ret;

	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "spamtrap db backup: give the target "
			"directory\n");
		usage(stderr);
		return 2;
	}
	if ((qs = open_db()) == NULL)
		return 1;
	ret = qstore_backup(qs, argv[1], &error, NULL);
	if (ret < 0) {
		fprintf(stderr, "spamtrap db backup: %s\n", error);
		free(error);
	} else {
		printf("backup of %s written to %s\n", var_db_dir, argv[1]);
	}
	qstore_close(&qs);
	return ret < 0 ? 1 : 0;
}

int cmd_expire(int argc, char **argv)
{
	if (command_wants_help(argc, argv)) {
		fputs("usage: spamtrap expire\n"
		      "  delete incidents (and their message copies) older "
		      "than\n  quarantine_retention (spamtrap -o "
		      "quarantine_retention=7d expire)\n", stdout);
		return 0;
	}
	return db_expire(argc, argv);
}

int cmd_db(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return db_check(argc - 1, argv + 1);
	if (command_wants_help(argc - 1, argv + 1)) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "stats") == 0)
		return db_stats(argc - 1, argv + 1);
	if (strcmp(argv[1], "expire") == 0)
		return db_expire(argc - 1, argv + 1);
	if (strcmp(argv[1], "backup") == 0)
		return db_backup(argc - 1, argv + 1);
	fprintf(stderr, "spamtrap db: unknown subcommand \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
