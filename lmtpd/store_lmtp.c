/*
 * store_lmtp - forward to a downstream LMTP server (Dovecot, Cyrus).
 *
 *	lmtp:127.0.0.1:24	lmtp:[::1]:24	lmtp:unix:/run/dovecot/lmtp
 *
 * One connection per store_deliver() call, with libetpan's SMTP/LMTP
 * client: LHLO, then one transaction per distinct message (recipients
 * that share a msg pointer go together), MAIL FROM, RCPT TO for each,
 * DATA.  libetpan's mailstream_send_data() turns LF into CRLF and
 * dot-stuffs; it always ends with "\r\n.\r\n", so the message's own
 * last line end is left to it.  After DATA an LMTP server answers once
 * per accepted recipient; libetpan's maillmtp_data_message() keeps
 * only the codes, so those replies are read here, with libetpan's
 * mailstream, to keep each one's text and enhanced status code.
 *
 * A folder is addressed by recipient detail: folder "Spam" for
 * alice@example.org is RCPT TO:<alice+Spam@example.org> (the first
 * character of recipient_delimiter), as Dovecot's
 * lmtp_save_to_detail_mailbox and Cyrus's plus-addressing read it.  For
 * the inbox the recipient goes on with the detail it came with
 * (alice+lists@example.org stays so), leaving its meaning to the
 * downstream server, as a transparent hop should.  No Return-Path or
 * Delivered-To is added; the downstream server adds its own.
 *
 * Results: the downstream reply for a recipient becomes its result
 * (2xx stored, 4xx temporary, 5xx permanent) with remote_code and
 * remote_status set; a store that cannot be reached, times out
 * (store_timeout) or drops the connection is a temporary failure for
 * every recipient without a reply.  Nothing is reported stored unless
 * the downstream said 2xx for it after DATA.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "folder_name.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "store_private.h"
#include "str.h"

/* libetpan formats commands into a 513-byte buffer: keep paths below */
#define LMTP_PATH_MAX		500
#define LMTP_REPLY_MAX		2048	/* reply text kept, bytes */
#define LMTP_REPLY_LINES	100	/* lines in one reply */

struct lmtp_store {
	struct store store;
	char *spec;		/* "lmtp:...", for locations and reasons */
	char *host;		/* TCP host, or NULL */
	char *port;
	char *path;		/* unix socket, or NULL */
};

/* one connection's state while delivering */
struct lmtp_conn {
	struct lmtp_store *ls;
	mailsmtp *smtp;
	MMAPString *line;
	char *broken;		/* why the connection is unusable, or NULL */
	int transactions;
};

/* ---------------------------------------------------------------- set-up */

static void lmtp_deinit(struct store *store)
{
	struct lmtp_store *ls = (struct lmtp_store *)store;

	free(ls->spec);
	free(ls->host);
	free(ls->port);
	free(ls->path);
	free(ls);
}

static void lmtp_deliver(struct store *store, const struct store_envelope *env,
			 struct store_rcpt *rcpts, size_t n);

static int lmtp_parse(struct lmtp_store *ls, const char *args,
		      const char **error_r)
{
	const char *colon, *host, *p;
	size_t host_len;
	long port;

	if (strncmp(args, "unix:", 5) == 0) {
		struct sockaddr_un sa_un;

		if (args[5] != '/') {
			*error_r = "the socket path must be absolute";
			return -1;
		}
		if (strlen(args + 5) >= sizeof(sa_un.sun_path)) {
			*error_r = "the socket path is too long";
			return -1;
		}
		ls->path = mystrdup(args + 5);
		return 0;
	}
	if (args[0] == '[') {
		const char *close = strchr(args, ']');

		if (close == NULL || close[1] != ':') {
			*error_r = "expected [IPv6]:PORT";
			return -1;
		}
		host = args + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(args, ':');
		if (colon == NULL) {
			*error_r = "expected HOST:PORT, [IPv6]:PORT or unix:PATH";
			return -1;
		}
		host = args;
		host_len = (size_t)(colon - args);
		if (memchr(host, ':', host_len) != NULL) {
			*error_r = "put an IPv6 address in brackets: [IPv6]:PORT";
			return -1;
		}
	}
	if (host_len == 0) {
		*error_r = "empty host";
		return -1;
	}
	port = 0;
	for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	if (p == colon + 1 || *p != '\0' || port < 1 || port > 65535) {
		*error_r = "the port must be a number from 1 to 65535";
		return -1;
	}
	ls->host = mystrndup(host, host_len);
	ls->port = mystrdup(colon + 1);
	return 0;
}

