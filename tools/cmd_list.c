/*
 * spamtrap list - the trap contents, as the quarantine's web pages
 * showed them: one line per incident (date / incident id, subject,
 * sender, score, hold reason, status, and optionally relay and
 * recipient), a page at a time, with the advanced query.
 *
 * Cost: ordered by date and without query filters, a page comes
 * straight from the (user, status) / (user) / (status) index
 * (qstore_incident_list).  With filters, incidents are walked newest
 * (or oldest) first until the page is full.  Any other sort field
 * collects the matching incidents, at most --limit of them (the seed's
 * "Limit for COUNT queries", 500 unless given), and sorts those in
 * memory; a note on stderr says when the limit cut the set.  --count
 * counts matches up to the same limit (exactly, from the index, when
 * there are no filters).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "commands.h"
#include "mymalloc.h"
#include "rules.h"
#include "qstore_bulk.h"

#define LIST_LIMIT_DEFAULT	500
#define LIST_LIMIT_MAX		1000000

struct list_opts {
	char *user;
	int status;
	int status_given;
	long page, per_page;
	int sort;		/* enum qstore_sort, -1 = from prefs */
	int order;		/* 1 desc, 0 asc, -1 from prefs */
	const char *subject, *sender, *recipient, *report, *reason, *relay;
	int count, json;
	long limit;
	int show_relay, show_recipient;	/* -1: from prefs */
	int hide_one_shot;
};

static void usage(FILE *fp)
{
	fputs("usage: spamtrap list [--user U] [--status S] [--page N] "
	      "[--per-page N]\n"
	      "                     [--sort F] [--asc|--desc] [query...] "
	      "[--count] [--json]\n"
	      "  --user U         one user's trap (default: every user)\n"
	      "  --status S       one-shot, pending, spam, non-spam or all\n"
	      "  --page N         page to show (1 = the first)\n"
	      "  --per-page N     10, 30, 50, 100 or 200 (default: the "
	      "user's page_size)\n"
	      "  --sort F         date, score, sender, subject or recipient\n"
	      "  --asc, --desc    sort order (default: the user's sort_order)\n"
	      "  --relay-column, --recipient-column  add those columns\n"
	      " query (substrings, case-insensitive, all must match):\n"
	      "  --subject T  --sender T (envelope)  --recipient T (envelope)\n"
	      "  --report T (rule names and descriptions, e.g. GTUBE)  --hold-reason T\n"
	      "  --relay T (relay address or name)\n"
	      "  --count          print the number of matches only\n"
	      "  --limit N        most matches to count or sort in memory "
	      "(default 500)\n"
	      "  --json           one JSON object per incident per line\n",
	      fp);
}

static int icase_has(const char *hay, const char *needle)
{
	return needle == NULL || needle[0] == '\0'
		|| (hay != NULL && strcasestr(hay, needle) != NULL);
}

static int has_filters(const struct list_opts *o)
{
	return o->subject || o->sender || o->recipient || o->report
		|| o->reason || o->relay || o->hide_one_shot;
}

static int matches(const struct list_opts *o, const struct qstore_incident *i)
{
	if (o->hide_one_shot && i->status == QSTORE_ONE_SHOT)
		return 0;
	if (!icase_has(i->subject, o->subject)
	    || !icase_has(i->sender, o->sender)
	    || !icase_has(i->recipient, o->recipient))
		return 0;
	if (o->relay != NULL && !icase_has(i->relay_ip, o->relay)
	    && !icase_has(i->relay_name, o->relay))
		return 0;
	if (o->reason != NULL) {
		struct str r = STR_INIT;
		int ok;

		cli_reasons(i->reasons, &r);
		ok = icase_has(str_c(&r), o->reason);
		str_deinit(&r);
		if (!ok)
			return 0;
	}
	if (o->report != NULL && o->report[0] != '\0') {
		size_t h;

		for (h = 0; h < i->n_hits; h++)
			if (icase_has(i->hits[h].name, o->report)
			    || icase_has(i->hits[h].description, o->report))
				break;
		if (h == i->n_hits)
			return 0;
	}
	return 1;
}

