/*
 * message - the message model over GMime (see message.h).
 *
 * GMime gives the MIME tree and undoes transfer encodings; the rest
 * (header decoding, rendering, URI extraction) follows what SpamAssassin
 * 4 does, so that rules written for it see the same text.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "message.h"
#include "msg.h"
#include "mymalloc.h"
#include "str.h"

#define MESSAGE_MAX_LINE	2048	/* SpamAssassin's MAX_BODY_LINE_LENGTH */
#define MESSAGE_BODY_SCAN	50000	/* body_part_scan_size */
#define MESSAGE_RAWBODY_SCAN	500000	/* rawbody_part_scan_size */
#define MESSAGE_MAX_URI		8192	/* MAX_URI_LENGTH */
#define MESSAGE_MAX_PARTS	1000	/* leaves looked at */
#define MESSAGE_MAX_DEPTH	20	/* nesting of multiparts */

/* ---------------------------------------------------------------- UTF-8 */

static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static void utf8_put(struct str *out, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		str_appendc(out, (char)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		str_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		str_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		str_append(out, b, 4);
	}
}

/* Windows-1252 0x80-0x9f; the rest of the high half is Latin-1 */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
};

static void cp1252_to_utf8(const char *data, size_t len, struct str *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c < 0x80)
			str_appendc(out, (char)c);
		else if (c < 0xa0)
			utf8_put(out, cp1252_high[c - 0x80]);
		else
			utf8_put(out, c);
	}
}

static int iconv_to_utf8(const char *data, size_t len, const char *charset,
			 struct str *out)
{
	const char *name = g_mime_charset_iconv_name(charset);
	size_t start = out->len;
	iconv_t cd;
	char *in = (char *)data;
	size_t inleft = len;

	if (name == NULL)
		return -1;
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return -1;
	while (inleft > 0) {
		char *o;
		size_t oleft, r;

		str_reserve(out, inleft * 4 + 16);
		o = out->s + out->len;
		oleft = out->cap - out->len - 1;
		r = iconv(cd, &in, &inleft, &o, &oleft);
		out->len = (size_t)(o - out->s);
		out->s[out->len] = '\0';
		if (r == (size_t)-1 && errno != E2BIG) {
			iconv_close(cd);
			str_truncate(out, start);
			return -1;
		}
	}
	iconv_close(cd);
	return 0;
}

void message_to_utf8(const char *data, size_t len, const char *charset,
		     struct str *out)
{
	if (!has_8bit(data, len) ||
	    utf8_valid((const unsigned char *)data, len)) {
		str_append(out, data, len);
		return;
	}
	if (charset != NULL && charset[0] != '\0' &&
	    strncasecmp(charset, "us-ascii", 8) != 0 &&
	    strncasecmp(charset, "utf-8", 5) != 0 &&
	    strncasecmp(charset, "utf8", 4) != 0 &&
	    iconv_to_utf8(data, len, charset, out) == 0)
		return;
	cp1252_to_utf8(data, len, out);
}

/* ------------------------------------------------------- header decoding */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void decode_b64(const char *s, size_t len, struct str *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		const char *p;

		if (s[i] == '=')
			break;
		p = s[i] ? strchr(tab, s[i]) : NULL;
		if (p == NULL)
			continue;
		acc = (acc << 6) | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			str_appendc(out, (char)((acc >> bits) & 0xff));
		}
	}
}

static void decode_q(const char *s, size_t len, struct str *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '_') {
			str_appendc(out, ' ');
		} else if (s[i] == '=' && i + 2 < len &&
			   hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			str_appendc(out, (char)(hexval(s[i + 1]) * 16 +
						hexval(s[i + 2])));
			i += 2;
		} else {
			str_appendc(out, s[i]);
		}
	}
}

/* an encoded word at P: =?charset?[bq]?text?= ; fills the pieces */
static int encoded_word(const char *p, const char **cs, size_t *cs_len,
			char *enc, const char **txt, size_t *txt_len,
			size_t *total)
{
	const char *q = p + 2, *t;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	*cs = q;
	while (isalnum((unsigned char)*q) || *q == '*' || *q == '_' ||
	       *q == '-')
		q++;
	if (q == *cs || *q != '?')
		return 0;
	*cs_len = (size_t)(q - *cs);
	q++;
	if (strchr("bBqQ", *q) == NULL || *q == '\0' || q[1] != '?')
		return 0;
	*enc = (char)tolower((unsigned char)*q);
	t = q + 2;
	q = t;
	while (*q != '\0' && *q != '?')
		q++;
	if (q[0] != '?' || q[1] != '=')
		return 0;
	*txt = t;
	*txt_len = (size_t)(q - t);
	*total = (size_t)(q + 2 - p);
	return 1;
}

static int no_mime_decoding(const char *name)
{
	static const char *const names[] = {
		"received", "message-id", "resent-message-id", "date",
		"resent-date", "mime-version", "references", "in-reply-to",
		NULL,
	};
	int i;

	if (name == NULL)
		return 0;
	for (i = 0; names[i]; i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return strncasecmp(name, "list-", 5) == 0;
}

/* flush one section: BYTES in CHARSET ("" for plain text) */
static void flush_section(struct str *out, struct str *bytes,
			  const char *charset)
{
	if (bytes->len == 0)
		return;
	if (charset[0] == '\0')
		str_append(out, bytes->s, bytes->len);
	else
		message_to_utf8(bytes->s, bytes->len, charset, out);
	str_clear(bytes);
}

char *message_decode_header(const char *name, const char *text)
{
	struct str out = STR_INIT, bytes = STR_INIT;
	char charset[64] = "", cur[64];
	const char *p = text;

	if (no_mime_decoding(name) || strstr(text, "=?") == NULL) {
		str_appends(&out, text);
		return str_steal(&out);
	}
	while (*p != '\0') {
		const char *cs, *txt;
		size_t cs_len, txt_len, total;
		char enc;

		if (encoded_word(p, &cs, &cs_len, &enc, &txt, &txt_len,
				 &total)) {
			size_t n = cs_len < sizeof(cur) - 1 ? cs_len
							    : sizeof(cur) - 1;
			const char *star;

			memcpy(cur, cs, n);
			cur[n] = '\0';
			if ((star = strchr(cur, '*')) != NULL)
				cur[star - cur] = '\0';
			if (cur[0] == '\0')
				strcpy(cur, "us-ascii");
			if (strcasecmp(cur, charset) != 0) {
				flush_section(&out, &bytes, charset);
				memcpy(charset, cur, sizeof(charset));
			}
			if (enc == 'b')
				decode_b64(txt, txt_len, &bytes);
			else
				decode_q(txt, txt_len, &bytes);
			p += total;
			/* white space between two encoded words goes */
			{
				const char *w = p;
				const char *c2, *t2;
				size_t l2, tl2, tot2;
				char e2;

				while (*w == ' ' || *w == '\t' || *w == '\n' ||
				       *w == '\r')
					w++;
				if (w != p && encoded_word(w, &c2, &l2, &e2,
							   &t2, &tl2, &tot2))
					p = w;
			}
		} else {
			if (charset[0] != '\0') {
				flush_section(&out, &bytes, charset);
				charset[0] = '\0';
			}
			str_appendc(&bytes, *p++);
		}
	}
	flush_section(&out, &bytes, charset);
	str_deinit(&bytes);
	return str_steal(&out);
}

/* SpamAssassin's decoded value: folds to one space, trimmed, decoded */
static char *header_decoded_value(const char *name, const char *raw)
{
	struct str sb = STR_INIT, u = STR_INIT;
	const char *p = raw, *end;
	char *res;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end) {
		if (*p == '\r' && p + 1 < end && p[1] == '\n') {
			p++;
			continue;
		}
		if (*p == '\n') {
			p++;
			if (p < end && (*p == ' ' || *p == '\t')) {
				while (p < end && (*p == ' ' || *p == '\t'))
					p++;
				str_appendc(&sb, ' ');
			}
			continue;
		}
		str_appendc(&sb, *p++);
	}
	if (has_8bit(sb.s ? sb.s : "", sb.len)) {
		message_to_utf8(sb.s, sb.len, "utf-8", &u);
		str_deinit(&sb);
		sb = u;
	}
	res = message_decode_header(name, sb.s ? sb.s : "");
	str_deinit(&sb);
	return res;
}

