/* NDJSON records: fields, escaping of control bytes and NUL, U+FFFD for invalid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"
#include "sink_int.h"
#include "sinks.h"

/* Parses line and returns its JSON text (caller frees). */
static char *to_json(const char *line, size_t len)
{
    struct parser p;
    struct record r;
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    struct sink_stdout *s;

    assert_non_null(f);
    s = sink_stdout_new(f, SINK_FORMAT_JSON, 0);
    parse_init(&p);
    parse_line(&p, NULL, line, len, 0, &r);
    assert_int_equal(sink_stdout_record(s, &r), 0);
    sink_stdout_free(s);
    fclose(f);
    return out;
}

static void test_pod_event_fields(void **state)
{
    const char *line = "2026-03-18T14:30:51Z system/k8s/web-745f845dc-rzl2q Started container myapp";
    char *j = to_json(line, strlen(line));
    (void)state;

    assert_string_equal(
        j, "{\"type\":\"record\",\"ts\":\"2026-03-18T14:30:51Z\",\"kind\":\"k8s\","
           "\"stream\":\"system/k8s/web-745f845dc-rzl2q\",\"object\":\"web-745f845dc-rzl2q\","
           "\"object_kind\":\"pod\",\"service\":\"web\",\"replicaset\":\"web-745f845dc\","
           "\"pod\":\"web-745f845dc-rzl2q\",\"message\":\"Started container myapp\"}\n");
    free(j);
}

static void test_atom_fields(void **state)
{
    const char *line = "2026-03-18T14:30:51Z system/k8s/atom/app Status: Updating => Running";
    char *j = to_json(line, strlen(line));
    (void)state;

    assert_non_null(strstr(j, "\"kind\":\"atom\""));
    assert_non_null(strstr(j, "\"status_from\":\"Updating\",\"status_to\":\"Running\""));
    free(j);
}

static void test_control_and_nul_escaped(void **state)
{
    const char line[] = "garbage\x01\x1f with\0nul\ttab";
    char *j = to_json(line, sizeof(line) - 1);
    (void)state;

    assert_non_null(strstr(j, "garbage\\u0001\\u001F with\\u0000nul\\ttab"));
    /* exactly one newline: the record separator */
    assert_ptr_equal(strchr(j, '\n'), j + strlen(j) - 1);
    free(j);
}

static void test_invalid_utf8_replaced(void **state)
{
    const char line[] = "2026-03-18T14:30:51Z service/web/web-745f845dc-rzl2q bad \xff\xc3 ok \xc3\xa9";
    char *j = to_json(line, sizeof(line) - 1);
    (void)state;

    /* each bad byte becomes U+FFFD, valid é stays */
    assert_non_null(strstr(j, "bad \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9\""));
    free(j);
}

/* The per-byte reference for one byte of a line of otherwise plain text. */
static size_t ref_escape(unsigned char c, char *o)
{
    switch (c) {
    case '"':
        return (size_t)sprintf(o, "\\\"");
    case '\\':
        return (size_t)sprintf(o, "\\\\");
    case '\n':
        return (size_t)sprintf(o, "\\n");
    case '\r':
        return (size_t)sprintf(o, "\\r");
    case '\t':
        return (size_t)sprintf(o, "\\t");
    case '\b':
        return (size_t)sprintf(o, "\\b");
    case '\f':
        return (size_t)sprintf(o, "\\f");
    default:
        if (c < 0x20) {
            return (size_t)sprintf(o, "\\u%04X", c);
        }
        if (c >= 0x80) {
            return (size_t)sprintf(o, "\xef\xbf\xbd"); /* alone, never valid UTF-8 */
        }
        o[0] = (char)c;
        return 1;
    }
}

/* Does the "message" value of json start with want[0..n)? */
static int message_is(const char *json, const char *want, size_t n)
{
    static const char key[] = "\"message\":\"";
    size_t k = sizeof(key) - 1;

    for (size_t i = 0; json[i] != '\0'; i++) {
        if (strncmp(json + i, key, k) == 0) {
            return strncmp(json + i + k, want, n) == 0;
        }
    }
    return 0;
}

/* Every byte value at every place of an 80-byte line (two 32-byte steps, then 8-byte ones and
 * single bytes): the word-at-a-time fast paths of the escaper must agree with the byte-by-byte
 * rule. */
