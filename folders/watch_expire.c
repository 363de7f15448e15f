/*
 * watch_expire - expire held mail.  See watch_expire.h.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "params.h"
#include "quarantine_action.h"
#include "quarantine_mailbox.h"
#include "qstore_watch.h"
#include "watch_expire.h"

#define WE_BATCH	100

/* expire one; 1 done, 0 skipped (could not remove the message) */
static int expire_one(struct qstore *qs, const struct qstore_incident *inc,
		      long days)
{
	enum qstore_verdict_result vr;
	struct str note = STR_INIT;
	char *error = NULL;
	int r;

	r = quarantine_mailbox_remove(qs, inc, &error);
	if (r < 0) {
		msg_warn("incident=%s user=%s: not expired: %s", inc->id,
			 inc->user, error);
		free(error);
		return 0;
	}
	str_printf(&note, "expired after %ld days%s", days,
		   r ? ", removed from the folder" : "");
	if (qstore_incident_verdict(qs, inc->id, NULL, QSTORE_SPAM,
				    QSTORE_STATUS_HELD, "expiry",
				    QSTORE_VIA_EXPIRY, str_c(&note), NULL, &vr,
				    &error, NULL) < 0) {
		msg_warn("incident=%s: %s", inc->id, error);
		free(error);
		str_deinit(&note);
		return 0;
	}
	if (vr == QSTORE_VERDICT_CHANGED)
		msg_info("incident=%s user=%s status=spam who=expiry via=expiry "
			 "note=%s", inc->id, inc->user, str_c(&note));
	(void)quarantine_action_set_places(qs, inc->user, inc->id, 0, NULL);
	str_deinit(&note);
	return vr == QSTORE_VERDICT_CHANGED;
}

int watch_expire_run(struct qstore *qs, time_t now)
{
	static const int statuses[] = { QSTORE_PENDING, QSTORE_ONE_SHOT };
	time_t cutoff = now - var_quarantine_retention;
	long days = var_quarantine_retention / 86400;
	int total = 0;
	size_t s;

	for (s = 0; s < 2; s++) {
		struct qstore_query q;
		size_t skipped = 0;

		memset(&q, 0, sizeof(q));
		q.status = statuses[s];
		q.oldest_first = 1;
		q.page_size = WE_BATCH;
		/* expired ones leave the status: page 1 again, past the
		   ones that could not be expired this time */
		for (;;) {
			struct qstore_page page;
			char *error = NULL;
			size_t i, done = 0, old = 0;

			q.page = 1 + skipped / WE_BATCH;
			if (qstore_incident_list(qs, &q, &page, &error, NULL) < 0) {
				msg_warn("expiry: %s", error);
				free(error);
				return -1;
			}
			for (i = skipped % WE_BATCH; i < page.n; i++) {
				if (page.items[i].received >= cutoff)
					break;
				old++;
				if (expire_one(qs, &page.items[i], days))
					done++;
				else
					skipped++;
			}
			total += (int)done;
			qstore_page_deinit(&page);
			if (old == 0 || i < WE_BATCH)
				break;
		}
	}
	return total;
}
