/*
 * address - recipient addresses and the users and paths they map to.
 *
 * "Alice+Spam@Example.ORG" with recipient_delimiter "+" gives
 * local "Alice", detail "Spam", domain "example.org", and user
 * (%u) "Alice@example.org"; %n is the local part, %d the domain.
 * Anything that could escape a path built from these is refused.
 */
#ifndef SPAMTRAP_ADDRESS_H
#define SPAMTRAP_ADDRESS_H

#include "str.h"

#define ADDRESS_MAX	320	/* RFC 5321: 64 local + @ + 255 domain */

struct address {
	char *local;		/* without detail, unquoted */
	char *detail;		/* "" when none */
	char *domain;		/* lowercased, "" when none */
	char *user;		/* local@domain, or local when no domain */
};

/*
 * Split ADDR (no angle brackets) with DELIMITERS (any of these
 * characters starts the detail; empty: no detail).  Returns 0, or -1
 * with a static reason in *error_r.
 */
int address_parse(const char *addr, const char *delimiters,
		  struct address *a, const char **error_r);
void address_deinit(struct address *a);

/*
 * Expand %u (user), %n (local part), %d (domain), %% in TMPL into OUT.
 * Returns -1 with a static reason on an unknown % sequence.
 */
int address_expand(const char *tmpl, const struct address *a,
		   struct str *out, const char **error_r);

/* 1 if s is safe as a single path component (no /, .., control bytes) */
int address_path_safe(const char *s);

#endif
