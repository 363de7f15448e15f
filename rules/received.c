/*
 * received - Received: fields parsed into relays, and the trust walk.
 *
 * SpamAssassin recognises the many Received: formats in the wild with an
 * ordered list of regular expressions; its results depend on that order
 * (the first format that matches wins, and some formats assign a field
 * and let later ones go on).  We keep the order and the expressions, as
 * data: tables of rules that a small interpreter runs over one field.
 * Named groups say which relay field a pattern captures; a group that
 * did not take part empties its field, as assigning an unset $N does in
 * Perl.  The expressions are SpamAssassin's own (Apache License 2.0:
 * Mail::SpamAssassin::Message::Metadata::Received and ::Constants),
 * unchanged so that the relays come out the same.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "msg.h"
#include "mymalloc.h"
#include "netset.h"
#include "received.h"

#define RCVD_MAX_LINE	8192	/* bytes of one field that are parsed */
#define RCVD_MAX_FIELDS	200	/* Received: fields looked at per message */
#define RCVD_MATCH_LIMIT 200000	/* PCRE2 match limit per pattern */

/* ------------------------------------------------------------ patterns */

/* SpamAssassin's IP_ADDRESS: IPv4, IPv4-mapped IPv6 or IPv6 (no groups) */
#define OCT	"(?:1\\d\\d|2[0-4]\\d|25[0-5]|[1-9]\\d|\\d)"
#define H4	"[a-f0-9]{1,4}"
#define IP	"(?i:\\b(?<!:)" OCT "\\." OCT "\\." OCT "\\." OCT "\\b" \
	"|(?:IPv6:|(?<![a-f0-9:]))(?:" \
	"(?:(?:" H4 ":){6}|::(?:" H4 ":){0,5}|(?:" H4 ":){1,5}:" \
	"|" H4 "::(?:" H4 ":){1,4}|(?:" H4 ":){2}:(?:" H4 ":){1,3}" \
	"|(?:" H4 ":){3}:(?:" H4 ":){1,2}|(?:" H4 ":){4}:" H4 ":)" \
	OCT "\\." OCT "\\." OCT "\\." OCT \
	"|(?:" H4 ":){7}" H4 "|:(?::" H4 "){1,7}|(?:" H4 ":){1,7}:" \
	"|" H4 ":(?::" H4 "){1,6}|(?:" H4 ":){2}(?::" H4 "){1,5}" \
	"|(?:" H4 ":){3}(?::" H4 "){1,4}|(?:" H4 ":){4}(?::" H4 "){1,3}" \
	"|(?:" H4 ":){5}(?::" H4 "){1,2}|(?:" H4 ":){6}:" H4 "|::)" \
	"(?![a-f0-9:]))"
/* the ways of writing ::ffff: before an IPv4 address, and ::1 */
#define Z4	"0{1,4}"
#define MAPPED	"(?:(?:" Z4 ":){5}ffff:|::(?:" Z4 ":){0,4}ffff:" \
	"|(?:" Z4 ":){1,4}:ffff:|" Z4 "::(?:" Z4 ":){1,3}ffff:" \
	"|(?:" Z4 ":){2}:0{1,2}:ffff:|(?:" Z4 ":){3}:0:ffff:" \
	"|(?:" Z4 ":){4}:ffff:)"
#define LOOP6	"(?:(?:" Z4 ":){7}0{0,3}1|:(?::" Z4 "){0,6}:0{0,3}1" \
	"|" Z4 ":(?::" Z4 "){0,5}:0{0,3}1" \
	"|(?:" Z4 ":){2}(?::" Z4 "){0,4}:0{0,3}1" \
	"|(?:" Z4 ":){3}(?::" Z4 "){0,3}:0{0,3}1" \
	"|(?:" Z4 ":){4}(?::" Z4 "){0,2}:0{0,3}1" \
	"|(?:" Z4 ":){5}(?::" Z4 "){0,1}:0{0,3}1|(?:" Z4 ":){6}:0{0,3}1)"
/* SpamAssassin's LOCALHOST */
#define LH	"(?i:localhost(?:\\.localdomain)?|\\b(?<!:)127\\.0\\.0\\.1\\b" \
	"|(?:IPv6:|(?<![a-f0-9:]))(?:" MAPPED "127\\.0\\.0\\.1|" LOOP6 ")" \
	"(?![a-f0-9:]))"
/* SpamAssassin's IP_PRIVATE, anchored */
#define PRIV4	"(?:10|127|169\\.254|172\\.(?:1[6-9]|2[0-9]|3[01])|192\\.168" \
	"|100\\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\\..*"
#define PRIVATE	"(?i)^(?:" PRIV4 "|(?:IPv6:|(?<![a-f0-9:]))(?:" MAPPED PRIV4 \
	"|fe[89ab][0-9a-f]:.*|" LOOP6 ")(?![a-f0-9:]))"

/* relay fields, named by the patterns' groups */
enum field {
	F_IP, F_RDNS, F_HELO, F_BY, F_IDENT, F_ID, F_ENVFROM, F_AUTH,
	F_SUB,			/* Exim's "(helo=x ident=y)" to pick apart */
	F_COUNT,
};

static const char *const field_names[F_COUNT] = {
	"ip", "rdns", "helo", "by", "ident", "id", "envfrom", "auth", "sub",
};

enum op {
	OP_FORM,	/* a match: take the groups, the relay is parsed */
	OP_SET,		/* a match: take the groups and go on */
	OP_SKIP,	/* a match: not a handover between hosts */
	OP_GUARD,	/* a match: take the groups, run the NEST rules after
			   it, then go on after them */
	OP_CHAIN,	/* as OP_GUARD, and the OP_CHAIN rules right after
			   its block are passed over (Perl's elsif) */
	OP_UNLESS,	/* no match: run the NEST rules after it */
	OP_ENOUGH,	/* no pattern: the relay is parsed */
	OP_FETCHER,	/* a match: a POP3/IMAP fetch; skipped, and the
			   relay lists start anew if still trusted */
	OP_QMS,		/* a match: qmail-scanner's line, skipped; its
			   envfrom goes to the next relay */
};

#define R_NO_ID		(1u << 0)	/* id becomes empty */
#define R_NO_BY		(1u << 1)	/* by becomes empty */
#define R_HELO_RDNS	(1u << 2)	/* helo is the rdns */
#define R_SUB		(1u << 3)	/* helo=, ident= from the sub group */
#define R_RDNS_IDENT	(1u << 4)	/* "IDENT:user@host", "user@host" */
#define R_SOFTDNSERR	(1u << 5)	/* rdns "softdnserr" is not taken */
#define R_IF_IP		(1u << 6)	/* OP_SET: parsed if ip is known */
#define R_IF_NO_HELO	(1u << 7)	/* only while helo is empty */
#define R_UNVERIFIED	(1u << 8)	/* rdns "unverified" is none */

struct rule {
	enum op op;
	const char *need;	/* must match too (before RE), or NULL */
	const char *re;
	unsigned flags;
	int nest;		/* OP_GUARD, OP_CHAIN, OP_UNLESS */
};

#define FORM(re, fl)		{ OP_FORM, NULL, re, fl, 0 }
#define FORM2(need, re, fl)	{ OP_FORM, need, re, fl, 0 }
#define SET(re, fl)		{ OP_SET, NULL, re, fl, 0 }
#define SKIP(re)		{ OP_SKIP, NULL, re, 0, 0 }
#define SKIP2(need, re)		{ OP_SKIP, need, re, 0, 0 }
#define GUARD(re, n)		{ OP_GUARD, NULL, re, 0, n }
#define GUARD2(need, re, n)	{ OP_GUARD, need, re, 0, n }
#define CHAIN(re, n)		{ OP_CHAIN, NULL, re, 0, n }
#define UNLESS(re, n)		{ OP_UNLESS, NULL, re, 0, n }
#define ENOUGH			{ OP_ENOUGH, NULL, NULL, 0, 0 }

