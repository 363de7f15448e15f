/*
 * 3001-maildir - the Maildir store: files, folders, subscriptions, failures.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mymalloc.h"
#include "params.h"
#include "store.h"
#include "str.h"
#include "test-lib.h"

static char base[] = "/tmp/st-3001-XXXXXX";

static const char body[] =
	"From: sender@example.net\n"
	"Subject: test\n"
	"\n"
	"first line\n"
	".a line with a leading dot\n"
	"8-bit: \xc3\xa4\xc3\xb6\xc3\xbc\n"
	"From the start of a line\n"
	"last line without newline";

static char *path_of(const char *fmt, const char *arg)
{
	struct str s = STR_INIT;

	str_printf(&s, "%s/", base);
	str_printf(&s, fmt, arg);
	return str_steal(&s);
}

static char *read_all(const char *path)
{
	struct str s = STR_INIT;
	char buf[4096];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	str_init(&s, 1024);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		str_append(&s, buf, (size_t)r);
	close(fd);
	return str_steal(&s);
}

/* number of entries in DIR (without . and ..), -1 if it cannot be read */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void rcpt_init(struct store_rcpt *r, const char *address,
		      struct address *a, const char *folder,
		      const struct store_message *msg)
{
	const char *error;

	memset(r, 0, sizeof(*r));
	r->address = address;
	if (a != NULL && address_parse(address, "+", a, &error) < 0) {
		printf("# cannot parse %s: %s\n", address, error);
		exit(1);
	}
	r->addr = a;
	r->folder = folder;
	r->msg = msg;
}

/* deliver one message to ADDRESS/FOLDER; returns the rcpt for checks */
static void deliver1(struct store *store, const char *address,
		     const char *folder, struct store_rcpt *r)
{
	static struct store_message msg = { body, sizeof(body) - 1 };
	static struct address a;
	struct store_envelope env = { "sender@example.net", "t1", 0 };

	address_deinit(&a);
	rcpt_init(r, address, &a, folder, &msg);
	store_deliver(store, &env, r, 1);
}

static void rm_rf(const char *path)
{
	struct str cmd = STR_INIT;

	str_printf(&cmd, "rm -rf '%s'", path);
	if (system(cmd.s) != 0)
		printf("# could not remove %s\n", path);
	str_deinit(&cmd);
}

static void test_specs(void)
{
	static const struct {
		const char *spec, *error;
	} bad[] = {
		{ "nocolon", "expected maildir:PATH" },
		{ "mbox:/x", "unknown type" },
		{ "maildir:relative/%u", "absolute" },
		{ "maildir:", "absolute" },
		{ "maildir:/x/%q", "unknown %" },
		{ "maildir:/x/../%u", "\"..\"" },
		{ "maildir:/x/./%u", "\"..\"" },
		{ "maildir:/x//%u", "empty level" },
		{ "maildir:/x/%u\n", "control character" },
		{ "lmtp:host", "expected HOST:PORT" },
		{ "lmtp::24", "empty host" },
		{ "lmtp:::1:24", "brackets" },
		{ "lmtp:[::1]24", "[IPv6]:PORT" },
		{ "lmtp:h:0", "port" },
		{ "lmtp:h:65536", "port" },
		{ "lmtp:h:12a", "port" },
		{ "lmtp:h:", "port" },
		{ "lmtp:unix:relative", "absolute" },
	};
	static const struct {
		const char *spec, *type;
	} good[] = {
		{ "maildir:/var/mail/%d/%n", "maildir" },
		{ "maildir:/var/mail/%u/", "maildir" },
		{ "lmtp:127.0.0.1:24", "lmtp" },
		{ "lmtp:localhost:24", "lmtp" },
		{ "lmtp:[::1]:24", "lmtp" },
		{ "lmtp:unix:/run/dovecot/lmtp", "lmtp" },
	};
	struct store *store;
	char *error;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		store = store_init(bad[i].spec, &error);
		TEST_OK(store == NULL, "spec #%zu refused", i);
		TEST_LIKE(error, bad[i].error, "spec #%zu: reason", i);
		free(error);
		store_deinit(&store);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		error = NULL;
		store = store_init(good[i].spec, &error);
		TEST_OK(store != NULL, "spec %s accepted", good[i].spec);
		if (store == NULL) {
			printf("#   error: %s\n", error);
			free(error);
			continue;
		}
		TEST_IS_STR(store_type(store), good[i].type, "spec %s: type",
			    good[i].spec);
		store_deinit(&store);
		TEST_OK(store == NULL, "store_deinit sets the pointer to NULL");
	}
}

