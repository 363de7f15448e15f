/*
 * cli - helpers shared by the spamtrap subcommands (see cli.h).
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "cli.h"
#include "mymalloc.h"
#include "rules.h"
#include "params.h"

struct qstore *cli_open_db(const char *cmd)
{
	struct qstore *qs;
	char *error = NULL;

	qs = qstore_open(var_db_dir, &error, NULL);
	if (qs == NULL) {
		fprintf(stderr, "spamtrap %s: %s\n", cmd, error);
		free(error);
	}
	return qs;
}

void cli_db_error(const char *cmd, char *error)
{
	fprintf(stderr, "spamtrap %s: %s\n", cmd,
		error != NULL ? error : "database error");
	free(error);
}

char *cli_user(const char *cmd, const char *arg)
{
	struct address a;
	const char *why, *p;
	char *user;

	if (arg == NULL || *arg == '\0') {
		fprintf(stderr, "spamtrap %s: missing user\n", cmd);
		return NULL;
	}
	for (p = arg; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<'
		    || *p == '>' || *p == ',' || *p == '"') {
			fprintf(stderr, "spamtrap %s: bad address \"%s\": "
				"not a plain local@domain\n", cmd, arg);
			return NULL;
		}
	}
	if (strlen(arg) > ADDRESS_MAX) {
		fprintf(stderr, "spamtrap %s: bad address: longer than %d "
			"characters\n", cmd, ADDRESS_MAX);
		return NULL;
	}
	/* no detail delimiters: a user is given without +detail */
	if (address_parse(arg, "", &a, &why) < 0) {
		fprintf(stderr, "spamtrap %s: bad address \"%s\": %s\n", cmd,
			arg, why);
		return NULL;
	}
	if (a.local[0] == '\0' || (strchr(arg, '@') != NULL
				   && a.domain[0] == '\0')) {
		fprintf(stderr, "spamtrap %s: bad address \"%s\": empty "
			"local part or domain\n", cmd, arg);
		address_deinit(&a);
		return NULL;
	}
	user = mystrdup(a.user);
	address_deinit(&a);
	return user;
}

int cli_id_valid(const char *s)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
	size_t i;

	if (s == NULL || strlen(s) != QSTORE_ID_LEN)
		return 0;
	for (i = 0; i < QSTORE_ID_LEN; i++)
		if (strchr(b32, s[i]) == NULL)
			return 0;
	return 1;
}

char *cli_who(void)
{
	const char *s = getenv("SUDO_USER");
	struct passwd *pw;
	struct str sb = STR_INIT;

	if (s != NULL && *s != '\0')
		return mystrdup(s);
	if ((pw = getpwuid(getuid())) != NULL)
		return mystrdup(pw->pw_name);
	str_printf(&sb, "uid %lu", (unsigned long)getuid());
	return str_steal(&sb);
}

void cli_time_iso(time_t t, struct str *out)
{
	struct tm tm;
	char buf[32];

	if (gmtime_r(&t, &tm) == NULL
	    || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
	str_appends(out, buf);
}

void cli_time_short(time_t t, struct str *out)
{
	struct tm tm;
	char buf[32];

	if (localtime_r(&t, &tm) == NULL
	    || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm) == 0)
		buf[0] = '\0';
	str_appends(out, buf);
}

/* length of the valid UTF-8 sequence at P (max N bytes), 0 if invalid */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned c = p[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
	    || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void cli_json_str(struct str *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t left = strlen((const char *)p);

	str_appendc(out, '"');
	while (left > 0) {
		size_t len;

		switch (*p) {
		case '"':
			str_appends(out, "\\\"");
			break;
		case '\\':
			str_appends(out, "\\\\");
			break;
		case '\n':
			str_appends(out, "\\n");
			break;
		case '\r':
			str_appends(out, "\\r");
			break;
		case '\t':
			str_appends(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				str_printf(out, "\\u%04x", *p);
				break;
			}
			len = utf8_len(p, left);
			if (len == 0) {
				str_appends(out, "\\ufffd");
				break;
			}
			str_append(out, p, len);
			p += len;
			left -= len;
			continue;
		}
		p++;
		left--;
	}
	str_appendc(out, '"');
}

void cli_json_field(struct str *out, int first, const char *name,
		    const char *value)
{
	str_appends(out, first ? "{" : ",");
	cli_json_str(out, name);
	str_appendc(out, ':');
	cli_json_str(out, value);
}

long cli_number(const char *cmd, const char *opt, const char *arg, long min,
		long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "spamtrap %s: %s: bad number \"%s\" "
			"(%ld to %ld)\n", cmd, opt, arg, min, max);
		return -1;
	}
	return v;
}

int cli_status(const char *cmd, const char *arg)
{
	int s;

	if (strcasecmp(arg, "all") == 0 || strcasecmp(arg, "any") == 0)
		return QSTORE_STATUS_ANY;
	if ((s = qstore_status_parse(arg)) == 0) {
		fprintf(stderr, "spamtrap %s: unknown status \"%s\" (one-shot, "
			"pending, spam, non-spam or all)\n", cmd, arg);
		return -1;
	}
	return s;
}

void cli_reasons(unsigned reasons, struct str *out)
{
	qstore_reasons_format(reasons, out);
}

const struct qstore_action *cli_last_action(const struct qstore_incident *inc)
{
	return inc->n_actions > 0 ? &inc->actions[inc->n_actions - 1] : NULL;
}

void cli_incident_json(const struct qstore_incident *inc, struct str *out)
{
	const struct qstore_action *last = cli_last_action(inc);
	struct str t = STR_INIT;

	cli_json_field(out, 1, "id", inc->id);
	cli_time_iso(inc->received, &t);
	cli_json_field(out, 0, "date", str_c(&t));
	cli_json_field(out, 0, "user", inc->user);
	cli_json_field(out, 0, "recipient", inc->recipient);
	cli_json_field(out, 0, "sender", inc->sender);
	cli_json_field(out, 0, "from", inc->from);
	cli_json_field(out, 0, "subject", inc->subject);
	if (inc->scored)
		str_printf(out, ",\"score\":%.1f",
			   rule_score_display(inc->score));
	else
		str_appends(out, ",\"score\":null");
	cli_json_field(out, 0, "status", qstore_status_name(inc->status));
	str_clear(&t);
	cli_reasons(inc->reasons, &t);
	cli_json_field(out, 0, "hold_reason", str_c(&t));
	cli_json_field(out, 0, "relay", inc->relay_ip);
	cli_json_field(out, 0, "relay_name", inc->relay_name);
	cli_json_field(out, 0, "folder", inc->folder);
	cli_json_field(out, 0, "message_id", inc->message_id);
	str_printf(out, ",\"size\":%llu,\"tagged\":%s",
		   (unsigned long long)inc->size,
		   inc->flags & QSTORE_FLAG_TAGGED ? "true" : "false");
	cli_json_field(out, 0, "action", last != NULL ? last->what : "");
	cli_json_field(out, 0, "who", last != NULL ? last->who : "");
	cli_json_field(out, 0, "via",
		       last != NULL ? qstore_via_name(last->via) : "");
	str_clear(&t);
	if (last != NULL)
		cli_time_iso(last->when, &t);
	cli_json_field(out, 0, "action_date", str_c(&t));
	str_appendc(out, '}');
	str_deinit(&t);
}
