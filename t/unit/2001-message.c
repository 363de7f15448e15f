/*
 * 2001-message - the message model: headers (RFC 2047, unfolding, raw),
 * charsets, transfer encodings, HTML rendering, body lines as SpamAssassin
 * sees them, rawbody, and URI extraction.
 */
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "mymalloc.h"
#include "str.h"
#include "test-lib.h"

static struct message *parse(const char *text)
{
	return message_parse(text, strlen(text));
}

static int has_uri(const struct message *m, const char *uri)
{
	size_t i;

	for (i = 0; i < m->n_uris; i++)
		if (strcmp(m->uris[i], uri) == 0)
			return 1;
	return 0;
}

static void dump_uris(const struct message *m)
{
	size_t i;

	for (i = 0; i < m->n_uris; i++)
		printf("#   uri: %s\n", m->uris[i]);
}

/* the body lines joined with "|" between them */
static char *body_join(const struct message *m)
{
	struct str sb = STR_INIT;
	size_t i;

	for (i = 0; i < m->n_body; i++) {
		if (i > 0)
			str_appendc(&sb, '|');
		str_append(&sb, m->body[i].s, m->body[i].len);
	}
	return str_steal(&sb);
}

static void test_headers(void)
{
	struct message *m = parse(
		"From somebody@example.org  Mon Jan  1 00:00:00 2024\n"
		"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\n"
		"Subject: =?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IHdvcmxk?= and\n"
		"\tmore\n"
		"To: a@example.org,\n"
		"  b@example.org\n"
		"Message-ID: <=?x?q?notdecoded?=@example.org>\n"
		"X-Latin: caf\xe9\n"
		"Received: from x\n"
		"Received: from y\n"
		"\n"
		"body\n");

	TEST_IS_INT(m->n_headers, 7, "mbox From_ line is not a header");
	TEST_IS_STR(message_header_get(m, "from"),
		    "Andr\xc3\xa9 <andre@example.org>", "RFC 2047 Q, Latin-1");
	TEST_IS_STR(message_header_get(m, "Subject"), "Hello world and more",
		    "adjacent encoded words joined, fold unfolded");
	TEST_IS_STR(message_header_get(m, "To"), "a@example.org, b@example.org",
		    "folded To unfolded to one space");
	TEST_IS_STR(m->headers[2].raw, " a@example.org,\n  b@example.org\n",
		    "raw value kept as written");
	TEST_IS_STR(message_header_get(m, "Message-ID"),
		    "<=?x?q?notdecoded?=@example.org>",
		    "Message-ID is not MIME decoded (as SpamAssassin)");
	TEST_IS_STR(message_header_get(m, "X-Latin"), "caf\xc3\xa9",
		    "8-bit header that is not UTF-8 becomes UTF-8");
	TEST_IS_STR(message_header_get(m, "MESSAGE-id"),
		    "<=?x?q?notdecoded?=@example.org>", "any case finds it");
	TEST_OK(message_name_hash("Message-ID") ==
		message_name_hash("mESSAGE-iD") &&
		message_name_hash("Message-ID") != message_name_hash("Message-IE"),
		"the name hash ignores case only");
	TEST_IS_INT(message_header_get(m, "X-Lati") == NULL, 1,
		    "a prefix of a name is not the name");
	TEST_IS_STR(message_header_get(m, "Received"), "from y",
		    "the last of repeated fields");
	TEST_IS_STR(message_header_get(m, "X-Missing"), NULL, "absent: NULL");
	TEST_OK(strncmp(m->full, "From: ", 6) == 0, "full text starts at the "
		"first header");
	message_deinit(&m);
	TEST_OK(m == NULL, "message_deinit sets NULL");
}