/* on the whole field, before its "from" is taken off */
static const struct rule head_rules[] = {
	SET(" id <?(?<id>[^\\s<>;]{3,})", 0),
	SET("\\bhelo=(?<helo>[-A-Za-z0-9.^+_&:=?!@%*$\\\\/]+)"
	    "(?:[^-A-Za-z0-9.^+_&:=?!@%*$\\\\/]|$)", 0),
	SET("\\b(?:HELO|EHLO) (?<helo>[-A-Za-z0-9.^+_&:=?!@%*$\\\\/]+)"
	    "(?:[^-A-Za-z0-9.^+_&:=?!@%*$\\\\/]|$)", R_IF_NO_HELO),
	SET(" by (?<by>\\S+)(?:[^-A-Za-z0-9;.]|$)", 0),
};

/* authentication tokens: the first that matches names the method;
   $1..$4 in the template are its groups */
struct auth_rule {
	const char *need, *re, *tmpl;
};

static const struct auth_rule auth_rules[] = {
	/* RFC 3848 ESMTPA and friends, Exim's ASMTP, webmail over HTTP */
	{ " by ", "(?i) with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)"
	  "(?: |;|$)", "$1" },
	/* GMail, which says ESMTPS */
	{ " by mx\\.google\\.com with ESMTPS id [a-z0-9]{1,4}sm[0-9]{2,9}"
	  "[a-z]{3}\\.[0-9]{1,3}\\.[0-9]{4}\\.(?:[0-6][0-9]\\.){4}[0-6][0-9]",
	  "\\(version=([^ ]+) cipher=([^)]+)\\)",
	  "GMail - transport=$1 cipher=$2" },
	/* Courier */
	{ NULL, "^from .*?(?:\\]\\)|\\)\\]) \\(AUTH: (LOGIN|PLAIN|DIGEST-MD5"
	  "|CRAM-MD5) \\S+(?:, .*?)?\\) by ", "$1" },
	/* Sendmail, MDaemon and others */
	{ "authenticated", "^from .*?(?:\\](?: \\([^)]*\\))?\\)|\\)\\]) "
	  ".*?\\(.*?authenticated.*?\\).*? by", "Sendmail" },
	/* GMX */
	{ NULL, "from \\S* \\((?:HELO|EHLO) (\\S*)\\) \\[(" IP ")\\] by "
	  "(mail\\.gmx\\.(?:net|com)) \\([^)]+\\) with ((?:ESMTP|SMTP))",
	  "GMX ($4 / $3)" },
	/* Critical Path */
	{ " \\(authenticated as ", "\\) by .+ \\(\\d{1,2}\\.\\d\\.\\d{3}"
	  "(?:\\.\\d{1,3})?\\) \\(authenticated as .+\\) id ",
	  "CriticalPath" },
	/* Postfix's smtpd_sasl_authenticated_header; "Postfix (Postfix)"
	   is written "Postfix" (see auth_detect) */
	{ NULL, "\\) \\(Authenticated sender: \\S+\\) by \\S+ \\(([^)]+)\\) "
	  "with ", "Postfix ($1)" },
	/* CommuniGate Pro */
	{ "CommuniGate Pro (HTTP|SMTP|XIMSS|IMAP)", " \\(account ",
	  "Communigate" },
	{ NULL, " with Microsoft Exchange Server HTTP-DAV\\b", "HTTP-DAV" },
	/* "(via HTTP)" comments */
	{ " by ", "(?i) \\(via (HTTP.?)\\)(?: |;|$)", "$1" },
};

