/*
 * received_field - one Received: field read into a relay.
 *
 * The field is tokenized first (received_token.c): words, nested
 * comments, and the from/by/via/with/id/for clauses.  What matters is in
 * the "from" clause: the word after "from", and the comments after it,
 * one of which (RFC 5321's TCP-info) usually holds the client's address.
 * Which of the words is the HELO name and which the reverse DNS name
 * depends on the MTA that wrote the field:
 *
 *	from HELO (RDNS [ip])		sendmail, Postfix, most others
 *	from HELO ([ip])		the same without an rDNS name
 *	from RDNS ([ip] helo=HELO)	Exim ("helo=" left out when the
 *					HELO is the rDNS name)
 *	from RDNS (HELO x) (ip)		qmail, qpsmtpd (the HELO comment
 *					left out when the HELO is the name)
 *	from RDNS(ip)			smap, obtuse smtpd: no HELO
 *	from ip by webmail with HTTP	webmail: the browser's address
 *
 * so the client part is read once into a neutral form (struct client)
 * and then given its meaning by the few rules of assign_names().  The
 * results are meant to be the ones SpamAssassin 4.0 gives for the same
 * field (its relay strings are what rules match), which is why some of
 * the rules below follow its reading of a format rather than the MTA's
 * documentation; each such place says so.  The receiving host is the
 * "by" value, the queue id the first "id" value, the envelope sender an
 * "envelope-from" or "envelope-sender" note, and the authentication
 * marker comes from the protocol ("with ESMTPSA") or an MTA's comment.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mymalloc.h"
#include "received_field.h"
#include "received_token.h"
#include "str.h"

/* ------------------------------------------------------------ addresses */

/* an IP address in a word */
struct addr {
	const char *ip;		/* without brackets, "IPv6:", zone or port */
	size_t ip_len;
	const char *user;	/* "user@ip": the user ("" for "@[ip]") */
	size_t user_len;
	const char *host;	/* "host[ip]": the host */
	size_t host_len;
	int bracketed;
	int port_inside;	/* "[192.0.2.1:25]" */
};

/* the length of the dotted quad at S (N bytes at most), 0 if none */
static size_t ipv4_len(const char *s, size_t n)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start;
		unsigned v = 0;

		if (part > 0 && (i >= n || s[i++] != '.'))
			return 0;
		start = i;
		while (i < n && i - start < 3 && isdigit((unsigned char)s[i]))
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i > start + 1))
			return 0;
		if (i < n && isdigit((unsigned char)s[i]))
			return 0;	/* a fourth digit */
	}
	return i;
}

/* S (N bytes) is ":25" or ".25": a port written after an address */
static int is_port(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || n > 6 || (s[0] != ':' && s[0] != '.'))
		return 0;
	for (i = 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* S (N bytes) is an IPv6 address, optionally with a "%zone"; *len_r is
   its length without the zone */
static int ipv6_len(const char *s, size_t n, size_t *len_r)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *pct = memchr(s, '%', n), *z;
	size_t len = pct != NULL ? (size_t)(pct - s) : n;

	if (len == 0 || len >= sizeof(text) || memchr(s, ':', len) == NULL)
		return 0;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET6, text, bin) != 1)
		return 0;
	for (z = pct != NULL ? pct + 1 : s + n; z < s + n; z++)
		if (!isalnum((unsigned char)*z) && strchr("._~-", *z) == NULL)
			return 0;
	*len_r = len;
	return 1;
}

/*
 * W as an address: "192.0.2.1", "[192.0.2.1]", "[IPv6:2001:db8::1]",
 * "2001:db8::1", with a port ("[192.0.2.1]:25", "[192.0.2.1:25]", Exim's
 * "[192.0.2.1.25]"; "192.0.2.1:25" with BARE_PORT) or a zone ("[fe80::1%6]"),
 * or a comma after it; with "user@" before it, or a host name glued to
 * the bracket ("unknown[192.0.2.1]").
 */
