/*
 * qstore_incident - incidents, their indexes, held-message copies, and
 * the (sender, relay) pair history.
 *
 * incidents.db maps the id to the record.  Three secondary indexes are
 * kept by BDB itself (DB->associate), so they change in the same
 * transaction as the record:
 *	incidents-user.idx	user \0 status(1) received(8) id
 *	incidents-time.idx	user \0 received(8) id
 *	incidents-status.idx	status(1) received(8) id
 * Keys end with the id, so they are unique and ordered by date within
 * a user/status; a page of "newest first" is a range scan backwards.
 *
 * messages.db holds the copy: key id + chunk number (4 bytes); chunk 0 is
 * a header record (lengths, compression, CRC-32, chunk count), chunks
 * 1..n hold the (zlib-compressed) bytes, QSTORE_CHUNK bytes each, so no
 * single log record is huge.
 *
 * Ids are 13 base32 characters of (seconds << 30 | 30 random bits):
 * short, printable, roughly time-ordered; a collision is caught by
 * DB_NOOVERWRITE and a new id drawn.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <zlib.h>

#include "msg.h"
#include "mymalloc.h"
#include "qstore_private.h"

#define QSTORE_CHUNK	(256 * 1024)

/* incident record tags */
enum {
	T_USER = 1, T_RECIPIENT, T_SENDER, T_FROM, T_SUBJECT, T_MESSAGE_ID,
	T_RECEIVED, T_RELAY_IP, T_RELAY_NAME, T_SIZE, T_SCORE, T_STATUS,
	T_REASONS, T_FOLDER, T_LOCATION, T_HIT, T_ACTION, T_FLAGS,
};
enum { TH_NAME = 1, TH_SCORE, TH_DESC };
enum { TA_WHEN = 1, TA_WHO, TA_VIA, TA_WHAT };
/* message header tags */
enum { TM_RAW_LEN = 1, TM_STORED_LEN, TM_COMPRESSION, TM_CHUNKS, TM_CRC };
/* pair tags */
enum { TP_FIRST = 1, TP_LAST, TP_COUNT };

/* ---- names */

const char *qstore_status_name(enum qstore_status status)
{
	switch (status) {
	case QSTORE_PENDING:
		return "pending";
	case QSTORE_ONE_SHOT:
		return "one-shot";
	case QSTORE_SPAM:
		return "spam";
	case QSTORE_NON_SPAM:
		return "non-spam";
	}
	return "unknown";
}

int qstore_status_parse(const char *name)
{
	int s;

	for (s = QSTORE_PENDING; s <= QSTORE_NON_SPAM; s++)
		if (strcasecmp(name, qstore_status_name(s)) == 0)
			return s;
	return 0;
}

const char *qstore_via_name(enum qstore_via via)
{
	switch (via) {
	case QSTORE_VIA_LMTP:
		return "lmtp";
	case QSTORE_VIA_IMAP_MOVE:
		return "imap-move";
	case QSTORE_VIA_MAILDIR:
		return "maildir";
	case QSTORE_VIA_CLI:
		return "cli";
	case QSTORE_VIA_EXPIRY:
		return "expiry";
	}
	return "unknown";
}

const char *qstore_reason_name(unsigned bit)
{
	switch (bit) {
	case QSTORE_REASON_SPAMSCORE:
		return "SpamScore";
	case QSTORE_REASON_HOLDSENDER:
		return "HoldSender";
	case QSTORE_REASON_HOLDDOMAIN:
		return "HoldDomain";
	case QSTORE_REASON_HOLDRELAY:
		return "HoldRelay";
	case QSTORE_REASON_HOLDRBL:
		return "HoldRbl";
	}
	return "Unknown";
}

void qstore_reasons_format(unsigned reasons, struct str *out)
{
	unsigned bit;
	int first = 1;

	for (bit = 1; bit <= QSTORE_REASON_ALL && bit != 0; bit <<= 1) {
		if (!(reasons & bit))
			continue;
		if (!first)
			str_appendc(out, ',');
		str_appends(out, qstore_reason_name(bit));
		first = 0;
	}
}

/* ---- the in-memory incident */

void qstore_incident_init(struct qstore_incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->user = mystrdup("");
	inc->recipient = mystrdup("");
	inc->sender = mystrdup("");
	inc->from = mystrdup("");
	inc->subject = mystrdup("");
	inc->message_id = mystrdup("");
	inc->relay_ip = mystrdup("");
	inc->relay_name = mystrdup("");
	inc->folder = mystrdup("");
	inc->location = mystrdup("");
	inc->status = QSTORE_PENDING;
}

void qstore_incident_deinit(struct qstore_incident *inc)
{
	size_t i;

	MYFREE(&inc->user);
	MYFREE(&inc->recipient);
	MYFREE(&inc->sender);
	MYFREE(&inc->from);
	MYFREE(&inc->subject);
	MYFREE(&inc->message_id);
	MYFREE(&inc->relay_ip);
	MYFREE(&inc->relay_name);
	MYFREE(&inc->folder);
	MYFREE(&inc->location);
	for (i = 0; i < inc->n_hits; i++) {
		MYFREE(&inc->hits[i].name);
		MYFREE(&inc->hits[i].description);
	}
	MYFREE(&inc->hits);
	inc->n_hits = 0;
	for (i = 0; i < inc->n_actions; i++) {
		MYFREE(&inc->actions[i].who);
		MYFREE(&inc->actions[i].what);
	}
	MYFREE(&inc->actions);
	inc->n_actions = 0;
}

void qstore_incident_set(char **field, const char *value)
{
	free(*field);
	*field = mystrdup(value != NULL ? value : "");
}

void qstore_incident_add_hit(struct qstore_incident *inc, const char *name,
			     double score, const char *description)
{
	struct qstore_hit *h;

	inc->hits = myrealloc(inc->hits, (inc->n_hits + 1) * sizeof(*h));
	h = &inc->hits[inc->n_hits++];
	h->name = mystrdup(name);
	h->score = score;
	h->description = mystrdup(description != NULL ? description : "");
}