/* after "from " */
static const struct rule from_rules[] = {
	/* envelope senders some MTAs note */
	SET("(?i)(?:return-path:? |envelope-(?:sender|from)[ =])"
	    "(?<envfrom>\\S+)\\b", 0),
	/* from 1.2.3.4 (SquirrelMail authenticated user x) by h with HTTP */
	GUARD(" \\((?:SquirrelMail|NaSMail) authenticated user ", 1),
	FORM("(?<ip>" IP ")\\b(?![.-]).{10,80}by (?<by>\\S+) with HTTP", 0),
	/* AOL WebMail */
	GUARD2("aol\\.com", "with HTTP \\(WebMailUI\\)", 1),
	FORM("(?<ip>" IP ") by (?<by>\\S+) \\(" IP "\\) with HTTP "
	     "\\(WebMailUI\\)", 0),
	/* Microsoft SMTPSVC, which does not look up the rDNS */
	CHAIN(" SMTPSVC", 2),
	FORM("^(?<helo>\\S*) \\(\\[(?<ip>" IP ")\\][^)]{0,40}\\) by "
	     "(?<by>\\S+) with Microsoft SMTPSVC", 0),
	SKIP("^mail pickup service by (\\S+) with Microsoft SMTPSVC$"),
	/* Microsoft SMTP Server (Exchange, Office 365) */
	CHAIN(" with (?:Microsoft SMTP Server|mapi id) (?:\\([^)]+\\) )?"
	      "\\d+\\.\\d+\\.\\d+\\.\\d+(?:$| )", 1),
	FORM("^(?<helo>\\S+) \\(\\[?(?<ip>" IP ")(?:%[A-Z0-9._~-]*)?\\]?\\) "
	     "by (?<by>\\S+) ", R_NO_ID),
	/* XMail */
	CHAIN("\\[XMail ", 4),
	GUARD("^(?<helo>\\S+) \\((?<ip>\\[?" IP "\\]?)(?::\\d+)\\) by "
	      "(?<by>\\S+)(?: \\(\\S+\\))? with \\[XMail", 3),
	SET(" id <(?<id>\\S+)>", 0),
	SET(" from <(?<envfrom>\\S+)>", 0),
	ENOUGH,
	/* ecelerity */
	CHAIN("\\(ecelerity\\b", 2),
	FORM("^\\(\\[(?<ip>" IP "):\\d+\\] helo=(?<helo>\\S+)\\) by "
	     "(?<by>\\S+) ", 0),
	FORM("^\\S+ \\(\\[(?<ip>" IP "):\\d+\\]\\) by (?<by>\\S+) ", 0),
	/* Exim, in its many forms */
	CHAIN("Exim", 8),
	SKIP("\\bwith local(?:-\\S+)? "),
	FORM("^\\[(?<ip>" IP ")\\] \\((?<sub>.*?)\\) by (?<by>\\S+) ", R_SUB),
	FORM("^(?<rdns>\\S+) \\(\\[(?<ip>" IP ")\\](?<sub>.*?)\\) by "
	     "(?<by>\\S+) ", R_HELO_RDNS | R_SUB),
	FORM("^(?<rdns>\\S+) \\[(?<ip>" IP ")\\](:\\d+)? by (?<by>\\S+) ",
	     R_HELO_RDNS),
	/* odd Exim forms: little bits, enough with an IP and a "by" */
	SET("^(?<rdns>\\S+) ", 0),
	SET(" \\((?<helo>\\S+)\\) ", 0),
	SET(" \\[(?<ip>" IP ")(?:\\.\\d+)?\\] ", 0),
	SET("by (?<by>\\S+) ", R_IF_IP),
	/* Postfix */
	CHAIN(" \\(Postfix\\) with", 2),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) ", 0),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+)\\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) ", 0),
	CHAIN("\\(Scalix SMTP Relay", 1),
	FORM("^(?<helo>\\S+) \\( ?(?<ip>" IP ")\\) by (?<by>\\S+)", 0),
	/* Lotus Domino, which never records the rDNS */
	CHAIN(" \\(Lotus Domino ", 1),
	FORM("^(?<helo>\\S+) \\(\\[(?<ip>" IP ")\\]\\) by (?<by>\\S+) "
	     "\\(Lotus", 0),
	/* from 1.2.3.4 ([1.2.3.4]) by webmail (IMP) with HTTP */
	FORM2("\\bwith HTTP\\b", "^(?<ip>" IP ") \\(\\[" IP "\\]\\) by "
	      "(?<by>\\S+)", 0),
	/* sendmail, unless this is qmail-ldap */
	UNLESS(" by \\S+ \\(qmail-\\S+\\) with ", 1),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\].*\\) by "
	     "(?<by>\\S+) \\(", R_RDNS_IDENT),
	/* less standard ones */
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) with \\S+ \\(", 0),
	FORM("^(?<rdns>\\S+) \\(\\[(?<ip>" IP ")\\] helo=(?<helo>\\S+)\\) by "
	     "(?<by>\\S+) with ", 0),
	FORM("^(?<helo>\\S+) \\(<unknown\\S*>\\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) ", 0),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+\\.\\S+)\\[(?<ip>" IP ")\\]\\) "
	     "by (?<by>\\S+) ", 0),
	FORM("^(?<helo>\\S+) \\((?<ident>\\S*)\\@\\[(?<ip>" IP ")\\].*\\) by "
	     "(?<by>\\S+) \\(", 0),
	/* from 1.2.3.4 by lw11fd.law11.hotmail.msn.com with HTTP */
	GUARD("by (?<by>\\S+\\.hotmail\\.msn\\.com) ", 2),
	SET("^(?<ip>" IP ") ", 0),
	ENOUGH,
	/* qpsmtpd */
	FORM("^(?<rdns>\\S+) \\((?:HELO|EHLO) (?<helo>\\S*)\\) \\((?<ip>" IP
	     ")\\) by (?<by>\\S+) \\(qpsmtpd/\\S+\\) with (?:ESMTP|SMTP)", 0),
	FORM("^(?<rdns>\\S+) \\(LHLO (?<helo>\\S*)\\) \\((?<ip>" IP ")\\) by "
	     "(?<by>\\S+) with LMTP", 0),
	FORM("^(?<rdns>\\S+) \\((?:HELO|EHLO) (?<helo>\\S*)\\) \\[(?<ip>" IP
	     ")\\] by (?<by>\\S+) \\([^)]+\\) with (?:ESMTP|SMTP)", 0),
	FORM("^(?<helo>\\S+) \\(\\[(?<ip>" IP ")\\]\\) by (?<by>\\S+) via "
	     "smtpd \\(for \\S+\\) with SMTP\\(", 0),
	/* qmail and its many patches; parsed even when the parts fail */
	GUARD("^\\S+( \\((?:HELO|EHLO) \\S*\\))? \\((\\S+\\@)?\\[?" IP
	      "\\]?\\)( \\(envelope-sender <\\S+>\\))? by \\S+( \\(.+\\))* "
	      "with (.* )?(SMTP|QMQP)(?! id )", 5),
	FORM("^(?<rdns>\\S+) \\((?:HELO|EHLO) (?<helo>[^ ()]*)\\) "
	     "\\((?<ident>\\S*)\\@\\[?(?<ip>" IP ")\\]?\\)( \\(envelope-sender "
	     "<\\S+>\\))? by (?<by>\\S+)", 0),
	FORM("^(?<rdns>\\S+) \\((?:HELO|EHLO) (?<helo>[^ ()]*)\\) \\(\\[?"
	     "(?<ip>" IP ")\\]?\\)( \\(envelope-sender <\\S+>\\))? by "
	     "(?<by>\\S+)", 0),
	FORM("^(?<rdns>\\S+) \\((?<ident>\\S*)\\@\\[?(?<ip>" IP ")\\]?\\)"
	     "( \\(envelope-sender <\\S+>\\))? by (?<by>\\S+)", R_HELO_RDNS),
	FORM("^(?<rdns>\\S+) \\(\\[?(?<ip>" IP ")\\]?\\)( \\(envelope-sender "
	     "<\\S+>\\))? by (?<by>\\S+)", R_HELO_RDNS),
	ENOUGH,
	/* Yahoo: from [1.2.3.4] by web40310.mail.yahoo.com via HTTP */
	FORM2(" via HTTP$", "^\\[(?<ip>" IP ")\\] by (?<by>\\S+) via HTTP$",
	      0),
	FORM("^\\S+ \\( \\[(?<ip>" IP ")\\]\\).*? by (?<by>\\S+) ", 0),
	FORM("^\\((?<helo>\\S+) \\[(?<ip>" IP ")\\]\\) by (?<by>\\S+) ", 0),
	FORM("^\\[(?<ip>" IP ")\\] by (?<by>\\S+) ", 0),
	FORM("^\\(\\[?(?<ip>" IP ")\\]?\\) by (?<by>\\S+) ", 0),
	/* MDaemon */
	FORM("^(?<helo>\\S+) \\[(?<ip>" IP ")\\] by (?<by>\\S+) \\[" IP "\\] "
	     "with ", 0),
	FORM("^(?<helo>\\S+) \\[\\((?<ip>" IP ")\\)\\] by (?<by>\\S+) \\(" IP
	     "\\) ", 0),
	/* more sendmail */
	FORM("^(?<helo>\\S+) \\(\\[(?<ip>" IP ")\\]\\) by (?<by>\\S+) \\(", 0),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\]\\).*? by "
	     "(?<by>\\S+)\\b", R_SOFTDNSERR),
	FORM("^(?<helo>\\S+) \\(\\[(?<ip>" IP ")(?:[.:]\\d+)?\\]\\).*? by "
	     "(?<by>\\S+) ", 0),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\]\\)"
	     "(?: \\(authenticated bits=\\d+\\))? by (?<by>\\S+) \\(", 0),
	/* fetchmail, getmail */
	{ OP_FETCHER, NULL, "with (?:POP3|IMAP)", 0, 0 },
	/* qmail, more loosely */
	FORM("^(?<rdns>\\S+) \\((?:HELO|EHLO) (?<helo>[^)]*)\\) \\((?:"
	     "(?<ident>\\S*)@)?\\[?(?<ip>" IP ")\\]?\\).* by (?<by>\\S+) ", 0),
	FORM("^(?<rdns>\\S+) \\((?:(?<ident>\\S*)@)?\\[?(?<ip>" IP ")\\]?\\)"
	     ".* by (?<by>\\S+) ", R_HELO_RDNS),
	FORM2(" with http for ", "^\\[(?<ip>" IP ")\\] by (?<by>\\S+) with "
	      "http for ", 0),
	FORM2(" via smap ", "^(?<rdns>\\S+)\\((?<ip>" IP ")\\) by (?<by>\\S+) "
	      "via smap ", 0),
	FORM("^(?<rdns>\\S+)\\((?<ip>" IP "), (?:HELO|EHLO) (?<helo>\\S*)\\) "
	     "by (?<by>\\S+) via smap ", 0),
	FORM2(" \\(Post", "^\\[(?<ip>" IP ")\\] by (?<by>\\S+) \\(Post", 0),
	FORM2(" \\(ArGoSoft", "^\\[(?<ip>" IP ")\\] by (?<by>\\S+) "
	      "\\(ArGoSoft", 0),
	FORM("^(?<ip>" IP ") by (?<by>\\S+) \\((?:SMTPL|InterScan)\\b", 0),
	SKIP2(" with BSMTP", "^\\S+ by \\S+ with BSMTP"),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) with ", 0),
	FORM("^(?<rdns>\\S+) \\((?:HELO|EHLO) (?<helo>\\S*)\\) \\((?:"
	     "(?<ident>\\S+)\\@)?(?<ip>" IP ").*?\\) by (?<by>\\S+) with ", 0),
	/* CommuniGate Pro */
	FORM("^\\[(?<ip>" IP ")\\] \\((?:account \\S+ )?(?:HELO|EHLO) "
	     "(?<helo>\\S*)\\) by (?<by>\\S+) \\(", 0),
	FORM2(" \\(CommuniGate Pro", "^(?<rdns>\\S+) \\(\\[(?<ip>" IP
	      ")\\] verified\\) by (?<by>\\S+) \\(", R_HELO_RDNS),
	FORM("^\\(\\[(?<ip>" IP ")\\]\\) by (?<by>\\S+) with ", 0),
	FORM("^(?<helo>[^\\d]\\S+) \\((?<ip>" IP ")\\) by (?<by>\\S+) ", 0),
	SKIP("^\\S+ \\(\\S+\\) by \\S+ \\(Content Technologies "),
	FORM("^(?<helo>\\S+) \\(\\[(?<ip>" IP ")\\] \\[(\\S+)\\]\\) by "
	     "(?<by>\\S+) with ", 0),
	FORM("^(?<ip>" IP ") by (?<by>\\S+) with ", 0),
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+)\\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) ", 0),
	/* F-Secure */
	FORM("^\\[(?<ip>" IP ")\\]\\S+ \\((?:HELO|EHLO) (?<helo>\\S*)\\) by "
	     "(?<by>\\S+) ", 0),
	FORM("^(?<ip>" IP ") \\((?:HELO|EHLO) (?<helo>\\S*)\\) by "
	     "(?<by>\\S+) ", 0),
	FORM("^(?<helo>\\S+) \\[(?<ip>" IP ")\\] by (?<by>\\S+) ", 0),
	FORM("^(?<rdns>\\S+)\\((?<ip>" IP ")\\) by (?<by>\\S+) ", 0),
	FORM("^\\[(?<ip>" IP ")\\] by (?<by>\\S+) \\(MailGate ", 0),
	FORM("^(?<helo>\\S+) \\(unverified \\[(?<ip>" IP ")\\]\\) by "
	     "(?<by>\\S+) ", 0),
	FORM("^(?<ip>" IP ") \\([A-Za-z][^)]+\\) by (?<by>\\S+) with ", 0),
	FORM("^\\[(?<ip>" IP ")\\] \\((?<sub>[^)]+)\\) by (?<by>\\S+) ",
	     R_SUB),
	FORM("^(?<rdns>\\S+) \\((?:\\S+\\@)?(?<ip>" IP ")\\) by (?<by>\\S+) "
	     "with ", 0),
	/* Obtuse smtpd */
	FORM("^(?<rdns>\\S+)\\((?<ip>" IP ")\\)(?:, claiming to be "
	     "\"(?<helo>\\S+)\")? via \\S+ by (?<by>\\S+),", 0),
	/* Yahoo authenticated SMTP */
	FORM("^(?<helo>\\S+) \\((\\S+)@(?<ip>" IP ") with login\\) by "
	     "(?<by>\\S+\\.yahoo\\.com) with SMTP", 0),
	/* ours, for the originating_ip_headers */
	FORM("^X-Originating-IP: (?<ip>" IP ")$", R_NO_BY),
	/* local handovers and others without an address */
	SKIP("^\\S+ \\([^\\s\\@]+\\@" LH "\\) by \\S+ \\("),
	SKIP("^\\S+ \\S+ by \\S+ with local-e?smtp "),
	SKIP("^127\\.0\\.0\\.1 \\(AVG SMTP \\S+ \\[\\S+\\]\\)"),
	SKIP("^\\S+\\@\\S+ by \\S+ by uid \\S+ "),
	SKIP("^\\S+\\@\\S+ by \\S+ "),
	SKIP("^Unknown/Local \\("),
	SKIP("^" LH " \\((?:\\S+\\@)?" LH "[)\\[]"),
	SKIP("^\\S+ \\((?:\\S+\\@)?" LH "\\) "),
	SKIP("^\\S+ \\(\\S+\\@\\S+ \\[" LH "\\]\\) "),
	SKIP("^\\(AUTH: \\S+\\) by \\S+ with "),
	SKIP("^localhost \\(localhost \\[\\[UNIX: localhost\\]\\]\\) by "),
	SKIP("^\\S+\\.amazon\\.com by \\S+\\.amazon\\.com with ESMTP "
	     "\\(peer crosscheck: "),
	SKIP("^[^.]+ by \\S+ with Novell_GroupWise"),
	SKIP("^no\\.name\\.available by \\S+ via smtpd \\(for "),
	{ OP_QMS, NULL, "^\\S+ by \\S+ \\(.{0,100}\\) with qmail-scanner", 0,
	  0 },
	SKIP("^\\S+ by \\S+ with local"),
	SKIP("^\\S+ \\(\\[unix socket\\]\\) by \\S+ \\(Cyrus v[0-9]*?\\."
	     "[0-9]*?\\.[0-9]*?\\) with LMTPA"),
	SKIP("^\\S+ by \\S+ (?:with|via|for|\\()"),
	SKIP("^\\S+ (?:(?:with|via|for) \\S+|\\(unverified\\)) by\\b"),
	SKIP("^\\S+ \\(unknown\\) by \\S+ \\(SG\\) with \\b"),
	SKIP("^\\S+ \\(\\S+ \\[local\\]\\) by \\S+ \\(OpenSMTPD\\) with \\b"),
	SKIP("\\(LSMTP for"),
	SKIP("^\\(\\[" LH "\\]\\) with MailEnable "),
	SKIP("^facebook\\.com \\([^)]+\\) by facebook\\.com with Thrift "
	     "id \\S+$"),
	SKIP("^\\S+ named \\S+ by gmailapi\\.google\\.com with HTTPREST$"),
	SKIP("^\\S+ id \\S+$"),
	SKIP("^\\[<.*? \\(Jetsend"),
	/* still no HELO: guess */
	SET("^(?<helo>\\S+)[^-A-Za-z0-9.]", R_IF_NO_HELO),
};