/* ------------------------------------------------------------ headers */

static void parse_headers(struct message *msg)
{
	const char *p = msg->full, *end = msg->full + msg->full_len;
	size_t cap = 0;

	while (p < end) {
		const char *line = p, *eol, *colon, *nameend;
		struct message_header *h;
		struct str raw = STR_INIT;

		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			p += *p == '\r' ? 2 : 1;
			break;
		}
		/* the field and its continuation lines */
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol ? eol + 1 : end;
		while (eol < end && (*eol == ' ' || *eol == '\t')) {
			const char *n = memchr(eol, '\n', (size_t)(end - eol));

			eol = n ? n + 1 : end;
		}
		p = eol;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL || colon == line)
			continue;
		nameend = colon;
		while (nameend > line && (nameend[-1] == ' ' ||
					  nameend[-1] == '\t'))
			nameend--;
		if (nameend == line)
			continue;
		for (const char *q = colon + 1; q < eol; q++) {
			if (*q == '\r' && q + 1 < eol && q[1] == '\n')
				continue;
			str_appendc(&raw, *q);
		}
		if (msg->n_headers == cap) {
			cap = cap ? cap * 2 : 32;
			msg->headers = myrealloc(msg->headers,
						 cap * sizeof(*msg->headers));
		}
		h = &msg->headers[msg->n_headers++];
		h->name = mystrndup(line, (size_t)(nameend - line));
		h->hash = message_name_hash(h->name);
		h->raw = str_steal(&raw);
		h->value = header_decoded_value(h->name, h->raw);
	}
	msg->header_len = (size_t)(p - msg->full);
}

unsigned message_name_hash(const char *name)
{
	unsigned h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)(*name | 0x20)) * 16777619u;
	return h;
}

const char *message_header_get(const struct message *msg, const char *name)
{
	unsigned hash = message_name_hash(name);
	size_t i;

	for (i = msg->n_headers; i-- > 0;)
		if (msg->headers[i].hash == hash &&
		    strcasecmp(msg->headers[i].name, name) == 0)
			return msg->headers[i].value;
	return NULL;
}

/* --------------------------------------------------------- HTML render */

struct html_state {
	struct str *out;
	struct str *uris;
	size_t last_start;	/* start of the last piece in out */
	int have_last;
	int last_ws;		/* last piece was inserted white space */
	char *base;		/* <base href> */
};

static const struct {
	const char *name;
	uint32_t cp;
} html_entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 }, { "copy", 0xa9 },
	{ "reg", 0xae }, { "trade", 0x2122 }, { "hellip", 0x2026 },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "lsquo", 0x2018 },
	{ "rsquo", 0x2019 }, { "ldquo", 0x201c }, { "rdquo", 0x201d },
	{ "bull", 0x2022 }, { "middot", 0xb7 }, { "laquo", 0xab },
	{ "raquo", 0xbb }, { "euro", 0x20ac }, { "pound", 0xa3 },
	{ "yen", 0xa5 }, { "cent", 0xa2 }, { "sect", 0xa7 }, { "deg", 0xb0 },
	{ "plusmn", 0xb1 }, { "times", 0xd7 }, { "divide", 0xf7 },
	{ "frac12", 0xbd }, { "frac14", 0xbc }, { "frac34", 0xbe },
	{ "iexcl", 0xa1 }, { "iquest", 0xbf }, { "eacute", 0xe9 },
	{ "egrave", 0xe8 }, { "ecirc", 0xea }, { "agrave", 0xe0 },
	{ "aacute", 0xe1 }, { "acirc", 0xe2 }, { "ouml", 0xf6 },
	{ "uuml", 0xfc }, { "auml", 0xe4 }, { "Ouml", 0xd6 },
	{ "Uuml", 0xdc }, { "Auml", 0xc4 }, { "szlig", 0xdf },
	{ "ntilde", 0xf1 }, { "ccedil", 0xe7 }, { "Eacute", 0xc9 },
	{ "shy", 0xad }, { "ordm", 0xba }, { "ordf", 0xaa },
	{ "sup2", 0xb2 }, { "micro", 0xb5 }, { "para", 0xb6 },
	{ NULL, 0 },
};

/* append S (LEN) with entities decoded */
static void html_decode_entities(const char *s, size_t len, struct str *out)
{
	size_t i = 0;

	while (i < len) {
		if (s[i] == '&' && i + 1 < len) {
			size_t j = i + 1;
			uint32_t cp = 0;
			int ok = 0;

			if (s[j] == '#') {
				int hex = 0, digits = 0;

				j++;
				if (j < len && (s[j] == 'x' || s[j] == 'X')) {
					hex = 1;
					j++;
				}
				while (j < len && digits < 8 &&
				       (hex ? isxdigit((unsigned char)s[j])
					    : isdigit((unsigned char)s[j]))) {
					cp = cp * (hex ? 16 : 10) +
					     (uint32_t)hexval(s[j]);
					j++;
					digits++;
				}
				if (digits > 0) {
					ok = 1;
					if (j < len && s[j] == ';')
						j++;
					if (cp == 0 || cp > 0x10ffff)
						cp = 0xfffd;
				}
			} else {
				size_t k = j;
				int e;

				while (k < len && k - j < 10 &&
				       isalnum((unsigned char)s[k]))
					k++;
				for (e = 0; html_entities[e].name; e++) {
					size_t n = strlen(html_entities[e].name);

					if (n == k - j &&
					    memcmp(html_entities[e].name,
						   s + j, n) == 0) {
						cp = html_entities[e].cp;
						ok = 1;
						j = k;
						if (j < len && s[j] == ';')
							j++;
						break;
					}
				}
			}
			if (ok) {
				utf8_put(out, cp);
				i = j;
				continue;
			}
		}
		str_appendc(out, s[i++]);
	}
}

