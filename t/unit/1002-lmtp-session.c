/*
 * LMTP session state machine: scripted conversations, each fed whole,
 * one byte at a time, and in odd-sized chunks, which must all give the
 * same replies and the same delivered message.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lmtp_session.h"
#include "mymalloc.h"
#include "params.h"
#include "test-lib.h"

#define LHLO_OK "250-test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n" \
	"250-8BITMIME\r\n250-SIZE 1024\r\n250-CHUNKING\r\n" \
	"250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n250 VRFY\r\n"
#define GREET "220 test LMTP spamtrap ready\r\n"
#define ENV "LHLO client\r\nMAIL FROM:<s@example.org>\r\n"
#define ENV_OK GREET LHLO_OK "250 2.1.0 Sender ok\r\n"
#define RCPT_OK "250 2.1.5 Recipient ok\r\n"
#define GO "354 2.0.0 Start mail input; end with <CRLF>.<CRLF>\r\n"

/* what the fake delivery saw */
static struct str delivered;
static int n_deliveries;
static char xf_addr[64];

static int check_rcpt(void *ctx, const struct lmtp_transaction *t,
		      const struct lmtp_rcpt *rcpt, enum errkind *kind_r,
		      const char **reason_r)
{
	if (strncmp(rcpt->addr.local, "unknown", 7) == 0) {
		*kind_r = ERR_NOUSER;
		*reason_r = "User unknown";
		return -1;
	}
	return 0;
}

/* results by local part: temp* 451, full* 452, else delivered */
static void deliver(void *ctx, struct lmtp_transaction *t)
{
	size_t i;

	n_deliveries++;
	str_clear(&delivered);
	str_append(&delivered, t->data.s, t->data.len);
	if (t->xforward->addr)
		snprintf(xf_addr, sizeof(xf_addr), "%s", t->xforward->addr);
	for (i = 0; i < t->n_rcpts; i++) {
		struct lmtp_rcpt *r = &t->rcpts[i];

		if (strncmp(r->addr.local, "temp", 4) == 0) {
			r->kind = ERR_TEMPORARY;
			r->error = mystrdup("disk trouble");
		} else if (strncmp(r->addr.local, "full", 4) == 0) {
			r->kind = ERR_NOSPACE;
			r->error = mystrdup("quota exceeded");
		} else if (strncmp(r->addr.local, "down", 4) == 0) {
			r->kind = ERR_PERMANENT;
			r->remote_code = 554;
			strcpy(r->remote_status, "5.6.0");
			r->error = mystrdup("downstream says no");
		}
	}
}

static const struct lmtp_session_callbacks cb = { check_rcpt, deliver };

struct scase {
	const char *name;
	const char *in;
	size_t in_len;		/* 0: strlen */
	const char *out;
	int deliveries;
	const char *message;	/* NULL: not checked */
	int closed;
	int max_errors;		/* 0: 20 */
};

