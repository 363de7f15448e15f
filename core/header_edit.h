/*
 * header_edit - small edits of a message's header block, in place.
 *
 * The message is raw RFC 5322 text with LF line ends, as lmtpd keeps
 * it.  The header block ends at the first empty line; a field runs
 * from its name to the last continuation line (starting with SP/TAB).
 * Bytes outside the fields touched are never changed, so malformed
 * messages stay as they came.
 */
#ifndef SPAMTRAP_HEADER_EDIT_H
#define SPAMTRAP_HEADER_EDIT_H

#include "str.h"

/* length of the header block (up to and including its last field's LF;
   0 when the message starts with an empty line or no header field) */
size_t header_edit_block_len(const char *msg, size_t len);

/*
 * Remove every field whose name equals NAME, or starts with it when NAME
 * ends in '*' ("X-Spamtrap-*"); case-insensitive.  Returns the count.
 */
int header_edit_remove(struct str *msg, const char *name);

/* the first field NAME's value, unfolded and trimmed (raw, not decoded);
   1 found (value in *value_r), 0 not there */
int header_edit_get(const char *msg, size_t len, const char *name,
		    struct str *value_r);

/* insert TEXT ("Name: value\n", may be folded) before the first field */
void header_edit_prepend(struct str *msg, const char *text);

/*
 * Put PREFIX and a space before the first Subject's value; add
 * "Subject: PREFIX" at the end of the header block when there is none.
 */
void header_edit_tag_subject(struct str *msg, const char *prefix);

#endif
