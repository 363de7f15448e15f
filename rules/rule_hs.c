/*
 * rule_hs - one pass over a text for many regexes (Hyperscan).
 *
 * Each regex goes in with HS_FLAG_PREFILTER (what Hyperscan cannot
 * express exactly, it widens: no match is ever missed) and
 * HS_FLAG_SINGLEMATCH (one report per regex per scan is all we need).
 * The PCRE2 options map one to one; /x becomes the (?x) modifier.
 *
 * The scratch space lives in the database object, one per lane (see
 * lanes.h): a lane scans one text at a time.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <hs.h>

#include "lanes.h"
#include "mymalloc.h"
#include "rule_hs.h"
#include "rule_prefilter.h"
#include "str.h"

#define HS_CHUNK	48	/* patterns per database, about: compile time
				   grows faster than the number of patterns,
				   scan time with the number of databases */
#define HS_CHUNK_LITERAL 256	/* the same for patterns with a required
				   literal (see rule_hs_build) */
#define HS_MAX_THREADS	4	/* compiling databases at once */
#define HS_CACHE_DAYS	30	/* cached databases unused that long go */
#define HS_MAX_REPEAT	10	/* larger bounded repeats are widened */

struct rule_hs {
	hs_database_t **db;
	hs_database_t **plain;	/* for plain texts (rule_hs_plain_text):
				   db[i] itself, or one without the
				   alternatives such texts cannot match */
	size_t n_db;
	int from_cache, compiled;	/* databases loaded, compiled */
	hs_scratch_t *scratch[LANES_MAX];	/* each fits every database */
	size_t size;
};

struct scan_ctx {
	int32_t line;
	int32_t *first, *last;
};

/* Hyperscan flags for PCRE2 options, or -1 when it cannot take them */
static int hs_flags(uint32_t opts)
{
	int flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH |
		    HS_FLAG_MULTILINE;

	if (opts & PCRE2_UTF)
		return -1;	/* subjects need not be valid UTF-8 */
	if (opts & PCRE2_CASELESS)
		flags |= HS_FLAG_CASELESS;
	if (opts & PCRE2_DOTALL)
		flags |= HS_FLAG_DOTALL;
	return flags;
}

/*
 * Does the pattern anchor at the start or end of the whole subject (\A,
 * \z, \Z, \G)?  Scanned over texts joined by "\n", such a pattern would
 * miss a match in any text but the first or last.
 */
static int subject_anchor(const char *p)
{
	while (*p) {
		if (*p == '\\' && p[1] != '\0') {
			if (strchr("AzZG", p[1]))
				return 1;
			p += 2;
		} else if (*p == '[') {
			const char *e = rule_prefilter_skip_class(p);

			if (e == NULL)
				return 1;	/* unsure */
			p = e;
		} else {
			p++;
		}
	}
	return 0;
}

/*
 * Widen the bounded repeats of a pattern: X{a,b} with a or b above
 * HS_MAX_REPEAT becomes X{min(a, HS_MAX_REPEAT),}, a superset (X{a,b} is
 * contained in X{m,} for any m <= a), so the prefilter still never
 * misses a match.  Large bounded repeats are what makes Hyperscan's
 * compile slow (X{0,2048}: seconds) while saying little about whether a
 * text may match.
 */
