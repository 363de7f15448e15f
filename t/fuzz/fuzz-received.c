/*
 * libFuzzer target: the relays of a message (rules/received.h) from an
 * arbitrary header section, with and without trusted_networks, and each
 * of its lines as a Received: value on its own (rules/received_field.h)
 * and as a trust directive entry (rules/netset.h).  Nothing may crash or
 * leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "netset.h"
#include "received.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *ctx, int error, const char *text)
{
	(void)ctx;
	(void)error;
	(void)text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct received_conf *inferred, *configured;
	struct netset *ns = netset_new(1);
	struct message *msg;
	struct received *rcv;
	char *text, *line, *save = NULL;
	int i;

	if (inferred == NULL) {
		inferred = received_conf_new();
		configured = received_conf_new();
		received_conf_directive(configured, "originating_ip_headers",
					"X-Originating-IP", ignore, NULL);
		received_conf_directive(configured, "trusted_networks",
					"10/8 !192.0.2.1 192.0.2/24 2001:db8::/32",
					ignore, NULL);
		received_conf_directive(configured, "msa_networks",
					"192.0.2.7", ignore, NULL);
	}
	msg = message_parse((const char *)data, size);
	for (i = 0; i < 2; i++) {
		int l;

		rcv = received_parse(i ? configured : inferred, msg);
		for (l = 0; l < RECEIVED_LIST_COUNT; l++)
			(void)received_relays_str(rcv, (enum received_list)l);
		(void)received_envfrom(rcv);
		received_deinit(&rcv);
	}
	message_deinit(&msg);
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *error;
		struct received_relay r;

		if (received_parse_line(line, &r) == RECEIVED_RELAY) {
			struct str s = STR_INIT;

			received_relay_str(&r, &s);
			str_deinit(&s);
			received_relay_free(&r);
		}
		(void)netset_add(ns, line, &error);
		(void)netset_contains(ns, line);
	}
	free(text);
	netset_deinit(&ns);
	return 0;
}
