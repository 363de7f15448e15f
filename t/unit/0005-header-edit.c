/*
 * header_edit: removing fields (folded, wildcards, case), reading a
 * value, tagging the subject, on well-formed and odd messages.
 */
#include <string.h>

#include "header_edit.h"
#include "test-lib.h"

static struct str sb;

static void set(const char *text)
{
	str_clear(&sb);
	str_appends(&sb, text);
}

int main(void)
{
	struct str v = STR_INIT;

	str_init(&sb, 64);
	set("A: 1\nB: 2\n\nbody\nC: 3\n");
	TEST_IS_INT(header_edit_block_len(sb.s, sb.len), 10, "block ends at the empty line");
	set("\nbody");
	TEST_IS_INT(header_edit_block_len(sb.s, sb.len), 0, "empty header block");
	set("not a header line\n\nbody");
	TEST_IS_INT(header_edit_block_len(sb.s, sb.len), 0, "garbage first line: no block");
	set("A: 1\nthis is body without a blank line\n");
	TEST_IS_INT(header_edit_block_len(sb.s, sb.len), 5, "block ends at a non-header line");

	set("X-Spamtrap-Id: forged\nSubject: hi\nx-spamtrap-other: a\n\tfolded\nTo: b\n\n"
	    "X-Spamtrap-Id: in body\n");
	TEST_IS_INT(header_edit_remove(&sb, "X-Spamtrap-*"), 2, "wildcard removes two fields");
	TEST_IS_STR(sb.s, "Subject: hi\nTo: b\n\nX-Spamtrap-Id: in body\n",
		    "folded lines go too, the body is untouched");
	TEST_IS_INT(header_edit_remove(&sb, "subject"), 1, "case-insensitive name");
	TEST_IS_STR(sb.s, "To: b\n\nX-Spamtrap-Id: in body\n", "subject removed");
	TEST_IS_INT(header_edit_remove(&sb, "To-"), 0, "no partial name match");

	set("Subject: =?UTF-8?Q?caf=C3=A9?=\n  more\nTo: x\n\nb");
	TEST_IS_INT(header_edit_get(sb.s, sb.len, "SUBJECT", &v), 1, "get finds the field");
	TEST_IS_STR(v.s, "=?UTF-8?Q?caf=C3=A9?=  more", "value unfolded and trimmed, raw");
	TEST_IS_INT(header_edit_get(sb.s, sb.len, "From", &v), 0, "absent field");

	header_edit_tag_subject(&sb, "[Spam:** SpamScore]");
	TEST_IS_STR(sb.s, "Subject: [Spam:** SpamScore] =?UTF-8?Q?caf=C3=A9?=\n  more\nTo: x\n\nb",
		    "tag before the first subject's value");
	set("Subject:\nTo: x\n\nb");
	header_edit_tag_subject(&sb, "[T]");
	TEST_IS_STR(sb.s, "Subject: [T]\nTo: x\n\nb", "empty subject gets the tag");
	set("Subject:hi\n\nb");
	header_edit_tag_subject(&sb, "[T]");
	TEST_IS_STR(sb.s, "Subject: [T] hi\n\nb", "subject without a space");
	set("To: x\n\nb");
	header_edit_tag_subject(&sb, "[T]");
	TEST_IS_STR(sb.s, "To: x\nSubject: [T]\n\nb", "no subject: one is added");
	set("no header at all\n");
	header_edit_tag_subject(&sb, "[T]");
	TEST_IS_STR(sb.s, "Subject: [T]\nno header at all\n", "headerless message");
	set("To: x");
	header_edit_tag_subject(&sb, "[T]");
	TEST_IS_STR(sb.s, "To: x\nSubject: [T]\n", "header without a final LF");

	set("Subject: a\n\nb");
	header_edit_prepend(&sb, "X-Spam-Score: 5.0\n");
	TEST_IS_STR(sb.s, "X-Spam-Score: 5.0\nSubject: a\n\nb", "prepend");
	str_deinit(&sb);
	str_deinit(&v);
	return test_done();
}