static void widen_repeats(const char *p, struct str *out)
{
	while (*p) {
		if (*p == '\\' && p[1] != '\0') {
			/* \x{..} \p{..} and the like keep their braces */
			if (strchr("xpPNogk", p[1]) && p[2] == '{') {
				const char *e = strchr(p + 3, '}');
				size_t l = e ? (size_t)(e - p) + 1 : strlen(p);

				str_append(out, p, l);
				p += l;
			} else {
				str_append(out, p, 2);
				p += 2;
			}
			continue;
		}
		if (*p == '[') {
			const char *e = rule_prefilter_skip_class(p);
			size_t l = e ? (size_t)(e - p) : strlen(p);

			str_append(out, p, l);
			p += l;
			continue;
		}
		if (*p == '{') {
			int group = out->len > 0 && out->s[out->len - 1] == ')';
			unsigned long a = 0, b = 0;
			int has_b = 0, inf = 0;
			const char *q = p + 1;

			if (isdigit((unsigned char)*q)) {
				a = strtoul(q, (char **)&q, 10);
				if (*q == ',') {
					q++;
					if (isdigit((unsigned char)*q)) {
						b = strtoul(q, (char **)&q, 10);
						has_b = 1;
					} else {
						inf = 1;
					}
				} else {
					b = a;
					has_b = 1;
				}
				if (*q == '}' && group && (inf || b > 1)) {
					/* a group's copies: its loop */
					str_appendc(out, a > 0 ? '+' : '*');
					p = q + 1;
					continue;
				}
				if (*q == '}' && (a > HS_MAX_REPEAT ||
						  (has_b && b > HS_MAX_REPEAT))) {
					str_printf(out, "{%lu,}",
						   a < HS_MAX_REPEAT ? a
						   : HS_MAX_REPEAT);
					p = q + 1;
					continue;
				}
				(void)inf;
			}
		}
		str_appendc(out, *p++);
	}
}

/* a class of bytes above 0x7f only ("[\xc3]", "[\x80-\x85\xa0]") */
static int high_class(const char **pp)
{
	const char *p = *pp + 1;
	int n = 0;

	while (*p != ']') {
		unsigned v;

		if (p[0] != '\\' || p[1] != 'x' || !isxdigit((unsigned char)p[2]) ||
		    !isxdigit((unsigned char)p[3]))
			return 0;
		if (sscanf(p + 2, "%2x", &v) != 1 || v < 0x80)
			return 0;
		p += 4;
		n++;
		if (*p == '-' && p[1] != ']')
			p++;
	}
	*pp = p + 1;
	return n > 0;
}

/*
 * A sequence of high-byte classes and groups of such sequences, up to
 * '|', ')' or the end: the most bytes it matches, -1 if it is anything
 * else (a quantifier, a literal, ...).
 */
static int high_seq(const char **pp, int depth)
{
	int len = 0;

	if (depth > 8)
		return -1;
	while (**pp != '\0' && **pp != '|' && **pp != ')') {
		if (**pp == '[') {
			if (!high_class(pp))
				return -1;
			len++;
		} else if (strncmp(*pp, "(?:", 3) == 0) {
			int best = 0;

			*pp += 3;
			for (;;) {
				int l = high_seq(pp, depth + 1);

				if (l < 0)
					return -1;
				if (l > best)
					best = l;
				if (**pp == '|') {
					(*pp)++;
				} else if (**pp == ')') {
					(*pp)++;
					break;
				} else {
					return -1;
				}
			}
			len += best;
		} else {
			return -1;
		}
	}
	return len;
}

/* "&\#" digits, x, hex letters and regex punctuation ";" */
static int numeric_ref(const char *s, size_t len)
{
	size_t i;

	size_t at = strncmp(s, "&\\#", 3) == 0 ? 3
		    : strncmp(s, "&#", 2) == 0 ? 2 : 0;

	if (at == 0 || len < at + 2 || s[len - 1] != ';')
		return 0;
	for (i = at; i < len - 1; i++)
		if (!isxdigit((unsigned char)s[i]) &&
		    strchr("x()?:|[]-", s[i]) == NULL)
			return 0;
	return 1;
}

/*
 * ALT is one class "[...]" (not negated) of single characters, "\\xHH"
 * escapes and ranges: append it to OUT without its members above 0x7f,
 * which the [\x80-\xff]{1,4} alternative covers (*high is set).
 * Returns 0 when ALT is not such a class (OUT untouched).
 */
