/*
 * rule_result - a score's presentation: mail header values and JSON.
 */
#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "str.h"

double rule_score_display(double score)
{
	char buf[64];

	/* as "%.1f" shows it (what SpamAssassin prints), minus the sign of
	   a score that shows as zero */
	snprintf(buf, sizeof(buf), "%.1f", score);
	return strcmp(buf, "-0.0") == 0 ? 0.0 : score;
}

void rule_result_headers(const struct rule_result *res, struct str *score,
			 struct str *status, struct str *report)
{
	size_t i;

	if (score != NULL) {
		str_clear(score);
		str_printf(score, "%.1f", rule_score_display(res->score));
	}
	if (status != NULL) {
		str_clear(status);
		str_printf(status, "%s, score=%.1f required=%.1f tests=",
			   res->score >= res->required ? "Yes" : "No",
			   rule_score_display(res->score), res->required);
		for (i = 0; i < res->n_hits; i++)
			str_printf(status, "%s%s", i ? "," : "",
				   res->hits[i].rule);
		if (res->n_hits == 0)
			str_appends(status, "none");
		if (res->timed_out)
			str_appends(status, " timeout=yes");
	}
	if (report != NULL) {
		str_clear(report);
		for (i = 0; i < res->n_hits; i++) {
			const struct rule_hit *h = &res->hits[i];
			const char *d;

			if (i > 0)
				str_appends(report, "\n\t");
			str_printf(report, "* %4.1f %s", h->score, h->rule);
			if (h->description[0] != '\0') {
				str_appendc(report, ' ');
				/* one line: no control characters */
				for (d = h->description; *d; d++)
					str_appendc(report,
						    (unsigned char)*d < 0x20 ? ' '
									  : *d);
			}
		}
	}
}

static void json_string(struct str *out, const char *s)
{
	str_appendc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			str_printf(out, "\\%c", c);
		else if (c < 0x20)
			str_printf(out, "\\u%04x", c);
		else
			str_appendc(out, (char)c);
	}
	str_appendc(out, '"');
}

/* a number as JSON: shortest of %.3f without trailing zeros */
static void json_number(struct str *out, double d)
{
	char buf[64];
	size_t l;

	snprintf(buf, sizeof(buf), "%.3f", d);
	l = strlen(buf);
	while (l > 0 && buf[l - 1] == '0')
		buf[--l] = '\0';
	if (l > 0 && buf[l - 1] == '.')
		buf[--l] = '\0';
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	str_appends(out, buf);
}

void rule_result_json(const struct rule_result *res, const char *file,
		      struct str *out)
{
	size_t i;

	str_appendc(out, '{');
	if (file != NULL) {
		str_appends(out, "\"file\":");
		json_string(out, file);
		str_appendc(out, ',');
	}
	str_appends(out, "\"score\":");
	json_number(out, res->score);
	str_appends(out, ",\"required\":");
	json_number(out, res->required);
	if (res->timed_out)
		str_appends(out, ",\"timed_out\":true");
	str_appends(out, ",\"hits\":[");
	for (i = 0; i < res->n_hits; i++) {
		const struct rule_hit *h = &res->hits[i];

		if (i > 0)
			str_appendc(out, ',');
		str_appends(out, "{\"rule\":");
		json_string(out, h->rule);
		str_appends(out, ",\"score\":");
		json_number(out, h->score);
		if (h->count > 1)
			str_printf(out, ",\"count\":%d", h->count);
		str_appends(out, ",\"type\":");
		json_string(out, rule_type_name(h->type));
		str_appends(out, ",\"description\":");
		json_string(out, h->description);
		str_appendc(out, '}');
	}
	str_appends(out, "]}");
}