void qstore_incident_add_action(struct qstore_incident *inc, time_t when,
				const char *who, enum qstore_via via,
				const char *what)
{
	struct qstore_action *a;

	inc->actions = myrealloc(inc->actions,
				 (inc->n_actions + 1) * sizeof(*a));
	a = &inc->actions[inc->n_actions++];
	a->when = when;
	a->who = mystrdup(who != NULL ? who : "");
	a->via = via;
	a->what = mystrdup(what != NULL ? what : "");
}

/* ---- encoding */

/* scores are stored as integer thousandths */
static int64_t score_milli(double score)
{
	if (!(score > -1e15 && score < 1e15))
		return score > 0 ? (int64_t)1e15 : (int64_t)-1e15;
	/* rounded half away from zero (no libm needed) */
	return (int64_t)(score * 1000.0 + (score >= 0 ? 0.5 : -0.5));
}

void qstore_incident_encode(const struct qstore_incident *inc, struct str *b)
{
	struct str in = STR_INIT;
	size_t i;

	qrec_begin(b, 'I');
	qrec_put_str(b, T_USER, inc->user);
	qrec_put_str(b, T_RECIPIENT, inc->recipient);
	qrec_put_str(b, T_SENDER, inc->sender);
	qrec_put_str(b, T_FROM, inc->from);
	qrec_put_str(b, T_SUBJECT, inc->subject);
	qrec_put_str(b, T_MESSAGE_ID, inc->message_id);
	qrec_put_i64(b, T_RECEIVED, (int64_t)inc->received);
	qrec_put_str(b, T_RELAY_IP, inc->relay_ip);
	qrec_put_str(b, T_RELAY_NAME, inc->relay_name);
	qrec_put_u64(b, T_SIZE, inc->size);
	if (inc->scored)
		qrec_put_i64(b, T_SCORE, score_milli(inc->score));
	qrec_put_u64(b, T_STATUS, (uint64_t)inc->status);
	qrec_put_u64(b, T_REASONS, inc->reasons);
	qrec_put_u64(b, T_FLAGS, inc->flags);
	qrec_put_str(b, T_FOLDER, inc->folder);
	qrec_put_str(b, T_LOCATION, inc->location);
	for (i = 0; i < inc->n_hits; i++) {
		str_clear(&in);
		qrec_put_str(&in, TH_NAME, inc->hits[i].name);
		qrec_put_i64(&in, TH_SCORE, score_milli(inc->hits[i].score));
		qrec_put_str(&in, TH_DESC, inc->hits[i].description);
		qrec_put_rec(b, T_HIT, &in);
	}
	for (i = 0; i < inc->n_actions; i++) {
		str_clear(&in);
		qrec_put_i64(&in, TA_WHEN, (int64_t)inc->actions[i].when);
		qrec_put_str(&in, TA_WHO, inc->actions[i].who);
		qrec_put_u64(&in, TA_VIA, (uint64_t)inc->actions[i].via);
		qrec_put_str(&in, TA_WHAT, inc->actions[i].what);
		qrec_put_rec(b, T_ACTION, &in);
	}
	str_deinit(&in);
}

static int decode_hit(const unsigned char *p, size_t len,
		      struct qstore_incident *inc)
{
	struct qrec_reader r;
	const unsigned char *v;
	char *name = NULL, *desc = NULL;
	uint64_t score = 0;
	unsigned tag;
	size_t n;
	int ret;

	qrec_open_inner(&r, p, len);
	while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
		if (tag == TH_NAME && name == NULL)
			name = qrec_get_str(v, n);
		else if (tag == TH_DESC && desc == NULL)
			desc = qrec_get_str(v, n);
		else if (tag == TH_SCORE && qrec_get_u64(v, n, &score) < 0)
			ret = -1;
		if (ret < 0)
			break;
	}
	if (ret == 0 && name != NULL)
		qstore_incident_add_hit(inc, name, (double)(int64_t)score / 1000.0,
					desc);
	free(name);
	free(desc);
	return ret == 0 && name != NULL ? 0 : -1;
}

static int decode_action(const unsigned char *p, size_t len,
			 struct qstore_incident *inc)
{
	struct qrec_reader r;
	const unsigned char *v;
	char *who = NULL, *what = NULL;
	uint64_t when = 0, via = 0;
	unsigned tag;
	size_t n;
	int ret;

	qrec_open_inner(&r, p, len);
	while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
		if (tag == TA_WHO && who == NULL)
			who = qrec_get_str(v, n);
		else if (tag == TA_WHAT && what == NULL)
			what = qrec_get_str(v, n);
		else if (tag == TA_WHEN && qrec_get_u64(v, n, &when) < 0)
			ret = -1;
		else if (tag == TA_VIA && qrec_get_u64(v, n, &via) < 0)
			ret = -1;
		if (ret < 0)
			break;
	}
	if (ret == 0)
		qstore_incident_add_action(inc, (time_t)(int64_t)when, who,
					   (enum qstore_via)via, what);
	free(who);
	free(what);
	return ret;
}

int qstore_incident_decode(const void *data, size_t len,
			   struct qstore_incident *inc)
{
	struct qrec_reader r;
	const unsigned char *v;
	unsigned tag, seen = 0;
	uint64_t u;
	size_t n;
	int ret;
	char **sp;

