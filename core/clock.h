/* Event time: integer nanoseconds since the Unix epoch, UTC. */
#ifndef ROLLWATCH_CLOCK_H
#define ROLLWATCH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Formats ns as "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z" (the shortest exact fraction)
 * into buf; cap should be at least 40. Returns the length written.
 */
size_t clock_format_rfc3339(int64_t ns, char *buf, size_t cap);

#endif
