/*
 * lmtp_token - split one LMTP command line into verb, path and
 * parameters.  No I/O, no state: the session decides what a command
 * means in context.
 */
#ifndef SPAMTRAP_LMTP_TOKEN_H
#define SPAMTRAP_LMTP_TOKEN_H

#include <stddef.h>

#define LMTP_MAX_PARAMS	16	/* ESMTP parameters on one MAIL/RCPT */

enum lmtp_verb {
	LMTP_VERB_UNKNOWN = 0,
	LMTP_VERB_LHLO,
	LMTP_VERB_HELO,
	LMTP_VERB_EHLO,
	LMTP_VERB_MAIL,
	LMTP_VERB_RCPT,
	LMTP_VERB_DATA,
	LMTP_VERB_BDAT,
	LMTP_VERB_RSET,
	LMTP_VERB_NOOP,
	LMTP_VERB_QUIT,
	LMTP_VERB_VRFY,
	LMTP_VERB_HELP,
	LMTP_VERB_XFORWARD,
};

/* why a line could not be tokenized; the session picks the reply */
enum lmtp_token_error {
	LMTP_TOKEN_OK = 0,
	LMTP_TOKEN_UNKNOWN,	/* no such command */
	LMTP_TOKEN_SYNTAX,	/* bad arguments */
	LMTP_TOKEN_BADCHAR,	/* NUL or other control byte in the line */
	LMTP_TOKEN_ADDRESS,	/* bad <path> */
};

struct lmtp_param {
	char *name;		/* upper-cased */
	char *value;		/* NULL when "NAME" has no "=VALUE" */
};

struct lmtp_command {
	enum lmtp_verb verb;
	char *arg;		/* text after the verb (LHLO, VRFY, HELP, BDAT,
				   XFORWARD), trimmed; "" when none */
	char *path;		/* MAIL/RCPT: the address without <>, "" for <> */
	struct lmtp_param params[LMTP_MAX_PARAMS];
	int n_params;
};

/*
 * Parse LINE of LEN bytes (without the line end).  Returns
 * LMTP_TOKEN_OK and fills CMD (free with lmtp_token_clear), or an error
 * with a static explanation in *error_r.
 */
enum lmtp_token_error lmtp_token_parse(const char *line, size_t len,
				       struct lmtp_command *cmd,
				       const char **error_r);
void lmtp_token_clear(struct lmtp_command *cmd);
const char *lmtp_token_verb_name(enum lmtp_verb verb);

/* decode Postfix/ESMTP xtext ("+2B" -> "+"); -1 on bad encoding */
int lmtp_token_xtext_decode(const char *in, char **out_r);

#endif