static int parse_addr(const char *w, struct addr *a, int bare_port)
{
	const char *s = w, *in, *end, *open, *at;
	size_t n = strlen(w), v4;

	memset(a, 0, sizeof(*a));
	if (n > 0 && s[n - 1] == ',')
		n--;
	if ((at = memchr(s, '@', n)) != NULL) {
		while (memchr(at + 1, '@', (size_t)(s + n - at - 1)) != NULL)
			at = memchr(at + 1, '@', (size_t)(s + n - at - 1));
		a->user = s;
		a->user_len = (size_t)(at - s);
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if ((open = memchr(s, '[', n)) != NULL) {
		const char *close = memchr(open, ']', (size_t)(s + n - open));

		if (close == NULL || (open > s && a->user != NULL))
			return 0;
		if (open > s) {
			a->host = s;
			a->host_len = (size_t)(open - s);
		}
		if (close + 1 < s + n &&
		    !is_port(close + 1, (size_t)(s + n - close - 1)))
			return 0;
		in = open + 1;
		end = close;
		a->bracketed = 1;
	} else {
		in = s;
		end = s + n;
	}
	if (end - in > 5 && strncasecmp(in, "IPv6:", 5) == 0)
		in += 5;
	n = (size_t)(end - in);
	if ((v4 = ipv4_len(in, n)) > 0) {
		if (v4 < n && (!is_port(in + v4, n - v4) ||
			       (!a->bracketed && !bare_port)))
			return 0;
		a->port_inside = a->bracketed && v4 < n;
		a->ip = in;
		a->ip_len = v4;
		return 1;
	}
	if (ipv6_len(in, n, &a->ip_len)) {
		a->ip = in;
		return 1;
	}
	return 0;
}

/* IP as 16 bytes, IPv4 mapped into ::ffff:0:0/96; -1 if no address */
static int ip_bytes(const char *ip, unsigned char b[16])
{
	struct in_addr v4;

	if (inet_pton(AF_INET, ip, &v4) == 1) {
		memset(b, 0, 10);
		b[10] = b[11] = 0xff;
		memcpy(b + 12, &v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, ip, b) == 1 ? 0 : -1;
}

static int is_mapped(const unsigned char b[16])
{
	static const unsigned char prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};

	return memcmp(b, prefix, 12) == 0;
}

/*
 * Not on the public Internet, as far as the trust inference goes: RFC
 * 1918, loopback, link-local and shared (100.64/10) IPv4, IPv6 loopback
 * and link-local.  (Unique local fc00::/7 is not, as in SpamAssassin.)
 */
static int ip_private(const char *ip)
{
	unsigned char b[16];
	const unsigned char *v4 = b + 12;
	static const unsigned char loopback6[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};

	if (ip_bytes(ip, b) < 0)
		return 0;
	if (!is_mapped(b))
		return memcmp(b, loopback6, 16) == 0 ||
		       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
	return v4[0] == 10 || v4[0] == 127 ||
	       (v4[0] == 169 && v4[1] == 254) ||
	       (v4[0] == 172 && (v4[1] & 0xf0) == 16) ||
	       (v4[0] == 192 && v4[1] == 168) ||
	       (v4[0] == 100 && (v4[1] & 0xc0) == 64);
}

/* ------------------------------------------------------- the relay text */

/* *FIELD becomes the LEN bytes at S (S may point into *FIELD) */
static void set(char **field, const char *s, size_t len)
{
	char *v = mystrndup(s != NULL ? s : "", s != NULL ? len : 0);

	free(*field);
	*field = v;
}

static void sets(char **field, const char *s)
{
	set(field, s, s != NULL ? strlen(s) : 0);
}

/* a character SpamAssassin marks with '!' in the relay fields: blanks,
   NUL and # [ ] ( ) < > |, which would confuse the relay string */
static int odd_char(char c)
{
	return isspace((unsigned char)c) || strchr("#[]()<>|", c) != NULL;
}

static void mark_odd(char *s)
{
	for (; *s; s++)
		if (odd_char(*s))
			*s = '!';
}

/* an envelope sender as kept: no blanks or <> around it */
static void tidy_envfrom(char *e)
{
	size_t n, skip = 0;

	while (isspace((unsigned char)e[skip]) || e[skip] == '<')
		skip++;
	memmove(e, e + skip, strlen(e + skip) + 1);
	n = strlen(e);
	while (n > 0 && (isspace((unsigned char)e[n - 1]) || e[n - 1] == '>'))
		n--;
	e[n] = '\0';
	mark_odd(e);
}

/* the relay as it is given out: "IPv4-mapped" IPv6 written as IPv4, no
   trailing dots on the rDNS name, "unknown" no name, odd characters
   marked */
static void finish(struct received_relay *r)
{
	unsigned char b[16];
	char *colon;
	size_t n;

	if (strchr(r->ip, '.') != NULL && strchr(r->ip, ':') != NULL &&
	    ip_bytes(r->ip, b) == 0 && is_mapped(b) &&
	    (colon = strrchr(r->ip, ':')) != NULL)
		memmove(r->ip, colon + 1, strlen(colon + 1) + 1);
	n = strlen(r->rdns);
	while (n > 0 && r->rdns[n - 1] == '.')
		r->rdns[--n] = '\0';
	if (strcasecmp(r->rdns, "unknown") == 0 || r->rdns[0] == '[')
		r->rdns[0] = '\0';
	n = strlen(r->by);
	while (n > 0 && (r->by[n - 1] == ';' || r->by[n - 1] == ','))
		r->by[--n] = '\0';
	mark_odd(r->ip);
	mark_odd(r->rdns);
	mark_odd(r->helo);
	mark_odd(r->by);
	mark_odd(r->ident);
	if (r->envfrom != NULL)
		tidy_envfrom(r->envfrom);
	r->ip_private = ip_private(r->ip);
}

static void relay_init(struct received_relay *r)
{
	memset(r, 0, sizeof(*r));
	r->ip = mystrdup("");
	r->rdns = mystrdup("");
	r->helo = mystrdup("");
	r->by = mystrdup("");
	r->ident = mystrdup("");
	r->id = mystrdup("");
	r->auth = mystrdup("");
}

/* ------------------------------------------------------------ the field */

#define WORD(t, i)	received_token_word((t), (i))

/* the word at I is W (case as given) */
static int word_is(const struct received_tokens *t, size_t i, const char *w)
{
	const char *v = WORD(t, i);

	return v != NULL && strcmp(v, w) == 0;
}

/* some word of the field contains S */
static int mentions(const struct received_tokens *t, const char *s)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (WORD(t, i) != NULL && strstr(WORD(t, i), s) != NULL)
			return 1;
	return 0;
}

/* the word at I if I is before END, else NULL */
static const char *word_before(const struct received_tokens *t, size_t i,
			       size_t end)
{
	return i < end ? WORD(t, i) : NULL;
}

/* the K-th token (from 1) inside the comment at C, if a word */
static const char *inner(const struct received_tokens *t, size_t c,
			 size_t k)
{
	if (c >= t->n || t->v[c].kind != RECEIVED_TOKEN_COMMENT)
		return NULL;
	return word_before(t, c + k, t->v[c].end);
}

/* the K-th token inside the comment at C is the word W */
static int inner_is(const struct received_tokens *t, size_t c, size_t k,
		    const char *w)
{
	const char *v = inner(t, c, k);

	return v != NULL && strcmp(v, w) == 0;
}

/* the comment at C begins with the word W */
static int comment_starts(const struct received_tokens *t, size_t c,
			  const char *w)
{
	return c < t->n && t->v[c].kind == RECEIVED_TOKEN_COMMENT &&
	       c + 1 < t->v[c].end && word_is(t, c + 1, w);
}

/* the index of the first comment right after the "by" value, or n */
static size_t by_comment(const struct received_tokens *t)
{
	size_t i = t->clause[RECEIVED_BY].at + 2;

	if (received_token_value(t, RECEIVED_BY) == NULL || i >= t->n ||
	    t->v[i].kind != RECEIVED_TOKEN_COMMENT)
		return t->n;
	return i;
}

/* S is among the words of the "with" clause ("with RC4-SHA encrypted
   SMTP"); its index into *at_r */
static int with_word(const struct received_tokens *t, const char *s,
		     size_t *at_r)
{
	size_t i, at = t->clause[RECEIVED_WITH].at;

	if (!received_token_has(t, RECEIVED_WITH))
		return 0;
	for (i = at + 1; i < t->clause[RECEIVED_WITH].end;
	     i = received_token_next(t, i))
		if (word_is(t, i, s)) {
			if (at_r != NULL)
				*at_r = i;
			return 1;
		}
	return 0;
}

/* the item at I (a word or a comment) has no blank in it */
static int single_run(const struct received_tokens *t, size_t i)
{
	size_t next = received_token_next(t, i);
	const char *end;

	if (i >= t->n)
		return 0;
	if (t->v[i].kind != RECEIVED_TOKEN_COMMENT)
		return 1;
	if (next >= t->n)
		return 0;
	/* the run ends before the next item starts */
	end = t->v[i].src + t->v[i].run;
	return end <= t->v[next].src;
}

