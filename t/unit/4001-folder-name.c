/*
 * 4001-folder-name - modified UTF-7 (RFC 3501 5.1.3) and folder names.
 */
#include <string.h>

#include "folder_name.h"
#include "str.h"
#include "test-lib.h"

/* both directions: UTF-8 <-> modified UTF-7 */
static const struct {
	const char *utf8, *mutf7;
} round_trip[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "Spam", "Spam" },
	{ "My Folder", "My Folder" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	/* RFC 3501 examples */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xe2\x98\xba!", "&Jjo-!" },
	{ "Hi Mom -\xe2\x98\xba-!", "Hi Mom -&Jjo--!" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\xc3\x9c" "bersicht", "&ANw-bersicht" },
	/* one run for adjacent non-ASCII characters */
	{ "\xe5\x8f\xb0\xe5\x8c\x97\xe6\x97\xa5", "&U,BTF2Xl-" },
	/* outside the BMP: a surrogate pair */
	{ "\xf0\x9d\x84\x9e", "&2DTdHg-" },
	{ "x\xf0\x9d\x84\x9ey", "x&2DTdHg-y" },
	/* a control character is encoded too (folder_name_check refuses it) */
	{ "a\tb", "a&AAk-b" },
};

/* modified UTF-7 that must be refused, with part of the reason */
static const struct {
	const char *mutf7, *error;
} bad_mutf7[] = {
	{ "&", "unterminated" },
	{ "&Jjo", "unterminated" },
	{ "a&ZeVnLIqe", "unterminated" },
	{ "&AGE-", "printable ASCII" },		/* 'a' encoded */
	{ "&ACY-", "printable ASCII" },		/* '&' encoded */
	{ "&AAA-", "NUL" },
	{ "&U,BTFw-&ZeVnLIqe-", "adjacent" },
	{ "&Jj!-", "bad base64 character" },
	{ "&Jj/-", "bad base64 character" },	/* '/' is ',' in IMAP */
	{ "&Jjp-", "padding" },			/* padding bits not zero */
	{ "&Jg-", "padding" },			/* too short for a unit */
	{ "&Jjo=-", "bad base64 character" },
	{ "&2DQ-", "surrogate" },		/* high surrogate alone */
	{ "&3R4-", "surrogate" },		/* low surrogate alone */
	{ "&2DTYNA-", "surrogate" },		/* high followed by high */
	{ "Entw\xc3\xbcrfe", "8-bit" },
	{ "a\tb", "control" },
};

static const struct {
	const char *utf8;
} bad_utf8[] = {
	{ "\xff" }, { "a\xc3" }, { "\xc0\xaf" }, { "\xe0\x80\xaf" },
	{ "\xed\xa0\x80" }, { "\xf4\x90\x80\x80" }, { "\x80" },
};

/* folder names and their Maildir++ directory names */
static const struct {
	const char *name, *dir;
} good_folders[] = {
	{ "Spam", ".Spam" },
	{ "Spam/One-Shot", ".Spam.One-Shot" },
	{ "Spam/\xc3\x9c" "bersicht", ".Spam.&ANw-bersicht" },
	{ "My Folder", ".My Folder" },
	{ "a&b", ".a&-b" },
	{ "INBOX/Sub", ".INBOX.Sub" },
	{ "x~", ".x~" },
};

static const struct {
	const char *name, *error;
} bad_folders[] = {
	{ "", "empty folder name" },
	{ "..", "starts with '.'" },
	{ ".", "starts with '.'" },
	{ "../x", "starts with '.'" },
	{ "a/../b", "starts with '.'" },
	{ ".hidden", "starts with '.'" },
	{ "Spam/.x", "starts with '.'" },
	{ "/Spam", "empty folder level" },
	{ "Spam/", "empty folder level" },
	{ "a//b", "empty folder level" },
	{ "/", "empty folder level" },
	{ "a.b", "'.' in a folder level" },
	{ "Spam/v1.2", "'.' in a folder level" },
	{ "~x", "starts with '~'" },
	{ "a\nb", "control character" },
	{ "a\tb", "control character" },
	{ "a\x7f", "control character" },
	{ "a\xc2\x85", "control character" },	/* U+0085, C1 */
	{ "bad\xff", "not valid UTF-8" },
	{ "a*", "wildcard" },
	{ "50%", "wildcard" },
};

int main(void)
{
	struct str out = STR_INIT;
	const char *error;
	char longname[400];
	size_t i;

	for (i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++) {
		const char *u = round_trip[i].utf8, *m = round_trip[i].mutf7;

		str_clear(&out);
		TEST_IS_INT(folder_name_utf8_to_mutf7(u, strlen(u), &out, &error),
			    0, "encode %s", m);
		TEST_IS_STR(str_c(&out), m, "encode #%zu: result", i);
		str_clear(&out);
		TEST_IS_INT(folder_name_mutf7_to_utf8(m, strlen(m), &out, &error),
			    0, "decode %s", m);
		TEST_IS_STR(str_c(&out), u, "decode #%zu: result", i);
	}
	for (i = 0; i < sizeof(bad_mutf7) / sizeof(bad_mutf7[0]); i++) {
		const char *m = bad_mutf7[i].mutf7;

		str_clear(&out);
		error = NULL;
		TEST_IS_INT(folder_name_mutf7_to_utf8(m, strlen(m), &out, &error),
			    -1, "decode refuses \"%s\"", m);
		TEST_LIKE(error, bad_mutf7[i].error, "decode \"%s\": reason", m);
	}
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		const char *u = bad_utf8[i].utf8;

		str_clear(&out);
		error = NULL;
		TEST_IS_INT(folder_name_utf8_to_mutf7(u, strlen(u), &out, &error),
			    -1, "encode refuses bad UTF-8 #%zu", i);
		TEST_LIKE(error, "UTF-8", "encode bad UTF-8 #%zu: reason", i);
	}

	for (i = 0; i < sizeof(good_folders) / sizeof(good_folders[0]); i++) {
		str_clear(&out);
		TEST_IS_INT(folder_name_check(good_folders[i].name, &error), 0,
			    "folder \"%s\" accepted", good_folders[i].name);
		TEST_IS_INT(folder_name_maildir(good_folders[i].name, &out,
						&error), 0,
			    "folder \"%s\": Maildir++ name", good_folders[i].name);
		TEST_IS_STR(str_c(&out), good_folders[i].dir,
			    "folder \"%s\": directory", good_folders[i].name);
	}
	for (i = 0; i < sizeof(bad_folders) / sizeof(bad_folders[0]); i++) {
		str_clear(&out);
		str_appends(&out, "keep");
		error = NULL;
		TEST_IS_INT(folder_name_maildir(bad_folders[i].name, &out,
						&error), -1,
			    "folder \"%s\" refused", bad_folders[i].name);
		TEST_LIKE(error, bad_folders[i].error, "folder \"%s\": reason",
			  bad_folders[i].name);
		TEST_IS_STR(str_c(&out), "keep",
			    "folder \"%s\": output untouched", bad_folders[i].name);
	}
	/* a level that fits in UTF-8 but not in a directory entry */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	TEST_IS_INT(folder_name_check(longname, &error), -1, "400-byte name refused");
	TEST_LIKE(error, "too long", "400-byte name: reason");
	longname[254] = '\0';
	TEST_IS_INT(folder_name_check(longname, &error), 0,
		    "254-byte name fits (\".\" + 254 = 255)");
	longname[254] = 'x';
	longname[255] = '\0';
	TEST_IS_INT(folder_name_check(longname, &error), -1,
		    "255-byte name does not");

	TEST_OK(folder_name_is_inbox(NULL), "NULL is the inbox");
	TEST_OK(folder_name_is_inbox(""), "\"\" is the inbox");
	TEST_OK(folder_name_is_inbox("inbox"), "\"inbox\" is the inbox");
	TEST_OK(!folder_name_is_inbox("INBOX/Sub"), "\"INBOX/Sub\" is not");
	TEST_OK(!folder_name_is_inbox("Spam"), "\"Spam\" is not");
	str_deinit(&out);
	return test_done();
}
