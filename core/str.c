/*
 * str - growable byte string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "mymalloc.h"
#include "msg.h"

void str_init(struct str *sb, size_t hint)
{
	sb->cap = hint < 16 ? 16 : hint;
	sb->s = mymalloc(sb->cap);
	sb->s[0] = '\0';
	sb->len = 0;
}

void str_deinit(struct str *sb)
{
	free(sb->s);
	sb->s = NULL;
	sb->len = sb->cap = 0;
}

void str_reserve(struct str *sb, size_t extra)
{
	size_t need;

	if (sb->s == NULL)
		str_init(sb, extra + 1);
	if (extra > (size_t)-1 / 2 - sb->len)
		msg_panic("str_reserve: size overflow");
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	while (sb->cap < need)
		sb->cap *= 2;
	sb->s = myrealloc(sb->s, sb->cap);
}

void str_append(struct str *sb, const void *data, size_t len)
{
	str_reserve(sb, len);
	if (len > 0)
		memcpy(sb->s + sb->len, data, len);
	sb->len += len;
	sb->s[sb->len] = '\0';
}

void str_appends(struct str *sb, const char *s)
{
	str_append(sb, s, strlen(s));
}

void str_vprintf(struct str *sb, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	str_reserve(sb, 64);
	va_copy(aq, ap);
	n = vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, aq);
	va_end(aq);
	if (n < 0)
		msg_panic("str_vprintf: bad format \"%s\"", fmt);
	if ((size_t)n >= sb->cap - sb->len) {
		str_reserve(sb, (size_t)n);
		n = vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
		if (n < 0)
			msg_panic("str_vprintf: bad format \"%s\"", fmt);
	}
	sb->len += (size_t)n;
}

void str_printf(struct str *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(sb, fmt, ap);
	va_end(ap);
}

void str_truncate(struct str *sb, size_t len)
{
	if (sb->s == NULL)
		str_init(sb, 0);
	if (len < sb->len) {
		sb->len = len;
		sb->s[len] = '\0';
	}
}

void str_clear(struct str *sb)
{
	str_truncate(sb, 0);
}

char *str_steal(struct str *sb)
{
	char *s;

	if (sb->s == NULL)
		str_init(sb, 0);
	s = sb->s;
	sb->s = NULL;
	sb->len = sb->cap = 0;
	return s;
}

const char *str_c(const struct str *sb)
{
	return sb->s ? sb->s : "";
}