/* after "FROM ": simta */
static const struct rule upper_from_rules[] = {
	FORM("^(?<helo>\\S+) \\((?<rdns>\\S+) \\[(?<ip>" IP ")\\]\\) BY "
	     "(?<by>\\S+) (?:\\([^)]+\\) WITH SMTP )?ID <?(?<id>\\S+?)>?"
	     "(?: FOR <[^>]+>)?$", R_UNVERIFIED),
};

/* after "(from " */
static const struct rule paren_from_rules[] = {
	/* Norton AntiVirus Gateway */
	FORM("^(?<helo>\\S*) \\[(?<ip>" IP ")\\]\\) by (?<by>\\S+) "
	     "\\(NAVGW .*?\\) with ", 0),
	/* sendmail -t */
	SKIP("^\\S+\\@localhost\\) by \\S+ "),
	SKIP("^[^\\s\\@]+\\@[^)]+\\) by \\S+\\(jqueuemail\\) id [^\\s;]+"),
};

/* last resort for the IP */
static const struct rule tail_rules[] = {
	SET("\\[(?<ip>" IP ")\\]", 0),
};

#define N(a)	(sizeof(a) / sizeof((a)[0]))

enum table { T_HEAD, T_FROM, T_UPPER_FROM, T_PAREN_FROM, T_TAIL, T_COUNT };

static const struct {
	const struct rule *rules;
	size_t n;
} tables[T_COUNT] = {
	{ head_rules, N(head_rules) },
	{ from_rules, N(from_rules) },
	{ upper_from_rules, N(upper_from_rules) },
	{ paren_from_rules, N(paren_from_rules) },
	{ tail_rules, N(tail_rules) },
};

/* single patterns used by the code */
enum {
	X_FROM, X_LOCAL_FOR, X_NO_HANDOVER, X_DATE, X_PRIVATE, X_MAPPED,
	X_IP, X_COUNT
};