struct store *store_lmtp_init(const char *args, char **error_r)
{
	struct lmtp_store *ls = mycalloc(1, sizeof(*ls));
	struct str spec = STR_INIT;
	const char *error = NULL;

	ls->store.type = "lmtp";
	ls->store.deliver = lmtp_deliver;
	ls->store.deinit = lmtp_deinit;
	str_printf(&spec, "lmtp:%s", args);
	ls->spec = str_steal(&spec);
	if (!store_text_safe(args) || lmtp_parse(ls, args, &error) < 0) {
		struct str e = STR_INIT;

		if (!store_text_safe(args))
			error = "control character in the spec";
		str_printf(&e, "store \"%s\": %s", ls->spec, error);
		*error_r = str_steal(&e);
		lmtp_deinit(&ls->store);
		return NULL;
	}
	*error_r = NULL;
	return &ls->store;
}

/* ---------------------------------------------------------------- connecting */

/* wait for a non-blocking connect on FD; 0 or -1 with errno */
static int lmtp_wait_connect(int fd)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	socklen_t len = sizeof(int);
	int r, err = 0;

	do {
		r = poll(&pfd, 1, var_store_timeout * 1000);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* connect to the store; the socket, or -1 with a reason in ERR */
static int lmtp_connect_socket(struct lmtp_store *ls, struct str *err)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, r, saved = 0;

	if (ls->path != NULL) {
		struct sockaddr_un sa_un;

		memset(&sa_un, 0, sizeof(sa_un));
		sa_un.sun_family = AF_UNIX;
		memcpy(sa_un.sun_path, ls->path, strlen(ls->path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			str_printf(err, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sa_un, sizeof(sa_un)) < 0 &&
		    (errno != EINPROGRESS || lmtp_wait_connect(fd) < 0)) {
			str_printf(err, "connect to %s: %s", ls->path,
				   strerror(errno));
			close(fd);
			return -1;
		}
		return fd;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(ls->host, ls->port, &hints, &res);
	if (r != 0) {
		str_printf(err, "look up %s: %s", ls->host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && lmtp_wait_connect(fd) == 0))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		str_printf(err, "connect to %s port %s: %s", ls->host, ls->port,
			   strerror(saved));
	return fd;
}

static const char *lmtp_hostname(void)
{
	static char buf[256];

	if (var_myhostname != NULL && var_myhostname[0] != '\0')
		return var_myhostname;
	if (gethostname(buf, sizeof(buf)) < 0)
		return "localhost";
	buf[sizeof(buf) - 1] = '\0';
	return buf;
}

/* copy at most LMTP_REPLY_MAX bytes of libetpan's reply text, one line */
static void lmtp_libetpan_text(mailsmtp *smtp, struct str *out)
{
	const char *s = smtp->response != NULL ? smtp->response : "";
	size_t i;

	for (i = 0; s[i] != '\0' && out->len < LMTP_REPLY_MAX; i++)
		str_appendc(out, s[i] == '\n' || s[i] == '\r' ? ' ' : s[i]);
	while (out->len > 0 && out->s[out->len - 1] == ' ')
		str_truncate(out, out->len - 1);
}

/* "STEP: CODE TEXT", or why there was no reply, for a failed STEP */
static void lmtp_step_error(mailsmtp *smtp, const char *step,
			    struct str *out)
{
	str_printf(out, "%s: ", step);
	if (smtp->response_code != 0) {
		str_printf(out, "%d ", smtp->response_code);
		lmtp_libetpan_text(smtp, out);
	} else {
		str_appends(out, "no reply (connection closed or timed out)");
	}
}

/* connect and greet; 0, or -1 with conn->broken set */
static int lmtp_open(struct lmtp_conn *conn)
{
	struct str err = STR_INIT;
	mailstream *stream;
	int fd, r;

	fd = lmtp_connect_socket(conn->ls, &err);
	if (fd < 0)
		goto fail;
	stream = mailstream_socket_open_timeout(fd, (time_t)var_store_timeout);
	if (stream == NULL) {
		close(fd);
		str_appends(&err, "out of memory for the stream");
		goto fail;
	}
	conn->smtp = mailsmtp_new(0, NULL);
	conn->line = mmap_string_new("");
	if (conn->smtp == NULL || conn->line == NULL) {
		mailstream_close(stream);
		str_appends(&err, "out of memory for the session");
		goto fail;
	}
	mailsmtp_set_timeout(conn->smtp, (time_t)var_store_timeout);
	/* on failure libetpan closes the stream itself */
	r = mailsmtp_connect(conn->smtp, stream);
	if (r != MAILSMTP_NO_ERROR) {
		lmtp_step_error(conn->smtp, "greeting", &err);
		goto fail;
	}
	conn->smtp->response_code = 0;
	r = mailesmtp_lhlo(conn->smtp, lmtp_hostname());
	if (r != MAILSMTP_NO_ERROR) {
		lmtp_step_error(conn->smtp, "LHLO", &err);
		goto fail;
	}
	return 0;
fail:
	conn->broken = str_steal(&err);
	return -1;
}

static void lmtp_close(struct lmtp_conn *conn)
{
	if (conn->smtp != NULL) {
		/* sends QUIT if the stream is still open, then closes it */
		mailsmtp_free(conn->smtp);
		conn->smtp = NULL;
	}
	if (conn->line != NULL) {
		mmap_string_free(conn->line);
		conn->line = NULL;
	}
	MYFREE(&conn->broken);
}

/* ---------------------------------------------------------------- replies */

/* the enhanced status at the start of TEXT matching CODE, into STATUS */
static int lmtp_parse_status(int code, const char *text, char *status,
			     size_t size)
{
	const char *p = text;
	size_t len, n;
	int part;

	if (p[0] != '0' + code / 100 || p[1] != '.')
		return 0;
	p += 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; p[n] >= '0' && p[n] <= '9'; n++)
			;
		if (n == 0 || n > 3)
			return 0;
		p += n;
		if (part == 0) {
			if (*p != '.')
				return 0;
			p++;
		}
	}
	if (*p != '\0' && *p != ' ')
		return 0;
	len = (size_t)(p - text);
	if (len >= size)
		return 0;
	memcpy(status, text, len);
	status[len] = '\0';
	return 1;
}

