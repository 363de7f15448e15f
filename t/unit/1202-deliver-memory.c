/*
 * 1202-deliver-memory - one session delivers many messages and its heap
 * does not grow with their number.
 *
 * The whole delivery path of a session process runs in this process:
 * LMTP session, preferences and tables at RCPT and after DATA (a real
 * database), scoring (a small rule set of every kind), policy, incidents
 * and copies for held and tagged mail, Maildir.  After a warm-up, the
 * bytes malloc has handed out (mallinfo2) must stay where they were: a
 * leak of a few small strings per recipient (qstore_prefs_init() before
 * qstore_prefs_get() did that, about 100 bytes) shows as 200 kilobytes
 * here.  It counts bytes, not time.  Under "make valgrind" mallinfo2()
 * does not see valgrind's malloc and the figure means nothing; valgrind's
 * leak check reports each leaked block instead.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lmtp_deliver.h"
#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "qstore.h"
#include "rules.h"
#include "store.h"
#include "str.h"
#include "test-lib.h"

#define WARM_UP		150	/* messages before the first measure */
#define MEASURED	1000	/* messages between the two measures */
#define SLACK		(16 * 1024)	/* bytes: 16 a message */

static char dir[64];

static const char rules_cf[] =
	"header   T_SUBJ_WIN   Subject =~ /\\bwinner\\b/i\n"
	"score    T_SUBJ_WIN   3.0\n"
	"describe T_SUBJ_WIN   Subject says winner\n"
	"body     T_BODY_CASH  /free cash/i\n"
	"score    T_BODY_CASH  3.0\n"
	"rawbody  T_RAW_LONG   /^[A-Za-z0-9+\\/]{60,}$/\n"
	"score    T_RAW_LONG   0.1\n"
	"uri      T_URI_SPAM   /spam\\.example/\n"
	"score    T_URI_SPAM   2.0\n"
	"full     T_FULL_BULK  /^X-Mailer: bulk/m\n"
	"score    T_FULL_BULK  0.5\n"
	"header   __T_FROM_NET From =~ /\\.net\\b/\n"
	"meta     T_BOTH       (T_SUBJ_WIN && T_BODY_CASH) || __T_FROM_NET\n"
	"score    T_BOTH       1.0\n";

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
		msg_fatal_sys("%s", path);
}

/*
 * Bytes malloc has handed out and not had back, all arenas.  mallinfo2()
 * counts the chunks in the thread's tcache (up to 7 freed chunks of each
 * small size, kept for reuse) as in use, which moves the figure by tens
 * of kilobytes from one call to the next: take them all out first.
 */
static long long heap_in_use(void)
{
	enum { BINS = 64, PER_BIN = 7 };
	static void *grab[BINS * PER_BIN];
	struct mallinfo2 mi;
	size_t i, held = 0;

	for (i = 0; i < BINS * PER_BIN; i++) {
		grab[i] = mymalloc(24 + 16 * (i / PER_BIN));
		held += malloc_usable_size(grab[i]) + sizeof(size_t);
	}
	mi = mallinfo2();
	for (i = 0; i < BINS * PER_BIN; i++)
		free(grab[i]);
	return (long long)(mi.uordblks + mi.hblkhd) - (long long)held;
}

/*
 * Message I: ham and spam, plain and MIME (HTML with links, a base64
 * attachment, encoded words), 40 senders, to two of four users: alice
 * (site defaults), bob (threshold 3), carol (allows every sender),
 * dave (tag only).
 */