	qstore_incident_init(inc);
	if (qrec_open(&r, data, len, 'I') < 0) {
		qstore_incident_deinit(inc);
		return -1;
	}
	while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
		sp = NULL;
		switch (tag) {
		case T_USER: sp = &inc->user; break;
		case T_RECIPIENT: sp = &inc->recipient; break;
		case T_SENDER: sp = &inc->sender; break;
		case T_FROM: sp = &inc->from; break;
		case T_SUBJECT: sp = &inc->subject; break;
		case T_MESSAGE_ID: sp = &inc->message_id; break;
		case T_RELAY_IP: sp = &inc->relay_ip; break;
		case T_RELAY_NAME: sp = &inc->relay_name; break;
		case T_FOLDER: sp = &inc->folder; break;
		case T_LOCATION: sp = &inc->location; break;
		case T_HIT:
			ret = decode_hit(v, n, inc);
			break;
		case T_ACTION:
			ret = decode_action(v, n, inc);
			break;
		case T_RECEIVED: case T_SIZE: case T_SCORE: case T_STATUS:
		case T_REASONS: case T_FLAGS:
			if (qrec_get_u64(v, n, &u) < 0) {
				ret = -1;
				break;
			}
			if (tag == T_RECEIVED)
				inc->received = (time_t)(int64_t)u;
			else if (tag == T_SIZE)
				inc->size = u;
			else if (tag == T_SCORE) {
				inc->scored = 1;
				inc->score = (double)(int64_t)u / 1000.0;
			} else if (tag == T_STATUS)
				inc->status = (enum qstore_status)u;
			else if (tag == T_REASONS)
				inc->reasons = (unsigned)u;
			else
				inc->flags = (unsigned)u;
			break;
		default:
			break;	/* a later version's field */
		}
		if (sp != NULL) {
			free(*sp);
			*sp = qrec_get_str(v, n);
		}
		if (tag < 32)
			seen |= 1u << tag;
		if (ret < 0)
			break;
	}
	if (ret < 0 || !(seen & (1u << T_USER)) || !(seen & (1u << T_RECEIVED))
	    || inc->status < QSTORE_PENDING || inc->status > QSTORE_NON_SPAM
	    || inc->user[0] == '\0') {
		qstore_incident_deinit(inc);
		return -1;
	}
	return 0;
}

/* user, status and received without decoding everything */
static int key_fields(const void *data, size_t len, const unsigned char **user,
		      size_t *user_len, int *status, time_t *received)
{
	struct qrec_reader r;
	const unsigned char *v;
	unsigned tag;
	uint64_t u;
	size_t n;
	int ret, have = 0;

	if (qrec_open(&r, data, len, 'I') < 0)
		return -1;
	while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
		if (tag == T_USER) {
			*user = v;
			*user_len = n;
			have |= 1;
		} else if (tag == T_STATUS || tag == T_RECEIVED) {
			if (qrec_get_u64(v, n, &u) < 0)
				return -1;
			if (tag == T_STATUS) {
				*status = (int)u;
				have |= 2;
			} else {
				*received = (time_t)(int64_t)u;
				have |= 4;
			}
		}
	}
	if (ret < 0 || have != 7 || *user_len == 0
	    || memchr(*user, '\0', *user_len) != NULL
	    || *status < QSTORE_PENDING || *status > QSTORE_NON_SPAM)
		return -1;
	return 0;
}

static void put_time(struct str *k, time_t t)
{
	unsigned char b[8];

	qstore_be64(b, t < 0 ? 0 : (uint64_t)t);
	str_append(k, b, sizeof(b));
}

void qstore_key_user(const char *user, int status, time_t received,
		     const char *id, struct str *k)
{
	str_clear(k);
	str_append(k, user, strlen(user) + 1);
	str_appendc(k, (char)status);
	put_time(k, received);
	str_appends(k, id);
}

void qstore_key_time(const char *user, time_t received, const char *id,
		     struct str *k)
{
	str_clear(k);
	str_append(k, user, strlen(user) + 1);
	put_time(k, received);
	str_appends(k, id);
}

void qstore_key_status(int status, time_t received, const char *id,
		       struct str *k)
{
	str_clear(k);
	str_appendc(k, (char)status);
	put_time(k, received);
	str_appends(k, id);
}

static int make_skey(const DBT *pkey, const DBT *pdata, DBT *skey, int which)
{
	const unsigned char *user = NULL;
	size_t user_len = 0;
	int status = 0;
	time_t received = 0;
	struct str k = STR_INIT, u = STR_INIT, id = STR_INIT;

	if (key_fields(pdata->data, pdata->size, &user, &user_len, &status,
		       &received) < 0)
		return DB_DONOTINDEX;	/* db check reports the record */
	str_append(&u, user, user_len);
	str_append(&id, pkey->data, pkey->size);
	if (which == QDB_IDX_USER)
		qstore_key_user(str_c(&u), status, received, str_c(&id), &k);
	else if (which == QDB_IDX_TIME)
		qstore_key_time(str_c(&u), received, str_c(&id), &k);
	else
		qstore_key_status(status, received, str_c(&id), &k);
	str_deinit(&u);
	str_deinit(&id);
	memset(skey, 0, sizeof(*skey));
	skey->size = (u_int32_t)k.len;
	skey->data = str_steal(&k);
	skey->flags = DB_DBT_APPMALLOC;
	return 0;
}

static int skey_user(DB *sec, const DBT *pkey, const DBT *pdata, DBT *skey)
{
	(void)sec;
	return make_skey(pkey, pdata, skey, QDB_IDX_USER);
}

static int skey_time(DB *sec, const DBT *pkey, const DBT *pdata, DBT *skey)
{
	(void)sec;
	return make_skey(pkey, pdata, skey, QDB_IDX_TIME);
}

static int skey_status(DB *sec, const DBT *pkey, const DBT *pdata, DBT *skey)
{
	(void)sec;
	return make_skey(pkey, pdata, skey, QDB_IDX_STATUS);
}

int qstore_associate(struct qstore *qs, DB_TXN *txn)
{
	DB *p = qs->db[QDB_INCIDENTS];
	int ret;

	/* DB_CREATE: an empty (e.g. deleted) index is rebuilt from the
	   primary */
	if ((ret = p->associate(p, txn, qs->db[QDB_IDX_USER], skey_user,
				DB_CREATE)) != 0
	    || (ret = p->associate(p, txn, qs->db[QDB_IDX_TIME], skey_time,
				   DB_CREATE)) != 0
	    || (ret = p->associate(p, txn, qs->db[QDB_IDX_STATUS],
				   skey_status, DB_CREATE)) != 0)
		return ret;
	return 0;
}

/* ---- message copies */

static void chunk_key(const char *id, uint32_t n, unsigned char *k)
{
	memcpy(k, id, QSTORE_ID_LEN);
	qstore_be32(k + QSTORE_ID_LEN, n);
}