static const char *const extra_patterns[X_COUNT] = {
	[X_FROM] = "(?i)^\\(?from ",
	[X_LOCAL_FOR] = "\\bwith local for\\b",
	/* "from x by y;": no address to be had (but "from [1.2.3.4] by y;") */
	[X_NO_HANDOVER] = "(?i)^from (?!\\[[\\d.]+\\] )\\S+ by [^\\s;]+ ?;",
	[X_DATE] = "[\\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\\d+ "
		   "(?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) "
		   "\\d+ \\d+:\\d+(?::\\d+)? \\S+$",
	[X_PRIVATE] = PRIVATE,
	/* "::ffff:1.2.3.4" and the like, written as IPv4 */
	[X_MAPPED] = "(?i)^0*:0*:(?:0*:)*ffff:(\\d+\\.\\d+\\.\\d+\\.\\d+)$",
	[X_IP] = IP,
};

/* ---------------------------------------------------------- the conf */

struct compiled_rule {
	pcre2_code *need, *re;
	int names[F_COUNT];	/* group number per field, 0: none */
};

struct received_conf {
	struct netset *trusted, *internal, *msa;
	int trusted_configured, internal_configured;
	char **orig_headers;	/* originating_ip_headers */
	size_t n_orig;
	/* the compiled tables */
	struct compiled_rule *rules[T_COUNT];
	pcre2_code *auth_need[N(auth_rules)], *auth_re[N(auth_rules)];
	pcre2_code *extra[X_COUNT];
	pcre2_match_context *mctx;
};

static pcre2_code *compile(const char *pattern, int jit)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re;

	if (pattern == NULL)
		return NULL;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
			   &err, &off, NULL);
	if (re == NULL) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(err, buf, sizeof(buf));
		msg_panic("received: pattern \"%s\": %s at %zu", pattern,
			  (char *)buf, (size_t)off);
	}
	if (jit)
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

/* the group number of each named field in RE */
static void map_names(pcre2_code *re, int names[F_COUNT])
{
	uint32_t count = 0, size = 0;
	PCRE2_SPTR table = NULL;
	uint32_t i;

	memset(names, 0, F_COUNT * sizeof(int));
	if (re == NULL)
		return;
	pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
	for (i = 0; i < count; i++) {
		const unsigned char *e = table + i * size;
		const char *name = (const char *)e + 2;
		int f;

		for (f = 0; f < F_COUNT; f++)
			if (strcmp(name, field_names[f]) == 0)
				break;
		if (f == F_COUNT)
			msg_panic("received: unknown group name \"%s\"", name);
		names[f] = (e[0] << 8) | e[1];
	}
}

struct received_conf *received_conf_new(int jit)
{
	struct received_conf *conf = mycalloc(1, sizeof(*conf));
	size_t t, i;

	conf->trusted = netset_new(1);
	conf->internal = netset_new(1);
	conf->msa = netset_new(0);
	for (t = 0; t < T_COUNT; t++) {
		conf->rules[t] = mycalloc(tables[t].n,
					  sizeof(*conf->rules[t]));
		for (i = 0; i < tables[t].n; i++) {
			struct compiled_rule *c = &conf->rules[t][i];

			c->need = compile(tables[t].rules[i].need, jit);
			c->re = compile(tables[t].rules[i].re, jit);
			map_names(c->re, c->names);
		}
	}
	for (i = 0; i < N(auth_rules); i++) {
		conf->auth_need[i] = compile(auth_rules[i].need, jit);
		conf->auth_re[i] = compile(auth_rules[i].re, jit);
	}
	for (i = 0; i < X_COUNT; i++)
		conf->extra[i] = compile(extra_patterns[i], jit);
	conf->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(conf->mctx, RCVD_MATCH_LIMIT);
	return conf;
}

static void clear_orig_headers(struct received_conf *conf)
{
	while (conf->n_orig > 0)
		free(conf->orig_headers[--conf->n_orig]);
	MYFREE(&conf->orig_headers);
}

void received_conf_deinit(struct received_conf **confp)
{
	struct received_conf *conf = *confp;
	size_t t, i;

	if (conf == NULL)
		return;
	netset_deinit(&conf->trusted);
	netset_deinit(&conf->internal);
	netset_deinit(&conf->msa);
	clear_orig_headers(conf);
	for (t = 0; t < T_COUNT; t++) {
		for (i = 0; i < tables[t].n; i++) {
			pcre2_code_free(conf->rules[t][i].need);
			pcre2_code_free(conf->rules[t][i].re);
		}
		free(conf->rules[t]);
	}
	for (i = 0; i < N(auth_rules); i++) {
		pcre2_code_free(conf->auth_need[i]);
		pcre2_code_free(conf->auth_re[i]);
	}
	for (i = 0; i < X_COUNT; i++)
		pcre2_code_free(conf->extra[i]);
	pcre2_match_context_free(conf->mctx);
	MYFREE(confp);
}

static void add_orig_header(struct received_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->n_orig; i++)
		if (strcasecmp(conf->orig_headers[i], name) == 0)
			return;
	conf->orig_headers = myrealloc(conf->orig_headers,
				       (conf->n_orig + 1) * sizeof(char *));
	conf->orig_headers[conf->n_orig++] = mystrdup(name);
}

int received_conf_directive(struct received_conf *conf, const char *key,
			    const char *value, received_report_fn *report,
			    void *ctx)
{
	struct netset *ns = NULL;
	int *configured = NULL, loopback = 1;

	if (strcmp(key, "trusted_networks") == 0 ||
	    strcmp(key, "clear_trusted_networks") == 0) {
		ns = conf->trusted;
		configured = &conf->trusted_configured;
	} else if (strcmp(key, "internal_networks") == 0 ||
		   strcmp(key, "clear_internal_networks") == 0) {
		ns = conf->internal;
		configured = &conf->internal_configured;
	} else if (strcmp(key, "msa_networks") == 0 ||
		   strcmp(key, "clear_msa_networks") == 0) {
		ns = conf->msa;
		loopback = 0;
	} else if (strcmp(key, "originating_ip_headers") == 0) {
		char *copy = mystrdup(value), *tok, *save = NULL;

		if (*value == '\0')
			report(ctx, 1, "originating_ip_headers: no header "
			       "name");
		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t", &save))
			add_orig_header(conf, tok);
		free(copy);
		return 1;
	} else if (strcmp(key, "clear_originating_ip_headers") == 0) {
		if (*value != '\0')
			report(ctx, 1, "clear_originating_ip_headers takes no "
			       "value");
		else
			clear_orig_headers(conf);
		return 1;
	} else {
		return 0;
	}
	if (strncmp(key, "clear_", 6) == 0) {
		struct str text = STR_INIT;

		if (*value != '\0') {
			str_printf(&text, "%s takes no value", key);
			report(ctx, 1, text.s);
			str_deinit(&text);
			return 1;
		}
		netset_clear(ns, loopback);
		if (configured != NULL)
			*configured = 0;
		return 1;
	}
	if (*value == '\0') {
		struct str text = STR_INIT;

		str_printf(&text, "%s: no network given", key);
		report(ctx, 1, text.s);
		str_deinit(&text);
		return 1;
	}
	{
		char *copy = mystrdup(value), *tok, *save = NULL;

		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t", &save)) {
			const char *error = NULL;
			int rc = netset_add(ns, tok, &error);

			if (rc <= 0) {
				struct str text = STR_INIT;

				str_printf(&text, "%s %s: %s%s", key, tok,
					   error, rc < 0 ? "; skipped" : "");
				report(ctx, rc < 0, text.s);
				str_deinit(&text);
			}
		}
		free(copy);
	}
	if (configured != NULL)
		*configured = 1;
	return 1;
}

/* ------------------------------------------------------- one field */

