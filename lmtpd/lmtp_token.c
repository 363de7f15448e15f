/*
 * lmtp_token - LMTP command line tokenizer.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lmtp_token.h"
#include "mymalloc.h"
#include "str.h"

static const struct {
	const char *name;
	enum lmtp_verb verb;
} verbs[] = {
	{ "LHLO", LMTP_VERB_LHLO }, { "HELO", LMTP_VERB_HELO },
	{ "EHLO", LMTP_VERB_EHLO }, { "MAIL", LMTP_VERB_MAIL },
	{ "RCPT", LMTP_VERB_RCPT }, { "DATA", LMTP_VERB_DATA },
	{ "BDAT", LMTP_VERB_BDAT }, { "RSET", LMTP_VERB_RSET },
	{ "NOOP", LMTP_VERB_NOOP }, { "QUIT", LMTP_VERB_QUIT },
	{ "VRFY", LMTP_VERB_VRFY }, { "HELP", LMTP_VERB_HELP },
	{ "XFORWARD", LMTP_VERB_XFORWARD },
};

const char *lmtp_token_verb_name(enum lmtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "UNKNOWN";
}

void lmtp_token_clear(struct lmtp_command *cmd)
{
	int i;

	MYFREE(&cmd->arg);
	MYFREE(&cmd->path);
	for (i = 0; i < cmd->n_params; i++) {
		MYFREE(&cmd->params[i].name);
		MYFREE(&cmd->params[i].value);
	}
	cmd->n_params = 0;
	cmd->verb = LMTP_VERB_UNKNOWN;
}

int lmtp_token_xtext_decode(const char *in, char **out_r)
{
	struct str sb = STR_INIT;
	const char *s;

	str_init(&sb, strlen(in) + 1);
	for (s = in; *s; s++) {
		if (*s == '+') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2])) {
				str_deinit(&sb);
				return -1;
			}
			char hex[3] = { s[1], s[2], '\0' };

			str_appendc(&sb, (char)strtol(hex, NULL, 16));
			s += 2;
		} else if ((unsigned char)*s < 33 || (unsigned char)*s > 126 ||
			   *s == '=') {
			str_deinit(&sb);
			return -1;
		} else {
			str_appendc(&sb, *s);
		}
	}
	*out_r = str_steal(&sb);
	return 0;
}

/*
 * "<path>" at *sp: the address without brackets, source route dropped.
 * Quoted local parts may contain spaces and ">".
 */
static int parse_path(const char **sp, const char *end, char **path_r)
{
	const char *s = *sp, *start;
	int quoted = 0;

	if (s >= end || *s != '<')
		return -1;
	start = ++s;
	for (; s < end; s++) {
		if (quoted && *s == '\\' && s + 1 < end) {
			s++;
			continue;
		}
		if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == '>')
			break;
		else if (!quoted && (*s == '<' || *s == ' '))
			return -1;
	}
	if (s >= end)
		return -1;
	/* <@relay1,@relay2:user@domain>: drop the source route */
	if (start < s && *start == '@') {
		const char *colon = memchr(start, ':', (size_t)(s - start));

		if (colon == NULL)
			return -1;
		start = colon + 1;
	}
	*path_r = mystrndup(start, (size_t)(s - start));
	*sp = s + 1;
	return 0;
}