/* what the "from" clause says about the client */
struct client {
	const char *name;	/* the word after "from"; NULL if none */
	size_t name_at;		/* its index */
	/* the name as SpamAssassin reads it: the word, or else a comment
	   without blanks that does not hold the address; "" if none */
	const char *name_text;
	size_t name_len;
	struct addr name_addr;
	int name_is_addr;
	enum { AT_NONE, AT_COMMENT, AT_BARE, AT_NAME } at;
	struct addr addr;	/* the client's address */
	size_t comment;		/* AT_COMMENT: the comment holding it;
				   AT_BARE: the word */
	int alone;		/* AT_COMMENT: the only word in it */
	const char *host;	/* AT_COMMENT: "(host [ip])": the host */
	int then_by;		/* AT_BARE: "by" follows the address */
	const char *helo_cmd;	/* "(HELO x)", "(EHLO x)", "(LHLO x)": x */
	size_t helo_comment;	/* the comment it is in */
	const char *helo_eq;	/* Exim's "helo=x" */
	const char *ident_eq;	/* Exim's "ident=x" */
	const char *claimed;	/* obtuse smtpd: claiming to be "x" */
	const char *one_word;	/* the first comment of one word */
	int xmail;		/* XMail, which writes "(ip:port)" */
	int verified;		/* AT_COMMENT: "([ip] verified)" */
	int host_extra;		/* AT_COMMENT: more after "host [ip]" */
	int proxying;		/* "(proxying for ip)": proxied */
	struct addr proxied;
	int others;		/* comments other than the address, HELO and
				   envelope-sender ones */
	int bare_words;		/* words after the name but the address */
	int stray;		/* of them, before the address */
};

/* W is HELO, EHLO or LHLO, or one of them after a quote */
static int helo_command(const char *w)
{
	if (*w == '"')
		w++;
	return strcmp(w, "HELO") == 0 || strcmp(w, "EHLO") == 0 ||
	       strcmp(w, "LHLO") == 0;
}

/* the words of the from-clause comment at C */
static void read_comment(const struct received_tokens *t, size_t c,
			 struct client *cl)
{
	size_t i, end = t->v[c].end;
	int words = 0, notes = 0, local = 0, account = 0, proxy = 0;
	int plain_first = 0, addr_word = 0, verified = 0, items = 0;
	int addr_item = 0;
	const char *first = NULL;
	struct addr a, found;

	for (i = c + 1; i < end; i = received_token_next(t, i)) {
		const char *w = WORD(t, i);
		int plain = 0;

		items++;
		if (w == NULL)
			continue;
		words++;
		/* "(user@localhost)", OpenSMTPD's "(host [local])" */
		if (strstr(w, "localhost") != NULL ||
		    strcmp(w, "[local]") == 0)
			local = 1;
		if (words == 1 && (strcmp(w, "SquirrelMail") == 0 ||
				   strcmp(w, "NaSMail") == 0)) {
			/* webmail: the user that logged in */
			notes++;
			break;
		} else if (words == 1 && strcmp(w, "account") == 0) {
			/* CommuniGate Pro: the account that logged in; an
			   address after it is the client's again */
			account = 1;
			notes++;
			if (word_before(t, i + 1, end) != NULL)
				i++;
		} else if (words == 1 && strcmp(w, "proxying") == 0 &&
			   i + 2 < end && word_is(t, i + 1, "for") &&
			   WORD(t, i + 2) != NULL &&
			   parse_addr(WORD(t, i + 2), &cl->proxied, 0)) {
			/* SquirrelMail behind a proxy: the browser's */
			cl->proxying = proxy = 1;
			notes++;
			i += 2;
		} else if (helo_command(w)) {
			const char *v = word_before(t, i + 1, end);

			if (cl->helo_cmd == NULL) {
				cl->helo_cmd = v != NULL ? v : "";
				cl->helo_comment = c;
			}
			if (v != NULL)
				i++;
			notes++;
		} else if (strncmp(w, "helo=", 5) == 0) {
			if (cl->helo_eq == NULL)
				cl->helo_eq = w + 5;
			notes++;
		} else if (strncmp(w, "ident=", 6) == 0) {
			if (cl->ident_eq == NULL)
				cl->ident_eq = w + 6;
			notes++;
		} else if (strcasecmp(w, "envelope-sender") == 0 ||
			   strcasecmp(w, "envelope-from") == 0) {
			notes++;
		} else if (strcmp(w, "verified") == 0) {
			verified = 1;
		} else {
			plain = 1;
			/* the address; "(1.2.3.4 [1.2.3.4])": the bracketed
			   one */
			if (!account && !proxy &&
			    parse_addr(w, &a, cl->xmail) &&
			    (addr_word == 0 || (a.bracketed &&
						!found.bracketed))) {
				found = a;
				addr_word = words;
				addr_item = items;
			}
		}
		if (words == 1) {
			first = w;
			plain_first = plain;
		}
	}
	if (addr_word > 0 && cl->at == AT_NONE) {
		cl->at = AT_COMMENT;
		cl->addr = found;
		cl->comment = c;
		cl->alone = words == 1;
		cl->verified = verified;
		cl->host_extra = items > addr_item;
		/* "(host [ip])": the host, which sendmail writes first */
		if (addr_word == 2 && plain_first)
			cl->host = first;
	} else if (notes == 0 && !local) {
		cl->others++;
	}
	if (addr_word == 0 && words == 1 && notes == 0 &&
	    cl->one_word == NULL)
		cl->one_word = first;
}

/*
 * "from 192.0.2.1 by x with y": a name that is an address without
 * brackets stands for the client's address if nothing but notes (HELO,
 * webmail user) come between it and "by", and then "with" or a virus
 * scanner's comment (InterScan, SMTPL), or webmail ("with HTTP").  Other
 * forms are too loose to tell, and SpamAssassin reads none of them.
 */
static int name_address_counts(const struct received_tokens *t,
			       const struct client *cl)
{
	size_t i, by = t->clause[RECEIVED_BY].at, c = by_comment(t);

	if (cl->name_addr.bracketed)
		return 1;
	if (cl->others > 0 || cl->bare_words > 0)
		return 0;
	if (cl->helo_cmd != NULL || with_word(t, "HTTP", NULL))
		return 1;
	i = by + 2;
	return (i < t->n && i == t->clause[RECEIVED_WITH].at) ||
	       comment_starts(t, c, "InterScan") ||
	       comment_starts(t, c, "SMTPL");
}

