/*
 * policy - the delivery decision (see policy.h for the order).
 */
#include <math.h>
#include <string.h>

#include "policy.h"

long long policy_score_milli(double score)
{
	if (isnan(score))
		return 0;
	if (score > 1e15)
		return (long long)1e18;
	if (score < -1e15)
		return -(long long)1e18;
	/* rounded half away from zero (no libm needed) */
	return (long long)(score * 1000.0 + (score >= 0 ? 0.5 : -0.5));
}

const char *policy_outcome_name(enum policy_outcome outcome)
{
	switch (outcome) {
	case POLICY_NEED_DATA:
		return "need-data";
	case POLICY_NEED_SCORE:
		return "need-score";
	case POLICY_DELIVER:
		return "deliver";
	case POLICY_ALLOW:
		return "allow";
	case POLICY_INBOX:
		return "inbox";
	case POLICY_HOLD:
		return "hold";
	case POLICY_TAG:
		return "tag";
	case POLICY_REJECT:
		return "reject";
	case POLICY_AUTO_REJECT:
		return "auto-reject";
	}
	return "unknown";
}

const char *policy_reason_name(unsigned reason)
{
	switch (reason) {
	case 0:
		return "";
	case POLICY_REJECT_SENDER:
		return "RejectSender";
	case POLICY_REJECT_DOMAIN:
		return "RejectDomain";
	case POLICY_REJECT_RELAY:
		return "RejectRelay";
	case POLICY_REJECT_RBL:
		return "RejectRbl";
	case POLICY_REJECT_SCORE:
		return "AutoReject";
	}
	return qstore_reason_name(reason);
}

static void set(struct policy_result *r, enum policy_outcome outcome,
		unsigned reason)
{
	r->outcome = outcome;
	r->reason = reason;
}

/* a hold, or a tag under tag_only */
static void hold(const struct policy_input *in, struct policy_result *r,
		 unsigned reason)
{
	set(r, in->prefs->tag_only ? POLICY_TAG : POLICY_HOLD, reason);
}

static const unsigned hold_reason[QSTORE_TABLE_KINDS] = {
	QSTORE_REASON_HOLDSENDER, QSTORE_REASON_HOLDDOMAIN,
	QSTORE_REASON_HOLDRELAY,
};
static const unsigned reject_reason[QSTORE_TABLE_KINDS] = {
	POLICY_REJECT_SENDER, POLICY_REJECT_DOMAIN, POLICY_REJECT_RELAY,
};

/* 1 if a table slot decided (r set), 0 to go on */
static int decide_tables(const struct policy_input *in,
			 struct policy_result *r)
{
	int scope, kind;

	if (in->tables == NULL)
		return 0;
	for (scope = QSTORE_SCOPE_USER; scope <= QSTORE_SCOPE_SITE; scope++) {
		for (kind = 0; kind < QSTORE_TABLE_KINDS; kind++) {
			const struct qstore_table_match *m =
				&in->tables->m[scope][kind];

			if (kind == QSTORE_TABLE_RELAY && !in->relay_known) {
				/* an unknown relay entry could decide here */
				set(r, POLICY_NEED_DATA, 0);
				return 1;
			}
			if (!m->found)
				continue;
			r->scope = scope;
			r->kind = kind;
			r->match = m;
			switch (m->action) {
			case QSTORE_ACT_REJECT:
				set(r, POLICY_REJECT, reject_reason[kind]);
				return 1;
			case QSTORE_ACT_ALLOW:
				set(r, POLICY_ALLOW, 0);
				return 1;
			case QSTORE_ACT_HOLD:
				hold(in, r, hold_reason[kind]);
				return 1;
			case QSTORE_ACT_DEFAULT:
			case QSTORE_ACT_NONE:
				/* "hold if it looks like spam": score it */
				return 0;
			}
			return 0;
		}
	}
	return 0;
}

void policy_decide(const struct policy_input *in, struct policy_result *r)
{
	const struct qstore_prefs *p = in->prefs;
	long long score, threshold, reject;

	memset(r, 0, sizeof(*r));
	r->scope = r->kind = -1;
	/* 1. opt-out: nothing else is looked at */
	if (p->opt_out) {
		set(r, POLICY_DELIVER, 0);
		return;
	}
	/* 2. tables */
	if (decide_tables(in, r))
		return;
	/* 3. real-time lists */
	if (in->rbl_checked && p->rbl_reject && in->rbl_reject_listed) {
		set(r, POLICY_REJECT, POLICY_REJECT_RBL);
		return;
	}
	if (in->rbl_checked && p->rbl_hold && in->rbl_hold_listed) {
		hold(in, r, QSTORE_REASON_HOLDRBL);
		return;
	}
	/* 4. score */
	if (!in->scored) {
		set(r, in->relay_known ? POLICY_NEED_SCORE : POLICY_NEED_DATA,
		    0);
		return;
	}
	score = policy_score_milli(in->score);
	threshold = policy_score_milli(p->spam_threshold);
	reject = policy_score_milli(p->auto_reject_threshold);
	if (score > reject)
		set(r, POLICY_AUTO_REJECT, POLICY_REJECT_SCORE);
	else if (score >= threshold)
		hold(in, r, QSTORE_REASON_SPAMSCORE);
	else
		set(r, POLICY_INBOX, 0);
}

void policy_tag_expand(const char *tmpl, double score, const char *reason,
		       struct str *out)
{
	const char *p;
	long long stars, i;

	for (p = tmpl; *p; p++) {
		if (*p != '%' || p[1] == '\0') {
			str_appendc(out, *p);
			continue;
		}
		switch (*++p) {
		case '*':
			stars = score >= 1 ? policy_score_milli(score) / 1000 : 0;
			if (stars > POLICY_MAX_STARS)
				stars = POLICY_MAX_STARS;
			for (i = 0; i < stars; i++)
				str_appendc(out, '*');
			break;
		case '?':
			str_appends(out, reason != NULL ? reason : "");
			break;
		case 'd':
			str_printf(out, "%.1f",
				   (double)policy_score_milli(score) / 1000.0);
			break;
		case '%':
			str_appendc(out, '%');
			break;
		default:
			str_appendc(out, '%');
			str_appendc(out, *p);
			break;
		}
	}
}

void policy_tag_subject(const char *tmpl, double score, const char *reason,
			const char *subject, struct str *out)
{
	str_clear(out);
	policy_tag_expand(tmpl, score, reason, out);
	if (subject != NULL && subject[0] != '\0') {
		str_appendc(out, ' ');
		str_appends(out, subject);
	}
}
