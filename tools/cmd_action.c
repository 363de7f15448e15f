/*
 * spamtrap accept ID... | --query [filters]	release held mail to INBOX
 * spamtrap reject ID... | --query [filters]	remove it, record spam
 * spamtrap learn --ham|--spam [--user U] [FILE...|-]
 *						the IMAPSieve pipe entry
 *
 * accept moves the message from the quarantine folder to INBOX (Maildir
 * rename, or IMAP MOVE as the user through imap_admin_user) and records
 * the decision only once the move is done; when the message is no
 * longer in the folder, the held copy is delivered to INBOX through the
 * store instead.  reject removes the message and records spam.  Both go
 * through quarantine_action, as a drag in a mail client does.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "commands.h"
#include "maildir_box.h"
#include "mymalloc.h"
#include "params.h"
#include "qstore.h"
#include "quarantine_action.h"
#include "quarantine_mailbox.h"
#include "store.h"

static void usage_action(FILE *fp, const char *name)
{
	fprintf(fp,
		"usage: spamtrap %s [--who W] ID...\n"
		"       spamtrap %s [--who W] --query [--user U] [--status S]\n"
		"                [--sender TEXT] [--subject TEXT]\n"
		"  %s\n"
		"  --who W     recorded as who acted (default: the invoking user)\n"
		"  --query     act on every incident matching the filters\n"
		"  --user U    only U's incidents\n"
		"  --status S  pending (default), one-shot, spam, non-spam, all\n"
		"  --sender T, --subject T  substring, case-insensitive\n",
		name, name,
		strcmp(name, "accept") == 0
		? "move held messages to INBOX and record them as non-spam"
		: "remove held messages and record them as spam");
}

static struct qstore *open_db(const char *cmd)
{
	char *error = NULL;
	struct qstore *qs = qstore_open(var_db_dir, &error, NULL);

	if (qs == NULL) {
		fprintf(stderr, "spamtrap %s: %s\n", cmd, error);
		free(error);
	}
	return qs;
}

static const char *invoking_user(void)
{
	const char *s = getenv("SUDO_USER");
	struct passwd *pw;

	if (s != NULL && s[0] != '\0')
		return s;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "admin";
}

/* deliver the held copy to INBOX through the store; 0 or -1 */
static int deliver_copy(struct qstore *qs, const struct qstore_incident *inc,
			struct str *where, char **error_r)
{
	struct store *store;
	struct store_message m;
	struct store_rcpt rcpt;
	struct store_envelope env;
	struct address a;
	const char *why;
	char *data = NULL;
	size_t len = 0;
	int r;

	r = qstore_message_get(qs, inc->id, &data, &len, error_r, NULL);
	if (r <= 0) {
		if (r == 0)
			*error_r = mystrdup("the message is neither in the "
					    "quarantine folder nor kept as a copy");
		return -1;
	}
	if ((store = store_init(var_store, error_r)) == NULL) {
		free(data);
		return -1;
	}
	if (address_parse(inc->user, "", &a, &why) < 0) {
		*error_r = mystrdup(why);
		store_deinit(&store);
		free(data);
		return -1;
	}
	m.data = data;
	m.len = len;
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.address = inc->user;
	rcpt.addr = &a;
	rcpt.folder = STORE_INBOX;
	rcpt.msg = &m;
	memset(&env, 0, sizeof(env));
	env.sender = inc->sender;
	env.session_id = inc->id;
	env.received = time(NULL);
	store_deliver(store, &env, &rcpt, 1);
	r = rcpt.kind == ERR_NONE ? 0 : -1;
	if (r < 0)
		*error_r = mystrdup(rcpt.error ? rcpt.error : "delivery failed");
	else {
		str_clear(where);
		str_appends(where, rcpt.location ? rcpt.location : "INBOX");
	}
	store_rcpt_clear(&rcpt);
	address_deinit(&a);
	store_deinit(&store);
	free(data);
	return r;
}