static void read_client(const struct received_tokens *t, struct client *cl)
{
	size_t i = t->clause[RECEIVED_FROM].at + 1;
	size_t end = t->clause[RECEIVED_FROM].end;

	memset(cl, 0, sizeof(*cl));
	cl->xmail = received_token_value(t, RECEIVED_WITH) != NULL &&
		    strcmp(received_token_value(t, RECEIVED_WITH), "[XMail") == 0;
	cl->name_at = i;
	if (i < end && (cl->name = WORD(t, i)) != NULL) {
		cl->name_is_addr = parse_addr(cl->name, &cl->name_addr, 0);
		i++;
	}
	for (; i < end; i = received_token_next(t, i)) {
		const char *w = WORD(t, i);
		struct addr a;

		if (t->v[i].kind == RECEIVED_TOKEN_COMMENT) {
			read_comment(t, i, cl);
		} else if (w == NULL) {
			continue;
		} else if (strcmp(w, "claiming") == 0 && i + 3 < end &&
			   word_is(t, i + 1, "to") && word_is(t, i + 2, "be") &&
			   WORD(t, i + 3) != NULL) {
			/* obtuse smtpd: claiming to be "x" */
			cl->claimed = WORD(t, i + 3);
			i += 3;
		} else if (cl->at != AT_NONE || !parse_addr(w, &a, 0) ||
			   !a.bracketed) {
			cl->bare_words++;
			if (cl->at == AT_NONE)
				cl->stray++;
		} else {
			cl->at = AT_BARE;
			cl->comment = i;
			cl->addr = a;
			cl->then_by = i + 1 == end &&
				      i + 1 == t->clause[RECEIVED_BY].at;
		}
	}
	if (cl->at == AT_NONE && cl->name_is_addr &&
	    name_address_counts(t, cl)) {
		cl->at = AT_NAME;
		cl->addr = cl->name_addr;
	}
	cl->name_text = "";
	if (cl->name != NULL) {
		cl->name_text = cl->name;
		cl->name_len = strlen(cl->name);
	} else if (cl->name_at < end && single_run(t, cl->name_at) &&
		   (cl->at != AT_COMMENT || cl->comment != cl->name_at)) {
		cl->name_text = t->v[cl->name_at].src;
		cl->name_len = t->v[cl->name_at].run;
	}
}

/* "user@host" and sendmail's "IDENT:user@host": the user apart */
static void split_ident(struct received_relay *r, const char *host)
{
	const char *at = strrchr(host, '@');

	/* courier's couriertcpd: the lookup failed */
	if (strcmp(host, "softdnserr") == 0)
		return;
	if (strncmp(host, "IDENT:", 6) == 0 && at != NULL) {
		set(&r->ident, host + 6, (size_t)(at - host - 6));
		sets(&r->rdns, at + 1);
	} else if (at != NULL) {
		set(&r->ident, host, (size_t)(at - host));
		sets(&r->rdns, at + 1);
	} else {
		sets(&r->rdns, host);
	}
}

/* qmail's protocol: "by host (comments) with [...] SMTP" or QMQP with
   no "id" after it (sendmail gives one) */
static int qmail_protocol(const struct received_tokens *t)
{
	size_t i = t->clause[RECEIVED_BY].at + 2, at;

	if (received_token_value(t, RECEIVED_BY) == NULL)
		return 0;
	while (i < t->n && t->v[i].kind == RECEIVED_TOKEN_COMMENT)
		i = t->v[i].end;
	if (i != t->clause[RECEIVED_WITH].at)
		return 0;
	return (with_word(t, "SMTP", &at) || with_word(t, "QMQP", &at)) &&
	       !word_is(t, received_token_next(t, at), "id");
}

/*
 * qmail's address comment: the address alone, "(1.2.3.4)" or
 * "(user@1.2.3.4)", after the rDNS name.  Bracketed, "([1.2.3.4])" is
 * sendmail's and follows the HELO, but for qmail-ldap (with qmail's
 * protocol) and for "(user@[1.2.3.4])" with nothing about the receiving
 * host (T-Online).
 */
static int qmail_comment(const struct received_tokens *t,
			 const struct client *cl)
{
	if (!cl->alone)
		return 0;
	if (!cl->addr.bracketed)
		return 1;
	if (cl->others == 0 && qmail_protocol(t) &&
	    (cl->addr.user == NULL || cl->addr.user_len > 0))
		return 1;
	return cl->addr.user != NULL && by_comment(t) == t->n;
}

/* the words W[0], W[1], ... follow each other from some index on; the
   index after them into *end_r */
static int words_at(const struct received_tokens *t, const char *const *w,
		    size_t *end_r)
{
	size_t i, k;

	for (i = 0; i < t->n; i++) {
		for (k = 0; w[k] != NULL && word_is(t, i + k, w[k]); k++)
			;
		if (w[k] == NULL) {
			if (end_r != NULL)
				*end_r = i + k;
			return 1;
		}
	}
	return 0;
}

/* W is a version number "15.20.1943.23" */
static int version_number(const char *w)
{
	int parts = 0;

	if (w == NULL)
		return 0;
	while (isdigit((unsigned char)*w)) {
		w += strspn(w, "0123456789");
		parts++;
		if (*w != '.')
			break;
		w++;
	}
	return *w == '\0' && parts == 4;
}

/* Exchange's "with mapi id 15.20.1943.23", "with Microsoft SMTP Server
   (TLS) 8.1.3", whose version number is no queue id */
static int exchange_version(const struct received_tokens *t)
{
	static const char *const mapi[] = { "with", "mapi", "id", NULL };
	static const char *const smtp[] = {
		"with", "Microsoft", "SMTP", "Server", NULL,
	};
	size_t end;

	if (words_at(t, mapi, &end))
		return version_number(WORD(t, end));
	if (!words_at(t, smtp, &end))
		return 0;
	if (end < t->n && t->v[end].kind == RECEIVED_TOKEN_COMMENT)
		end = t->v[end].end;
	return version_number(WORD(t, end));
}

/* an MTA that writes "from HELO (ip)" without brackets and no rDNS:
   Exchange, XMail, Scalix */
static int helo_first(const struct received_tokens *t)
{
	const char *proto = received_token_value(t, RECEIVED_WITH);

	if (exchange_version(t))
		return 1;
	if (proto != NULL && strcmp(proto, "[XMail") == 0)
		return 1;
	return comment_starts(t, by_comment(t), "Scalix");
}

/* which of the client's names is its HELO and which its rDNS name */
/* *FIELD becomes the client's name */
static void set_name(char **field, const struct client *cl)
{
	set(field, cl->name_text, cl->name_len);
}

