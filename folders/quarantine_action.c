/*
 * quarantine_action - accept, reject, report, learn, and what folder
 * placements mean.  See quarantine_action.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <glib.h>

#include "message.h"
#include "msg.h"
#include "mymalloc.h"
#include "qstore_watch.h"
#include "quarantine_action.h"

#define QA_HEADER_NAME	"X-Spamtrap-Id"
#define QA_PAGE		200	/* incidents per listing page */

static enum quarantine_action_result
from_verdict(enum qstore_verdict_result r)
{
	switch (r) {
	case QSTORE_VERDICT_CHANGED: return QA_CHANGED;
	case QSTORE_VERDICT_UNCHANGED: return QA_UNCHANGED;
	case QSTORE_VERDICT_FOREIGN: return QA_FOREIGN;
	case QSTORE_VERDICT_UNKNOWN: break;
	}
	return QA_UNKNOWN;
}

static const char *status_word(enum qstore_status s)
{
	return qstore_status_name(s);
}

/* the verdict, logged; INC_R may be NULL */
static enum quarantine_action_result
verdict(struct qstore *qs, const char *id, enum qstore_status to,
	unsigned only_from, const struct quarantine_actor *a,
	struct qstore_incident *inc_r, char **error_r)
{
	enum qstore_verdict_result vr;
	struct qstore_incident inc;
	enum quarantine_action_result r;

	if (qstore_incident_verdict(qs, id, a->user, to, only_from, a->who,
				    a->via, a->note, &inc, &vr, error_r,
				    NULL) < 0)
		return QA_ERROR;
	r = from_verdict(vr);
	if (r == QA_CHANGED)
		msg_info("incident=%s user=%s status=%s who=%s via=%s%s%s", id,
			 inc.user, status_word(to), a->who,
			 qstore_via_name(a->via), a->note ? " note=" : "",
			 a->note ? a->note : "");
	else if (r == QA_FOREIGN)
		msg_warn("incident=%s belongs to another user than %s: "
			 "nothing done", id, a->user);
	if (vr != QSTORE_VERDICT_UNKNOWN) {
		if (inc_r != NULL)
			*inc_r = inc;
		else
			qstore_incident_deinit(&inc);
	}
	return r;
}

enum quarantine_action_result
quarantine_action_accept(struct qstore *qs, const char *id,
			 const struct quarantine_actor *a, char **error_r)
{
	struct qstore_incident inc;
	struct qstore_prefs prefs;
	enum quarantine_action_result r;
	struct str comment = STR_INIT;
	char *error = NULL;

	r = verdict(qs, id, QSTORE_NON_SPAM, 0, a, &inc, error_r);
	if (r != QA_CHANGED) {
		if (r == QA_UNCHANGED || r == QA_FOREIGN)
			qstore_incident_deinit(&inc);
		return r;
	}
	/* the sender joins the allow table: only on a real change */
	if (inc.sender[0] != '\0') {
		if (qstore_prefs_get(qs, inc.user, &prefs, &error, NULL) < 0) {
			msg_warn("incident=%s: reading preferences of %s: %s", id,
				 inc.user, error);
			MYFREE(&error);
			qstore_prefs_deinit(&prefs);	/* set even on failure */
		} else {
			if (prefs.accept_allows_sender) {
				str_printf(&comment, "accepted incident %s", id);
				if (qstore_table_set(qs, inc.user,
						     QSTORE_TABLE_SENDER,
						     inc.sender, QSTORE_ACT_ALLOW,
						     a->who, str_c(&comment),
						     &error, NULL) < 0) {
					msg_warn("incident=%s: allowing sender "
						 "<%s> for %s: %s", id,
						 inc.sender, inc.user, error);
					MYFREE(&error);
				} else {
					msg_info("incident=%s user=%s sender=<%s> "
						 "allowed", id, inc.user,
						 inc.sender);
				}
			}
			qstore_prefs_deinit(&prefs);
		}
	}
	str_deinit(&comment);
	qstore_incident_deinit(&inc);
	return r;
}

enum quarantine_action_result
quarantine_action_reject(struct qstore *qs, const char *id,
			 const struct quarantine_actor *a, char **error_r)
{
	return verdict(qs, id, QSTORE_SPAM, 0, a, NULL, error_r);
}

/* ------------------------------------------------------------------ */
/* headers */