int qstore_message_put(struct qstore *qs, DB_TXN *txn, const char *id,
		       const void *msg, size_t len)
{
	DB *db = qs->db[QDB_MESSAGES];
	unsigned char k[QSTORE_ID_LEN + 4];
	struct str hdr = STR_INIT;
	const unsigned char *stored = msg;
	unsigned char *zbuf = NULL;
	uLongf zlen = 0;
	size_t stored_len = len, off;
	uint32_t chunks, i;
	int compressed = 0, ret;
	DBT key, data;

	if (len > 0 && len <= (size_t)UINT32_MAX) {
		zlen = compressBound((uLong)len);
		zbuf = mymalloc(zlen);
		if (compress2(zbuf, &zlen, msg, (uLong)len, 6) == Z_OK
		    && zlen < len) {
			stored = zbuf;
			stored_len = zlen;
			compressed = 1;
		}
	}
	chunks = (uint32_t)((stored_len + QSTORE_CHUNK - 1) / QSTORE_CHUNK);
	qrec_begin(&hdr, 'M');
	qrec_put_u64(&hdr, TM_RAW_LEN, len);
	qrec_put_u64(&hdr, TM_STORED_LEN, stored_len);
	qrec_put_u64(&hdr, TM_COMPRESSION, compressed ? 1 : 0);
	qrec_put_u64(&hdr, TM_CHUNKS, chunks);
	qrec_put_u64(&hdr, TM_CRC, crc32(0L, msg, (uInt)len));
	chunk_key(id, 0, k);
	qstore_dbt_in(&key, k, sizeof(k));
	qstore_dbt_in(&data, hdr.s, hdr.len);
	ret = db->put(db, txn, &key, &data, 0);
	for (i = 1, off = 0; ret == 0 && i <= chunks; i++) {
		size_t n = stored_len - off < QSTORE_CHUNK ?
			stored_len - off : QSTORE_CHUNK;

		chunk_key(id, i, k);
		qstore_dbt_in(&data, stored + off, n);
		ret = db->put(db, txn, &key, &data, 0);
		off += n;
	}
	free(zbuf);
	str_deinit(&hdr);
	return ret;
}

int qstore_message_del(struct qstore *qs, DB_TXN *txn, const char *id)
{
	DB *db = qs->db[QDB_MESSAGES];
	unsigned char k[QSTORE_ID_LEN + 4];
	DBC *c;
	DBT key, data;
	int ret, tret;

	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return ret;
	chunk_key(id, 0, k);
	qstore_dbt_out(&key);
	key.data = mymemdup(k, sizeof(k));
	key.size = sizeof(k);
	qstore_dbt_out(&data);
	data.flags |= DB_DBT_PARTIAL;	/* keys only */
	ret = c->get(c, &key, &data, DB_SET_RANGE | DB_RMW);
	while (ret == 0 && key.size == sizeof(k)
	       && memcmp(key.data, id, QSTORE_ID_LEN) == 0) {
		if ((ret = c->del(c, 0)) != 0)
			break;
		ret = c->get(c, &key, &data, DB_NEXT | DB_RMW);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	tret = c->close(c);
	free(key.data);
	free(data.data);
	return ret != 0 ? ret : tret;
}

int qstore_message_read(struct qstore *qs, DB_TXN *txn, const char *id,
			struct str *out, char **why_r)
{
	DB *db = qs->db[QDB_MESSAGES];
	unsigned char k[QSTORE_ID_LEN + 4];
	uint64_t raw_len = 0, stored_len = 0, comp = 0, chunks = 0, crc = 0;
	struct qrec_reader r;
	struct str stored = STR_INIT;
	const unsigned char *v;
	unsigned tag;
	size_t n;
	uint32_t i;
	DBT key, data;
	int ret;

	str_clear(out);
	chunk_key(id, 0, k);
	qstore_dbt_in(&key, k, sizeof(k));
	qstore_dbt_out(&data);
	if ((ret = db->get(db, txn, &key, &data, 0)) != 0) {
		free(data.data);
		return ret;
	}
	if (qrec_open(&r, data.data, data.size, 'M') < 0) {
		ret = -2;
	} else {
		while ((ret = qrec_next(&r, &tag, &v, &n)) > 0) {
			uint64_t *dst = tag == TM_RAW_LEN ? &raw_len :
				tag == TM_STORED_LEN ? &stored_len :
				tag == TM_COMPRESSION ? &comp :
				tag == TM_CHUNKS ? &chunks :
				tag == TM_CRC ? &crc : NULL;

			if (dst != NULL && qrec_get_u64(v, n, dst) < 0) {
				ret = -1;
				break;
			}
		}
		ret = ret < 0 ? -2 : 0;
	}
	if (ret == 0 && (chunks > (stored_len / QSTORE_CHUNK) + 1
			 || comp > 1 || raw_len > (1ULL << 40)))
		ret = -2;
	for (i = 1; ret == 0 && i <= chunks; i++) {
		chunk_key(id, i, k);
		ret = db->get(db, txn, &key, &data, 0);
		if (ret == DB_NOTFOUND) {
			ret = -3;
			break;
		}
		if (ret == 0)
			str_append(&stored, data.data, data.size);
	}
	free(data.data);
	if (ret == 0 && stored.len != stored_len)
		ret = -4;
	if (ret == 0 && comp) {
		uLongf dlen = (uLongf)raw_len;

		str_reserve(out, (size_t)raw_len + 1);
		if (uncompress((Bytef *)out->s, &dlen,
			       (const Bytef *)stored.s, (uLong)stored.len) != Z_OK
		    || dlen != raw_len)
			ret = -4;
		else
			out->len = (size_t)dlen, out->s[out->len] = '\0';
	} else if (ret == 0) {
		str_append(out, stored.s, stored.len);
	}
	if (ret == 0 && (out->len != raw_len
			 || crc32(0L, (const Bytef *)out->s, (uInt)out->len)
			 != crc))
		ret = -4;
	str_deinit(&stored);
	if (ret < 0 && ret >= -4) {
		if (why_r != NULL)
			*why_r = mystrdup(ret == -2 ? "bad copy header" :
					  ret == -3 ? "copy chunks missing" :
					  "copy damaged (length or CRC)");
		str_clear(out);
		return QSTORE_EAPP;
	}
	return ret;
}

/* ---- adding and changing incidents */

void qstore_id_new(char id[QSTORE_ID_LEN + 1])
{
	uint32_t r = 0;
	uint64_t v;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		msg_fatal_sys("getrandom");
	v = ((uint64_t)time(NULL) << 30) | (r & ((1u << 30) - 1));
	qstore_base32(v, QSTORE_ID_LEN, id);
}

struct add_ctx {
	struct qstore_incident *inc;
	int preset_id;
	char *app_error;
	const void *msg;
	size_t msg_len;
	struct str rec;
};

static int add_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct add_ctx *ctx = vctx;
	DB *db = qs->db[QDB_INCIDENTS];
	DBT key, data;
	int ret = DB_KEYEXIST, tries;

	for (tries = 0; tries < 20 && ret == DB_KEYEXIST; tries++) {
		if (!ctx->preset_id)
			qstore_id_new(ctx->inc->id);
		qstore_dbt_in(&key, ctx->inc->id, QSTORE_ID_LEN);
		qstore_dbt_in(&data, ctx->rec.s, ctx->rec.len);
		ret = db->put(db, txn, &key, &data, DB_NOOVERWRITE);
		if (ret == DB_KEYEXIST && ctx->preset_id) {
			struct str e = STR_INIT;

			str_printf(&e, "incident id %s is already in use",
				   ctx->inc->id);
			ctx->app_error = str_steal(&e);
			return QSTORE_EAPP;
		}
	}
	if (ret != 0)
		return ret;
	if (ctx->msg != NULL)
		ret = qstore_message_put(qs, txn, ctx->inc->id, ctx->msg,
					 ctx->msg_len);
	return ret;
}