static enum lmtp_token_error parse_params(const char *s, const char *end,
					  struct lmtp_command *cmd,
					  const char **error_r)
{
	while (s < end) {
		const char *word, *eq;
		size_t i, len;

		while (s < end && *s == ' ')
			s++;
		if (s >= end)
			break;
		word = s;
		while (s < end && *s != ' ')
			s++;
		if (cmd->n_params >= LMTP_MAX_PARAMS) {
			*error_r = "too many parameters";
			return LMTP_TOKEN_SYNTAX;
		}
		eq = memchr(word, '=', (size_t)(s - word));
		len = (size_t)((eq ? eq : s) - word);
		if (len == 0) {
			*error_r = "empty parameter name";
			return LMTP_TOKEN_SYNTAX;
		}
		for (i = 0; i < len; i++) {
			if (!isalnum((unsigned char)word[i]) && word[i] != '-') {
				*error_r = "bad parameter name";
				return LMTP_TOKEN_SYNTAX;
			}
		}
		struct lmtp_param *p = &cmd->params[cmd->n_params++];

		p->name = mystrndup(word, len);
		for (i = 0; i < len; i++)
			p->name[i] = (char)toupper((unsigned char)p->name[i]);
		p->value = eq ? mystrndup(eq + 1, (size_t)(s - eq - 1)) : NULL;
	}
	return LMTP_TOKEN_OK;
}

enum lmtp_token_error lmtp_token_parse(const char *line, size_t len,
				       struct lmtp_command *cmd,
				       const char **error_r)
{
	const char *s = line, *end = line + len, *verb, *kw;
	size_t i, vlen;

	memset(cmd, 0, sizeof(*cmd));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
			*error_r = "control character in command line";
			return LMTP_TOKEN_BADCHAR;
		}
	}
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	verb = s;
	while (s < end && *s != ' ')
		s++;
	vlen = (size_t)(s - verb);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(verbs[i].name, verb, vlen) == 0)
			break;
	}
	if (i == sizeof(verbs) / sizeof(verbs[0])) {
		*error_r = "unknown command";
		return LMTP_TOKEN_UNKNOWN;
	}
	cmd->verb = verbs[i].verb;
	while (s < end && *s == ' ')
		s++;

	switch (cmd->verb) {
	case LMTP_VERB_MAIL:
	case LMTP_VERB_RCPT:
		kw = cmd->verb == LMTP_VERB_MAIL ? "FROM:" : "TO:";
		if ((size_t)(end - s) < strlen(kw) ||
		    strncasecmp(s, kw, strlen(kw)) != 0) {
			*error_r = cmd->verb == LMTP_VERB_MAIL ?
				"syntax: MAIL FROM:<address>" :
				"syntax: RCPT TO:<address>";
			lmtp_token_clear(cmd);
			return LMTP_TOKEN_SYNTAX;
		}
		s += strlen(kw);
		while (s < end && *s == ' ')	/* tolerated, as Postfix does */
			s++;
		if (parse_path(&s, end, &cmd->path) < 0) {
			*error_r = "bad address syntax: expected <address>";
			lmtp_token_clear(cmd);
			return LMTP_TOKEN_ADDRESS;
		}
		if (s < end && *s != ' ') {
			*error_r = "garbage after address";
			lmtp_token_clear(cmd);
			return LMTP_TOKEN_ADDRESS;
		}
		if (parse_params(s, end, cmd, error_r) != LMTP_TOKEN_OK) {
			lmtp_token_clear(cmd);
			return LMTP_TOKEN_SYNTAX;
		}
		cmd->arg = mystrdup("");
		return LMTP_TOKEN_OK;
	case LMTP_VERB_DATA:
	case LMTP_VERB_RSET:
	case LMTP_VERB_QUIT:
		if (s < end) {
			*error_r = "no arguments allowed";
			lmtp_token_clear(cmd);
			return LMTP_TOKEN_SYNTAX;
		}
		break;
	case LMTP_VERB_LHLO:
	case LMTP_VERB_HELO:
	case LMTP_VERB_EHLO:
	case LMTP_VERB_VRFY:
	case LMTP_VERB_BDAT:
		if (s >= end && cmd->verb != LMTP_VERB_HELO &&
		    cmd->verb != LMTP_VERB_EHLO) {
			*error_r = "argument required";
			lmtp_token_clear(cmd);
			return LMTP_TOKEN_SYNTAX;
		}
		break;
	default:
		break;
	}
	cmd->arg = mystrndup(s, (size_t)(end - s));
	return LMTP_TOKEN_OK;
}