static void test_decode_header(void)
{
	char *s;

	s = message_decode_header("Subject", "=?utf-8?q?a_b?= c");
	TEST_IS_STR(s, "a b c", "Q: underscore is a space");
	free(s);
	s = message_decode_header("Subject", "x=?utf-8?q?y?=z");
	TEST_IS_STR(s, "xyz", "encoded word inside a word decoded");
	free(s);
	s = message_decode_header("Subject", "=?koi8-r?b?8NLJ18XU?=");
	TEST_IS_STR(s, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
		    "KOI8-R base64 to UTF-8");
	free(s);
	s = message_decode_header("Subject", "=?bogus?q?x");
	TEST_IS_STR(s, "=?bogus?q?x", "broken encoded word left alone");
	free(s);
	s = message_decode_header("References", "=?utf-8?q?a?=");
	TEST_IS_STR(s, "=?utf-8?q?a?=", "References is not decoded");
	free(s);
}

static void test_body_plain(void)
{
	struct message *m = parse(
		"Subject: Hi\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"Line one\n"
		"line  two caf=E9\n"
		"\n"
		"\n"
		"Second =\n"
		"paragraph.\n");
	char *b = body_join(m);

	TEST_IS_STR(b, "Hi\n|Line one line two caf\xc3\xa9\n|Second paragraph. ",
		    "Subject first, paragraphs one per line, QP and Latin-1 "
		    "decoded");
	TEST_IS_INT(m->n_rawbody, 1, "one rawbody chunk");
	TEST_IS_STR(m->rawbody[0].s,
		    "Line one\nline  two caf\xe9\n\n\nSecond paragraph.\n",
		    "rawbody: decoded, not converted or rendered");
	TEST_IS_STR(message_body_text(m),
		    "Line one line two caf\xc3\xa9\nSecond paragraph. ",
		    "body text without the Subject");
	free(b);
	message_deinit(&m);

	m = parse("Content-Transfer-Encoding: quoted-printable\n\n"
		  "abc   \ndef=  \n  ghi=3D\nend \t");
	TEST_IS_STR(m->rawbody[0].s, "abc\ndef  ghi=\nend \t",
		    "QP as SpamAssassin: trailing blanks go, soft breaks join");
	message_deinit(&m);

	m = parse("To: x@example.org\n\nno subject here\n");
	b = body_join(m);
	TEST_IS_STR(b, "\n|no subject here ", "no Subject: an empty first line");
	free(b);
	message_deinit(&m);
}

static void test_body_multipart(void)
{
	struct message *m = parse(
		"Subject: multi\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/alternative; boundary=\"BB\"\n"
		"\n"
		"preamble\n"
		"--BB\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"UGxhaW4gdGV4dA==\n"
		"--BB\n"
		"Content-Type: text/html\n"
		"\n"
		"<html><head><title>T</title><style>p {color: red}</style>"
		"<script>var x = 1;</script></head>\n"
		"<body><p>Para&nbsp;one &amp; <b>bold</b></p><p>Two<br>lines"
		"</p>\n"
		"<a href=\"http://example.com/x?a=1\">link</a> "
		"<img src=\"http://img.example.net/i.gif\">\n"
		"<!-- a comment -->visible &#65;&#x42;</body></html>\n"
		"--BB\n"
		"Content-Type: application/octet-stream\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"AAAA\n"
		"--BB--\n");
	char *b = body_join(m);

	TEST_IS_INT(m->n_parts, 3, "three leaves");
	TEST_IS_INT(m->n_text_parts, 1, "one text/plain part");
	TEST_IS_INT(m->n_html_parts, 1, "one text/html part");
	TEST_IS_STR(b, "multi\n|Plain text\n|T\n|Para one & bold\n"
		    "|Two lines\n|link visible AB ",
		    "both alternatives rendered; HTML paragraphs, <br>, "
		    "entities; script, style and comments dropped");
	TEST_IS_INT(m->n_rawbody, 2, "rawbody: the text parts only");
	TEST_LIKE(m->rawbody[1].s, "<script>var x", "rawbody keeps the HTML");
	TEST_OK(has_uri(m, "http://example.com/x?a=1"), "href URI");
	TEST_OK(has_uri(m, "http://img.example.net/i.gif"), "img src URI");
	free(b);
	message_deinit(&m);
}