static int ws_tag(const char *tag)
{
	static const char *const nl[] = { "br", "div", NULL };
	static const char *const sp[] = {
		"li", "th", "td", "dt", "dd", "embed", "h1", "h2", "h3",
		"h4", "h5", "h6", NULL,
	};
	static const char *const par[] = {
		"p", "hr", "blockquote", "pre", "listing", "plaintext",
		"xmp", "title", NULL,
	};
	int i;

	for (i = 0; nl[i]; i++)
		if (strcmp(tag, nl[i]) == 0)
			return 1;
	for (i = 0; sp[i]; i++)
		if (strcmp(tag, sp[i]) == 0)
			return 2;
	for (i = 0; par[i]; i++)
		if (strcmp(tag, par[i]) == 0)
			return 3;
	return 0;
}

static void html_whitespace(struct html_state *st, const char *ws)
{
	struct str *o = st->out;

	if (st->have_last && !st->last_ws && o->len > st->last_start &&
	    o->s[o->len - 1] == ' ')
		str_truncate(o, o->len - 1);
	st->last_start = o->len;
	str_appends(o, ws);
	st->have_last = 1;
	st->last_ws = 1;
}

static void html_text(struct html_state *st, const char *s, size_t len)
{
	struct str dec = STR_INIT;
	struct str *o = st->out;
	size_t i, start;
	int first = 1;

	html_decode_entities(s, len, &dec);
	start = o->len;
	for (i = 0; i < dec.len; i++) {
		unsigned char c = (unsigned char)dec.s[i];
		int space = c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			    c == '\f' || c == 0x0b;

		if (!space && c == 0xc2 && i + 1 < dec.len &&
		    (unsigned char)dec.s[i + 1] == 0xa0) {
			space = 1;
			i++;
		}
		if (space) {
			while (i + 1 < dec.len) {
				unsigned char d = (unsigned char)dec.s[i + 1];

				if (d == ' ' || d == '\t' || d == '\n' ||
				    d == '\r' || d == '\f' || d == 0x0b) {
					i++;
				} else if (d == 0xc2 && i + 2 < dec.len &&
					   (unsigned char)dec.s[i + 2] == 0xa0) {
					i += 2;
				} else {
					break;
				}
			}
			if (!(first && st->have_last && st->last_ws))
				str_appendc(o, ' ');
		} else {
			str_appendc(o, (char)c);
		}
		first = 0;
	}
	st->last_start = start;
	st->have_last = 1;
	st->last_ws = 0;
	str_deinit(&dec);
}

/* the value of attribute NAME in the attribute text A (LEN), decoded */
static int html_attr(const char *a, size_t len, const char *name,
		     struct str *val)
{
	size_t i = 0, nlen = strlen(name);

	while (i < len) {
		size_t ns, ne, vs, ve;

		while (i < len && (isspace((unsigned char)a[i]) || a[i] == '/'))
			i++;
		ns = i;
		while (i < len && !isspace((unsigned char)a[i]) && a[i] != '=' &&
		       a[i] != '>')
			i++;
		ne = i;
		if (ne == ns) {
			i++;
			continue;
		}
		while (i < len && isspace((unsigned char)a[i]))
			i++;
		vs = ve = i;
		if (i < len && a[i] == '=') {
			i++;
			while (i < len && isspace((unsigned char)a[i]))
				i++;
			if (i < len && (a[i] == '"' || a[i] == '\'')) {
				char q = a[i++];

				vs = i;
				while (i < len && a[i] != q)
					i++;
				ve = i;
				if (i < len)
					i++;
			} else {
				vs = i;
				while (i < len && !isspace((unsigned char)a[i]))
					i++;
				ve = i;
			}
		}
		if (ne - ns == nlen && strncasecmp(a + ns, name, nlen) == 0) {
			str_clear(val);
			html_decode_entities(a + vs, ve - vs, val);
			return 1;
		}
	}
	return 0;
}

static void html_push_uri(struct html_state *st, const char *uri)
{
	size_t len;

	if (st->uris == NULL)
		return;
	while (*uri == ' ' || *uri == '\t' || *uri == '\n' || *uri == '\r')
		uri++;
	len = strlen(uri);
	while (len > 0 && isspace((unsigned char)uri[len - 1]))
		len--;
	if (len == 0)
		return;
	if (len > MESSAGE_MAX_URI)
		len = MESSAGE_MAX_URI;
	if (st->base != NULL && strstr(uri, "://") == NULL &&
	    strncasecmp(uri, "mailto:", 7) != 0 &&
	    strncasecmp(uri, "data:", 5) != 0 && uri[0] != '#') {
		size_t blen = strlen(st->base);

		str_appends(st->uris, st->base);
		if (uri[0] == '/' && blen > 0 && st->base[blen - 1] == '/')
			uri++, len--;
		else if (uri[0] != '/' && blen > 0 && st->base[blen - 1] != '/')
			str_appendc(st->uris, '/');
	}
	str_append(st->uris, uri, len);
	str_appendc(st->uris, '\0');
}

static void html_tag_uris(struct html_state *st, const char *tag,
			  const char *a, size_t len)
{
	struct str v = STR_INIT;

	if (!strcmp(tag, "body") || !strcmp(tag, "table") ||
	    !strcmp(tag, "tr") || !strcmp(tag, "td")) {
		if (html_attr(a, len, "background", &v))
			html_push_uri(st, v.s);
	} else if (!strcmp(tag, "a") || !strcmp(tag, "area") ||
		   !strcmp(tag, "link")) {
		if (html_attr(a, len, "href", &v))
			html_push_uri(st, v.s);
	} else if (!strcmp(tag, "img") || !strcmp(tag, "frame") ||
		   !strcmp(tag, "iframe") || !strcmp(tag, "embed") ||
		   !strcmp(tag, "script") || !strcmp(tag, "bgsound")) {
		if (html_attr(a, len, "src", &v))
			html_push_uri(st, v.s);
	} else if (!strcmp(tag, "form")) {
		if (html_attr(a, len, "action", &v))
			html_push_uri(st, v.s);
	} else if (!strcmp(tag, "base")) {
		if (html_attr(a, len, "href", &v) && v.len > 0) {
			html_push_uri(st, v.s);
			if (strncasecmp(v.s, "http", 4) == 0 ||
			    strncasecmp(v.s, "ftp", 3) == 0) {
				free(st->base);
				st->base = mystrdup(v.s);
			}
		}
	}
	str_deinit(&v);
}

/* find "</NAME" case-insensitively from P; returns its start or END */
static const char *html_find_close(const char *p, const char *end,
				   const char *name)
{
	size_t n = strlen(name);

	for (; p + 2 + n <= end; p++)
		if (p[0] == '<' && p[1] == '/' &&
		    strncasecmp(p + 2, name, n) == 0)
			return p;
	return end;
}

