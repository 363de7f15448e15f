/*
 * lmtp_deliver - from a received message to stored copies and replies.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "header_edit.h"
#include "lmtp_deliver.h"
#include "message.h"
#include "params.h"
#include "policy.h"
#include "msg.h"
#include "mymalloc.h"

void lmtp_deliver_relay(const struct lmtp_transaction *t, struct str *name_r,
			struct str *addr_r)
{
	struct str value = STR_INIT;
	char *rcvd;
	const char *s, *lb, *rb;

	str_clear(name_r);
	str_clear(addr_r);
	if (t->xforward && t->xforward->addr) {
		str_appends(addr_r, t->xforward->addr);
		str_appends(name_r, t->xforward->name ? t->xforward->name
			    : "unknown");
		return;
	}
	/* "from helo (name [addr])" as Postfix, Exim and Dovecot write it */
	rcvd = NULL;
	if (header_edit_get(t->data.s, t->data.len, "Received", &value))
		rcvd = str_steal(&value);
	str_deinit(&value);
	if (rcvd != NULL && (s = strstr(rcvd, "from ")) != NULL &&
	    (lb = strchr(s, '[')) != NULL && (rb = strchr(lb, ']')) != NULL &&
	    rb - lb > 1 && rb - lb < 64) {
		const char *q, *paren = memchr(s, '(', (size_t)(lb - s));

		for (q = lb + 1; q < rb; q++)
			if (!isxdigit((unsigned char)*q) && *q != '.' &&
			    *q != ':')
				break;
		if (q == rb) {
			const char *ip = lb + 1;

			if (strncasecmp(ip, "IPv6:", 5) == 0)
				ip += 5;
			str_append(addr_r, ip, (size_t)(rb - ip));
			if (paren != NULL) {
				const char *n = paren + 1, *e = n;

				while (e < lb && *e != ' ')
					e++;
				if (e > n)
					str_append(name_r, n, (size_t)(e - n));
			}
			if (name_r->len == 0)
				str_appends(name_r, "unknown");
			free(rcvd);
			return;
		}
	}
	free(rcvd);
	str_appends(addr_r, t->peer->addr);
	str_appends(name_r, t->peer->name);
}

static void add_received(struct str *out, const struct lmtp_transaction *t,
			 const char *hostname)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		msg_panic("add_received: cannot format the date");
	str_printf(out, "Received: from %.100s (%.100s [%s])\n\tby %s (spamtrap) with LMTP id %s",
		   t->helo && t->helo[0] ? t->helo : "unknown", t->peer->name,
		   t->peer->addr, hostname, t->id);
	if (t->n_rcpts == 1)
		str_printf(out, "\n\tfor <%s>", t->rcpts[0].address);
	str_printf(out, "; %s\n", date);
}

static double elapsed(const struct timeval *start)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (double)(now.tv_sec - start->tv_sec) +
		(double)(now.tv_usec - start->tv_usec) / 1e6;
}

/* a value for key=value logs: quoted when it has spaces or quotes */
static void log_value(struct str *out, const char *v)
{
	const unsigned char *s;
	int plain = v[0] != '\0';

	for (s = (const unsigned char *)v; *s; s++)
		if (*s <= ' ' || *s == '"' || *s == '\\' || *s >= 0x7f)
			plain = 0;
	if (plain) {
		str_appends(out, v);
		return;
	}
	str_appendc(out, '"');
	for (s = (const unsigned char *)v; *s; s++) {
		if (*s == '"' || *s == '\\')
			str_appendc(out, '\\');
		str_appendc(out, (*s < ' ' || *s == 0x7f) ? '?' : (char)*s);
	}
	str_appendc(out, '"');
}

/* ---- the database, opened in the session process on first use */

static struct qstore *deliver_db(struct lmtp_deliver *d, enum errkind *kind_r,
				 char **error_r)
{
	if (d->qs == NULL)
		d->qs = qstore_open(var_db_dir, error_r, kind_r);
	return d->qs;
}

