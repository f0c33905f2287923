/* core/text.h: bounded appends, decimal numbers and the short-run copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

/* Every length up to 80, at every alignment: the bytes copied, none outside [0, n). */
static void test_copy_every_length(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 80; n++) {
        for (size_t at = 0; at < 8; at++) {
            char src[100], dst[100], want[100];

            for (size_t i = 0; i < sizeof src; i++) {
                src[i] = (char)(i * 7 + 1);
            }
            memset(dst, '#', sizeof dst);
            memset(want, '#', sizeof want);
            memcpy(want + at, src + 3, n);
            text_copy(dst + at, src + 3, n);
            if (memcmp(dst, want, sizeof dst) != 0) {
                fail_msg("copy of %zu bytes at %zu differs", n, at);
            }
        }
    }
}

/* Appends cut at cap - 1 and stay NUL-terminated; a full buffer takes nothing more. */
static void test_put_cuts_and_terminates(void **state)
{
    char buf[8];
    size_t o;

    (void)state;
    memset(buf, '#', sizeof buf);
    o = text_puts(buf, sizeof buf, 0, "abc");
    assert_int_equal(o, 3);
    assert_string_equal(buf, "abc");
    o = text_puts(buf, sizeof buf, o, "defghij");
    assert_int_equal(o, 7);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(text_puts(buf, sizeof buf, o, "x"), 7);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(text_put(buf, 1, 0, "abc", 3), 0); /* room for the NUL only */
    assert_int_equal(text_put(buf, sizeof buf, 0, NULL, 0), 0);
}

/* Numbers against printf, padded and not, at the edges of uint64. */
static void test_put_u64(void **state)
{
    static const uint64_t v[] = {0, 7, 10, 59, 60, 99, 100, 3599, 1234567890, UINT64_MAX};
    char buf[32], want[32];

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        for (int width = 1; width <= 3; width++) {
            size_t o = text_put_u64(buf, sizeof buf, 0, v[i], width);

            snprintf(want, sizeof want, "%0*llu", width, (unsigned long long)v[i]);
            assert_string_equal(buf, want);
            assert_int_equal(o, strlen(want));
        }
    }
    assert_int_equal(text_put_u64(buf, 4, 0, 123456, 1), 3); /* cut like any text */
    assert_string_equal(buf, "123");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_every_length),
        cmocka_unit_test(test_put_cuts_and_terminates),
        cmocka_unit_test(test_put_u64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