static void test_uris(void)
{
	struct message *m = parse(
		"Subject: links www.subject-link.com\n"
		"\n"
		"See http://Example.COM:80/a%41b and www.example.org/path.\n"
		"Mail me: someone@example.net, or mailto:x@example.co.uk?subject=hi\n"
		"Bare host shop.example.biz/offer and (http://paren.example.com/x)\n"
		"Redirect http://r.example.com/r?u=http://target.example.org/p\n"
		"Numeric http://3232235777/ and not.a.host\n");

	TEST_OK(has_uri(m, "http://Example.COM:80/a%41b"), "raw URI kept");
	TEST_OK(has_uri(m, "http://Example.COM:80/aAb"), "%%-decoded variant");
	TEST_OK(has_uri(m, "http://Example.COM/aAb"), "port 80 dropped");
	TEST_OK(has_uri(m, "http://example.com:80/aAb"), "host lower-cased");
	TEST_OK(has_uri(m, "http://www.example.org/path"),
		"www. gets http://, trailing dot dropped");
	TEST_OK(has_uri(m, "http://www.subject-link.com"),
		"URI in the Subject line");
	TEST_OK(has_uri(m, "mailto:someone@example.net"), "bare address");
	TEST_OK(has_uri(m, "mailto:x@example.co.uk?subject=hi"), "mailto:");
	TEST_OK(has_uri(m, "mailto:x@example.co.uk"), "mailto: without query");
	TEST_OK(has_uri(m, "http://shop.example.biz/offer"), "schemeless host");
	TEST_OK(has_uri(m, "http://paren.example.com/x"), "closing paren ends");
	TEST_OK(has_uri(m, "http://target.example.org/p"), "redirect target");
	TEST_OK(has_uri(m, "http://192.168.1.1/"), "decimal host as IP");
	TEST_OK(!has_uri(m, "http://not.a.host"), "unknown TLD is no host");
	dump_uris(m);
	message_deinit(&m);
}

static void test_html_render(void)
{
	struct str text = STR_INIT, uris = STR_INIT;

	message_render_html("a<div>b</div>c<li>d<td>e", 24, &text, &uris);
	TEST_IS_STR(text.s, "a\nb\nc d e", "div is a line, li/td a space");
	str_clear(&text);
	message_render_html("x < y &lt; z<p>", 15, &text, &uris);
	TEST_IS_STR(text.s, "x < y < z\n\n", "a bare < is text");
	str_clear(&text);
	message_render_html("<base href=\"http://b.example/d/\">"
			    "<a href=\"page.html\">p</a>"
			    "<form action=\"/post\"></form>", 86, &text, &uris);
	TEST_IS_STR(uris.s, "http://b.example/d/", "base href is a URI");
	TEST_IS_STR(uris.s + strlen(uris.s) + 1, "http://b.example/d/page.html",
		    "relative href resolved against base");
	str_deinit(&text);
	str_deinit(&uris);
}

static void test_long_lines(void)
{
	struct str sb = STR_INIT;
	struct message *m;
	size_t i;

	str_appends(&sb, "Subject: long\n\n");
	for (i = 0; i < 700; i++)
		str_appends(&sb, "word ");
	str_appendc(&sb, '\n');
	m = message_parse(sb.s, sb.len);
	TEST_IS_INT(m->n_body, 3, "3500 bytes split into two body lines");
	TEST_OK(m->body[1].len <= 2049 && m->body[1].s[m->body[1].len - 1] == ' ',
		"split at a space within 2048 bytes");
	message_deinit(&m);
	str_deinit(&sb);
}

static void test_garbage(void)
{
	static const char *const inputs[] = {
		"", "\n", "no colon line\n\nbody", ":\n", "A: b",
		"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x--",
		"Content-Type: text/html\n\n<a href=", "Subject: =?utf-8?b?====?=",
		"Content-Type: text/html\n\n<script>never closed",
	};
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct message *m = parse(inputs[i]);

		TEST_OK(m != NULL && m->n_body >= 1, "odd input %zu parses", i);
		message_deinit(&m);
	}
}

int main(void)
{
	test_headers();
	test_decode_header();
	test_body_plain();
	test_body_multipart();
	test_uris();
	test_html_render();
	test_long_lines();
	test_garbage();
	return test_done();
}
