/*
 * policy - what to do with a message for one recipient: a pure function
 * of (preferences, table matches, score, RBL results), with no I/O, so
 * the LMTP server and a later SMTP-time companion share it.
 *
 * The order (each step decides or passes on):
 *  1. opt_out                  -> POLICY_DELIVER (INBOX untouched, no scan)
 *  2. tables, first slot with an entry decides:
 *	user sender, user domain, user relay,
 *	site sender, site domain, site relay
 *	(within a table the most specific entry, see qstore_table_lookup;
 *	a user entry, even "default", hides every site entry)
 *	reject  -> POLICY_REJECT (reason RejectSender/Domain/Relay)
 *	allow   -> POLICY_ALLOW (deliver without scoring)
 *	hold    -> POLICY_HOLD with HoldSender/HoldDomain/HoldRelay,
 *		   whatever the score (POLICY_TAG with tag_only)
 *	default -> go on to 3
 *  3. RBL (when enabled in prefs and listed): reject list ->
 *     POLICY_REJECT (RejectRbl); hold list -> POLICY_HOLD (HoldRbl)
 *  4. score: score > auto_reject_threshold -> POLICY_AUTO_REJECT (no
 *     record); score >= spam_threshold -> POLICY_HOLD SpamScore, or
 *     POLICY_TAG with tag_only; else POLICY_INBOX.
 * tag_only turns every hold into a tag with the same reason; rejects
 * and auto-reject still apply.  Scores are compared in thousandths
 * (rounded), so 4.999999 from summed rule scores counts as 5.
 *
 * Before DATA the relay and the score may be unknown: then the result
 * is POLICY_NEED_DATA (relay unknown and no user sender/domain entry
 * decided) or POLICY_NEED_SCORE (nothing decided but the score).
 * Reject-at-RCPT is therefore possible for user sender/domain entries,
 * and for site entries once the relay is known.  (A caller that wants
 * site rejects at RCPT anyway may look the tables up without a relay
 * and pass relay_known = 1: relay entries then take no part.)
 */
#ifndef SPAMTRAP_POLICY_H
#define SPAMTRAP_POLICY_H

#include "qstore.h"
#include "str.h"

enum policy_outcome {
	POLICY_NEED_DATA = 0,	/* call again when the relay is known */
	POLICY_NEED_SCORE,	/* call again with the score */
	POLICY_DELIVER,		/* opt-out: INBOX, untouched, no scan */
	POLICY_ALLOW,		/* allow entry: INBOX, not scored */
	POLICY_INBOX,		/* scored below the threshold */
	POLICY_HOLD,		/* quarantine folder + incident */
	POLICY_TAG,		/* tag_only: subject tagged, INBOX, incident */
	POLICY_REJECT,		/* table or RBL reject */
	POLICY_AUTO_REJECT,	/* score > auto_reject_threshold, no record */
};

/* why: for HOLD and TAG a QSTORE_REASON_* bit; for rejects these */
#define POLICY_REJECT_SENDER	(1u << 8)
#define POLICY_REJECT_DOMAIN	(1u << 9)
#define POLICY_REJECT_RELAY	(1u << 10)
#define POLICY_REJECT_RBL	(1u << 11)
#define POLICY_REJECT_SCORE	(1u << 12)

struct policy_input {
	const struct qstore_prefs *prefs;	/* required */
	const struct qstore_table_matches *tables; /* NULL: no entries */
	int relay_known;	/* 0 before DATA: relay slots undecided */
	int scored;		/* 0: no score yet */
	double score;
	int rbl_checked;	/* 0: no RBL results (treated as unlisted) */
	int rbl_hold_listed, rbl_reject_listed;
};

struct policy_result {
	enum policy_outcome outcome;
	unsigned reason;	/* QSTORE_REASON_* or POLICY_REJECT_* */
	/* the table entry that decided, or scope/kind -1 */
	int scope, kind;
	const struct qstore_table_match *match;
};

void policy_decide(const struct policy_input *in,
		   struct policy_result *result_r);

/* "deliver", "allow", "inbox", "hold", "tag", "reject", "auto-reject",
   "need-data", "need-score": for the log line */
const char *policy_outcome_name(enum policy_outcome outcome);
/* "SpamScore", "HoldSender", ..., "RejectSender", ..., "" for none */
const char *policy_reason_name(unsigned reason);

/*
 * Expand a tag string: %* a star per unit of the integer part of the
 * score (none when below 1; at most POLICY_MAX_STARS), %? the reason
 * name, %d the score with one decimal, %% a percent sign.  Anything else
 * is copied as is.  Appends to OUT.
 */
#define POLICY_MAX_STARS	50
void policy_tag_expand(const char *tmpl, double score, const char *reason,
		       struct str *out);
/* OUT = expansion + " " + SUBJECT (just the expansion if no subject) */
void policy_tag_subject(const char *tmpl, double score, const char *reason,
			const char *subject, struct str *out);

/* score in thousandths, rounded, as policy compares them */
long long policy_score_milli(double score);

#endif
