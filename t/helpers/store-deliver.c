/*
 * store-deliver - deliver one message through a store, for tests.
 *
 *	store-deliver [-c FILE] [-o name=value]... [-f SENDER] [-s]
 *		MESSAGE_FILE RCPT[=FOLDER]...
 *
 * Loads the configuration (the store is the "store" setting), reads
 * the message (LF line ends, as lmtpd holds it), and delivers it with
 * store_init/store_deliver to every RCPT, into FOLDER when given
 * ("alice@example.org=Spam").  -s gives every recipient its own copy
 * of the message (so a backend cannot batch them).  Prints one line
 * per recipient, tab-separated:
 *
 *	address kind remote_code remote_status location error
 *
 * with "-" for an empty field.  Exit status 0 if every recipient was
 * stored, 1 if not, 2 on a usage or set-up error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "store.h"
#include "str.h"

static void usage(void)
{
	fputs("usage: store-deliver [-c FILE] [-o name=value]... [-f SENDER] "
	      "[-s] MESSAGE_FILE RCPT[=FOLDER]...\n", stderr);
	exit(2);
}

static int read_message(const char *path, struct str *out)
{
	char buf[65536];
	size_t r;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return -1;
	while ((r = fread(buf, 1, sizeof(buf), fp)) > 0)
		str_append(out, buf, r);
	if (ferror(fp)) {
		fclose(fp);
		return -1;
	}
	return fclose(fp);
}

static const char *dash(const char *s)
{
	return s == NULL || s[0] == '\0' ? "-" : s;
}

int main(int argc, char **argv)
{
	char **overrides = mycalloc((size_t)argc, sizeof(*overrides));
	const char *file = NULL, *sender = "sender@example.net";
	struct store_envelope env;
	struct store_message *msgs;
	struct store_rcpt *rcpts;
	struct address *addrs;
	struct str message = STR_INIT;
	struct store *store;
	int n_overrides = 0, separate = 0, c, status = 0;
	size_t i, n;
	char *error;

	msg_init("store-deliver");
	while ((c = getopt(argc, argv, "c:o:f:s")) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 'o': overrides[n_overrides++] = optarg; break;
		case 'f': sender = optarg; break;
		case 's': separate = 1; break;
		default: usage();
		}
	}
	if (argc - optind < 2)
		usage();
	if (config_load(file, overrides, n_overrides, &error) < 0) {
		fprintf(stderr, "store-deliver: %s\n", error);
		return 2;
	}
	free(overrides);
	str_init(&message, 4096);
	if (read_message(argv[optind], &message) < 0) {
		fprintf(stderr, "store-deliver: %s: %s\n", argv[optind],
			strerror(errno));
		return 2;
	}
	store = store_init(var_store, &error);
	if (store == NULL) {
		fprintf(stderr, "store-deliver: %s\n", error);
		return 2;
	}

	n = (size_t)(argc - optind - 1);
	rcpts = mycalloc(n, sizeof(*rcpts));
	addrs = mycalloc(n, sizeof(*addrs));
	msgs = mycalloc(n, sizeof(*msgs));
	for (i = 0; i < n; i++) {
		char *arg = argv[optind + 1 + i], *at, *eq;
		const char *perr;

		/* the folder follows '=' after the domain */
		at = strrchr(arg, '@');
		eq = strchr(at ? at : arg, '=');
		if (eq != NULL) {
			*eq = '\0';
			rcpts[i].folder = eq + 1;
		}
		rcpts[i].address = arg;
		if (address_parse(arg, var_recipient_delimiter, &addrs[i],
				  &perr) == 0)
			rcpts[i].addr = &addrs[i];
		/* else the store parses it and reports the failure */
		msgs[i].data = message.s;
		msgs[i].len = message.len;
		rcpts[i].msg = separate ? &msgs[i] : &msgs[0];
	}
	env.sender = sender;
	env.session_id = "store-deliver";
	env.received = time(NULL);
	store_deliver(store, &env, rcpts, n);
	for (i = 0; i < n; i++) {
		printf("%s\t%s\t%d\t%s\t%s\t%s\n", rcpts[i].address,
		       errkind_name(rcpts[i].kind), rcpts[i].remote_code,
		       dash(rcpts[i].remote_status), dash(rcpts[i].location),
		       dash(rcpts[i].error));
		if (rcpts[i].kind != ERR_NONE)
			status = 1;
		store_rcpt_clear(&rcpts[i]);
		address_deinit(&addrs[i]);
	}
	free(rcpts);
	free(addrs);
	free(msgs);
	store_deinit(&store);
	str_deinit(&message);
	config_deinit();
	return status;
}
