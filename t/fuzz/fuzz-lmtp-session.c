/*
 * libFuzzer target: the LMTP session state machine (and so the
 * tokenizer) over arbitrary client input, split at a fuzzer-chosen point
 * so that chunk boundaries are exercised too.  The fake delivery accepts
 * every recipient.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lmtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void deliver(void *ctx, struct lmtp_transaction *t)
{
	(void)ctx;
	(void)t;
}

static const struct lmtp_session_callbacks cb = { NULL, deliver };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int loaded;
	struct lmtp_session_limits lim = { 512, 10, 4096, 1000, "fuzz" };
	struct lmtp_peer peer = { "127.0.0.1", "localhost" };
	struct lmtp_session *s;
	size_t split;
	char *error;

	if (!loaded) {
		if (config_load(NULL, NULL, 0, &error) < 0)
			abort();
		loaded = 1;
	}
	split = size > 0 ? data[0] % (size + 1) : 0;
	s = lmtp_session_init("F", &peer, &lim, &cb, NULL);
	lmtp_session_input(s, (const char *)data, split);
	str_clear(lmtp_session_output(s));
	lmtp_session_input(s, (const char *)data + split, size - split);
	lmtp_session_eof(s);
	lmtp_session_deinit(&s);
	return 0;
}