int qstore_incident_add(struct qstore *qs, struct qstore_incident *inc,
			const void *msg, size_t msg_len, const char *who,
			enum qstore_via via, char **error_r,
			enum errkind *kind_r)
{
	struct add_ctx ctx;
	int ret;

	if (inc->user == NULL || inc->user[0] == '\0') {
		qstore_fail(error_r, kind_r, ERR_INTERNAL,
			    "qstore_incident_add: no user");
		return -1;
	}
	if (inc->status < QSTORE_PENDING || inc->status > QSTORE_NON_SPAM)
		inc->status = QSTORE_PENDING;
	if (inc->received == 0)
		inc->received = time(NULL);
	if (msg == NULL)
		inc->flags |= QSTORE_FLAG_NO_COPY;
	else
		inc->flags &= ~QSTORE_FLAG_NO_COPY;
	if (inc->n_actions == 0)
		qstore_incident_add_action(inc, time(NULL), who, via,
			(inc->flags & QSTORE_FLAG_TAGGED) ? "tagged" : "held");
	memset(&ctx, 0, sizeof(ctx));
	ctx.inc = inc;
	ctx.msg = msg;
	ctx.msg_len = msg_len;
	if (inc->id[0] != '\0') {
		if (!qstore_id_valid(inc->id)) {
			qstore_fail(error_r, kind_r, ERR_INTERNAL,
				    "qstore_incident_add: bad id \"%s\"",
				    inc->id);
			return -1;
		}
		ctx.preset_id = 1;
	}
	qstore_incident_encode(inc, &ctx.rec);
	ret = qstore_run(qs, 1, add_txn, &ctx, "recording the incident",
			 &ctx.app_error, error_r, kind_r);
	str_deinit(&ctx.rec);
	if (ret < 0 && !ctx.preset_id)
		inc->id[0] = '\0';
	return ret;
}

struct get_ctx {
	const char *id;
	int found;
	struct qstore_incident *inc;
	char *app_error;
	/* for updates */
	int (*change)(struct qstore_incident *inc, void *arg);
	void *arg;
	int delete;
	int nosync;		/* commit without waiting for the disk */
};

static int get_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct get_ctx *ctx = vctx;
	DB *db = qs->db[QDB_INCIDENTS];
	struct str rec = STR_INIT;
	DBT key, data;
	int ret;

	ctx->found = 0;
	qstore_dbt_in(&key, ctx->id, strlen(ctx->id));
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data,
		      ctx->change != NULL || ctx->delete ? DB_RMW : 0);
	if (ret == DB_NOTFOUND) {
		free(data.data);
		return 0;
	}
	if (ret != 0) {
		free(data.data);
		return ret;
	}
	if (ctx->delete) {
		free(data.data);
		if ((ret = db->del(db, txn, &key, 0)) != 0
		    || (ret = qstore_message_del(qs, txn, ctx->id)) != 0)
			return ret;
		ctx->found = 1;
		return 0;
	}
	if (qstore_incident_decode(data.data, data.size, ctx->inc) < 0) {
		free(data.data);
		ctx->app_error = mystrdup("incident record is damaged "
					  "(run spamtrap db check)");
		return QSTORE_EAPP;
	}
	free(data.data);
	memcpy(ctx->inc->id, ctx->id, QSTORE_ID_LEN + 1);
	ctx->found = 1;
	if (ctx->change == NULL)
		return 0;
	ctx->change(ctx->inc, ctx->arg);
	qstore_incident_encode(ctx->inc, &rec);
	qstore_dbt_in(&data, rec.s, rec.len);
	ret = db->put(db, txn, &key, &data, 0);
	str_deinit(&rec);
	if (ret != 0) {
		qstore_incident_deinit(ctx->inc);
		ctx->found = 0;
	}
	return ret;
}

/* run get_txn; a retried attempt must start from a clean incident */
static int get_or_change(struct qstore *qs, struct get_ctx *ctx,
			 const char *what, char **error_r,
			 enum errkind *kind_r)
{
	struct qstore_incident scratch;
	struct qstore_incident *out = ctx->inc;
	int ret;

	if (!qstore_id_valid(ctx->id))
		return 0;	/* no such id can exist */
	if (out == NULL)
		ctx->inc = &scratch;
	ret = qstore_run(qs, ctx->nosync ? QSTORE_WRITE_NOSYNC
			 : ctx->change != NULL || ctx->delete, get_txn, ctx,
			 what, &ctx->app_error, error_r, kind_r);
	if (out == NULL && ret == 0 && ctx->found && !ctx->delete)
		qstore_incident_deinit(&scratch);
	ctx->inc = out;
	if (ret < 0)
		return -1;
	return ctx->found;
}

