/*
 * received - the relays of a message: its Received: fields read one by one
 * (received_field.c), then the trust walk from the newest, which splits
 * them into trusted and untrusted, internal and external relays.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "mymalloc.h"
#include "netset.h"
#include "received.h"
#include "received_field.h"

#define RCVD_MAX_FIELDS	200	/* Received: fields looked at per message */

/* ---------------------------------------------------------- the conf */

struct received_conf {
	struct netset *trusted, *internal, *msa;
	int trusted_configured, internal_configured;
	char **orig_headers;	/* originating_ip_headers */
	size_t n_orig;
};

struct received_conf *received_conf_new(void)
{
	struct received_conf *conf = mycalloc(1, sizeof(*conf));

	conf->trusted = netset_new(1);
	conf->internal = netset_new(1);
	conf->msa = netset_new(0);
	return conf;
}

static void clear_orig_headers(struct received_conf *conf)
{
	while (conf->n_orig > 0)
		free(conf->orig_headers[--conf->n_orig]);
	MYFREE(&conf->orig_headers);
}

void received_conf_deinit(struct received_conf **confp)
{
	struct received_conf *conf = *confp;

	if (conf == NULL)
		return;
	netset_deinit(&conf->trusted);
	netset_deinit(&conf->internal);
	netset_deinit(&conf->msa);
	clear_orig_headers(conf);
	MYFREE(confp);
}

static void add_orig_header(struct received_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->n_orig; i++)
		if (strcasecmp(conf->orig_headers[i], name) == 0)
			return;
	conf->orig_headers = myrealloc(conf->orig_headers,
				       (conf->n_orig + 1) * sizeof(char *));
	conf->orig_headers[conf->n_orig++] = mystrdup(name);
}

int received_conf_directive(struct received_conf *conf, const char *key,
			    const char *value, received_report_fn *report,
			    void *ctx)
{
	struct netset *ns = NULL;
	int *configured = NULL, loopback = 1;

	if (strcmp(key, "trusted_networks") == 0 ||
	    strcmp(key, "clear_trusted_networks") == 0) {
		ns = conf->trusted;
		configured = &conf->trusted_configured;
	} else if (strcmp(key, "internal_networks") == 0 ||
		   strcmp(key, "clear_internal_networks") == 0) {
		ns = conf->internal;
		configured = &conf->internal_configured;
	} else if (strcmp(key, "msa_networks") == 0 ||
		   strcmp(key, "clear_msa_networks") == 0) {
		ns = conf->msa;
		loopback = 0;
	} else if (strcmp(key, "originating_ip_headers") == 0) {
		char *copy = mystrdup(value), *tok, *save = NULL;

		if (*value == '\0')
			report(ctx, 1, "originating_ip_headers: no header "
			       "name");
		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t", &save))
			add_orig_header(conf, tok);
		free(copy);
		return 1;
	} else if (strcmp(key, "clear_originating_ip_headers") == 0) {
		if (*value != '\0')
			report(ctx, 1, "clear_originating_ip_headers takes no "
			       "value");
		else
			clear_orig_headers(conf);
		return 1;
	} else {
		return 0;
	}
	if (strncmp(key, "clear_", 6) == 0) {
		struct str text = STR_INIT;

		if (*value != '\0') {
			str_printf(&text, "%s takes no value", key);
			report(ctx, 1, text.s);
			str_deinit(&text);
			return 1;
		}
		netset_clear(ns, loopback);
		if (configured != NULL)
			*configured = 0;
		return 1;
	}
	if (*value == '\0') {
		struct str text = STR_INIT;

		str_printf(&text, "%s: no network given", key);
		report(ctx, 1, text.s);
		str_deinit(&text);
		return 1;
	}
	{
		char *copy = mystrdup(value), *tok, *save = NULL;

		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t", &save)) {
			const char *error = NULL;
			int rc = netset_add(ns, tok, &error);

			if (rc <= 0) {
				struct str text = STR_INIT;

				str_printf(&text, "%s %s: %s%s", key, tok,
					   error, rc < 0 ? "; skipped" : "");
				report(ctx, rc < 0, text.s);
				str_deinit(&text);
			}
		}
		free(copy);
	}
	if (configured != NULL)
		*configured = 1;
	return 1;
}

/* ------------------------------------------------------- one field */

enum received_line received_parse_line(const char *value,
				       struct received_relay *relay)
{
	char *envfrom;