/* an enhanced status for a server that sends none (RFC 3463) */
static const char *lmtp_derive_status(int code)
{
	switch (code) {
	case 450: return "4.2.0";	/* mailbox unavailable */
	case 451: return "4.3.0";	/* local error */
	case 452: return "4.2.2";	/* insufficient storage */
	case 550: return "5.2.0";	/* mailbox unavailable */
	case 551: return "5.1.6";	/* user not local */
	case 552: return "5.2.2";	/* storage exceeded */
	case 553: return "5.1.3";	/* mailbox name not allowed */
	}
	switch (code / 100) {
	case 2: return "2.0.0";
	case 4: return "4.0.0";
	default: return "5.0.0";
	}
}

/* make CODE/TEXT the recipient's result */
static void lmtp_result(struct lmtp_conn *conn, struct store_rcpt *rcpt,
			const char *stage, int code, const char *text)
{
	const char *spec = conn->ls->spec;
	char status[sizeof(rcpt->remote_status)];

	if (code / 100 == 2) {
		store_rcpt_stored(rcpt, spec);
	} else if (code / 100 == 4) {
		store_rcpt_fail(rcpt, ERR_TEMPORARY, "%s after %s: %d %s",
				spec, stage, code, text);
	} else if (code / 100 == 5) {
		store_rcpt_fail(rcpt, ERR_PERMANENT, "%s after %s: %d %s",
				spec, stage, code, text);
	} else {
		store_rcpt_fail(rcpt, ERR_TEMPORARY,
				"%s after %s: unexpected reply %d %s",
				spec, stage, code, text);
		return;
	}
	rcpt->remote_code = code;
	if (!lmtp_parse_status(code, text, status, sizeof(status)))
		snprintf(status, sizeof(status), "%s", lmtp_derive_status(code));
	memcpy(rcpt->remote_status, status, sizeof(status));
}

