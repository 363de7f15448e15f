/*
 * qstore_codec - the portable record encoding and small helpers.
 *
 * A record is: magic byte, version byte, then fields, each
 *	tag (1 byte) | length (4 bytes, big-endian) | value
 * Numbers are 8-byte big-endian; strings are their bytes (no NUL);
 * lists are repeated tags whose value is itself a list of fields.
 * Readers skip tags they do not know; a length that runs past the end
 * makes the record malformed.
 */
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "qstore_private.h"

void qstore_be64(unsigned char out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t qstore_get_be64(const unsigned char in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void qstore_be32(unsigned char out[4], uint32_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

uint32_t qstore_get_be32(const unsigned char in[4])
{
	return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) |
		((uint32_t)in[2] << 8) | in[3];
}

void qrec_begin(struct str *b, char magic)
{
	str_clear(b);
	str_appendc(b, magic);
	str_appendc(b, (char)QREC_VERSION);
}

void qrec_put_bytes(struct str *b, unsigned tag, const void *p, size_t len)
{
	unsigned char hdr[5];

	if (tag > 255 || len > UINT32_MAX)
		msg_panic("qrec_put_bytes: tag %u or length %zu out of range",
			  tag, len);
	hdr[0] = (unsigned char)tag;
	qstore_be32(hdr + 1, (uint32_t)len);
	str_append(b, hdr, sizeof(hdr));
	str_append(b, p, len);
}

void qrec_put_str(struct str *b, unsigned tag, const char *s)
{
	if (s == NULL)
		s = "";
	qrec_put_bytes(b, tag, s, strlen(s));
}

void qrec_put_u64(struct str *b, unsigned tag, uint64_t v)
{
	unsigned char n[8];

	qstore_be64(n, v);
	qrec_put_bytes(b, tag, n, sizeof(n));
}

void qrec_put_i64(struct str *b, unsigned tag, int64_t v)
{
	qrec_put_u64(b, tag, (uint64_t)v);
}

void qrec_put_rec(struct str *b, unsigned tag, const struct str *inner)
{
	qrec_put_bytes(b, tag, inner->s, inner->len);
}

int qrec_open(struct qrec_reader *r, const void *data, size_t len, char magic)
{
	const unsigned char *p = data;

	if (len < 2 || p[0] != (unsigned char)magic || p[1] != QREC_VERSION)
		return -1;
	r->p = p + 2;
	r->left = len - 2;
	return 0;
}

void qrec_open_inner(struct qrec_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
}

int qrec_next(struct qrec_reader *r, unsigned *tag_r, const unsigned char **p_r,
	      size_t *len_r)
{
	uint32_t n;

	if (r->left == 0)
		return 0;
	if (r->left < 5)
		return -1;
	n = qstore_get_be32(r->p + 1);
	if (n > r->left - 5)
		return -1;
	*tag_r = r->p[0];
	*p_r = r->p + 5;
	*len_r = n;
	r->p += 5 + (size_t)n;
	r->left -= 5 + (size_t)n;
	return 1;
}

int qrec_get_u64(const unsigned char *p, size_t len, uint64_t *v_r)
{
	if (len != 8)
		return -1;
	*v_r = qstore_get_be64(p);
	return 0;
}

char *qrec_get_str(const unsigned char *p, size_t len)
{
	return mystrndup((const char *)p, len);
}

/* Crockford's alphabet, lower case: no i, l, o, u */
static const char base32_chars[] = "0123456789abcdefghjkmnpqrstvwxyz";

void qstore_base32(uint64_t v, int nchars, char *out)
{
	int i;

	for (i = nchars - 1; i >= 0; i--) {
		out[i] = base32_chars[v & 31];
		v >>= 5;
	}
	out[nchars] = '\0';
}

int qstore_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != QSTORE_ID_LEN)
		return 0;
	for (i = 0; i < QSTORE_ID_LEN; i++)
		if (strchr(base32_chars, s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}
