/*
 * commands - the subcommands of bin/spamtrap.
 *
 * main.c parses the global options (-c FILE, -o name=value), loads the
 * configuration, and calls the subcommand with argv[0] = its name.
 * A subcommand returns the process exit status: 0 ok, 1 failure,
 * 2 usage error.  Each one answers --help.
 */
#ifndef SPAMTRAP_COMMANDS_H
#define SPAMTRAP_COMMANDS_H

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	int as_user;		/* touches the database or mailboxes: run as
				   "user" when started as root */
};

/* the table, in main.c */
extern const struct command commands[];

int cmd_config(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_db(int argc, char **argv);
/* quarantine actions (cmd_action.c) */
int cmd_accept(int argc, char **argv);
int cmd_reject(int argc, char **argv);
int cmd_learn(int argc, char **argv);

/* the quarantine: views, tables, settings, housekeeping (issue 6) */
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_sender(int argc, char **argv);
int cmd_domain(int argc, char **argv);
int cmd_relay(int argc, char **argv);
int cmd_prefs(int argc, char **argv);
int cmd_optout(int argc, char **argv);
int cmd_optin(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_expire(int argc, char **argv);
int cmd_stats(int argc, char **argv);

/* 1 if argv has -h or --help (so each command can answer it first) */
int command_wants_help(int argc, char **argv);

#endif
