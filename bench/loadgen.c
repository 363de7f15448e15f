/*
 * bench-loadgen - drive an LMTP server at full speed for the benchmark.
 *
 *	bench-loadgen [-c CONNS] [-n COUNT] [-r RCPT] [-s unix:PATH|HOST:PORT]
 *		FILELIST
 *
 * FILELIST names the message files, one per line.  They are read into
 * memory first (CRLF line ends, dot-stuffed), so disk reads are not
 * measured.  CONNS threads each hold one LMTP connection and take the
 * next message from a shared counter until COUNT transactions (cycling
 * over the files) are done: MAIL, RCPT and DATA are sent in one write
 * (the server announces PIPELINING), then the message.  The latency of a
 * message is from its MAIL command to the last reply.
 *
 * Prints one line: "msgs=N ok=N fail=N bytes=N secs=S p50_ms=X p99_ms=Y"
 * and exits 1 if a transaction failed.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mymalloc.h"
#include "str.h"

#define LOADGEN_LINE_MAX 8192

struct loadgen_msg {
	char *data;		/* CRLF, dot-stuffed, ending in ".\r\n" */
	size_t len;
	size_t raw_len;		/* size of the file */
};

static struct loadgen_msg *msgs;
static size_t n_msgs;
static long total;
static atomic_long next_index;
static atomic_long n_ok, n_fail, n_bytes;
static double *latency;		/* per transaction, seconds */
static const char *server = "127.0.0.1:2424";
static const char *rcpt = "bench@example.org";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void load_file(const char *path, struct loadgen_msg *m)
{
	FILE *fp = fopen(path, "rb");
	struct str out = STR_INIT;
	char *buf = NULL;
	size_t cap = 0, len = 0, i;
	int bol = 1;

	if (fp == NULL) {
		fprintf(stderr, "bench-loadgen: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = myrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len, fp);
		if (got == 0)
			break;
		len += got;
	}
	if (ferror(fp)) {
		fprintf(stderr, "bench-loadgen: %s: read error\n", path);
		exit(2);
	}
	fclose(fp);
	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\r' && i + 1 < len && buf[i + 1] == '\n')
			continue;
		if (bol && c == '.')
			str_append(&out, ".", 1);
		if (c == '\n') {
			str_append(&out, "\r\n", 2);
			bol = 1;
		} else {
			str_append(&out, &c, 1);
			bol = 0;
		}
	}
	if (!bol)
		str_append(&out, "\r\n", 2);
	str_append(&out, ".\r\n", 3);
	m->raw_len = len;
	m->len = out.len;
	m->data = str_steal(&out);
	free(buf);
}

static int connect_server(void)
{
	int fd;

	if (strncmp(server, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(server + 5) >= sizeof(sun.sun_path)) {
			fprintf(stderr, "bench-loadgen: socket path too long\n");
			exit(2);
		}
		memcpy(sun.sun_path, server + 5, strlen(server + 5));
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
			fprintf(stderr, "bench-loadgen: %s: %s\n", server, strerror(errno));
			exit(2);
		}
		return fd;
	} else {
		struct addrinfo hints, *res;
		char host[256];
		const char *colon = strrchr(server, ':');
		int err;

		if (colon == NULL || (size_t) (colon - server) >= sizeof(host)) {
			fprintf(stderr, "bench-loadgen: bad server %s\n", server);
			exit(2);
		}
		memcpy(host, server, colon - server);
		host[colon - server] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if ((err = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
			fprintf(stderr, "bench-loadgen: %s: %s\n", server, gai_strerror(err));
			exit(2);
		}
		fd = socket(res->ai_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
			fprintf(stderr, "bench-loadgen: %s: %s\n", server, strerror(errno));
			exit(2);
		}
		freeaddrinfo(res);
		return fd;
	}
}

struct conn {
	int fd;
	char buf[LOADGEN_LINE_MAX];
	size_t have;
};

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* read one reply (all its lines); returns the code, or -1 */
static int read_reply(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->have);

		if (nl != NULL) {
			size_t line_len = nl - c->buf + 1;
			int more = line_len > 4 && c->buf[3] == '-';
			int code = atoi(c->buf);

			memmove(c->buf, nl + 1, c->have - line_len);
			c->have -= line_len;
			if (!more)
				return code;
			continue;
		}
		if (c->have == sizeof(c->buf))
			c->have = 0;	/* an overlong line: keep reading */
		ssize_t n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->have += n;
	}
}