enum outcome { GO_ON, PARSED, SKIPPED };

struct parse {
	const struct received_conf *conf;
	pcre2_match_data *md;
	char *f[F_COUNT];	/* "" when empty; envfrom and sub NULL: unset */
	int fetcher;		/* a mail fetcher's line was met */
	int qms;		/* qmail-scanner's: its envfrom is for the
				   next relay */
};

/* RE matches S (pcre2_match runs the JIT code when there is some); a
   match that hits the match limit counts as none */
static int match(struct parse *p, const pcre2_code *re, const char *s)
{
	return pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, p->md,
			   p->conf->mctx) > 0;
}

/* S may point into the field's old value */
static void set_field(struct parse *p, enum field f, const char *s,
		      size_t len)
{
	char *v = mystrndup(s, len);

	free(p->f[f]);
	p->f[f] = v;
}

/* group N of the last match, NULL if it took no part */
static const char *group(struct parse *p, const char *s, int n,
			 size_t *len_r)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);

	if (n <= 0 || (uint32_t)n >= pcre2_get_ovector_count(p->md) ||
	    ov[2 * n] == PCRE2_UNSET)
		return NULL;
	*len_r = ov[2 * n + 1] - ov[2 * n];
	return s + ov[2 * n];
}

/* Exim's "helo=x ident=y": helo= is taken out before ident= is looked for */
static void pick_sub(struct parse *p, const char *sub)
{
	char *rest = mystrdup(sub), *h;

	for (h = strstr(rest, "helo="); h != NULL; h = strstr(h + 1, "helo="))
		if (h[5] != '\0' && !isspace((unsigned char)h[5]))
			break;
	if (h != NULL) {
		size_t n = strcspn(h + 5, " \t\n\r\f\v");

		set_field(p, F_HELO, h + 5, n);
		memmove(h, h + 5 + n, strlen(h + 5 + n) + 1);
	}
	if ((h = strstr(rest, "ident=")) != NULL)
		set_field(p, F_IDENT, h + 6, strcspn(h + 6, " \t\n\r\f\v"));
	free(rest);
}

/* take the named groups of the last match of C over S */
static void assign(struct parse *p, const struct rule *r,
		   const struct compiled_rule *c, const char *s)
{
	int f;

	for (f = 0; f < F_COUNT; f++) {
		const char *v;
		size_t len = 0;

		if (c->names[f] == 0)
			continue;
		v = group(p, s, c->names[f], &len);
		if (v == NULL)
			v = "";
		if (f == F_RDNS && (r->flags & R_SOFTDNSERR) &&
		    len == 10 && strncmp(v, "softdnserr", 10) == 0)
			continue;	/* couriertcpd: no lookup done */
		set_field(p, (enum field)f, v, len);
	}
	if (r->flags & R_NO_ID)
		set_field(p, F_ID, "", 0);
	if (r->flags & R_NO_BY)
		set_field(p, F_BY, "", 0);
	if (r->flags & R_HELO_RDNS)
		set_field(p, F_HELO, p->f[F_RDNS], strlen(p->f[F_RDNS]));
	if ((r->flags & R_SUB) && p->f[F_SUB] != NULL)
		pick_sub(p, p->f[F_SUB]);
	if (r->flags & R_RDNS_IDENT) {
		const char *rd = p->f[F_RDNS], *at;

		if (strncmp(rd, "IDENT:", 6) == 0 &&
		    (at = strchr(rd + 6, '@')) != NULL) {
			set_field(p, F_IDENT, rd + 6, (size_t)(at - rd - 6));
			set_field(p, F_RDNS, at + 1, strlen(at + 1));
			rd = p->f[F_RDNS];
		}
		if ((at = strchr(rd, '@')) != NULL) {
			set_field(p, F_IDENT, rd, (size_t)(at - rd));
			set_field(p, F_RDNS, at + 1, strlen(at + 1));
		}
	}
	if ((r->flags & R_UNVERIFIED) &&
	    strcmp(p->f[F_RDNS], "unverified") == 0)
		set_field(p, F_RDNS, "", 0);
}

/* the rules [FROM, TO) of table T over S */
static enum outcome run(struct parse *p, enum table t, size_t from,
			size_t to, const char *s)
{
	const struct rule *rules = tables[t].rules;
	const struct compiled_rule *crules = p->conf->rules[t];
	size_t i = from;

	while (i < to) {
		const struct rule *r = &rules[i];
		const struct compiled_rule *c = &crules[i];
		size_t next = i + 1 + (size_t)r->nest;
		enum outcome o;
		int m;

		if (r->op == OP_ENOUGH)
			return PARSED;
		if ((r->flags & R_IF_NO_HELO) && p->f[F_HELO][0] != '\0') {
			i = next;
			continue;
		}
		m = (c->need == NULL || match(p, c->need, s)) &&
		    match(p, c->re, s);
		if (r->op == OP_UNLESS) {
			if (!m && (o = run(p, t, i + 1, next, s)) != GO_ON)
				return o;
			i = next;
			continue;
		}
		if (!m) {
			i = next;
			continue;
		}
		assign(p, r, c, s);
		switch (r->op) {
		case OP_FORM:
			return PARSED;
		case OP_SET:
			if ((r->flags & R_IF_IP) && p->f[F_IP][0] != '\0')
				return PARSED;
			break;
		case OP_SKIP:
			return SKIPPED;
		case OP_GUARD:
		case OP_CHAIN:
			if ((o = run(p, t, i + 1, next, s)) != GO_ON)
				return o;
			if (r->op == OP_CHAIN)
				while (next < to && rules[next].op == OP_CHAIN)
					next += 1 + (size_t)rules[next].nest;
			break;
		case OP_FETCHER:
			p->fetcher = 1;
			return SKIPPED;
		case OP_QMS:
			p->qms = 1;
			return SKIPPED;
		default:
			msg_panic("received: rule %zu: bad op %d", i, r->op);
		}
		i = next;
	}
	return GO_ON;
}

/* the first authentication token found, into the auth field */
static void detect_auth(struct parse *p, const char *s)
{
	size_t i;

	for (i = 0; i < N(auth_rules); i++) {
		const char *t;
		struct str out = STR_INIT;

		if ((p->conf->auth_need[i] != NULL &&
		     !match(p, p->conf->auth_need[i], s)) ||
		    !match(p, p->conf->auth_re[i], s))
			continue;
		for (t = auth_rules[i].tmpl; *t; t++) {
			const char *v;
			size_t len = 0;

			if (t[0] == '$' && t[1] >= '1' && t[1] <= '9') {
				if ((v = group(p, s, t[1] - '0', &len)) != NULL)
					str_append(&out, v, len);
				t++;
			} else {
				str_appendc(&out, *t);
			}
		}
		/* Postfix's own mail_name is written alone */
		if (strcmp(str_c(&out), "Postfix (Postfix)") == 0)
			str_truncate(&out, 7);
		free(p->f[F_AUTH]);
		p->f[F_AUTH] = str_steal(&out);
		return;
	}
}

/* SpamAssassin's marking of odd characters: blanks, NUL, # [ ] ( ) < > | */
static void mark_odd(char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) ||
		    strchr("#[]()<>|", *s) != NULL)
			*s = '!';
}

static int is_zone_char(char c)
{
	return isalnum((unsigned char)c) || strchr("._~-", c) != NULL;
}

