/*
 * errkind - protocol-neutral kinds of per-recipient failure.
 *
 * Storage and policy code return one of these with an error string;
 * exactly one function in lmtpd (lmtp_reply_for_error) turns a kind into
 * an LMTP reply code and enhanced status code.
 */
#ifndef SPAMTRAP_ERRKIND_H
#define SPAMTRAP_ERRKIND_H

enum errkind {
	ERR_NONE = 0,
	ERR_TEMPORARY,		/* try again later: 451 4.x.x */
	ERR_PERMANENT,		/* will never work: 550 5.x.x */
	ERR_INTERNAL,		/* our own fault (bug, resource): 451 4.3.0 */
	ERR_NOSPACE,		/* disk full or over quota: 452 4.2.2 */
	ERR_NOUSER,		/* no such user: 550 5.1.1 */
	ERR_BADADDR,		/* address not acceptable: 550 5.1.3 */
	ERR_REFUSED,		/* refused by policy: 550 5.7.1 */
	ERR_TOOBIG,		/* message too large: 552 5.3.4 */
};

const char *errkind_name(enum errkind kind);

#endif
