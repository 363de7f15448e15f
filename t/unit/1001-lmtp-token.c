/*
 * LMTP command tokenizer: a table of lines and what they must give.
 */
#include <stdlib.h>
#include <string.h>

#include "lmtp_token.h"
#include "test-lib.h"

struct tcase {
	const char *line;
	enum lmtp_token_error err;
	enum lmtp_verb verb;
	const char *path;	/* NULL: not checked */
	const char *arg;
	int n_params;
	const char *p0name, *p0value;
};

static const struct tcase cases[] = {
	{ "LHLO mx.example.org", 0, LMTP_VERB_LHLO, NULL, "mx.example.org", 0, NULL, NULL },
	{ "lhlo  mx  ", 0, LMTP_VERB_LHLO, NULL, "mx", 0, NULL, NULL },
	{ "LHLO", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "EHLO x", 0, LMTP_VERB_EHLO, NULL, "x", 0, NULL, NULL },
	{ "HELO", 0, LMTP_VERB_HELO, NULL, "", 0, NULL, NULL },
	{ "MAIL FROM:<a@b.c>", 0, LMTP_VERB_MAIL, "a@b.c", "", 0, NULL, NULL },
	{ "mail from:<>", 0, LMTP_VERB_MAIL, "", "", 0, NULL, NULL },
	{ "MAIL FROM: <a@b>", 0, LMTP_VERB_MAIL, "a@b", "", 0, NULL, NULL },
	{ "MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME", 0, LMTP_VERB_MAIL, "a@b", "", 2, "SIZE", "100" },
	{ "MAIL FROM:<a@b> body=7bit", 0, LMTP_VERB_MAIL, "a@b", "", 1, "BODY", "7bit" },
	{ "MAIL FROM:<a@b> SMTPUTF8", 0, LMTP_VERB_MAIL, "a@b", "", 1, "SMTPUTF8", NULL },
	{ "MAIL FROM:<@r1,@r2:a@b>", 0, LMTP_VERB_MAIL, "a@b", "", 0, NULL, NULL },
	{ "MAIL FROM:<\"a b>c\"@d>", 0, LMTP_VERB_MAIL, "\"a b>c\"@d", "", 0, NULL, NULL },
	{ "MAIL FROM:a@b", LMTP_TOKEN_ADDRESS, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL FROM:<a@b", LMTP_TOKEN_ADDRESS, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL FROM:<a b@c>", LMTP_TOKEN_ADDRESS, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL FROM:<a@b>x", LMTP_TOKEN_ADDRESS, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL TO:<a@b>", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL FROM:<a@b> =x", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "MAIL FROM:<a@b> S!ZE=1", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "RCPT TO:<alice+Spam@Example.ORG>", 0, LMTP_VERB_RCPT, "alice+Spam@Example.ORG", "", 0, NULL, NULL },
	{ "RCPT TO:<x@y> NOTIFY=NEVER ORCPT=rfc822;x@y", 0, LMTP_VERB_RCPT, "x@y", "", 2, "NOTIFY", "NEVER" },
	{ "RCPT FROM:<x@y>", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "DATA", 0, LMTP_VERB_DATA, NULL, "", 0, NULL, NULL },
	{ "DATA x", LMTP_TOKEN_SYNTAX, 0, NULL, NULL, 0, NULL, NULL },
	{ "BDAT 100 LAST", 0, LMTP_VERB_BDAT, NULL, "100 LAST", 0, NULL, NULL },
	{ "RSET", 0, LMTP_VERB_RSET, NULL, "", 0, NULL, NULL },
	{ "NOOP anything", 0, LMTP_VERB_NOOP, NULL, "anything", 0, NULL, NULL },
	{ "QUIT", 0, LMTP_VERB_QUIT, NULL, "", 0, NULL, NULL },
	{ "VRFY alice", 0, LMTP_VERB_VRFY, NULL, "alice", 0, NULL, NULL },
	{ "XFORWARD NAME=mx ADDR=192.0.2.1", 0, LMTP_VERB_XFORWARD, NULL, "NAME=mx ADDR=192.0.2.1", 0, NULL, NULL },
	{ "STARTTLS", LMTP_TOKEN_UNKNOWN, 0, NULL, NULL, 0, NULL, NULL },
	{ "", LMTP_TOKEN_UNKNOWN, 0, NULL, NULL, 0, NULL, NULL },
	{ "GET / HTTP/1.0", LMTP_TOKEN_UNKNOWN, 0, NULL, NULL, 0, NULL, NULL },
	{ "NOOP a\001b", LMTP_TOKEN_BADCHAR, 0, NULL, NULL, 0, NULL, NULL },
};

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct lmtp_command cmd;
		const char *err = NULL;
		enum lmtp_token_error r;

		r = lmtp_token_parse(c->line, strlen(c->line), &cmd, &err);
		TEST_IS_INT(r, c->err, "\"%s\": result", c->line);
		if (r != LMTP_TOKEN_OK) {
			TEST_OK(err != NULL && err[0], "\"%s\": has a reason (%s)",
				c->line, err ? err : "");
			continue;
		}
		TEST_IS_INT(cmd.verb, c->verb, "\"%s\": verb", c->line);
		if (c->path)
			TEST_IS_STR(cmd.path, c->path, "\"%s\": path", c->line);
		if (c->arg)
			TEST_IS_STR(cmd.arg, c->arg, "\"%s\": arg", c->line);
		TEST_IS_INT(cmd.n_params, c->n_params, "\"%s\": params", c->line);
		if (c->p0name) {
			TEST_IS_STR(cmd.params[0].name, c->p0name, "\"%s\": param name", c->line);
			TEST_IS_STR(cmd.params[0].value, c->p0value, "\"%s\": param value", c->line);
		}
		lmtp_token_clear(&cmd);
	}

	/* a NUL byte inside the line (length-delimited input) */
	{
		struct lmtp_command cmd;
		const char *err;

		TEST_IS_INT(lmtp_token_parse("NOOP a\0b", 8, &cmd, &err),
			    LMTP_TOKEN_BADCHAR, "NUL byte refused");
	}
	/* too many parameters */
	{
		struct lmtp_command cmd;
		const char *err = NULL;
		const char *line = "MAIL FROM:<a@b> A=1 B=1 C=1 D=1 E=1 F=1 G=1 H=1 "
			"I=1 J=1 K=1 L=1 M=1 N=1 O=1 P=1 Q=1";

		TEST_IS_INT(lmtp_token_parse(line, strlen(line), &cmd, &err),
			    LMTP_TOKEN_SYNTAX, "17 parameters refused");
		TEST_LIKE(err, "too many parameters", "reason says so");
	}
	/* xtext */
	{
		char *out = NULL;

		TEST_IS_INT(lmtp_token_xtext_decode("a+2Bb+3D", &out), 0, "xtext decodes");
		TEST_IS_STR(out, "a+b=", "xtext value");
		free(out);
		TEST_IS_INT(lmtp_token_xtext_decode("a+2", &out), -1, "short hex refused");
		TEST_IS_INT(lmtp_token_xtext_decode("a=b", &out), -1, "raw = refused");
	}
	return test_done();
}
