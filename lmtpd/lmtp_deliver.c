/*
 * lmtp_deliver - from a received message to stored copies and replies.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lmtp_deliver.h"
#include "msg.h"
#include "mymalloc.h"

static int check_rcpt(void *ctx, const struct lmtp_transaction *t,
		      const struct lmtp_rcpt *rcpt, enum errkind *kind_r,
		      const char **reason_r)
{
	struct lmtp_deliver *d = ctx;
	static char *error;
	int r;

	if (d->users == NULL)
		return 0;
	MYFREE(&error);
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
	return 0;
}

/* the header block ends at the first empty line */
static size_t header_end(const struct str *msg)
{
	const char *p;

	if (msg->len > 0 && msg->s[0] == '\n')
		return 0;
	p = memmem(msg->s, msg->len, "\n\n", 2);
	return p ? (size_t)(p - msg->s) + 1 : msg->len;
}

/* the first "Received:" header, unfolded, or NULL */
static char *top_received(const struct str *msg)
{
	size_t end = header_end(msg), pos = 0;

	while (pos < end) {
		const char *line = msg->s + pos;
		const char *nl = memchr(line, '\n', end - pos);
		size_t len = nl ? (size_t)(nl - line) : end - pos;

		if (len >= 9 && strncasecmp(line, "Received:", 9) == 0) {
			struct str sb = STR_INIT;
			size_t p = pos + len + 1;

			str_append(&sb, line + 9, len - 9);
			while (p < end && (msg->s[p] == ' ' || msg->s[p] == '\t')) {
				const char *l2 = msg->s + p;
				const char *n2 = memchr(l2, '\n', end - p);
				size_t len2 = n2 ? (size_t)(n2 - l2) : end - p;

				str_append(&sb, l2, len2);
				p += len2 + 1;
			}
			return str_steal(&sb);
		}
		pos += len + 1;
	}
	return NULL;
}

void lmtp_deliver_relay(const struct lmtp_transaction *t, struct str *name_r,
			struct str *addr_r)
{
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
	rcvd = top_received(&t->data);
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

static void deliver(void *ctx, struct lmtp_transaction *t)
{
	struct lmtp_deliver *d = ctx;
	struct str full = STR_INIT, relay_name = STR_INIT, relay_addr = STR_INIT;
	struct store_message msg;
	struct store_envelope env;
	struct store_rcpt *sr;
	size_t i;

	lmtp_deliver_relay(t, &relay_name, &relay_addr);
	str_init(&full, t->data.len + 512);
	add_received(&full, t, d->hostname);
	str_append(&full, t->data.s, t->data.len);
	msg.data = full.s;
	msg.len = full.len;
	env.sender = t->sender;
	env.session_id = t->id;
	env.received = t->start.tv_sec;

	sr = mycalloc(t->n_rcpts, sizeof(*sr));
	for (i = 0; i < t->n_rcpts; i++) {
		sr[i].address = t->rcpts[i].address;
		sr[i].addr = &t->rcpts[i].addr;
		sr[i].folder = STORE_INBOX;
		sr[i].msg = &msg;
	}
	store_deliver(d->store, &env, sr, t->n_rcpts);

	for (i = 0; i < t->n_rcpts; i++) {
		struct lmtp_rcpt *r = &t->rcpts[i];
		struct str line = STR_INIT, reply = STR_INIT;

		r->kind = sr[i].kind;
		r->error = sr[i].error ? mystrdup(sr[i].error) : NULL;
		r->remote_code = sr[i].remote_code;
		memcpy(r->remote_status, sr[i].remote_status,
		       sizeof(r->remote_status));
		if (r->kind == ERR_NONE)
			r->note = mystrdup("Saved");
		lmtp_reply_for_error(&reply, r->kind, r->remote_code,
				     r->remote_status, NULL,
				     r->kind == ERR_NONE ? "delivered" : r->error);
		str_truncate(&reply, reply.len - 2);

		str_appends(&line, "sid=");
		str_appends(&line, t->id);
		str_appends(&line, " from=<");
		str_appends(&line, t->sender);
		str_appends(&line, "> to=<");
		str_appends(&line, r->address);
		str_appends(&line, "> relay=");
		str_printf(&line, "%s[%s]", relay_name.s, relay_addr.s);
		str_printf(&line, " size=%zu score=- action=deliver folder=%s incident=-",
			   msg.len, STORE_INBOX);
		str_printf(&line, " delay=%.3f status=%.3s stat=", elapsed(&t->start),
			   reply.s);
		log_value(&line, reply.s + 4);
		if (sr[i].location) {
			str_appends(&line, " location=");
			log_value(&line, sr[i].location);
		}
		msg_info("%s", line.s);
		str_deinit(&line);
		str_deinit(&reply);
		store_rcpt_clear(&sr[i]);
	}
	free(sr);
	str_deinit(&full);
	str_deinit(&relay_name);
	str_deinit(&relay_addr);
}

const struct lmtp_session_callbacks lmtp_deliver_callbacks = {
	check_rcpt,
	deliver,
};
