/* RFC 3339 parsing and formatting: exact values, offsets, fractions, and rejects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"

static int64_t ts(const char *s)
{
    int64_t v = -1;

    assert_int_equal(parse_rfc3339(s, strlen(s), &v), 0);
    return v;
}

static void test_known_values(void **state)
{
    (void)state;
    assert_int_equal(ts("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ts("2026-03-18T14:30:51Z"), 1773844251LL * 1000000000LL);
    assert_int_equal(ts("2000-02-29T23:59:59Z"), 951868799LL * 1000000000LL);
    assert_int_equal(ts("1969-12-31T23:59:59Z"), -1000000000LL);
}

static void test_offsets_and_fractions(void **state)
{
    int64_t base = ts("2026-03-18T14:30:51Z");
    (void)state;

    assert_int_equal(ts("2026-03-18T16:30:51+02:00"), base);
    assert_int_equal(ts("2026-03-18T16:30:51+0200"), base);
    assert_int_equal(ts("2026-03-18T09:00:51-05:30"), base);
    assert_int_equal(ts("2026-03-18t14:30:51z"), base);
    assert_int_equal(ts("2026-03-18T14:30:51.5Z"), base + 500000000);
    assert_int_equal(ts("2026-03-18T14:30:51.123456789Z"), base + 123456789);
    assert_int_equal(ts("2026-03-18T14:30:51.000001Z"), base + 1000);
    assert_int_equal(ts("2026-03-18T14:30:60Z"), base + 8000000000LL); /* leap second -> :59 */
}

static void test_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-03-18",
        "2026-03-18T14:30:51",
        "2026-13-18T14:30:51Z",
        "2026-02-30T14:30:51Z",
        "2025-02-29T00:00:00Z",
        "2026-03-18T24:00:00Z",
        "2026-03-18T14:60:00Z",
        "2026-03-18T14:30:51.Z",
        "2026-03-18T14:30:51.1234567890Z",
        "2026-03-18T14:30:51Zjunk",
        "2026-03-18T14:30:51+2:00",
        "2026-03-18T14:30:51+02:0",
        "2026-03-18 14:30:51Z",
        "20x6-03-18T14:30:51Z",
        "9999-12-31T23:59:59Z", /* beyond int64 nanoseconds */
        "0001-01-01T00:00:00Z",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;

        if (parse_rfc3339(bad[i], strlen(bad[i]), &v) == 0) {
            fail_msg("accepted bad timestamp '%s'", bad[i]);
        }
    }
}

static void test_format_round_trip(void **state)
{
    static const char *const good[] = {
        "2026-03-18T14:30:51Z",          "2026-03-18T14:30:51.100Z",
        "2026-03-18T14:30:51.123456Z",   "2026-03-18T14:30:51.123456789Z",
        "1960-06-01T00:00:00.001Z",      "2261-12-31T23:59:59Z",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char buf[48];
        size_t n = parse_format_ts(ts(good[i]), buf, sizeof(buf));

        assert_int_equal(n, strlen(good[i]));
        assert_string_equal(buf, good[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_offsets_and_fractions),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
