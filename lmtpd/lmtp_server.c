/*
 * lmtp_server - listening sockets, a child per connection, signals.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "lmtp_server.h"
#include "lmtp_deliver.h"
#include "lmtp_session.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"

#define LMTP_READ_SIZE	65536

static volatile sig_atomic_t got_term, got_hup, got_chld;
static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
		/* the pipe is full: a wakeup is already pending */
	}
	errno = saved;
}

static void set_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must see EINTR */
	if (sigaction(sig, &sa, NULL) < 0)
		msg_fatal_sys("sigaction");
}

static void set_cloexec_nonblock(int fd, int nonblock)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		msg_fatal_sys("fcntl");
	if (nonblock) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			msg_fatal_sys("fcntl");
	}
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		msg_fatal("lmtp_listen: unix socket path too long (max %zu): %s",
			  sizeof(sun.sun_path) - 1, path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* a stale socket from an earlier run may go; any other file may not */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			msg_fatal("lmtp_listen: %s exists and is not a socket",
				  path);
		if (unlink(path) < 0)
			msg_fatal_sys("unlink %s", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		msg_fatal_sys("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		msg_fatal_sys("bind %s", path);
	if (chmod(path, 0666) < 0)
		msg_fatal_sys("chmod %s", path);
	return fd;
}

static int listen_inet(const char *spec)
{
	struct addrinfo hints, *res, *ai;
	char *host, *port, *copy = mystrdup(spec);
	int fd = -1, on = 1, err;

	/* host:port, [v6]:port, or :port / *:port for all addresses */
	if (copy[0] == '[') {
		char *rb = strchr(copy, ']');

		if (rb == NULL || rb[1] != ':')
			msg_fatal("lmtp_listen: bad address \"%s\"", spec);
		*rb = '\0';
		host = copy + 1;
		port = rb + 2;
	} else {
		port = strrchr(copy, ':');
		if (port == NULL)
			msg_fatal("lmtp_listen: \"%s\": expected host:port or unix:/path",
				  spec);
		*port++ = '\0';
		host = copy;
	}
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		host = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0)
		msg_fatal("lmtp_listen: \"%s\": %s", spec, gai_strerror(err));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
			msg_fatal_sys("setsockopt");
		if (ai->ai_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
			msg_fatal_sys("setsockopt");
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	if (fd < 0)
		msg_fatal_sys("lmtp_listen: bind %s", spec);
	freeaddrinfo(res);
	free(copy);
	return fd;
}

struct lmtp_listener *lmtp_server_listen(const char *spec, size_t *n_r)
{
	struct lmtp_listener *ls = NULL;
	size_t n = 0;
	char *copy = mystrdup(spec), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		struct lmtp_listener *l;

		ls = myrealloc(ls, (n + 1) * sizeof(*ls));
		l = &ls[n++];
		l->spec = mystrdup(tok);
		l->unix_path = NULL;
		if (strncmp(tok, "unix:", 5) == 0) {
			l->fd = listen_unix(tok + 5);
			l->unix_path = mystrdup(tok + 5);
		} else {
			l->fd = listen_inet(tok);
		}
		if (listen(l->fd, 128) < 0)
			msg_fatal_sys("listen %s", tok);
		set_cloexec_nonblock(l->fd, 1);
	}
	free(copy);
	if (n == 0)
		msg_fatal("lmtp_listen is empty");
	*n_r = n;
	return ls;
}

void lmtp_server_close(struct lmtp_listener *ls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ls[i].fd >= 0)
			close(ls[i].fd);
		ls[i].fd = -1;
		if (ls[i].unix_path && unlink(ls[i].unix_path) < 0 &&
		    errno != ENOENT)
			msg_warn_sys("unlink %s", ls[i].unix_path);
		MYFREE(&ls[i].unix_path);
		MYFREE(&ls[i].spec);
	}
	free(ls);
}

/* ---- the session child */