static void *worker(void *arg)
{
	struct conn c;
	char cmds[600];
	int len;

	(void) arg;
	c.have = 0;
	c.fd = connect_server();
	if (read_reply(&c) != 220 || write_all(c.fd, "LHLO loadgen.test\r\n", 19) < 0
	    || read_reply(&c) != 250) {
		fprintf(stderr, "bench-loadgen: no greeting or LHLO refused\n");
		exit(2);
	}
	len = snprintf(cmds, sizeof(cmds),
		       "MAIL FROM:<loadgen@example.net>\r\nRCPT TO:<%s>\r\nDATA\r\n", rcpt);
	if (len < 0 || (size_t) len >= sizeof(cmds)) {
		fprintf(stderr, "bench-loadgen: recipient too long\n");
		exit(2);
	}
	for (;;) {
		long i = atomic_fetch_add(&next_index, 1);
		struct loadgen_msg *m;
		double t0;
		int mail, rc, data, final = -1;

		if (i >= total)
			break;
		m = &msgs[i % n_msgs];
		t0 = now();
		if (write_all(c.fd, cmds, len) < 0)
			goto broken;
		mail = read_reply(&c);
		rc = read_reply(&c);
		data = read_reply(&c);
		if (data == 354) {
			if (write_all(c.fd, m->data, m->len) < 0)
				goto broken;
			final = read_reply(&c);
		} else if (data < 0) {
			goto broken;
		}
		latency[i] = now() - t0;
		if (mail == 250 && rc == 250 && final == 250) {
			atomic_fetch_add(&n_ok, 1);
			atomic_fetch_add(&n_bytes, (long) m->raw_len);
		} else {
			atomic_fetch_add(&n_fail, 1);
			if (atomic_load(&n_fail) <= 5)
				fprintf(stderr, "bench-loadgen: message %ld: MAIL %d RCPT %d "
					"DATA %d final %d\n", i, mail, rc, data, final);
			if (data != 354) {
				/* the server may have left DATA waiting; RSET */
				if (write_all(c.fd, "RSET\r\n", 6) < 0 || read_reply(&c) < 0)
					goto broken;
			}
		}
	}
	if (write_all(c.fd, "QUIT\r\n", 6) == 0)
		(void) read_reply(&c);
	close(c.fd);
	return NULL;
broken:
	fprintf(stderr, "bench-loadgen: connection broken\n");
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int conns = 1, opt, i;
	FILE *fp;
	char line[4096];
	size_t cap = 0;
	pthread_t *threads;
	double t0, secs;

	total = -1;
	while ((opt = getopt(argc, argv, "c:n:r:s:")) != -1) {
		switch (opt) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 'n':
			total = atol(optarg);
			break;
		case 'r':
			rcpt = optarg;
			break;
		case 's':
			server = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || conns < 1 || conns > 1000)
		goto usage;
	if ((fp = fopen(argv[optind], "r")) == NULL) {
		fprintf(stderr, "bench-loadgen: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (n_msgs == cap) {
			cap = cap ? cap * 2 : 1024;
			msgs = myrealloc(msgs, cap * sizeof(*msgs));
		}
		load_file(line, &msgs[n_msgs++]);
	}
	fclose(fp);
	if (n_msgs == 0) {
		fprintf(stderr, "bench-loadgen: no messages\n");
		return 2;
	}
	if (total < 0)
		total = (long) n_msgs;
	latency = mycalloc(total ? total : 1, sizeof(double));
	threads = mycalloc(conns, sizeof(*threads));
	t0 = now();
	for (i = 0; i < conns; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "bench-loadgen: pthread_create failed\n");
			return 2;
		}
	for (i = 0; i < conns; i++)
		pthread_join(threads[i], NULL);
	secs = now() - t0;
	qsort(latency, total, sizeof(double), cmp_double);
	printf("msgs=%ld ok=%ld fail=%ld bytes=%ld secs=%.3f p50_ms=%.2f p99_ms=%.2f\n",
	       total, atomic_load(&n_ok), atomic_load(&n_fail), atomic_load(&n_bytes),
	       secs, total ? latency[total / 2] * 1000 : 0,
	       total ? latency[(long) (total * 0.99)] * 1000 : 0);
	for (size_t k = 0; k < n_msgs; k++)
		free(msgs[k].data);
	free(msgs);
	free(latency);
	free(threads);
	return atomic_load(&n_fail) ? 1 : 0;
usage:
	fprintf(stderr, "usage: bench-loadgen [-c CONNS] [-n COUNT] [-r RCPT] "
		"[-s unix:PATH|HOST:PORT] FILELIST\n");
	return 2;
}