static const struct scase cases[] = {
	{ "two recipients, mixed results, dot-stuffing",
	  ENV "RCPT TO:<c@example.org>\r\nRCPT TO:<temp@example.org>\r\n"
	  "RCPT TO:<full@example.org>\r\nRCPT TO:<down@example.org>\r\nDATA\r\n"
	  "Subject: hi\r\n\r\n..dot\r\n..\r\nbody \xc3\xa9\r\n.\r\nQUIT\r\n", 0,
	  ENV_OK RCPT_OK RCPT_OK RCPT_OK RCPT_OK GO
	  "250 2.0.0 <c@example.org> Delivered T.1\r\n"
	  "451 4.2.0 <temp@example.org> disk trouble\r\n"
	  "452 4.2.2 <full@example.org> quota exceeded\r\n"
	  "554 5.6.0 <down@example.org> downstream says no\r\n"
	  "221 2.0.0 test Bye\r\n",
	  1, "Subject: hi\n\n.dot\n.\nbody \xc3\xa9\n", 1, 0 },
	{ "bare LF line ends",
	  "LHLO c\nMAIL FROM:<>\nRCPT TO:<x@y>\nDATA\na\n..\n.\n", 0,
	  GREET LHLO_OK "250 2.1.0 Sender ok\r\n" RCPT_OK GO
	  "250 2.0.0 <x@y> Delivered T.1\r\n", 1, "a\n.\n", 0, 0 },
	{ "sequence errors and refusals",
	  "MAIL FROM:<a@b>\r\nHELO x\r\nEHLO x\r\nLHLO x\r\nRCPT TO:<a@b>\r\nDATA\r\n"
	  "MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\nRCPT TO:<../x@y>\r\n"
	  "RCPT TO:<unknown@y>\r\nRCPT TO:<a/b@y>\r\nRCPT TO:<@y>\r\nRSET\r\nNOOP\r\n", 0,
	  GREET "503 5.5.1 Send LHLO first\r\n"
	  "500 5.5.1 This is an LMTP server: use LHLO (RFC 2033)\r\n"
	  "500 5.5.1 This is an LMTP server: use LHLO (RFC 2033)\r\n" LHLO_OK
	  "503 5.5.1 MAIL first\r\n503 5.5.1 Bad sequence of commands\r\n"
	  "250 2.1.0 Sender ok\r\n503 5.5.1 Nested MAIL command\r\n"
	  "503 5.5.1 No valid recipients\r\n"
	  "550 5.1.3 local part not allowed\r\n"
	  "550 5.1.1 <unknown@y> User unknown\r\n"
	  "550 5.1.3 local part not allowed\r\n"
	  "501 5.1.3 bad address syntax: expected <address>\r\n"
	  "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n", 0, NULL, 0, 0 },
	{ "oversized message: 552 per recipient, connection usable",
	  ENV "RCPT TO:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  ".\r\nNOOP\r\n", 0,
	  ENV_OK RCPT_OK RCPT_OK GO
	  "552 5.3.4 <a@b> Message size exceeds fixed limit\r\n"
	  "552 5.3.4 <c@d> Message size exceeds fixed limit\r\n"
	  "250 2.0.0 Ok\r\n", 0, NULL, 0, 0 },
	{ "SIZE= over the limit refused at MAIL",
	  "LHLO x\r\nMAIL FROM:<a@b> SIZE=5000\r\nMAIL FROM:<a@b> SIZE=10 BODY=8BITMIME\r\n"
	  "RSET\r\nMAIL FROM:<a@b> AUTH=<>\r\n", 0,
	  GREET LHLO_OK "552 5.3.4 Message size exceeds fixed limit of 1024 bytes\r\n"
	  "250 2.1.0 Sender ok\r\n250 2.0.0 Ok\r\n"
	  "555 5.5.4 Unsupported parameter AUTH\r\n", 0, NULL, 0, 0 },
	{ "over-long command line, then a good one",
	  "NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
	  "NOOP\r\n", 0,
	  GREET "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n", 0, NULL, 0, 0 },
	{ "garbage and NUL bytes",
	  "\x01\x02\x03\r\nNO\0OP\r\nFOO BAR\r\n\r\nNOOP\r\n", 29,
	  GREET "500 5.5.2 control character in command line\r\n"
	  "500 5.5.2 control character in command line\r\n"
	  "500 5.5.1 Unknown command\r\n500 5.5.1 Unknown command\r\n"
	  "250 2.0.0 Ok\r\n", 0, NULL, 0, 0 },
	{ "too many errors: 421 and close",
	  "A\r\nB\r\nC\r\nD\r\nE\r\nNOOP\r\n", 0,
	  GREET "500 5.5.1 Unknown command\r\n500 5.5.1 Unknown command\r\n"
	  "500 5.5.1 Unknown command\r\n500 5.5.1 Unknown command\r\n"
	  "500 5.5.1 Unknown command\r\n"
	  "421 4.7.0 test Too many errors, closing connection\r\n", 0, NULL, 1, 5 },
	{ "BDAT chunks, CRLF across chunks",
	  ENV "RCPT TO:<a@b>\r\nBDAT 3\r\nab\rBDAT 7 LAST\r\n\ncd\r\nx\rNOOP\r\n", 0,
	  ENV_OK RCPT_OK "250 2.0.0 3 octets received\r\n"
	  "250 2.0.0 <a@b> Delivered T.1\r\n250 2.0.0 Ok\r\n", 1, "ab\ncd\nx\r", 0, 0 },
	{ "BDAT 0 LAST, BDAT without recipients drops its chunk",
	  ENV "BDAT 3\r\nxyzNOOP\r\nMAIL FROM:<a@b>\r\nRCPT TO:<a@b>\r\nBDAT 2\r\nhiDATA\r\nBDAT 0 LAST\r\n", 0,
	  ENV_OK "503 5.5.1 No valid recipients\r\n250 2.0.0 Ok\r\n"
	  "250 2.1.0 Sender ok\r\n" RCPT_OK "250 2.0.0 2 octets received\r\n"
	  "503 5.5.1 DATA after BDAT\r\n"
	  "250 2.0.0 <a@b> Delivered T.2\r\n", 1, "hi", 0, 0 },
	{ "XFORWARD before MAIL, not after",
	  "LHLO x\r\nXFORWARD ADDR=192.0.2.7 NAME=mx.example.net PROTO=ESMTP\r\n"
	  "XFORWARD HELO=h+20x\r\nXFORWARD BOGUS=1\r\nXFORWARD\r\nMAIL FROM:<a@b>\r\n"
	  "XFORWARD ADDR=1.1.1.1\r\nRCPT TO:<a@b>\r\nDATA\r\nx\r\n.\r\n", 0,
	  GREET LHLO_OK "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
	  "501 5.5.4 Bad XFORWARD attribute BOGUS\r\n"
	  "501 5.5.4 Bad XFORWARD syntax\r\n250 2.1.0 Sender ok\r\n"
	  "503 5.5.1 XFORWARD only before MAIL\r\n" RCPT_OK GO
	  "250 2.0.0 <a@b> Delivered T.1\r\n", 1, "x\n", 0, 0 },
	{ "VRFY and HELP",
	  "VRFY <alice@example.org>\r\nVRFY unknown@x\r\nVRFY ../x\r\nHELP\r\n", 0,
	  GREET "252 2.1.5 <alice@example.org> Cannot VRFY user, but will accept message\r\n"
	  "550 5.1.1 <unknown@x> User unknown\r\n501 5.1.3 local part not allowed\r\n"
	  "214-2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP\r\n"
	  "214 2.0.0 QUIT VRFY HELP XFORWARD (RFC 2033)\r\n", 0, NULL, 0, 0 },
	{ "two transactions on one connection",
	  ENV "RCPT TO:<a@b>\r\nDATA\r\none\r\n.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<a@b>\r\n"
	  "DATA\r\ntwo\r\n.\r\n", 0,
	  ENV_OK RCPT_OK GO "250 2.0.0 <a@b> Delivered T.1\r\n"
	  "250 2.1.0 Sender ok\r\n" RCPT_OK GO "250 2.0.0 <a@b> Delivered T.2\r\n",
	  2, "two\n", 0, 0 },
	{ "disconnect in DATA delivers nothing",
	  ENV "RCPT TO:<a@b>\r\nDATA\r\npartial message\r\n", 0,
	  ENV_OK RCPT_OK GO, 0, NULL, 0, 0 },
};

