/*
 * spamtrap stats - what the quarantine did: incidents held, accepted
 * (released as not spam) and rejected (confirmed spam) per day, the
 * rules hit most often, and the senders and relays held most often.
 *
 * One walk over the incidents of the period (newest first, stopping at
 * the first incident older than it), counting decisions by the day of
 * their history entry ("status non-spam", "status spam").
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mymalloc.h"
#include "rules.h"
#include "qstore_bulk.h"

#define STATS_DAYS_DEFAULT	14
#define STATS_TOP_DEFAULT	10

struct day {
	char date[11];		/* YYYY-MM-DD, local */
	size_t held, accepted, rejected;
};

struct counter {
	char *key;
	size_t n;
	double score_sum;
};

struct counters {
	struct counter *v;
	size_t n;
};

struct stats {
	time_t since;
	struct day *days;	/* newest first */
	size_t n_days;
	struct counters rules, senders, relays;
	size_t incidents;
};

static void counters_clear(struct counters *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].key);
	MYFREE(&c->v);
	c->n = 0;
}

static void count(struct counters *c, const char *key, double score)
{
	size_t i;

	if (key == NULL || key[0] == '\0')
		return;
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].key, key) == 0) {
			c->v[i].n++;
			c->v[i].score_sum += score;
			return;
		}
	}
	c->v = myrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n].key = mystrdup(key);
	c->v[c->n].n = 1;
	c->v[c->n].score_sum = score;
	c->n++;
}

static void day_name(time_t t, char out[11])
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL
	    || strftime(out, 11, "%Y-%m-%d", &tm) == 0)
		memcpy(out, "0000-00-00", 11);
}

static struct day *day_for(struct stats *s, time_t t)
{
	char name[11];
	size_t i;

	if (t < s->since)
		return NULL;
	day_name(t, name);
	for (i = 0; i < s->n_days; i++)
		if (strcmp(s->days[i].date, name) == 0)
			return &s->days[i];
	s->days = myrealloc(s->days, (s->n_days + 1) * sizeof(*s->days));
	memset(&s->days[s->n_days], 0, sizeof(s->days[0]));
	memcpy(s->days[s->n_days].date, name, 11);
	return &s->days[s->n_days++];
}

static void stats_clear(struct stats *s)
{
	MYFREE(&s->days);
	s->n_days = 0;
	counters_clear(&s->rules);
	counters_clear(&s->senders);
	counters_clear(&s->relays);
	s->incidents = 0;
}

static int stats_one(const struct qstore_incident *inc, void *vctx)
{
	struct stats *s = vctx;
	struct day *d;
	size_t i;

	if (inc == NULL) {
		stats_clear(s);
		return 0;
	}
	/* newest first: decisions come after receipt, so an incident
	   received before the period has no decision in it worth the walk
	   beyond a day of slack */
	if (inc->received < s->since - 86400)
		return 1;
	for (i = 0; i < inc->n_actions; i++) {
		const char *what = inc->actions[i].what;

		if ((d = day_for(s, inc->actions[i].when)) == NULL)
			continue;
		if (strncmp(what, "status non-spam", 15) == 0)
			d->accepted++;
		else if (strncmp(what, "status spam", 11) == 0)
			d->rejected++;
	}
	if ((d = day_for(s, inc->received)) == NULL)
		return 0;
	d->held++;
	s->incidents++;
	for (i = 0; i < inc->n_hits; i++)
		count(&s->rules, inc->hits[i].name, inc->hits[i].score);
	count(&s->senders, inc->sender[0] ? inc->sender : "<>", 0);
	count(&s->relays, inc->relay_ip, 0);
	return 0;
}

static int counter_cmp(const void *va, const void *vb)
{
	const struct counter *a = va, *b = vb;

	if (a->n != b->n)
		return a->n < b->n ? 1 : -1;
	return strcmp(a->key, b->key);
}

static int day_cmp(const void *a, const void *b)
{
	return -strcmp(((const struct day *)a)->date,
		       ((const struct day *)b)->date);
}