static int ascii_class(const char *alt, struct str *out, int first,
		       int *high)
{
	const char *p = alt + 1, *e;
	struct str cls = STR_INIT;
	int dropped = 0;

	if (alt[0] != '[' || alt[1] == '^' ||
	    (e = rule_prefilter_skip_class(alt)) == NULL || *e != '\0')
		return 0;
	e--;			/* the closing ']' */
	while (p < e) {
		const char *m = p;
		unsigned v = 0;
		int hi;

		/* one member: "\xHH", "\c" or a character; then maybe a range */
		if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
		    isxdigit((unsigned char)p[3])) {
			if (sscanf(p + 2, "%2x", &v) != 1) {
				str_deinit(&cls);
				return 0;
			}
			p += 4;
		} else if (p[0] == '\\' && p[1] != '\0') {
			if (strchr("xpPNo", p[1])) {	/* \x{..} and such */
				str_deinit(&cls);
				return 0;
			}
			p += 2;
		} else if (p[0] == '[' && p[1] == ':') {
			str_deinit(&cls);
			return 0;
		} else {
			v = (unsigned char)*p++;
		}
		hi = v >= 0x80;
		if (*p == '-' && p + 1 < e) {
			/* a range: keep it whole unless it starts high */
			p++;
			if (p[0] == '\\' && p[1] == 'x')
				p += 4;
			else if (p[0] == '\\')
				p += 2;
			else
				p++;
		}
		if (hi)
			dropped = 1;
		else
			str_append(&cls, m, (size_t)(p - m));
	}
	if (!dropped) {
		str_deinit(&cls);
		return 0;
	}
	*high = 1;
	if (cls.len > 0) {
		if (!first)
			str_appendc(out, '|');
		str_appendc(out, '[');
		str_append(out, cls.s, cls.len);
		str_appendc(out, ']');
	}
	str_deinit(&cls);
	return 1;
}

char *rule_hs_simplify_tag(const char *value)
{
	size_t len = strlen(value), i;
	const char *body, *end, *p;
	struct str out = STR_INIT;
	int depth = 0, high = 0, ref = 0, first = 1;

	/* the value must be one group "(?:...)" */
	if (len < 5 || strncmp(value, "(?:", 3) != 0 || value[len - 1] != ')')
		return NULL;
	for (i = 0; i < len; i++) {
		if (value[i] == '\\') {
			i++;
		} else if (value[i] == '[') {
			const char *e = rule_prefilter_skip_class(value + i);

			if (e == NULL)
				return NULL;
			i = (size_t)(e - value) - 1;
		} else if (value[i] == '(') {
			depth++;
		} else if (value[i] == ')' && --depth == 0 && i != len - 1) {
			return NULL;
		}
	}
	body = value + 3;
	end = value + len - 1;
	str_appends(&out, "(?:");
	for (p = body; p <= end;) {
		/* the next top-level alternative [p, q) */
		const char *q = p;
		int d = 0;
		char *alt;
		const char *ap;
		int hl;

		while (q < end && !(d == 0 && *q == '|')) {
			if (*q == '\\')
				q++;
			else if (*q == '[')
				q = rule_prefilter_skip_class(q) - 1;
			else if (*q == '(')
				d++;
			else if (*q == ')')
				d--;
			q++;
		}
		alt = mystrndup(p, (size_t)(q - p));
		ap = alt;
		hl = high_seq(&ap, 0);
		if (hl >= 1 && hl <= 4 && *ap == '\0') {
			high = 1;
		} else if (numeric_ref(alt, strlen(alt))) {
			ref = 1;
		} else if (ascii_class(alt, &out, first, &high)) {
			first = 0;
		} else {
			if (!first)
				str_appendc(&out, '|');
			str_appends(&out, alt);
			first = 0;
		}
		free(alt);
		p = q + 1;
	}
	if (!high && !ref) {
		str_deinit(&out);
		return NULL;
	}
	if (high) {
		str_appends(&out, first ? "" : "|");
		str_appends(&out, "[\\x80-\\xff]{1,4}");
		first = 0;
	}
	if (ref)
		str_appends(&out, first ? "&\\#\\w+;" : "|&\\#\\w+;");
	str_appendc(&out, ')');
	return str_steal(&out);
}

/* can Hyperscan take this pattern on its own? */
static int hs_acceptable(const char *expr, int flags)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *err = NULL;
	int ok;

	if (hs_expression_info(expr, (unsigned)flags, &info, &err) !=
	    HS_SUCCESS) {
		hs_free_compile_error(err);
		return 0;
	}
	/* an empty match would be reported for every text */
	ok = info->min_width > 0;
	free(info);
	return ok;
}