static void run(const struct scase *c, size_t chunk, const char *how)
{
	struct lmtp_session_limits lim = { 200, 4, 1024, 20, "test" };
	struct lmtp_peer peer = { "127.0.0.1", "localhost" };
	struct lmtp_session *s;
	struct str out = STR_INIT;
	size_t len = c->in_len ? c->in_len : strlen(c->in), pos;

	if (c->max_errors)
		lim.max_errors = c->max_errors;
	n_deliveries = 0;
	str_clear(&delivered);
	s = lmtp_session_init("T", &peer, &lim, &cb, NULL);
	for (pos = 0; pos < len; pos += chunk) {
		size_t n = len - pos < chunk ? len - pos : chunk;
		struct str *o = lmtp_session_output(s);

		lmtp_session_input(s, c->in + pos, n);
		str_append(&out, o->s, o->len);
		str_clear(o);
	}
	str_append(&out, lmtp_session_output(s)->s,
		   lmtp_session_output(s)->len);
	TEST_IS_STR(str_c(&out), c->out, "%s (%s): replies", c->name, how);
	TEST_IS_INT(n_deliveries, c->deliveries, "%s (%s): deliveries", c->name, how);
	if (c->message)
		TEST_IS_STR(str_c(&delivered), c->message, "%s (%s): message", c->name, how);
	TEST_IS_INT(lmtp_session_closing(s), c->closed, "%s (%s): closed", c->name, how);
	lmtp_session_eof(s);
	lmtp_session_deinit(&s);
	TEST_OK(s == NULL, "%s (%s): deinit clears", c->name, how);
	str_deinit(&out);
}

int main(void)
{
	char *error;
	size_t i;

	if (config_load(NULL, NULL, 0, &error) < 0)
		return 1;
	str_init(&delivered, 64);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(&cases[i], (size_t)-1 / 2, "whole");
		run(&cases[i], 1, "byte by byte");
		run(&cases[i], 7, "7-byte chunks");
	}
	TEST_IS_STR(xf_addr, "192.0.2.7", "XFORWARD ADDR reached delivery");

	/* timeout and shutdown */
	{
		struct lmtp_session_limits lim = { 200, 4, 1024, 5, "test" };
		struct lmtp_peer peer = { "unix", "unix" };
		struct lmtp_session *s = lmtp_session_init("T", &peer, &lim, &cb, NULL);
		const char *in = ENV "RCPT TO:<a@b>\r\n";

		lmtp_session_input(s, in, strlen(in));
		TEST_IS_INT(lmtp_session_shutdown(s), 0, "no shutdown inside a transaction");
		lmtp_session_input(s, "RSET\r\n", 6);
		TEST_IS_INT(lmtp_session_shutdown(s), 1, "shutdown between transactions");
		TEST_LIKE(lmtp_session_output(s)->s, "421 4.3.2 test Service shutting down",
			  "shutdown reply");
		lmtp_session_deinit(&s);

		s = lmtp_session_init("T", &peer, &lim, &cb, NULL);
		lmtp_session_timeout(s);
		TEST_LIKE(lmtp_session_output(s)->s, "421 4.4.2 test Timeout exceeded",
			  "timeout reply");
		TEST_IS_INT(lmtp_session_closing(s), 1, "timeout closes");
		lmtp_session_deinit(&s);
	}
	str_deinit(&delivered);
	config_deinit();
	return test_done();
}