static void peer_describe(const struct sockaddr_storage *ss, socklen_t len,
			  char *addr, size_t addr_len)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)addr_len);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)addr_len);
		if (strncmp(addr, "::ffff:", 7) == 0)
			memmove(addr, addr + 7, strlen(addr + 7) + 1);
	} else {
		snprintf(addr, addr_len, "unix");
	}
	(void)len;
}

/* write all of out, waiting at most the command timeout; -1 on failure */
static int flush_output(int fd, struct str *out)
{
	size_t done = 0;

	while (done < out->len) {
		ssize_t n = write(fd, out->s + done, out->len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			int r = poll(&pfd, 1, var_lmtp_command_timeout * 1000);

			if (r > 0 || (r < 0 && errno == EINTR))
				continue;
			return -1;
		}
		return -1;
	}
	str_clear(out);
	return 0;
}

static void session_run(int fd, const char *sid, const char *peer_addr,
			struct lmtp_deliver *deliver)
{
	struct lmtp_peer peer = { peer_addr, peer_addr };
	struct lmtp_session_limits limits;
	struct lmtp_session *s;
	char *buf = mymalloc(LMTP_READ_SIZE);
	int draining = 0;
	sigset_t block, waitmask;

	/* SIGTERM is only taken while waiting for input (no lost wakeup) */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &waitmask) < 0)
		msg_fatal_sys("sigprocmask");
	sigdelset(&waitmask, SIGTERM);

	limits.line_limit = (size_t)var_lmtp_line_limit;
	limits.max_recipients = (size_t)var_lmtp_max_recipients;
	limits.message_size_limit = var_message_size_limit;
	limits.max_errors = var_lmtp_max_errors;
	limits.hostname = deliver->hostname;
	s = lmtp_session_init(sid, &peer, &limits, &lmtp_deliver_callbacks,
			      deliver);
	msg_info("sid=%s connect from %s", sid, peer_addr);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct timespec ts;
		int r;
		ssize_t n;

		if (got_term && !draining) {
			draining = 1;
			lmtp_session_shutdown(s);
		}
		if (flush_output(fd, lmtp_session_output(s)) < 0) {
			msg_info("sid=%s write error or timeout, disconnecting",
				 sid);
			lmtp_session_eof(s);
			break;
		}
		if (lmtp_session_closing(s))
			break;
		lmtp_deliver_after_reply(deliver);
		ts.tv_sec = lmtp_session_in_data(s) ? var_lmtp_data_timeout
			: var_lmtp_command_timeout;
		ts.tv_nsec = 0;
		r = ppoll(&pfd, 1, &ts, &waitmask);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			msg_fatal_sys("poll");
		if (r == 0) {
			lmtp_session_timeout(s);
			continue;
		}
		n = read(fd, buf, LMTP_READ_SIZE);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			lmtp_session_eof(s);
			break;
		}
		lmtp_session_input(s, buf, (size_t)n);
		if (draining)
			lmtp_session_shutdown(s);
	}
	msg_info("sid=%s disconnect from %s", sid, peer_addr);
	lmtp_session_deinit(&s);
	free(buf);
}

/* ---- the master */

struct child {
	pid_t pid;
};

static struct child *children;
static size_t n_children, cap_children;

static void child_add(pid_t pid)
{
	if (n_children == cap_children) {
		cap_children = cap_children ? 2 * cap_children : 16;
		children = myrealloc(children, cap_children * sizeof(*children));
	}
	children[n_children++].pid = pid;
}

static void reap_children(void)
{
	pid_t pid;
	int status;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n_children; i++) {
			if (children[i].pid == pid) {
				children[i] = children[--n_children];
				break;
			}
		}
		if (WIFSIGNALED(status))
			msg_warn("session process %ld killed by signal %d",
				 (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			msg_warn("session process %ld exited with status %d",
				 (long)pid, WEXITSTATUS(status));
	}
}

static void make_sid(char *buf, size_t len)
{
	static unsigned counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "%09lX%05lX%X", (unsigned long)ts.tv_sec,
		 (unsigned long)(ts.tv_nsec / 10000) & 0xFFFFF, counter++ & 0xF);
}