size_t quarantine_action_header_len(const char *msg, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - msg) + 1 : len;
		size_t ll = end - i;

		/* an empty line ("\n" or "\r\n") ends the header */
		if (ll == 1 || (ll == 2 && msg[i] == '\r'))
			return i;
		i = end;
	}
	return len;
}

char *quarantine_action_header_token(const char *msg, size_t len)
{
	size_t hlen = quarantine_action_header_len(msg, len), i = 0;
	size_t nlen = strlen(QA_HEADER_NAME);
	struct str v = STR_INIT;
	int in = 0;

	while (i < hlen) {
		const char *nl = memchr(msg + i, '\n', hlen - i);
		size_t end = nl ? (size_t)(nl - msg) + 1 : hlen;
		const char *line = msg + i;
		size_t ll = end - i;

		if (in && (line[0] == ' ' || line[0] == '\t')) {
			str_append(&v, line, ll);
		} else if (in) {
			break;
		} else if (ll > nlen && line[nlen] == ':'
			   && strncasecmp(line, QA_HEADER_NAME, nlen) == 0) {
			in = 1;
			str_append(&v, line + nlen + 1, ll - nlen - 1);
		}
		i = end;
	}
	if (!in) {
		str_deinit(&v);
		return NULL;
	}
	/* unfold and trim: a token has no white space inside */
	{
		struct str t = STR_INIT;
		size_t k;

		for (k = 0; k < v.len; k++)
			if (!isspace((unsigned char)v.s[k]))
				str_appendc(&t, v.s[k]);
		str_deinit(&v);
		return str_steal(&t);
	}
}

void quarantine_action_report_key(const char *msg, size_t len,
				  struct str *key)
{
	size_t hlen = quarantine_action_header_len(msg, len), i = 0;
	const char *name = "Message-ID";
	size_t nlen = strlen(name);
	struct str mid = STR_INIT;
	int in = 0;

	str_clear(key);
	while (i < hlen) {
		const char *nl = memchr(msg + i, '\n', hlen - i);
		size_t end = nl ? (size_t)(nl - msg) + 1 : hlen;
		const char *line = msg + i;
		size_t ll = end - i;

		if (in && (line[0] == ' ' || line[0] == '\t'))
			str_append(&mid, line, ll);
		else if (in)
			break;
		else if (ll > nlen && line[nlen] == ':'
			 && strncasecmp(line, name, nlen) == 0) {
			in = 1;
			str_append(&mid, line + nlen + 1, ll - nlen - 1);
		}
		i = end;
	}
	if (in) {
		size_t k;

		str_appends(key, "msgid:");
		for (k = 0; k < mid.len; k++)
			if (!isspace((unsigned char)mid.s[k]))
				str_appendc(key, mid.s[k]);
	}
	str_deinit(&mid);
	if (key->len > 6 && key->len < 900)
		return;
	/* no usable Message-ID: a digest of the header without CRs */
	{
		GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
		size_t k, start = 0;

		for (k = 0; k <= hlen; k++) {
			if (k == hlen || msg[k] == '\r') {
				if (k > start)
					g_checksum_update(ck,
						(const guchar *)msg + start,
						k - start);
				start = k + 1;
			}
		}
		str_clear(key);
		str_printf(key, "sha256:%s", g_checksum_get_string(ck));
		g_checksum_free(ck);
	}
}

int quarantine_action_token(struct qstore *qs, const char *token,
			    const char *user, const char *where,
			    char id_r[QSTORE_ID_LEN + 1])
{
	struct qstore_incident inc;
	char *error = NULL;
	int r;

	if (!qstore_token_verify(qs, token, id_r)) {
		msg_warn("%s: forged or damaged X-Spamtrap-Id \"%.40s\"%s%s: "
			 "ignored", where, token, user ? " user=" : "",
			 user ? user : "");
		return 0;
	}
	if (user == NULL)
		return 1;
	r = qstore_incident_get(qs, id_r, &inc, &error, NULL);
	if (r < 0) {
		msg_warn("%s: incident=%s: %s", where, id_r, error);
		free(error);
		return 0;
	}
	if (r == 0) {
		msg_warn("%s: incident=%s user=%s: no such incident (expired?): "
			 "ignored", where, id_r, user);
		return 0;
	}
	r = strcmp(inc.user, user) == 0;
	if (!r)
		msg_warn("%s: incident=%s belongs to another user, not %s: "
			 "ignored", where, id_r, user);
	qstore_incident_deinit(&inc);
	return r;
}

