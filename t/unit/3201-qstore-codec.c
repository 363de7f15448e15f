/*
 * qstore record codec: an incident survives encode/decode; every
 * truncation and thousands of random corruptions of a record are
 * refused or decoded without reading outside it (run under ASan by
 * "make asan").
 */
#include <stdlib.h>
#include <string.h>

#include "qstore.h"
#include "qstore_private.h"
#include "test-lib.h"

static void sample(struct qstore_incident *inc)
{
	qstore_incident_init(inc);
	qstore_incident_set(&inc->user, "alice@example.org");
	qstore_incident_set(&inc->subject, "hello");
	inc->received = 1700000000;
	inc->scored = 1;
	inc->score = -0.5;
	inc->status = QSTORE_ONE_SHOT;
	qstore_incident_add_hit(inc, "R1", 2.25, "rule one");
	qstore_incident_add_action(inc, 1700000001, "lmtpd", QSTORE_VIA_LMTP,
				   "held");
}

int main(void)
{
	struct qstore_incident inc, got;
	struct str rec = STR_INIT, bad = STR_INIT;
	size_t len, decoded = 0, refused = 0, malformed = 0;
	int i, ret;

	sample(&inc);
	qstore_incident_encode(&inc, &rec);
	TEST_IS_INT(qstore_incident_decode(rec.s, rec.len, &got), 0,
		    "decode what was encoded");
	TEST_IS_STR(got.user, "alice@example.org", "user");
	TEST_OK(got.score == -0.5, "negative score");
	TEST_IS_INT(got.status, QSTORE_ONE_SHOT, "status");
	TEST_OK(got.n_hits == 1 && got.hits[0].score == 2.25, "hit");
	TEST_OK(got.n_actions == 1 && got.actions[0].when == 1700000001,
		"action");
	qstore_incident_deinit(&got);

	/* a later version's unknown field is skipped */
	str_append(&bad, rec.s, rec.len);
	qrec_put_str(&bad, 200, "from the future");
	TEST_IS_INT(qstore_incident_decode(bad.s, bad.len, &got), 0,
		    "unknown tag skipped");
	qstore_incident_deinit(&got);

	/* wrong magic, wrong version, missing required fields */
	str_clear(&bad);
	str_append(&bad, rec.s, rec.len);
	bad.s[0] = 'X';
	TEST_IS_INT(qstore_incident_decode(bad.s, bad.len, &got), -1,
		    "wrong magic refused");
	bad.s[0] = 'I';
	bad.s[1] = 99;
	TEST_IS_INT(qstore_incident_decode(bad.s, bad.len, &got), -1,
		    "unknown version refused");
	qrec_begin(&bad, 'I');
	qrec_put_str(&bad, 1, "bob@example.org");
	TEST_IS_INT(qstore_incident_decode(bad.s, bad.len, &got), -1,
		    "no date received: refused");

	/* every truncation */
	for (len = 0; len < rec.len; len++) {
		ret = qstore_incident_decode(rec.s, len, &got);
		if (ret == 0) {
			decoded++;
			qstore_incident_deinit(&got);
		} else {
			refused++;
		}
	}
	TEST_IS_INT(decoded + refused, rec.len, "every truncation handled");
	TEST_OK(refused > rec.len / 2, "most truncations refused (%zu of %zu)",
		refused, rec.len);

	/* random corruption */
	srand(7);
	decoded = refused = 0;
	for (i = 0; i < 20000; i++) {
		int flips = 1 + rand() % 4, j;

		str_clear(&bad);
		str_append(&bad, rec.s, rec.len);
		for (j = 0; j < flips; j++)
			bad.s[rand() % bad.len] = (char)(rand() & 0xff);
		if (qstore_incident_decode(bad.s, bad.len, &got) == 0) {
			decoded++;
			if (got.user[0] == '\0' || got.status < QSTORE_PENDING
			    || got.status > QSTORE_NON_SPAM)
				malformed++;
			qstore_incident_deinit(&got);
		} else {
			refused++;
		}
	}
	TEST_IS_INT(decoded + refused, 20000,
		    "20000 corruptions handled (%zu decoded, %zu refused)",
		    decoded, refused);
	TEST_IS_INT(malformed, 0, "what decodes has a user and a valid status");
	qstore_incident_deinit(&inc);
	str_deinit(&rec);
	str_deinit(&bad);
	return test_done();
}