static void accept_one(struct lmtp_listener *ls, size_t n_ls, int lfd,
		       struct lmtp_deliver *deliver)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	char addr[INET6_ADDRSTRLEN + 1], sid[32];
	int fd;
	pid_t pid;

	fd = accept(lfd, (struct sockaddr *)&ss, &slen);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			msg_warn_sys("accept");
		return;
	}
	peer_describe(&ss, slen, addr, sizeof(addr));
	if (n_children >= (size_t)var_lmtp_max_connections) {
		static const char busy[] =
			"421 4.3.2 Too many connections, try again later\r\n";

		if (write(fd, busy, sizeof(busy) - 1) < 0) {
			/* nothing to do: the client is gone */
		}
		msg_warn("connection from %s refused: %d sessions (lmtp_max_connections)",
			 addr, var_lmtp_max_connections);
		close(fd);
		return;
	}
	make_sid(sid, sizeof(sid));
	pid = fork();
	if (pid < 0) {
		msg_warn_sys("fork");
		close(fd);
		return;
	}
	if (pid == 0) {
		size_t i;

		for (i = 0; i < n_ls; i++)
			close(ls[i].fd);
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
		set_signal(SIGHUP, SIG_IGN);
		set_signal(SIGCHLD, SIG_DFL);
		set_signal(SIGINT, SIG_IGN);	/* the master decides */
		set_cloexec_nonblock(fd, 1);
		session_run(fd, sid, addr, deliver);
		close(fd);
		lmtp_deliver_session_end(deliver);
		_exit(0);
	}
	child_add(pid);
	close(fd);
}

void lmtp_server_run(struct lmtp_listener *ls, size_t n,
		     struct lmtp_deliver *deliver,
		     lmtp_server_reload_fn *reload)
{
	struct pollfd *pfd = mycalloc(n + 1, sizeof(*pfd));
	size_t i;
	time_t deadline;

	if (pipe(sig_pipe) < 0)
		msg_fatal_sys("pipe");
	set_cloexec_nonblock(sig_pipe[0], 1);
	set_cloexec_nonblock(sig_pipe[1], 1);
	set_signal(SIGTERM, on_signal);
	set_signal(SIGINT, on_signal);
	set_signal(SIGHUP, on_signal);
	set_signal(SIGCHLD, on_signal);
	set_signal(SIGPIPE, SIG_IGN);

	while (!got_term) {
		char drain[64];
		int r;

		for (i = 0; i < n; i++) {
			pfd[i].fd = ls[i].fd;
			pfd[i].events = POLLIN;
		}
		pfd[n].fd = sig_pipe[0];
		pfd[n].events = POLLIN;
		r = poll(pfd, n + 1, -1);
		if (r < 0 && errno != EINTR)
			msg_fatal_sys("poll");
		while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
			;
		if (got_chld) {
			got_chld = 0;
			reap_children();
		}
		if (got_hup) {
			got_hup = 0;
			msg_info("SIGHUP: reloading configuration");
			if (reload() < 0)
				msg_warn("reload failed: keeping the configuration in force");
		}
		if (r <= 0)
			continue;
		for (i = 0; i < n && !got_term; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(ls, n, ls[i].fd, deliver);
	}

	/* stop: no new connections; sessions finish their transaction */
	msg_info("stopping: waiting for %zu session(s)", n_children);
	for (i = 0; i < n; i++) {
		close(ls[i].fd);
		ls[i].fd = -1;
	}
	for (i = 0; i < n_children; i++)
		kill(children[i].pid, SIGTERM);
	deadline = time(NULL) + var_drain_timeout;
	while (n_children > 0 && time(NULL) < deadline) {
		struct pollfd p = { sig_pipe[0], POLLIN, 0 };
		char drain[64];

		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			msg_fatal_sys("poll");
		while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
			;
		reap_children();
	}
	for (i = 0; i < n_children; i++) {
		msg_warn("session process %ld did not finish: killed",
			 (long)children[i].pid);
		kill(children[i].pid, SIGKILL);
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	n_children = 0;
	free(children);
	children = NULL;
	n_children = cap_children = 0;
	free(pfd);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
	msg_info("stopped");
}