static uint64_t text_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/*
 * The compile cache: a database compiled once is kept in CACHE_DIR as
 * hs-KEY.db, KEY being a 128-bit hash of the Hyperscan version and the
 * chunk's expressions, flags and ids.  Loading it takes milliseconds
 * where compiling takes seconds.  A file that does not load (another
 * CPU, a damaged file) is compiled again and replaced.  Everything here
 * is best effort: without a usable directory the databases are compiled.
 */
static void cache_key(const char *const *exprs, const unsigned *flags,
		      const unsigned *ids, size_t n, char key[33])
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	const char *v = hs_version();
	size_t i;

#define MIX(c) do { a = (a ^ (unsigned char)(c)) * 0x100000001b3ULL; \
		    b = (b ^ (unsigned char)(c)) * 0x9e3779b97f4a7c15ULL + 0x7f; \
		   } while (0)
	for (; *v; v++)
		MIX(*v);
	MIX(0);
	for (i = 0; i < n; i++) {
		const char *e;
		unsigned k;

		for (e = exprs[i]; *e; e++)
			MIX(*e);
		MIX(0);
		for (k = 0; k < 4; k++)
			MIX(flags[i] >> (8 * k));
		for (k = 0; k < 4; k++)
			MIX(ids[i] >> (8 * k));
	}
#undef MIX
	snprintf(key, 33, "%016llx%016llx", (unsigned long long)a,
		 (unsigned long long)b);
}

static hs_database_t *cache_load(const char *dir, const char *key)
{
	struct str path = STR_INIT, data = STR_INIT;
	hs_database_t *db = NULL;
	char buf[65536];
	size_t r;
	FILE *fp;

	str_printf(&path, "%s/hs-%s.db", dir, key);
	if ((fp = fopen(path.s, "rb")) != NULL) {
		while ((r = fread(buf, 1, sizeof(buf), fp)) > 0)
			str_append(&data, buf, r);
		if (!ferror(fp) && data.len > 0 &&
		    hs_deserialize_database(data.s, data.len, &db) !=
		    HS_SUCCESS)
			db = NULL;
		(void)fclose(fp);
		if (db != NULL)
			(void)utimes(path.s, NULL);	/* still in use */
	}
	str_deinit(&path);
	str_deinit(&data);
	return db;
}

static void cache_save(const char *dir, const char *key,
		       const hs_database_t *db)
{
	struct str path = STR_INIT, tmp = STR_INIT;
	char *bytes = NULL;
	size_t len = 0;
	int fd;

	if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
		return;
	str_printf(&path, "%s/hs-%s.db", dir, key);
	str_printf(&tmp, "%s/hs-%s.db.%ld.tmp", dir, key, (long)getpid());
	fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		size_t off = 0;
		int ok = 1;

		while (off < len && ok) {
			ssize_t w = write(fd, bytes + off, len - off);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno == EINTR)
				continue;
			else
				ok = 0;
		}
		if (close(fd) < 0)
			ok = 0;
		if (!ok || rename(tmp.s, path.s) < 0)
			(void)unlink(tmp.s);
	}
	free(bytes);
	str_deinit(&path);
	str_deinit(&tmp);
}

/* the cache directory exists (made if missing: it and its parent) */
static int cache_dir_ready(const char *dir)
{
	struct stat st;

	if (dir == NULL || *dir == '\0')
		return 0;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0;
	if (mkdir(dir, 0755) < 0) {
		char *parent = mystrdup(dir), *slash = strrchr(parent, '/');

		if (slash != NULL && slash != parent) {
			*slash = '\0';
			(void)mkdir(parent, 0755);
		}
		free(parent);
		if (mkdir(dir, 0755) < 0)
			return 0;
	}
	return 1;
}

/* databases nobody loaded for HS_CACHE_DAYS go */
static void cache_prune(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t old = time(NULL) - (time_t)HS_CACHE_DAYS * 86400;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct str path = STR_INIT;
		struct stat st;

		if (strncmp(de->d_name, "hs-", 3) != 0)
			continue;
		str_printf(&path, "%s/%s", dir, de->d_name);
		if (stat(path.s, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < old)
			(void)unlink(path.s);
		str_deinit(&path);
	}
	(void)closedir(d);
}

