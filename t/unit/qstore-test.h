/*
 * qstore-test.h - a scratch database directory for the qstore tests.
 */
#ifndef SPAMTRAP_QSTORE_TEST_H
#define SPAMTRAP_QSTORE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qstore.h"
#include "str.h"

static char qt_dir[256];

/* a fresh directory; the db goes in DIR/db */
__attribute__((unused))
static const char *qt_setup(struct str *db_dir)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(qt_dir, sizeof(qt_dir), "%s/qstore-test.XXXXXX",
		 tmp != NULL && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(qt_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	str_clear(db_dir);
	str_printf(db_dir, "%s/db", qt_dir);
	return str_c(db_dir);
}

__attribute__((unused))
static void qt_cleanup(void)
{
	struct str cmd = STR_INIT;

	if (qt_dir[0] == '\0' || getenv("QSTORE_TEST_KEEP") != NULL)
		return;
	str_printf(&cmd, "rm -rf '%s'", qt_dir);
	if (system(str_c(&cmd)) != 0)
		fprintf(stderr, "could not remove %s\n", qt_dir);
	str_deinit(&cmd);
}

__attribute__((unused))
static struct qstore *qt_open(const char *dir)
{
	char *error = NULL;
	struct qstore *qs = qstore_open(dir, &error, NULL);

	if (qs == NULL) {
		printf("Bail out! qstore_open: %s\n", error);
		exit(1);
	}
	return qs;
}

#endif