void message_render_html(const char *html, size_t len, struct str *text,
			 struct str *uris)
{
	struct html_state st = { text, uris, text->len, 0, 0, NULL };
	const char *p = html, *end = html + len;
	struct str src = STR_INIT;

	/* &nbsp; as a plain space, curly double quotes as '"' (as SA does) */
	for (size_t i = 0; i < len; i++) {
		if (html[i] == '&' && len - i >= 6 &&
		    memcmp(html + i, "&nbsp;", 6) == 0) {
			str_appendc(&src, ' ');
			i += 5;
		} else if ((unsigned char)html[i] == 0xe2 && len - i >= 3 &&
			   (unsigned char)html[i + 1] == 0x80 &&
			   ((unsigned char)html[i + 2] == 0x9c ||
			    (unsigned char)html[i + 2] == 0x9d)) {
			str_appendc(&src, '"');
			i += 2;
		} else {
			str_appendc(&src, html[i]);
		}
	}
	p = src.s ? src.s : "";
	end = p + src.len;
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		const char *q;

		if (lt == NULL)
			lt = end;
		/* a '<' that opens no markup is text */
		while (lt < end && !(isalpha((unsigned char)lt[1]) ||
				     lt[1] == '/' || lt[1] == '!' || lt[1] == '?')) {
			const char *n = memchr(lt + 1, '<',
					       (size_t)(end - lt - 1));

			lt = n ? n : end;
		}
		if (lt > p)
			html_text(&st, p, (size_t)(lt - p));
		if (lt >= end)
			break;
		p = lt;
		if (p + 4 <= end && memcmp(p, "<!--", 4) == 0) {
			q = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
			p = q ? q + 3 : end;
			continue;
		}
		if (p[1] == '!' || p[1] == '?') {
			q = memchr(p, '>', (size_t)(end - p));
			p = q ? q + 1 : end;
			continue;
		}
		{
			int closing = p[1] == '/';
			const char *ns = p + 1 + closing, *ne = ns, *ae;
			char tag[32];
			size_t tl;
			int ws;

			while (ne < end && (isalnum((unsigned char)*ne) ||
					    *ne == ':' || *ne == '-' || *ne == '_'))
				ne++;
			/* the end of the tag, quotes respected */
			ae = ne;
			{
				char quote = 0;

				while (ae < end) {
					if (quote) {
						if (*ae == quote)
							quote = 0;
					} else if (*ae == '"' || *ae == '\'') {
						if (ae > ne && (ae[-1] == '=' ||
								isspace((unsigned char)ae[-1])))
							quote = *ae;
					} else if (*ae == '>') {
						break;
					}
					ae++;
				}
			}
			if (ae >= end) {
				/* unterminated: HTML::Parser treats it as text */
				html_text(&st, p, (size_t)(end - p));
				break;
			}
			tl = (size_t)(ne - ns);
			if (tl == 0 || tl >= sizeof(tag)) {
				p = ae + 1;
				continue;
			}
			for (size_t k = 0; k < tl; k++)
				tag[k] = (char)tolower((unsigned char)ns[k]);
			tag[tl] = '\0';
			ws = ws_tag(tag);
			if (ws == 1)
				html_whitespace(&st, "\n");
			else if (ws == 2)
				html_whitespace(&st, " ");
			else if (ws == 3)
				html_whitespace(&st, "\n\n");
			if (!closing)
				html_tag_uris(&st, tag, ne, (size_t)(ae - ne));
			p = ae + 1;
			if (!closing && (!strcmp(tag, "script") ||
					 !strcmp(tag, "style"))) {
				q = html_find_close(p, end, tag);
				p = q;
			}
		}
	}
	free(st.base);
	str_deinit(&src);
}

/* ------------------------------------------------------ body assembly */

/* can a Perl Unicode \s character start with byte C (UTF-8)? */
static int uspace_lead(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xc2 ||
	       (c >= 0xe1 && c <= 0xe3);
}

