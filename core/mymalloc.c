/*
 * mymalloc - allocation wrappers that never return NULL.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "mymalloc.h"
#include "msg.h"

void *mymalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *mycalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	p = calloc(n, size);
	if (p == NULL)
		msg_fatal("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *myrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory reallocating %zu bytes", size);
	return p;
}

void *mymemdup(const void *src, size_t n)
{
	void *p = mymalloc(n);

	if (n > 0)
		memcpy(p, src, n);
	return p;
}

char *mystrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = mymalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *mystrdup(const char *s)
{
	return mystrndup(s, SIZE_MAX);
}
