/*
 * config - the one configuration file, "name = value" as Postfix main.cf.
 *
 * Every setting is a typed global variable (var_*) described by a row in
 * a parameter table (params.c): name, type, default, bounds.  A file is
 * read in full and checked before any variable changes, so a failed
 * reload (SIGHUP) leaves the running values alone.
 *
 * Syntax: "#" starts a comment line; a line that starts with white space
 * continues the previous one; "$name" or "${name}" expands to another
 * setting's value, "$$" to "$".  An unknown name or a bad value is an
 * error naming the file and line.
 */
#ifndef SPAMTRAP_CONFIG_H
#define SPAMTRAP_CONFIG_H

#include <stdio.h>

enum config_type {
	CONFIG_STR,		/* char *, expanded */
	CONFIG_PATH,		/* char *, expanded, made absolute */
	CONFIG_INT,		/* int, within [min, max] */
	CONFIG_BOOL,		/* int 0/1: yes/no, true/false, on/off, 1/0 */
	CONFIG_TIME,		/* int seconds: 30, 30s, 5m, 2h, 1d */
	CONFIG_SIZE,		/* long long bytes: 1000, 10k, 50M, 1G */
	CONFIG_MODE,		/* int, octal file mode */
};

struct config_param {
	const char *name;
	enum config_type type;
	const char *def;	/* default, as text (expanded like a value) */
	long long min, max;	/* bounds for numbers */
	void *var;		/* char **, int * or long long * */
	const char *help;	/* one line for "spamtrap config -h" */
};

/* the table of every setting, ending with a NULL name (params.c) */
extern const struct config_param config_params[];

/* an override given on the command line as -o name=value */
struct config_override {
	const char *text;
};

/*
 * Read FILE (NULL: built-in defaults only) plus "name=value" overrides,
 * check everything, then set the var_* globals.  Returns 0, or -1 with
 * an allocated message in *error_r (the caller frees it).
 */
int config_load(const char *file, char *const *overrides, int n_overrides,
		char **error_r);

/* the file last loaded, or NULL */
const char *config_file(void);

/* print settings as "name = value"; flags below */
#define CONFIG_PRINT_NONDEFAULT	(1 << 0)	/* only those set explicitly */
#define CONFIG_PRINT_MARK	(1 << 1)	/* mark defaults with a comment */
/* print NAMES (or all if n == 0); returns -1 if a name is unknown */
int config_print(FILE *fp, int flags, char *const *names, int n,
		 char **error_r);

/* parse helpers shared with other modules (0 or -1) */
int config_parse_bool(const char *text, int *value_r);
int config_parse_number(enum config_type type, const char *text,
			long long *value_r);

/* free everything (tests and leak checkers) */
void config_deinit(void);

#endif