/* ------------------------------------------------------------------ */
/* placements */

void quarantine_scan_init(struct quarantine_scan *scan)
{
	memset(scan, 0, sizeof(*scan));
}

void quarantine_scan_deinit(struct quarantine_scan *scan)
{
	free(scan->seen);
	memset(scan, 0, sizeof(*scan));
}

static struct quarantine_seen *scan_find(const struct quarantine_scan *scan,
					 const char *id)
{
	size_t i;

	for (i = 0; i < scan->n; i++)
		if (strcmp(scan->seen[i].id, id) == 0)
			return &scan->seen[i];
	return NULL;
}

void quarantine_scan_add(struct quarantine_scan *scan, const char *id,
			 unsigned place)
{
	struct quarantine_seen *s = scan_find(scan, id);

	if (s != NULL) {
		s->places |= place;
		return;
	}
	if (scan->n == scan->cap) {
		scan->cap = scan->cap ? 2 * scan->cap : 32;
		scan->seen = myrealloc(scan->seen, scan->cap * sizeof(*scan->seen));
	}
	s = &scan->seen[scan->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->places = place;
}

int quarantine_action_set_places(struct qstore *qs, const char *user,
				 const char *id, unsigned places,
				 char **error_r)
{
	struct str key = STR_INIT;
	unsigned char b = (unsigned char)places;
	int r;

	qstore_watch_key(&key, 'P', user, id);
	if (places == 0)
		r = qstore_watch_del(qs, &key, error_r, NULL) < 0 ? -1 : 0;
	else
		r = qstore_watch_put(qs, &key, &b, 1, error_r, NULL);
	str_deinit(&key);
	return r;
}

/* what the scan compares: one candidate incident */
struct cand {
	char id[QSTORE_ID_LEN + 1];
	int have_old;
	unsigned old, now;
};

struct cands {
	struct cand *c;
	size_t n, cap;
};

static struct cand *cand_get(struct cands *cs, const char *id)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].id, id) == 0)
			return &cs->c[i];
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 32;
		cs->c = myrealloc(cs->c, cs->cap * sizeof(*cs->c));
	}
	memset(&cs->c[cs->n], 0, sizeof(cs->c[0]));
	snprintf(cs->c[cs->n].id, sizeof(cs->c[0].id), "%s", id);
	return &cs->c[cs->n++];
}

static int load_place(const struct str *key, const struct str *val, void *vctx)
{
	struct cands *cs = vctx;
	const char *nul = memchr(key->s, '\0', key->len);
	struct cand *c;

	if (nul == NULL || val->len != 1)
		return 0;
	c = cand_get(cs, nul + 1);
	c->have_old = 1;
	c->old = (unsigned char)val->s[0];
	return 0;
}

static int list_held(struct qstore *qs, const char *user, int status,
		     struct cands *cs, char **error_r)
{
	struct qstore_query q;
	struct qstore_page page;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.user = user;
	q.status = status;
	q.page_size = QA_PAGE;
	for (q.page = 1;; q.page++) {
		if (qstore_incident_list(qs, &q, &page, error_r, NULL) < 0)
			return -1;
		for (i = 0; i < page.n; i++)
			(void)cand_get(cs, page.items[i].id);
		i = (size_t)page.more;
		qstore_page_deinit(&page);
		if (!i)
			break;
	}
	return 0;
}

static int held(const struct qstore_incident *inc)
{
	return inc->status == QSTORE_PENDING || inc->status == QSTORE_ONE_SHOT;
}

