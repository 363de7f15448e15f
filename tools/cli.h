/*
 * cli - what the spamtrap subcommands share: opening the database,
 * checking user and id arguments, JSON and date formatting.
 *
 * Every function that can fail prints "spamtrap CMD: reason" to stderr
 * itself and returns -1 (or NULL), so a command only has to return 1.
 */
#ifndef SPAMTRAP_CLI_H
#define SPAMTRAP_CLI_H

#include <stdio.h>
#include <time.h>

#include "qstore.h"
#include "str.h"

/* the database, opened like the daemons open it; NULL after a message */
struct qstore *cli_open_db(const char *cmd);

/* report a qstore failure: "spamtrap CMD: ERROR" (frees error) */
void cli_db_error(const char *cmd, char *error);

/*
 * The user an argument names, as lmtpd keys incidents and settings:
 * local@domain with the domain lowercased (core/address.h), without a
 * +detail.  NULL after a message for an empty or malformed address.
 */
char *cli_user(const char *cmd, const char *arg);

/* 1 if S has the form of an incident id */
int cli_id_valid(const char *s);

/* who is acting: $SUDO_USER, else the login name, else "uid N" */
char *cli_who(void);

/* "2026-11-22T08:16:41Z" (UTC, ISO 8601) and "2026-11-22 09:16" (local) */
void cli_time_iso(time_t t, struct str *out);
void cli_time_short(time_t t, struct str *out);

/* S as a JSON string, quotes included; invalid UTF-8 bytes become U+FFFD */
void cli_json_str(struct str *out, const char *s);
/* ,"name":"value" (or {"name": at the start: FIRST) */
void cli_json_field(struct str *out, int first, const char *name,
		    const char *value);

/* parse a positive integer option; -1 after a message */
long cli_number(const char *cmd, const char *opt, const char *arg, long min,
		long max);

/* "pending", ... or "all" (0); -1 after a message */
int cli_status(const char *cmd, const char *arg);

/* the hold reasons as text ("SpamScore HoldSender"), "" for none */
void cli_reasons(unsigned reasons, struct str *out);

/* the last history entry, or NULL */
const struct qstore_action *cli_last_action(const struct qstore_incident *inc);

/* the incident as one JSON object (no newline) */
void cli_incident_json(const struct qstore_incident *inc, struct str *out);

#endif
