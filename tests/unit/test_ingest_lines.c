/* The line splitter: partial lines, CRLF passthrough, over-long lines, bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest_int.h"
#include "record.h"

#define MAX_LINES 64

struct seen {
    int n;
    char text[MAX_LINES][256];
    size_t len[MAX_LINES];
    unsigned flags[MAX_LINES];
};

static void collect(void *arg, const char *line, size_t len, unsigned flags)
{
    struct seen *s = arg;

    assert_true(s->n < MAX_LINES);
    s->len[s->n] = len;
    s->flags[s->n] = flags;
    memcpy(s->text[s->n], line, len < 255 ? len : 255);
    s->text[s->n][len < 255 ? len : 255] = '\0';
    s->n++;
}

/* Feeds data in pieces of at most piece bytes, as reads would deliver them. */
static void feed(struct ingest__linebuf *b, const char *data, size_t n, size_t piece,
                 struct seen *s)
{
    while (n > 0) {
        size_t avail, k;
        char *space = ingest__linebuf_space(b, &avail);

        assert_true(avail >= b->chunk);
        k = n < piece ? n : piece;
        k = k < avail ? k : avail;
        memcpy(space, data, k);
        ingest__linebuf_commit(b, k, collect, s);
        data += k;
        n -= k;
    }
}

static void test_lines_split_across_reads(void **state)
{
    const char *in = "alpha\nbravo\ncharlie\n";
    (void)state;

    for (size_t piece = 1; piece <= strlen(in); piece++) {
        struct ingest__linebuf b;
        struct seen s = {0};

        ingest__linebuf_init(&b, 64, 16);
        feed(&b, in, strlen(in), piece, &s);
        ingest__linebuf_finish(&b, collect, &s);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.text[0], "alpha");
        assert_string_equal(s.text[1], "bravo");
        assert_string_equal(s.text[2], "charlie");
        assert_int_equal(s.flags[2], 0);
        ingest__linebuf_free(&b);
    }
}

static void test_last_line_without_newline(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    (void)state;

    ingest__linebuf_init(&b, 64, 16);
    feed(&b, "one\ntwo", 7, 3, &s);
    assert_int_equal(s.n, 1);
    ingest__linebuf_finish(&b, collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.text[1], "two");
    assert_int_equal(s.flags[1], REC_NO_NEWLINE);
    /* finishing again emits nothing more */
    ingest__linebuf_finish(&b, collect, &s);
    assert_int_equal(s.n, 2);
    ingest__linebuf_free(&b);
}

static void test_empty_lines_and_crlf_kept(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    (void)state;

    ingest__linebuf_init(&b, 64, 16);
    feed(&b, "\n\r\nx\r\n", 6, 100, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.len[0], 0);
    assert_int_equal(s.len[1], 1); /* the CR is parse's business */
    assert_string_equal(s.text[2], "x\r");
    ingest__linebuf_free(&b);
}

static void test_long_line_truncated_then_resync(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    char big[1000];
    (void)state;

    memset(big, 'a', sizeof(big));
    ingest__linebuf_init(&b, 32, 16);
    feed(&b, "short\n", 6, 100, &s);
    feed(&b, big, sizeof(big), 7, &s);
    feed(&b, "\nafter\n", 7, 100, &s);
    ingest__linebuf_finish(&b, collect, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.text[0], "short");
    assert_int_equal(s.len[1], 32);
    assert_int_equal(s.flags[1], REC_TRUNCATED);
    assert_string_equal(s.text[2], "after");
    assert_int_equal(b.truncated, 1);
    /* memory never grew past max_line + chunk */
    assert_int_equal(b.cap, 48);
    ingest__linebuf_free(&b);
}

static void test_long_line_complete_in_one_read(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    char in[50];
    (void)state;

    memset(in, 'b', sizeof(in));
    in[40] = '\n';
    ingest__linebuf_init(&b, 32, 64);
    feed(&b, in, 41, 100, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], 32);
    assert_int_equal(s.flags[0], REC_TRUNCATED);
    ingest__linebuf_free(&b);
}

static void test_long_last_line_without_newline(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    char big[100];
    (void)state;

    memset(big, 'c', sizeof(big));
    ingest__linebuf_init(&b, 32, 16);
    feed(&b, big, sizeof(big), 16, &s);
    ingest__linebuf_finish(&b, collect, &s);
    /* the head once, flagged; the dropped tail emits nothing at the end */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.flags[0], REC_TRUNCATED);
    ingest__linebuf_free(&b);
}

static void test_line_of_exactly_max(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    char in[33];
    (void)state;

    memset(in, 'd', 32);
    in[32] = '\n';
    ingest__linebuf_init(&b, 32, 16);
    feed(&b, in, 33, 5, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.len[0], 32);
    assert_int_equal(s.flags[0], 0);
    ingest__linebuf_free(&b);
}

static void test_nul_bytes_pass_through(void **state)
{
    struct ingest__linebuf b;
    struct seen s = {0};
    (void)state;

    ingest__linebuf_init(&b, 64, 16);
    feed(&b, "a\0b\nc\n", 6, 2, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.len[0], 3);
    assert_memory_equal(s.text[0], "a\0b", 3);
    ingest__linebuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_split_across_reads),
        cmocka_unit_test(test_last_line_without_newline),
        cmocka_unit_test(test_empty_lines_and_crlf_kept),
        cmocka_unit_test(test_long_line_truncated_then_resync),
        cmocka_unit_test(test_long_line_complete_in_one_read),
        cmocka_unit_test(test_long_last_line_without_newline),
        cmocka_unit_test(test_line_of_exactly_max),
        cmocka_unit_test(test_nul_bytes_pass_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
