/*
 * store - parse a store spec and hand deliveries to its backend.
 */
#include <stdarg.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "store_private.h"
#include "str.h"

static const struct {
	const char *scheme;
	struct store *(*init)(const char *args, char **error_r);
} store_backends[] = {
	{ "maildir", store_maildir_init },
	{ "lmtp", store_lmtp_init },
};

struct store *store_init(const char *spec, char **error_r)
{
	const char *colon = strchr(spec, ':');
	size_t i, len;

	*error_r = NULL;
	if (colon == NULL) {
		struct str e = STR_INIT;

		str_printf(&e, "store \"%s\": expected maildir:PATH or "
			   "lmtp:HOST:PORT or lmtp:unix:PATH", spec);
		*error_r = str_steal(&e);
		return NULL;
	}
	len = (size_t)(colon - spec);
	for (i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++) {
		if (strlen(store_backends[i].scheme) == len &&
		    strncmp(spec, store_backends[i].scheme, len) == 0)
			return store_backends[i].init(colon + 1, error_r);
	}
	{
		struct str e = STR_INIT;

		str_printf(&e, "store \"%s\": unknown type \"%.*s\" "
			   "(use maildir or lmtp)", spec, (int)len, spec);
		*error_r = str_steal(&e);
	}
	return NULL;
}

void store_deinit(struct store **store)
{
	if (*store == NULL)
		return;
	(*store)->deinit(*store);
	*store = NULL;
}

const char *store_type(const struct store *store)
{
	return store->type;
}

void store_rcpt_clear(struct store_rcpt *rcpt)
{
	MYFREE(&rcpt->error);
	MYFREE(&rcpt->location);
	rcpt->kind = ERR_NONE;
	rcpt->remote_code = 0;
	rcpt->remote_status[0] = '\0';
}

void store_deliver(struct store *store, const struct store_envelope *env,
		   struct store_rcpt *rcpts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (rcpts[i].msg == NULL)
			msg_panic("store_deliver: recipient %zu has no message", i);
		store_rcpt_clear(&rcpts[i]);
		store_rcpt_fail(&rcpts[i], ERR_INTERNAL,
				"%s store did not handle this recipient",
				store->type);
	}
	store->deliver(store, env, rcpts, n);
	for (i = 0; i < n; i++) {
		if (rcpts[i].kind == ERR_NONE && rcpts[i].error != NULL)
			msg_panic("store_deliver: recipient %zu stored with "
				  "an error", i);
		if (rcpts[i].kind != ERR_NONE && rcpts[i].error == NULL)
			msg_panic("store_deliver: recipient %zu failed "
				  "without a reason", i);
	}
}

void store_rcpt_fail(struct store_rcpt *rcpt, enum errkind kind,
		     const char *fmt, ...)
{
	struct str e = STR_INIT;
	va_list ap;

	if (kind == ERR_NONE)
		msg_panic("store_rcpt_fail: kind ERR_NONE");
	va_start(ap, fmt);
	str_vprintf(&e, fmt, ap);
	va_end(ap);
	MYFREE(&rcpt->error);
	MYFREE(&rcpt->location);
	rcpt->error = str_steal(&e);
	rcpt->kind = kind;
}

void store_rcpt_stored(struct store_rcpt *rcpt, const char *location)
{
	MYFREE(&rcpt->error);
	MYFREE(&rcpt->location);
	rcpt->kind = ERR_NONE;
	rcpt->location = mystrdup(location);
}

const struct address *store_rcpt_address(const struct store_rcpt *rcpt,
					 struct address *tmp,
					 const char **error_r)
{
	memset(tmp, 0, sizeof(*tmp));
	if (rcpt->addr != NULL)
		return rcpt->addr;
	if (address_parse(rcpt->address, var_recipient_delimiter, tmp,
			  error_r) < 0)
		return NULL;
	return tmp;
}

int store_text_safe(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}