/* ---- collecting */

struct collect {
	const struct list_opts *o;
	struct qstore_incident *v;
	size_t n;
	size_t matched;		/* for --count */
	size_t stop_at;		/* keep at most this many */
	int cut;		/* stopped at the limit */
};

static void incident_move(struct qstore_incident *to,
			  const struct qstore_incident *from)
{
	/* a deep copy: the scan frees its incident after the callback */
	size_t i;

	qstore_incident_init(to);
	memcpy(to->id, from->id, sizeof(to->id));
	qstore_incident_set(&to->user, from->user);
	qstore_incident_set(&to->recipient, from->recipient);
	qstore_incident_set(&to->sender, from->sender);
	qstore_incident_set(&to->from, from->from);
	qstore_incident_set(&to->subject, from->subject);
	qstore_incident_set(&to->message_id, from->message_id);
	qstore_incident_set(&to->relay_ip, from->relay_ip);
	qstore_incident_set(&to->relay_name, from->relay_name);
	qstore_incident_set(&to->folder, from->folder);
	qstore_incident_set(&to->location, from->location);
	to->received = from->received;
	to->size = from->size;
	to->scored = from->scored;
	to->score = from->score;
	to->status = from->status;
	to->reasons = from->reasons;
	to->flags = from->flags;
	for (i = 0; i < from->n_hits; i++)
		qstore_incident_add_hit(to, from->hits[i].name,
					from->hits[i].score,
					from->hits[i].description);
	for (i = 0; i < from->n_actions; i++)
		qstore_incident_add_action(to, from->actions[i].when,
					   from->actions[i].who,
					   from->actions[i].via,
					   from->actions[i].what);
}

static void collect_clear(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		qstore_incident_deinit(&c->v[i]);
	MYFREE(&c->v);
	c->n = 0;
	c->matched = 0;
	c->cut = 0;
}

static int collect_fn(const struct qstore_incident *inc, void *vctx)
{
	struct collect *c = vctx;

	if (inc == NULL) {	/* the walk restarts */
		collect_clear(c);
		return 0;
	}
	if (!matches(c->o, inc))
		return 0;
	if (c->matched >= c->stop_at) {
		c->cut = 1;
		return 1;
	}
	c->matched++;
	if (c->o->count)
		return 0;
	c->v = myrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	incident_move(&c->v[c->n++], inc);
	return 0;
}

struct sort_by {
	int field;		/* enum qstore_sort */
	int desc;
};