static void test_inbox(struct store *store)
{
	static struct store_message msg = { body, sizeof(body) - 1 };
	struct store_envelope env = { "sender@example.net", "t2", 0 };
	struct address a[3];
	struct store_rcpt r[3];
	char *got, *want, *dir;
	struct str w = STR_INIT;
	size_t i;

	memset(a, 0, sizeof(a));
	rcpt_init(&r[0], "alice@example.org", &a[0], NULL, &msg);
	rcpt_init(&r[1], "Bob+tag@Example.ORG", &a[1], "INBOX", &msg);
	rcpt_init(&r[2], "alice@example.org", NULL, "", &msg);	/* parsed by store */
	store_deliver(store, &env, r, 3);
	for (i = 0; i < 3; i++) {
		TEST_IS_INT(r[i].kind, ERR_NONE, "inbox rcpt %zu stored", i);
		TEST_IS_STR(r[i].error, NULL, "inbox rcpt %zu: no error", i);
		TEST_OK(r[i].location != NULL, "inbox rcpt %zu: location", i);
	}
	dir = path_of("example.org/%s/new/", "alice");
	TEST_OK(r[0].location && strncmp(r[0].location, dir, strlen(dir)) == 0,
		"alice's file is in her new/");
	TEST_OK(r[2].location && strncmp(r[2].location, dir, strlen(dir)) == 0,
		"the second copy too");
	TEST_OK(r[0].location && r[2].location &&
		strcmp(r[0].location, r[2].location) != 0,
		"two deliveries, two files");
	TEST_IS_INT(count_entries(dir), 2, "alice's new/ holds two files");
	free(dir);
	dir = path_of("example.org/%s/new/", "Bob");
	TEST_OK(r[1].location && strncmp(r[1].location, dir, strlen(dir)) == 0,
		"Bob's file is in his new/ (%%n keeps the case, %%d is lowercased)");
	TEST_IS_INT(count_entries(dir), 1, "Bob's new/ holds one file");
	free(dir);

	/* exact contents: Return-Path, Delivered-To, then the message bytes */
	str_printf(&w, "Return-Path: <sender@example.net>\n"
		   "Delivered-To: alice@example.org\n%s", body);
	got = r[0].location ? read_all(r[0].location) : NULL;
	TEST_IS_STR(got, w.s, "alice's file: headers and exact body");
	free(got);
	str_clear(&w);
	str_printf(&w, "Return-Path: <sender@example.net>\n"
		   "Delivered-To: Bob+tag@Example.ORG\n%s", body);
	got = r[1].location ? read_all(r[1].location) : NULL;
	TEST_IS_STR(got, w.s, "Bob's file: Delivered-To is his address");
	free(got);
	TEST_IS_INT(mode_of(r[0].location), 0640, "file mode is mail_mode");
	want = path_of("example.org/%s", "alice");
	TEST_IS_INT(mode_of(want), 0750, "Maildir mode is mail_dir_mode");
	free(want);
	want = path_of("example.org/%s/cur", "alice");
	TEST_IS_INT(mode_of(want), 0750, "cur/ made too");
	free(want);
	want = path_of("example.org/%s/tmp", "alice");
	TEST_IS_INT(count_entries(want), 0, "tmp/ is empty afterwards");
	free(want);
	TEST_LIKE(r[0].location, ",S=", "the name carries the size");
	{
		char *s = r[0].location ? strstr(r[0].location, ",S=") : NULL;
		struct stat st;

		TEST_OK(s && stat(r[0].location, &st) == 0 &&
			(long long)st.st_size == atoll(s + 3),
			"S= is the file's size");
	}
	TEST_LIKE(r[0].location, ".host\\057with\\072odd,S=",
		  "'/' and ':' in the host name are escaped");
	for (i = 0; i < 3; i++) {
		store_rcpt_clear(&r[i]);
		address_deinit(&a[i]);
	}
	TEST_IS_STR(r[0].location, NULL, "store_rcpt_clear frees location");
	str_deinit(&w);
}

