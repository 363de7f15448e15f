/*
 * digest_mail - build the digest notification with GMime (see
 * digest_mail.h).  The text is written by us; GMime does the MIME
 * structure, header encoding (RFC 2047 for non-ASCII subjects) and
 * the quoted-printable transfer encoding of the parts.
 */
#include <gmime/gmime.h>
#include <string.h>

#include "cli.h"
#include "digest_mail.h"
#include "mymalloc.h"
#include "rules.h"

static void html_escape(struct str *out, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<':
			str_appends(out, "&lt;");
			break;
		case '>':
			str_appends(out, "&gt;");
			break;
		case '&':
			str_appends(out, "&amp;");
			break;
		case '"':
			str_appends(out, "&quot;");
			break;
		default:
			str_appendc(out, *s);
		}
	}
}

/* control characters (a header could hold them) become blanks */
static char *printable(const char *s)
{
	char *copy = mystrdup(s != NULL ? s : ""), *p;

	for (p = copy; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	return copy;
}

static void score_text(const struct qstore_incident *inc, struct str *out)
{
	if (inc->scored)
		str_printf(out, "%.1f", rule_score_display(inc->score));
	else
		str_appends(out, "-");
}

static void build_text(const struct digest_mail *d, struct str *t)
{
	struct str v = STR_INIT;
	size_t i;

	str_printf(t, "%zu message%s for %s %s waiting in the spam trap.\n\n",
		   d->total, d->total == 1 ? "" : "s", d->user,
		   d->total == 1 ? "is" : "are");
	for (i = 0; i < d->n; i++) {
		const struct qstore_incident *inc = &d->items[i];
		char *sender = printable(inc->from[0] ? inc->from
					 : inc->sender[0] ? inc->sender : "<>");
		char *subject = printable(inc->subject);

		str_clear(&v);
		cli_time_short(inc->received, &v);
		str_printf(t, "Date:     %s\nFrom:     %s\nSubject:  %s\n",
			   str_c(&v), sender, subject);
		str_clear(&v);
		score_text(inc, &v);
		str_printf(t, "Score:    %s%s\nIncident: %s\n\n", str_c(&v),
			   inc->status == QSTORE_ONE_SHOT ? " (one-shot)" : "",
			   inc->id);
		free(sender);
		free(subject);
	}
	if (d->n < d->total)
		str_printf(t, "... and %zu more (spamtrap list --user %s "
			   "--status pending).\n\n", d->total - d->n, d->user);
	str_printf(t,
		   "How to release a message that is not spam:\n"
		   "  - in your mail program, move it from the folder \"%s\" "
		   "to your INBOX;\n"
		   "  - or ask your mail administrator to run:\n"
		   "      spamtrap accept INCIDENT\n"
		   "Messages left in the trap are deleted when they expire.\n",
		   d->folder);
	str_deinit(&v);
}

static void build_html(const struct digest_mail *d, struct str *h)
{
	struct str v = STR_INIT;
	size_t i;

	str_appends(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		    "<title>Spam trap</title></head>\n<body>\n<p>");
	str_printf(h, "%zu message%s for <b>", d->total,
		   d->total == 1 ? "" : "s");
	html_escape(h, d->user);
	str_printf(h, "</b> %s waiting in the spam trap.</p>\n",
		   d->total == 1 ? "is" : "are");
	str_appends(h, "<table border=\"1\" cellpadding=\"4\" "
		    "cellspacing=\"0\">\n<tr><th>Date</th><th>From</th>"
		    "<th>Subject</th><th>Score</th><th>Incident</th></tr>\n");
	for (i = 0; i < d->n; i++) {
		const struct qstore_incident *inc = &d->items[i];

		str_appends(h, "<tr><td>");
		str_clear(&v);
		cli_time_short(inc->received, &v);
		html_escape(h, str_c(&v));
		str_appends(h, "</td><td>");
		html_escape(h, inc->from[0] ? inc->from
			    : inc->sender[0] ? inc->sender : "<>");
		str_appends(h, "</td><td>");
		html_escape(h, inc->subject);
		str_appends(h, "</td><td>");
		str_clear(&v);
		score_text(inc, &v);
		html_escape(h, str_c(&v));
		if (inc->status == QSTORE_ONE_SHOT)
			str_appends(h, " (one-shot)");
		str_appends(h, "</td><td><code>");
		html_escape(h, inc->id);
		str_appends(h, "</code></td></tr>\n");
	}
	str_appends(h, "</table>\n");
	if (d->n < d->total)
		str_printf(h, "<p>... and %zu more.</p>\n", d->total - d->n);
	str_appends(h, "<p>To release a message that is not spam, move it "
		    "from the folder <b>");
	html_escape(h, d->folder);
	str_appends(h, "</b> to your INBOX in your mail program, or ask your "
		    "mail administrator to run <code>spamtrap accept "
		    "INCIDENT</code>.</p>\n<p>Messages left in the trap are "
		    "deleted when they expire.</p>\n</body></html>\n");
	str_deinit(&v);
}

/* a text part holding BODY as UTF-8 (g_mime_text_part_set_text would
   pick ISO-8859-1 when it can, contradicting the HTML's meta charset) */
static GMimePart *text_part(const char *subtype, const struct str *body)
{
	GMimePart *part = g_mime_part_new_with_type("text", subtype);
	GMimeStream *stream;
	GMimeDataWrapper *content;

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "charset", "utf-8");
	stream = g_mime_stream_mem_new_with_buffer(body->s, body->len);
	content = g_mime_data_wrapper_new_with_stream(stream,
		GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(part,
		GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return part;
}

void digest_mail_build(const struct digest_mail *d, struct str *out)
{
	static int gmime_ready;
	struct str text = STR_INIT, html = STR_INIT, subject = STR_INIT;
	GMimeMessage *msg;
	GMimeMultipart *alt;
	GMimePart *plain, *rich;
	GMimeStream *stream;
	GByteArray *bytes;
	GDateTime *date;
	char *mid;
	const char *at;

	if (!gmime_ready) {
		g_mime_init();
		gmime_ready = 1;
	}
	build_text(d, &text);
	build_html(d, &html);
	msg = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, "Spam trap",
				   d->from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, d->to);
	str_printf(&subject, "Spam trap: %zu message%s waiting for %s",
		   d->total, d->total == 1 ? "" : "s", d->user);
	g_mime_message_set_subject(msg, str_c(&subject), "utf-8");
	date = g_date_time_new_from_unix_local(d->now);
	g_mime_message_set_date(msg, date);
	g_date_time_unref(date);
	at = strrchr(d->from, '@');
	mid = g_mime_utils_generate_message_id(at != NULL ? at + 1
					       : "spamtrap.invalid");
	g_mime_message_set_message_id(msg, mid);
	g_free(mid);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted",
				 "auto-generated", NULL);
	g_mime_object_set_header(GMIME_OBJECT(msg), "X-Spamtrap-Digest",
				 d->user, NULL);

	alt = g_mime_multipart_new_with_subtype("alternative");
	plain = text_part("plain", &text);
	rich = text_part("html", &html);
	/* the preferred (richer) alternative goes last */
	g_mime_multipart_add(alt, GMIME_OBJECT(plain));
	g_mime_multipart_add(alt, GMIME_OBJECT(rich));
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(alt));
	g_object_unref(plain);
	g_object_unref(rich);
	g_object_unref(alt);

	stream = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, stream);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	str_append(out, bytes->data, bytes->len);
	g_object_unref(stream);
	g_object_unref(msg);
	str_deinit(&text);
	str_deinit(&html);
	str_deinit(&subject);
}