static int str_key_cmp(const char *a, const char *b)
{
	return strcasecmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int incident_cmp(const void *va, const void *vb, void *vctx)
{
	const struct qstore_incident *a = va, *b = vb;
	const struct sort_by *by = vctx;
	int r = 0;

	switch (by->field) {
	case QSTORE_SORT_SCORE:
		r = (a->score > b->score) - (a->score < b->score);
		break;
	case QSTORE_SORT_SUBJECT:
		r = str_key_cmp(a->subject, b->subject);
		break;
	case QSTORE_SORT_SENDER:
		r = str_key_cmp(a->sender, b->sender);
		break;
	case QSTORE_SORT_RECIPIENT:
		r = str_key_cmp(a->recipient, b->recipient);
		break;
	default:
		break;
	}
	if (r == 0)	/* then by date, then id: a stable order */
		r = (a->received > b->received) - (a->received < b->received);
	if (r == 0)
		r = strcmp(a->id, b->id);
	return by->desc ? -r : r;
}

/* ---- printing */

static void cell(struct str *out, const char *s, size_t width, int last)
{
	size_t len = 0, bytes = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	/* cut at WIDTH characters (UTF-8 aware), pad with blanks */
	while (p[bytes] != '\0' && (last || len < width)) {
		bytes++;
		while ((p[bytes] & 0xc0) == 0x80)
			bytes++;
		len++;
	}
	if (!last && p[bytes] != '\0' && len > 0) {
		/* replace the last character by '~' to show the cut */
		while (bytes > 0 && (p[bytes - 1] & 0xc0) == 0x80)
			bytes--;
		bytes--;
		str_append(out, p, bytes);
		str_appendc(out, '~');
	} else {
		str_append(out, p, bytes);
	}
	if (!last) {
		for (; len < width; len++)
			str_appendc(out, ' ');
		str_appendc(out, ' ');
	}
}

static void print_header(const struct list_opts *o)
{
	struct str l = STR_INIT;

	cell(&l, "ID", QSTORE_ID_LEN, 0);
	cell(&l, "DATE", 16, 0);
	cell(&l, "SCORE", 6, 0);
	cell(&l, "STATUS", 8, 0);
	cell(&l, "REASON", 10, 0);
	if (o->show_relay)
		cell(&l, "RELAY", 15, 0);
	if (o->show_recipient)
		cell(&l, "RECIPIENT", 24, 0);
	cell(&l, "SENDER", 28, 0);
	cell(&l, "SUBJECT", 0, 1);
	printf("%s\n", str_c(&l));
	str_deinit(&l);
}

static void print_line(const struct list_opts *o,
		       const struct qstore_incident *i)
{
	struct str l = STR_INIT, t = STR_INIT;

	if (o->json) {
		cli_incident_json(i, &l);
		printf("%s\n", str_c(&l));
		str_deinit(&l);
		return;
	}
	cell(&l, i->id, QSTORE_ID_LEN, 0);
	cli_time_short(i->received, &t);
	cell(&l, str_c(&t), 16, 0);
	str_clear(&t);
	if (i->scored)
		str_printf(&t, "%6.1f", rule_score_display(i->score));
	else
		str_appends(&t, "     -");
	cell(&l, str_c(&t), 6, 0);
	cell(&l, qstore_status_name(i->status), 8, 0);
	str_clear(&t);
	cli_reasons(i->reasons & ~QSTORE_REASON_SPAMSCORE, &t);
	cell(&l, str_c(&t), 10, 0);
	if (o->show_relay)
		cell(&l, i->relay_ip[0] ? i->relay_ip : "-", 15, 0);
	if (o->show_recipient)
		cell(&l, i->recipient, 24, 0);
	cell(&l, i->sender[0] ? i->sender : "<>", 28, 0);
	cell(&l, i->subject, 0, 1);
	printf("%s\n", str_c(&l));
	str_deinit(&l);
	str_deinit(&t);
}

static void print_footer(const struct list_opts *o, size_t shown, int more,
			 size_t total, int total_known)
{
	if (o->json)
		return;
	if (shown == 0) {
		printf("no incidents%s\n", o->page > 1 ? " on this page" : "");
		return;
	}
	printf("page %ld: %zu shown", o->page, shown);
	if (total_known)
		printf(" of %zu", total);
	if (more)
		printf("; next: --page %ld", o->page + 1);
	putchar('\n');
}

/* ---- the command */

static int parse_sort(const char *arg)
{
	static const char *const names[] = {
		[QSTORE_SORT_DATE] = "date", [QSTORE_SORT_SCORE] = "score",
		[QSTORE_SORT_SUBJECT] = "subject",
		[QSTORE_SORT_SENDER] = "sender",
		[QSTORE_SORT_RECIPIENT] = "recipient",
	};
	int i;

	for (i = 0; i <= QSTORE_SORT_RECIPIENT; i++)
		if (strcasecmp(arg, names[i]) == 0)
			return i;
	fprintf(stderr, "spamtrap list: unknown sort field \"%s\" (date, "
		"score, sender, subject or recipient)\n", arg);
	return -1;
}

static int parse_args(int argc, char **argv, struct list_opts *o)
{
	enum { O_SUBJECT = 256, O_SENDER, O_RECIPIENT, O_REPORT, O_REASON,
	       O_RELAY, O_COUNT, O_LIMIT, O_JSON, O_ASC, O_DESC, O_PERPAGE,
	       O_RELAYCOL, O_RCPTCOL };
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "status", required_argument, NULL, 's' },
		{ "page", required_argument, NULL, 'p' },
		{ "per-page", required_argument, NULL, O_PERPAGE },
		{ "sort", required_argument, NULL, 'S' },
		{ "asc", no_argument, NULL, O_ASC },
		{ "desc", no_argument, NULL, O_DESC },
		{ "subject", required_argument, NULL, O_SUBJECT },
		{ "sender", required_argument, NULL, O_SENDER },
		{ "recipient", required_argument, NULL, O_RECIPIENT },
		{ "report", required_argument, NULL, O_REPORT },
		{ "hold-reason", required_argument, NULL, O_REASON },
		{ "relay", required_argument, NULL, O_RELAY },
		{ "count", no_argument, NULL, O_COUNT },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "json", no_argument, NULL, O_JSON },
		{ "relay-column", no_argument, NULL, O_RELAYCOL },
		{ "recipient-column", no_argument, NULL, O_RCPTCOL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;	/* 0: glibc re-reads the option string ordering */
	while ((c = getopt_long(argc, argv, "u:s:p:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			free(o->user);
			if ((o->user = cli_user("list", optarg)) == NULL)
				return 1;
			break;
		case 's':
			if ((o->status = cli_status("list", optarg)) < 0)
				return 1;
			o->status_given = 1;
			break;
		case 'p':
			if ((o->page = cli_number("list", "--page", optarg, 1,
						  1000000)) < 0)
				return 2;
			break;
		case O_PERPAGE:
			o->per_page = cli_number("list", "--per-page", optarg,
						 1, 200);
			if (o->per_page != 10 && o->per_page != 30
			    && o->per_page != 50 && o->per_page != 100
			    && o->per_page != 200) {
				if (o->per_page > 0)
					fprintf(stderr, "spamtrap list: "
						"--per-page must be 10, 30, 50, "
						"100 or 200\n");
				return 2;
			}
			break;
		case 'S':
			if ((o->sort = parse_sort(optarg)) < 0)
				return 2;
			break;
		case O_ASC:
			o->order = 0;
			break;
		case O_DESC:
			o->order = 1;
			break;
		case O_SUBJECT:
			o->subject = optarg;
			break;
		case O_SENDER:
			o->sender = optarg;
			break;
		case O_RECIPIENT:
			o->recipient = optarg;
			break;
		case O_REPORT:
			o->report = optarg;
			break;
		case O_REASON:
			o->reason = optarg;
			break;
		case O_RELAY:
			o->relay = optarg;
			break;
		case O_COUNT:
			o->count = 1;
			break;
		case O_LIMIT:
			if ((o->limit = cli_number("list", "--limit", optarg, 1,
						   LIST_LIMIT_MAX)) < 0)
				return 2;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_RELAYCOL:
			o->show_relay = 1;
			break;
		case O_RCPTCOL:
			o->show_recipient = 1;
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
		fprintf(stderr, "spamtrap list: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

static int list_count(struct qstore *qs, struct list_opts *o)
{
	struct collect c;
	char *error = NULL;
	size_t n;

	if (!has_filters(o)) {
		if (qstore_incident_count(qs, o->user, o->status, &n, &error,
					  NULL) < 0) {
			cli_db_error("list", error);
			return 1;
		}
		if (o->json)
			printf("{\"count\":%zu,\"limit_reached\":false}\n", n);
		else
			printf("%zu\n", n);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.stop_at = (size_t)o->limit;
	if (qstore_incident_scan(qs, o->user, o->status, 0, collect_fn, &c,
				 &error, NULL) < 0) {
		collect_clear(&c);
		cli_db_error("list", error);
		return 1;
	}
	if (o->json)
		printf("{\"count\":%zu,\"limit_reached\":%s}\n", c.matched,
		       c.cut ? "true" : "false");
	else
		printf("%s%zu\n", c.cut ? ">=" : "", c.matched);
	if (c.cut && !o->json)
		fprintf(stderr, "spamtrap list: stopped counting at the limit "
			"of %ld (--limit)\n", o->limit);
	collect_clear(&c);
	return 0;
}

static int list_indexed(struct qstore *qs, struct list_opts *o)
{
	struct qstore_query q;
	struct qstore_page page;
	char *error = NULL;
	size_t i, total = 0;
	int total_known = 0;

	memset(&q, 0, sizeof(q));
	q.user = o->user;
	q.status = o->status;
	q.oldest_first = !o->order;
	q.page = (size_t)o->page;
	q.page_size = (size_t)o->per_page;
	memset(&page, 0, sizeof(page));
	if (qstore_incident_list(qs, &q, &page, &error, NULL) < 0) {
		cli_db_error("list", error);
		return 1;
	}
	if (!o->json) {
		if (qstore_incident_count(qs, o->user, o->status, &total,
					  NULL, NULL) == 0)
			total_known = 1;
		print_header(o);
	}
	for (i = 0; i < page.n; i++)
		print_line(o, &page.items[i]);
	print_footer(o, page.n, page.more, total, total_known);
	qstore_page_deinit(&page);
	return 0;
}

static int list_walked(struct qstore *qs, struct list_opts *o)
{
	struct collect c;
	char *error = NULL;
	size_t first = (size_t)(o->page - 1) * (size_t)o->per_page, i, end;
	int by_date = o->sort == QSTORE_SORT_DATE;

	memset(&c, 0, sizeof(c));
	c.o = o;
	/* by date the walk is already in order: stop after this page
	   (and one more, to know there is a next page) */
	c.stop_at = by_date ? first + (size_t)o->per_page + 1
		: (size_t)o->limit;
	if (qstore_incident_scan(qs, o->user, o->status,
				 by_date ? !o->order : 0, collect_fn, &c,
				 &error, NULL) < 0) {
		collect_clear(&c);
		cli_db_error("list", error);
		return 1;
	}
	if (!by_date) {
		struct sort_by by = { o->sort, o->order };

		if (c.cut)
			fprintf(stderr, "spamtrap list: more than %ld matches; "
				"sorting the newest %ld (--limit)\n", o->limit,
				o->limit);
		if (c.n > 1)
			qsort_r(c.v, c.n, sizeof(*c.v), incident_cmp, &by);
	}
	if (!o->json)
		print_header(o);
	end = first + (size_t)o->per_page;
	for (i = first; i < c.n && i < end; i++)
		print_line(o, &c.v[i]);
	print_footer(o, i > first ? i - first : 0,
		     c.n > end || (by_date && c.cut), c.n,
		     !by_date && !c.cut);
	collect_clear(&c);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	struct list_opts o;
	struct qstore_prefs prefs;
	struct qstore *qs;
	char *error = NULL;
	int ret;

	memset(&o, 0, sizeof(o));
	o.page = 1;
	o.sort = -1;
	o.order = -1;
	o.limit = LIST_LIMIT_DEFAULT;
	if ((ret = parse_args(argc, argv, &o)) >= 0) {
		free(o.user);
		return ret;
	}
	if ((qs = cli_open_db("list")) == NULL) {
		free(o.user);
		return 1;
	}
	/* display defaults: the user's preferences (the site's without
	   --user) */
	if (qstore_prefs_get(qs, o.user, &prefs, &error, NULL) < 0) {
		cli_db_error("list", error);
		qstore_prefs_deinit(&prefs);
		qstore_close(&qs);
		free(o.user);
		return 1;
	}
	if (o.per_page == 0)
		o.per_page = prefs.page_size;
	if (o.sort < 0)
		o.sort = (int)prefs.sort_field;
	if (o.order < 0)
		o.order = prefs.sort_descending;
	o.show_relay |= prefs.show_relay;
	o.show_recipient |= prefs.show_recipient;
	/* show_one_shot = no hides one-shot incidents from "all" unless
	   asked for by --status */
	o.hide_one_shot = !o.status_given && !prefs.show_one_shot;
	qstore_prefs_deinit(&prefs);

	if (o.count)
		ret = list_count(qs, &o);
	else if (o.sort == QSTORE_SORT_DATE && !has_filters(&o))
		ret = list_indexed(qs, &o);
	else
		ret = list_walked(qs, &o);
	qstore_close(&qs);
	free(o.user);
	return ret;
}
