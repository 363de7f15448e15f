/*
 * lmtp_reply - turn a protocol-neutral failure kind into an LMTP reply.
 *
 * This is the only place where storage, policy and lookup failures
 * become reply codes and enhanced status codes (RFC 3463).  A reply
 * from a downstream LMTP server is relayed with its own code class.
 */
#include <ctype.h>
#include <string.h>

#include "lmtp_session.h"

static const struct {
	enum errkind kind;
	int code;
	const char *status;
	const char *text;
} kinds[] = {
	{ ERR_NONE, 250, "2.0.0", "ok" },
	{ ERR_TEMPORARY, 451, "4.2.0", "temporary failure" },
	{ ERR_PERMANENT, 550, "5.2.0", "permanent failure" },
	{ ERR_INTERNAL, 451, "4.3.0", "internal error" },
	{ ERR_NOSPACE, 452, "4.2.2", "mailbox full" },
	{ ERR_NOUSER, 550, "5.1.1", "user unknown" },
	{ ERR_BADADDR, 550, "5.1.3", "bad recipient address" },
	{ ERR_REFUSED, 550, "5.7.1", "refused" },
	{ ERR_TOOBIG, 552, "5.3.4", "message too big" },
};

/* keep a reason printable and on one line */
static void append_clean(struct str *out, const char *text)
{
	const unsigned char *s;
	size_t n = 0;

	for (s = (const unsigned char *)text; *s && n++ < 400; s++)
		str_appendc(out, (*s < 0x20 || *s == 0x7f) ? ' ' : (char)*s);
}

void lmtp_reply_for_error(struct str *out, enum errkind kind,
			  int remote_code, const char *remote_status,
			  const char *address, const char *reason)
{
	size_t i;
	int code;
	const char *status;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		i = 3;		/* unknown kind: internal error */
	code = kinds[i].code;
	status = kinds[i].status;

	/* a downstream server's verdict keeps its class */
	if (remote_code >= 200 && remote_code <= 599 &&
	    (remote_code / 100 == 2) == (kind == ERR_NONE)) {
		code = remote_code;
		if (remote_status && remote_status[0] &&
		    remote_status[0] - '0' == remote_code / 100)
			status = remote_status;
		else if (remote_code / 100 == 4)
			status = "4.0.0";
		else if (remote_code / 100 == 5)
			status = "5.0.0";
	}
	str_printf(out, "%d %s ", code, status);
	if (address)
		str_printf(out, "<%s> ", address);
	append_clean(out, reason && reason[0] ? reason : kinds[i].text);
	str_appends(out, "\r\n");
}
