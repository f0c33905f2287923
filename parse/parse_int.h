/* parse module internals shared between its files. */
#ifndef ROLLWATCH_PARSE_INT_H
#define ROLLWATCH_PARSE_INT_H

#include <string.h>

#include "record.h"

static inline int parse__has_prefix_n(struct slice s, const char *prefix, size_t n)
{
    return s.p != NULL && s.len >= n && memcmp(s.p, prefix, n) == 0;
}

/* prefix must be a string literal (its length is taken at compile time) */
#define parse__has_prefix(s, prefix) parse__has_prefix_n((s), prefix, sizeof(prefix) - 1)

/* parse_object_name with p's memo of recent names (parse_name.c). */
struct parser;
void parse__object_name_memo(struct parser *p, struct slice name, struct slice msg,
                             struct record *out);

/* Deploy transcript lines (convox deploy / releases promote). Returns 1 if recognised. */
int parse__cli_line(const char *s, size_t n, struct record *out);


#endif