static void test_folders(struct store *store)
{
	struct store_rcpt r;
	char *p, *got;

	deliver1(store, "alice@example.org", "Spam", &r);
	TEST_IS_INT(r.kind, ERR_NONE, "folder Spam: stored");
	p = path_of("example.org/%s/.Spam/new/", "alice");
	TEST_OK(r.location && strncmp(r.location, p, strlen(p)) == 0,
		"folder Spam: file in .Spam/new/");
	free(p);
	p = path_of("example.org/%s/.Spam/maildirfolder", "alice");
	TEST_OK(exists(p), "folder Spam: maildirfolder file");
	TEST_IS_INT(mode_of(p), 0640, "maildirfolder has mail_mode");
	free(p);
	p = path_of("example.org/%s/.Spam", "alice");
	TEST_IS_INT(mode_of(p), 0750, ".Spam has mail_dir_mode");
	free(p);
	p = path_of("example.org/%s/subscriptions", "alice");
	got = read_all(p);
	TEST_IS_STR(got, "V\t2\n\nSpam\n", "subscriptions: Dovecot 2.3 format");
	free(got);
	TEST_IS_INT(mode_of(p), 0640, "subscriptions has mail_mode");
	store_rcpt_clear(&r);

	deliver1(store, "alice@example.org", "Spam", &r);
	TEST_IS_INT(r.kind, ERR_NONE, "folder Spam again: stored");
	got = read_all(p);
	TEST_IS_STR(got, "V\t2\n\nSpam\n", "subscriptions: Spam only once");
	free(got);
	store_rcpt_clear(&r);

	deliver1(store, "alice@example.org", "Spam/One-Shot", &r);
	TEST_IS_INT(r.kind, ERR_NONE, "folder Spam/One-Shot: stored");
	TEST_LIKE(r.location, "/.Spam.One-Shot/new/", "in .Spam.One-Shot/new/");
	store_rcpt_clear(&r);
	deliver1(store, "alice@example.org", "Spam/\xc3\x9c" "bersicht", &r);
	TEST_IS_INT(r.kind, ERR_NONE, "folder Spam/\xc3\x9c" "bersicht: stored");
	TEST_LIKE(r.location, "/.Spam.&ANw-bersicht/new/",
		  "on disk in modified UTF-7");
	store_rcpt_clear(&r);
	deliver1(store, "alice@example.org", "My Folder", &r);
	TEST_IS_INT(r.kind, ERR_NONE, "folder with a space: stored");
	TEST_LIKE(r.location, "/.My Folder/new/", "in .My Folder/new/");
	store_rcpt_clear(&r);
	got = read_all(p);
	TEST_IS_STR(got, "V\t2\n\nSpam\nSpam\tOne-Shot\nSpam\t&ANw-bersicht\n"
		    "My Folder\n", "subscriptions: levels joined by tabs, mUTF-7");
	free(got);
	free(p);
	p = path_of("example.org/%s", "alice");
	TEST_IS_INT(count_entries(p), 8,
		    "alice's Maildir: cur new tmp subscriptions, 4 folders");
	free(p);
	p = path_of("example.org/%s/subscriptions.lock", "alice");
	TEST_OK(!exists(p), "no subscriptions.lock left");
	free(p);

	/* an old (version 1) subscriptions file keeps its format */
	p = path_of("example.org/%s", "carol");
	TEST_IS_INT(mkdir(p, 0700), 0, "carol's Maildir made by hand");
	free(p);
	p = path_of("example.org/%s/subscriptions", "carol");
	{
		FILE *fp = fopen(p, "w");

		fputs("Old\n", fp);
		fclose(fp);
	}
	deliver1(store, "carol@example.org", "Spam/X", &r);
	TEST_IS_INT(r.kind, ERR_NONE, "carol Spam/X: stored");
	store_rcpt_clear(&r);
	got = read_all(p);
	TEST_IS_STR(got, "Old\nSpam.X\n", "version 1 subscriptions: '.' names");
	free(got);
	free(p);
}

