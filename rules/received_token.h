/*
 * received_token - one Received: field split into words, comments and
 * clauses.  Syntax only: what the words mean is received_field's business.
 *
 * RFC 5321 (4.4) and RFC 5322 (3.6.7) give the field as
 *	[ "from" domain [ "(" TCP-info ")" ] ] "by" domain [ "(" ... ")" ]
 *	[ "via" link ] [ "with" protocol ] [ "id" id ] [ "for" path ]
 *	";" date-time
 * with comments, which nest, allowed anywhere.  Real fields stray far from
 * that, so nothing here is required: the field is cut into words at
 * blanks, parentheses and semicolons; a comment is a token whose inner
 * tokens follow it; the words "from", "by", "via", "with", "id" and "for"
 * outside comments open a clause that runs to the next one (a keyword
 * met again is a plain word), and the last semicolon outside comments
 * ends the clauses (the date and anything after it are still tokens).
 * An unclosed comment runs to the end of the field.
 * A field that starts "(from ..." has its "from" clause inside that
 * comment (sendmail -t, Norton AntiVirus Gateway).
 */
#ifndef SPAMTRAP_RECEIVED_TOKEN_H
#define SPAMTRAP_RECEIVED_TOKEN_H

#include <stddef.h>

enum received_token_kind {
	RECEIVED_TOKEN_WORD,
	RECEIVED_TOKEN_COMMENT,	/* "(": its tokens follow it up to end */
	RECEIVED_TOKEN_SEMICOLON,
};

struct received_token {
	enum received_token_kind kind;
	const char *word;	/* WORD: the word, NUL-terminated */
	size_t end;		/* COMMENT: index of the first token after it */
	int depth;		/* comments around the token */
	int glued;		/* no blank before it ("host(1.2.3.4)") */
	const char *src;	/* where it starts in the text split */
	size_t run;		/* bytes from there to the next blank */
};

enum received_clause {
	RECEIVED_FROM,
	RECEIVED_BY,
	RECEIVED_VIA,
	RECEIVED_WITH,
	RECEIVED_ID,
	RECEIVED_FOR,
	RECEIVED_CLAUSE_COUNT,
};

struct received_tokens {
	struct received_token *v;
	size_t n;
	/* the first clause of each kind: its keyword's index and the end of
	   its tokens; at == n when there is none */
	struct {
		size_t at, end;
	} clause[RECEIVED_CLAUSE_COUNT];
	char *words;		/* storage of the words */
};

/* split the LEN bytes of TEXT (blanks as they come, folded or not) */
void received_token_split(const char *text, size_t len,
			  struct received_tokens *toks);
void received_token_free(struct received_tokens *toks);

/* the index of the item after the one at I (a comment is one item) */
size_t received_token_next(const struct received_tokens *toks, size_t i);

/* the word at I, NULL if the token there is no word (or I is past the
   end) */
const char *received_token_word(const struct received_tokens *toks,
				size_t i);

/* the clause C is there */
int received_token_has(const struct received_tokens *toks,
		       enum received_clause c);

/* the first word of clause C ("by x": "x"), NULL if it has none */
const char *received_token_value(const struct received_tokens *toks,
				 enum received_clause c);

#endif
