/*
 * spamtrap digest [--user U] [--force] [--stdout] - the daily reminder
 * of pending messages.
 *
 * For every user with held messages (pending or one-shot) and notify
 * on (with --user: that user, whatever notify says), build the
 * notification (digest_mail.c) and deliver it through the configured
 * store to the user's notify_address, else to the user's INBOX.  A
 * user with nothing pending gets nothing.
 *
 * Once a day: before delivering, the day (local date) is claimed in the
 * database with a compare-and-set marker (qstore_marker_claim), so two
 * cron runs cannot both send; a failed delivery puts the old marker
 * back so the next run tries again.  --force sends even if today's
 * digest went out.  --stdout prints the messages instead and marks
 * nothing.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "cli.h"
#include "commands.h"
#include "digest_mail.h"
#include "mymalloc.h"
#include "params.h"
#include "qstore_bulk.h"
#include "store.h"

#define DIGEST_MARKER	"digest-day"
#define DIGEST_LIST_MAX	200	/* listed in one message; the rest counted */

struct pending_user {
	char *user;
	struct qstore_incident *items;	/* newest first, at most LIST_MAX */
	size_t n, total;
};

struct pending {
	const char *only;		/* --user */
	struct pending_user *v;
	size_t n;
};

static void pending_clear(struct pending *p)
{
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		for (j = 0; j < p->v[i].n; j++)
			qstore_incident_deinit(&p->v[i].items[j]);
		free(p->v[i].items);
		free(p->v[i].user);
	}
	MYFREE(&p->v);
	p->n = 0;
}

static struct pending_user *pending_for(struct pending *p, const char *user)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].user, user) == 0)
			return &p->v[i];
	p->v = myrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	p->v[p->n].user = mystrdup(user);
	return &p->v[p->n++];
}

static void copy_incident(struct qstore_incident *to,
			  const struct qstore_incident *from)
{
	qstore_incident_init(to);
	memcpy(to->id, from->id, sizeof(to->id));
	qstore_incident_set(&to->user, from->user);
	qstore_incident_set(&to->sender, from->sender);
	qstore_incident_set(&to->from, from->from);
	qstore_incident_set(&to->subject, from->subject);
	to->received = from->received;
	to->scored = from->scored;
	to->score = from->score;
	to->status = from->status;
}

static int pending_one(const struct qstore_incident *inc, void *vctx)
{
	struct pending *p = vctx;
	struct pending_user *u;

	if (inc == NULL) {
		pending_clear(p);
		return 0;
	}
	if (inc->flags & QSTORE_FLAG_TAGGED)
		return 0;	/* delivered with a tag: nothing to release */
	u = pending_for(p, inc->user);
	u->total++;
	if (u->n < DIGEST_LIST_MAX) {
		u->items = myrealloc(u->items, (u->n + 1) * sizeof(*u->items));
		copy_incident(&u->items[u->n++], inc);
	}
	return 0;
}

static int by_date_desc(const void *va, const void *vb)
{
	const struct qstore_incident *a = va, *b = vb;

	if (a->received != b->received)
		return a->received < b->received ? 1 : -1;
	return -strcmp(a->id, b->id);
}

static char *sender_address(void)
{
	struct str sb = STR_INIT;
	char host[256];

	if (var_myhostname != NULL && var_myhostname[0] != '\0')
		str_printf(&sb, "postmaster@%s", var_myhostname);
	else if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0') {
		host[sizeof(host) - 1] = '\0';
		str_printf(&sb, "postmaster@%s", host);
	} else {
		str_appends(&sb, "postmaster@localhost");
	}
	return str_steal(&sb);
}

static int deliver(struct store *store, const char *to, const struct str *m,
		   char **error_r)
{
	struct store_message msg = { m->s, m->len };
	struct store_envelope env;
	struct store_rcpt rcpt;
	struct address a;
	const char *why;
	int ret = 0;

	if (address_parse(to, var_recipient_delimiter, &a, &why) < 0) {
		struct str e = STR_INIT;

		str_printf(&e, "bad address %s: %s", to, why);
		*error_r = str_steal(&e);
		return -1;
	}
	memset(&env, 0, sizeof(env));
	env.sender = "";		/* a notification: no bounces */
	env.session_id = "digest";
	env.received = time(NULL);
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.address = to;
	rcpt.addr = &a;
	rcpt.folder = NULL;		/* INBOX */
	rcpt.msg = &msg;
	store_deliver(store, &env, &rcpt, 1);
	if (rcpt.kind != ERR_NONE) {
		*error_r = mystrdup(rcpt.error != NULL ? rcpt.error
				    : "delivery failed");
		ret = -1;
	}
	store_rcpt_clear(&rcpt);
	address_deinit(&a);
	return ret;
}

