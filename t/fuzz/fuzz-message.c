/*
 * libFuzzer target: the message model (rules/message.h) over arbitrary
 * bytes: MIME parsing through GMime, transfer decoding, charset
 * conversion, HTML rendering, URI extraction, RFC 2047 header decoding.
 * Parsing must never fail or crash; every string must be NUL-terminated
 * within its length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const struct message_text *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].s[t[i].len] != '\0')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message *msg = message_parse((const char *) data, size);
	struct str text = STR_INIT, uris = STR_INIT;
	char *copy, *dec;

	if (msg == NULL)
		abort();
	check_text(msg->body, msg->n_body);
	check_text(msg->rawbody, msg->n_rawbody);
	for (size_t i = 0; i < msg->n_headers; i++)
		if (msg->headers[i].name == NULL || msg->headers[i].value == NULL)
			abort();
	(void) message_header_get(msg, "Subject");
	(void) message_body_text(msg);
	message_deinit(&msg);
	if (msg != NULL)
		abort();

	/* the helpers on their own, over the same bytes as one string */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	dec = message_decode_header("Subject", copy);
	free(dec);
	message_render_html(copy, strlen(copy), &text, &uris);
	str_deinit(&text);
	message_to_utf8(copy, size, "iso-2022-jp", &uris);
	str_deinit(&uris);
	free(copy);
	return 0;
}