/* length of a Perl Unicode \s character at P (UTF-8), or 0 */
static size_t uspace(const unsigned char *p, const unsigned char *end)
{
	if (!uspace_lead(*p))
		return 0;
	if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		return 1;
	if (*p == 0xc2 && p + 1 < end && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (*p == 0xe1 && p + 2 < end && p[1] == 0x9a && p[2] == 0x80)
		return 3;
	if (*p == 0xe2 && p + 2 < end && p[1] == 0x80 &&
	    (p[2] <= 0x8a || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return p[2] >= 0x80 ? 3 : 0;
	if (*p == 0xe2 && p + 2 < end && p[1] == 0x81 && p[2] == 0x9f)
		return 3;
	if (*p == 0xe3 && p + 2 < end && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/*
 * SpamAssassin's white space handling of the rendered text:
 *   s/\n+\s*\n+/\0/g; s/\s+/ /g; tr/\0/\n/
 */
static void sa_whitespace(const char *in, size_t len, struct str *out)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + len;

	while (p < end) {
		const unsigned char *q = p;
		size_t n = 0;

		/* up to the next white space, copied at once */
		for (; q < end; q++)
			if (uspace_lead(*q) && (n = uspace(q, end)) > 0)
				break;
		str_append(out, p, (size_t)(q - p));
		p = q;
		if (n == 0)
			continue;	/* the end */
		/* a run of white space: paragraph break if it starts at a
		   newline with another newline later in the run */
		{
			const unsigned char *r = p, *first_nl = NULL,
					    *last_nl = NULL;

			while (r < end && (n = uspace(r, end)) > 0) {
				if (*r == '\n') {
					if (first_nl == NULL)
						first_nl = r;
					last_nl = r;
				}
				r += n;
			}
			if (first_nl != NULL && last_nl != first_nl) {
				if (first_nl > p)
					str_appendc(out, ' ');
				str_appendc(out, '\n');
				if (last_nl + 1 < r)
					str_appendc(out, ' ');
			} else {
				str_appendc(out, ' ');
			}
			p = r;
		}
	}
}

struct textlist {
	struct str buf;
	size_t *off, *len;
	size_t n, cap;
};

static void textlist_add(struct textlist *tl, const char *s, size_t len)
{
	if (tl->n == tl->cap) {
		tl->cap = tl->cap ? tl->cap * 2 : 16;
		tl->off = myrealloc(tl->off, tl->cap * sizeof(*tl->off));
		tl->len = myrealloc(tl->len, tl->cap * sizeof(*tl->len));
	}
	tl->off[tl->n] = tl->buf.len;
	tl->len[tl->n] = len;
	tl->n++;
	str_append(&tl->buf, s, len);
	str_appendc(&tl->buf, '\0');
}

static struct message_text *textlist_finish(struct textlist *tl, size_t *n_r,
					    char **buf_r)
{
	struct message_text *v = mycalloc(tl->n + 1, sizeof(*v));
	size_t i;

	*buf_r = str_steal(&tl->buf);
	for (i = 0; i < tl->n; i++) {
		v[i].s = *buf_r + tl->off[i];
		v[i].len = tl->len[i];
	}
	*n_r = tl->n;
	free(tl->off);
	free(tl->len);
	return v;
}

/* split_into_array_of_short_lines */
static void split_lines(struct textlist *tl, const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);

		while (l > MESSAGE_MAX_LINE) {
			size_t cut = 0, k;

			for (k = MESSAGE_MAX_LINE + 1; k-- > 0;)
				if (p[k] == ' ') {
					cut = k + 1;
					break;
				}
			if (cut == 0)
				cut = MESSAGE_MAX_LINE;
			textlist_add(tl, p, cut);
			p += cut;
			l -= cut;
		}
		textlist_add(tl, p, l);
		p += l;
	}
}

static long find_from(const char *s, size_t len, char c, size_t from)
{
	const char *q;

	if (from >= len)
		return -1;
	q = memchr(s + from, c, len - from);
	return q ? (long)(q - s) : -1;
}

/* split_into_array_of_short_paragraphs */
static void split_paragraphs(struct textlist *tl, const char *s, size_t len)
{
	size_t ofs = 0;
	long j;

	if (len <= MESSAGE_MAX_LINE) {
		textlist_add(tl, s, len);
		return;
	}
	for (; len - ofs > 2 * MESSAGE_MAX_LINE; ofs = (size_t)j + 1) {
		j = find_from(s, len, '\n', ofs + MESSAGE_MAX_LINE);
		if (j < 0 || (size_t)j - ofs + 1 > 2 * MESSAGE_MAX_LINE) {
			j = find_from(s, len, '>', ofs + MESSAGE_MAX_LINE);
			if (j < 0 || (size_t)j - ofs + 1 > 2 * MESSAGE_MAX_LINE) {
				j = find_from(s, len, ' ', ofs + MESSAGE_MAX_LINE);
				if (j < 0 ||
				    (size_t)j - ofs + 1 > 2 * MESSAGE_MAX_LINE)
					j = (long)(ofs + MESSAGE_MAX_LINE);
			}
		}
		textlist_add(tl, s + ofs, (size_t)j - ofs + 1);
	}
	if (ofs < len)
		textlist_add(tl, s + ofs, len - ofs);
}

/* truncate at the scan size, at a nearby boundary */
static size_t scan_truncate(const char *s, size_t len, size_t scan,
			    const char *seps)
{
	const char *c;

	if (len <= scan)
		return len;
	for (c = seps; *c; c++) {
		long idx = find_from(s, len, *c, scan);

		if (idx >= 0 && (size_t)idx - scan <= 1024)
			return (size_t)idx + 1;
	}
	return scan;
}

/* --------------------------------------------------------- MIME walk */

struct walk {
	struct message *msg;
	struct str text;	/* joined rendered parts */
	int text_started;
	struct textlist raw;
	struct str html_uris;	/* NUL separated */
	int leaves;
};

/*
 * Quoted-printable as SpamAssassin decodes it: trailing blanks of each
 * line go first, then soft line breaks, then =XX.
 */
static void qp_decode(const char *s, size_t len, struct str *out)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		if (c == ' ' || c == '\t') {
			size_t j = i;

			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if ((j < len && s[j] == '\n') ||
			    (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n')) {
				i = j;	/* trailing white space */
				continue;
			}
			str_append(out, s + i, j - i);
			i = j;
			continue;
		}
		if (c == '=') {
			size_t j = i + 1;

			/* "=" then blanks then newline: a soft line break
			   (the blanks were trailing, so they go first) */
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j < len && s[j] == '\r' && j + 1 < len &&
			    s[j + 1] == '\n') {
				i = j + 2;
				continue;
			}
			if (j < len && s[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (i + 2 < len && hexval(s[i + 1]) >= 0 &&
			    hexval(s[i + 2]) >= 0) {
				str_appendc(out, (char)(hexval(s[i + 1]) * 16 +
							hexval(s[i + 2])));
				i += 3;
				continue;
			}
		}
		str_appendc(out, c);
		i++;
	}
}

static void part_bytes(GMimePart *part, struct str *out)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (w == NULL)
		return;
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_get_encoding(w) ==
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		GMimeStream *raw = g_mime_data_wrapper_get_stream(w);

		if (raw != NULL && g_mime_stream_reset(raw) == 0 &&
		    g_mime_stream_write_to_stream(raw, mem) >= 0) {
			ba = g_mime_stream_mem_get_byte_array(
				GMIME_STREAM_MEM(mem));
			if (ba != NULL && ba->len > 0)
				qp_decode((const char *)ba->data, ba->len, out);
		}
		g_object_unref(mem);
		return;
	}
	if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		if (ba != NULL && ba->len > 0)
			str_append(out, ba->data, ba->len);
	}
	g_object_unref(mem);
}

static void walk_leaf(struct walk *w, GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	const char *charset = ct ? g_mime_content_type_get_parameter(ct,
								     "charset")
				 : NULL;
	int is_text, is_html, is_plain;
	struct str bytes = STR_INIT;

	if (type == NULL)
		type = "text";
	if (sub == NULL)
		sub = "plain";
	is_text = strcasecmp(type, "text") == 0;
	is_plain = is_text && strcasecmp(sub, "plain") == 0;
	is_html = is_text && strcasecmp(sub, "html") == 0;
	w->msg->n_parts++;
	if (w->text_started)
		str_appendc(&w->text, '\n');
	w->text_started = 1;
	if (!GMIME_IS_PART(obj))
		return;
	if (!(is_text || strcasecmp(type, "message") == 0))
		return;
	part_bytes(GMIME_PART(obj), &bytes);
	if (!(is_text && strcasecmp(sub, "calendar") == 0)) {
		size_t l = scan_truncate(bytes.s ? bytes.s : "", bytes.len,
					 MESSAGE_RAWBODY_SCAN, "\n> ");
		split_paragraphs(&w->raw, bytes.s ? bytes.s : "", l);
	}
	if (is_plain || is_html) {
		struct str u = STR_INIT, r = STR_INIT;
		const char *t;
		size_t tl;

		message_to_utf8(bytes.s ? bytes.s : "", bytes.len, charset, &u);
		if (is_html && u.len > 0) {
			w->msg->n_html_parts++;
			message_render_html(u.s, u.len, &r, &w->html_uris);
			t = r.s ? r.s : "";
			tl = r.len;
		} else {
			if (is_plain)
				w->msg->n_text_parts++;
			else
				w->msg->n_html_parts++;
			t = u.s ? u.s : "";
			tl = u.len;
		}
		tl = scan_truncate(t, tl, MESSAGE_BODY_SCAN, "\n ");
		str_append(&w->text, t, tl);
		str_deinit(&u);
		str_deinit(&r);
	}
	str_deinit(&bytes);
}