/* the fields of a parsed relay, tidied as SpamAssassin does */
static void finish_relay(struct parse *p, struct received_relay *relay)
{
	char *rdns = p->f[F_RDNS], *ip = p->f[F_IP], *pct;
	size_t n;

	n = strlen(rdns);
	while (n > 0 && rdns[n - 1] == '.')
		rdns[--n] = '\0';
	if (strcasecmp(rdns, "unknown") == 0 || rdns[0] == '[')
		rdns[0] = '\0';
	n = strlen(ip);
	if (n >= 5 && strncasecmp(ip, "ipv6:", 5) == 0) {
		n -= 5;
		memmove(ip, ip + 5, n + 1);
	}
	if (n > 0 && ip[0] == '[')
		memmove(ip, ip + 1, n--);
	if (n > 0 && ip[n - 1] == ']')
		ip[--n] = '\0';
	if ((pct = strrchr(ip, '%')) != NULL) {
		const char *z = pct + 1;

		while (*z && is_zone_char(*z))
			z++;
		if (*z == '\0')
			*pct = '\0';
	}
	if (match(p, p->conf->extra[X_MAPPED], ip)) {
		size_t len = 0;
		const char *v4 = group(p, ip, 1, &len);

		memmove(ip, v4, len);
		ip[len] = '\0';
	}
	n = strlen(p->f[F_BY]);
	if (n > 0 && p->f[F_BY][n - 1] == ';')
		p->f[F_BY][n - 1] = '\0';
	mark_odd(ip);
	mark_odd(rdns);
	mark_odd(p->f[F_HELO]);
	mark_odd(p->f[F_BY]);
	mark_odd(p->f[F_IDENT]);
	memset(relay, 0, sizeof(*relay));
	relay->ip_private = match(p, p->conf->extra[X_PRIVATE], ip);
	relay->ip = ip;
	relay->rdns = rdns;
	relay->helo = p->f[F_HELO];
	relay->by = p->f[F_BY];
	relay->ident = p->f[F_IDENT];
	relay->id = p->f[F_ID];
	relay->auth = p->f[F_AUTH];
	relay->envfrom = p->f[F_ENVFROM];
	p->f[F_IP] = p->f[F_RDNS] = p->f[F_HELO] = p->f[F_BY] = NULL;
	p->f[F_IDENT] = p->f[F_ID] = p->f[F_AUTH] = p->f[F_ENVFROM] = NULL;
}

/* an envfrom as SpamAssassin keeps it: no <>, blanks and the like '!' */
static void tidy_envfrom(char *e)
{
	size_t n, skip = 0;

	while (isspace((unsigned char)e[skip]))
		skip++;
	while (e[skip] == '<')
		skip++;
	memmove(e, e + skip, strlen(e + skip) + 1);
	n = strlen(e);
	while (n > 0 && isspace((unsigned char)e[n - 1]))
		n--;
	while (n > 0 && e[n - 1] == '>')
		n--;
	e[n] = '\0';
	mark_odd(e);
}

/* VALUE with white space runs made one space, trimmed, and without the
   trailing semicolons */
static char *normalize(const char *value)
{
	struct str out = STR_INIT;
	const char *v;
	size_t n = strlen(value);

	if (n > RCVD_MAX_LINE)
		n = RCVD_MAX_LINE;
	for (v = value; v < value + n; v++) {
		if (isspace((unsigned char)*v)) {
			while (v + 1 < value + n &&
			       isspace((unsigned char)v[1]))
				v++;
			if (out.len > 0 && v + 1 < value + n)
				str_appendc(&out, ' ');
			continue;
		}
		str_appendc(&out, *v);
	}
	while (out.len > 0 && out.s[out.len - 1] == ';') {
		size_t len = out.len - 1;

		if (len > 0 && out.s[len - 1] == ' ')
			len--;
		str_truncate(&out, len);
	}
	if (out.s == NULL)
		str_appends(&out, "");
	return str_steal(&out);
}

static void parse_init(struct parse *p, const struct received_conf *conf,
		       pcre2_match_data *md)
{
	int f;

	memset(p, 0, sizeof(*p));
	p->conf = conf;
	p->md = md;
	for (f = 0; f < F_COUNT; f++)
		if (f != F_ENVFROM && f != F_SUB)
			p->f[f] = mystrdup("");
}

static void parse_deinit(struct parse *p)
{
	int f;

	for (f = 0; f < F_COUNT; f++)
		MYFREE(&p->f[f]);
}

/* SpamAssassin's parse_received_line */
static enum received_line parse_field(struct parse *p, const char *value,
				      struct received_relay *relay)
{
	char *line = normalize(value), *s;
	const struct {
		const char *prefix;
		enum table t;
	} branches[] = {
		{ "from ", T_FROM },
		{ "FROM ", T_UPPER_FROM },
		{ "(from ", T_PAREN_FROM },
	};
	enum outcome o = GO_ON;
	size_t i;

	if (!match(p, p->conf->extra[X_FROM], line) ||
	    match(p, p->conf->extra[X_LOCAL_FOR], line) ||
	    match(p, p->conf->extra[X_NO_HANDOVER], line)) {
		free(line);
		return RECEIVED_SKIPPED;
	}
	if (match(p, p->conf->extra[X_DATE], line)) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);

		memmove(line + ov[0], line + ov[1], strlen(line + ov[1]) + 1);
	}
	if ((s = strstr(line, ")by ")) != NULL) {
		struct str fixed = STR_INIT;

		str_append(&fixed, line, (size_t)(s - line) + 1);
		str_appendc(&fixed, ' ');
		str_appends(&fixed, s + 1);
		free(line);
		line = str_steal(&fixed);
	}
	(void)run(p, T_HEAD, 0, tables[T_HEAD].n, line);
	detect_auth(p, line);
	s = line;
	for (i = 0; i < N(branches); i++) {
		size_t n = strlen(branches[i].prefix);

		if (strncmp(line, branches[i].prefix, n) == 0) {
			s = line + n;
			o = run(p, branches[i].t, 0,
				tables[branches[i].t].n, s);
			break;
		}
	}
	if (o == GO_ON) {
		if (p->f[F_IP][0] == '\0')
			(void)run(p, T_TAIL, 0, tables[T_TAIL].n, s);
		if (p->f[F_IP][0] != '\0' && p->f[F_BY][0] != '\0')
			o = PARSED;
	}
	if (o != PARSED) {
		if (p->qms && p->f[F_ENVFROM] != NULL)
			tidy_envfrom(p->f[F_ENVFROM]);
		free(line);
		return o == SKIPPED ? RECEIVED_SKIPPED : RECEIVED_UNPARSEABLE;
	}
	free(line);
	if (p->f[F_ENVFROM] != NULL)
		tidy_envfrom(p->f[F_ENVFROM]);
	finish_relay(p, relay);
	return RECEIVED_RELAY;
}

enum received_line received_parse_line(const struct received_conf *conf,
				       const char *value,
				       struct received_relay *relay)
{
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	struct parse p;
	enum received_line kind;

	parse_init(&p, conf, md);
	kind = parse_field(&p, value, relay);
	parse_deinit(&p);
	pcre2_match_data_free(md);
	return kind;
}

void received_relay_free(struct received_relay *relay)
{
	MYFREE(&relay->ip);
	MYFREE(&relay->rdns);
	MYFREE(&relay->helo);
	MYFREE(&relay->by);
	MYFREE(&relay->ident);
	MYFREE(&relay->id);
	MYFREE(&relay->auth);
	MYFREE(&relay->envfrom);
}

void received_relay_str(const struct received_relay *r, struct str *out)
{
	/* Perl's "envfrom || ''": "0" is written as nothing */
	const char *envfrom = r->envfrom != NULL &&
			      strcmp(r->envfrom, "0") != 0 ? r->envfrom : "";

	str_printf(out, "[ ip=%s rdns=%s helo=%s by=%s ident=%s envfrom=%s "
		   "intl=%d id=%s auth=%s msa=%d ]", r->ip, r->rdns, r->helo,
		   r->by, r->ident, envfrom, r->internal, r->id, r->auth,
		   r->msa);
}

/* ------------------------------------------------------ the message */

