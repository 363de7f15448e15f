/*
 * netset - lists of IP networks, as SpamAssassin's trusted_networks,
 * internal_networks and msa_networks directives give them.
 *
 * Internal to the rule engine.  An entry is an IPv4 or IPv6 address with
 * an optional "/len" (or "/255.255.0.0" for IPv4), optionally in square
 * brackets and prefixed by "!" (an exclusion).  IPv4 accepts the short
 * forms "10." (10.0.0.0/8), "192.168" and "192.168." (/16), "10.0.1"
 * (/24), and "192.168/16".  IPv4 networks are kept as IPv4-mapped IPv6
 * networks, so "::ffff:10.0.0.0/104" and "10/8" are the same entry.
 *
 * As in SpamAssassin (without Net::Patricia), the first entry that
 * contains an address decides, and an entry that lies inside an earlier
 * one is dropped: list the narrower entries first
 * ("!10.0.1.5 10.0.1/24").  Ranges "a-b" are not supported (SpamAssassin
 * needs Net::CIDR::Lite for them).  No name resolution.
 */
#ifndef SPAMTRAP_NETSET_H
#define SPAMTRAP_NETSET_H

#include <stddef.h>

struct netset;

/* an empty set; with LOOPBACK, 127.0.0.0/8 and ::1 are its first entries
   (SpamAssassin always trusts them) */
struct netset *netset_new(int loopback);
void netset_deinit(struct netset **nsp);
/* back to what netset_new(LOOPBACK) gives */
void netset_clear(struct netset *ns, int loopback);

/* add one entry: 1 added, 0 dropped because an earlier entry covers it
   (*error_r says so), -1 not an address (*error_r set) */
int netset_add(struct netset *ns, const char *entry, const char **error_r);

/* IP (as in a relay: "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4") is in
   the set; an unparsable IP is not */
int netset_contains(const struct netset *ns, const char *ip);

/* entries, loopback ones included */
size_t netset_count(const struct netset *ns);

#endif