int qstore_incident_get(struct qstore *qs, const char *id,
			struct qstore_incident *inc_r, char **error_r,
			enum errkind *kind_r)
{
	struct get_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.id = id;
	ctx.inc = inc_r;
	return get_or_change(qs, &ctx, "reading the incident", error_r,
			     kind_r);
}

struct status_arg {
	enum qstore_status status;
	const char *who, *note, *folder, *location;
	enum qstore_via via;
};

static int change_status(struct qstore_incident *inc, void *varg)
{
	struct status_arg *a = varg;
	struct str what = STR_INIT;

	inc->status = a->status;
	str_printf(&what, "status %s", qstore_status_name(a->status));
	if (a->note != NULL && a->note[0] != '\0')
		str_printf(&what, ": %s", a->note);
	qstore_incident_add_action(inc, time(NULL), a->who, a->via,
				   str_c(&what));
	str_deinit(&what);
	return 0;
}

int qstore_incident_set_status(struct qstore *qs, const char *id,
			       enum qstore_status status, const char *who,
			       enum qstore_via via, const char *note,
			       char **error_r, enum errkind *kind_r)
{
	struct status_arg a = { status, who, note, NULL, NULL, via };
	struct get_ctx ctx;

	if (status < QSTORE_PENDING || status > QSTORE_NON_SPAM) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "invalid incident status %d", (int)status);
		return -1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = id;
	ctx.change = change_status;
	ctx.arg = &a;
	return get_or_change(qs, &ctx, "changing the incident status",
			     error_r, kind_r);
}

static int change_location(struct qstore_incident *inc, void *varg)
{
	struct status_arg *a = varg;
	struct str what = STR_INIT;

	qstore_incident_set(&inc->folder, a->folder);
	qstore_incident_set(&inc->location, a->location);
	str_printf(&what, "moved to %s", a->folder);
	qstore_incident_add_action(inc, time(NULL), a->who, a->via,
				   str_c(&what));
	str_deinit(&what);
	return 0;
}

static int set_location(struct qstore *qs, const char *id,
			const char *folder, const char *location,
			const char *who, enum qstore_via via, int nosync,
			char **error_r, enum errkind *kind_r)
{
	struct status_arg a = { 0, who, NULL, folder, location, via };
	struct get_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.id = id;
	ctx.change = change_location;
	ctx.arg = &a;
	ctx.nosync = nosync;
	return get_or_change(qs, &ctx, "moving the incident", error_r,
			     kind_r);
}

int qstore_incident_set_location(struct qstore *qs, const char *id,
				 const char *folder, const char *location,
				 const char *who, enum qstore_via via,
				 char **error_r, enum errkind *kind_r)
{
	return set_location(qs, id, folder, location, who, via, 0, error_r,
			    kind_r);
}

int qstore_incident_filed(struct qstore *qs, const char *id,
			  const char *folder, const char *location,
			  char **error_r, enum errkind *kind_r)
{
	return set_location(qs, id, folder, location, "lmtpd",
			    QSTORE_VIA_LMTP, 1, error_r, kind_r);
}

int qstore_incident_delete(struct qstore *qs, const char *id,
			   char **error_r, enum errkind *kind_r)
{
	struct get_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.id = id;
	ctx.delete = 1;
	return get_or_change(qs, &ctx, "deleting the incident", error_r,
			     kind_r);
}

struct msg_ctx {
	const char *id;
	struct str out;
	int found;
	char *app_error;
};

static int msg_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct msg_ctx *ctx = vctx;
	char *why = NULL;
	int ret;

	ret = qstore_message_read(qs, txn, ctx->id, &ctx->out, &why);
	ctx->found = ret == 0;
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret == QSTORE_EAPP) {
		ctx->app_error = why;
		return QSTORE_EAPP;
	}
	return ret;
}

int qstore_message_get(struct qstore *qs, const char *id, char **data_r,
		       size_t *len_r, char **error_r, enum errkind *kind_r)
{
	struct msg_ctx ctx;

	*data_r = NULL;
	*len_r = 0;
	if (!qstore_id_valid(id))
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = id;
	if (qstore_run(qs, 0, msg_txn, &ctx, "reading the message copy",
		       &ctx.app_error, error_r, kind_r) < 0) {
		str_deinit(&ctx.out);
		return -1;
	}
	if (!ctx.found) {
		str_deinit(&ctx.out);
		return 0;
	}
	*len_r = ctx.out.len;
	*data_r = str_steal(&ctx.out);
	return 1;
}

/* ---- paged queries */

struct list_ctx {
	const struct qstore_query *q;
	struct qstore_page page;
	size_t count;		/* for counting */
	int counting;
	char *app_error;
};

static void page_clear(struct qstore_page *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		qstore_incident_deinit(&p->items[i]);
	MYFREE(&p->items);
	p->n = 0;
	p->more = 0;
}

void qstore_page_deinit(struct qstore_page *p)
{
	page_clear(p);
}

DB *qstore_incident_index(struct qstore *qs, const char *user, int status,
			  struct str *prefix, int *primary_r)
{
	*primary_r = 0;
	if (user != NULL) {
		str_append(prefix, user, strlen(user) + 1);
		if (status == QSTORE_STATUS_ANY)
			return qs->db[QDB_IDX_TIME];
		str_appendc(prefix, (char)status);
		return qs->db[QDB_IDX_USER];
	}
	if (status != QSTORE_STATUS_ANY) {
		str_appendc(prefix, (char)status);
		return qs->db[QDB_IDX_STATUS];
	}
	*primary_r = 1;			/* ids are time-ordered */
	return qs->db[QDB_INCIDENTS];
}