static void assign_names(const struct received_tokens *t,
			 const struct client *cl, struct received_relay *r)
{
	const char *claimed = cl->claimed;
	int exim = mentions(t, "Exim") || cl->helo_eq != NULL;

	if (claimed != NULL && *claimed == '"')
		claimed++;
	/* "(user@1.2.3.4)": the ident, unless more follows ("with login":
	   Yahoo's authenticated user) and qmail's HELO comment does not
	   come first */
	if (cl->addr.user != NULL &&
	    (cl->alone || (cl->helo_cmd != NULL &&
			   cl->helo_comment < cl->comment)))
		set(&r->ident, cl->addr.user, cl->addr.user_len);
	switch (cl->at) {
	case AT_COMMENT:
		if (cl->addr.host != NULL) {
			/* Postfix's "unknown[1.2.3.4]" (but not with
			   anything after it, nor "<unknown>[1.2.3.4]") */
			set_name(&r->helo, cl);
			if (!cl->host_extra && cl->addr.host[0] != '<')
				set(&r->rdns, cl->addr.host,
				    cl->addr.host_len);
		} else if (cl->host != NULL) {
			/* RFC 5321's TCP-info: "from HELO (RDNS [ip])";
			   "from (HELO [ip])" */
			if (cl->name_len > 0) {
				set_name(&r->helo, cl);
				/* more after the address ("(may be
				   forged)"): SpamAssassin trusts the name
				   only from sendmail ("by x (8.12.11)") */
				if (!cl->host_extra || by_comment(t) < t->n)
					split_ident(r, cl->host);
			} else {
				sets(&r->helo, cl->host);
			}
		} else if (cl->verified) {
			/* CommuniGate Pro: "from RDNS ([ip] verified)" */
			set_name(&r->rdns, cl);
			set_name(&r->helo, cl);
		} else if (cl->comment == cl->name_at + 1 &&
			   t->v[cl->comment].glued && !cl->addr.bracketed) {
			/* smap, obtuse smtpd: "from RDNS(ip, HELO x)" */
			set_name(&r->rdns, cl);
			if (cl->helo_cmd != NULL)
				sets(&r->helo, cl->helo_cmd);
			else if (claimed != NULL)
				set(&r->helo, claimed, strcspn(claimed, "\""));
		} else if (cl->comment == cl->name_at + 1 &&
			   t->v[cl->comment].glued && cl->name_len > 0) {
			/* "from HELO([ip])": SpamAssassin takes it all as
			   the HELO */
			set(&r->helo, t->v[cl->name_at].src,
			    t->v[cl->name_at].run);
		} else if (cl->helo_cmd != NULL &&
			   cl->helo_comment != cl->comment) {
			/* qmail, qpsmtpd: "from RDNS (HELO x) (ip)" */
			set_name(&r->rdns, cl);
			sets(&r->helo, cl->helo_cmd);
		} else if (exim) {
			set_name(&r->rdns, cl);
			if (cl->helo_eq != NULL)
				sets(&r->helo, cl->helo_eq);
			else
				set_name(&r->helo, cl);
		} else if (helo_first(t)) {
			set_name(&r->helo, cl);
		} else if (qmail_comment(t, cl)) {
			/* qmail leaves out a HELO that is the rDNS name */
			set_name(&r->rdns, cl);
			set_name(&r->helo, cl);
		} else if (!cl->alone && cl->helo_cmd != NULL) {
			/* "([ip]:port "HELO x" ...)": the HELO noted */
			set(&r->helo, cl->helo_cmd,
			    strcspn(cl->helo_cmd, "\""));
		} else {
			/* sendmail & co: "from HELO ([ip])", no rDNS */
			set_name(&r->helo, cl);
		}
		break;
	case AT_BARE:
		/* "from HELO [ip]" (MDaemon, SMTPD32), unless a HELO
		   comment follows; Exim: "from RDNS [ip]", its odd forms
		   with the HELO in a comment of one word */
		if (exim) {
			set_name(&r->rdns, cl);
			if (cl->then_by)
				set_name(&r->helo, cl);
			else
				sets(&r->helo, cl->one_word);
		} else if (cl->helo_cmd != NULL &&
			   cl->helo_comment < cl->comment) {
			/* GMX: "from RDNS (EHLO x) [ip]" */
			set_name(&r->rdns, cl);
			sets(&r->helo, cl->helo_cmd);
		} else {
			if (cl->helo_cmd != NULL)
				sets(&r->helo, cl->helo_cmd);
			else if (cl->helo_eq != NULL)
				sets(&r->helo, cl->helo_eq);
			else
				set_name(&r->helo, cl);
		}
		break;
	case AT_NAME:
		/* "from [ip]": webmail, or no HELO given; CommuniGate Pro
		   notes a HELO, Exim a helo= */
		sets(&r->helo, cl->helo_cmd != NULL ? cl->helo_cmd
						      : cl->helo_eq);
		break;
	case AT_NONE:
		break;
	}
	if (cl->ident_eq != NULL)
		sets(&r->ident, cl->ident_eq);
	set(&r->ip, cl->addr.ip, cl->addr.ip_len);
}

/* the first "id" followed by an identifier of 3 characters or more,
   without "<" and from the first ">" on */
static void read_id(const struct received_tokens *t,
		    struct received_relay *r)
{
	/* simta writes "FROM x BY y ID z" */
	int upper = word_is(t, t->clause[RECEIVED_FROM].at, "FROM");
	size_t i;

	for (i = 0; i + 1 < t->n; i++) {
		const char *w = WORD(t, i), *v = WORD(t, i + 1);
		size_t len;

		if (w == NULL || (strcmp(w, "id") != 0 &&
				  !(upper && strcmp(w, "ID") == 0)) || v == NULL ||
		    t->v[i].glued || t->v[i + 1].glued)
			continue;
		if (*v == '<')
			v++;
		len = strcspn(v, "<>");
		if (len >= 3) {
			set(&r->id, v, len);
			return;
		}
	}
}

/* the envelope sender noted: "(envelope-from <x>)", "(envelope-sender
   <x>)", "envelope-from=x", "Return-Path: x" */
static void read_envfrom(const struct received_tokens *t,
			 struct received_relay *r)
{
	static const char *const notes[] = {
		"envelope-from", "envelope-sender", "return-path",
		"return-path:",
	};
	size_t i, k;

	for (i = 0; i < t->n; i++) {
		const char *w = WORD(t, i), *v = NULL;
		size_t len = 0;

		if (w == NULL)
			continue;
		for (k = 0; k < sizeof(notes) / sizeof(notes[0]) && !v; k++) {
			size_t n = strlen(notes[k]);

			if (strcasecmp(w, notes[k]) == 0 &&
			    WORD(t, i + 1) != NULL && !t->v[i + 1].glued) {
				v = t->v[i + 1].src;
				len = t->v[i + 1].run;
			} else if (k < 2 && strncasecmp(w, notes[k], n) == 0 &&
				   w[n] == '=') {
				v = t->v[i].src + n + 1;
				len = t->v[i].run - n - 1;
			}
		}
		if (v == NULL)
			continue;
		/* the value runs to a blank, and to its last letter or
		   digit: "<x@y>)" is "<x@y" */
		while (len > 0 && !isalnum((unsigned char)v[len - 1]) &&
		       v[len - 1] != '_')
			len--;
		if (len > 0) {
			free(r->envfrom);
			r->envfrom = mystrndup(v, len);
			return;
		}
	}
}


/* XMail: "... for <x> from <sender>" */
static void read_xmail_sender(const struct received_tokens *t,
			      struct received_relay *r)
{
	size_t i;

