/*
 * lmtp_session - RFC 2033 LMTP server state machine.
 *
 * Commands go through a table pairing each verb with the states it is
 * allowed in and its action.  Every reply carries an enhanced status
 * code (RFC 2034).  Input is bounded: a command line longer than the
 * limit is discarded up to its end and answered 500 5.5.2; message
 * data beyond message_size_limit is read and thrown away, then answered
 * 552 5.3.4 for each recipient.  The message is never handed to delivery
 * before its final dot (or BDAT LAST) has arrived.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lmtp_session.h"
#include "lmtp_token.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"

/* partial data lines longer than this are moved to the message early */
#define LMTP_DATA_CHUNK	65536

enum lmtp_state {
	STATE_INIT = 1 << 0,	/* before LHLO */
	STATE_READY = 1 << 1,	/* after LHLO, no transaction */
	STATE_MAIL = 1 << 2,	/* after MAIL FROM */
	STATE_DATA = 1 << 3,	/* reading DATA */
	STATE_BDAT = 1 << 4,	/* reading a BDAT chunk */
	STATE_BDAT_MORE = 1 << 5,	/* between BDAT chunks */
	STATE_CLOSED = 1 << 6,
};

#define ANY_CMD_STATE (STATE_INIT | STATE_READY | STATE_MAIL | STATE_BDAT_MORE)

struct lmtp_session {
	char *id;
	unsigned n_transactions;
	enum lmtp_state state;
	const struct lmtp_peer *peer;
	struct lmtp_session_limits limits;
	const struct lmtp_session_callbacks *cb;
	void *ctx;

	struct str in;		/* unprocessed input */
	struct str out;		/* replies not yet written */
	int discarding_line;	/* an over-long command line is being skipped */
	int errors;

	char *helo;
	struct lmtp_xforward xf;
	struct lmtp_transaction *t;
	size_t rcpts_cap;

	/* DATA: at the start of a line; BDAT: bytes still expected */
	int data_bol;
	long long bdat_left;
	int bdat_last;
	int bdat_cr;		/* a BDAT chunk ended in CR */
};

struct lmtp_cmd_entry {
	enum lmtp_verb verb;
	unsigned states;	/* where it is allowed */
	void (*run)(struct lmtp_session *s, const struct lmtp_command *cmd);
};

static void reply(struct lmtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(&s->out, fmt, ap);
	va_end(ap);
	str_appends(&s->out, "\r\n");
}

/* a client error: count it, and hang up on a client that keeps erring */
static void reply_error(struct lmtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_error(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(&s->out, fmt, ap);
	va_end(ap);
	str_appends(&s->out, "\r\n");
	if (++s->errors >= s->limits.max_errors) {
		reply(s, "421 4.7.0 %s Too many errors, closing connection",
		      s->limits.hostname);
		s->state = STATE_CLOSED;
	}
}

static void xforward_clear(struct lmtp_xforward *xf)
{
	MYFREE(&xf->name);
	MYFREE(&xf->addr);
	MYFREE(&xf->port);
	MYFREE(&xf->helo);
	MYFREE(&xf->proto);
	MYFREE(&xf->source);
	MYFREE(&xf->ident);
}

static void transaction_free(struct lmtp_session *s)
{
	struct lmtp_transaction *t = s->t;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_rcpts; i++) {
		free(t->rcpts[i].address);
		address_deinit(&t->rcpts[i].addr);
		free(t->rcpts[i].error);
		free(t->rcpts[i].note);
	}
	free(t->rcpts);
	free(t->id);
	free(t->sender);
	str_deinit(&t->data);
	free(t);
	s->t = NULL;
	s->rcpts_cap = 0;
}

/* end a transaction (delivered, RSET, or error) */
static void transaction_end(struct lmtp_session *s)
{
	transaction_free(s);
	/* XFORWARD attributes apply to one transaction only */
	xforward_clear(&s->xf);
	if (s->state != STATE_CLOSED && s->state != STATE_INIT)
		s->state = STATE_READY;
}

/* ---- commands */

