/*
 * config - read, check and apply the configuration file.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mymalloc.h"
#include "str.h"

#define CONFIG_LINE_MAX		65536	/* one logical line */
#define CONFIG_EXPAND_DEPTH	16

struct pending {
	char *raw;		/* text as written, NULL: default */
	char *origin;		/* "file:line" of raw */
	char *expanded;		/* after $name expansion */
	int expanding;		/* loop detection */
};

/* what is in force now: for printing */
static struct pending *current;
static size_t n_params;
static char *current_file;

static size_t param_count(void)
{
	size_t n = 0;

	while (config_params[n].name != NULL)
		n++;
	return n;
}

static long long param_index(const char *name, size_t len)
{
	size_t i;

	for (i = 0; config_params[i].name != NULL; i++) {
		if (strlen(config_params[i].name) == len &&
		    memcmp(config_params[i].name, name, len) == 0)
			return (long long)i;
	}
	return -1;
}

int config_parse_bool(const char *text, int *value_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value_r = 1;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value_r = 0;
			return 0;
		}
	}
	return -1;
}

int config_parse_number(enum config_type type, const char *text,
			long long *value_r)
{
	char *end;
	long long v, mult = 1;

	if (!isdigit((unsigned char)text[0]) && text[0] != '-')
		return -1;
	errno = 0;
	v = strtoll(text, &end, type == CONFIG_MODE ? 8 : 10);
	if (errno != 0 || end == text)
		return -1;
	if (type == CONFIG_TIME && *end != '\0') {
		switch (*end++) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return -1;
		}
	} else if (type == CONFIG_SIZE && *end != '\0') {
		switch (*end++) {
		case 'k': case 'K': mult = 1024LL; break;
		case 'm': case 'M': mult = 1024LL * 1024; break;
		case 'g': case 'G': mult = 1024LL * 1024 * 1024; break;
		default: return -1;
		}
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end != '\0')
		return -1;
	if (v != 0 && (v > LLONG_MAX / mult || v < LLONG_MIN / mult))
		return -1;
	*value_r = v * mult;
	return 0;
}

static void pending_free(struct pending *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(p[i].raw);
		free(p[i].origin);
		free(p[i].expanded);
	}
	free(p);
}

static char *origin_text(const struct pending *p, size_t i)
{
	struct str sb = STR_INIT;

	if (p[i].origin)
		str_printf(&sb, "%s: ", p[i].origin);
	else
		str_printf(&sb, "default for %s: ", config_params[i].name);
	return str_steal(&sb);
}

static int set_error(char **error_r, const struct pending *p, size_t i,
		     const char *fmt, const char *arg)
{
	struct str sb = STR_INIT;
	char *where = origin_text(p, i);

	str_appends(&sb, where);
	str_printf(&sb, fmt, arg);
	free(where);
	*error_r = str_steal(&sb);
	return -1;
}

static int expand(struct pending *p, size_t i, int depth, char **error_r);

/* expand "$name", "${name}", "$$" in text into sb */
static int expand_text(struct pending *p, size_t self, const char *text,
		       struct str *sb, int depth, char **error_r)
{
	const char *s = text, *name;
	size_t len;
	long long j;

	while (*s) {
		if (*s != '$') {
			str_appendc(sb, *s++);
			continue;
		}
		s++;
		if (*s == '$') {
			str_appendc(sb, *s++);
			continue;
		}
		if (*s == '{') {
			name = ++s;
			while (*s && *s != '}')
				s++;
			if (*s != '}')
				return set_error(error_r, p, self,
					"unterminated \"${\" in \"%s\"", text);
			len = (size_t)(s - name);
			s++;
		} else {
			name = s;
			while (isalnum((unsigned char)*s) || *s == '_')
				s++;
			len = (size_t)(s - name);
		}
		if (len == 0)
			return set_error(error_r, p, self,
					 "lone \"$\" in \"%s\" (write $$)", text);
		j = param_index(name, len);
		if (j < 0) {
			char *n = mystrndup(name, len);
			int r = set_error(error_r, p, self,
					  "unknown setting \"$%s\"", n);
			free(n);
			return r;
		}
		if (expand(p, (size_t)j, depth + 1, error_r) < 0)
			return -1;
		str_appends(sb, p[j].expanded);
	}
	return 0;
}

