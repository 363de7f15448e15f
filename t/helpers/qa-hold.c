/*
 * qa-hold - hold a message the way lmtpd does, for the folder tests.
 *
 *	qa-hold hold DB USER SENDER FOLDER DIR|- [AGE] < message
 *		qstore_id_new, X-Spamtrap-Id prepended, incident (pending,
 *		with its copy) committed, then the message filed into the
 *		Maildir folder directory DIR (new/) and the location set; with
 *		"-" the message is written to stdout instead (the test files
 *		it through Dovecot's LMTP) and the location is "lmtp".  AGE:
 *		received that many seconds ago.  Prints the id on stdout, or
 *		"id=ID" on stderr with "-".
 *	qa-hold tag DB USER SENDER DIR < message
 *		the same for a tagged message delivered to DIR (INBOX).
 *	qa-hold show DB ID	"status N-actions last-action-who last-via"
 *	qa-hold history DB ID	one line per history entry
 *	qa-hold token DB ID	the X-Spamtrap-Id token of ID
 *	qa-hold allow DB USER SENDER	exit 0 if SENDER is in USER's allow table
 *	qa-hold count DB USER STATUS	number of USER's incidents with STATUS
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "header_edit.h"
#include "msg.h"
#include "mymalloc.h"
#include "qstore.h"

static struct qstore *open_or_die(const char *dir)
{
	char *error = NULL;
	struct qstore *qs = qstore_open(dir, &error, NULL);

	if (qs == NULL) {
		fprintf(stderr, "qa-hold: %s\n", error);
		exit(1);
	}
	return qs;
}

static void die(const char *what, const char *error)
{
	fprintf(stderr, "qa-hold: %s: %s\n", what, error);
	exit(1);
}

static void read_stdin(struct str *out)
{
	char buf[65536];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		str_append(out, buf, n);
}

static const char *header(const char *msg, const char *name, struct str *v)
{
	const char *p = msg;
	size_t nl = strlen(name);

	str_clear(v);
	while (*p && *p != '\n' && !(*p == '\r' && p[1] == '\n')) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *e = strchr(p, '\n');

			p += nl + 1;
			while (*p == ' ')
				p++;
			str_append(v, p, e ? (size_t)(e - p) : strlen(p));
			while (v->len && (v->s[v->len - 1] == '\r'))
				str_truncate(v, v->len - 1);
			return str_c(v);
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return "";
}

static int hold(int argc, char **argv, int tagged)
{
	/* hold DB USER SENDER FOLDER DIR [AGE] / tag DB USER SENDER DIR */
	struct qstore *qs = open_or_die(argv[2]);
	const char *user = argv[3], *sender = argv[4];
	const char *folder = tagged ? "INBOX" : argv[5];
	const char *dir = tagged ? argv[5] : argv[6];
	long age = !tagged && argc > 7 ? atol(argv[7]) : 0;
	struct str in = STR_INIT, msgbuf = STR_INIT, tok = STR_INIT, v = STR_INIT;
	struct str path = STR_INIT, tmp = STR_INIT;
	struct qstore_incident inc;
	char id[QSTORE_ID_LEN + 1];
	char *error = NULL;

	read_stdin(&in);
	qstore_id_new(id);
	qstore_token_make(qs, id, &tok);
	str_printf(&msgbuf, "X-Spamtrap-Id: %s\n", str_c(&tok));
	str_append(&msgbuf, in.s, in.len);
	qstore_incident_init(&inc);
	memcpy(inc.id, id, sizeof(id));
	qstore_incident_set(&inc.user, user);
	qstore_incident_set(&inc.recipient, user);
	qstore_incident_set(&inc.sender, sender);
	qstore_incident_set(&inc.from, header(in.s, "From", &v));
	qstore_incident_set(&inc.subject, header(in.s, "Subject", &v));
	qstore_incident_set(&inc.message_id, header(in.s, "Message-ID", &v));
	inc.received = time(NULL) - age;
	inc.size = msgbuf.len;
	inc.scored = 1;
	inc.score = 9.5;
	qstore_incident_add_hit(&inc, "TEST_RULE", 9.5, "held by the test");
	inc.status = QSTORE_PENDING;
	inc.reasons = QSTORE_REASON_SPAMSCORE;
	if (tagged)
		inc.flags |= QSTORE_FLAG_TAGGED;
	if (qstore_incident_add(qs, &inc, msgbuf.s, msgbuf.len, "lmtpd",
				QSTORE_VIA_LMTP, &error, NULL) < 0)
		die("add", error);
	qstore_incident_deinit(&inc);
	if (strcmp(dir, "-") == 0) {
		fwrite(msgbuf.s, 1, msgbuf.len, stdout);
		fflush(stdout);
		str_appends(&path, "lmtp");
	} else {
		int fd;

		str_printf(&tmp, "%s/tmp/%s.qa-hold", dir, id);
		str_printf(&path, "%s/new/%ld.%s.qa-hold", dir, (long)time(NULL), id);
		fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, msgbuf.s, msgbuf.len) != (ssize_t)msgbuf.len
		    || fsync(fd) < 0 || close(fd) < 0 || rename(tmp.s, path.s) < 0)
			die("writing", tmp.s);
	}
	if (qstore_incident_set_location(qs, id, folder, str_c(&path), "lmtpd",
					 QSTORE_VIA_LMTP, &error, NULL) < 0)
		die("location", error);
	if (strcmp(dir, "-") == 0)
		fprintf(stderr, "id=%s\n", id);
	else
		printf("%s\n", id);
	str_deinit(&in);
	str_deinit(&msgbuf);
	str_deinit(&tok);
	str_deinit(&v);
	str_deinit(&path);
	str_deinit(&tmp);
	qstore_close(&qs);
	return 0;
}

