/* A growable byte buffer that changes owner whole: replay's output moves with its batches. */
#ifndef ROLLWATCH_BYTES_H
#define ROLLWATCH_BYTES_H

#include <stddef.h>

struct bytes {
    char *p; /* owned by whoever holds the struct */
    size_t len, cap;
};

#endif