int qstore_walk_first(DBC *c, int primary, const struct str *prefix,
		      int backwards, DBT *skey, DBT *pkey, DBT *data)
{
	struct str start = STR_INIT;
	int ret;

	/* past the last key under the prefix, to step back from */
	str_append(&start, prefix->s, prefix->len);
	if (backwards)
		str_append(&start, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
	skey->size = (u_int32_t)start.len;
	skey->data = str_steal(&start);
	if (primary)		/* no prefix: the whole table */
		return c->get(c, skey, data, backwards ? DB_LAST : DB_FIRST);
	ret = c->pget(c, skey, pkey, data, DB_SET_RANGE);
	if (backwards && ret == DB_NOTFOUND)
		ret = c->pget(c, skey, pkey, data, DB_LAST);
	else if (backwards && ret == 0)
		ret = c->pget(c, skey, pkey, data, DB_PREV);
	return ret;
}

int qstore_walk_next(DBC *c, int primary, int backwards, DBT *skey,
		     DBT *pkey, DBT *data)
{
	u_int32_t step = backwards ? DB_PREV : DB_NEXT;

	return primary ? c->get(c, skey, data, step)
		       : c->pget(c, skey, pkey, data, step);
}

int qstore_walk_in(const DBT *skey, const struct str *prefix)
{
	/* no prefix (the whole table): prefix->s is NULL */
	return prefix->len == 0 || (skey->size >= prefix->len &&
		memcmp(skey->data, prefix->s, prefix->len) == 0);
}

static int list_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct list_ctx *ctx = vctx;
	const struct qstore_query *q = ctx->q;
	struct str prefix = STR_INIT;
	DB *db;
	DBC *c = NULL;
	DBT skey, pkey, data;
	size_t skip, want, seen = 0;
	int backwards = !q->oldest_first && !ctx->counting;
	int ret, tret, primary = 0;

	page_clear(&ctx->page);
	ctx->count = 0;
	db = qstore_incident_index(qs, q->user, q->status, &prefix, &primary);
	skip = q->page > 1 ? (q->page - 1) * q->page_size : 0;
	want = q->page_size;
	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		goto out;
	qstore_dbt_out(&skey);
	qstore_dbt_out(&pkey);
	qstore_dbt_out(&data);
	if (ctx->counting)
		data.flags |= DB_DBT_PARTIAL;	/* dlen 0: keys only */
	ret = qstore_walk_first(c, primary, &prefix, backwards, &skey, &pkey,
				&data);
	while (ret == 0) {
		if (!qstore_walk_in(&skey, &prefix))
			break;
		if (ctx->counting) {
			ctx->count++;
		} else if (seen >= skip + want) {
			ctx->page.more = 1;
			break;
		} else if (seen >= skip) {
			struct qstore_incident *inc;

			ctx->page.items = myrealloc(ctx->page.items,
				(ctx->page.n + 1) * sizeof(*inc));
			inc = &ctx->page.items[ctx->page.n];
			if (qstore_incident_decode(data.data, data.size,
						   inc) < 0) {
				ctx->app_error = mystrdup("an incident record "
					"is damaged (run spamtrap db check)");
				ret = QSTORE_EAPP;
				break;
			}
			if (primary) {
				if (skey.size == QSTORE_ID_LEN)
					memcpy(inc->id, skey.data, QSTORE_ID_LEN);
			} else if (pkey.size == QSTORE_ID_LEN) {
				memcpy(inc->id, pkey.data, QSTORE_ID_LEN);
			}
			inc->id[QSTORE_ID_LEN] = '\0';
			ctx->page.n++;
		}
		seen++;
		ret = qstore_walk_next(c, primary, backwards, &skey, &pkey,
				       &data);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(skey.data);
	free(pkey.data);
	free(data.data);
out:
	if (c != NULL && (tret = c->close(c)) != 0 && ret == 0)
		ret = tret;
	str_deinit(&prefix);
	if (ret != 0)
		page_clear(&ctx->page);
	return ret;
}

int qstore_incident_list(struct qstore *qs, const struct qstore_query *q,
			 struct qstore_page *page_r, char **error_r,
			 enum errkind *kind_r)
{
	struct list_ctx ctx;

	memset(page_r, 0, sizeof(*page_r));
	if (q->page_size == 0 || q->page_size > 100000 || q->page == 0
	    || q->page > SIZE_MAX / q->page_size - 1) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "page %zu of size %zu: out of range",
			    q->page, q->page_size);
		return -1;
	}
	if (q->status != QSTORE_STATUS_ANY
	    && (q->status < QSTORE_PENDING || q->status > QSTORE_NON_SPAM)) {
		qstore_fail(error_r, kind_r, ERR_PERMANENT,
			    "invalid status %d", q->status);
		return -1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.q = q;
	if (qstore_run(qs, 0, list_txn, &ctx, "listing incidents",
		       &ctx.app_error, error_r, kind_r) < 0)
		return -1;
	*page_r = ctx.page;
	return 0;
}

int qstore_incident_count(struct qstore *qs, const char *user, int status,
			  size_t *count_r, char **error_r,
			  enum errkind *kind_r)
{
	struct qstore_query q = { user, status, 1, 1, 1 };
	struct list_ctx ctx;

	*count_r = 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.q = &q;
	ctx.counting = 1;
	if (qstore_run(qs, 0, list_txn, &ctx, "counting incidents",
		       &ctx.app_error, error_r, kind_r) < 0)
		return -1;
	*count_r = ctx.count;
	return 0;
}

/* ---- expiry: in batches, so one transaction holds few locks */

#define EXPIRE_BATCH	200

struct expire_ctx {
	int status;
	time_t before;
	size_t n;		/* deleted in this batch */
	int done;		/* no more for this status */
};