void lmtp_deliver_after_reply(struct lmtp_deliver *d)
{
	struct qstore_pair before;
	enum errkind kind;
	char *error = NULL;

	if (!d->pair_pending)
		return;
	d->pair_pending = 0;
	if (d->qs != NULL &&
	    qstore_pair_seen(d->qs, str_c(&d->pair_sender),
			     str_c(&d->pair_relay), d->pair_when, &before,
			     &error, &kind) < 0) {
		msg_warn("sid=%s sender/relay history: %s",
			 str_c(&d->pair_sid), error);
		free(error);
	}
}

void lmtp_deliver_session_end(struct lmtp_deliver *d)
{
	lmtp_deliver_after_reply(d);
	str_deinit(&d->pair_sid);
	str_deinit(&d->pair_sender);
	str_deinit(&d->pair_relay);
	qstore_close(&d->qs);
}

/*
 * RCPT time: unknown users (passwd_file), and in bounce mode a reject
 * the sender alone decides (user sender/domain entries), so the MTA
 * refuses before the data is sent.
 */
static int check_rcpt(void *ctx, const struct lmtp_transaction *t,
		      const struct lmtp_rcpt *rcpt, enum errkind *kind_r,
		      const char **reason_r)
{
	struct lmtp_deliver *d = ctx;
	static char *error;
	struct qstore_prefs prefs;
	struct qstore_table_matches tm;
	struct policy_input in;
	struct policy_result pr;
	struct qstore *qs;
	enum errkind kind;
	int r;

	MYFREE(&error);
	if (d->users != NULL) {
		r = userdb_lookup(d->users, &rcpt->addr, &error);
		if (r < 0) {
			msg_warn("%s", error);
			*kind_r = ERR_TEMPORARY;
			*reason_r = "User lookup failed, try again later";
			return -1;
		}
		if (r == 0) {
			*kind_r = ERR_NOUSER;
			*reason_r = "User unknown";
			return -1;
		}
	}
	if (!d->reject_bounce || t == NULL)
		return 0;
	/* an early reject is a courtesy: any failure here decides later */
	if ((qs = deliver_db(d, &kind, &error)) == NULL)
		return 0;
	/* qstore_prefs_get() initializes prefs, even when it fails */
	if (qstore_prefs_get(qs, rcpt->addr.user, &prefs, &error, &kind) < 0 ||
	    prefs.opt_out) {
		qstore_prefs_deinit(&prefs);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (qstore_table_lookup(qs, rcpt->addr.user, t->sender, NULL, &tm,
				&error, &kind) < 0) {
		qstore_prefs_deinit(&prefs);
		return 0;
	}
	memset(&in, 0, sizeof(in));
	in.prefs = &prefs;
	in.tables = &tm;
	policy_decide(&in, &pr);
	r = 0;
	if (pr.outcome == POLICY_REJECT) {
		msg_info("sid=%s from=<%s> to=<%s> action=reject reason=%s stage=rcpt",
			 t->id, t->sender, rcpt->address,
			 policy_reason_name(pr.reason));
		*kind_r = ERR_REFUSED;
		*reason_r = "Refused by the recipient's policy";
		r = -1;
	}
	qstore_table_matches_deinit(&tm);
	qstore_prefs_deinit(&prefs);
	return r;
}

/* ---- one delivery */

/* what becomes of one recipient */
struct plan {
	enum policy_outcome outcome;
	unsigned reason;
	struct qstore_prefs prefs;
	enum errkind kind;		/* a failure before the store */
	char *error;
	const char *folder;		/* NULL: nothing to store */
	struct str own;			/* this recipient's own copy */
	const struct str *msg;		/* the copy to store */
	char id[QSTORE_ID_LEN + 1];	/* incident, or "" */
};

/* shared by the recipients of one message */
struct delivery {
	struct lmtp_deliver *d;
	struct lmtp_transaction *t;
	struct qstore *qs;
	struct str base;		/* the message without X-Spamtrap-* */
	struct str received;		/* our Received: field */
	struct str relay_name, relay_addr;
	struct message *parsed;		/* parsed on first need */
	int scored;
	struct rule_result res;
	struct str spam_headers;	/* X-Spam-* fields, after scoring */
	struct str plain, with_score;	/* the shared copies, built lazily */
};

static struct message *parsed(struct delivery *dv)
{
	if (dv->parsed == NULL)
		dv->parsed = message_parse(dv->base.s, dv->base.len);
	return dv->parsed;
}

static void add_field(struct str *out, const char *name, const char *value)
{
	if (name[0] != '\0')
		str_printf(out, "%s: %s\n", name, value);
}

static void score_once(struct delivery *dv)
{
	struct str score = STR_INIT, status = STR_INIT, report = STR_INIT;

	if (dv->scored)
		return;
	rule_set_score(dv->d->rules, parsed(dv), &dv->res);
	dv->scored = 1;
	if (dv->res.timed_out)
		msg_warn("sid=%s rules stopped after %.3fs (rules_time_budget_ms): rules not run count as not hit",
			 dv->t->id, dv->res.elapsed);
	rule_result_headers(&dv->res, &score, &status, &report);
	add_field(&dv->spam_headers, var_spam_score_header, score.s);
	add_field(&dv->spam_headers, var_spam_status_header, status.s);
	if (dv->res.n_hits > 0)
		add_field(&dv->spam_headers, var_spam_report_header, report.s);
	str_deinit(&score);
	str_deinit(&status);
	str_deinit(&report);
}

/* Received:, [X-Spamtrap-Id:], [X-Spam-*:], then the message */
static void build_copy(struct delivery *dv, struct str *out, int with_score,
		       const char *token)
{
	str_init(out, dv->base.len + dv->received.len + dv->spam_headers.len + 128);
	str_append(out, dv->received.s, dv->received.len);
	if (token != NULL)
		str_printf(out, "X-Spamtrap-Id: %s\n", token);
	if (with_score)
		str_append(out, dv->spam_headers.s, dv->spam_headers.len);
	str_append(out, dv->base.s, dv->base.len);
	if (with_score) {
		/* a sender's own X-Spam-* fields must not pass for ours */
		const char *names[] = { var_spam_score_header,
			var_spam_status_header, var_spam_report_header };
		size_t i, keep = dv->received.len + dv->spam_headers.len +
			(token ? strlen(token) + 16 : 0);
		struct str rest = STR_INIT;

		str_append(&rest, out->s + keep, out->len - keep);
		for (i = 0; i < 3; i++)
			if (names[i][0] != '\0')
				header_edit_remove(&rest, names[i]);
		str_truncate(out, keep);
		str_append(out, rest.s, rest.len);
		str_deinit(&rest);
	}
}

static const struct str *shared_copy(struct delivery *dv, int with_score)
{
	struct str *c = with_score ? &dv->with_score : &dv->plain;

	if (c->s == NULL)
		build_copy(dv, c, with_score, NULL);
	return c;
}

/* prefs, tables, score as needed: the outcome for one recipient */
static void decide(struct delivery *dv, const struct lmtp_rcpt *r,
		   struct plan *p)
{
	struct qstore_table_matches tm;
	struct policy_input in;
	struct policy_result pr;
	const char *user = r->addr.user;

	if (qstore_prefs_get(dv->qs, user, &p->prefs, &p->error, &p->kind) < 0)
		return;
	memset(&in, 0, sizeof(in));
	memset(&tm, 0, sizeof(tm));
	in.prefs = &p->prefs;
	in.relay_known = 1;
	if (!p->prefs.opt_out) {
		if (qstore_table_lookup(dv->qs, user, dv->t->sender,
					dv->relay_addr.s, &tm, &p->error,
					&p->kind) < 0)
			return;
		in.tables = &tm;
	}
	policy_decide(&in, &pr);
	if (pr.outcome == POLICY_NEED_SCORE) {
		score_once(dv);
		in.scored = 1;
		in.score = dv->res.score;
		policy_decide(&in, &pr);
	}
	p->outcome = pr.outcome;
	p->reason = pr.reason;
	qstore_table_matches_deinit(&tm);
}

/* an incident for a held or tagged message, and the copy it describes */
static void record(struct delivery *dv, const struct lmtp_rcpt *r,
		   struct plan *p)
{
	struct qstore_incident inc;
	struct str token = STR_INIT, tag = STR_INIT;
	struct message *m = parsed(dv);
	const char *v;
	size_t i;
	int tagged = p->outcome == POLICY_TAG;

	qstore_id_new(p->id);
	qstore_token_make(dv->qs, p->id, &token);
	build_copy(dv, &p->own, dv->scored, token.s);
	if (tagged) {
		policy_tag_expand(p->prefs.tag_string, dv->scored ? dv->res.score : 0,
				  policy_reason_name(p->reason), &tag);
		header_edit_tag_subject(&p->own, tag.s);
	}
	p->msg = &p->own;
	p->folder = tagged ? STORE_INBOX : var_quarantine_folder;

	qstore_incident_init(&inc);
	memcpy(inc.id, p->id, sizeof(inc.id));
	qstore_incident_set(&inc.user, r->addr.user);
	qstore_incident_set(&inc.recipient, r->address);
	qstore_incident_set(&inc.sender, dv->t->sender);
	qstore_incident_set(&inc.from, (v = message_header_get(m, "From")) ? v : "");
	qstore_incident_set(&inc.subject, (v = message_header_get(m, "Subject")) ? v : "");
	qstore_incident_set(&inc.message_id, (v = message_header_get(m, "Message-ID")) ? v : "");
	inc.received = dv->t->start.tv_sec;
	qstore_incident_set(&inc.relay_ip, dv->relay_addr.s);
	qstore_incident_set(&inc.relay_name, dv->relay_name.s);
	inc.size = p->own.len;
	inc.scored = dv->scored;
	if (dv->scored) {
		inc.score = dv->res.score;
		for (i = 0; i < dv->res.n_hits; i++)
			qstore_incident_add_hit(&inc, dv->res.hits[i].rule,
						dv->res.hits[i].score,
						dv->res.hits[i].description);
	}
	inc.status = QSTORE_PENDING;
	inc.reasons = p->reason;
	inc.flags = tagged ? QSTORE_FLAG_TAGGED : 0;
	qstore_incident_set(&inc.folder, p->folder);
	if (qstore_incident_add(dv->qs, &inc, p->own.s, p->own.len, "lmtpd",
				QSTORE_VIA_LMTP, &p->error, &p->kind) < 0) {
		p->id[0] = '\0';
		p->folder = NULL;
	}
	qstore_incident_deinit(&inc);
	str_deinit(&token);
	str_deinit(&tag);
}

static void plan_recipient(struct delivery *dv, const struct lmtp_rcpt *r,
			   struct plan *p)
{
	decide(dv, r, p);
	if (p->error != NULL)
		return;
	switch (p->outcome) {
	case POLICY_DELIVER:		/* opt-out: untouched */
	case POLICY_ALLOW:
		p->msg = shared_copy(dv, 0);
		p->folder = STORE_INBOX;
		break;
	case POLICY_INBOX:
		p->msg = shared_copy(dv, 1);
		p->folder = STORE_INBOX;
		break;
	case POLICY_HOLD:
	case POLICY_TAG:
		record(dv, r, p);
		break;
	case POLICY_REJECT:
	case POLICY_AUTO_REJECT:
		if (dv->d->reject_bounce) {
			p->kind = ERR_REFUSED;
			p->error = mystrdup("Refused by the recipient's policy");
		}
		break;		/* discard: nothing stored, 250 */
	default:
		msg_panic("plan_recipient: outcome %d after scoring", p->outcome);
	}
}

static void log_recipient(const struct delivery *dv, const struct lmtp_rcpt *r,
			  const struct plan *p, const char *location)
{
	struct str line = STR_INIT, reply = STR_INIT;
	const char *action;

	lmtp_reply_for_error(&reply, r->kind, r->remote_code, r->remote_status,
			     NULL, r->kind == ERR_NONE ? r->note : r->error);
	str_truncate(&reply, reply.len - 2);
	action = p->error && p->outcome == POLICY_NEED_DATA ? "defer"
		: policy_outcome_name(p->outcome);
	str_printf(&line, "sid=%s from=<%s> to=<%s> relay=%s[%s] size=%zu",
		   dv->t->id, dv->t->sender, r->address, dv->relay_name.s,
		   dv->relay_addr.s, dv->base.len);
	if (dv->scored && p->outcome != POLICY_DELIVER &&
	    p->outcome != POLICY_ALLOW && p->outcome != POLICY_NEED_DATA)
		str_printf(&line, " score=%.1f", rule_score_display(dv->res.score));
	else
		str_appends(&line, " score=-");
	str_printf(&line, " action=%s", action);
	if (policy_reason_name(p->reason)[0])
		str_printf(&line, " reason=%s", policy_reason_name(p->reason));
	str_appends(&line, " folder=");
	log_value(&line, p->folder && r->kind == ERR_NONE ? p->folder : "-");
	str_printf(&line, " incident=%s delay=%.3f status=%.3s stat=",
		   p->id[0] ? p->id : "-", elapsed(&dv->t->start), reply.s);
	log_value(&line, reply.s + 4);
	if (location) {
		str_appends(&line, " location=");
		log_value(&line, location);
	}
	msg_info("%s", line.s);
	str_deinit(&line);
	str_deinit(&reply);
}

static void deliver(void *ctx, struct lmtp_transaction *t)
{
	struct lmtp_deliver *d = ctx;
	struct delivery dv;
	struct plan *plans = mycalloc(t->n_rcpts, sizeof(*plans));
	struct store_rcpt *sr = mycalloc(t->n_rcpts, sizeof(*sr));
	struct store_message *sm = mycalloc(t->n_rcpts, sizeof(*sm));
	struct store_envelope env;
	size_t i, n_store = 0, *which = mycalloc(t->n_rcpts, sizeof(size_t));
	char *error = NULL;
	enum errkind kind = ERR_NONE;

	memset(&dv, 0, sizeof(dv));
	dv.d = d;
	dv.t = t;
	str_init(&dv.base, t->data.len + 1);
	str_append(&dv.base, t->data.s, t->data.len);
	header_edit_remove(&dv.base, "X-Spamtrap-*");
	lmtp_deliver_relay(t, &dv.relay_name, &dv.relay_addr);
	add_received(&dv.received, t, d->hostname);
	str_init(&dv.spam_headers, 256);

	dv.qs = deliver_db(d, &kind, &error);
	for (i = 0; i < t->n_rcpts; i++) {
		struct plan *p = &plans[i];

		p->outcome = POLICY_NEED_DATA;
		if (dv.qs == NULL) {
			p->kind = kind;
			p->error = mystrdup("Quarantine database unavailable, try again later");
			continue;
		}
		plan_recipient(&dv, &t->rcpts[i], p);
	}
	if (error) {
		msg_warn("sid=%s database: %s", t->id, error);
		free(error);
	}

	/* everything that has a copy to store goes in one call */
	for (i = 0; i < t->n_rcpts; i++) {
		if (plans[i].error != NULL || plans[i].folder == NULL)
			continue;
		sm[n_store].data = plans[i].msg->s;
		sm[n_store].len = plans[i].msg->len;
		sr[n_store].address = t->rcpts[i].address;
		sr[n_store].addr = &t->rcpts[i].addr;
		sr[n_store].folder = plans[i].folder;
		sr[n_store].msg = &sm[n_store];
		which[n_store++] = i;
	}
	env.sender = t->sender;
	env.session_id = t->id;
	env.received = t->start.tv_sec;
	if (n_store > 0)
		store_deliver(d->store, &env, sr, n_store);

	/* results, incidents completed or withdrawn, log lines */
	for (i = 0; i < n_store; i++) {
		struct plan *p = &plans[which[i]];
		struct lmtp_rcpt *r = &t->rcpts[which[i]];

		r->kind = sr[i].kind;
		r->error = sr[i].error ? mystrdup(sr[i].error) : NULL;
		r->remote_code = sr[i].remote_code;
		memcpy(r->remote_status, sr[i].remote_status,
		       sizeof(r->remote_status));
		if (p->id[0] && r->kind == ERR_NONE) {
			if (qstore_incident_filed(dv.qs, p->id, p->folder,
						  sr[i].location ? sr[i].location : "",
						  &error, &kind) < 0) {
				msg_warn("sid=%s incident %s filed but its location not recorded: %s",
					 t->id, p->id, error);
				MYFREE(&error);
			}
		} else if (p->id[0]) {
			if (qstore_incident_delete(dv.qs, p->id, &error, &kind) < 0) {
				msg_warn("sid=%s incident %s not filed and not withdrawn: %s",
					 t->id, p->id, error);
				MYFREE(&error);
			}
			p->id[0] = '\0';
		}
	}
	for (i = 0; i < t->n_rcpts; i++) {
		struct plan *p = &plans[i];
		struct lmtp_rcpt *r = &t->rcpts[i];
		const char *location = NULL;
		size_t k;

		if (p->error != NULL) {
			r->kind = p->kind == ERR_NONE ? ERR_TEMPORARY : p->kind;
			r->error = mystrdup(p->error);
		} else if (p->folder == NULL && r->kind == ERR_NONE) {
			struct str note = STR_INIT;

			str_printf(&note, "Discarded (%s)",
				   policy_reason_name(p->reason)[0] ?
				   policy_reason_name(p->reason) : "policy");
			r->note = str_steal(&note);
		} else if (r->kind == ERR_NONE) {
			r->note = mystrdup(p->id[0] ? "Saved, incident" : "Saved");
			if (p->id[0]) {
				struct str note = STR_INIT;

				str_printf(&note, "Saved to %s, incident %s",
					   p->folder, p->id);
				free(r->note);
				r->note = str_steal(&note);
			}
		}
		for (k = 0; k < n_store; k++)
			if (which[k] == i)
				location = sr[k].location;
		log_recipient(&dv, r, p, location);
	}
	if (dv.qs != NULL && dv.relay_addr.len > 0) {
		/* recorded once the replies are out */
		lmtp_deliver_after_reply(d);
		str_clear(&d->pair_sid);
		str_appends(&d->pair_sid, t->id);
		str_clear(&d->pair_sender);
		str_appends(&d->pair_sender, t->sender);
		str_clear(&d->pair_relay);
		str_appends(&d->pair_relay, dv.relay_addr.s);
		d->pair_when = t->start.tv_sec;
		d->pair_pending = 1;
	}

	for (i = 0; i < n_store; i++)
		store_rcpt_clear(&sr[i]);
	for (i = 0; i < t->n_rcpts; i++) {
		qstore_prefs_deinit(&plans[i].prefs);
		free(plans[i].error);
		str_deinit(&plans[i].own);
	}
	free(plans);
	free(sr);
	free(sm);
	free(which);
	if (dv.scored)
		rule_result_deinit(&dv.res);
	message_deinit(&dv.parsed);
	str_deinit(&dv.base);
	str_deinit(&dv.received);
	str_deinit(&dv.relay_name);
	str_deinit(&dv.relay_addr);
	str_deinit(&dv.spam_headers);
	str_deinit(&dv.plain);
	str_deinit(&dv.with_score);
}
const struct lmtp_session_callbacks lmtp_deliver_callbacks = {
	check_rcpt,
	deliver,
};