/* accept or reject one incident; 0 done (or already so), 1 failed */
static int act_one(struct qstore *qs, const char *cmd, int accept,
		   const char *id, const char *who)
{
	struct qstore_incident inc;
	struct quarantine_actor a = { NULL, who, QSTORE_VIA_CLI, NULL };
	struct str where = STR_INIT, note = STR_INIT;
	enum quarantine_action_result r;
	char *error = NULL;
	int got, moved;

	got = qstore_incident_get(qs, id, &inc, &error, NULL);
	if (got <= 0) {
		fprintf(stderr, "spamtrap %s: %s: %s\n", cmd, id,
			got < 0 ? error : "no such incident");
		free(error);
		return 1;
	}
	if (inc.status == (accept ? QSTORE_NON_SPAM : QSTORE_SPAM)) {
		printf("%s %s already %s\n", id, inc.user,
		       qstore_status_name(inc.status));
		qstore_incident_deinit(&inc);
		return 0;
	}
	if (accept) {
		/* the placement first, so folderd does not take the move for
		   the user's own drag (nor a view from before the move for
		   the user's drag back: QA_BY_COMMAND) */
		(void)quarantine_action_set_places(qs, inc.user, id,
						   QA_IN_NORMAL | QA_BY_COMMAND,
						   NULL);
		if (inc.flags & QSTORE_FLAG_TAGGED && inc.status != QSTORE_SPAM)
			moved = 2;	/* delivered to INBOX already */
		else
			moved = quarantine_mailbox_release(qs, &inc, &where,
							   &error);
		if (moved == 0)
			moved = deliver_copy(qs, &inc, &where, &error) < 0 ? -1 : 3;
		if (moved < 0) {
			fprintf(stderr, "spamtrap %s: %s: not released: %s\n",
				cmd, id, error);
			free(error);
			qstore_incident_deinit(&inc);
			return 1;
		}
		str_appends(&note, moved == 1 ? "moved to INBOX"
			    : moved == 2 ? "already in INBOX"
			    : "copy delivered to INBOX");
	} else {
		/* as for accept: the placement first, so folderd does not
		   take the removal for the user's own expunge */
		(void)quarantine_action_set_places(qs, inc.user, id, 0, NULL);
		moved = quarantine_mailbox_remove(qs, &inc, &error);
		if (moved < 0) {
			fprintf(stderr, "spamtrap %s: %s: not removed: %s\n",
				cmd, id, error);
			free(error);
			qstore_incident_deinit(&inc);
			return 1;
		}
		str_appends(&note, moved ? "removed from the quarantine folder"
			    : "not in the quarantine folder");
	}
	a.note = str_c(&note);
	r = accept ? quarantine_action_accept(qs, id, &a, &error)
		   : quarantine_action_reject(qs, id, &a, &error);
	if (r == QA_ERROR) {
		fprintf(stderr, "spamtrap %s: %s: %s (the message was %s)\n",
			cmd, id, error, accept ? "moved" : "removed");
		free(error);
		qstore_incident_deinit(&inc);
		str_deinit(&note);
		return 1;
	}
	printf("%s %s %s: %s\n", id, inc.user,
	       accept ? "non-spam" : "spam", str_c(&note));
	qstore_incident_deinit(&inc);
	str_deinit(&note);
	str_deinit(&where);
	return 0;
}

struct filter {
	const char *user, *sender, *subject;
	int status;
};

static int matches(const struct qstore_incident *inc, const struct filter *f)
{
	if (f->sender && strcasestr(inc->sender, f->sender) == NULL)
		return 0;
	if (f->subject && strcasestr(inc->subject, f->subject) == NULL)
		return 0;
	return 1;
}

/* the ids matching F */
static int query(struct qstore *qs, const char *cmd, const struct filter *f,
		 char ***ids_r, size_t *n_r)
{
	struct qstore_query q;
	struct qstore_page page;
	char *error = NULL;
	size_t i, more, cap = 0;

	*ids_r = NULL;
	*n_r = 0;
	memset(&q, 0, sizeof(q));
	q.user = f->user;
	q.status = f->status;
	q.page_size = 200;
	for (q.page = 1;; q.page++) {
		if (qstore_incident_list(qs, &q, &page, &error, NULL) < 0) {
			fprintf(stderr, "spamtrap %s: %s\n", cmd, error);
			free(error);
			return -1;
		}
		for (i = 0; i < page.n; i++) {
			if (!matches(&page.items[i], f))
				continue;
			if (*n_r == cap) {
				cap = cap ? 2 * cap : 16;
				*ids_r = myrealloc(*ids_r, cap * sizeof(char *));
			}
			(*ids_r)[(*n_r)++] = mystrdup(page.items[i].id);
		}
		more = (size_t)page.more;
		qstore_page_deinit(&page);
		if (!more)
			break;
	}
	return 0;
}

static int cmd_accept_reject(int argc, char **argv, int accept)
{
	static const struct option opts[] = {
		{ "who", required_argument, NULL, 'w' },
		{ "query", no_argument, NULL, 'q' },
		{ "user", required_argument, NULL, 'u' },
		{ "status", required_argument, NULL, 's' },
		{ "sender", required_argument, NULL, 'S' },
		{ "subject", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0], *who = NULL;
	struct filter f = { NULL, NULL, NULL, QSTORE_PENDING };
	struct qstore *qs;
	char **ids = NULL;
	size_t n = 0, i;
	int c, use_query = 0, failed = 0, filters = 0;

	if (command_wants_help(argc, argv)) {
		usage_action(stdout, cmd);
		return 0;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "w:qu:s:S:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w': who = optarg; break;
		case 'q': use_query = 1; break;
		case 'u': f.user = optarg; filters++; break;
		case 'S': f.sender = optarg; filters++; break;
		case 'j': f.subject = optarg; filters++; break;
		case 's':
			filters++;
			if (strcmp(optarg, "all") == 0)
				f.status = QSTORE_STATUS_ANY;
			else if ((f.status = qstore_status_parse(optarg)) == 0) {
				fprintf(stderr, "spamtrap %s: unknown status \"%s\" "
					"(pending, one-shot, spam, non-spam, all)\n",
					cmd, optarg);
				return 2;
			}
			break;
		default:
			usage_action(stderr, cmd);
			return 2;
		}
	}
	if (use_query == (optind < argc) || (!use_query && filters > 0)) {
		fprintf(stderr, "spamtrap %s: give incident ids, or --query with "
			"filters\n", cmd);
		usage_action(stderr, cmd);
		return 2;
	}
	if (who == NULL)
		who = invoking_user();
	if ((qs = open_db(cmd)) == NULL)
		return 1;
	if (use_query) {
		if (query(qs, cmd, &f, &ids, &n) < 0) {
			qstore_close(&qs);
			return 1;
		}
		if (n == 0)
			fprintf(stderr, "spamtrap %s: no incident matches\n", cmd);
		for (i = 0; i < n; i++) {
			failed |= act_one(qs, cmd, accept, ids[i], who);
			free(ids[i]);
		}
		free(ids);
	} else {
		for (i = (size_t)optind; i < (size_t)argc; i++)
			failed |= act_one(qs, cmd, accept, argv[i], who);
	}
	qstore_close(&qs);
	return failed ? 1 : 0;
}

