/* Filling struct err. */
#include <stdio.h>
#include <string.h>

#include "err.h"

void err_clear(struct err *e)
{
    memset(e, 0, sizeof(*e));
}

void err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL) {
        return;
    }
    err_clear(e);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

void err_set_at(struct err *e, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL) {
        return;
    }
    err_clear(e);
    snprintf(e->file, sizeof(e->file), "%s", file);
    e->line = line;
    e->col = col;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}