static void usage(FILE *fp)
{
	fputs("usage: spamtrap digest [--user U] [--force] [--stdout]\n"
	      "  mail every user with notify on the list of their pending\n"
	      "  messages (to notify_address, else their INBOX), once a day\n"
	      "  --user U   only U (sent even if U's notify is off)\n"
	      "  --force    send even if today's digest was sent\n"
	      "  --stdout   print the messages instead of delivering them\n",
	      fp);
}

static char *today(void)
{
	char buf[16];
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL
	    || strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) == 0)
		return mystrdup("unknown");
	return mystrdup(buf);
}

int cmd_digest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "force", no_argument, NULL, 'f' },
		{ "stdout", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pending pend = { NULL, NULL, 0 };
	struct store *store = NULL;
	struct qstore *qs = NULL;
	char *user = NULL, *error = NULL, *from = NULL, *day = NULL;
	int c, force = 0, to_stdout = 0, status = 1, st;
	size_t i, sent = 0, failed = 0;

	optind = 0;	/* 0: glibc re-reads the option string ordering */
	while ((c = getopt_long(argc, argv, "u:fsh", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			free(user);
			if ((user = cli_user("digest", optarg)) == NULL)
				return 1;
			break;
		case 'f':
			force = 1;
			break;
		case 's':
			to_stdout = 1;
			break;
		case 'h':
			usage(stdout);
			free(user);
			return 0;
		default:
			usage(stderr);
			free(user);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		free(user);
		return 2;
	}
	if (!to_stdout && (store = store_init(var_store, &error)) == NULL) {
		fprintf(stderr, "spamtrap digest: store %s: %s\n", var_store,
			error);
		free(error);
		free(user);
		return 1;
	}
	if ((qs = cli_open_db("digest")) == NULL)
		goto out;
	pend.only = user;
	for (st = QSTORE_PENDING; st <= QSTORE_ONE_SHOT; st++) {
		if (qstore_incident_scan(qs, user, st, 0, pending_one, &pend,
					 &error, NULL) < 0) {
			cli_db_error("digest", error);
			goto out;
		}
	}
	from = sender_address();
	day = today();
	status = 0;
	for (i = 0; i < pend.n; i++) {
		struct pending_user *u = &pend.v[i];
		struct digest_mail d;
		struct qstore_prefs prefs;
		struct str m = STR_INIT;
		char *old = NULL;
		int claimed;

		if (qstore_prefs_get(qs, u->user, &prefs, &error, NULL) < 0) {
			cli_db_error("digest", error);
			qstore_prefs_deinit(&prefs);
			failed++;
			continue;
		}
		if (user == NULL && !prefs.notify) {
			qstore_prefs_deinit(&prefs);
			continue;
		}
		if (u->n > 1)
			qsort(u->items, u->n, sizeof(*u->items), by_date_desc);
		memset(&d, 0, sizeof(d));
		d.user = u->user;
		d.to = prefs.notify_address[0] ? prefs.notify_address
			: u->user;
		d.from = from;
		d.folder = var_quarantine_folder;
		d.items = u->items;
		d.n = u->n;
		d.total = u->total;
		d.now = time(NULL);
		digest_mail_build(&d, &m);
		if (to_stdout) {
			fwrite(m.s, 1, m.len, stdout);
			putchar('\n');
			sent++;
			goto next;
		}
		claimed = qstore_marker_claim(qs, u->user, DIGEST_MARKER, day,
					      &old, &error, NULL);
		if (claimed < 0) {
			cli_db_error("digest", error);
			failed++;
			goto next;
		}
		if (claimed == 0 && !force) {
			printf("%s: today's digest was already sent\n",
			       u->user);
			goto next;
		}
		if (deliver(store, d.to, &m, &error) < 0) {
			fprintf(stderr, "spamtrap digest: %s: delivery to %s "
				"failed: %s\n", u->user, d.to, error);
			free(error);
			error = NULL;
			failed++;
			/* give the day back, so the next run tries again */
			if (claimed && qstore_marker_set(qs, u->user,
				DIGEST_MARKER, old, &error, NULL) < 0)
				cli_db_error("digest", error);
			goto next;
		}
		printf("%s: digest of %zu pending message%s sent to %s\n",
		       u->user, u->total, u->total == 1 ? "" : "s", d.to);
		sent++;
next:
		free(old);
		str_deinit(&m);
		qstore_prefs_deinit(&prefs);
	}
	if (user != NULL && pend.n == 0)
		printf("%s: nothing pending, no digest sent\n", user);
	if (failed > 0)
		status = 1;
out:
	pending_clear(&pend);
	qstore_close(&qs);
	store_deinit(&store);
	free(from);
	free(day);
	free(user);
	return status;
}
