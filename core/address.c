/*
 * address - recipient parsing and path templates.
 */
#include <ctype.h>
#include <string.h>

#include "address.h"
#include "errkind.h"
#include "mymalloc.h"

const char *errkind_name(enum errkind kind)
{
	switch (kind) {
	case ERR_NONE: return "ok";
	case ERR_TEMPORARY: return "temporary";
	case ERR_PERMANENT: return "permanent";
	case ERR_INTERNAL: return "internal";
	case ERR_NOSPACE: return "nospace";
	case ERR_NOUSER: return "nouser";
	case ERR_BADADDR: return "badaddr";
	case ERR_REFUSED: return "refused";
	case ERR_TOOBIG: return "toobig";
	}
	return "unknown";
}

int address_path_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || *p == '.')
		return 0;
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return 0;
	}
	return 1;
}

int address_parse(const char *addr, const char *delimiters,
		  struct address *a, const char **error_r)
{
	const char *at, *s;
	struct str local = STR_INIT;
	size_t len = strlen(addr), dpos;
	char *domain;

	memset(a, 0, sizeof(*a));
	if (len == 0) {
		*error_r = "empty address";
		return -1;
	}
	if (len > ADDRESS_MAX) {
		*error_r = "address too long";
		return -1;
	}
	at = strrchr(addr, '@');
	if (at == addr) {
		*error_r = "empty local part";
		return -1;
	}
	/* local part: unquote "..." with \-escapes */
	str_init(&local, len + 1);
	if (addr[0] == '"') {
		for (s = addr + 1; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			str_appendc(&local, *s);
		}
		if (*s != '"' || (at != NULL && s + 1 != at) ||
		    (at == NULL && s[1] != '\0')) {
			str_deinit(&local);
			*error_r = "bad quoted local part";
			return -1;
		}
	} else {
		str_append(&local, addr, at ? (size_t)(at - addr) : len);
	}
	if (at != NULL && at[1] == '\0') {
		str_deinit(&local);
		*error_r = "empty domain";
		return -1;
	}
	domain = mystrdup(at ? at + 1 : "");
	for (s = domain; *s; s++)
		domain[s - domain] = (char)tolower((unsigned char)*s);
	if (domain[0] != '\0' &&
	    (!address_path_safe(domain) || strstr(domain, "..") != NULL)) {
		str_deinit(&local);
		free(domain);
		*error_r = "domain not allowed";
		return -1;
	}
	/* detail: from the first delimiter character on */
	dpos = delimiters[0] ? strcspn(local.s, delimiters) : local.len;
	if (dpos < local.len) {
		a->detail = mystrdup(local.s + dpos + 1);
		str_truncate(&local, dpos);
	} else {
		a->detail = mystrdup("");
	}
	a->local = str_steal(&local);
	a->domain = domain;
	if (!address_path_safe(a->local) || strstr(a->local, "..") ||
	    memchr(a->detail, '/', strlen(a->detail)) ||
	    (a->detail[0] && !address_path_safe(a->detail))) {
		address_deinit(a);
		*error_r = "local part not allowed";
		return -1;
	}
	if (a->domain[0]) {
		struct str u = STR_INIT;

		str_printf(&u, "%s@%s", a->local, a->domain);
		a->user = str_steal(&u);
	} else {
		a->user = mystrdup(a->local);
	}
	return 0;
}

void address_deinit(struct address *a)
{
	MYFREE(&a->local);
	MYFREE(&a->detail);
	MYFREE(&a->domain);
	MYFREE(&a->user);
}

int address_expand(const char *tmpl, const struct address *a,
		   struct str *out, const char **error_r)
{
	const char *s;

	for (s = tmpl; *s; s++) {
		if (*s != '%') {
			str_appendc(out, *s);
			continue;
		}
		switch (*++s) {
		case 'u': str_appends(out, a->user); break;
		case 'n': str_appends(out, a->local); break;
		case 'd': str_appends(out, a->domain); break;
		case '%': str_appendc(out, '%'); break;
		default:
			*error_r = "unknown % sequence (use %u, %n, %d or %%)";
			return -1;
		}
	}
	return 0;
}
