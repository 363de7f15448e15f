/*
 * rule_dirs - which rule directories a program reads by default.
 *
 *   rules_dir set:   exactly those directories (comma or space separated)
 *   rules_dir empty: the shipped rules, then /usr/share/spamassassin and
 *                    /etc/spamassassin when they exist
 *
 * The shipped rules are found from the executable: $SPAMTRAP_RULES_SHIPPED
 * if set, else <dir of /proc/self/exe>/../rules/shipped (bin/ in the
 * source tree), else <dir>/../share/spamtrap/rules (make install puts the
 * programs in $PREFIX/bin or $PREFIX/sbin and the rules in
 * $PREFIX/share/spamtrap/rules).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mymalloc.h"
#include "params.h"
#include "rules.h"
#include "str.h"

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *rule_dirs_shipped(void)
{
	const char *env = getenv("SPAMTRAP_RULES_SHIPPED");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;
	static const char *const rel[] = {
		"/../rules/shipped", "/../share/spamtrap/rules", NULL,
	};
	int i;

	if (env != NULL && env[0] != '\0')
		return mystrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (i = 0; rel[i]; i++) {
		struct str p = STR_INIT;
		char real[PATH_MAX];

		str_printf(&p, "%s%s", exe, rel[i]);
		if (is_dir(p.s)) {
			char *r = realpath(p.s, real) ? mystrdup(real)
						      : str_steal(&p);

			str_deinit(&p);
			return r;
		}
		str_deinit(&p);
	}
	return NULL;
}

static void add(char ***v, size_t *n, const char *s, size_t len)
{
	*v = myrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = mystrndup(s, len);
	(*v)[*n] = NULL;
}

char **rule_dirs_default(void)
{
	char **v = mycalloc(1, sizeof(char *));
	size_t n = 0;
	const char *p = var_rules_dir ? var_rules_dir : "";

	while (*p) {
		size_t l;

		p += strspn(p, ", \t");
		l = strcspn(p, ", \t");
		if (l > 0)
			add(&v, &n, p, l);
		p += l;
	}
	if (n == 0) {
		char *shipped = rule_dirs_shipped();

		if (shipped != NULL) {
			add(&v, &n, shipped, strlen(shipped));
			free(shipped);
		}
		if (is_dir("/usr/share/spamassassin"))
			add(&v, &n, "/usr/share/spamassassin", 23);
		if (is_dir("/etc/spamassassin"))
			add(&v, &n, "/etc/spamassassin", 17);
	}
	return v;
}

void rule_dirs_free(char ***dirsp)
{
	char **v = *dirsp;
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
	*dirsp = NULL;
}