/* a recipient that got no reply: temporary, with the connection's reason */
static void lmtp_no_reply(struct lmtp_conn *conn, struct store_rcpt *rcpt)
{
	store_rcpt_fail(rcpt, ERR_TEMPORARY, "%s: %s", conn->ls->spec,
			conn->broken ? conn->broken : "no reply");
}

static void lmtp_set_broken(struct lmtp_conn *conn, const char *stage)
{
	struct str e = STR_INIT;

	if (conn->broken != NULL)
		return;
	str_printf(&e, "connection lost or timed out during %s", stage);
	conn->broken = str_steal(&e);
}

/*
 * The reply to a command libetpan sent; R is what the libetpan call
 * returned.  Its code (0: none, the connection is broken) and text.
 * A stream error means no reply was read, whatever response_code still
 * says from the command before.
 */
static int lmtp_libetpan_reply(struct lmtp_conn *conn, int r,
			       const char *stage, struct str *text)
{
	int code = conn->smtp->response_code;

	str_clear(text);
	conn->smtp->response_code = 0;
	if (r == MAILSMTP_ERROR_STREAM || code < 100 || code > 599) {
		lmtp_set_broken(conn, stage);
		return 0;
	}
	lmtp_libetpan_text(conn->smtp, text);
	return code;
}

/* read one (maybe multi-line) reply; its code, or 0 */
static int lmtp_read_reply(struct lmtp_conn *conn, struct str *text)
{
	int lines, code = 0;

	str_clear(text);
	for (lines = 0; lines < LMTP_REPLY_LINES; lines++) {
		const char *l = mailstream_read_line_remove_eol(
			conn->smtp->stream, conn->line);
		const char *s;

		if (l == NULL)
			return 0;
		if (strlen(l) < 3 || l[0] < '1' || l[0] > '5' ||
		    l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' ||
		    (l[3] != '\0' && l[3] != ' ' && l[3] != '-'))
			return 0;
		code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (text->len > 0 && text->len < LMTP_REPLY_MAX)
			str_appendc(text, ' ');
		for (s = l[3] ? l + 4 : l + 3;
		     *s != '\0' && text->len < LMTP_REPLY_MAX; s++)
			str_appendc(text, (unsigned char)*s < 0x20 ? ' ' : *s);
		if (l[3] != '-')
			return code;
	}
	return 0;
}

/* ---------------------------------------------------------------- addresses */

static int lmtp_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c >= 0x80 ||
		strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* LOCAL as an RFC 5321 local part: dot-atom if it is one, else quoted */
static void lmtp_append_local(struct str *out, const char *local)
{
	const unsigned char *p = (const unsigned char *)local;
	int atom = *p != '\0' && *p != '.';

	for (; *p && atom; p++)
		if (!(lmtp_atext(*p) || (*p == '.' && p[1] != '.' && p[1] != '\0')))
			atom = 0;
	if (atom) {
		str_appends(out, local);
		return;
	}
	str_appendc(out, '"');
	for (p = (const unsigned char *)local; *p; p++) {
		if (*p == '"' || *p == '\\')
			str_appendc(out, '\\');
		str_appendc(out, (char)*p);
	}
	str_appendc(out, '"');
}

/* the downstream recipient: local[+folder]@domain */
static int lmtp_rcpt_path(const struct store_rcpt *rcpt, struct str *out,
			  enum errkind *kind_r, const char **error_r)
{
	struct str local = STR_INIT;
	struct address tmp;
	const struct address *a;

