/*
 * folder_scan - walk Maildir++ stores and count messages per folder.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "folder_scan.h"
#include "mymalloc.h"
#include "str.h"

#define FOLDER_SCAN_DEPTH	8	/* template components, at most */

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int is_maildir(const char *path)
{
	struct str sb = STR_INIT;
	int r;

	str_printf(&sb, "%s/cur", path);
	r = is_dir(sb.s);
	str_clear(&sb);
	str_printf(&sb, "%s/new", path);
	r = r && is_dir(sb.s);
	str_deinit(&sb);
	return r;
}

static void add(struct folder_scan *scan, const char *maildir,
		const char *folder, const char *dir)
{
	struct str sb = STR_INIT;
	struct folder_count *fc;
	size_t n;

	str_printf(&sb, "%s/new", dir);
	n = count_files(sb.s);
	str_clear(&sb);
	str_printf(&sb, "%s/cur", dir);
	n += count_files(sb.s);
	str_deinit(&sb);
	scan->counts = myrealloc(scan->counts,
				 (scan->n + 1) * sizeof(*scan->counts));
	fc = &scan->counts[scan->n++];
	fc->maildir = mystrdup(maildir);
	fc->folder = mystrdup(folder);
	fc->messages = n;
}

static void scan_maildir(struct folder_scan *scan, const char *path)
{
	DIR *d;
	struct dirent *de;

	add(scan, path, "INBOX", path);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct str sub = STR_INIT;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		str_printf(&sub, "%s/%s", path, de->d_name);
		if (is_maildir(sub.s))
			add(scan, path, de->d_name + 1, sub.s);
		str_deinit(&sub);
	}
	closedir(d);
}

/* follow the template components from index i below dir */
static void walk(struct folder_scan *scan, char **parts, size_t n, size_t i,
		 const char *dir)
{
	struct str next = STR_INIT;
	DIR *d;
	struct dirent *de;

	if (i == n) {
		if (is_maildir(dir))
			scan_maildir(scan, dir);
		return;
	}
	if (strchr(parts[i], '%') == NULL) {
		str_printf(&next, "%s/%s", dir, parts[i]);
		if (is_dir(next.s))
			walk(scan, parts, n, i + 1, next.s);
		str_deinit(&next);
		return;
	}
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		str_clear(&next);
		str_printf(&next, "%s/%s", dir, de->d_name);
		if (is_dir(next.s))
			walk(scan, parts, n, i + 1, next.s);
	}
	closedir(d);
	str_deinit(&next);
}

int folder_scan_run(const char *template, struct folder_scan *scan,
		    char **error_r)
{
	char *copy, *parts[FOLDER_SCAN_DEPTH], *tok, *save = NULL;
	size_t n = 0;

	memset(scan, 0, sizeof(*scan));
	if (template[0] != '/') {
		*error_r = mystrdup("the Maildir template must be an absolute path");
		return -1;
	}
	copy = mystrdup(template);
	for (tok = strtok_r(copy, "/", &save); tok != NULL;
	     tok = strtok_r(NULL, "/", &save)) {
		if (n == FOLDER_SCAN_DEPTH) {
			free(copy);
			*error_r = mystrdup("the Maildir template is too deep");
			return -1;
		}
		parts[n++] = tok;
	}
	walk(scan, parts, n, 0, "");
	free(copy);
	return 0;
}

void folder_scan_clear(struct folder_scan *scan)
{
	size_t i;

	for (i = 0; i < scan->n; i++) {
		free(scan->counts[i].maildir);
		free(scan->counts[i].folder);
	}
	MYFREE(&scan->counts);
	scan->n = 0;
}

const struct folder_count *folder_scan_find(const struct folder_scan *scan,
					    const char *maildir,
					    const char *folder)
{
	size_t i;

	for (i = 0; i < scan->n; i++)
		if (strcmp(scan->counts[i].maildir, maildir) == 0 &&
		    strcmp(scan->counts[i].folder, folder) == 0)
			return &scan->counts[i];
	return NULL;
}
