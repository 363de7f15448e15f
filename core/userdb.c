/*
 * userdb - passwd-file user list, reloaded when it changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "userdb.h"
#include "mymalloc.h"
#include "str.h"

struct userdb {
	char *path;
	char **names;
	size_t n;
	struct timespec mtime;
	off_t size;
	ino_t ino;
};

static int name_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(struct userdb *db)
{
	size_t i;

	for (i = 0; i < db->n; i++)
		free(db->names[i]);
	MYFREE(&db->names);
	db->n = 0;
}

static int userdb_read(struct userdb *db, char **error_r)
{
	FILE *fp = fopen(db->path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	struct stat st;
	struct str sb = STR_INIT;

	if (fp == NULL || fstat(fileno(fp), &st) < 0) {
		str_printf(&sb, "open %s: %s", db->path, strerror(errno));
		*error_r = str_steal(&sb);
		if (fp)
			fclose(fp);
		return -1;
	}
	names_free(db);
	while ((len = getline(&line, &cap, fp)) > 0) {
		size_t nlen = strcspn(line, ":\r\n");

		if (line[0] == '#' || nlen == 0)
			continue;
		if (db->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			db->names = myrealloc(db->names, alloc * sizeof(char *));
		}
		db->names[db->n++] = mystrndup(line, nlen);
	}
	free(line);
	if (ferror(fp)) {
		str_printf(&sb, "read %s: %s", db->path, strerror(errno));
		*error_r = str_steal(&sb);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (db->n > 0)
		qsort(db->names, db->n, sizeof(char *), name_cmp);
	db->mtime = st.st_mtim;
	db->size = st.st_size;
	db->ino = st.st_ino;
	return 0;
}

struct userdb *userdb_init(const char *path, char **error_r)
{
	struct userdb *db = mycalloc(1, sizeof(*db));

	db->path = mystrdup(path);
	if (userdb_read(db, error_r) < 0) {
		userdb_deinit(&db);
		return NULL;
	}
	return db;
}

void userdb_deinit(struct userdb **dbp)
{
	struct userdb *db = *dbp;

	if (db == NULL)
		return;
	names_free(db);
	free(db->path);
	free(db);
	*dbp = NULL;
}

static int find(const struct userdb *db, const char *name)
{
	return db->n > 0 && bsearch(&name, db->names, db->n, sizeof(char *),
				    name_cmp) != NULL;
}

int userdb_lookup(struct userdb *db, const struct address *a, char **error_r)
{
	struct stat st;

	if (stat(db->path, &st) < 0) {
		struct str sb = STR_INIT;

		str_printf(&sb, "stat %s: %s", db->path, strerror(errno));
		*error_r = str_steal(&sb);
		return -1;
	}
	if (st.st_mtim.tv_sec != db->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != db->mtime.tv_nsec ||
	    st.st_size != db->size || st.st_ino != db->ino) {
		if (userdb_read(db, error_r) < 0)
			return -1;
	}
	return find(db, a->user) || find(db, a->local);
}