static void test_refused(struct store *store)
{
	static const char *const folders[] = {
		"..", "../x", "a/../b", ".hidden", "/Spam", "Spam/", "a//b",
		"a.b", "x\ny", "~x", "bad\xff", "a*",
	};
	struct store_rcpt r;
	char *p;
	size_t i;

	p = path_of("example.org/%s", "dave");
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		deliver1(store, "dave@example.org", folders[i], &r);
		TEST_IS_INT(r.kind, ERR_PERMANENT, "unsafe folder #%zu refused", i);
		TEST_LIKE(r.error, "folder", "unsafe folder #%zu: reason", i);
		TEST_IS_STR(r.location, NULL, "unsafe folder #%zu: no location", i);
		store_rcpt_clear(&r);
	}
	TEST_OK(!exists(p), "nothing written for dave");
	free(p);

	/* an address without a domain leaves %d empty: refused */
	{
		static struct store_message msg = { body, sizeof(body) - 1 };
		struct store_envelope env = { "", "t3", 0 };

		rcpt_init(&r, "eve", NULL, NULL, &msg);
		store_deliver(store, &env, &r, 1);
		TEST_IS_INT(r.kind, ERR_PERMANENT, "no domain for %%d: refused");
		TEST_LIKE(r.error, "unsafe Maildir path", "no domain: reason");
		store_rcpt_clear(&r);
		p = path_of("%s", "eve");
		TEST_OK(!exists(p), "nothing written for eve");
		free(p);

		rcpt_init(&r, "../etc@example.org", NULL, NULL, &msg);
		store_deliver(store, &env, &r, 1);
		TEST_IS_INT(r.kind, ERR_PERMANENT, "\"../etc\" refused");
		store_rcpt_clear(&r);

		env.sender = "evil\n@example.net";
		rcpt_init(&r, "frank@example.org", NULL, NULL, &msg);
		store_deliver(store, &env, &r, 1);
		TEST_IS_INT(r.kind, ERR_PERMANENT, "newline in sender refused");
		store_rcpt_clear(&r);
		p = path_of("example.org/%s", "frank");
		TEST_OK(!exists(p), "nothing written for frank");
		free(p);
	}
}

