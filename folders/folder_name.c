/*
 * folder_name - folder name checks, modified UTF-7, Maildir++ names.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "folder_name.h"

#define NAME_MAX_BYTES	255	/* one directory entry */

static const char mutf7_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int mutf7_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static int is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Decode one UTF-8 character; returns its length or -1. */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	int n, i;

	if (len == 0)
		return -1;
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		n = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if ((size_t)n > len)
		return -1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*cp_r = cp;
	return n;
}

static void utf8_encode(struct str *out, uint32_t cp)
{
	if (cp < 0x80) {
		str_appendc(out, (char)cp);
	} else if (cp < 0x800) {
		str_appendc(out, (char)(0xc0 | (cp >> 6)));
		str_appendc(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		str_appendc(out, (char)(0xe0 | (cp >> 12)));
		str_appendc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_appendc(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		str_appendc(out, (char)(0xf0 | (cp >> 18)));
		str_appendc(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		str_appendc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_appendc(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/* base64 output state for one encoded run */
struct b64_state {
	uint32_t bits;
	unsigned int nbits;
};

static void b64_put16(struct str *out, struct b64_state *b, uint32_t unit)
{
	b->bits = (b->bits << 16) | unit;
	b->nbits += 16;
	while (b->nbits >= 6) {
		b->nbits -= 6;
		str_appendc(out, mutf7_alphabet[(b->bits >> b->nbits) & 0x3f]);
	}
	b->bits &= (1u << b->nbits) - 1;
}

int folder_name_utf8_to_mutf7(const char *in, size_t len, struct str *out,
			      const char **error_r)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	while (i < len) {
		struct b64_state b = { 0, 0 };

		if (is_printable(s[i])) {
			if (s[i] == '&')
				str_appends(out, "&-");
			else
				str_appendc(out, (char)s[i]);
			i++;
			continue;
		}
		/* one run for all the following non-printable characters */
		str_appendc(out, '&');
		while (i < len && !is_printable(s[i])) {
			uint32_t cp;
			int n = utf8_decode(s + i, len - i, &cp);

			if (n < 0) {
				*error_r = "invalid UTF-8";
				return -1;
			}
			i += (size_t)n;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				b64_put16(out, &b, 0xd800 | (cp >> 10));
				b64_put16(out, &b, 0xdc00 | (cp & 0x3ff));
			} else {
				b64_put16(out, &b, cp);
			}
		}
		if (b.nbits > 0)
			str_appendc(out, mutf7_alphabet[(b.bits << (6 - b.nbits)) & 0x3f]);
		str_appendc(out, '-');
	}
	return 0;
}

int folder_name_mutf7_to_utf8(const char *in, size_t len, struct str *out,
			      const char **error_r)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, run_end = (size_t)-1;

	while (i < len) {
		uint32_t bits = 0, high = 0;
		unsigned int nbits = 0, units = 0;

		if (!is_printable(s[i])) {
			*error_r = "8-bit or control byte in modified UTF-7";
			return -1;
		}
		if (s[i] != '&') {
			str_appendc(out, (char)s[i++]);
			continue;
		}
		if (i + 1 < len && s[i + 1] == '-') {
			str_appendc(out, '&');
			i += 2;
			continue;
		}
		if (i == run_end) {
			*error_r = "adjacent base64 runs in modified UTF-7";
			return -1;
		}
		for (i++; i < len && s[i] != '-'; i++) {
			int v = mutf7_value(s[i]);
			uint32_t unit;

			if (v < 0) {
				*error_r = "bad base64 character in modified UTF-7";
				return -1;
			}
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			unit = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			units++;
			if (high != 0) {
				if (unit < 0xdc00 || unit > 0xdfff) {
					*error_r = "unpaired UTF-16 surrogate in modified UTF-7";
					return -1;
				}
				utf8_encode(out, 0x10000 + ((high - 0xd800) << 10) +
					    (unit - 0xdc00));
				high = 0;
			} else if (unit >= 0xd800 && unit <= 0xdbff) {
				high = unit;
			} else if (unit >= 0xdc00 && unit <= 0xdfff) {
				*error_r = "unpaired UTF-16 surrogate in modified UTF-7";
				return -1;
			} else if (unit == 0 ||
				   (unit < 0x80 && is_printable((unsigned char)unit))) {
				*error_r = "printable ASCII or NUL encoded in base64 in modified UTF-7";
				return -1;
			} else {
				utf8_encode(out, unit);
			}
		}
		if (i >= len) {
			*error_r = "unterminated base64 run in modified UTF-7";
			return -1;
		}
		if (units == 0 || nbits >= 6 || bits != 0) {
			*error_r = "bad base64 padding in modified UTF-7";
			return -1;
		}
		if (high != 0) {
			*error_r = "unpaired UTF-16 surrogate in modified UTF-7";
			return -1;
		}
		run_end = ++i;
	}
	return 0;
}

int folder_name_is_inbox(const char *name)
{
	return name == NULL || name[0] == '\0' || strcasecmp(name, "INBOX") == 0;
}

/* check one level of a folder name (LEN bytes at P) */
static int check_level(const char *p, size_t len, const char **error_r)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i;

	if (len == 0) {
		*error_r = "empty folder level ('/' at the start or end, or \"//\")";
		return -1;
	}
	if (s[0] == '.') {
		*error_r = "folder level starts with '.'";
		return -1;
	}
	if (s[0] == '~') {
		*error_r = "folder level starts with '~'";
		return -1;
	}
	for (i = 0; i < len; ) {
		uint32_t cp;
		int n = utf8_decode(s + i, len - i, &cp);

		if (n < 0) {
			*error_r = "folder name is not valid UTF-8";
			return -1;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			*error_r = "control character in folder name";
			return -1;
		}
		if (cp == FOLDER_NAME_MAILDIR_SEP) {
			*error_r = "'.' in a folder level (the Maildir++ separator)";
			return -1;
		}
		if (cp == '*' || cp == '%') {
			*error_r = "IMAP wildcard ('*' or '%') in folder name";
			return -1;
		}
		i += (size_t)n;
	}
	return 0;
}

int folder_name_check(const char *name, const char **error_r)
{
	struct str tmp = STR_INIT;
	int ret;

	str_init(&tmp, 64);
	ret = folder_name_maildir(name, &tmp, error_r);
	str_deinit(&tmp);
	return ret;
}

int folder_name_maildir(const char *name, struct str *out,
			const char **error_r)
{
	size_t start = out->len, len;
	const char *p, *end;

	if (name == NULL || name[0] == '\0') {
		*error_r = "empty folder name";
		return -1;
	}
	len = strlen(name);
	if (len > FOLDER_NAME_MAX) {
		*error_r = "folder name too long";
		return -1;
	}
	for (p = name;; p = end + 1) {
		end = strchr(p, FOLDER_NAME_SEP);
		if (end == NULL)
			end = name + len;
		if (check_level(p, (size_t)(end - p), error_r) < 0)
			goto fail;
		str_appendc(out, FOLDER_NAME_MAILDIR_SEP);
		if (folder_name_utf8_to_mutf7(p, (size_t)(end - p), out,
					      error_r) < 0)
			goto fail;
		if (*end == '\0')
			break;
	}
	if (out->len - start > NAME_MAX_BYTES) {
		*error_r = "folder name too long for a Maildir++ directory name";
		goto fail;
	}
	return 0;
fail:
	str_truncate(out, start);
	return -1;
}