	switch (received_field_parse(value, relay, &envfrom)) {
	case RECEIVED_FIELD_RELAY:
		return RECEIVED_RELAY;
	case RECEIVED_FIELD_UNPARSEABLE:
		return RECEIVED_UNPARSEABLE;
	default:
		free(envfrom);
		return RECEIVED_SKIPPED;
	}
}

void received_relay_free(struct received_relay *relay)
{
	MYFREE(&relay->ip);
	MYFREE(&relay->rdns);
	MYFREE(&relay->helo);
	MYFREE(&relay->by);
	MYFREE(&relay->ident);
	MYFREE(&relay->id);
	MYFREE(&relay->auth);
	MYFREE(&relay->envfrom);
}

void received_relay_str(const struct received_relay *r, struct str *out)
{
	/* Perl's "envfrom || ''": "0" is written as nothing */
	const char *envfrom = r->envfrom != NULL &&
			      strcmp(r->envfrom, "0") != 0 ? r->envfrom : "";

	str_printf(out, "[ ip=%s rdns=%s helo=%s by=%s ident=%s envfrom=%s "
		   "intl=%d id=%s auth=%s msa=%d ]", r->ip, r->rdns, r->helo,
		   r->by, r->ident, envfrom, r->internal, r->id, r->auth,
		   r->msa);
}

/* ------------------------------------------------------ the message */

struct received {
	struct received_relay *relays;	/* in header order */
	size_t n_relays;
	size_t *list[RECEIVED_LIST_COUNT];	/* indexes into relays */
	size_t n_list[RECEIVED_LIST_COUNT];
	char *str[RECEIVED_LIST_COUNT];	/* built on first use */
	int last_trusted, last_internal;
	size_t unparseable;
};

static void list_add(struct received *rcv, enum received_list l, size_t i)
{
	rcv->list[l] = myrealloc(rcv->list[l],
				 (rcv->n_list[l] + 1) * sizeof(size_t));
	rcv->list[l][rcv->n_list[l]++] = i;
}

/* the trust walk, from the newest field */
struct walk {
	const struct received_conf *conf;
	const struct netset *trusted, *internal;
	int configured;		/* trusted or internal_networks given */
	int in_trusted, in_internal, found_msa;
	int fetch_ok;		/* a fetcher's line restarts the lists */
	char *carried;		/* qmail-scanner's envfrom for the next relay */
};

/* a field that is no relay: the boundaries move past it */
static void walk_skip(struct received *rcv, struct walk *w)
{
	rcv->last_trusted += w->in_trusted;
	rcv->last_internal += w->in_internal;
}

/*
 * R is trusted while the chain of trust holds: without trust settings
 * while it is private or authenticated, with them while it is in
 * trusted_networks or authenticated (internal likewise); an MSA ends the
 * walk and every older relay is taken as it is.
 */
static void walk_relay(struct received *rcv, struct walk *w,
		       struct received_relay *r)
{
	int auth = r->auth[0] != '\0';

	if (w->carried != NULL) {
		free(r->envfrom);
		r->envfrom = w->carried;
		w->carried = NULL;
	}
	if (w->in_trusted && !w->found_msa) {
		if (!w->configured) {
			if (!r->ip_private && !auth)
				w->in_trusted = w->in_internal = 0;
		} else if (!auth && !netset_contains(w->trusted, r->ip)) {
			w->in_trusted = w->in_internal = 0;
		} else {
			if (w->in_internal && !auth &&
			    !netset_contains(w->internal, r->ip))
				w->in_internal = 0;
			if (netset_contains(w->conf->msa, r->ip))
				w->found_msa = r->msa = 1;
		}
	}
	r->internal = w->in_internal;
	rcv->relays = myrealloc(rcv->relays, (rcv->n_relays + 1) *
				sizeof(*rcv->relays));
	rcv->relays[rcv->n_relays] = *r;
	list_add(rcv, w->in_trusted ? RECEIVED_TRUSTED : RECEIVED_UNTRUSTED,
		 rcv->n_relays);
	list_add(rcv, w->in_internal ? RECEIVED_INTERNAL : RECEIVED_EXTERNAL,
		 rcv->n_relays);
	rcv->n_relays++;
	w->fetch_ok = w->in_trusted;
	walk_skip(rcv, w);
}

