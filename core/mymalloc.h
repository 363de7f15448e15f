/*
 * mymalloc - memory allocation that either succeeds or does not return.
 *
 * Callers never check for NULL: on exhaustion the process logs and exits
 * (a session child dies, the master and other sessions go on).
 */
#ifndef SPAMTRAP_MYMALLOC_H
#define SPAMTRAP_MYMALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *mymalloc(size_t size);
void *mycalloc(size_t n, size_t size);
void *myrealloc(void *ptr, size_t size);
char *mystrdup(const char *s);
char *mystrndup(const char *s, size_t n);
void *mymemdup(const void *p, size_t n);

/* free(*pp) and set *pp to NULL */
#define MYFREE(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