static void test_every_byte_at_every_offset(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        for (size_t at = 0; at < 78; at++) { /* not the last byte: a CR there ends the line */
            char line[80], want[128];
            size_t o = 0;
            char *j;

            memset(line, 'a', sizeof(line));
            line[0] = 'x'; /* not a timestamp, not a [pod/...] prefix: kind unknown */
            line[at + 1] = (char)c;
            for (size_t i = 0; i < sizeof(line); i++) {
                o += ref_escape((unsigned char)line[i], want + o);
            }
            want[o++] = '"';
            want[o] = '\0';
            j = to_json(line, sizeof(line));
            if (!message_is(j, want, o)) {
                fail_msg("byte 0x%02x at %zu: got %s want %s", c, at + 1, j, want);
            }
            free(j);
        }
    }
}

/*
 * The escaper alone: each byte value at each place, with and without repair, in strings of
 * every length up to 20 and around one to four 16-byte steps; and strings from 64 bytes on,
 * which take 32-byte steps where the CPU has AVX2, around one to five of those. Covers the
 * steps, the overlapping last block and the tails (all lengths to 72 cost 40 s under ASan:
 * the long ones take a dozen byte values that differ to the escaper, not all 256).
 */
static void test_escaper_every_length(void **state)
{
    static const size_t lens[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                                  14, 15, 16, 17, 18, 19, 20, 31, 32, 33, 47, 48, 49,
                                  63, 64, 65, 72, 95, 96, 97, 111, 127, 128,
                                  129, 143, 159, 160, 161};
    static const unsigned char some[] = {0x00, 0x08, 0x0a, 0x1f, 0x20, '"', '\\', 'a',
                                         0x7f, 0x80, 0xc3, 0xe2, 0xf0, 0xff};
    struct sink__buf b;

    (void)state;
    sink__buf_init(&b, 64);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];

        for (int k = 0; k < (n > 72 ? (int)sizeof(some) : 256); k++) {
            int c = n > 72 ? some[k] : k;

            for (size_t at = 0; at < n; at++) {
                for (int repair = 0; repair < 2; repair++) {
                    char s[161], want[1000];
                    size_t o = 0;

                    memset(s, 'a', n);
                    s[at] = (char)c;
                    want[o++] = '"';
                    for (size_t i = 0; i < n; i++) {
                        if (!repair && (unsigned char)s[i] >= 0x80) {
                            want[o++] = s[i]; /* copied as it is */
                        } else {
                            o += ref_escape((unsigned char)s[i], want + o);
                        }
                    }
                    want[o++] = '"';
                    b.len = 0;
                    sink__json_str(&b, s, n, repair);
                    if (b.len != o || memcmp(b.p, want, o) != 0) {
                        fail_msg("byte 0x%02x at %zu of %zu, repair %d: got %.*s want %.*s", c,
                                 at, n, repair, (int)b.len, b.p, (int)o, want);
                    }
                }
            }
        }
    }
    sink__buf_free(&b);
}

static void test_inherited_and_truncated_marked(void **state)
{
    struct parser p;
    struct record r;
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    struct sink_stdout *s = sink_stdout_new(f, SINK_FORMAT_JSON, 0);
    const char *a = "2026-03-18T14:30:51Z system/k8s/web Scaled up replica set web-745f845dc to 2";
    (void)state;

    parse_init(&p);
    parse_line(&p, NULL, a, strlen(a), 0, &r);
    sink_stdout_record(s, &r);
    parse_line(&p, NULL, "OK", 2, REC_TRUNCATED, &r);
    sink_stdout_record(s, &r);
    sink_stdout_free(s);
    fclose(f);
    assert_non_null(strstr(out, "\"ts\":\"2026-03-18T14:30:51Z\",\"kind\":\"cli\""));
    assert_non_null(strstr(out, "\"ts_inherited\":true,\"truncated\":true}\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_event_fields),
        cmocka_unit_test(test_atom_fields),
        cmocka_unit_test(test_control_and_nul_escaped),
        cmocka_unit_test(test_escaper_every_length),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_every_byte_at_every_offset),
        cmocka_unit_test(test_inherited_and_truncated_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