/* act on one candidate whose placement changed; returns verdicts or -1 */
static int observe_one(struct qstore *qs, const char *user, struct cand *c,
		       struct quarantine_scan *scan, enum qstore_via via,
		       char **error_r)
{
	struct quarantine_actor a = { user, user, via, NULL };
	struct qstore_incident inc;
	enum quarantine_action_result r = QA_UNCHANGED;
	unsigned appeared, old;
	int tagged, got;

	/* placed by a command that moves the message: see QA_BY_COMMAND */
	if (c->have_old && (c->old & QA_BY_COMMAND)) {
		if (c->now == (c->old & QA_IN_ANY))
			return quarantine_action_set_places(qs, user, c->id,
							    c->now, error_r);
		if (!(c->old & QA_COMPARED)) {
			scan->unconfirmed++;
			return quarantine_action_set_places(qs, user, c->id,
							    c->old | QA_COMPARED,
							    error_r);
		}
		c->old &= QA_IN_ANY;
	}
	got = qstore_incident_get(qs, c->id, &inc, error_r, NULL);
	if (got < 0)
		return -1;
	if (got == 0) {
		/* gone from the database (expired, deleted): forget it */
		return quarantine_action_set_places(qs, user, c->id, 0, error_r);
	}
	if (strcmp(inc.user, user) != 0) {
		msg_warn("user=%s: incident=%s of another user seen in the "
			 "folders: ignored", user, c->id);
		qstore_incident_deinit(&inc);
		return 0;
	}
	tagged = (inc.flags & QSTORE_FLAG_TAGGED) != 0;
	if (c->have_old) {
		old = c->old;
	} else if (tagged) {
		old = QA_IN_NORMAL;
	} else if (inc.location[0] != '\0' || inc.folder[0] != '\0') {
		old = QA_IN_QUARANTINE;
	} else if (c->now == 0) {
		/* held, not filed yet (delivery in progress) */
		qstore_incident_deinit(&inc);
		return 0;
	} else {
		old = QA_IN_QUARANTINE;
	}
	appeared = c->now & ~old;
	if (appeared & QA_IN_NORMAL) {
		a.note = "moved out of the quarantine";
		r = quarantine_action_accept(qs, c->id, &a, error_r);
	} else if (appeared & QA_IN_QUARANTINE) {
		if (inc.status == QSTORE_NON_SPAM || (tagged && held(&inc))) {
			a.note = "moved into the quarantine";
			r = verdict(qs, c->id, QSTORE_SPAM, 0, &a, NULL, error_r);
		}
	} else if ((appeared & QA_IN_TRASH) && held(&inc)) {
		a.note = "moved to trash";
		r = verdict(qs, c->id, QSTORE_SPAM, QSTORE_STATUS_HELD, &a, NULL,
			    error_r);
	} else if (c->now == 0 && old != 0 && held(&inc) && !tagged
		   && !scan->final) {
		/* wait for a confirming scan; keep the old placement */
		scan->unconfirmed++;
		qstore_incident_deinit(&inc);
		return 0;
	} else if (c->now == 0 && old != 0 && held(&inc) && !tagged) {
		/* confirmed gone from the folders watched: elsewhere? */
		int elsewhere = scan->locate
			? scan->locate(user, c->id, scan->locate_ctx) : 0;

		if (elsewhere < 0) {
			/* could not look: keep the old placement, retry */
			scan->unconfirmed++;
			qstore_incident_deinit(&inc);
			return 0;
		}
		/* only what changed against the recorded placement counts:
		   "spamtrap accept" records INBOX before it moves the
		   message, and its own verdict after */
		c->now = (unsigned)elsewhere;
		appeared = c->now & ~old;
		if (appeared & QA_IN_NORMAL) {
			a.note = "moved out of the quarantine";
			r = quarantine_action_accept(qs, c->id, &a, error_r);
		} else if (appeared & QA_IN_TRASH) {
			a.note = "moved to trash";
			r = verdict(qs, c->id, QSTORE_SPAM, QSTORE_STATUS_HELD, &a,
				    NULL, error_r);
		} else if (c->now == 0 && (old & QA_IN_QUARANTINE)) {
			a.note = "expunged from the quarantine";
			r = verdict(qs, c->id, QSTORE_SPAM, QSTORE_STATUS_HELD, &a,
				    NULL, error_r);
		}
	}
	qstore_incident_deinit(&inc);
	if (r == QA_ERROR)
		return -1;
	if (quarantine_action_set_places(qs, user, c->id, c->now, error_r) < 0)
		return -1;
	return r == QA_CHANGED;
}

int quarantine_action_observe(struct qstore *qs, const char *user,
			      struct quarantine_scan *scan,
			      enum qstore_via via, char **error_r)
{
	struct cands cs = { NULL, 0, 0 };
	struct str prefix = STR_INIT;
	size_t i;
	int n = 0, r;