static void walk_field(struct received *rcv, struct walk *w,
		       const char *value)
{
	struct received_relay r;
	char *envfrom = NULL;

	switch (received_field_parse(value, &r, &envfrom)) {
	case RECEIVED_FIELD_RELAY:
		walk_relay(rcv, w, &r);
		return;
	case RECEIVED_FIELD_FETCHED:
		/* fetched: what came before is the fetcher's own */
		if (w->fetch_ok) {
			rcv->n_list[RECEIVED_TRUSTED] = 0;
			rcv->n_list[RECEIVED_INTERNAL] = 0;
			rcv->n_list[RECEIVED_EXTERNAL] = 0;
		}
		break;
	case RECEIVED_FIELD_UNPARSEABLE:
		rcv->unparseable++;
		break;
	default:
		break;
	}
	MYFREE(&w->carried);
	/* qmail-scanner's note is on the handover in the next field */
	if (envfrom != NULL && envfrom[0] != '\0' && strcmp(envfrom, "0") != 0)
		w->carried = envfrom;
	else
		free(envfrom);
	walk_skip(rcv, w);
}

struct received *received_parse(const struct received_conf *conf,
				const struct message *msg)
{
	struct received *rcv = mycalloc(1, sizeof(*rcv));
	struct walk w;
	size_t i, n = 0;

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.trusted = conf->trusted;
	w.internal = conf->internal;
	w.configured = conf->trusted_configured || conf->internal_configured;
	/* one set stands for the other when only one is configured */
	if (conf->trusted_configured && !conf->internal_configured)
		w.internal = w.trusted;
	else if (!conf->trusted_configured && conf->internal_configured)
		w.trusted = w.internal;
	w.in_trusted = w.in_internal = w.fetch_ok = 1;
	rcv->last_trusted = rcv->last_internal = -1;
	for (i = 0; i < msg->n_headers && n < RCVD_MAX_FIELDS; i++)
		if (strcasecmp(msg->headers[i].name, "Received") == 0) {
			walk_field(rcv, &w, msg->headers[i].value);
			n++;
		}
	/* then a relay per originating header with an address */
	for (i = 0; i < conf->n_orig; i++) {
		const char *h = message_header_get(msg, conf->orig_headers[i]);
		struct received_relay r;

		if (h != NULL && received_field_originating(h, &r))
			walk_relay(rcv, &w, &r);
	}
	free(w.carried);
	return rcv;
}

void received_deinit(struct received **rcvp)
{
	struct received *rcv = *rcvp;
	size_t i;

	if (rcv == NULL)
		return;
	for (i = 0; i < rcv->n_relays; i++)
		received_relay_free(&rcv->relays[i]);
	free(rcv->relays);
	for (i = 0; i < RECEIVED_LIST_COUNT; i++) {
		free(rcv->list[i]);
		free(rcv->str[i]);
	}
	MYFREE(rcvp);
}

const char *received_relays_str(const struct received *rcv,
				enum received_list list)
{
	struct received *w = (struct received *)rcv;	/* the cache */

	if ((unsigned)list >= RECEIVED_LIST_COUNT)
		msg_panic("received_relays_str: list %d", (int)list);
	if (w->str[list] == NULL) {
		struct str out = STR_INIT;
		size_t i;

		for (i = 0; i < rcv->n_list[list]; i++) {
			if (i > 0)
				str_appendc(&out, ' ');
			received_relay_str(&rcv->relays[rcv->list[list][i]],
					   &out);
		}
		if (out.s == NULL)
			str_appends(&out, "");
		w->str[list] = str_steal(&out);
	}
	return w->str[list];
}

size_t received_count(const struct received *rcv, enum received_list list)
{
	return rcv->n_list[list];
}

const struct received_relay *received_relay(const struct received *rcv,
					    enum received_list list, size_t i)
{
	return i < rcv->n_list[list] ? &rcv->relays[rcv->list[list][i]]
				     : NULL;
}

size_t received_unparseable(const struct received *rcv)
{
	return rcv->unparseable;
}

int received_boundary(const struct received *rcv, int internal)
{
	return internal ? rcv->last_internal : rcv->last_trusted;
}

const char *received_envfrom(const struct received *rcv)
{
	const struct received_relay *hop;
	const char *e;

	if (rcv->n_list[RECEIVED_UNTRUSTED] > 0)
		hop = received_relay(rcv, RECEIVED_UNTRUSTED, 0);
	else if (rcv->n_list[RECEIVED_TRUSTED] > 0)
		hop = received_relay(rcv, RECEIVED_TRUSTED,
				     rcv->n_list[RECEIVED_TRUSTED] - 1);
	else
		return NULL;
	e = hop->envfrom;
	if (e != NULL && (e[0] == '\0' || (e[0] != '@' && strchr(e, '@'))))
		return e;
	return NULL;
}