int cmd_accept(int argc, char **argv)
{
	return cmd_accept_reject(argc, argv, 1);
}

int cmd_reject(int argc, char **argv)
{
	return cmd_accept_reject(argc, argv, 0);
}

/* ------------------------------------------------------------------ */

static void usage_learn(FILE *fp)
{
	fputs("usage: spamtrap learn --ham|--spam [--user U] [FILE...|-]\n"
	      "  record a user's move of each message (a file, or stdin):\n"
	      "  --ham   moved out of the quarantine (its incident -> non-spam)\n"
	      "  --spam  moved into the quarantine (accepted -> spam; a message\n"
	      "          without an incident is reported: a new spam incident)\n"
	      "  --user U  the user who moved it (default: $USER, as the\n"
	      "          IMAPSieve pipe sets it)\n"
	      "  A forged or foreign X-Spamtrap-Id is logged and ignored.\n", fp);
}

static int read_all(FILE *fp, struct str *out)
{
	char buf[65536];
	size_t n;

	str_clear(out);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		str_append(out, buf, n);
		if ((long long)out->len > var_message_size_limit
		    && var_message_size_limit > 0)
			return -1;
	}
	return ferror(fp) ? -1 : 0;
}

int cmd_learn(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ham", no_argument, NULL, 'H' },
		{ "spam", no_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *user = NULL;
	int c, ham = -1, failed = 0, i, nfiles;
	struct qstore *qs;
	struct str msg = STR_INIT;

	if (command_wants_help(argc, argv)) {
		usage_learn(stdout);
		return 0;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "HSu:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': ham = 1; break;
		case 'S': ham = ham == 1 ? 2 : 0; break;
		case 'u': user = optarg; break;
		default:
			usage_learn(stderr);
			return 2;
		}
	}
	if (ham < 0 || ham == 2) {
		fprintf(stderr, "spamtrap learn: give exactly one of --ham, --spam\n");
		usage_learn(stderr);
		return 2;
	}
	if (user == NULL)
		user = getenv("USER");
	if (user == NULL || user[0] == '\0') {
		fprintf(stderr, "spamtrap learn: no user (--user U, or $USER)\n");
		return 2;
	}
	if ((qs = open_db("learn")) == NULL)
		return 1;
	nfiles = argc - optind;
	for (i = 0; i < (nfiles > 0 ? nfiles : 1); i++) {
		const char *name = nfiles > 0 ? argv[optind + i] : "-";
		struct quarantine_actor a = { user, user, QSTORE_VIA_IMAP_MOVE,
					      ham ? "moved out of the quarantine"
						  : "moved into the quarantine" };
		char id[QSTORE_ID_LEN + 1];
		enum quarantine_action_result r;
		char *error = NULL;
		FILE *fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");

		if (fp == NULL) {
			fprintf(stderr, "spamtrap learn: %s: %m\n", name);
			failed = 1;
			continue;
		}
		if (read_all(fp, &msg) < 0) {
			fprintf(stderr, "spamtrap learn: %s: read error or larger "
				"than message_size_limit\n", name);
			failed = 1;
			if (fp != stdin)
				fclose(fp);
			continue;
		}
		if (fp != stdin)
			fclose(fp);
		r = quarantine_action_learn(qs, msg.s, msg.len, ham, &a, id,
					    &error);
		switch (r) {
		case QA_ERROR:
			fprintf(stderr, "spamtrap learn: %s: %s\n", name, error);
			free(error);
			failed = 1;
			break;
		case QA_CHANGED:
			printf("%s %s %s\n", id, user, ham ? "non-spam" : "spam");
			break;
		case QA_UNCHANGED:
			printf("%s %s unchanged\n", id, user);
			break;
		case QA_UNKNOWN:
			printf("%s %s no incident\n", id[0] ? id : "-", user);
			break;
		case QA_FOREIGN:
			printf("- %s ignored (forged or foreign X-Spamtrap-Id)\n",
			       user);
			break;
		}
	}
	str_deinit(&msg);
	qstore_close(&qs);
	return failed ? 1 : 0;
}
