/*
 * str - growable byte string, always NUL-terminated.
 *
 * Everything built at run time goes through this type; there are no
 * fixed buffers filled with strcpy or sprintf.  A string may contain NUL
 * bytes; str_c() is only meaningful for text.
 */
#ifndef SPAMTRAP_STR_H
#define SPAMTRAP_STR_H

#include <stddef.h>
#include <stdarg.h>

struct str {
	char *s;		/* always NUL-terminated */
	size_t len;
	size_t cap;
};

#define STR_INIT { NULL, 0, 0 }

void str_init(struct str *sb, size_t hint);
void str_deinit(struct str *sb);
void str_reserve(struct str *sb, size_t extra);
void str_append(struct str *sb, const void *data, size_t len);
void str_appends(struct str *sb, const char *s);

/* one byte: inline, the renderers call it once per character */
static inline void str_appendc(struct str *sb, char c)
{
	if (sb->s == NULL || sb->len + 2 > sb->cap)
		str_reserve(sb, 1);
	sb->s[sb->len++] = c;
	sb->s[sb->len] = '\0';
}

void str_printf(struct str *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void str_vprintf(struct str *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void str_truncate(struct str *sb, size_t len);
void str_clear(struct str *sb);
/* hand the buffer to the caller (NUL-terminated, never NULL); sb is emptied */
char *str_steal(struct str *sb);
const char *str_c(const struct str *sb);

#endif
