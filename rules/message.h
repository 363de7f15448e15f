/*
 * message - our own model of a mail message, built once over GMime.
 *
 * This is the one place that talks to GMime.  The rule engine, the CLI's
 * message view, the quarantine and the LMTP server see only this model:
 *
 *   full      the raw message (without a leading mbox "From " line)
 *   headers   every top-level header field in order, with its raw value
 *             (as after the colon: leading space, folds and the final
 *             newline kept) and its decoded value (unfolded, RFC 2047
 *             decoded except where SpamAssassin does not decode, charset
 *             converted to UTF-8, trimmed)
 *   body      the rendered text as SpamAssassin's rules see it: the
 *             decoded Subject as the first line, then every text/plain and
 *             text/html leaf (transfer encoding undone, charset converted
 *             to UTF-8, HTML rendered to text) joined; blank-line separated
 *             paragraphs become one line each, other white space collapses
 *             to one space; lines longer than 2048 bytes are split
 *   rawbody   every text/ and message/ leaf, transfer encoding undone but
 *             neither converted nor rendered, in chunks of 2-4 KiB
 *   uris      every URI found in the rendered text (scheme URLs, www. and
 *             schemeless host names, mail addresses) and in HTML attributes
 *             (href, src, background, action), each with its normalised
 *             variants (%-decoding, scheme added, port dropped, numeric
 *             hosts, redirect targets), unique
 *
 * All strings are UTF-8 (except rawbody, which is the part's own bytes),
 * NUL-terminated, and owned by the message.  Parsing never fails on bad
 * input: a broken MIME structure degrades to what GMime recovers.
 */
#ifndef SPAMTRAP_MESSAGE_H
#define SPAMTRAP_MESSAGE_H

#include <stddef.h>

struct message_header {
	char *name;		/* as written, without trailing blanks */
	unsigned hash;		/* message_name_hash(name) */
	char *raw;		/* after the colon, as written (LF line ends) */
	char *value;		/* decoded, unfolded, trimmed, UTF-8 */
};

struct message_text {
	const char *s;		/* NUL-terminated, may contain NUL for rawbody */
	size_t len;
};

struct message {
	char *full;		/* the message as given, mbox From_ line removed */
	size_t full_len;
	size_t header_len;	/* bytes of full that are the header section */

	struct message_header *headers;
	size_t n_headers;

	struct message_text *body;	/* rendered lines, Subject first */
	size_t n_body;
	struct message_text *rawbody;	/* decoded, unrendered chunks */
	size_t n_rawbody;
	char **uris;			/* unique, normalised URIs */
	size_t n_uris;

	int n_parts;		/* leaf MIME parts */
	int n_text_parts;	/* text/plain leaves */
	int n_html_parts;	/* text/html leaves */

	/* private */
	char *body_buf, *rawbody_buf, *text_buf;
};

/*
 * Parse DATA (LEN bytes, CRLF or LF line ends).  Always succeeds
 * (memory exhaustion aside); message_deinit() frees and sets *msgp NULL.
 */
struct message *message_parse(const char *data, size_t len);
void message_deinit(struct message **msgp);

/* the decoded value of the last field NAME (case-insensitive), or NULL */
const char *message_header_get(const struct message *msg, const char *name);
/* a hash of a header name that ignores ASCII case: names that differ
   only in case have the same (a quick test before strcasecmp) */
unsigned message_name_hash(const char *name);

/* the whole rendered body as plain text (paragraphs on their own lines),
   without the Subject line: for viewing a message */
const char *message_body_text(struct message *msg);

/*
 * Helpers shared with the rule engine and tests.
 */
/* decode RFC 2047 encoded words in TEXT the way SpamAssassin does (adjacent
   words joined, charsets converted to UTF-8); the result is allocated */
char *message_decode_header(const char *name, const char *text);
/* convert LEN bytes in CHARSET (may be NULL) to UTF-8 into *out (appended);
   valid UTF-8 is kept as is, undecodable bytes fall back to Windows-1252 */
struct str;
void message_to_utf8(const char *data, size_t len, const char *charset,
		     struct str *out);
/* render HTML (UTF-8 or ASCII) to text as SpamAssassin's HTML renderer;
   URIs found in attributes are appended to URIS (may be NULL) as
   NUL-separated strings */
void message_render_html(const char *html, size_t len, struct str *text,
			 struct str *uris);

#endif