static void cmd_lhlo(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	transaction_end(s);
	free(s->helo);
	s->helo = mystrdup(cmd->arg);
	s->state = STATE_READY;
	reply(s, "250-%s", s->limits.hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250-SIZE %lld", s->limits.message_size_limit);
	reply(s, "250-CHUNKING");
	reply(s, "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE");
	reply(s, "250 VRFY");
}

static void cmd_helo(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	reply_error(s, "500 5.5.1 This is an LMTP server: use LHLO (RFC 2033)");
}

static void cmd_mail(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	struct lmtp_transaction *t;
	long long size = -1;
	int body8 = 0, i;

	if (s->state == STATE_MAIL) {
		reply_error(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	for (i = 0; i < cmd->n_params; i++) {
		const struct lmtp_param *p = &cmd->params[i];

		if (strcmp(p->name, "SIZE") == 0 && p->value) {
			char *end;

			size = strtoll(p->value, &end, 10);
			if (*end != '\0' || size < 0 || end == p->value) {
				reply_error(s, "501 5.5.4 Bad SIZE parameter");
				return;
			}
		} else if (strcmp(p->name, "BODY") == 0 && p->value &&
			   (strcasecmp(p->value, "8BITMIME") == 0 ||
			    strcasecmp(p->value, "7BIT") == 0)) {
			body8 = strcasecmp(p->value, "8BITMIME") == 0;
		} else {
			reply_error(s, "555 5.5.4 Unsupported parameter %.64s",
				    p->name);
			return;
		}
	}
	if (size > s->limits.message_size_limit) {
		reply_error(s, "552 5.3.4 Message size exceeds fixed limit of %lld bytes",
			    s->limits.message_size_limit);
		return;
	}
	if (strlen(cmd->path) > ADDRESS_MAX) {
		reply_error(s, "501 5.1.7 Sender address too long");
		return;
	}
	t = mycalloc(1, sizeof(*t));
	s->n_transactions++;
	{
		struct str id = STR_INIT;

		str_printf(&id, "%s.%u", s->id, s->n_transactions);
		t->id = str_steal(&id);
	}
	t->sender = mystrdup(cmd->path);
	t->declared_size = size;
	t->body_8bit = body8;
	gettimeofday(&t->start, NULL);
	t->xforward = &s->xf;
	t->peer = s->peer;
	t->helo = s->helo;
	s->t = t;
	s->state = STATE_MAIL;
	reply(s, "250 2.1.0 Sender ok");
}

static void cmd_rcpt(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	struct lmtp_transaction *t = s->t;
	struct lmtp_rcpt r;
	const char *reason = NULL;
	enum errkind kind;
	int i;

	for (i = 0; i < cmd->n_params; i++) {
		/* ORCPT and NOTIFY are DSN's: not offered, but harmless */
		if (strcmp(cmd->params[i].name, "ORCPT") != 0 &&
		    strcmp(cmd->params[i].name, "NOTIFY") != 0) {
			reply_error(s, "555 5.5.4 Unsupported parameter %.64s",
				    cmd->params[i].name);
			return;
		}
	}
	if (t->n_rcpts >= s->limits.max_recipients) {
		reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	memset(&r, 0, sizeof(r));
	if (address_parse(cmd->path, var_recipient_delimiter, &r.addr,
			  &reason) < 0) {
		struct str line = STR_INIT;

		lmtp_reply_for_error(&line, ERR_BADADDR, 0, NULL, NULL, reason);
		str_truncate(&line, line.len - 2);
		reply_error(s, "%s", line.s);
		str_deinit(&line);
		return;
	}
	r.address = mystrdup(cmd->path);
	if (s->cb->check_rcpt &&
	    s->cb->check_rcpt(s->ctx, t, &r, &kind, &reason) < 0) {
		struct str line = STR_INIT;

		lmtp_reply_for_error(&line, kind, 0, NULL, r.address, reason);
		str_truncate(&line, line.len - 2);
		if (kind == ERR_TEMPORARY || kind == ERR_INTERNAL)
			reply(s, "%s", line.s);
		else
			reply_error(s, "%s", line.s);
		str_deinit(&line);
		free(r.address);
		address_deinit(&r.addr);
		return;
	}
	if (t->n_rcpts == s->rcpts_cap) {
		s->rcpts_cap = s->rcpts_cap ? 2 * s->rcpts_cap : 4;
		t->rcpts = myrealloc(t->rcpts, s->rcpts_cap * sizeof(*t->rcpts));
	}
	t->rcpts[t->n_rcpts++] = r;
	reply(s, "250 2.1.5 Recipient ok");
}

static int data_ready(struct lmtp_session *s)
{
	if (s->t == NULL) {
		reply_error(s, "503 5.5.1 MAIL first");
		return 0;
	}
	if (s->t->n_rcpts == 0) {
		reply_error(s, "503 5.5.1 No valid recipients");
		return 0;
	}
	return 1;
}

static void cmd_data(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (s->state == STATE_BDAT_MORE) {
		reply_error(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	if (!data_ready(s))
		return;
	str_init(&s->t->data, 8192);
	s->state = STATE_DATA;
	s->data_bol = 1;
	reply(s, "354 2.0.0 Start mail input; end with <CRLF>.<CRLF>");
}

static size_t bdat_input(struct lmtp_session *s, const char *p, size_t len);

static void cmd_bdat(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	char *end;
	long long size;
	const char *p = cmd->arg;

	size = strtoll(p, &end, 10);
	if (end == p || size < 0 || (*end && *end != ' ')) {
		reply_error(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	while (*end == ' ')
		end++;
	if (*end && strcasecmp(end, "LAST") != 0) {
		reply_error(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	/*
	 * RFC 3030: the chunk follows the command whatever we answer, so
	 * an unusable BDAT still has its bytes read and dropped.
	 */
	s->bdat_left = size;
	s->bdat_last = *end != '\0';
	if (s->state != STATE_BDAT_MORE && !data_ready(s)) {
		s->state = STATE_BDAT;
		transaction_free(s);
		if (s->bdat_left == 0)
			bdat_input(s, "", 0);
		return;
	}
	if (s->state != STATE_BDAT_MORE) {
		str_init(&s->t->data, size > 0 && size < (1 << 20) ?
			 (size_t)size + 1 : 8192);
		s->bdat_cr = 0;
	}
	s->state = STATE_BDAT;
	if (s->bdat_left == 0)		/* "BDAT 0 LAST": nothing to wait for */
		bdat_input(s, "", 0);
}

static void cmd_rset(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	transaction_end(s);
	reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	reply(s, "221 2.0.0 %s Bye", s->limits.hostname);
	transaction_free(s);
	s->state = STATE_CLOSED;
}

static void cmd_help(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	reply(s, "214-2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP");
	reply(s, "214 2.0.0 QUIT VRFY HELP XFORWARD (RFC 2033)");
}

static void cmd_vrfy(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	struct address a;
	const char *reason = NULL, *arg = cmd->arg;
	char *addr;
	size_t len = strlen(arg);
	enum errkind kind;
	struct lmtp_rcpt r;

	if (arg[0] == '<' && len >= 2 && arg[len - 1] == '>')
		addr = mystrndup(arg + 1, len - 2);
	else
		addr = mystrdup(arg);
	if (address_parse(addr, var_recipient_delimiter, &a, &reason) < 0) {
		reply_error(s, "501 5.1.3 %s", reason);
		free(addr);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.address = addr;
	r.addr = a;
	if (s->cb->check_rcpt &&
	    s->cb->check_rcpt(s->ctx, s->t, &r, &kind, &reason) < 0) {
		struct str line = STR_INIT;

		lmtp_reply_for_error(&line, kind, 0, NULL, addr, reason);
		str_append(&s->out, line.s, line.len);
		str_deinit(&line);
	} else {
		reply(s, "252 2.1.5 <%s> Cannot VRFY user, but will accept message",
		      addr);
	}
	address_deinit(&a);
	free(addr);
}

static void cmd_xforward(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	struct lmtp_command pc;
	struct str line = STR_INIT;
	const char *err;
	int i;

	/* reuse the parameter tokenizer: "MAIL FROM:<> " + attributes */
	str_printf(&line, "MAIL FROM:<> %s", cmd->arg);
	if (lmtp_token_parse(line.s, line.len, &pc, &err) != LMTP_TOKEN_OK) {
		str_deinit(&line);
		reply_error(s, "501 5.5.4 Bad XFORWARD syntax");
		return;
	}
	if (pc.n_params == 0) {
		lmtp_token_clear(&pc);
		str_deinit(&line);
		reply_error(s, "501 5.5.4 Bad XFORWARD syntax");
		return;
	}
	str_deinit(&line);
	for (i = 0; i < pc.n_params; i++) {
		const struct lmtp_param *p = &pc.params[i];
		char **slot = NULL, *value;

		if (strcmp(p->name, "NAME") == 0) slot = &s->xf.name;
		else if (strcmp(p->name, "ADDR") == 0) slot = &s->xf.addr;
		else if (strcmp(p->name, "PORT") == 0) slot = &s->xf.port;
		else if (strcmp(p->name, "HELO") == 0) slot = &s->xf.helo;
		else if (strcmp(p->name, "PROTO") == 0) slot = &s->xf.proto;
		else if (strcmp(p->name, "SOURCE") == 0) slot = &s->xf.source;
		else if (strcmp(p->name, "IDENT") == 0) slot = &s->xf.ident;
		if (slot == NULL || p->value == NULL ||
		    lmtp_token_xtext_decode(p->value, &value) < 0) {
			reply_error(s, "501 5.5.4 Bad XFORWARD attribute %.32s",
				    p->name);
			lmtp_token_clear(&pc);
			return;
		}
		if (strcmp(value, "[UNAVAILABLE]") == 0 ||
		    strcmp(value, "[TEMPUNAVAIL]") == 0) {
			free(value);
			value = NULL;
		} else if (strcmp(p->name, "ADDR") == 0 &&
			   strncasecmp(value, "IPV6:", 5) == 0) {
			memmove(value, value + 5, strlen(value + 5) + 1);
		}
		free(*slot);
		*slot = value;
	}
	lmtp_token_clear(&pc);
	reply(s, "250 2.0.0 Ok");
}

static const struct lmtp_cmd_entry cmd_table[] = {
	{ LMTP_VERB_LHLO, STATE_INIT | STATE_READY | STATE_MAIL, cmd_lhlo },
	{ LMTP_VERB_HELO, ANY_CMD_STATE, cmd_helo },
	{ LMTP_VERB_EHLO, ANY_CMD_STATE, cmd_helo },
	{ LMTP_VERB_MAIL, STATE_READY | STATE_MAIL, cmd_mail },
	{ LMTP_VERB_RCPT, STATE_MAIL, cmd_rcpt },
	{ LMTP_VERB_DATA, STATE_MAIL | STATE_BDAT_MORE, cmd_data },
	{ LMTP_VERB_BDAT, STATE_READY | STATE_MAIL | STATE_BDAT_MORE | STATE_INIT, cmd_bdat },
	{ LMTP_VERB_RSET, ANY_CMD_STATE, cmd_rset },
	{ LMTP_VERB_NOOP, ANY_CMD_STATE, cmd_noop },
	{ LMTP_VERB_QUIT, ANY_CMD_STATE, cmd_quit },
	{ LMTP_VERB_HELP, ANY_CMD_STATE, cmd_help },
	{ LMTP_VERB_VRFY, ANY_CMD_STATE, cmd_vrfy },
	{ LMTP_VERB_XFORWARD, STATE_READY, cmd_xforward },
};

static void run_command(struct lmtp_session *s, const char *line, size_t len)
{
	struct lmtp_command cmd;
	const char *err = NULL;
	size_t i;

	switch (lmtp_token_parse(line, len, &cmd, &err)) {
	case LMTP_TOKEN_OK:
		break;
	case LMTP_TOKEN_UNKNOWN:
		reply_error(s, "500 5.5.1 Unknown command");
		return;
	case LMTP_TOKEN_BADCHAR:
		reply_error(s, "500 5.5.2 %s", err);
		return;
	case LMTP_TOKEN_ADDRESS:
		reply_error(s, "501 5.1.3 %s", err);
		return;
	case LMTP_TOKEN_SYNTAX:
		reply_error(s, "501 5.5.4 %s", err);
		return;
	}
	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		if (cmd_table[i].verb == cmd.verb)
			break;
	if (i == sizeof(cmd_table) / sizeof(cmd_table[0]))
		msg_panic("lmtp_session: verb %d not in table", cmd.verb);
	if (!(cmd_table[i].states & s->state)) {
		if (s->state == STATE_INIT)
			reply_error(s, "503 5.5.1 Send LHLO first");
		else if (cmd.verb == LMTP_VERB_RCPT)
			reply_error(s, "503 5.5.1 MAIL first");
		else if (cmd.verb == LMTP_VERB_XFORWARD)
			reply_error(s, "503 5.5.1 XFORWARD only before MAIL");
		else if (s->state == STATE_BDAT_MORE)
			reply_error(s, "503 5.5.1 Only BDAT, RSET, NOOP or QUIT between chunks");
		else
			reply_error(s, "503 5.5.1 Bad sequence of commands");
	} else {
		cmd_table[i].run(s, &cmd);
	}
	lmtp_token_clear(&cmd);
}

/* ---- end of message */

static void finish_message(struct lmtp_session *s)
{
	struct lmtp_transaction *t = s->t;
	size_t i;

	if (t->too_big) {
		for (i = 0; i < t->n_rcpts; i++) {
			t->rcpts[i].kind = ERR_TOOBIG;
			free(t->rcpts[i].error);
			t->rcpts[i].error = mystrdup("Message size exceeds fixed limit");
		}
	} else {
		s->cb->deliver(s->ctx, t);
	}
	for (i = 0; i < t->n_rcpts; i++) {
		const struct lmtp_rcpt *r = &t->rcpts[i];

		if (r->kind == ERR_NONE)
			reply(s, "250 2.0.0 <%s> %s %s", r->address,
			      r->note ? r->note : "Delivered", t->id);
		else
			lmtp_reply_for_error(&s->out, r->kind, r->remote_code,
					     r->remote_status, r->address,
					     r->error);
	}
	transaction_end(s);
}

static void data_append(struct lmtp_session *s, const char *p, size_t len,
			size_t wire)
{
	struct lmtp_transaction *t = s->t;

	t->received += (long long)wire;
	if (t->too_big)
		return;
	if (t->received > s->limits.message_size_limit) {
		t->too_big = 1;
		str_deinit(&t->data);
		str_init(&t->data, 0);
		return;
	}
	str_append(&t->data, p, len);
}

/*
 * DATA: consume complete lines from the input; returns the number of
 * bytes used.  A line of "." ends the message; a leading dot is removed
 * (RFC 5321 4.5.2); CRLF becomes LF.
 */
static size_t data_input(struct lmtp_session *s, const char *p, size_t len)
{
	size_t used = 0;

	while (used < len && s->state == STATE_DATA) {
		const char *line = p + used, *nl;
		size_t avail = len - used, llen, wire;

		nl = memchr(line, '\n', avail);
		if (nl == NULL) {
			/* an unfinished line: wait, unless it is huge */
			if (avail < LMTP_DATA_CHUNK)
				break;
			llen = avail;
			if (line[llen - 1] == '\r')
				llen--;	/* maybe half a CRLF */
			if (s->data_bol && line[0] == '.') {
				line++;
				data_append(s, line, llen - 1, llen);
			} else {
				data_append(s, line, llen, llen);
			}
			s->data_bol = 0;
			used += llen;
			continue;
		}
		wire = (size_t)(nl - line) + 1;
		llen = wire - 1;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (s->data_bol && llen == 1 && line[0] == '.') {
			used += wire;
			s->state = STATE_MAIL;
			finish_message(s);
			break;
		}
		if (s->data_bol && line[0] == '.') {
			line++;
			llen--;
		}
		data_append(s, line, llen, wire);
		data_append(s, "\n", 1, 0);
		s->data_bol = 1;
		used += wire;
	}
	return used;
}

/* BDAT: take up to bdat_left raw bytes; CRLF becomes LF */
static size_t bdat_input(struct lmtp_session *s, const char *p, size_t len)
{
	size_t take = len < (unsigned long long)s->bdat_left ?
		len : (size_t)s->bdat_left, i, start = 0;

	s->bdat_left -= (long long)take;
	if (s->t != NULL) {
		for (i = 0; i < take; i++) {
			if (s->bdat_cr) {
				s->bdat_cr = 0;
				if (p[i] != '\n')
					data_append(s, "\r", 1, 0);
			}
			if (p[i] == '\r') {
				data_append(s, p + start, i - start, i - start + 1);
				start = i + 1;
				s->bdat_cr = 1;
			}
		}
		data_append(s, p + start, take - start, take - start);
	}
	if (s->bdat_left == 0) {
		if (s->t == NULL) {	/* a refused BDAT: bytes dropped */
			s->state = STATE_READY;
		} else if (s->bdat_last) {
			if (s->bdat_cr)
				data_append(s, "\r", 1, 0);
			s->bdat_cr = 0;
			s->state = STATE_MAIL;
			finish_message(s);
		} else {
			reply(s, "250 2.0.0 %lld octets received",
			      s->t->received);
			s->state = STATE_BDAT_MORE;
		}
	}
	return take;
}

void lmtp_session_input(struct lmtp_session *s, const char *data, size_t len)
{
	size_t pos = 0;

	if (s->state == STATE_CLOSED)
		return;
	str_append(&s->in, data, len);
	while (pos < s->in.len && s->state != STATE_CLOSED) {
		const char *p = s->in.s + pos, *nl;
		size_t avail = s->in.len - pos, llen;

		if (s->state == STATE_DATA) {
			size_t used = data_input(s, p, avail);

			pos += used;
			if (used == 0)
				break;
			continue;
		}
		if (s->state == STATE_BDAT) {
			pos += bdat_input(s, p, avail);
			continue;
		}
		nl = memchr(p, '\n', avail);
		if (nl == NULL) {
			if (avail > s->limits.line_limit) {
				/* drop what we have; skip to the line end */
				s->discarding_line = 1;
				pos += avail;
			}
			break;
		}
		llen = (size_t)(nl - p);
		pos += llen + 1;
		if (s->discarding_line || llen > s->limits.line_limit) {
			s->discarding_line = 0;
			reply_error(s, "500 5.5.2 Line too long");
			continue;
		}
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		run_command(s, p, llen);
	}
	/* keep only the unprocessed tail */
	if (pos > 0) {
		memmove(s->in.s, s->in.s + pos, s->in.len - pos);
		str_truncate(&s->in, s->in.len - pos);
	}
	/* don't keep a large buffer around between bursts */
	if (s->in.len == 0 && s->in.cap > 4 * LMTP_DATA_CHUNK) {
		str_deinit(&s->in);
		str_init(&s->in, 4096);
	}
}

void lmtp_session_eof(struct lmtp_session *s)
{
	if (s->t != NULL && (s->state == STATE_DATA || s->state == STATE_BDAT ||
			     s->state == STATE_BDAT_MORE))
		msg_info("sid=%s lost connection in message data after %lld bytes, nothing delivered",
			 s->t->id, s->t->received);
	transaction_free(s);
	s->state = STATE_CLOSED;
}

void lmtp_session_timeout(struct lmtp_session *s)
{
	if (s->t != NULL && s->state == STATE_DATA)
		msg_info("sid=%s timeout in message data, nothing delivered",
			 s->t->id);
	reply(s, "421 4.4.2 %s Timeout exceeded, closing connection",
	      s->limits.hostname);
	transaction_free(s);
	s->state = STATE_CLOSED;
}

int lmtp_session_shutdown(struct lmtp_session *s)
{
	if (lmtp_session_in_transaction(s))
		return 0;
	reply(s, "421 4.3.2 %s Service shutting down, closing connection",
	      s->limits.hostname);
	s->state = STATE_CLOSED;
	return 1;
}

struct lmtp_session *lmtp_session_init(const char *session_id,
				       const struct lmtp_peer *peer,
				       const struct lmtp_session_limits *limits,
				       const struct lmtp_session_callbacks *cb,
				       void *ctx)
{
	struct lmtp_session *s = mycalloc(1, sizeof(*s));

	s->id = mystrdup(session_id);
	s->peer = peer;
	s->limits = *limits;
	s->cb = cb;
	s->ctx = ctx;
	s->state = STATE_INIT;
	str_init(&s->in, 4096);
	str_init(&s->out, 1024);
	reply(s, "220 %s LMTP spamtrap ready", limits->hostname);
	return s;
}

void lmtp_session_deinit(struct lmtp_session **sp)
{
	struct lmtp_session *s = *sp;

	if (s == NULL)
		return;
	transaction_free(s);
	xforward_clear(&s->xf);
	free(s->helo);
	free(s->id);
	str_deinit(&s->in);
	str_deinit(&s->out);
	free(s);
	*sp = NULL;
}

struct str *lmtp_session_output(struct lmtp_session *s)
{
	return &s->out;
}

int lmtp_session_closing(const struct lmtp_session *s)
{
	return s->state == STATE_CLOSED;
}

int lmtp_session_in_data(const struct lmtp_session *s)
{
	return s->state == STATE_DATA || s->state == STATE_BDAT;
}

int lmtp_session_in_transaction(const struct lmtp_session *s)
{
	return s->t != NULL;
}

const char *lmtp_session_id(const struct lmtp_session *s)
{
	return s->id;
}
