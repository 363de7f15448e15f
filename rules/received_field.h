/*
 * received_field - what one Received: field says about the handover it
 * records: the client's address, its reverse DNS name and HELO, the
 * receiving host, the queue id, the ident and envelope sender if noted,
 * and whether the client authenticated.  No state between fields; the
 * trust walk over a message's fields is received.c's.
 */
#ifndef SPAMTRAP_RECEIVED_FIELD_H
#define SPAMTRAP_RECEIVED_FIELD_H

#include "received.h"

#define RECEIVED_FIELD_MAX	8192	/* bytes of one field that are read */

enum received_field_kind {
	RECEIVED_FIELD_RELAY,		/* a handover between hosts */
	RECEIVED_FIELD_LOCAL,		/* a local submission or a note:
					   no handover to judge */
	RECEIVED_FIELD_FETCHED,		/* a mail fetcher's (POP3, IMAP) */
	RECEIVED_FIELD_SCANNED,		/* qmail-scanner's note on the
					   handover in the next field */
	RECEIVED_FIELD_UNPARSEABLE,	/* a handover without an address or
					   without a receiving host */
};

/*
 * Read VALUE.  RELAY: *relay is filled (free with received_relay_free;
 * internal and msa are 0).  SCANNED: *envfrom_r is the envelope sender
 * qmail-scanner noted, or NULL; the caller frees it.  Otherwise nothing
 * is set.
 */
enum received_field_kind received_field_parse(const char *value,
					      struct received_relay *relay,
					      char **envfrom_r);

/*
 * The relay an originating_ip_headers field (X-Originating-IP and the
 * like) stands for: the first IP address in VALUE, nothing else known.
 * Returns 0 if VALUE holds no address.
 */
int received_field_originating(const char *value,
			       struct received_relay *relay);

#endif