static int expire_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct expire_ctx *ctx = vctx;
	DB *idx = qs->db[QDB_IDX_STATUS], *db = qs->db[QDB_INCIDENTS];
	char ids[EXPIRE_BATCH][QSTORE_ID_LEN + 1];
	DBC *c;
	DBT skey, pkey, data;
	size_t n = 0, i;
	unsigned char start = (unsigned char)ctx->status;
	int ret, tret;

	ctx->n = 0;
	ctx->done = 0;
	if ((ret = idx->cursor(idx, txn, &c, 0)) != 0)
		return ret;
	qstore_dbt_out(&skey);
	skey.data = mymemdup(&start, 1);
	skey.size = 1;
	qstore_dbt_out(&pkey);
	qstore_dbt_out(&data);
	data.flags |= DB_DBT_PARTIAL;
	ret = c->pget(c, &skey, &pkey, &data, DB_SET_RANGE);
	while (ret == 0 && n < EXPIRE_BATCH) {
		const unsigned char *k = skey.data;

		if (skey.size < 9 + QSTORE_ID_LEN || k[0] != start
		    || (time_t)qstore_get_be64(k + 1) >= ctx->before)
			break;
		if (pkey.size == QSTORE_ID_LEN) {
			memcpy(ids[n], pkey.data, QSTORE_ID_LEN);
			ids[n++][QSTORE_ID_LEN] = '\0';
		}
		ret = c->pget(c, &skey, &pkey, &data, DB_NEXT);
	}
	if (ret == DB_NOTFOUND || (ret == 0 && n < EXPIRE_BATCH))
		ctx->done = 1;
	if (ret == DB_NOTFOUND)
		ret = 0;
	free(skey.data);
	free(pkey.data);
	free(data.data);
	tret = c->close(c);
	if (ret == 0)
		ret = tret;
	for (i = 0; ret == 0 && i < n; i++) {
		DBT key;

		qstore_dbt_in(&key, ids[i], QSTORE_ID_LEN);
		ret = db->del(db, txn, &key, 0);
		if (ret == DB_NOTFOUND)
			ret = 0;
		if (ret == 0)
			ret = qstore_message_del(qs, txn, ids[i]);
	}
	if (ret == 0)
		ctx->n = n;
	return ret;
}

int qstore_expire(struct qstore *qs, time_t before, size_t *n_r,
		  char **error_r, enum errkind *kind_r)
{
	struct expire_ctx ctx;
	int status;

	*n_r = 0;
	for (status = QSTORE_PENDING; status <= QSTORE_NON_SPAM; status++) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.status = status;
		ctx.before = before;
		do {
			if (qstore_run(qs, 1, expire_txn, &ctx,
				       "expiring incidents", NULL, error_r,
				       kind_r) < 0)
				return -1;
			*n_r += ctx.n;
		} while (!ctx.done);
	}
	return 0;
}

/* ---- (sender, relay) pairs */

struct pair_ctx {
	struct str key;
	time_t when;
	int update;
	int found;
	struct qstore_pair before;
};

static void pair_key(const char *sender, const char *relay, struct str *k)
{
	const char *p;

	str_clear(k);
	for (p = sender != NULL ? sender : ""; *p; p++)
		str_appendc(k, (char)tolower((unsigned char)*p));
	str_appendc(k, '\0');
	for (p = relay != NULL ? relay : ""; *p; p++)
		str_appendc(k, (char)tolower((unsigned char)*p));
}

static int pair_txn(struct qstore *qs, DB_TXN *txn, void *vctx)
{
	struct pair_ctx *ctx = vctx;
	DB *db = qs->db[QDB_PAIRS];
	struct qrec_reader r;
	struct qstore_pair now;
	struct str rec = STR_INIT;
	const unsigned char *v;
	unsigned tag;
	size_t n;
	uint64_t u;
	DBT key, data;
	int ret;

	memset(&ctx->before, 0, sizeof(ctx->before));
	ctx->found = 0;
	qstore_dbt_in(&key, ctx->key.s, ctx->key.len);
	qstore_dbt_out(&data);
	ret = db->get(db, txn, &key, &data, ctx->update ? DB_RMW : 0);
	if (ret == 0 && qrec_open(&r, data.data, data.size, 'S') == 0) {
		while (qrec_next(&r, &tag, &v, &n) > 0) {
			if (qrec_get_u64(v, n, &u) < 0)
				continue;
			if (tag == TP_FIRST)
				ctx->before.first_seen = (time_t)(int64_t)u;
			else if (tag == TP_LAST)
				ctx->before.last_seen = (time_t)(int64_t)u;
			else if (tag == TP_COUNT)
				ctx->before.count = u;
		}
		ctx->found = 1;
	}
	free(data.data);
	if (ret != 0 && ret != DB_NOTFOUND)
		return ret;
	if (!ctx->update)
		return 0;
	now = ctx->before;
	if (now.count == 0 || now.first_seen > ctx->when)
		now.first_seen = ctx->when;
	if (ctx->when > now.last_seen)
		now.last_seen = ctx->when;
	now.count++;
	qrec_begin(&rec, 'S');
	qrec_put_i64(&rec, TP_FIRST, (int64_t)now.first_seen);
	qrec_put_i64(&rec, TP_LAST, (int64_t)now.last_seen);
	qrec_put_u64(&rec, TP_COUNT, now.count);
	qstore_dbt_in(&data, rec.s, rec.len);
	ret = db->put(db, txn, &key, &data, 0);
	str_deinit(&rec);
	return ret;
}

int qstore_pair_seen(struct qstore *qs, const char *sender,
		     const char *relay_ip, time_t when,
		     struct qstore_pair *before_r, char **error_r,
		     enum errkind *kind_r)
{
	struct pair_ctx ctx;
	int ret;

	memset(&ctx, 0, sizeof(ctx));
	pair_key(sender, relay_ip, &ctx.key);
	ctx.when = when;
	ctx.update = 1;
	/* history for the one-shot guess: losing the last sightings in a
	   crash costs nothing, so no log flush per message */
	ret = qstore_run(qs, QSTORE_WRITE_NOSYNC, pair_txn, &ctx,
			 "recording the sender/relay pair",
			 NULL, error_r, kind_r);
	str_deinit(&ctx.key);
	if (ret == 0 && before_r != NULL)
		*before_r = ctx.before;
	return ret;
}

int qstore_pair_get(struct qstore *qs, const char *sender,
		    const char *relay_ip, struct qstore_pair *r,
		    char **error_r, enum errkind *kind_r)
{
	struct pair_ctx ctx;
	int ret;

	memset(&ctx, 0, sizeof(ctx));
	memset(r, 0, sizeof(*r));
	pair_key(sender, relay_ip, &ctx.key);
	ret = qstore_run(qs, 0, pair_txn, &ctx, "reading the sender/relay pair",
			 NULL, error_r, kind_r);
	str_deinit(&ctx.key);
	if (ret < 0)
		return -1;
	*r = ctx.before;
	return ctx.found;
}