static void test_failures(void)
{
	struct store *store;
	struct store_rcpt r;
	char *error, *p, *spec;
	FILE *fp;

	/* new/ is a file: the link fails, tmp/ is cleaned, nothing in new/ */
	spec = path_of("%s", "broken/%n");
	p = mystrdup(spec);
	free(spec);
	{
		struct str s = STR_INIT;

		str_printf(&s, "maildir:%s", p);
		spec = str_steal(&s);
	}
	store = store_init(spec, &error);
	TEST_OK(store != NULL, "store for the broken Maildirs");
	free(p);
	p = path_of("%s", "broken");
	mkdir(p, 0700);
	free(p);
	p = path_of("broken/%s", "gina");
	mkdir(p, 0700);
	free(p);
	p = path_of("broken/%s/tmp", "gina");
	mkdir(p, 0700);
	free(p);
	p = path_of("broken/%s/cur", "gina");
	mkdir(p, 0700);
	free(p);
	p = path_of("broken/%s/new", "gina");
	fp = fopen(p, "w");
	fclose(fp);
	free(p);
	deliver1(store, "gina@example.org", NULL, &r);
	TEST_IS_INT(r.kind, ERR_TEMPORARY, "new/ is a file: temporary failure");
	TEST_LIKE(r.error, "new", "new/ is a file: reason names new");
	TEST_IS_STR(r.location, NULL, "new/ is a file: no location");
	store_rcpt_clear(&r);
	p = path_of("broken/%s/tmp", "gina");
	TEST_IS_INT(count_entries(p), 0, "new/ is a file: tmp/ cleaned up");
	free(p);
	p = path_of("broken/%s/new", "gina");
	{
		struct stat st;

		TEST_OK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0,
			"new/ is a file: the file is untouched");
	}
	free(p);

	/* new/ on another filesystem: the file is written to tmp/, the link
	   into new/ fails (EXDEV); tmp/ must be cleaned, new/ stay empty */
	{
		char other[] = "/dev/shm/st-3001-XXXXXX";
		struct stat st1, st2;

		if (stat("/dev/shm", &st1) == 0 && stat(base, &st2) == 0 &&
		    st1.st_dev != st2.st_dev && mkdtemp(other) != NULL) {
			p = path_of("broken/%s", "lena");
			mkdir(p, 0700);
			free(p);
			p = path_of("broken/%s/tmp", "lena");
			mkdir(p, 0700);
			free(p);
			p = path_of("broken/%s/new", "lena");
			TEST_IS_INT(symlink(other, p), 0,
				    "lena's new/ is on another filesystem");
			free(p);
			deliver1(store, "lena@example.org", NULL, &r);
			TEST_IS_INT(r.kind, ERR_TEMPORARY,
				    "link into new/ fails: temporary failure");
			TEST_LIKE(r.error, "link to", "link fails: reason");
			TEST_IS_STR(r.location, NULL, "link fails: no location");
			store_rcpt_clear(&r);
			p = path_of("broken/%s/tmp", "lena");
			TEST_IS_INT(count_entries(p), 0,
				    "link fails: tmp/ cleaned up");
			free(p);
			TEST_IS_INT(count_entries(other), 0,
				    "link fails: nothing in new/");
			rm_rf(other);
		} else {
			TEST_OK(0, "a second file system at /dev/shm for the cross-device link test");
		}
	}

	/* tmp/ is missing and cannot be made: a file named tmp */
	p = path_of("broken/%s", "hank");
	mkdir(p, 0700);
	free(p);
	p = path_of("broken/%s/tmp", "hank");
	fp = fopen(p, "w");
	fclose(fp);
	free(p);
	deliver1(store, "hank@example.org", NULL, &r);
	TEST_IS_INT(r.kind, ERR_TEMPORARY, "tmp is a file: temporary failure");
	TEST_LIKE(r.error, "tmp", "tmp is a file: reason");
	store_rcpt_clear(&r);
	p = path_of("broken/%s/new", "hank");
	TEST_IS_INT(count_entries(p), 0, "tmp is a file: nothing in new/");
	free(p);
	store_deinit(&store);
	free(spec);

	/* the Maildir would be under a regular file */
	p = path_of("%s", "plainfile");
	fp = fopen(p, "w");
	fclose(fp);
	free(p);
	{
		struct str s = STR_INIT;

		str_printf(&s, "maildir:%s/plainfile/%%n", base);
		spec = str_steal(&s);
	}
	store = store_init(spec, &error);
	TEST_OK(store != NULL, "store under a file");
	deliver1(store, "ivan@example.org", NULL, &r);
	TEST_IS_INT(r.kind, ERR_TEMPORARY, "Maildir under a file: temporary");
	TEST_LIKE(r.error, "Not a directory", "Maildir under a file: reason");
	store_rcpt_clear(&r);
	store_deinit(&store);
	free(spec);

	/* the same with a missing parent: made on the way */
	{
		struct str s = STR_INIT;

		str_printf(&s, "maildir:%s/deep/er/%%d/%%n", base);
		spec = str_steal(&s);
	}
	store = store_init(spec, &error);
	deliver1(store, "judy@example.org", NULL, &r);
	TEST_IS_INT(r.kind, ERR_NONE, "missing parents are made");
	p = path_of("deep/er/example.org/%s/new", "judy");
	TEST_IS_INT(count_entries(p), 1, "and the message is in new/");
	free(p);
	p = path_of("%s", "deep");
	TEST_IS_INT(mode_of(p), 0750, "parents get mail_dir_mode");
	free(p);
	store_rcpt_clear(&r);
	store_deinit(&store);
	free(spec);
}

