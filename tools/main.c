/*
 * spamtrap - the administrator's command.
 *
 *	spamtrap [-c FILE] [-o name=value]... COMMAND [ARGS]
 *
 * Global options, configuration, then one subcommand from the table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "privs.h"

const struct command commands[] = {
	{ "config", cmd_config, "print the effective settings", 0 },
	{ "rules", cmd_rules, "check rule files (rules lint [DIR...])", 0 },
	{ "score", cmd_score, "score messages and explain the score", 0 },
	{ "db", cmd_db, "check, repair, back up the quarantine database", 1 },
	/* the quarantine: views, tables, settings, housekeeping */
	{ "list", cmd_list, "list the trap contents (with queries)", 1 },
	{ "show", cmd_show, "show one incident and its message", 1 },
	{ "sender", cmd_sender, "sender table: list, set, del, bulk", 1 },
	{ "domain", cmd_domain, "domain table: list, set, del, bulk", 1 },
	{ "relay", cmd_relay, "relay table: list, set, del, bulk", 1 },
	{ "prefs", cmd_prefs, "show or change a user's preferences", 1 },
	{ "optout", cmd_optout, "stop scanning a user's mail", 1 },
	{ "optin", cmd_optin, "scan a user's mail again", 1 },
	{ "user", cmd_user, "list users with incidents or settings", 1 },
	{ "digest", cmd_digest, "mail each user the list of pending messages", 1 },
	{ "expire", cmd_expire, "delete incidents past quarantine_retention", 1 },
	{ "stats", cmd_stats, "held, accepted, rejected per day; top rules", 1 },
	/* quarantine actions (tools/cmd_action.c) */
	{ "accept", cmd_accept, "release held messages to INBOX (non-spam)", 1 },
	{ "reject", cmd_reject, "remove held messages (spam)", 1 },
	{ "learn", cmd_learn, "record a user's move (the IMAPSieve pipe)", 1 },
	{ NULL, NULL, NULL, 0 },
};

int command_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static void usage(FILE *fp)
{
	const struct command *cmd;

	fputs("usage: spamtrap [-c FILE] [-o name=value]... COMMAND [ARGS]\n"
	      "  -c FILE  configuration file (default: $SPAMTRAP_CONF, else built-in)\n"
	      "  -o N=V   override a setting\n"
	      "commands:\n", fp);
	for (cmd = commands; cmd->name; cmd++)
		fprintf(fp, "  %-10s %s\n", cmd->name, cmd->summary);
	fputs("\"spamtrap COMMAND --help\" describes each one; see spamtrap(1).\n",
	      fp);
}

int main(int argc, char **argv)
{
	const char *file = getenv("SPAMTRAP_CONF");
	char **overrides = mycalloc((size_t)argc, sizeof(*overrides));
	int n_overrides = 0, c, status;

	const struct command *cmd;
	char *error;

	msg_init("spamtrap");
	/* "+": stop at the first non-option, the command name */
	while ((c = getopt(argc, argv, "+c:o:h")) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 'o':
			overrides[n_overrides++] = optarg;
			break;
		case 'h':
			usage(stdout);
			free(overrides);
			return 0;
		default:
			usage(stderr);
			free(overrides);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		free(overrides);
		return 2;
	}
	for (cmd = commands; cmd->name; cmd++)
		if (strcmp(cmd->name, argv[optind]) == 0)
			break;
	if (cmd->name == NULL) {
		fprintf(stderr, "spamtrap: unknown command \"%s\"\n",
			argv[optind]);
		usage(stderr);
		free(overrides);
		return 2;
	}
	if (file != NULL && file[0] == '\0')
		file = NULL;
	if (config_load(file, overrides, n_overrides, &error) < 0) {
		fprintf(stderr, "spamtrap: %s\n", error);
		free(error);
		free(overrides);
		return 1;
	}
	free(overrides);
	/*
	 * As root with "user" set, work as that account, as the daemons do:
	 * database and mailbox files this command creates stay theirs.
	 */
	if (cmd->as_user && geteuid() == 0 && var_user[0] != '\0')
		privs_drop(var_user);
	argv += optind;
	argc -= optind;
	optind = 1;
	status = cmd->run(argc, argv);
	config_deinit();
	return status;
}