	scan->unconfirmed = 0;
	qstore_watch_key(&prefix, 'P', user, NULL);
	if (qstore_watch_scan(qs, &prefix, load_place, &cs, error_r, NULL) < 0
	    || (scan->complete
		&& (list_held(qs, user, QSTORE_PENDING, &cs, error_r) < 0
		    || list_held(qs, user, QSTORE_ONE_SHOT, &cs, error_r) < 0))) {
		n = -1;
		goto out;
	}
	for (i = 0; i < scan->n; i++)
		cand_get(&cs, scan->seen[i].id)->now = scan->seen[i].places;
	for (i = 0; i < cs.n; i++) {
		if (cs.c[i].have_old && cs.c[i].old == cs.c[i].now)
			continue;
		if ((r = observe_one(qs, user, &cs.c[i], scan, via,
				     error_r)) < 0) {
			n = -1;
			goto out;
		}
		n += r;
	}
out:
	str_deinit(&prefix);
	free(cs.c);
	return n;
}

/* ------------------------------------------------------------------ */
/* report and learn */

static void strip_cr(const char *msg, size_t len, struct str *out)
{
	size_t i;

	str_clear(out);
	str_reserve(out, len);
	for (i = 0; i < len; i++)
		if (!(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
			str_appendc(out, msg[i]);
}

static void set_hdr(char **field, const struct message *m, const char *name)
{
	const char *v = message_header_get(m, name);

	qstore_incident_set(field, v ? v : "");
}

enum quarantine_action_result
quarantine_action_report(struct qstore *qs, const char *msg, size_t len,
			 const char *folder, const char *location,
			 const struct quarantine_actor *a,
			 char id_r[QSTORE_ID_LEN + 1], char **error_r)
{
	struct str key = STR_INIT, rkey = STR_INIT, old = STR_INIT;
	struct str lf = STR_INIT;
	struct qstore_incident inc;
	struct message *m;
	char *error = NULL;
	int r;
	enum quarantine_action_result res = QA_ERROR;

	if (a->user == NULL)
		msg_panic("quarantine_action_report: no user");
	quarantine_action_report_key(msg, len, &key);
	qstore_watch_key(&rkey, 'R', a->user, str_c(&key));
	qstore_id_new(id_r);
	r = qstore_watch_add(qs, &rkey, id_r, QSTORE_ID_LEN, &old, error_r,
			     NULL);
	if (r < 0)
		goto out;
	if (r == 0) {
		/* reported before: that incident, unless it is gone */
		if (old.len == QSTORE_ID_LEN) {
			memcpy(id_r, old.s, QSTORE_ID_LEN);
			id_r[QSTORE_ID_LEN] = '\0';
		}
		r = qstore_incident_get(qs, id_r, &inc, error_r, NULL);
		if (r < 0)
			goto out;
		if (r > 0) {
			qstore_incident_deinit(&inc);
			res = QA_UNCHANGED;
			goto out;
		}
		/* a claim left by a crash, or an expired report: report anew */
		qstore_id_new(id_r);
		if (qstore_watch_put(qs, &rkey, id_r, QSTORE_ID_LEN, error_r,
				     NULL) < 0)
			goto out;
	}
	strip_cr(msg, len, &lf);
	m = message_parse(lf.s, lf.len);
	qstore_incident_init(&inc);
	memcpy(inc.id, id_r, QSTORE_ID_LEN + 1);
	qstore_incident_set(&inc.user, a->user);
	qstore_incident_set(&inc.recipient, a->user);
	qstore_incident_set(&inc.sender, "");
	set_hdr(&inc.from, m, "From");
	set_hdr(&inc.subject, m, "Subject");
	set_hdr(&inc.message_id, m, "Message-ID");
	message_deinit(&m);
	inc.received = time(NULL);
	inc.size = lf.len;
	inc.status = QSTORE_SPAM;
	qstore_incident_set(&inc.folder, folder ? folder : "");
	qstore_incident_set(&inc.location, location ? location : "");
	qstore_incident_add_action(&inc, inc.received, a->who, a->via,
				   "reported as spam");
	if (qstore_incident_add(qs, &inc, lf.s, lf.len, a->who, a->via, &error,
				NULL) < 0) {
		*error_r = error;
		qstore_incident_deinit(&inc);
		goto out;
	}
	qstore_incident_deinit(&inc);
	msg_info("incident=%s user=%s status=spam who=%s via=%s reported=yes "
		 "key=%.80s", id_r, a->user, a->who, qstore_via_name(a->via),
		 str_c(&key));
	res = QA_CHANGED;
out:
	str_deinit(&key);
	str_deinit(&rkey);
	str_deinit(&old);
	str_deinit(&lf);
	return res;
}

int quarantine_action_reported(struct qstore *qs, const char *user,
			       const char *key, char id_r[QSTORE_ID_LEN + 1],
			       char **error_r)
{
	struct str rkey = STR_INIT, val = STR_INIT;
	int r;

	qstore_watch_key(&rkey, 'R', user, key);
	r = qstore_watch_get(qs, &rkey, &val, error_r, NULL);
	if (r > 0 && val.len == QSTORE_ID_LEN) {
		memcpy(id_r, val.s, QSTORE_ID_LEN);
		id_r[QSTORE_ID_LEN] = '\0';
	} else if (r > 0) {
		r = 0;
	}
	str_deinit(&rkey);
	str_deinit(&val);
	return r;
}

/* the incident of a reported message known by its key: 1, 0 none, -1 */
static int reported_id(struct qstore *qs, const char *user, const char *msg,
		       size_t len, char id_r[QSTORE_ID_LEN + 1],
		       char **error_r)
{
	struct str key = STR_INIT, rkey = STR_INIT, val = STR_INIT;
	int r;

	quarantine_action_report_key(msg, len, &key);
	qstore_watch_key(&rkey, 'R', user, str_c(&key));
	r = qstore_watch_get(qs, &rkey, &val, error_r, NULL);
	if (r > 0 && val.len == QSTORE_ID_LEN) {
		memcpy(id_r, val.s, QSTORE_ID_LEN);
		id_r[QSTORE_ID_LEN] = '\0';
	} else if (r > 0) {
		r = 0;
	}
	str_deinit(&key);
	str_deinit(&rkey);
	str_deinit(&val);
	return r;
}

enum quarantine_action_result
quarantine_action_learn(struct qstore *qs, const char *msg, size_t len,
			int ham, const struct quarantine_actor *a,
			char id_r[QSTORE_ID_LEN + 1], char **error_r)
{
	char *token = quarantine_action_header_token(msg, len);
	struct qstore_incident inc;
	enum quarantine_action_result r;
	int got;

	id_r[0] = '\0';
	if (token != NULL) {
		int ok = quarantine_action_token(qs, token, a->user, "learn",
						 id_r);

		free(token);
		if (!ok) {
			id_r[0] = '\0';
			return QA_FOREIGN;
		}
	} else {
		got = a->user == NULL ? 0
		      : reported_id(qs, a->user, msg, len, id_r, error_r);
		if (got < 0)
			return QA_ERROR;
		if (got == 0) {
			if (ham || a->user == NULL) {
				msg_info("learn: user=%s ham message without "
					 "X-Spamtrap-Id, not reported before: "
					 "nothing to do", a->user);
				return QA_UNKNOWN;
			}
			r = quarantine_action_report(qs, msg, len, "", "", a,
						     id_r, error_r);
			if (r == QA_CHANGED || r == QA_UNCHANGED)
				(void)quarantine_action_set_places(
					qs, a->user, id_r, QA_IN_QUARANTINE,
					NULL);
			return r;
		}
	}
	if (ham) {
		r = quarantine_action_accept(qs, id_r, a, error_r);
	} else {
		got = qstore_incident_get(qs, id_r, &inc, error_r, NULL);
		if (got < 0)
			return QA_ERROR;
		if (got == 0)
			return QA_UNKNOWN;
		/* into the quarantine: spam if it had been accepted (or was
		   tagged); a held message moved between quarantine folders
		   stays held */
		if (inc.status == QSTORE_NON_SPAM
		    || ((inc.flags & QSTORE_FLAG_TAGGED) && held(&inc)))
			r = verdict(qs, id_r, QSTORE_SPAM, 0, a, NULL, error_r);
		else
			r = QA_UNCHANGED;
		qstore_incident_deinit(&inc);
	}
	if ((r == QA_CHANGED || r == QA_UNCHANGED) && a->user != NULL) {
		char *error = NULL;

		if (quarantine_action_set_places(qs, a->user, id_r,
				ham ? QA_IN_NORMAL : QA_IN_QUARANTINE,
				&error) < 0) {
			msg_warn("incident=%s: saving its placement: %s", id_r,
				 error);
			free(error);
		}
	}
	return r;
}