static int expand(struct pending *p, size_t i, int depth, char **error_r)
{
	const struct config_param *cp = &config_params[i];
	struct str sb = STR_INIT;
	const char *text;

	if (p[i].expanded)
		return 0;
	if (p[i].expanding || depth > CONFIG_EXPAND_DEPTH)
		return set_error(error_r, p, i,
				 "\"$%s\" refers to itself", cp->name);
	p[i].expanding = 1;
	text = p[i].raw ? p[i].raw : cp->def;
	str_init(&sb, strlen(text) + 1);
	if (expand_text(p, i, text, &sb, depth, error_r) < 0) {
		str_deinit(&sb);
		p[i].expanding = 0;
		return -1;
	}
	if (cp->type == CONFIG_PATH && sb.len > 0 && sb.s[0] != '/') {
		char cwd[PATH_MAX];
		struct str abs = STR_INIT;
		const char *rel = sb.s;

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			str_deinit(&sb);
			p[i].expanding = 0;
			return set_error(error_r, p, i,
				"cannot make \"%s\" absolute: getcwd failed",
				text);
		}
		while (rel[0] == '.' && rel[1] == '/')
			rel += 2;
		str_printf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "",
			   strcmp(rel, ".") ? rel : "");
		if (abs.len > 1 && abs.s[abs.len - 1] == '/')
			str_truncate(&abs, abs.len - 1);
		str_deinit(&sb);
		sb = abs;
	}
	p[i].expanded = str_steal(&sb);
	p[i].expanding = 0;
	return 0;
}

/* one logical line "name = value" */
static int parse_setting(struct pending *p, const char *line,
			 const char *origin, char **error_r)
{
	const char *s = line, *name, *value, *end;
	long long i;
	size_t nlen;

	name = s;
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	nlen = (size_t)(s - name);
	while (*s == ' ' || *s == '\t')
		s++;
	if (nlen == 0 || *s != '=') {
		struct str sb = STR_INIT;

		str_printf(&sb, "%s: expected \"name = value\", found \"%.60s\"",
			   origin, line);
		*error_r = str_steal(&sb);
		return -1;
	}
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	value = s;
	end = value + strlen(value);
	while (end > value && isspace((unsigned char)end[-1]))
		end--;
	i = param_index(name, nlen);
	if (i < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "%s: unknown setting \"%.*s\"", origin,
			   (int)nlen, name);
		*error_r = str_steal(&sb);
		return -1;
	}
	free(p[i].raw);
	free(p[i].origin);
	p[i].raw = mystrndup(value, (size_t)(end - value));
	p[i].origin = mystrdup(origin);
	return 0;
}

static int read_file(struct pending *p, const char *file, char **error_r)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, start_line = 0, ret = 0;
	struct str logical = STR_INIT, origin = STR_INIT;

	if ((fp = fopen(file, "r")) == NULL) {
		struct str sb = STR_INIT;

		str_printf(&sb, "cannot open %s: %s", file, strerror(errno));
		*error_r = str_steal(&sb);
		return -1;
	}
	str_init(&logical, 128);
	for (;;) {
		n = getline(&line, &cap, fp);
		if (n >= 0)
			lineno++;
		if (n >= 0 && memchr(line, '\0', (size_t)n) != NULL) {
			str_printf(&origin, "%s:%d: NUL byte in line", file,
				   lineno);
			*error_r = str_steal(&origin);
			ret = -1;
			break;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		/* a continuation line joins the logical line before it */
		if (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
			const char *t = line;

			while (*t == ' ' || *t == '\t')
				t++;
			if (*t == '\0' || *t == '#')
				continue;
			if (logical.len == 0) {
				str_printf(&origin,
					   "%s:%d: continuation line without a setting",
					   file, lineno);
				*error_r = str_steal(&origin);
				ret = -1;
				break;
			}
			if (logical.len + (size_t)n > CONFIG_LINE_MAX) {
				str_printf(&origin, "%s:%d: line too long",
					   file, lineno);
				*error_r = str_steal(&origin);
				ret = -1;
				break;
			}
			str_appendc(&logical, ' ');
			str_appends(&logical, t);
			continue;
		}
		/* a new logical line (or EOF): finish the previous one */
		if (logical.len > 0) {
			str_clear(&origin);
			str_printf(&origin, "%s:%d", file, start_line);
			if (parse_setting(p, logical.s, origin.s, error_r) < 0) {
				ret = -1;
				break;
			}
			str_clear(&logical);
		}
		if (n < 0)
			break;
		if (n == 0 || line[0] == '#')
			continue;
		if ((size_t)n > CONFIG_LINE_MAX) {
			str_clear(&origin);
			str_printf(&origin, "%s:%d: line too long", file, lineno);
			*error_r = str_steal(&origin);
			ret = -1;
			break;
		}
		str_appends(&logical, line);
		start_line = lineno;
	}
	if (ret == 0 && ferror(fp)) {
		str_clear(&origin);
		str_printf(&origin, "read %s: %s", file, strerror(errno));
		*error_r = str_steal(&origin);
		ret = -1;
	}
	free(line);
	str_deinit(&logical);
	str_deinit(&origin);
	fclose(fp);
	return ret;
}

