/*
 * qstore-set - set preferences and table entries, and read incidents,
 * for the end-to-end tests (the spamtrap command offers the same to
 * admins; this keeps the LMTP tests independent of it).
 *
 *	qstore-set DIR pref USER NAME=VALUE...	("" USER: site default)
 *	qstore-set DIR table USER KIND KEY ACTION	(KIND sender|domain|relay)
 *	qstore-set DIR incident ID	print the incident as name=value lines
 *	qstore-set DIR count USER	incidents of USER (any status)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qstore.h"

static void die(const char *what, const char *error)
{
	fprintf(stderr, "qstore-set: %s: %s\n", what, error);
	exit(1);
}

int main(int argc, char **argv)
{
	struct qstore *qs;
	char *error = NULL;
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: qstore-set DIR pref|table|incident|count ...\n");
		return 2;
	}
	if ((qs = qstore_open(argv[1], &error, NULL)) == NULL)
		die("open", error);
	if (strcmp(argv[2], "pref") == 0 && argc >= 5) {
		for (i = 4; i < argc; i++) {
			char *eq = strchr(argv[i], '=');

			if (eq == NULL)
				die("pref", "expected NAME=VALUE");
			*eq = '\0';
			if (qstore_prefs_set(qs, argv[3], argv[i], eq + 1, &error,
					     NULL) < 0)
				die(argv[i], error);
		}
	} else if (strcmp(argv[2], "table") == 0 && argc == 7) {
		enum qstore_table_kind kind;
		int action = qstore_action_parse(argv[6]);

		if (qstore_table_kind_parse(argv[4], &kind) < 0 || action == 0)
			die("table", "bad kind or action");
		if (qstore_table_set(qs, argv[3], kind, argv[5], action, "test",
				     "set by the test", &error, NULL) < 0)
			die("table", error);
	} else if (strcmp(argv[2], "incident") == 0) {
		struct qstore_incident inc;
		struct str reasons = STR_INIT;
		size_t k;
		int r = qstore_incident_get(qs, argv[3], &inc, &error, NULL);

		if (r < 0)
			die("incident", error);
		if (r == 0)
			die("incident", "no such incident");
		qstore_reasons_format(inc.reasons, &reasons);
		printf("id=%s\nuser=%s\nrecipient=%s\nsender=%s\nfrom=%s\nsubject=%s\n"
		       "status=%s\nreasons=%s\nfolder=%s\nlocation=%s\nrelay_ip=%s\n"
		       "scored=%d\nscore=%.1f\nflags=%u\nhits=%zu\n",
		       inc.id, inc.user, inc.recipient, inc.sender, inc.from,
		       inc.subject, qstore_status_name(inc.status), str_c(&reasons),
		       inc.folder, inc.location, inc.relay_ip, inc.scored,
		       inc.score, inc.flags, inc.n_hits);
		for (k = 0; k < inc.n_hits; k++)
			printf("hit=%s\n", inc.hits[k].name);
		str_deinit(&reasons);
		qstore_incident_deinit(&inc);
	} else if (strcmp(argv[2], "count") == 0) {
		size_t n;

		if (qstore_incident_count(qs, argv[3], 0, &n, &error, NULL) < 0)
			die("count", error);
		printf("%zu\n", n);
	} else {
		fprintf(stderr, "qstore-set: bad command\n");
		return 2;
	}
	qstore_close(&qs);
	return 0;
}
