/*
 * digest_mail - the pending-messages notification as a MIME message:
 * multipart/alternative with a text/plain and a text/html part, both
 * UTF-8, both listing the same messages (date, sender, subject, score,
 * incident id) and saying how to release one.  Built with GMime.
 */
#ifndef SPAMTRAP_DIGEST_MAIL_H
#define SPAMTRAP_DIGEST_MAIL_H

#include <stddef.h>
#include <time.h>

#include "qstore.h"
#include "str.h"

struct digest_mail {
	const char *user;		/* whose trap */
	const char *to;			/* where it goes */
	const char *from;		/* the From: address */
	const char *folder;		/* quarantine folder, for the text */
	const struct qstore_incident *items;	/* newest first */
	size_t n;			/* listed */
	size_t total;			/* pending in all (>= n) */
	time_t now;
};

/* the message, LF line ends, appended to OUT */
void digest_mail_build(const struct digest_mail *d, struct str *out);

#endif