static int check_value(struct pending *p, size_t i, long long *num_r,
		       char **error_r)
{
	const struct config_param *cp = &config_params[i];
	const char *v = p[i].expanded;
	long long num = 0;
	int b;

	switch (cp->type) {
	case CONFIG_STR:
	case CONFIG_PATH:
		return 0;
	case CONFIG_BOOL:
		if (config_parse_bool(v, &b) < 0)
			return set_error(error_r, p, i,
				"bad value \"%s\": expected yes or no", v);
		*num_r = b;
		return 0;
	default:
		break;
	}
	if (config_parse_number(cp->type, v, &num) < 0 ||
	    num < cp->min || num > cp->max) {
		struct str sb = STR_INIT;
		char *where = origin_text(p, i);
		static const char *const unit[] = {
			[CONFIG_INT] = "a number",
			[CONFIG_TIME] = "a time (30s, 5m, 1h, 1d)",
			[CONFIG_SIZE] = "a size (1000, 64k, 50M)",
			[CONFIG_MODE] = "an octal mode",
		};

		str_printf(&sb, "%sbad value \"%s\" for %s: expected %s",
			   where, v, cp->name, unit[cp->type]);
		if (cp->type == CONFIG_MODE)
			str_printf(&sb, " between %llo and %llo", cp->min,
				   cp->max);
		else
			str_printf(&sb, " between %lld and %lld", cp->min,
				   cp->max);
		free(where);
		*error_r = str_steal(&sb);
		return -1;
	}
	*num_r = num;
	return 0;
}

int config_load(const char *file, char *const *overrides, int n_overrides,
		char **error_r)
{
	size_t n = param_count(), i;
	struct pending *p = mycalloc(n, sizeof(*p));
	long long *nums = mycalloc(n, sizeof(*nums));
	int k;

	*error_r = NULL;
	if (file != NULL && read_file(p, file, error_r) < 0)
		goto fail;
	for (k = 0; k < n_overrides; k++) {
		struct str origin = STR_INIT;
		int r;

		str_printf(&origin, "command line -o %d", k + 1);
		r = parse_setting(p, overrides[k], origin.s, error_r);
		str_deinit(&origin);
		if (r < 0)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		if (expand(p, i, 0, error_r) < 0 ||
		    check_value(p, i, &nums[i], error_r) < 0)
			goto fail;
	}

	/* everything checked: commit */
	for (i = 0; i < n; i++) {
		const struct config_param *cp = &config_params[i];

		switch (cp->type) {
		case CONFIG_STR:
		case CONFIG_PATH:
			free(*(char **)cp->var);
			*(char **)cp->var = mystrdup(p[i].expanded);
			break;
		case CONFIG_SIZE:
			*(long long *)cp->var = nums[i];
			break;
		default:
			*(int *)cp->var = (int)nums[i];
			break;
		}
	}
	pending_free(current, n_params);
	current = p;
	n_params = n;
	free(current_file);
	current_file = file ? mystrdup(file) : NULL;
	free(nums);
	return 0;

fail:
	pending_free(p, n);
	free(nums);
	return -1;
}

const char *config_file(void)
{
	return current_file;
}

static int name_cmp(const void *a, const void *b)
{
	const size_t *x = a, *y = b;

	return strcmp(config_params[*x].name, config_params[*y].name);
}

int config_print(FILE *fp, int flags, char *const *names, int n,
		 char **error_r)
{
	size_t *order, count = 0, i;
	int k;

	if (current == NULL) {
		*error_r = mystrdup("configuration not loaded");
		return -1;
	}
	order = mycalloc(n_params, sizeof(*order));
	if (n > 0) {
		for (k = 0; k < n; k++) {
			long long j = param_index(names[k], strlen(names[k]));

			if (j < 0) {
				struct str sb = STR_INIT;

				str_printf(&sb, "unknown setting \"%s\"",
					   names[k]);
				*error_r = str_steal(&sb);
				free(order);
				return -1;
			}
			order[count++] = (size_t)j;
		}
	} else {
		for (i = 0; i < n_params; i++)
			order[count++] = i;
		qsort(order, count, sizeof(*order), name_cmp);
	}
	for (i = 0; i < count; i++) {
		const struct pending *p = &current[order[i]];

		if ((flags & CONFIG_PRINT_NONDEFAULT) && p->raw == NULL)
			continue;
		fprintf(fp, "%s = %s", config_params[order[i]].name,
			p->expanded);
		if ((flags & CONFIG_PRINT_MARK) && p->raw == NULL)
			fputs("\t# default", fp);
		fputc('\n', fp);
	}
	free(order);
	return 0;
}

void config_deinit(void)
{
	size_t i;

	for (i = 0; config_params[i].name != NULL; i++) {
		const struct config_param *cp = &config_params[i];

		if (cp->type == CONFIG_STR || cp->type == CONFIG_PATH)
			MYFREE((char **)cp->var);
	}
	pending_free(current, n_params);
	current = NULL;
	n_params = 0;
	MYFREE(&current_file);
}