static void transaction(struct str *out, int i)
{
	static const char *const second[] = { "bob", "carol", "dave" };
	int spam = i % 3 != 0, mime = i % 2 == 0;

	str_printf(out, "MAIL FROM:<s%d@sender%d.%s>\r\n"
		   "RCPT TO:<alice@example.org>\r\n"
		   "RCPT TO:<%s@example.org>\r\nDATA\r\n",
		   i % 40, i % 7, i % 5 ? "org" : "net", second[i % 3]);
	str_printf(out, "Received: from mx%d.example.com (mx%d.example.com "
		   "[192.0.2.%d])\r\n\tby mx.example.org; Mon, 1 Jan 2024 "
		   "00:00:00 +0000\r\n", i % 9, i % 9, 1 + i % 200);
	str_printf(out, "From: =?UTF-8?B?w4lsaXNl?= <s%d@sender%d.%s>\r\n"
		   "To: alice@example.org\r\nMessage-ID: <%d.t1202@example>\r\n"
		   "Subject: %s %d =?ISO-8859-1?Q?caf=E9?=\r\n%s",
		   i % 40, i % 7, i % 5 ? "org" : "net", i,
		   spam ? "You are a WINNER" : "Minutes of the meeting", i,
		   i % 4 == 1 ? "X-Mailer: bulk 1.0\r\n" : "");
	if (!mime) {
		str_printf(out, "\r\n%s\r\nSee http://www.%s/page%d\r\n",
			   spam ? "Claim your FREE CASH now." : "Attached the notes.",
			   spam ? "spam.example" : "example.org", i);
	} else {
		str_printf(out, "MIME-Version: 1.0\r\nContent-Type: "
			   "multipart/mixed; boundary=\"b%d\"\r\n\r\n"
			   "--b%d\r\nContent-Type: text/html; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			   "<p>%s <a href=3D\"http://%s/x?id=3D%d\">here</a></p>\r\n"
			   "--b%d\r\nContent-Type: application/octet-stream\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n",
			   i, i, spam ? "Free cash for you" : "The agenda",
			   spam ? "spam.example" : "example.org", i, i);
		str_appends(out, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xt"
			    "bm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk=\r\n");
		str_printf(out, "--b%d--\r\n", i);
	}
	str_appends(out, ".\r\n");
}

/* deliver messages FIRST .. FIRST+N-1: how many 4xx and 5xx replies;
   *held_r counts the recipients whose message became an incident */
static int deliver_many(struct lmtp_session *s, int first, int n,
			int *held_r)
{
	struct str in = STR_INIT;
	int i, bad = 0;

	for (i = first; i < first + n; i++) {
		struct str *out = lmtp_session_output(s);
		const char *p;
		size_t len;

		str_clear(&in);
		transaction(&in, i);
		lmtp_session_input(s, in.s, in.len);
		for (p = str_c(out); *p != '\0'; p += len) {
			len = strcspn(p, "\n");
			if (p[0] != '2' && p[0] != '3') {
				if (bad++ == 0)
					printf("# message %d: %.*s\n", i,
					       (int)strcspn(p, "\r\n"), p);
			} else if (memmem(p, len, "incident", 8) != NULL) {
				(*held_r)++;
			}
			if (p[len] == '\n')
				len++;
		}
		str_clear(out);
	}
	str_deinit(&in);
	return bad;
}

static void set_up_users(void)
{
	struct qstore *qs;
	char *error = NULL;

	if ((qs = qstore_open(var_db_dir, &error, NULL)) == NULL)
		msg_fatal("qstore_open: %s", error);
	if (qstore_prefs_set(qs, "bob@example.org", "spam_threshold", "3",
			     &error, NULL) < 0 ||
	    qstore_prefs_set(qs, "dave@example.org", "tag_only", "yes",
			     &error, NULL) < 0 ||
	    qstore_table_set(qs, "carol@example.org", QSTORE_TABLE_DOMAIN,
			     "sender0.org", QSTORE_ACT_ALLOW, "test", "",
			     &error, NULL) < 0)
		msg_fatal("setting up users: %s", error);
	qstore_close(&qs);
}