	for (i = t->clause[RECEIVED_FROM].at + 1; i + 1 < t->n; i++) {
		const char *v = WORD(t, i + 1);
		size_t len;

		if (!word_is(t, i, "from") || v == NULL || v[0] != '<')
			continue;
		len = strlen(v);
		if (len > 2 && v[len - 1] == '>') {
			free(r->envfrom);
			r->envfrom = mystrndup(v + 1, len - 2);
		}
		return;
	}
}

/* the protocols that say the client authenticated (RFC 3848, RFC 6531,
   Exim's ASMTP), and webmail's */
static const char *const auth_protocols[] = {
	"ESMTPA", "ESMTPSA", "LMTPA", "LMTPSA", "UTF8SMTPA", "UTF8SMTPSA",
	"UTF8LMTPA", "UTF8LMTPSA", "ASMTP", "HTTP", "HTTPS", "HTTPU",
};

/* the word at I names a protocol of auth_protocols, standing alone */
static int auth_protocol(const struct received_tokens *t, size_t i)
{
	const char *w = WORD(t, i);
	size_t k;

	if (w == NULL || t->v[i].glued ||
	    (i + 1 < t->n && t->v[i + 1].glued &&
	     t->v[i + 1].kind != RECEIVED_TOKEN_SEMICOLON))
		return 0;
	for (k = 0; k < sizeof(auth_protocols) / sizeof(auth_protocols[0]);
	     k++)
		if (strcasecmp(w, auth_protocols[k]) == 0)
			return 1;
	return 0;
}

/* the first from-clause comment that begins with the word W, or n */
static size_t from_comment(const struct received_tokens *t, const char *w)
{
	size_t i, end = t->clause[RECEIVED_FROM].end;

	for (i = t->clause[RECEIVED_FROM].at + 1; i < end;
	     i = received_token_next(t, i))
		if (comment_starts(t, i, w))
			return i;
	return t->n;
}

/* the words of the comment at C joined by blanks into OUT; 0 if it holds
   anything but words */
static int comment_words(const struct received_tokens *t, size_t c,
			 struct str *out)
{
	size_t i;

	for (i = c + 1; i < t->v[c].end; i++) {
		if (WORD(t, i) == NULL)
			return 0;
		if (i > c + 1)
			str_appendc(out, ' ');
		str_appends(out, WORD(t, i));
	}
	return t->v[c].end > c + 1;
}

/* a from-clause comment after the one with the (bracketed) address,
   with "authenticated" in it: sendmail's "(authenticated bits=0)" */
static int authenticated_comment(const struct received_tokens *t,
				 const struct client *cl)
{
	size_t i, j, end = t->clause[RECEIVED_FROM].end;

	if (cl->at != AT_COMMENT || !cl->addr.bracketed)
		return 0;
	for (i = received_token_next(t, cl->comment); i < end;
	     i = received_token_next(t, i)) {
		if (t->v[i].kind != RECEIVED_TOKEN_COMMENT)
			continue;
		for (j = i + 1; j < t->v[i].end; j++)
			if (WORD(t, j) != NULL &&
			    strstr(WORD(t, j), "authenticated") != NULL)
				return 1;
	}
	return 0;
}

/* Courier's "(AUTH: LOGIN user)": the method */
static const char *courier_auth(const struct received_tokens *t)
{
	static const char *const methods[] = {
		"LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5", NULL,
	};
	size_t c = from_comment(t, "AUTH:"), k;

	for (k = 0; c < t->n && methods[k] != NULL; k++)
		if (inner_is(t, c, 2, methods[k]))
			return methods[k];
	return NULL;
}

/* Gmail's submission service, which says ESMTPS: "by mx.google.com with
   ESMTPS id <...sm...> (version=X cipher=Y)" */
static int gmail_auth(const struct received_tokens *t,
		      const struct received_relay *r, struct str *out)
{
	const char *by = received_token_value(t, RECEIVED_BY);
	const char *proto = received_token_value(t, RECEIVED_WITH);
	const char *sm = strstr(r->id, "sm");
	size_t i;

	if (by == NULL || proto == NULL || strcmp(by, "mx.google.com") != 0 ||
	    strcmp(proto, "ESMTPS") != 0 || sm == NULL || sm - r->id > 4 ||
	    !isdigit((unsigned char)sm[2]))
		return 0;
	for (i = 0; i < t->n; i++) {
		const char *version = inner(t, i, 1), *cipher = inner(t, i, 2);

		if (version != NULL && cipher != NULL &&
		    strncmp(version, "version=", 8) == 0 &&
		    strncmp(cipher, "cipher=", 7) == 0) {
			str_printf(out, "GMail - transport=%s cipher=%s",
				   version + 8, cipher + 7);
			return 1;
		}
	}
	return 0;
}

/* how the client authenticated, as SpamAssassin names it; "" if the
   field does not say */
