/*
 * received - the relays of a message, as SpamAssassin 4.0 derives them
 * from its Received: header fields.
 *
 * Internal to the rule engine; no network I/O (the rDNS of a relay is the
 * one written in the header, as in SpamAssassin).  Each Received: field,
 * newest first, is read into a relay
 *	[ ip=1.2.3.4 rdns=host.example helo=helo.example by=mx.example
 *	  ident= envfrom= intl=0 id=4F2A3B auth= msa=0 ]
 * or skipped (a local handover, a fetchmail or qmail-scanner line), or
 * found unparseable (received_field.h says how).  The values of the
 * originating_ip_headers (default X-Originating-IP and the like, from the
 * stock rules) are appended as relays with only an ip.
 *
 * Walking the relays from the newest, each one is trusted while the
 * chain of trust holds, and internal while it holds for internal_networks:
 *   - with neither trusted_networks nor internal_networks configured,
 *     a relay from a private address (10/8, 127/8, 169.254/16,
 *     172.16/12, 192.168/16, 100.64/10, fe80::/10, ::1 and their
 *     IPv4-mapped forms) or with authentication (ESMTPA and the like)
 *     keeps both; the first other relay is untrusted and external, and
 *     so is every older one;
 *   - otherwise (one set stands for the other when only one is given;
 *     127/8 and ::1 are always in both) a relay is trusted if it
 *     authenticated or its address is in trusted_networks, and internal
 *     if it is trusted and authenticated or in internal_networks; a relay
 *     in msa_networks ends the walk: every older relay takes its
 *     classification.
 * A mail-fetcher line (with POP3 / IMAP) met while still trusted starts
 * the lists anew.  The four pseudo-headers X-Spam-Relays-Trusted,
 * -Untrusted, -Internal and -External are the relay strings joined with
 * one space ("" when none).
 *
 * Bounds SpamAssassin does not have: the first 200 Received: fields of a
 * message are looked at, and the first 8 KiB of each.
 */
#ifndef SPAMTRAP_RECEIVED_H
#define SPAMTRAP_RECEIVED_H

#include <stddef.h>

#include "message.h"
#include "str.h"

/* the trust settings, one per rule set */
struct received_conf;

struct received_conf *received_conf_new(void);
void received_conf_deinit(struct received_conf **confp);

/*
 * A rule-file directive: trusted_networks, internal_networks,
 * msa_networks (entries as netset.h reads them, space separated),
 * clear_trusted_networks, clear_internal_networks, clear_msa_networks,
 * originating_ip_headers NAME..., clear_originating_ip_headers.
 * Returns 0 if KEY is none of them.  Otherwise 1, having called REPORT
 * for each problem (ERROR 1: a bad entry, skipped; 0: a warning, such as
 * an entry already covered by an earlier one).
 */
typedef void received_report_fn(void *ctx, int error, const char *text);
int received_conf_directive(struct received_conf *conf, const char *key,
			    const char *value, received_report_fn *report,
			    void *ctx);

/* one relay, its fields with SpamAssassin's substitutions done (blanks,
   brackets, '#', '|' and the like in ip, rdns, helo, by, ident and
   envfrom become '!') */
struct received_relay {
	char *ip, *rdns, *helo, *by, *ident, *id, *auth;
	char *envfrom;		/* NULL: none in the header */
	int ip_private;		/* IP in a private range (see above) */
	int internal, msa;
};

enum received_line {
	RECEIVED_RELAY,		/* *relay filled */
	RECEIVED_SKIPPED,	/* not a handover between hosts */
	RECEIVED_UNPARSEABLE,
};

/* parse one Received: value (unfolded or not) on its own, without the
   state carried between fields; received_relay_free() frees *relay */
enum received_line received_parse_line(const char *value,
				       struct received_relay *relay);
void received_relay_free(struct received_relay *relay);
/* "[ ip=... msa=0 ]" appended to OUT */
void received_relay_str(const struct received_relay *relay, struct str *out);

/* the relays of one message */
struct received;

enum received_list {
	RECEIVED_TRUSTED,
	RECEIVED_UNTRUSTED,
	RECEIVED_INTERNAL,
	RECEIVED_EXTERNAL,
	RECEIVED_LIST_COUNT,
};

struct received *received_parse(const struct received_conf *conf,
				const struct message *msg);
void received_deinit(struct received **rcvp);

/* X-Spam-Relays-Trusted and the like */
const char *received_relays_str(const struct received *rcv,
				enum received_list list);
size_t received_count(const struct received *rcv, enum received_list list);
const struct received_relay *received_relay(const struct received *rcv,
					    enum received_list list,
					    size_t i);
size_t received_unparseable(const struct received *rcv);

/* the index, counted from the top from 0, of the last Received: field
   before the trust (INTERNAL 0) or internal (1) boundary; -1 if the first
   field is already past it.  ALL-TRUSTED and the like are cut there. */
int received_boundary(const struct received *rcv, int internal);

/* SpamAssassin's envelope sender from the relays: the envfrom of the
   newest untrusted relay, or of the oldest trusted one if none is
   untrusted, if it holds an '@' after its first character or is empty;
   else NULL */
const char *received_envfrom(const struct received *rcv);

#endif
