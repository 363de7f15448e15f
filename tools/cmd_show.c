/*
 * spamtrap show ID - the incident page: every field, the action
 * history, the score breakdown from the stored rule hits, and the first
 * 8 kB of the kept copy of the message (--decode: transfer encodings
 * undone; --strip-html: the text as rendered, HTML tags gone; --raw:
 * the whole message as kept).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "message.h"
#include "mymalloc.h"
#include "rules.h"

#define SHOW_PREVIEW	8192	/* the web page showed the first 8 kB */

enum show_body { BODY_PREVIEW, BODY_DECODE, BODY_STRIP, BODY_RAW,
		 BODY_NONE };

static void usage(FILE *fp)
{
	fputs("usage: spamtrap show [--decode|--strip-html|--raw|--no-body] "
	      "[--json] ID\n"
	      "  ID: an incident id, or a held message's X-Spamtrap-Id\n"
	      "  the incident: fields, history, score breakdown and the first\n"
	      "  8 kB of the message\n"
	      "  --decode      undo base64 and quoted-printable in the body\n"
	      "  --strip-html  show HTML parts as text\n"
	      "  --raw         the whole message as kept, nothing else\n"
	      "  --no-body     fields, history and score only\n"
	      "  --json        the incident as one JSON object, with history "
	      "and hits\n", fp);
}

static void field(const char *name, const char *value)
{
	printf("%-12s %s\n", name, value != NULL && value[0] ? value : "-");
}