static void read_auth(const struct received_tokens *t,
		      const struct client *cl, struct received_relay *r)
{
	static const char *const communigate[][4] = {
		{ "CommuniGate", "Pro", "HTTP", NULL },
		{ "CommuniGate", "Pro", "SMTP", NULL },
		{ "CommuniGate", "Pro", "XIMSS", NULL },
		{ "CommuniGate", "Pro", "IMAP", NULL },
	};
	static const char *const dav[] = {
		"with", "Microsoft", "Exchange", "Server", "HTTP-DAV", NULL,
	};
	const char *by = received_token_value(t, RECEIVED_BY);
	const char *proto = received_token_value(t, RECEIVED_WITH);
	struct str s = STR_INIT;
	size_t i, c;

	if (by == NULL)
		return;
	/* "with ESMTPSA" and the like */
	for (i = 0; i + 1 < t->n; i++)
		if (WORD(t, i) != NULL && strcasecmp(WORD(t, i), "with") == 0 &&
		    auth_protocol(t, i + 1)) {
			sets(&r->auth, WORD(t, i + 1));
			return;
		}
	if (gmail_auth(t, r, &s)) {
		free(r->auth);
		r->auth = str_steal(&s);
		return;
	}
	if (courier_auth(t) != NULL) {
		sets(&r->auth, courier_auth(t));
		return;
	}
	if (authenticated_comment(t, cl)) {
		sets(&r->auth, "Sendmail");
		return;
	}
	/* GMX: "from x (EHLO y) [ip] by mail.gmx.net (mp010) with SMTP" */
	if ((strcmp(by, "mail.gmx.net") == 0 ||
	     strcmp(by, "mail.gmx.com") == 0) && cl->helo_cmd != NULL &&
	    cl->at == AT_BARE && by_comment(t) < t->n && proto != NULL &&
	    (strncmp(proto, "ESMTP", 5) == 0 || strncmp(proto, "SMTP", 4) == 0)) {
		str_printf(&s, "GMX (%s / %s)",
			   proto[0] == 'E' ? "ESMTP" : "SMTP", by);
		free(r->auth);
		r->auth = str_steal(&s);
		return;
	}
	/* Critical Path: "by x (4.1.023) (authenticated as y) id z" */
	for (i = t->clause[RECEIVED_BY].at; i < t->n;
	     i = received_token_next(t, i))
		if (comment_starts(t, i, "authenticated") &&
		    inner_is(t, i, 2, "as")) {
			sets(&r->auth, "CriticalPath");
			return;
		}
	/* Postfix's smtpd_sasl_authenticated_header: "(Authenticated sender:
	   x) by y (Postfix) with"; another mail_name is given in brackets */
	if ((c = from_comment(t, "Authenticated")) < t->n &&
	    inner_is(t, c, 2, "sender:") &&
	    (c = by_comment(t)) < t->n &&
	    t->v[c].end == t->clause[RECEIVED_WITH].at &&
	    comment_words(t, c, &s)) {
		if (strcmp(str_c(&s), "Postfix") != 0) {
			struct str named = STR_INIT;

			str_printf(&named, "Postfix (%s)", str_c(&s));
			str_deinit(&s);
			s = named;
		}
		free(r->auth);
		r->auth = str_steal(&s);
		return;
	}
	str_deinit(&s);
	/* CommuniGate Pro: "(account x ...)" */
	for (i = 0; i < sizeof(communigate) / sizeof(communigate[0]); i++)
		if (words_at(t, communigate[i], NULL) &&
		    from_comment(t, "account") < t->n) {
			sets(&r->auth, "Communigate");
			return;
		}
	if (words_at(t, dav, NULL)) {
		sets(&r->auth, "HTTP-DAV");
		return;
	}
	/* "(via HTTP)" of United Internet and others */
	for (i = 0; i + 2 < t->n; i++)
		if (t->v[i].kind == RECEIVED_TOKEN_COMMENT &&
		    t->v[i].end == i + 3 && WORD(t, i + 1) != NULL &&
		    strcasecmp(WORD(t, i + 1), "via") == 0 &&
		    WORD(t, i + 2) != NULL &&
		    strncasecmp(WORD(t, i + 2), "HTTP", 4) == 0 &&
		    strlen(WORD(t, i + 2)) <= 5) {
			sets(&r->auth, WORD(t, i + 2));
			return;
		}
}

/* no client address: a local handover if the from clause holds one name
   and at most notes about localhost ("from user@host by x", "from
   localhost (user@localhost) by x"); else a handover we cannot read */
static enum received_field_kind no_address(const struct received_tokens *t,
					   const struct client *cl)
{
	static const char *const pickup[] = {
		"from", "mail", "pickup", "service", "by", NULL,
	};

	if (!received_token_has(t, RECEIVED_BY))
		return RECEIVED_FIELD_UNPARSEABLE;
	/* Exchange's local submission */
	if (words_at(t, pickup, NULL))
		return RECEIVED_FIELD_LOCAL;
	return cl->others == 0 && cl->bare_words == 0
	       ? RECEIVED_FIELD_LOCAL : RECEIVED_FIELD_UNPARSEABLE;
}

/* "from x by y;" and nothing more (x a word or a comment without
   blanks): only names, nothing to check; unless x is an IPv4 literal,
   which SpamAssassin takes as the HELO too */
static int bare_names(const struct received_tokens *t)
{
	size_t by = t->clause[RECEIVED_BY].at;

	return t->clause[RECEIVED_FROM].at == 0 && single_run(t, 1) &&
	       received_token_next(t, 1) == by && WORD(t, by + 1) != NULL &&
	       by + 2 < t->n &&
	       t->v[by + 2].kind == RECEIVED_TOKEN_SEMICOLON;
}

/*
 * Forms SpamAssassin cannot read, and neither do we, with the address
 * in a comment without brackets: words between the name and it ("from a
 * b (1.2.3.4) by"), which leave unclear which is the HELO; nothing after
 * the receiving host ("from x (1.2.3.4) by y;").
 */
static int unclear_client(const struct received_tokens *t,
			  const struct client *cl)
{
	size_t by = t->clause[RECEIVED_BY].at;

	if (cl->at != AT_COMMENT || cl->addr.bracketed)
		return 0;
	if (cl->stray > 0)
		return 1;
	return by + 2 < t->n &&
	       t->v[by + 2].kind == RECEIVED_TOKEN_SEMICOLON &&
	       t->clause[RECEIVED_BY].end == by + 2;
}

/*
 * "from name([1.2.3.4]) by host (...)": the client written as one run,
 * the address glued in brackets, which SpamAssassin passes over as a
 * local note (it reads the address when the receiving host is odd too,
 * "by host(JetMail 2.5)", and so do we); likewise "from ([1.2.3.4:25])
 * by host", with the port in the brackets and no name.
 */
static int glued_client(const struct received_tokens *t,
			const struct client *cl)
{
	size_t by = t->clause[RECEIVED_BY].at, next = by + 2;

	if (cl->at != AT_COMMENT ||
	    received_token_value(t, RECEIVED_BY) == NULL || next >= t->n ||
	    t->v[next].glued)
		return 0;
	/* no name, and "([192.0.2.1:25])": the same for SpamAssassin */
	if (!(cl->name == NULL && cl->comment == cl->name_at &&
	      cl->addr.port_inside && cl->helo_eq == NULL && cl->alone) &&
	    !(cl->comment == cl->name_at + 1 && t->v[cl->comment].glued &&
	      (cl->addr.bracketed || cl->addr.host != NULL)))
		return 0;
	return t->v[next].kind == RECEIVED_TOKEN_COMMENT ||
	       word_is(t, next, "with") || word_is(t, next, "via") ||
	       word_is(t, next, "for");
}

/* W is "[" IPv4 "]" */
static int ipv4_literal(const char *w)
{
	size_t n = w != NULL ? strlen(w) : 0;

	return n > 2 && w[0] == '[' && w[n - 1] == ']' &&
	       ipv4_len(w + 1, n - 2) == n - 2;
}

/* SquirrelMail's "(SquirrelMail authenticated user x)" (or NaSMail's)
   on a webmail handover */
static int squirrelmail(const struct received_tokens *t)
{
	static const char *const apps[] = { "SquirrelMail", "NaSMail" };
	size_t k, c;

	if (!with_word(t, "HTTP", NULL))
		return 0;
	for (k = 0; k < sizeof(apps) / sizeof(apps[0]); k++)
		if ((c = from_comment(t, apps[k])) < t->n &&
		    inner_is(t, c, 2, "authenticated") &&
		    inner_is(t, c, 3, "user"))
			return 1;
	return 0;
}

