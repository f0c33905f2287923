/* UTF-8 validation and repair for arbitrary log bytes. */
#ifndef ROLLWATCH_UTF8_H
#define ROLLWATCH_UTF8_H

#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence starting at s[0], or 0 if invalid or cut short. */
size_t utf8_seq(const unsigned char *s, size_t n);

/* Returns REC_HAS_NUL and/or REC_BAD_UTF8 bits for s[0..n). */
unsigned utf8_scan(const char *s, size_t n);

/*
 * Copies s[0..n) to out replacing each byte of an invalid sequence with U+FFFD.
 * out must hold 3 * n bytes. Returns the bytes written.
 */
size_t utf8_sanitize(const char *s, size_t n, char *out);

#endif