struct received {
	struct received_relay *relays;	/* in header order */
	size_t n_relays;
	size_t *list[RECEIVED_LIST_COUNT];	/* indexes into relays */
	size_t n_list[RECEIVED_LIST_COUNT];
	char *str[RECEIVED_LIST_COUNT];	/* built on first use */
	int last_trusted, last_internal;
	size_t unparseable;
};

static void list_add(struct received *rcv, enum received_list l, size_t i)
{
	rcv->list[l] = myrealloc(rcv->list[l],
				 (rcv->n_list[l] + 1) * sizeof(size_t));
	rcv->list[l][rcv->n_list[l]++] = i;
}

/* the values to parse: every Received:, then one line per originating
   header holding an address */
static char **field_values(const struct received_conf *conf,
			   const struct message *msg,
			   pcre2_match_data *md, size_t *n_r)
{
	char **v = NULL;
	size_t n = 0, i;
	struct parse p;

	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.md = md;
	for (i = 0; i < msg->n_headers && n < RCVD_MAX_FIELDS; i++) {
		if (strcasecmp(msg->headers[i].name, "Received") != 0)
			continue;
		v = myrealloc(v, (n + 1) * sizeof(char *));
		v[n++] = mystrdup(msg->headers[i].value);
	}
	for (i = 0; i < conf->n_orig; i++) {
		const char *h = message_header_get(msg, conf->orig_headers[i]);
		struct str line = STR_INIT;
		PCRE2_SIZE *ov;

		if (h == NULL || *h == '\0' ||
		    !match(&p, conf->extra[X_IP], h))
			continue;
		ov = pcre2_get_ovector_pointer(md);
		str_appends(&line, "from X-Originating-IP: ");
		str_append(&line, h + ov[0], ov[1] - ov[0]);
		v = myrealloc(v, (n + 1) * sizeof(char *));
		v[n++] = str_steal(&line);
	}
	*n_r = n;
	return v;
}

struct received *received_parse(const struct received_conf *conf,
				const struct message *msg)
{
	struct received *rcv = mycalloc(1, sizeof(*rcv));
	pcre2_match_data *md = pcre2_match_data_create(32, NULL);
	const struct netset *trusted = conf->trusted;
	const struct netset *internal = conf->internal;
	int configured = conf->trusted_configured || conf->internal_configured;
	int in_trusted = 1, in_internal = 1, found_msa = 0, fetch_ok = 1;
	char *carried = NULL;	/* qmail-scanner's envfrom */
	char **values;
	size_t n, i;

	/* one set stands for the other when only one is configured */
	if (conf->trusted_configured && !conf->internal_configured)
		internal = trusted;
	else if (!conf->trusted_configured && conf->internal_configured)
		trusted = internal;
	rcv->last_trusted = rcv->last_internal = -1;
	values = field_values(conf, msg, md, &n);
	for (i = 0; i < n; i++) {
		struct parse p;
		struct received_relay r;
		enum received_line kind;
		char *envfrom = carried;

		carried = NULL;
		parse_init(&p, conf, md);
		kind = parse_field(&p, values[i], &r);
		if (p.fetcher && fetch_ok) {
			/* fetched: what came before is the fetcher's own */
			rcv->n_list[RECEIVED_TRUSTED] = 0;
			rcv->n_list[RECEIVED_INTERNAL] = 0;
			rcv->n_list[RECEIVED_EXTERNAL] = 0;
		}
		if (p.qms && p.f[F_ENVFROM] != NULL &&
		    p.f[F_ENVFROM][0] != '\0' &&
		    strcmp(p.f[F_ENVFROM], "0") != 0) {
			carried = p.f[F_ENVFROM];
			p.f[F_ENVFROM] = NULL;
		}
		parse_deinit(&p);
		if (kind == RECEIVED_UNPARSEABLE)
			rcv->unparseable++;
		if (kind != RECEIVED_RELAY) {
			free(envfrom);
			rcv->last_trusted += in_trusted;
			rcv->last_internal += in_internal;
			continue;
		}
		if (envfrom != NULL) {
			free(r.envfrom);
			r.envfrom = envfrom;
		}
		if (in_trusted && !found_msa) {
			int auth = r.auth[0] != '\0';

			if (!configured) {
				/* inferred: private addresses and
				   authenticated hops only */
				if (!r.ip_private && !auth)
					in_trusted = in_internal = 0;
			} else if (!auth && !netset_contains(trusted, r.ip)) {
				in_trusted = in_internal = 0;
			} else {
				if (in_internal && !auth &&
				    !netset_contains(internal, r.ip))
					in_internal = 0;
				if (netset_contains(conf->msa, r.ip))
					found_msa = r.msa = 1;
			}
		}
		r.internal = in_internal;
		rcv->relays = myrealloc(rcv->relays, (rcv->n_relays + 1) *
					sizeof(*rcv->relays));
		rcv->relays[rcv->n_relays] = r;
		list_add(rcv, in_trusted ? RECEIVED_TRUSTED
				    : RECEIVED_UNTRUSTED, rcv->n_relays);
		list_add(rcv, in_internal ? RECEIVED_INTERNAL
					  : RECEIVED_EXTERNAL, rcv->n_relays);
		rcv->n_relays++;
		fetch_ok = in_trusted;
		rcv->last_trusted += in_trusted;
		rcv->last_internal += in_internal;
	}
	free(carried);
	for (i = 0; i < n; i++)
		free(values[i]);
	free(values);
	pcre2_match_data_free(md);
	return rcv;
}

void received_deinit(struct received **rcvp)
{
	struct received *rcv = *rcvp;
	size_t i;

	if (rcv == NULL)
		return;
	for (i = 0; i < rcv->n_relays; i++)
		received_relay_free(&rcv->relays[i]);
	free(rcv->relays);
	for (i = 0; i < RECEIVED_LIST_COUNT; i++) {
		free(rcv->list[i]);
		free(rcv->str[i]);
	}
	MYFREE(rcvp);
}

const char *received_relays_str(const struct received *rcv,
				enum received_list list)
{
	struct received *w = (struct received *)rcv;	/* the cache */

	if ((unsigned)list >= RECEIVED_LIST_COUNT)
		msg_panic("received_relays_str: list %d", (int)list);
	if (w->str[list] == NULL) {
		struct str out = STR_INIT;
		size_t i;

		for (i = 0; i < rcv->n_list[list]; i++) {
			if (i > 0)
				str_appendc(&out, ' ');
			received_relay_str(&rcv->relays[rcv->list[list][i]],
					   &out);
		}
		if (out.s == NULL)
			str_appends(&out, "");
		w->str[list] = str_steal(&out);
	}
	return w->str[list];
}

size_t received_count(const struct received *rcv, enum received_list list)
{
	return rcv->n_list[list];
}

const struct received_relay *received_relay(const struct received *rcv,
					    enum received_list list, size_t i)
{
	return i < rcv->n_list[list] ? &rcv->relays[rcv->list[list][i]]
				     : NULL;
}

size_t received_unparseable(const struct received *rcv)
{
	return rcv->unparseable;
}

int received_boundary(const struct received *rcv, int internal)
{
	return internal ? rcv->last_internal : rcv->last_trusted;
}

const char *received_envfrom(const struct received *rcv)
{
	const struct received_relay *hop;
	const char *e;

	if (rcv->n_list[RECEIVED_UNTRUSTED] > 0)
		hop = received_relay(rcv, RECEIVED_UNTRUSTED, 0);
	else if (rcv->n_list[RECEIVED_TRUSTED] > 0)
		hop = received_relay(rcv, RECEIVED_TRUSTED,
				     rcv->n_list[RECEIVED_TRUSTED] - 1);
	else
		return NULL;
	e = hop->envfrom;
	if (e != NULL && (e[0] == '\0' || (e[0] != '@' && strchr(e, '@'))))
		return e;
	return NULL;
}