/* the "by" value as SpamAssassin reads it: up to a blank, with what is
   glued to it ("host(8.9.3/8.9.3)") */
static void read_by(const struct received_tokens *t,
		    struct received_relay *r)
{
	size_t i = t->clause[RECEIVED_BY].at + 1;
	const char *by = received_token_value(t, RECEIVED_BY);

	if (received_token_has(t, RECEIVED_BY) &&
	    i < t->clause[RECEIVED_BY].end &&
	    t->v[i].kind == RECEIVED_TOKEN_COMMENT) {
		/* "by (AIMC 2.9.5.1) with": the comment's first bit */
		set(&r->by, t->v[i].src, t->v[i].run);
		return;
	}
	if (by == NULL)
		return;
	if (i + 1 < t->n && t->v[i + 1].glued &&
	    t->v[i + 1].kind != RECEIVED_TOKEN_SEMICOLON)
		set(&r->by, t->v[i].src, t->v[i].run);
	else
		sets(&r->by, by);
}

static enum received_field_kind read_field(const struct received_tokens *t,
					   struct received_relay *r,
					   char **envfrom_r)
{
	size_t from = t->clause[RECEIVED_FROM].at;
	const char *proto = received_token_value(t, RECEIVED_WITH);
	struct client cl;

	/* "(qmail 1234 invoked by uid 100)", "by x (Postfix, from userid
	   0)": no handover between hosts */
	if (!received_token_has(t, RECEIVED_FROM) || from > 1 ||
	    (from == 1 && t->v[0].kind != RECEIVED_TOKEN_COMMENT))
		return RECEIVED_FIELD_LOCAL;
	/* Exim's local submissions: "with local", "with local-esmtp"; and
	   "with local for x" of others (spam that claims it otherwise is
	   read as it comes) */
	if (proto != NULL && strncmp(proto, "local", 5) == 0 &&
	    (mentions(t, "Exim") || word_is(t, t->clause[RECEIVED_WITH].at + 2,
					    "for")))
		return RECEIVED_FIELD_LOCAL;
	/* fetchmail, getmail */
	if (proto != NULL && (strncmp(proto, "POP3", 4) == 0 ||
			      strncmp(proto, "IMAP", 4) == 0))
		return RECEIVED_FIELD_FETCHED;
	if (proto != NULL && strncmp(proto, "qmail-scanner", 13) == 0) {
		read_envfrom(t, r);
		if (r->envfrom != NULL)
			tidy_envfrom(r->envfrom);
		*envfrom_r = r->envfrom;
		r->envfrom = NULL;
		return RECEIVED_FIELD_SCANNED;
	}
	read_client(t, &cl);
	if (bare_names(t) && !ipv4_literal(cl.name))
		return RECEIVED_FIELD_LOCAL;
	read_by(t, r);
	read_id(t, r);
	if (exchange_version(t))
		sets(&r->id, "");
	read_envfrom(t, r);
	if (cl.xmail)
		read_xmail_sender(t, r);
	read_auth(t, &cl, r);
	if (cl.at == AT_NONE)
		return no_address(t, &cl);
	if (r->by[0] == '\0' || unclear_client(t, &cl))
		return RECEIVED_FIELD_UNPARSEABLE;
	if (glued_client(t, &cl))
		return RECEIVED_FIELD_LOCAL;
	assign_names(t, &cl, r);
	if (word_is(t, from, "FROM")) {
		/* simta: "FROM helo (rdns [ip]) BY host ID id" */
		if (cl.at != AT_COMMENT || cl.host == NULL)
			return RECEIVED_FIELD_UNPARSEABLE;
		if (strcmp(r->rdns, "unverified") == 0)
			sets(&r->rdns, "");
	} else if (!word_is(t, from, "from")) {
		/* "From x ([ip]) by y": SpamAssassin reads the address */
		sets(&r->helo, "");
		sets(&r->rdns, "");
		sets(&r->ident, "");
	}
	if (bare_names(t)) {
		sets(&r->helo, cl.name);
	} else if (squirrelmail(t)) {
		/* the browser's address, proxied or not; no HELO */
		const struct addr *a = cl.name_is_addr ? &cl.name_addr
				     : cl.proxying ? &cl.proxied : &cl.addr;

		set(&r->ip, a->ip, a->ip_len);
		sets(&r->helo, "");
		sets(&r->rdns, "");
	} else if (proto != NULL && strcmp(proto, "HTTP") == 0 &&
		   cl.name_is_addr && cl.at == AT_COMMENT && cl.alone &&
		   cl.addr.bracketed) {
		/* webmail (IMP): "from ip ([ip]) by host with HTTP" */
		set(&r->ip, cl.name_addr.ip, cl.name_addr.ip_len);
		sets(&r->helo, "");
		sets(&r->rdns, "");
	}
	return RECEIVED_FIELD_RELAY;
}

enum received_field_kind received_field_parse(const char *value,
					      struct received_relay *relay,
					      char **envfrom_r)
{
	struct received_tokens t;
	size_t len = strlen(value);
	enum received_field_kind kind;

	if (len > RECEIVED_FIELD_MAX)
		len = RECEIVED_FIELD_MAX;
	*envfrom_r = NULL;
	received_token_split(value, len, &t);
	relay_init(relay);
	kind = read_field(&t, relay, envfrom_r);
	received_token_free(&t);
	if (kind == RECEIVED_FIELD_RELAY)
		finish(relay);
	else
		received_relay_free(relay);
	return kind;
}

int received_field_originating(const char *value,
			       struct received_relay *relay)
{
	const char *p;

	for (p = value; *p; p++) {
		const char *end = p;
		struct addr a;
		char *word;
		int found;

		/* an address starts a run of hex digits, dots and colons
		   that is not inside a word (but may follow "IPv6:") */
		if (!isxdigit((unsigned char)*p) && *p != ':')
			continue;
		if (p > value && (isalnum((unsigned char)p[-1]) || p[-1] == ':') &&
		    !(p - value >= 5 && strncasecmp(p - 5, "IPv6:", 5) == 0))
			continue;
		while (isxdigit((unsigned char)*end) || *end == ':' ||
		       *end == '.')
			end++;
		word = mystrndup(p, (size_t)(end - p));
		found = parse_addr(word, &a, 0);
		if (!found) {
			/* "1.2.3.4." or "1.2.3.4.5": the quad at the start */
			size_t v4 = ipv4_len(word, strlen(word));

			if (v4 > 0 && !isalnum((unsigned char)word[v4])) {
				a.ip = word;
				a.ip_len = v4;
				found = 1;
			}
		}
		if (found) {
			relay_init(relay);
			set(&relay->ip, a.ip, a.ip_len);
			free(word);
			finish(relay);
			return 1;
		}
		free(word);
	}
	return 0;
}