static void walk(struct walk *w, GMimeObject *obj, int depth)
{
	if (obj == NULL || depth > MESSAGE_MAX_DEPTH ||
	    w->leaves >= MESSAGE_MAX_PARTS)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);

		for (i = 0; i < n; i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));

		if (m != NULL)
			walk(w, g_mime_message_get_mime_part(m), depth + 1);
		return;
	}
	w->leaves++;
	walk_leaf(w, obj);
}

/* ------------------------------------------------------------ URIs */

static pthread_once_t uri_once = PTHREAD_ONCE_INIT;
static pcre2_code *uri_re;

#define TB_START "><\"'`,{[(|\\s\\x1b\\xa0"
#define TB_END "><\"`}\\]{[|\\s\\x1b\\xa0"
#define TB_END_EMAIL TB_END ",('\\x80-\\xff"
#define TB_END_AT TB_END_EMAIL "@"
#define TB_TLDS "(?:com|net|org|edu|gov|mil|int|info|biz|name|pro|aero|coop|" \
	"museum|mobi|asia|tel|travel|jobs|cat|xxx|app|dev|online|site|shop|" \
	"store|xyz|top|club|[a-z]{2})"

static void uri_compile(void)
{
	static const char pat[] =
	    "(?:\\b|(?<=\\x1b\\(.)|(?<=[" TB_START "]))"
	    "(?:(?:((?:(?:https?|ftp)://|(?:www\\d{0,2}|ftp)\\.)[^" TB_END
	    "]{1,2048})(?=(?:[" TB_END "]|\\z)))|"
	    "(?:((?:mailto:[^" TB_END_EMAIL "]{1,2048}|[^" TB_END_AT
	    "]{1,251}@[^" TB_END_EMAIL "]{1,251}))(?=(?:[" TB_END_EMAIL
	    "]|\\z)))|"
	    "(?:(?:^|(?<=[!\"#$&'()*+,/:;<=>?@\\[\\\\\\]^`{|}~\\s\\x1b\\xa0]))"
	    "(([a-z\\d][a-z\\d._-]{0,251}\\." TB_TLDS ")\\.?(?::\\d{1,5})?"
	    "(?:/[^" TB_END "]{1,2048})?)(?=(?:[" TB_END "]|\\z))))";
	int err;
	PCRE2_SIZE off;

	uri_re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
			       PCRE2_CASELESS, &err, &off, NULL);
	if (uri_re == NULL) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(err, buf, sizeof(buf));
		msg_panic("message: URI pattern: %s at %zu", buf, (size_t)off);
	}
	pcre2_jit_compile(uri_re, PCRE2_JIT_COMPLETE);
}

struct urilist {
	char **v;
	size_t n, cap;
};

static void urilist_add(struct urilist *ul, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < ul->n; i++)
		if (strlen(ul->v[i]) == len && memcmp(ul->v[i], s, len) == 0)
			return;
	if (ul->n == ul->cap) {
		ul->cap = ul->cap ? ul->cap * 2 : 16;
		ul->v = myrealloc(ul->v, ul->cap * sizeof(*ul->v));
	}
	ul->v[ul->n++] = mystrndup(s, len);
}

/* SpamAssassin's url_encode: decode harmless %XX, encode odd bytes */
static void url_unescape(const char *s, struct str *out)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			int hi = hexval(s[1]), v = hi * 16 + hexval(s[2]);

			if (hi >= 2 && hi <= 7 && v != 0x20 && v != 0x7f &&
			    !(strchr("0189aAbBcCdDeEfF", s[1]) != NULL)) {
				str_appendc(out, (char)v);
			} else {
				str_append(out, s, 3);
			}
			s += 2;
		} else if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%' ||
			   c == '<' || c == '>') {
			str_printf(out, "%%%02x", c);
		} else {
			str_appendc(out, (char)c);
		}
	}
}

static void uri_canonicalize(struct urilist *ul, const char *in, int depth);

static void uri_canon_http(struct urilist *ul, const char *nuri, int depth)
{
	const char *p = nuri, *proto_end, *hs, *he, *at;
	struct str host = STR_INIT, rest = STR_INIT, v = STR_INIT;
	char proto[16];
	size_t pl;
	int all_num = 1, dots = 0;

	proto_end = strstr(p, "://");
	if (proto_end == NULL)
		return;
	pl = (size_t)(proto_end + 3 - p);
	if (pl >= sizeof(proto))
		return;
	memcpy(proto, p, pl);
	proto[pl] = '\0';
	for (size_t i = 0; i < pl; i++)
		proto[i] = (char)tolower((unsigned char)proto[i]);
	hs = proto_end + 3;
	he = hs + strcspn(hs, "/?#");
	at = memchr(hs, '@', (size_t)(he - hs));
	if (at != NULL)
		hs = at + 1;
	{
		const char *colon = memchr(hs, ':', (size_t)(he - hs));
		const char *hend = colon ? colon : he;

		str_append(&host, hs, (size_t)(hend - hs));
		str_appends(&rest, hend);
		if (colon != NULL) {
			const char *port = colon + 1;
			size_t plen = (size_t)(he - port);

			if ((plen == 2 && !strncmp(port, "80", 2) &&
			     !strcmp(proto, "http://")) ||
			    (plen == 3 && !strncmp(port, "443", 3) &&
			     strcmp(proto, "http://") != 0)) {
				str_printf(&v, "%s%s%s", proto, host.s, he);
				urilist_add(ul, v.s, v.len);
				str_clear(&v);
			}
		}
	}
	if (at != NULL) {
		str_printf(&v, "%s%s%s", proto, host.s ? host.s : "",
			   rest.s ? rest.s : "");
		urilist_add(ul, v.s, v.len);
		str_clear(&v);
	}
	/* lower-case host variant (idn_to_ascii lower-cases) */
	if (host.len > 0) {
		int upper = 0;

		for (size_t i = 0; i < host.len; i++)
			if (isupper((unsigned char)host.s[i])) {
				upper = 1;
				host.s[i] = (char)tolower((unsigned char)host.s[i]);
			}
		if (upper) {
			str_printf(&v, "%s%s%s", proto, host.s,
				   rest.s ? rest.s : "");
			urilist_add(ul, v.s, v.len);
			str_clear(&v);
		}
	}
	/* trailing junk after the host name */
	while (host.len > 0 && !isalnum((unsigned char)host.s[host.len - 1])) {
		str_truncate(&host, host.len - 1);
		all_num = -1;
	}
	if (all_num == -1) {
		str_printf(&v, "%s%s%s", proto, host.s ? host.s : "",
			   rest.s ? rest.s : "");
		urilist_add(ul, v.s, v.len);
		str_clear(&v);
	}
	/* a decimal host name: 3232235777 -> 192.168.1.1 */
	all_num = host.len > 0;
	for (size_t i = 0; i < host.len; i++) {
		if (host.s[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)host.s[i]))
			all_num = 0;
	}
	if (all_num && dots == 0) {
		unsigned long long n = strtoull(host.s, NULL, 10) & 0xffffffffULL;

		str_printf(&v, "%s%llu.%llu.%llu.%llu%s", proto, n >> 24,
			   (n >> 16) & 255, (n >> 8) & 255, n & 255,
			   rest.s ? rest.s : "");
		urilist_add(ul, v.s, v.len);
		str_clear(&v);
	}
	/* a redirector: another URL inside the path or query */
	if (depth < 3 && rest.s != NULL) {
		const char *r = rest.s;

		for (; *r; r++) {
			if (strncasecmp(r, "http:", 5) == 0 ||
			    strncasecmp(r, "https:", 6) == 0) {
				size_t l = strcspn(r, "&#");
				char *t = mystrndup(r, l);

				if (strchr(t, '.') != NULL)
					uri_canonicalize(ul, t, depth + 1);
				free(t);
				break;
			}
		}
	}
	str_deinit(&host);
	str_deinit(&rest);
	str_deinit(&v);
}