	*kind_r = ERR_PERMANENT;
	a = store_rcpt_address(rcpt, &tmp, error_r);
	if (a == NULL)
		return -1;
	str_appends(&local, a->local);
	if (!folder_name_is_inbox(rcpt->folder)) {
		if (folder_name_check(rcpt->folder, error_r) < 0)
			goto fail;
		if (var_recipient_delimiter == NULL ||
		    var_recipient_delimiter[0] == '\0') {
			*kind_r = ERR_INTERNAL;
			*error_r = "recipient_delimiter is empty: "
				"cannot address a folder over LMTP";
			goto fail;
		}
		str_appendc(&local, var_recipient_delimiter[0]);
		str_appends(&local, rcpt->folder);
	} else if (a->detail[0] != '\0' && var_recipient_delimiter[0] != '\0') {
		str_appendc(&local, var_recipient_delimiter[0]);
		str_appends(&local, a->detail);
	}
	lmtp_append_local(out, str_c(&local));
	if (a->domain[0] != '\0')
		str_printf(out, "@%s", a->domain);
	if (out->len > LMTP_PATH_MAX) {
		*error_r = "recipient address with folder too long for LMTP";
		goto fail;
	}
	str_deinit(&local);
	address_deinit(&tmp);
	return 0;
fail:
	str_deinit(&local);
	address_deinit(&tmp);
	return -1;
}

/* ---------------------------------------------------------------- transactions */

/* one transaction for the recipients GROUP[0..n-1] (same message) */
static void lmtp_transaction(struct lmtp_conn *conn,
			     const struct store_envelope *env,
			     struct store_rcpt **group, char **paths, size_t n)
{
	struct store_rcpt **accepted = mycalloc(n, sizeof(*accepted));
	const struct store_message *msg = group[0]->msg;
	struct str text = STR_INIT;
	size_t i, n_accepted = 0, len;
	int code, r;

	if (conn->broken != NULL)
		goto no_reply_all;
	if (conn->transactions++ > 0) {
		conn->smtp->response_code = 0;
		r = mailsmtp_reset(conn->smtp);
		code = lmtp_libetpan_reply(conn, r, "RSET", &text);
		if (code == 0)
			goto no_reply_all;
		if (code / 100 != 2) {
			for (i = 0; i < n; i++)
				lmtp_result(conn, group[i], "RSET", code,
					    str_c(&text));
			goto out;
		}
	}
	if (strlen(env->sender) > LMTP_PATH_MAX || !store_text_safe(env->sender)) {
		for (i = 0; i < n; i++)
			store_rcpt_fail(group[i], ERR_PERMANENT,
					"sender address too long or not "
					"acceptable for LMTP");
		goto out;
	}
	conn->smtp->response_code = 0;
	r = mailsmtp_mail(conn->smtp, env->sender);
	code = lmtp_libetpan_reply(conn, r, "MAIL FROM", &text);
	if (code == 0)
		goto no_reply_all;
	if (code / 100 != 2) {
		for (i = 0; i < n; i++)
			lmtp_result(conn, group[i], "MAIL FROM", code,
				    str_c(&text));
		goto out;
	}
	for (i = 0; i < n; i++) {
		conn->smtp->response_code = 0;
		r = mailsmtp_rcpt(conn->smtp, paths[i]);
		code = lmtp_libetpan_reply(conn, r, "RCPT TO", &text);
		if (code == 0) {
			for (; i < n; i++)
				lmtp_no_reply(conn, group[i]);
			goto no_reply_accepted;
		}
		if (code / 100 == 2)
			accepted[n_accepted++] = group[i];
		else
			lmtp_result(conn, group[i], "RCPT TO", code,
				    str_c(&text));
	}
	if (n_accepted == 0)
		goto out;
	conn->smtp->response_code = 0;
	r = mailsmtp_data(conn->smtp);
	code = lmtp_libetpan_reply(conn, r, "DATA", &text);
	if (code == 0)
		goto no_reply_accepted;
	if (code / 100 == 4 || code / 100 == 5) {
		for (i = 0; i < n_accepted; i++)
			lmtp_result(conn, accepted[i], "DATA", code,
				    str_c(&text));
		goto out;
	}
	if (code != 354) {
		/* a 2xx here is not a delivery: the message was never sent */
		struct str e = STR_INIT;

		str_printf(&e, "unexpected reply to DATA: %d %s", code,
			   str_c(&text));
		conn->broken = str_steal(&e);
		goto no_reply_accepted;
	}
	/* libetpan adds "\r\n.\r\n": leave the last line end to it */
	len = msg->len;
	if (len > 0 && msg->data[len - 1] == '\n')
		len--;
	if (len > 0 && msg->data[len - 1] == '\r')
		len--;
	if (mailstream_send_data(conn->smtp->stream, msg->data, len,
				 0, NULL) < 0) {
		lmtp_set_broken(conn, "message data");
		goto no_reply_accepted;
	}
	for (i = 0; i < n_accepted; i++) {
		code = lmtp_read_reply(conn, &text);
		if (code == 0) {
			lmtp_set_broken(conn, "replies after DATA");
			for (; i < n_accepted; i++)
				lmtp_no_reply(conn, accepted[i]);
			goto out;
		}
		lmtp_result(conn, accepted[i], "end of data", code,
			    str_c(&text));
	}
	goto out;

no_reply_accepted:
	for (i = 0; i < n_accepted; i++)
		lmtp_no_reply(conn, accepted[i]);
	goto out;
no_reply_all:
	for (i = 0; i < n; i++)
		lmtp_no_reply(conn, group[i]);
out:
	free(accepted);
	str_deinit(&text);
}