static void print_preview(const char *s, size_t len)
{
	int cut = len > SHOW_PREVIEW;

	if (cut) {
		len = SHOW_PREVIEW;
		/* do not split a UTF-8 character */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	fwrite(s, 1, len, stdout);
	if (len > 0 && s[len - 1] != '\n')
		putchar('\n');
	if (cut)
		printf("[... first %d bytes shown; --raw shows all]\n",
		       SHOW_PREVIEW);
}

static void show_body(const char *data, size_t len, enum show_body how)
{
	struct message *msg;
	struct str sb = STR_INIT;
	size_t i;

	if (how == BODY_PREVIEW) {
		print_preview(data, len);
		return;
	}
	msg = message_parse(data, len);
	str_append(&sb, msg->full, msg->header_len);
	if (how == BODY_STRIP) {
		str_appends(&sb, message_body_text(msg));
	} else {
		for (i = 0; i < msg->n_rawbody; i++) {
			str_append(&sb, msg->rawbody[i].s, msg->rawbody[i].len);
			if (msg->rawbody[i].len > 0
			    && msg->rawbody[i].s[msg->rawbody[i].len - 1]
			    != '\n')
				str_appendc(&sb, '\n');
		}
	}
	print_preview(sb.s, sb.len);
	str_deinit(&sb);
	message_deinit(&msg);
}

static void show_json(const struct qstore_incident *inc)
{
	struct str out = STR_INIT, t = STR_INIT;
	size_t i;

	cli_incident_json(inc, &out);
	str_truncate(&out, out.len - 1);	/* reopen the object */
	str_appends(&out, ",\"history\":[");
	for (i = 0; i < inc->n_actions; i++) {
		str_clear(&t);
		cli_time_iso(inc->actions[i].when, &t);
		if (i > 0)
			str_appendc(&out, ',');
		cli_json_field(&out, 1, "date", str_c(&t));
		cli_json_field(&out, 0, "who", inc->actions[i].who);
		cli_json_field(&out, 0, "via",
			       qstore_via_name(inc->actions[i].via));
		cli_json_field(&out, 0, "what", inc->actions[i].what);
		str_appendc(&out, '}');
	}
	str_appends(&out, "],\"hits\":[");
	for (i = 0; i < inc->n_hits; i++) {
		if (i > 0)
			str_appendc(&out, ',');
		cli_json_field(&out, 1, "rule", inc->hits[i].name);
		str_printf(&out, ",\"score\":%.3f", inc->hits[i].score);
		cli_json_field(&out, 0, "description",
			       inc->hits[i].description);
		str_appendc(&out, '}');
	}
	str_appends(&out, "]}");
	printf("%s\n", str_c(&out));
	str_deinit(&out);
	str_deinit(&t);
}

static void show_text(const struct qstore_incident *inc)
{
	struct str t = STR_INIT;
	size_t i;
	double total = 0;

	field("Incident", inc->id);
	cli_time_short(inc->received, &t);
	str_appends(&t, " (");
	cli_time_iso(inc->received, &t);
	str_appendc(&t, ')');
	field("Date", str_c(&t));
	field("User", inc->user);
	field("Recipient", inc->recipient);
	field("Sender", inc->sender[0] ? inc->sender : "<>");
	field("From", inc->from);
	field("Subject", inc->subject);
	field("Message-ID", inc->message_id);
	str_clear(&t);
	str_printf(&t, "%s%s%s%s", inc->relay_ip,
		   inc->relay_name[0] ? " (" : "", inc->relay_name,
		   inc->relay_name[0] ? ")" : "");
	field("Relay", str_c(&t));
	str_clear(&t);
	str_printf(&t, "%llu bytes", (unsigned long long)inc->size);
	field("Size", str_c(&t));
	str_clear(&t);
	if (inc->scored)
		str_printf(&t, "%.1f", rule_score_display(inc->score));
	else
		str_appends(&t, "not scored (table decision)");
	field("Score", str_c(&t));
	str_clear(&t);
	cli_reasons(inc->reasons, &t);
	field("Hold reason", str_c(&t));
	str_clear(&t);
	str_appends(&t, qstore_status_name(inc->status));
	if (inc->flags & QSTORE_FLAG_TAGGED)
		str_appends(&t, " (tagged and delivered)");
	field("Status", str_c(&t));
	field("Folder", inc->folder);
	field("Location", inc->location);

	printf("\nHistory:\n");
	for (i = 0; i < inc->n_actions; i++) {
		str_clear(&t);
		cli_time_short(inc->actions[i].when, &t);
		printf("  %s  %-10s %-9s %s\n", str_c(&t),
		       inc->actions[i].who,
		       qstore_via_name(inc->actions[i].via),
		       inc->actions[i].what);
	}
	if (inc->n_actions == 0)
		printf("  (none)\n");

	printf("\nScore breakdown:\n");
	for (i = 0; i < inc->n_hits; i++) {
		printf("  %6.1f  %-26s %s\n",
		       rule_score_display(inc->hits[i].score),
		       inc->hits[i].name, inc->hits[i].description);
		total += inc->hits[i].score;
	}
	if (inc->n_hits == 0)
		printf("  (no rules hit%s)\n", inc->scored ? "" :
		       "; not scored");
	else
		printf("  %6.1f  total%s\n", rule_score_display(total),
		       inc->scored && (total - inc->score > 0.05
				       || inc->score - total > 0.05)
		       ? " (the recorded score differs: rounding or "
			 "a non-rule adjustment)" : "");
	str_deinit(&t);
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "decode", no_argument, NULL, 'd' },
		{ "strip-html", no_argument, NULL, 's' },
		{ "raw", no_argument, NULL, 'r' },
		{ "no-body", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum show_body how = BODY_PREVIEW;
	struct qstore_incident inc;
	struct qstore *qs;
	char *error = NULL, *data = NULL, id[QSTORE_ID_LEN + 1];
	size_t len = 0;
	int c, json = 0, ret, status = 0, token;

	optind = 0;	/* 0: glibc re-reads the option string ordering */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (how != BODY_STRIP)
				how = BODY_DECODE;
			break;
		case 's':
			how = BODY_STRIP;
			break;
		case 'r':
			how = BODY_RAW;
			break;
		case 'n':
			how = BODY_NONE;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "spamtrap show: give one incident id\n");
		usage(stderr);
		return 2;
	}
	token = strchr(argv[optind], '.') != NULL;
	if (!token && !cli_id_valid(argv[optind])) {
		fprintf(stderr, "spamtrap show: \"%s\" is not an incident id "
			"(13 characters of 0-9 and a-z)\n", argv[optind]);
		return 1;
	}
	if ((qs = cli_open_db("show")) == NULL)
		return 1;
	/* the X-Spamtrap-Id of a held message names its incident too */
	if (token && !qstore_token_verify(qs, argv[optind], id)) {
		fprintf(stderr, "spamtrap show: \"%s\" is not an authentic "
			"X-Spamtrap-Id of this site\n", argv[optind]);
		qstore_close(&qs);
		return 1;
	}
	if (!token)
		memcpy(id, argv[optind], sizeof(id));
	ret = qstore_incident_get(qs, id, &inc, &error, NULL);
	if (ret < 0) {
		cli_db_error("show", error);
		qstore_close(&qs);
		return 1;
	}
	if (ret == 0) {
		fprintf(stderr, "spamtrap show: no incident %s\n", id);
		qstore_close(&qs);
		return 1;
	}
	if (how != BODY_NONE && !json) {
		ret = qstore_message_get(qs, inc.id, &data, &len, &error,
					 NULL);
		if (ret < 0) {
			cli_db_error("show", error);
			status = 1;
			error = NULL;
		}
	}
	if (how == BODY_RAW) {
		if (data != NULL)
			fwrite(data, 1, len, stdout);
		else if (status == 0) {
			fprintf(stderr, "spamtrap show: no copy of the message "
				"of %s is kept\n", inc.id);
			status = 1;
		}
	} else if (json) {
		show_json(&inc);
	} else {
		show_text(&inc);
		if (how != BODY_NONE) {
			printf("\nMessage:\n");
			if (data != NULL)
				show_body(data, len, how);
			else
				printf("  (no copy kept)\n");
		}
	}
	free(data);
	qstore_incident_deinit(&inc);
	qstore_close(&qs);
	return status;
}