/* uri_list_canonicalize for one URI: adds it and its variants */
static void uri_canonicalize(struct urilist *ul, const char *in, int depth)
{
	struct str u = STR_INIT, n = STR_INIT, t = STR_INIT;
	const char *p;

	for (p = in; *p; p++)
		if (*p != '\n' && *p != '\r')
			str_appendc(&u, *p);
	if (u.s == NULL)
		return;
	while (u.len > 0 && isspace((unsigned char)u.s[u.len - 1]))
		str_truncate(&u, u.len - 1);
	p = u.s;
	while (isspace((unsigned char)*p))
		p++;
	if (strlen(p) <= 1 || *p == '#' || *p == '?' || *p == '&' ||
	    (p[0] == '/' && p[1] != '/')) {
		str_deinit(&u);
		return;
	}
	urilist_add(ul, p, strlen(p));
	if (strncasecmp(p, "mailto:", 7) == 0 ||
	    (strchr(p, '@') != NULL && strchr(p, ':') == NULL) ||
	    (strchr(p, '@') && strchr(p, '@') < strchr(p, ':'))) {
		const char *q = strchr(p, '?');

		if (q != NULL && strchr(p, '@') != NULL &&
		    strchr(p, '@') < q)
			urilist_add(ul, p, (size_t)(q - p));
		str_deinit(&u);
		return;
	}
	str_appends(&n, p);
	for (size_t i = 0; i < n.len; i++)
		if (n.s[i] == '\\')
			n.s[i] = '/';
	/* http:/x and http:x -> http://x */
	{
		size_t sl = strncasecmp(n.s, "http:", 5) == 0 ? 5
			  : strncasecmp(n.s, "https:", 6) == 0 ? 6 : 0;

		if (sl > 0) {
			size_t k = sl;

			while (k < n.len && k < sl + 2 && n.s[k] == '/')
				k++;
			str_append(&t, n.s, sl);
			str_appends(&t, "//");
			str_appends(&t, n.s + k);
			str_clear(&n);
			str_append(&n, t.s, t.len);
			str_clear(&t);
		}
	}
	if (strchr(n.s, '%') != NULL) {
		url_unescape(n.s, &t);
		str_clear(&n);
		str_append(&n, t.s, t.len);
		str_clear(&t);
	}
	{
		const char *s = n.s;

		while (isalnum((unsigned char)*s) || *s == '-' || *s == '_')
			s++;
		if (*s != ':' || s == n.s) {
			str_appends(&t, strncmp(n.s, "ftp.", 4) == 0 ? "ftp://"
								   : "http://");
			str_append(&t, n.s, n.len);
			str_clear(&n);
			str_append(&n, t.s, t.len);
			str_clear(&t);
		}
	}
	/* http://host?x -> http://host/?x */
	if (strncasecmp(n.s, "http", 4) == 0) {
		const char *h = strstr(n.s, "://");

		if (h != NULL) {
			size_t k = (size_t)(h + 3 - n.s);

			k += strcspn(n.s + k, "/?#");
			if (k > (size_t)(h + 3 - n.s) &&
			    (n.s[k] == '?' || n.s[k] == '#')) {
				str_append(&t, n.s, k);
				str_appendc(&t, '/');
				str_appends(&t, n.s + k);
				str_clear(&n);
				str_append(&n, t.s, t.len);
				str_clear(&t);
			}
		}
	}
	if (strcmp(n.s, p) != 0)
		urilist_add(ul, n.s, n.len);
	if (strncasecmp(n.s, "http://", 7) == 0 ||
	    strncasecmp(n.s, "https://", 8) == 0)
		uri_canon_http(ul, n.s, depth);
	str_deinit(&u);
	str_deinit(&n);
	str_deinit(&t);
}

static int domain_has_tld(const char *host, size_t len)
{
	size_t i = len, k;

	while (i > 0 && host[i - 1] != '.')
		i--;
	if (i == 0 || len - i < 2)
		return 0;
	for (k = i; k < len; k++)
		if (!isalpha((unsigned char)host[k]))
			return 0;
	return 1;
}

