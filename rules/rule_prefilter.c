/*
 * rule_prefilter - required literals of a regex, and an Aho-Corasick
 * automaton to find them all in one pass (see rule_prefilter.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "mymalloc.h"
#include "rule_prefilter.h"
#include "str.h"

/* ------------------------------------------------- literal extraction */

/* skip a character class starting at P ('['); returns after ']' or NULL */
const char *rule_prefilter_skip_class(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '\\' && p[1])
			p += 2;
		else if (*p == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");

			p = e ? e + 2 : p + 1;
		} else
			p++;
	}
	return *p == ']' ? p + 1 : NULL;
}

/* skip a group starting at P ('('); returns after ')' or NULL */
static const char *skip_group(const char *p)
{
	int depth = 0;

	while (*p) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			if (p[1] == 'Q')
				return NULL;	/* \Q..\E: give up */
			p += 2;
			continue;
		}
		if (*p == '[') {
			p = rule_prefilter_skip_class(p);
			if (p == NULL)
				return NULL;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/*
 * A quantifier at *pp: sets *min_r (1 if none) and advances past it and a
 * lazy/possessive suffix.  Returns 1 if there was one.
 */
static int quantifier(const char **pp, int *min_r)
{
	const char *p = *pp;

	*min_r = 1;
	if (*p == '?' || *p == '*') {
		*min_r = 0;
		p++;
	} else if (*p == '+') {
		p++;
	} else if (*p == '{' && isdigit((unsigned char)p[1])) {
		const char *q = p + 1;
		int m = 0;

		while (isdigit((unsigned char)*q))
			m = m * 10 + (*q++ - '0');
		if (*q == ',') {
			q++;
			while (isdigit((unsigned char)*q))
				q++;
		}
		if (*q != '}')
			return 0;
		*min_r = m;
		p = q + 1;
	} else {
		return 0;
	}
	if (*p == '?' || *p == '+')
		p++;
	*pp = p;
	return 1;
}

/* a requirement: a match contains one of these literals */
struct req {
	char **v;
	size_t n;
	size_t minlen;		/* length of the shortest; 0 if none */
};

#define REQ_MAX_LITERALS	256	/* per rule */
#define REQ_MAX_DEPTH		20	/* group nesting analysed */

static void req_clear(struct req *r)
{
	while (r->n > 0)
		free(r->v[--r->n]);
	free(r->v);
	r->v = NULL;
	r->minlen = 0;
}

static void req_add(struct req *r, const char *s, size_t len)
{
	r->v = myrealloc(r->v, (r->n + 1) * sizeof(char *));
	r->v[r->n++] = mystrndup(s, len);
	if (r->minlen == 0 || len < r->minlen)
		r->minlen = len;
}

/* better: longer shortest literal, then fewer literals */
static int req_better(const struct req *a, const struct req *b)
{
	if (a->n == 0)
		return 0;
	if (b->n == 0)
		return 1;
	if (a->minlen != b->minlen)
		return a->minlen > b->minlen;
	return a->n < b->n;
}

static void req_take(struct req *dst, struct req *src)
{
	req_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

static int alt_requirement(const char *p, const char *end, struct req *out,
			   int depth);

/*
 * The best requirement of one alternative [P, END): its longest mandatory
 * literal run, or a mandatory group whose every alternative has one.
 * Returns -1 when the text cannot be analysed (no requirement then).
 */
static int seq_requirement(const char *p, const char *end, struct req *best,
			   int depth)
{
	struct str run = STR_INIT;
	struct req cand = { NULL, 0, 0 };

	memset(best, 0, sizeof(*best));
	while (p < end) {
		int lit = -1, min, has_q;
		const char *q, *gstart = NULL, *gend = NULL;

		if (*p == '\\') {
			if (p + 1 >= end)
				goto fail;
			if (p[1] == 'Q' || p[1] == 'E')
				goto fail;
			if (!isalnum((unsigned char)p[1]))
				lit = (unsigned char)p[1];
			p += 2;
			/* \x{..}, \p{..}, \N{..}, \g{..}, \k<..> */
			if (lit < 0 && p < end && (*p == '{' || *p == '<')) {
				const char *c = memchr(p, *p == '{' ? '}' : '>',
						       (size_t)(end - p));

				if (c == NULL)
					goto fail;
				p = c + 1;
			} else if (lit < 0 && p[-1] == 'x') {
				int k;

				for (k = 0; k < 2 && p < end &&
				     isxdigit((unsigned char)*p); k++)
					p++;
			} else if (lit < 0 && (p[-1] == 'c' || p[-1] == 'p' ||
					       p[-1] == 'P')) {
				if (p < end)
					p++;	/* \cX, \pL */
			} else if (lit < 0 && isdigit((unsigned char)p[-1])) {
				while (p < end && isdigit((unsigned char)*p))
					p++;	/* \012, \12 */
			}
		} else if (*p == '[') {
			q = rule_prefilter_skip_class(p);
			if (q == NULL || q > end)
				goto fail;
			p = q;
		} else if (*p == '(') {
			q = skip_group(p);
			if (q == NULL || q > end)
				goto fail;
			/* the content of a plain, capturing, named, atomic or
			   option-setting group; not lookarounds */
			gstart = p + 1;
			gend = q - 1;
			if (*gstart == '?') {
				const char *g = gstart + 1;

				if (*g == ':' || *g == '>' || *g == '|') {
					gstart = g + 1;
				} else if (*g == '<' && g[1] != '=' &&
					   g[1] != '!') {
					const char *c = memchr(g, '>',
							       (size_t)(gend - g));

					gstart = c ? c + 1 : NULL;
				} else if (*g == 'P' && g[1] == '<') {
					const char *c = memchr(g, '>',
							       (size_t)(gend - g));

					gstart = c ? c + 1 : NULL;
				} else {
					/* (?i:..), (?i), lookarounds, ... */
					const char *f = g;

					while (f < gend && strchr("imsnJU-^",
								  *f) != NULL)
						f++;
					gstart = f < gend && *f == ':' && f > g
						 ? f + 1 : NULL;
				}
			}
			p = q;
		} else if (*p == '.' || *p == '^' || *p == '$') {
			p++;
		} else if (*p == ')' || *p == '|' || *p == '*' || *p == '+' ||
			   *p == '?' || *p == '{') {
			goto fail;
		} else {
			lit = (unsigned char)*p++;
		}
		has_q = quantifier(&p, &min);
		if (lit >= 0 && min >= 1) {
			str_appendc(&run, (char)tolower(lit));
			if (!has_q)
				continue;
		}
		/* the run ends here */
		if (run.len >= RULE_PREFILTER_MIN_LITERAL) {
			req_clear(&cand);
			req_add(&cand, run.s, run.len);
			if (req_better(&cand, best))
				req_take(best, &cand);
		}
		str_clear(&run);
		/* a mandatory group */
		if (gstart != NULL && min >= 1 && depth < REQ_MAX_DEPTH) {
			req_clear(&cand);
			if (alt_requirement(gstart, gend, &cand, depth + 1) == 0 &&
			    req_better(&cand, best))
				req_take(best, &cand);
		}
	}
	if (run.len >= RULE_PREFILTER_MIN_LITERAL) {
		req_clear(&cand);
		req_add(&cand, run.s, run.len);
		if (req_better(&cand, best))
			req_take(best, &cand);
	}
	req_clear(&cand);
	str_deinit(&run);
	return 0;
fail:
	req_clear(&cand);
	req_clear(best);
	str_deinit(&run);
	return -1;
}

/* every top-level alternative of [P, END) must have a requirement */
static int alt_requirement(const char *p, const char *end, struct req *out,
			   int depth)
{
	const char *start = p;
	int gdepth = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if (p >= end || (*p == '|' && gdepth == 0)) {
			struct req one;
			size_t k;

			if (seq_requirement(start, p, &one, depth) < 0 ||
			    one.n == 0 || out->n + one.n > REQ_MAX_LITERALS) {
				req_clear(&one);
				req_clear(out);
				return -1;
			}
			for (k = 0; k < one.n; k++)
				req_add(out, one.v[k], strlen(one.v[k]));
			req_clear(&one);
			if (p >= end)
				return 0;
			start = ++p;
			continue;
		}
		if (*p == '\\') {
			if (p + 1 >= end) {
				req_clear(out);
				return -1;
			}
			p += 2;
		} else if (*p == '[') {
			p = rule_prefilter_skip_class(p);
			if (p == NULL || p > end) {
				req_clear(out);
				return -1;
			}
		} else {
			if (*p == '(')
				gdepth++;
			else if (*p == ')')
				gdepth--;
			p++;
		}
	}
}

int rule_prefilter_literals(const char *pattern, uint32_t opts,
			    char ***lits_r, size_t *n_r)
{
	const char *p;
	struct req r;

	*lits_r = NULL;
	*n_r = 0;
	if (opts & PCRE2_EXTENDED)
		return 0;
	/* an inline (?x) changes what a literal means */
	for (p = pattern; (p = strstr(p, "(?")) != NULL; p += 2) {
		const char *f = p + 2;

		while (*f && strchr("imnsJU-^", *f) != NULL)
			f++;
		if (*f == 'x')
			return 0;
	}
	if (alt_requirement(pattern, pattern + strlen(pattern), &r, 0) < 0)
		return 0;
	*lits_r = r.v;
	*n_r = r.n;
	return 1;
}

/* ------------------------------------------------------ Aho-Corasick */

struct rule_ac {
	unsigned char cls[256];	/* byte -> class (0: none of the literals') */
	int n_cls;
	int32_t *next;		/* [state * n_cls + cls] */
	int32_t *out;		/* first literal id ending here, or -1 */
	int32_t *out_next;	/* next output state via dictionary links */
	size_t n_states;
};

struct rule_ac *rule_ac_build(char *const *lits, size_t n)
{
	struct rule_ac *ac = mycalloc(1, sizeof(*ac));
	size_t i, total = 1, cap;
	int32_t *fail, *queue;
	size_t head = 0, tail = 0;
	int c;

	/* byte classes, ASCII letters folded */
	ac->n_cls = 1;
	for (i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)lits[i];

		total += strlen(lits[i]);
		for (; *s; s++)
			if (ac->cls[*s] == 0)
				ac->cls[*s] = (unsigned char)ac->n_cls++;
	}
	for (c = 'A'; c <= 'Z'; c++)
		ac->cls[c] = ac->cls[c + 'a' - 'A'];
	cap = total;
	ac->next = mycalloc(cap * (size_t)ac->n_cls, sizeof(int32_t));
	ac->out = mymalloc(cap * sizeof(int32_t));
	ac->out_next = mymalloc(cap * sizeof(int32_t));
	ac->out[0] = -1;
	ac->out_next[0] = -1;
	ac->n_states = 1;
	/* the trie; 0 in next[] means "no edge" until completed */
	for (i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)lits[i];
		int32_t st = 0;

		for (; *s; s++) {
			int32_t *e = &ac->next[st * ac->n_cls + ac->cls[*s]];

			if (*e == 0) {
				*e = (int32_t)ac->n_states;
				ac->out[ac->n_states] = -1;
				ac->out_next[ac->n_states] = -1;
				ac->n_states++;
			}
			st = *e;
		}
		if (ac->out[st] < 0)
			ac->out[st] = (int32_t)i;
	}
	/* duplicates: later ids with the same literal share the state; the
	   caller dedupes, so one id per state is enough */
	fail = mycalloc(ac->n_states, sizeof(int32_t));
	queue = mymalloc(ac->n_states * sizeof(int32_t));
	for (c = 0; c < ac->n_cls; c++) {
		int32_t s = ac->next[c];

		if (s != 0) {
			fail[s] = 0;
			queue[tail++] = s;
		}
	}
	while (head < tail) {
		int32_t r = queue[head++];

		/* dictionary link: the nearest output state on the fail chain */
		{
			int32_t f = fail[r];

			while (f != 0 && ac->out[f] < 0)
				f = fail[f];
			ac->out_next[r] = f != 0 && ac->out[f] >= 0 ? f : -1;
		}
		for (c = 0; c < ac->n_cls; c++) {
			int32_t *e = &ac->next[r * ac->n_cls + c];

			if (*e != 0) {
				fail[*e] = ac->next[fail[r] * ac->n_cls + c];
				queue[tail++] = *e;
			} else {
				*e = ac->next[fail[r] * ac->n_cls + c];
			}
		}
	}
	free(fail);
	free(queue);
	return ac;
}

void rule_ac_scan(const struct rule_ac *ac, const char *s, size_t len,
		  int32_t line, int32_t *first, int32_t *last)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	int32_t st = 0;
	const int32_t *next = ac->next;
	int ncls = ac->n_cls;

	for (; p < end; p++) {
		int32_t o;

		st = next[st * ncls + ac->cls[*p]];
		for (o = ac->out[st] >= 0 ? st : ac->out_next[st]; o > 0;
		     o = ac->out_next[o]) {
			int32_t id = ac->out[o];

			if (last[id] == line)
				break;	/* this chain was reported already */
			if (first[id] < 0)
				first[id] = line;
			last[id] = line;
		}
	}
}

void rule_ac_deinit(struct rule_ac **acp)
{
	struct rule_ac *ac = *acp;

	if (ac == NULL)
		return;
	free(ac->next);
	free(ac->out);
	free(ac->out_next);
	free(ac);
	*acp = NULL;
}
