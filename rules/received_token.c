/*
 * received_token - Received: field tokenizer.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mymalloc.h"
#include "received_token.h"

static const char *const clause_names[RECEIVED_CLAUSE_COUNT] = {
	[RECEIVED_FROM] = "from", [RECEIVED_BY] = "by",
	[RECEIVED_VIA] = "via", [RECEIVED_WITH] = "with",
	[RECEIVED_ID] = "id", [RECEIVED_FOR] = "for",
};

static int is_blank(char c)
{
	return isspace((unsigned char)c) != 0;
}

static int ends_word(char c)
{
	return is_blank(c) || c == '(' || c == ')' || c == ';';
}

static struct received_token *add(struct received_tokens *toks,
				  size_t *cap,
				  enum received_token_kind kind, int depth,
				  int glued)
{
	struct received_token *t;

	if (toks->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		toks->v = myrealloc(toks->v, *cap * sizeof(*toks->v));
	}
	t = &toks->v[toks->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->depth = depth;
	t->glued = glued;
	return t;
}

/* the clause KEY names, or RECEIVED_CLAUSE_COUNT */
static enum received_clause keyword(const char *word)
{
	int c;

	for (c = 0; c < RECEIVED_CLAUSE_COUNT; c++)
		if (strcasecmp(word, clause_names[c]) == 0)
			return (enum received_clause)c;
	return RECEIVED_CLAUSE_COUNT;
}

/*
 * The clauses among the tokens outside comments, up to the last ';' (the
 * date follows it; a ';' before it, as in "from x (y [1.2.3.4]); by z",
 * is taken as a stray).  A keyword met a second time is a plain word.
 */
static void find_clauses(struct received_tokens *toks)
{
	size_t i = 0, stop = toks->n, *open_end = NULL;
	int c;

	for (c = 0; c < RECEIVED_CLAUSE_COUNT; c++)
		toks->clause[c].at = toks->clause[c].end = toks->n;
	for (i = 0; i < toks->n; i = received_token_next(toks, i))
		if (toks->v[i].kind == RECEIVED_TOKEN_SEMICOLON)
			stop = i;
	i = 0;
	/* "(from x) by y": the from clause is the first comment's inside */
	if (toks->n > 1 && toks->v[0].kind == RECEIVED_TOKEN_COMMENT &&
	    toks->v[1].kind == RECEIVED_TOKEN_WORD &&
	    keyword(toks->v[1].word) == RECEIVED_FROM) {
		toks->clause[RECEIVED_FROM].at = 1;
		toks->clause[RECEIVED_FROM].end = toks->v[0].end;
		i = toks->v[0].end;
	}
	for (; i < stop; i = received_token_next(toks, i)) {
		const struct received_token *t = &toks->v[i];
		enum received_clause k;

		if (t->kind != RECEIVED_TOKEN_WORD ||
		    (k = keyword(t->word)) == RECEIVED_CLAUSE_COUNT ||
		    toks->clause[k].at != toks->n)
			continue;
		if (open_end != NULL)
			*open_end = i;
		toks->clause[k].at = i;
		open_end = &toks->clause[k].end;
	}
	if (open_end != NULL)
		*open_end = stop;
}

void received_token_split(const char *text, size_t len,
			  struct received_tokens *toks)
{
	const char *p = text, *end = text + len;
	size_t cap = 0, depth = 0, *open;
	char *w;
	int blank = 1;

	memset(toks, 0, sizeof(*toks));
	/* every word with its NUL fits: no word is longer than the text */
	toks->words = w = mymalloc(2 * len + 1);
	/* the comments being read: at most one per byte */
	open = mymalloc((len + 1) * sizeof(*open));
	while (p < end) {
		struct received_token *t;
		size_t run;

		if (is_blank(*p)) {
			blank = 1;
			p++;
			continue;
		}
		for (run = 0; p + run < end && !is_blank(p[run]); run++)
			;
		if (*p == '(') {
			t = add(toks, &cap, RECEIVED_TOKEN_COMMENT, (int)depth,
				!blank && toks->n > 0);
			t->src = p;
			t->run = run;
			open[depth++] = toks->n - 1;
		} else if (*p == ')') {
			if (depth > 0)
				toks->v[open[--depth]].end = toks->n;
		} else if (*p == ';') {
			t = add(toks, &cap, RECEIVED_TOKEN_SEMICOLON, (int)depth,
				!blank && toks->n > 0);
			t->src = p;
			t->run = run;
		} else {
			t = add(toks, &cap, RECEIVED_TOKEN_WORD, (int)depth,
				!blank && toks->n > 0);
			t->src = p;
			t->run = run;
			t->word = w;
			while (p < end && !ends_word(*p)) {
				/* a quoted pair inside a comment */
				if (*p == '\\' && depth > 0 && p + 1 < end &&
				    !is_blank(p[1]))
					p++;
				*w++ = *p++;
			}
			*w++ = '\0';
			blank = 0;
			continue;
		}
		blank = 0;
		p++;
	}
	while (depth > 0)
		toks->v[open[--depth]].end = toks->n;
	free(open);
	find_clauses(toks);
}

void received_token_free(struct received_tokens *toks)
{
	MYFREE(&toks->v);
	MYFREE(&toks->words);
	toks->n = 0;
}

size_t received_token_next(const struct received_tokens *toks, size_t i)
{
	if (i < toks->n && toks->v[i].kind == RECEIVED_TOKEN_COMMENT)
		return toks->v[i].end;
	return i + 1;
}

const char *received_token_word(const struct received_tokens *toks,
				size_t i)
{
	if (i >= toks->n || toks->v[i].kind != RECEIVED_TOKEN_WORD)
		return NULL;
	return toks->v[i].word;
}

int received_token_has(const struct received_tokens *toks,
		       enum received_clause c)
{
	return toks->clause[c].at < toks->n;
}

const char *received_token_value(const struct received_tokens *toks,
				 enum received_clause c)
{
	size_t i = toks->clause[c].at + 1;

	if (!received_token_has(toks, c) || i >= toks->clause[c].end)
		return NULL;
	return received_token_word(toks, i);
}