/* one database to load or compile, possibly in a thread of its own */
struct chunk {
	const char **e;		/* expressions, flags, ids: the chunk's own */
	unsigned *f, *id;	/* copies (the compiler may drop some) */
	size_t n;
	const char *cache_dir;
	hs_database_t *db;	/* the result, or NULL */
	int cached;		/* loaded from the cache (else compiled) */
	size_t db_index;	/* where it went in the rule_hs */
};

/*
 * Load the chunk's database from the cache, or compile it; a pattern
 * the compiler refuses is dropped and the rest tried again.  A cached
 * database holds the whole chunk: a chunk from which a pattern was
 * dropped is not cached (the cache keeps no list of what a database
 * holds), it is compiled again next time.
 */
static void chunk_build(struct chunk *c)
{
	char key[33];
	int dropped = 0;
	size_t i;

	if (c->cache_dir != NULL) {
		cache_key(c->e, c->f, c->id, c->n, key);
		if ((c->db = cache_load(c->cache_dir, key)) != NULL) {
			c->cached = 1;
			return;
		}
	}
	while (c->n > 0) {
		hs_compile_error_t *err = NULL;

		if (hs_compile_multi(c->e, c->f, c->id, (unsigned)c->n,
				     HS_MODE_BLOCK, NULL, &c->db, &err) ==
		    HS_SUCCESS) {
			if (c->cache_dir != NULL && !dropped)
				cache_save(c->cache_dir, key, c->db);
			return;
		}
		c->db = NULL;
		if (err == NULL || err->expression < 0 ||
		    (size_t)err->expression >= c->n) {
			hs_free_compile_error(err);
			return;	/* not one pattern's fault */
		}
		i = (size_t)err->expression;
		hs_free_compile_error(err);
		memmove(c->e + i, c->e + i + 1, (c->n - i - 1) * sizeof(*c->e));
		memmove(c->f + i, c->f + i + 1, (c->n - i - 1) * sizeof(*c->f));
		memmove(c->id + i, c->id + i + 1,
			(c->n - i - 1) * sizeof(*c->id));
		c->n--;
		dropped = 1;
	}
}

/* free C's lists (and its expressions when it owns them) */
static void chunk_clear(struct chunk *c, int own)
{
	size_t i;

	for (i = 0; own && i < c->n; i++)
		free((char *)c->e[i]);
	free(c->e);
	free(c->f);
	free(c->id);
	memset(c, 0, sizeof(*c));
}

/*
 * Take C's database into HS's counts when the scratch space can be made
 * to fit it (1); else free it (0).
 */
static int chunk_adopt(struct rule_hs *hs, struct chunk *c)
{
	size_t size = 0;

	if (c->db == NULL)
		return 0;
	if (hs_alloc_scratch(c->db, &hs->scratch[0]) != HS_SUCCESS) {
		hs_free_database(c->db);
		c->db = NULL;
		return 0;
	}
	if (hs_database_size(c->db, &size) == HS_SUCCESS)
		hs->size += size;
	if (c->cached)
		hs->from_cache++;
	else
		hs->compiled++;
	return 1;
}

/* compile threads share the list of chunks */
struct chunk_queue {
	struct chunk *chunks;
	size_t n, next;
	pthread_mutex_t lock;
};

static void *chunk_worker(void *vq)
{
	struct chunk_queue *q = vq;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&q->lock);
		i = q->next++;
		pthread_mutex_unlock(&q->lock);
		if (i >= q->n)
			return NULL;
		chunk_build(&q->chunks[i]);
	}
}

