/* Allocation that cannot fail: out of memory logs and aborts (inputs are bounded). */
#ifndef ROLLWATCH_XMALLOC_H
#define ROLLWATCH_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
