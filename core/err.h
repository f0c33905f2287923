/* struct err: a caller-provided error report with an optional file position. */
#ifndef ROLLWATCH_ERR_H
#define ROLLWATCH_ERR_H

#include <stdarg.h>

struct err {
    char msg[1024];
    char file[512]; /* empty when the error is not about a file */
    int line;       /* 1-based; 0 when unknown */
    int col;
    int usage; /* 1: what the user gave is wrong (exit 2); 0: the system refused (exit 1) */
};

void err_clear(struct err *e);
void err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_set_at(struct err *e, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