static void test_group(void)
{
	/* root may give files any group: "nogroup"; anyone else a group
	   of their own, which the store must set all the same */
	struct group *gr = getuid() == 0 ? getgrnam("nogroup") : getgrgid(getgid());
	struct str group_setting = STR_INIT;
	char *overrides[] = { NULL, "mail_mode=0640", "mail_dir_mode=0750" };
	struct store *store;
	struct store_rcpt r;
	struct stat st;
	char *error, *spec;

	if (gr == NULL) {
		TEST_OK(0, "a group to test mail_group with (nogroup, or the user's own)");
		return;
	}
	str_printf(&group_setting, "mail_group=%s", gr->gr_name);
	overrides[0] = group_setting.s;
	if (config_load(NULL, overrides, 3, &error) < 0) {
		printf("# config: %s\n", error);
		exit(1);
	}
	{
		struct str s = STR_INIT;

		str_printf(&s, "maildir:%s/grp/%%n", base);
		spec = str_steal(&s);
	}
	store = store_init(spec, &error);
	{
		TEST_OK(store != NULL, "mail_group=%s accepted", gr->gr_name);
		deliver1(store, "kim@example.org", "Spam", &r);
		TEST_IS_INT(r.kind, ERR_NONE, "mail_group: stored");
		TEST_OK(r.location && stat(r.location, &st) == 0 &&
			st.st_gid == gr->gr_gid, "mail_group: file group");
		store_rcpt_clear(&r);
		{
			char *p = path_of("grp/%s/.Spam", "kim");

			TEST_OK(stat(p, &st) == 0 && st.st_gid == gr->gr_gid,
				"mail_group: folder group");
			free(p);
		}
	}
	store_deinit(&store);
	free(spec);
	str_deinit(&group_setting);

	overrides[0] = "mail_group=no-such-group-here";
	if (config_load(NULL, overrides, 1, &error) < 0) {
		printf("# config: %s\n", error);
		exit(1);
	}
	store = store_init("maildir:/tmp/x/%u", &error);
	TEST_OK(store == NULL, "unknown mail_group refused");
	TEST_LIKE(error, "no such group", "unknown mail_group: reason");
	free(error);
}

int main(void)
{
	char *overrides[] = { "mail_mode=0640", "mail_dir_mode=0750",
			      "myhostname=host/with:odd", "maildir_fsync=yes" };
	struct store *store;
	char *error, *spec;

	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	if (config_load(NULL, overrides, 4, &error) < 0) {
		printf("# config: %s\n", error);
		return 1;
	}
	test_specs();
	{
		struct str s = STR_INIT;

		str_printf(&s, "maildir:%s/%%d/%%n", base);
		spec = str_steal(&s);
	}
	store = store_init(spec, &error);
	TEST_OK(store != NULL, "store %s", spec);
	if (store == NULL) {
		printf("#   %s\n", error);
		return test_done();
	}
	test_inbox(store);
	test_folders(store);
	test_refused(store);
	store_deinit(&store);
	free(spec);
	test_failures();
	test_group();
	config_deinit();
	if (!getenv("SPAMTRAP_KEEP"))
		rm_rf(base);
	return test_done();
}