static void print_top(const char *title, struct counters *c, size_t top,
		      int json, int with_score)
{
	size_t i;

	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), counter_cmp);
	if (json) {
		struct str l = STR_INIT;

		for (i = 0; i < c->n && i < top; i++) {
			cli_json_field(&l, 1, "top", title);
			str_appends(&l, ",\"key\":");
			cli_json_str(&l, c->v[i].key);
			str_printf(&l, ",\"count\":%zu}", c->v[i].n);
			printf("%s\n", str_c(&l));
			str_clear(&l);
		}
		str_deinit(&l);
		return;
	}
	printf("\nTop %s:\n", title);
	if (c->n == 0)
		printf("  (none)\n");
	for (i = 0; i < c->n && i < top; i++) {
		if (with_score)
			printf("  %6zu  %-32s %6.1f\n", c->v[i].n, c->v[i].key,
			       rule_score_display(c->v[i].score_sum
						  / (double)c->v[i].n));
		else
			printf("  %6zu  %s\n", c->v[i].n, c->v[i].key);
	}
}

static void usage(FILE *fp)
{
	fputs("usage: spamtrap stats [--user U] [--days N] [--top N] "
	      "[--json]\n"
	      "  held, accepted and rejected incidents per day (the last N "
	      "days,\n  default 14), the rules hit most, the senders and relays "
	      "held most\n", fp);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "days", required_argument, NULL, 'd' },
		{ "top", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stats s;
	struct qstore *qs;
	char *user = NULL, *error = NULL;
	long days = STATS_DAYS_DEFAULT, top = STATS_TOP_DEFAULT;
	size_t i, held = 0, acc = 0, rej = 0;
	int c, json = 0, status = 1;
	struct tm tm;
	time_t now = time(NULL);

	optind = 0;	/* 0: glibc re-reads the option string ordering */
	while ((c = getopt_long(argc, argv, "u:d:t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			free(user);
			if ((user = cli_user("stats", optarg)) == NULL)
				return 1;
			break;
		case 'd':
			if ((days = cli_number("stats", "--days", optarg, 1,
					       3650)) < 0)
				goto usage_error;
			break;
		case 't':
			if ((top = cli_number("stats", "--top", optarg, 1,
					      1000)) < 0)
				goto usage_error;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			free(user);
			return 0;
		default:
			usage(stderr);
			goto usage_error;
		}
	}
	if (optind != argc) {
		usage(stderr);
		goto usage_error;
	}
	memset(&s, 0, sizeof(s));
	/* from local midnight DAYS-1 days ago */
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= (int)days - 1;
	tm.tm_isdst = -1;
	s.since = mktime(&tm);
	if ((qs = cli_open_db("stats")) == NULL) {
		free(user);
		return 1;
	}
	if (qstore_incident_scan(qs, user, QSTORE_STATUS_ANY, 0, stats_one, &s,
				 &error, NULL) < 0) {
		cli_db_error("stats", error);
		goto out;
	}
	if (s.n_days > 1)
		qsort(s.days, s.n_days, sizeof(*s.days), day_cmp);
	if (!json)
		printf("%-10s %7s %9s %9s\n", "DAY", "HELD", "ACCEPTED",
		       "REJECTED");
	for (i = 0; i < s.n_days; i++) {
		if (json)
			printf("{\"day\":\"%s\",\"held\":%zu,\"accepted\":%zu,"
			       "\"rejected\":%zu}\n", s.days[i].date,
			       s.days[i].held, s.days[i].accepted,
			       s.days[i].rejected);
		else
			printf("%-10s %7zu %9zu %9zu\n", s.days[i].date,
			       s.days[i].held, s.days[i].accepted,
			       s.days[i].rejected);
		held += s.days[i].held;
		acc += s.days[i].accepted;
		rej += s.days[i].rejected;
	}
	if (!json)
		printf("%-10s %7zu %9zu %9zu\n", "total", held, acc, rej);
	print_top("rules", &s.rules, (size_t)top, json, 1);
	print_top("senders", &s.senders, (size_t)top, json, 0);
	print_top("relays", &s.relays, (size_t)top, json, 0);
	status = 0;
out:
	stats_clear(&s);
	qstore_close(&qs);
	free(user);
	return status;
usage_error:
	free(user);
	return 2;
}