int main(int argc, char **argv)
{
	struct qstore *qs;
	struct qstore_incident inc;
	char *error = NULL;
	size_t i;
	int r;

	msg_init("qa-hold");
	if (argc >= 7 && strcmp(argv[1], "hold") == 0)
		return hold(argc, argv, 0);
	if (argc == 6 && strcmp(argv[1], "tag") == 0)
		return hold(argc, argv, 1);
	if (argc == 4 && (strcmp(argv[1], "show") == 0
			  || strcmp(argv[1], "history") == 0)) {
		qs = open_or_die(argv[2]);
		r = qstore_incident_get(qs, argv[3], &inc, &error, NULL);
		if (r <= 0)
			die("get", r < 0 ? error : "unknown id");
		if (strcmp(argv[1], "show") == 0) {
			const struct qstore_action *a =
				&inc.actions[inc.n_actions - 1];

			printf("%s %zu %s %s\n", qstore_status_name(inc.status),
			       inc.n_actions, a->who, qstore_via_name(a->via));
		} else {
			for (i = 0; i < inc.n_actions; i++)
				printf("%s %s %s\n", inc.actions[i].who,
				       qstore_via_name(inc.actions[i].via),
				       inc.actions[i].what);
		}
		qstore_incident_deinit(&inc);
		qstore_close(&qs);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "token") == 0) {
		struct str tok = STR_INIT;

		qs = open_or_die(argv[2]);
		qstore_token_make(qs, argv[3], &tok);
		printf("%s\n", str_c(&tok));
		str_deinit(&tok);
		qstore_close(&qs);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "allow") == 0) {
		struct qstore_table_entry e;

		qs = open_or_die(argv[2]);
		r = qstore_table_get(qs, argv[3], QSTORE_TABLE_SENDER, argv[4],
				     &e, &error, NULL);
		if (r < 0)
			die("table", error);
		if (r > 0) {
			printf("%s %s\n", qstore_action_name(e.action), e.comment);
			r = e.action == QSTORE_ACT_ALLOW;
			qstore_table_entry_deinit(&e);
		}
		qstore_close(&qs);
		return r ? 0 : 1;
	}
	if (argc == 5 && strcmp(argv[1], "count") == 0) {
		size_t n;

		qs = open_or_die(argv[2]);
		if (qstore_incident_count(qs, argv[3], qstore_status_parse(argv[4]),
					  &n, &error, NULL) < 0)
			die("count", error);
		printf("%zu\n", n);
		qstore_close(&qs);
		return 0;
	}
	fprintf(stderr, "usage: qa-hold hold|tag|show|history|token|allow|count ...\n");
	return 2;
}