/* build every chunk, on as many threads as there are CPUs (at most 4) */
static void chunks_build(struct chunk *chunks, size_t n)
{
	struct chunk_queue q = { chunks, n, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[HS_MAX_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 1 ? (size_t)cpus : 1, started = 0, i;

	if (want > HS_MAX_THREADS)
		want = HS_MAX_THREADS;
	if (want > n)
		want = n;
	for (i = 1; i < want; i++)
		if (pthread_create(&th[started], NULL, chunk_worker, &q) == 0)
			started++;
	(void)chunk_worker(&q);	/* this thread works too */
	for (i = 0; i < started; i++)
		(void)pthread_join(th[i], NULL);
}

/* the alternatives a plain text cannot match: one to four bytes above
   0x7f, a numeric character reference (rule_hs_simplify_tag writes
   them so; hand-written rules have them too) */
static const char *const not_plain[] = {
	"[\\x80-\\xff]{1,4}", "&\\#\\w+;", NULL,
};

/*
 * E without its alternatives listed in not_plain[] (each between an
 * unescaped "|" and the "|" or ")" that ends it, outside any class): the
 * same matches on a plain text.  NULL when there are none, or when E
 * quotes (\Q), comments or is in extended mode, where text that looks
 * like an alternative may not be one.
 */
static char *plain_variant(const char *e)
{
	struct str out = STR_INIT;
	const char *p = e;
	int changed = 0;

	/* quoted text and comments are not alternatives: leave them be */
	if (strstr(e, "\\Q") != NULL || strstr(e, "(?#") != NULL ||
	    strstr(e, "(?x") != NULL)
		return NULL;
	while (*p) {
		size_t i, l = 0;

		if (*p == '\\' && p[1] != '\0') {
			str_append(&out, p, 2);
			p += 2;
			continue;
		}
		if (*p == '[') {
			const char *q = rule_prefilter_skip_class(p);

			str_append(&out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (*p == '|')
			for (i = 0; not_plain[i] != NULL && l == 0; i++) {
				size_t k = strlen(not_plain[i]);

				if (strncmp(p + 1, not_plain[i], k) == 0 &&
				    (p[1 + k] == '|' || p[1 + k] == ')'))
					l = 1 + k;
			}
		if (l > 0) {
			p += l;
			changed = 1;
			continue;
		}
		str_appendc(&out, *p++);
	}
	if (!changed) {
		str_deinit(&out);
		return NULL;
	}
	return str_steal(&out);
}

int rule_hs_plain_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] >= 0x80 || (p[i] == '&' && i + 1 < len &&
				     p[i + 1] == '#'))
			return 0;
	return 1;
}

/*
 * For each database compiled from CHUNKS (N of them), one for plain
 * texts when some of its patterns have a plain variant: HS->plain.  A
 * variant database must hold every pattern of the original (else a
 * plain text would miss one): when the compiler drops one, the
 * original is used for plain texts too.
 */
static void plain_build(struct rule_hs *hs, struct chunk *chunks, size_t n,
			const char *cache_dir)
{
	struct chunk *pc = mycalloc(n + 1, sizeof(*pc));
	size_t *of = mycalloc(n + 1, sizeof(size_t));
	size_t b, i, m = 0;

	hs->plain = mycalloc(hs->n_db + 1, sizeof(*hs->plain));
	if (hs->n_db > 0)
		memcpy(hs->plain, hs->db, hs->n_db * sizeof(*hs->plain));
	for (b = 0; b < n; b++) {
		struct chunk *c = &chunks[b], *v = &pc[m];
		int changed = 0;

		if (c->db == NULL)
			continue;
		v->e = mycalloc(c->n + 1, sizeof(char *));
		v->f = mymemdup(c->f, (c->n + 1) * sizeof(unsigned));
		v->id = mymemdup(c->id, (c->n + 1) * sizeof(unsigned));
		v->n = c->n;
		v->cache_dir = cache_dir;
		for (i = 0; i < c->n; i++) {
			char *pv = plain_variant(c->e[i]);

			changed |= pv != NULL;
			v->e[i] = pv ? pv : mystrdup(c->e[i]);
		}
		of[m] = b;
		if (changed)
			m++;
		else
			chunk_clear(v, 1);
	}
	chunks_build(pc, m);
	for (b = 0; b < m; b++) {
		struct chunk *v = &pc[b];

		if (v->db != NULL && v->n != chunks[of[b]].n) {
			hs_free_database(v->db);	/* a pattern dropped */
			v->db = NULL;
		}
		if (chunk_adopt(hs, v))
			hs->plain[chunks[of[b]].db_index] = v->db;
		chunk_clear(v, 1);
	}
	free(pc);
	free(of);
}

/* does every match of PATTERN contain one of a few literals? */
static int has_literal(const char *pattern, uint32_t opts)
{
	char **lits = NULL;
	size_t n = 0, i;
	int found = rule_prefilter_literals(pattern, opts, &lits, &n);

	for (i = 0; i < n; i++)
		free(lits[i]);
	free(lits);
	return found;
}

/* databases for M patterns, about PER each: a power of two, so that a
   pattern stays in its database until the number doubles */
static size_t bucket_count(size_t m, size_t per)
{
	size_t buckets = 1;

	while (buckets * per < m)
		buckets *= 2;
	return buckets;
}

/*
 * Append to CHUNKS (*N_R of them so far) the chunks of the M patterns
 * whose LIT flag is WANT_LIT, by hash into BUCKETS; empty ones are not
 * kept.  The chunks point to EXPRS' strings, they do not own them.
 */
static void chunks_fill(struct chunk *chunks, size_t *n_r, char **exprs,
			const unsigned *flags, const unsigned *ids,
			const unsigned char *lit, size_t m, int want_lit,
			size_t buckets, const char *cache_dir)
{
	size_t b, i;

	for (b = 0; b < buckets; b++) {
		struct chunk *c = &chunks[*n_r];

		c->e = mycalloc(m + 1, sizeof(char *));
		c->f = mycalloc(m + 1, sizeof(unsigned));
		c->id = mycalloc(m + 1, sizeof(unsigned));
		c->cache_dir = cache_dir;
		for (i = 0; i < m; i++) {
			if (lit[i] != want_lit ||
			    text_hash(exprs[i]) % buckets != b)
				continue;
			c->e[c->n] = exprs[i];
			c->f[c->n] = flags[i];
			c->id[c->n++] = ids[i];
		}
		if (c->n > 0)
			(*n_r)++;
		else
			chunk_clear(c, 0);
	}
}

struct rule_hs *rule_hs_build(const char *const *patterns,
			      const uint32_t *opts, size_t n,
			      const char *cache_dir, int lanes,
			      unsigned char *taken, const char **why_r)
{
	char **exprs = mycalloc(n + 1, sizeof(char *));
	unsigned *flags = mycalloc(n + 1, sizeof(unsigned));
	unsigned *ids = mycalloc(n + 1, sizeof(unsigned));
	unsigned char *lit = mycalloc(n + 1, 1);
	size_t i, m = 0, b, buckets, n_chunks = 0, n_lit = 0;
	struct rule_hs *hs = NULL;
	struct chunk *chunks;

	if (hs_valid_platform() != HS_SUCCESS) {
		/* Hyperscan needs SSSE3 on x86: without it, no pass */
		*why_r = "this CPU cannot run Hyperscan";
		memset(taken, 0, n);
		free(exprs);
		free(flags);
		free(ids);
		free(lit);
		return NULL;
	}
	if (!cache_dir_ready(cache_dir))
		cache_dir = NULL;
	*why_r = "no pattern Hyperscan can take";
	for (i = 0; i < n; i++) {
		int f = hs_flags(opts[i]);
		struct str e = STR_INIT;

		taken[i] = 0;
		if (f < 0 || subject_anchor(patterns[i]))
			continue;
		if (opts[i] & PCRE2_EXTENDED)
			str_appends(&e, "(?x)");
		widen_repeats(patterns[i], &e);
		if (!hs_acceptable(e.s, f)) {
			str_deinit(&e);
			continue;
		}
		exprs[m] = str_steal(&e);
		flags[m] = (unsigned)f;
		ids[m] = (unsigned)i;
		m++;
	}
	/*
	 * Databases of about HS_CHUNK patterns each; a pattern's database
	 * is picked by a hash of its text, so adding or changing a rule
	 * changes one database, and the others still come from the cache
	 * (until the number of databases doubles).  Patterns with a
	 * required literal go into databases of their own, HS_CHUNK_LITERAL
	 * each: Hyperscan runs such a pattern's automaton only where one
	 * search for all the database's literals finds its literal, so
	 * putting more of them together saves whole passes over the text;
	 * the patterns without one are what makes a large database slow to
	 * compile.  With the full SpamAssassin rules: 8 % less scoring
	 * time, for a quarter more compile time from nothing (15-17 s
	 * instead of 13 on two cores), the patterns without a literal being
	 * fewer to a database.  The literal databases, the largest, come
	 * first.  Up to HS_CHUNK patterns are not split: one database
	 * (each costs a pass).
	 */
	hs = mycalloc(1, sizeof(*hs));
	for (i = 0; m > HS_CHUNK && i < m; i++) {
		lit[i] = has_literal(patterns[ids[i]], opts[ids[i]]) != 0;
		n_lit += lit[i];
	}
	buckets = bucket_count(n_lit, HS_CHUNK_LITERAL);
	chunks = mycalloc(buckets + bucket_count(m - n_lit, HS_CHUNK),
			  sizeof(*chunks));
	chunks_fill(chunks, &n_chunks, exprs, flags, ids, lit, m, 1, buckets,
		    cache_dir);
	chunks_fill(chunks, &n_chunks, exprs, flags, ids, lit, m, 0,
		    bucket_count(m - n_lit, HS_CHUNK), cache_dir);
	chunks_build(chunks, n_chunks);
	for (b = 0; b < n_chunks; b++) {
		struct chunk *c = &chunks[b];

		if (!chunk_adopt(hs, c))
			continue;
		hs->db = myrealloc(hs->db, (hs->n_db + 1) * sizeof(*hs->db));
		c->db_index = hs->n_db;
		hs->db[hs->n_db++] = c->db;
		for (i = 0; i < c->n; i++)
			taken[c->id[i]] = 1;
	}
	plain_build(hs, chunks, n_chunks, cache_dir);
	for (b = 0; b < n_chunks; b++)
		chunk_clear(&chunks[b], 0);
	free(chunks);
	if (cache_dir != NULL)
		cache_prune(cache_dir);
	if (hs->n_db == 0) {
		*why_r = "the databases could not be compiled";
		rule_hs_deinit(&hs);
	}
	for (b = 1; hs != NULL && b < (size_t)lanes; b++)
		if (hs_clone_scratch(hs->scratch[0], &hs->scratch[b]) !=
		    HS_SUCCESS) {
			*why_r = "no memory for its scratch space";
			memset(taken, 0, n);
			rule_hs_deinit(&hs);
		}
	for (i = 0; i < m; i++)
		free(exprs[i]);
	free(exprs);
	free(flags);
	free(ids);
	free(lit);
	return hs;
}

static int on_match(unsigned int id, unsigned long long from,
		    unsigned long long to, unsigned int flags, void *vctx)
{
	int64_t *end = vctx;

	(void)from;
	(void)flags;
	if (end[id] < 0 || (int64_t)to < end[id])
		end[id] = (int64_t)to;
	return 0;
}

size_t rule_hs_dbs(const struct rule_hs *hs)
{
	return hs->n_db;
}

int rule_hs_scan(const struct rule_hs *hs, int lane, size_t db,
		 const char *s, size_t len, int plain, int64_t *end)
{
	if (len > 0xffffffffu || db >= hs->n_db || lane < 0 ||
	    lane >= LANES_MAX || hs->scratch[lane] == NULL)
		return -1;
	return hs_scan(plain ? hs->plain[db] : hs->db[db], s, (unsigned)len,
		       0, hs->scratch[lane], on_match, end) == HS_SUCCESS
	       ? 0 : -1;
}

size_t rule_hs_size(const struct rule_hs *hs)
{
	return hs->size;
}

void rule_hs_counts(const struct rule_hs *hs, int *from_cache, int *compiled)
{
	*from_cache += hs->from_cache;
	*compiled += hs->compiled;
}

void rule_hs_deinit(struct rule_hs **hsp)
{
	struct rule_hs *hs = *hsp;

	if (hs == NULL)
		return;
	size_t i;

	for (i = 0; i < LANES_MAX; i++)
		if (hs->scratch[i] != NULL)
			hs_free_scratch(hs->scratch[i]);
	for (i = 0; i < hs->n_db; i++) {
		if (hs->plain != NULL && hs->plain[i] != hs->db[i])
			hs_free_database(hs->plain[i]);
		hs_free_database(hs->db[i]);
	}
	free(hs->plain);
	free(hs->db);
	free(hs);
	*hsp = NULL;
}