static void lmtp_deliver(struct store *store, const struct store_envelope *env,
			 struct store_rcpt *rcpts, size_t n)
{
	struct lmtp_store *ls = (struct lmtp_store *)store;
	struct lmtp_conn conn;
	struct store_rcpt **group;
	char **paths, **group_paths;
	struct sigaction ign, old;
	char *done;
	size_t i, j, n_group;

	if (n == 0)
		return;
	memset(&conn, 0, sizeof(conn));
	conn.ls = ls;
	/* a server that goes away must not kill us with SIGPIPE */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, &old) < 0)
		msg_fatal_sys("sigaction SIGPIPE");

	group = mycalloc(n, sizeof(*group));
	group_paths = mycalloc(n, sizeof(*group_paths));
	paths = mycalloc(n, sizeof(*paths));
	done = mycalloc(n, 1);
	/* a recipient or folder that can never work fails before connecting */
	for (i = 0; i < n; i++) {
		struct str path = STR_INIT;
		enum errkind kind;
		const char *error;

		if (lmtp_rcpt_path(&rcpts[i], &path, &kind, &error) < 0) {
			store_rcpt_fail(&rcpts[i], kind, "recipient <%s>%s%s: %s",
					rcpts[i].address,
					rcpts[i].folder ? " folder " : "",
					rcpts[i].folder ? rcpts[i].folder : "",
					error);
			str_deinit(&path);
			done[i] = 1;
			continue;
		}
		paths[i] = str_steal(&path);
	}
	for (i = 0; i < n && done[i]; i++)
		;
	if (i < n && lmtp_open(&conn) < 0)
		msg_warn("%s: %s", ls->spec, conn.broken);
	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		n_group = 0;
		for (j = i; j < n; j++) {
			if (!done[j] && rcpts[j].msg == rcpts[i].msg) {
				group_paths[n_group] = paths[j];
				group[n_group++] = &rcpts[j];
				done[j] = 1;
			}
		}
		lmtp_transaction(&conn, env, group, group_paths, n_group);
	}
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(group_paths);
	free(group);
	free(done);
	lmtp_close(&conn);
	if (sigaction(SIGPIPE, &old, NULL) < 0)
		msg_fatal_sys("sigaction SIGPIPE");
}
