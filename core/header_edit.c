/*
 * header_edit - edit the header block of a raw message.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "header_edit.h"

/* does [p, end) start with a header field name and a colon? */
static int is_field_start(const char *p, const char *end)
{
	const char *s = p;

	while (s < end && *s != ':' && *s != '\n' &&
	       (unsigned char)*s > ' ' && (unsigned char)*s < 127)
		s++;
	return s > p && s < end && *s == ':';
}

size_t header_edit_block_len(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	if (len == 0 || !is_field_start(msg, end))
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return len;
		if (nl + 1 < end && nl[1] == '\n')
			return (size_t)(nl + 1 - msg);
		p = nl + 1;
		if (p < end && *p != ' ' && *p != '\t' && !is_field_start(p, end))
			return (size_t)(p - msg);	/* not a header line */
	}
	return len;
}

/* the end of the field starting at P (after its last line's LF) */
static const char *field_end(const char *p, const char *end)
{
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return end;
		p = nl + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

static int name_matches(const char *field, const char *name)
{
	size_t nlen = strlen(name);
	const char *colon = strchr(field, ':');
	size_t flen;

	if (colon == NULL)
		return 0;
	flen = (size_t)(colon - field);
	if (nlen > 0 && name[nlen - 1] == '*')
		return flen >= nlen - 1 && strncasecmp(field, name, nlen - 1) == 0;
	return flen == nlen && strncasecmp(field, name, nlen) == 0;
}

int header_edit_remove(struct str *msg, const char *name)
{
	size_t hlen = header_edit_block_len(msg->s, msg->len), pos = 0;
	int n = 0;

	while (pos < hlen) {
		const char *p = msg->s + pos;
		size_t flen = (size_t)(field_end(p, msg->s + hlen) - p);

		if (name_matches(p, name)) {
			memmove(msg->s + pos, msg->s + pos + flen,
				msg->len - pos - flen);
			msg->len -= flen;
			msg->s[msg->len] = '\0';
			hlen -= flen;
			n++;
		} else {
			pos += flen;
		}
	}
	return n;
}

int header_edit_get(const char *msg, size_t len, const char *name,
		    struct str *value_r)
{
	size_t hlen = header_edit_block_len(msg, len), pos = 0;

	while (pos < hlen) {
		const char *p = msg + pos, *fend = field_end(p, msg + hlen);

		if (name_matches(p, name)) {
			const char *v = (const char *)memchr(p, ':', (size_t)(fend - p)) + 1;
			size_t start;

			str_clear(value_r);
			for (; v < fend; v++) {
				if (*v == '\n')
					continue;	/* unfold */
				str_appendc(value_r, *v);
			}
			start = 0;
			while (start < value_r->len &&
			       (value_r->s[start] == ' ' || value_r->s[start] == '\t'))
				start++;
			while (value_r->len > start &&
			       isspace((unsigned char)value_r->s[value_r->len - 1]))
				value_r->len--;
			memmove(value_r->s, value_r->s + start, value_r->len - start);
			value_r->len -= start;
			value_r->s[value_r->len] = '\0';
			return 1;
		}
		pos = (size_t)(fend - msg);
	}
	return 0;
}

static void insert_at(struct str *msg, size_t pos, const char *text, size_t n)
{
	str_reserve(msg, n);
	memmove(msg->s + pos + n, msg->s + pos, msg->len - pos);
	memcpy(msg->s + pos, text, n);
	msg->len += n;
	msg->s[msg->len] = '\0';
}

void header_edit_prepend(struct str *msg, const char *text)
{
	insert_at(msg, 0, text, strlen(text));
}

void header_edit_tag_subject(struct str *msg, const char *prefix)
{
	size_t hlen = header_edit_block_len(msg->s, msg->len), pos = 0;
	struct str field = STR_INIT;

	while (pos < hlen) {
		const char *p = msg->s + pos;
		const char *fend = field_end(p, msg->s + hlen);

		if (name_matches(p, "Subject")) {
			size_t at = (size_t)((const char *)memchr(p, ':', (size_t)(fend - p)) -
					     msg->s) + 1;

			while (at < msg->len && (msg->s[at] == ' ' || msg->s[at] == '\t'))
				at++;
			str_printf(&field, "%s%s", prefix,
				   msg->s[at] == '\n' ? "" : " ");
			if (at > 0 && msg->s[at - 1] == ':') {
				insert_at(msg, at, " ", 1);
				at++;
			}
			insert_at(msg, at, field.s, field.len);
			str_deinit(&field);
			return;
		}
		pos = (size_t)(fend - msg->s);
	}
	str_printf(&field, "Subject: %s\n", prefix);
	/* at the end of the header block; a message without one gets it first */
	if (hlen > 0 && msg->s[hlen - 1] != '\n')
		insert_at(msg, hlen++, "\n", 1);
	insert_at(msg, hlen, field.s, field.len);
	str_deinit(&field);
}