static void uris_from_text(struct urilist *ul, const char *s, size_t len,
			   struct urilist *seen)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(uri_re,
								     NULL);
	PCRE2_SIZE start = 0;

	while (start <= len) {
		int rc = pcre2_match(uri_re, (PCRE2_SPTR)s, len, start, 0, md,
				     NULL);
		PCRE2_SIZE *ov;
		struct str raw = STR_INIT, uri = STR_INIT;
		int grp, is_mail, is_scheme;
		const char *par;

		if (rc < 0)
			break;
		ov = pcre2_get_ovector_pointer(md);
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		for (grp = 1; grp <= 3; grp++)
			if (rc > grp && ov[2 * grp] != PCRE2_UNSET)
				break;
		if (grp > 3)
			continue;
		is_scheme = grp == 1;
		is_mail = grp == 2;
		str_append(&raw, s + ov[2 * grp], ov[2 * grp + 1] - ov[2 * grp]);
		/* ")" ends it unless a "(" came first */
		par = strchr(raw.s, ')');
		if (par != NULL && memchr(raw.s, '(', (size_t)(par - raw.s)) == NULL)
			str_truncate(&raw, (size_t)(par - raw.s));
		while (raw.len > 0 &&
		       strchr("-~!@#^&*()_+=:;'?,.", raw.s[raw.len - 1]) != NULL)
			str_truncate(&raw, raw.len - 1);
		if (raw.len == 0) {
			str_deinit(&raw);
			continue;
		}
		{
			size_t i;
			int dup = 0;

			for (i = 0; i < seen->n; i++)
				if (strcmp(seen->v[i], raw.s) == 0)
					dup = 1;
			if (dup) {
				str_deinit(&raw);
				continue;
			}
			urilist_add(seen, raw.s, raw.len);
		}
		if ((is_mail && strchr(raw.s, '@') == NULL) ||
		    strncasecmp(raw.s, "cid:", 4) == 0 ||
		    strncasecmp(raw.s, "mid:", 4) == 0) {
			str_deinit(&raw);
			continue;
		}
		{
			const char *q = raw.s;

			while (isalnum((unsigned char)*q) || *q == '_')
				q++;
			if (q > raw.s && *q == ':') {
				const char *r = q + 1;

				while (*r == '/')
					r++;
				if (*r == '\0' && r - q - 1 <= 2) {
					str_deinit(&raw);
					continue;
				}
			}
		}
		(void)is_scheme;
		if (!(strncasecmp(raw.s, "http:", 5) == 0 ||
		      strncasecmp(raw.s, "https:", 6) == 0 ||
		      strncasecmp(raw.s, "ftp:", 4) == 0 ||
		      strncasecmp(raw.s, "mailto:", 7) == 0)) {
			const char *slash = strchr(raw.s, '/');
			const char *at = strchr(raw.s, '@');

			if (strncasecmp(raw.s, "ftp.", 4) == 0) {
				str_printf(&uri, "ftp://%s", raw.s);
			} else if (strncasecmp(raw.s, "www", 3) == 0 &&
				   strspn(raw.s + 3, "0123456789") <= 2 &&
				   raw.s[3 + strspn(raw.s + 3, "0123456789")] == '.') {
				str_printf(&uri, "http://%s", raw.s);
			} else if (slash != NULL && at != NULL && at > slash + 1) {
				str_printf(&uri, "http://%s", raw.s);
			} else if (at != NULL) {
				const char *a = raw.s;

				if (strchr(at, '.') == NULL || strstr(raw.s, "&nbsp;")) {
					str_deinit(&raw);
					continue;
				}
				/* strip common misparses */
				if (strncasecmp(a, "skype", 5) == 0)
					a += 5;
				else if (strncasecmp(a, "email", 5) == 0)
					a += 5;
				else if (strncasecmp(a, "e-mail", 6) == 0)
					a += 6;
				else if (strncasecmp(a, "mail", 4) == 0)
					a += 4;
				if (*a == ':') {
					while (*a == ':')
						a++;
				} else {
					a = raw.s;
				}
				str_printf(&uri, "mailto:%s", a);
			} else {
				if (strchr(raw.s, '.') == NULL) {
					str_deinit(&raw);
					continue;
				}
				str_printf(&uri, "http://%s", raw.s);
			}
		} else {
			str_append(&uri, raw.s, raw.len);
		}
		if (strncasecmp(uri.s, "mailto:", 7) == 0) {
			const char *at = strchr(uri.s, '@');
			size_t hl;

			if (at == NULL) {
				str_deinit(&raw);
				str_deinit(&uri);
				continue;
			}
			hl = strcspn(at + 1, "?&>");
			while (hl >= 3 && strncmp(at + 1 + hl - 3, "%20", 3) == 0)
				hl -= 3;
			if (!domain_has_tld(at + 1, hl)) {
				str_deinit(&raw);
				str_deinit(&uri);
				continue;
			}
		}
		uri_canonicalize(ul, uri.s, 0);
		str_deinit(&raw);
		str_deinit(&uri);
	}
	pcre2_match_data_free(md);
}

static void collect_uris(struct message *msg, const char *html_uris,
			 size_t html_len)
{
	struct urilist ul = { NULL, 0, 0 }, seen = { NULL, 0, 0 };
	size_t i;
	const char *p;

	pthread_once(&uri_once, uri_compile);
	for (i = 0; i < msg->n_body; i++)
		uris_from_text(&ul, msg->body[i].s, msg->body[i].len, &seen);
	for (p = html_uris; p < html_uris + html_len; p += strlen(p) + 1)
		uri_canonicalize(&ul, p, 0);
	for (i = 0; i < seen.n; i++)
		free(seen.v[i]);
	free(seen.v);
	msg->uris = ul.v ? ul.v : mycalloc(1, sizeof(char *));
	msg->n_uris = ul.n;
}

/* ------------------------------------------------------------ parse */

static int gmime_ready;

struct message *message_parse(const char *data, size_t len)
{
	struct message *msg = mycalloc(1, sizeof(*msg));
	struct walk w;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *gm;
	struct textlist body = { STR_INIT, NULL, NULL, 0, 0 };
	const char *subject;
	struct str ws = STR_INIT;

	if (!gmime_ready) {
		g_mime_init();
		gmime_ready = 1;
	}
	/* an mbox separator line is not part of the message */
	if (len >= 5 && memcmp(data, "From ", 5) == 0) {
		const char *nl = memchr(data, '\n', len);
		size_t skip = nl ? (size_t)(nl + 1 - data) : len;

		data += skip;
		len -= skip;
	}
	msg->full = mymalloc(len + 1);
	memcpy(msg->full, data, len);
	msg->full[len] = '\0';
	msg->full_len = len;
	parse_headers(msg);

	memset(&w, 0, sizeof(w));
	w.msg = msg;
	stream = g_mime_stream_mem_new_with_buffer(msg->full, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	gm = g_mime_parser_construct_message(parser, NULL);
	if (gm != NULL) {
		walk(&w, g_mime_message_get_mime_part(gm), 0);
		g_object_unref(gm);
	}
	g_object_unref(parser);
	g_object_unref(stream);

	/* the rendered body: Subject line, then the parts' text */
	subject = message_header_get(msg, "Subject");
	if (subject != NULL && subject[0] != '\0') {
		struct str sl = STR_INIT;

		str_appends(&sl, subject);
		str_appendc(&sl, '\n');
		split_lines(&body, sl.s, sl.len);
		str_deinit(&sl);
	} else {
		textlist_add(&body, "\n", 1);
	}
	sa_whitespace(w.text.s ? w.text.s : "", w.text.len, &ws);
	split_lines(&body, ws.s ? ws.s : "", ws.len);
	msg->body = textlist_finish(&body, &msg->n_body, &msg->body_buf);
	msg->rawbody = textlist_finish(&w.raw, &msg->n_rawbody,
				       &msg->rawbody_buf);
	collect_uris(msg, w.html_uris.s ? w.html_uris.s : "", w.html_uris.len);
	str_deinit(&ws);
	str_deinit(&w.text);
	str_deinit(&w.html_uris);
	return msg;
}

const char *message_body_text(struct message *msg)
{
	struct str sb = STR_INIT;
	size_t i;

	if (msg->text_buf != NULL)
		return msg->text_buf;
	for (i = 1; i < msg->n_body; i++)
		str_append(&sb, msg->body[i].s, msg->body[i].len);
	msg->text_buf = str_steal(&sb);
	return msg->text_buf;
}

void message_deinit(struct message **msgp)
{
	struct message *msg = *msgp;
	size_t i;

	if (msg == NULL)
		return;
	for (i = 0; i < msg->n_headers; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].raw);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	for (i = 0; i < msg->n_uris; i++)
		free(msg->uris[i]);
	free(msg->uris);
	free(msg->body);
	free(msg->rawbody);
	free(msg->body_buf);
	free(msg->rawbody_buf);
	free(msg->text_buf);
	free(msg->full);
	free(msg);
	*msgp = NULL;
}