int main(void)
{
	struct lmtp_session_limits lim = { 4096, 10, 1 << 20, 20, "test" };
	struct lmtp_peer peer = { "127.0.0.1", "localhost" };
	struct rule_set_options opts = RULE_SET_OPTIONS_INIT;
	struct lmtp_deliver d;
	struct lmtp_session *s;
	struct str rules_dir = STR_INIT, path = STR_INIT, opt = STR_INIT;
	struct str cmd = STR_INIT;
	char *overrides[2], *error = NULL;
	const char *dirs[1];
	long long before, after;
	int held = 0, bad, saved_stderr, log_fd;

	msg_init("1202-deliver-memory");
	opts.threads = 2;	/* as lmtpd runs (rules_threads) */
	snprintf(dir, sizeof(dir), "/tmp/st1202-XXXXXX");
	if (mkdtemp(dir) == NULL)
		msg_fatal_sys("mkdtemp");
	str_printf(&opt, "var_dir=%s", dir);
	overrides[0] = str_steal(&opt);
	overrides[1] = mystrdup("maildir_fsync=no");
	if (config_load(NULL, overrides, 2, &error) < 0)
		msg_fatal("%s", error);
	str_printf(&rules_dir, "%s/rules", dir);
	if (mkdir(str_c(&rules_dir), 0700) < 0)
		msg_fatal_sys("mkdir %s", str_c(&rules_dir));
	str_printf(&path, "%s/local.cf", str_c(&rules_dir));
	write_file(str_c(&path), rules_cf);
	set_up_users();

	memset(&d, 0, sizeof(d));
	dirs[0] = str_c(&rules_dir);
	opts.quiet = 1;
	/* make valgrind: valgrind cannot follow PCRE2's JIT code */
	opts.no_jit = getenv("SPAMTRAP_TEST_NO_JIT") != NULL;
	if ((d.rules = rule_set_load(dirs, 1, &opts, NULL, &error)) == NULL)
		msg_fatal("rules: %s", error);
	if ((d.store = store_init(var_store, &error)) == NULL)
		msg_fatal("store: %s", error);
	d.hostname = "test.example";
	d.reject_bounce = 1;	/* RCPT reads preferences and tables too */

	/* one log line per recipient: into a file, not the TAP output */
	str_clear(&path);
	str_printf(&path, "%s/log", dir);
	fflush(stderr);
	saved_stderr = dup(2);
	log_fd = open(str_c(&path), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved_stderr < 0 || log_fd < 0 || dup2(log_fd, 2) < 0)
		msg_fatal_sys("redirecting stderr to %s", str_c(&path));
	close(log_fd);

	s = lmtp_session_init("T1202", &peer, &lim, &lmtp_deliver_callbacks, &d);
	lmtp_session_input(s, "LHLO client.example\r\n", 21);
	str_clear(lmtp_session_output(s));
	bad = deliver_many(s, 0, WARM_UP, &held);
	before = heap_in_use();
	bad += deliver_many(s, WARM_UP, MEASURED, &held);
	after = heap_in_use();
	lmtp_session_deinit(&s);

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);

	TEST_IS_INT(bad, 0, "no 4xx or 5xx reply in %d messages",
		    WARM_UP + MEASURED);
	TEST_OK(held > WARM_UP + MEASURED, "held and tagged copies went "
		"through incidents too (%d of %d recipients)", held,
		2 * (WARM_UP + MEASURED));
	TEST_OK(after <= before + SLACK,
		"heap in use after %d more messages: %lld -> %lld bytes "
		"(%+lld, at most %d)", MEASURED, before, after,
		after - before, SLACK);

	lmtp_deliver_session_end(&d);
	store_deinit(&d.store);
	rule_set_deinit(&d.rules);
	free(overrides[0]);
	free(overrides[1]);
	str_printf(&cmd, "rm -rf '%s'", dir);
	if (getenv("SPAMTRAP_KEEP_TMP") == NULL && system(cmd.s) != 0)
		msg_warn("could not remove %s", dir);
	str_deinit(&cmd);
	str_deinit(&path);
	str_deinit(&rules_dir);
	return test_done();
}
