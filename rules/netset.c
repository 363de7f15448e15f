/*
 * netset - lists of IP networks (trusted_networks and the like).
 *
 * Every network is held as 16 bytes and a prefix length, IPv4 ones mapped
 * into ::ffff:0:0/96, and the list is searched in order: SpamAssassin's
 * NetSet without Net::Patricia, which is what decides which entry wins.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "netset.h"

#define NETSET_ENTRY_MAX	128	/* longest entry text considered */

struct netset_entry {
	unsigned char addr[16];	/* masked to plen bits */
	int plen;		/* 0..128 */
	int exclude;
};

struct netset {
	struct netset_entry *v;
	size_t n, cap;
};

static const unsigned char v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static void mask_addr(unsigned char addr[16], int plen)
{
	int i;

	for (i = 0; i < 16; i++) {
		int bits = plen - i * 8;

		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
}

/* ADDR lies in the network NET/PLEN */
static int in_net(const unsigned char addr[16], const unsigned char net[16],
		  int plen)
{
	unsigned char a[16];

	memcpy(a, addr, 16);
	mask_addr(a, plen);
	return memcmp(a, net, 16) == 0;
}

/* an address as inet_pton reads it, IPv4 mapped into IPv6 */
static int parse_addr(const char *s, unsigned char addr[16], int *v4_r)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(addr, v4_mapped, 12);
		memcpy(addr + 12, &a4, 4);
		*v4_r = 1;
		return 0;
	}
	*v4_r = 0;
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

/* an IPv4 netmask "255.255.240.0" as a prefix length, -1 if not one */
static int mask_len(const char *s)
{
	struct in_addr a;
	unsigned long m;
	int n = 0;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (n < 32 && (m & (0x80000000UL >> n)))
		n++;
	return (m & (0xffffffffUL >> n)) == 0 ? n : -1;
}

/*
 * SpamAssassin's IPv4 short forms: up to four decimal numbers with an
 * optional trailing dot; missing octets are 0 and give the default
 * prefix length.  Returns 1 and the dotted quad in OUT, 0 if TEXT does
 * not look like IPv4 (no leading number), -1 if it is a bad one.
 */
static int ipv4_short(const char *text, char *out, size_t out_size,
		      int *plen_r)
{
	unsigned long oct[4] = { 0, 0, 0, 0 };
	const char *p = text;
	int n = 0;

	if (!isdigit((unsigned char)*p) || (p[strspn(p, "0123456789")] != '.' &&
					    p[strspn(p, "0123456789")] != '\0'))
		return 0;
	while (n < 4 && isdigit((unsigned char)*p)) {
		char *end;

		oct[n++] = strtoul(p, &end, 10);
		if (end - p > 10)
			return -1;
		p = end;
		if (*p != '.')
			break;
		p++;
		if (n == 4)
			return -1;	/* "1.2.3.4." */
	}
	if (*p != '\0')
		return -1;
	if (oct[0] > 255 || oct[1] > 255 || oct[2] > 255 || oct[3] > 255)
		return -1;
	snprintf(out, out_size, "%lu.%lu.%lu.%lu", oct[0], oct[1], oct[2],
		 oct[3]);
	*plen_r = n * 8;
	return 1;
}

struct netset *netset_new(int loopback)
{
	struct netset *ns = mycalloc(1, sizeof(*ns));

	netset_clear(ns, loopback);
	return ns;
}

void netset_deinit(struct netset **nsp)
{
	if (*nsp == NULL)
		return;
	free((*nsp)->v);
	MYFREE(nsp);
}

void netset_clear(struct netset *ns, int loopback)
{
	const char *error;

	ns->n = 0;
	if (loopback) {
		if (netset_add(ns, "127.0.0.0/8", &error) != 1 ||
		    netset_add(ns, "::1", &error) != 1)
			msg_panic("netset: loopback entries refused: %s",
				  error);
	}
}

int netset_add(struct netset *ns, const char *entry, const char **error_r)
{
	char text[NETSET_ENTRY_MAX], quad[32];
	char *slash, *addr_text, *pct;
	struct netset_entry e;
	int v4, plen = -1, rc;
	size_t i, len;

	memset(&e, 0, sizeof(e));
	while (isspace((unsigned char)*entry))
		entry++;
	if (*entry == '!') {
		e.exclude = 1;
		entry++;
		while (isspace((unsigned char)*entry))
			entry++;
	}
	len = strlen(entry);
	if (len == 0 || len >= sizeof(text)) {
		*error_r = "not an IP address or network";
		return -1;
	}
	memcpy(text, entry, len + 1);
	addr_text = text;
	if ((slash = strchr(text, '/')) != NULL)
		*slash++ = '\0';
	len = strlen(addr_text);
	if (len >= 2 && addr_text[0] == '[' && addr_text[len - 1] == ']') {
		addr_text[len - 1] = '\0';
		addr_text++;
	}
	if ((pct = strchr(addr_text, '%')) != NULL)
		*pct = '\0';	/* an interface scope: ignored */
	if (strchr(addr_text, '-') != NULL) {
		*error_r = "IP ranges (a-b) are not supported";
		return -1;
	}
	rc = ipv4_short(addr_text, quad, sizeof(quad), &plen);
	if (rc < 0) {
		*error_r = "bad IPv4 address";
		return -1;
	}
	if (rc > 0)
		addr_text = quad;
	if (parse_addr(addr_text, e.addr, &v4) < 0) {
		*error_r = "not an IP address or network";
		return -1;
	}
	if (slash != NULL) {
		char *end;
		long l = strtol(slash, &end, 10);

		if (v4 && strchr(slash, '.') != NULL)
			l = mask_len(slash);
		else if (end == slash || *end != '\0')
			l = -1;
		if (l < 0 || l > (v4 ? 32 : 128)) {
			*error_r = "bad network mask";
			return -1;
		}
		plen = (int)l;
	} else if (rc == 0) {
		plen = v4 ? 32 : 128;
	}
	e.plen = v4 ? plen + 96 : plen;
	mask_addr(e.addr, e.plen);
	for (i = 0; i < ns->n; i++) {
		const struct netset_entry *o = &ns->v[i];

		if (e.plen >= o->plen && in_net(e.addr, o->addr, o->plen)) {
			*error_r = o->exclude
				   ? "inside an earlier excluded entry; ignored"
				   : "inside an earlier entry; ignored";
			return 0;
		}
	}
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 8;
		ns->v = myrealloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	ns->v[ns->n++] = e;
	return 1;
}

int netset_contains(const struct netset *ns, const char *ip)
{
	unsigned char a[16];
	int v4;
	size_t i;

	if (ns->n == 0 || parse_addr(ip, a, &v4) < 0)
		return 0;
	for (i = 0; i < ns->n; i++)
		if (in_net(a, ns->v[i].addr, ns->v[i].plen))
			return !ns->v[i].exclude;
	return 0;
}

size_t netset_count(const struct netset *ns)
{
	return ns->n;
}
