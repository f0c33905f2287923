/*
 * core/replay_pipe.c: how a record crosses between replay's threads. The AVX2 packing and
 * unpacking (chosen where the CPU has it) must agree with the plain ones, slice by slice, for
 * slices within the line, at its ends, absent, and outside it (then the record goes whole).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* the static functions under test */
#include "../../core/replay_pipe.c"

enum { LINE_LEN = 300, ROUNDS = 20000 };

/* The slice of packed index k in r. */
static struct slice *slot_of(struct record *r, int k)
{
    return (struct slice *)(void *)((char *)r + pk_slot[k]);
}

/* A slice for line[0..len) of one of the shapes packing must tell apart; *outside: not in it. */
static struct slice some_slice(const char *line, size_t len, unsigned pick, unsigned v,
                               int *outside)
{
    size_t off = v % (len + 1);

    *outside = 0;
    switch (pick % 8) {
    case 0:
    case 1:
        return SLICE_NONE;
    case 2:
        return (struct slice){line + off, (v >> 9) % (len - off + 1)}; /* within */
    case 3:
        return (struct slice){line + off, len - off}; /* up to the end */
    case 4:
        return (struct slice){line + len, 0}; /* empty, at the end */
    case 5:
        *outside = 1;
        return (struct slice){line - 1 - (v >> 9) % 3, 1}; /* before the line */
    case 6:
        *outside = 1;
        return (struct slice){line + off, len - off + 1 + (v >> 9) % 5}; /* past its end */
    default:
        *outside = 1;
        return (struct slice){line + len + 1 + (v >> 9) % 5, 0}; /* after it */
    }
}

static void test_wide_agrees_with_plain(void **state)
{
    static char buf[LINE_LEN + 16];
    const char *line = buf + 8;
    unsigned seed = 12345;
    (void)state;

    if (!__builtin_cpu_supports("avx2")) {
        skip(); /* the plain versions are all this CPU runs; the CLI tests cover them */
    }
    for (int round = 0; round < ROUNDS; round++) {
        struct record r, back_plain, back_wide;
        struct packed plain, wide;
        struct batch b;
        size_t len = 1 + (size_t)round % LINE_LEN, bad_plain = 0, bad_wide;
        int any_outside = 0;

        memset(&r, 0, sizeof(r));
        memset(&plain, 0xAB, sizeof(plain));
        memset(&wide, 0xAB, sizeof(wide));
        for (int k = 0; k < PK_N; k++) {
            int outside;

            seed = seed * 1103515245u + 12345u;
            /* one round in four has every slice within the line or absent */
            *slot_of(&r, k) = some_slice(line, len, round % 4 == 0 ? seed % 5 : seed >> 7,
                                         seed >> 3, &outside);
            any_outside |= outside;
        }
        for (int k = 0; k < PK_N; k++) {
            bad_plain |= pack_slice(slot_of(&r, k), line, len, &plain, k);
        }
        bad_wide = pack_slices_wide(&r, line, len, &wide);
        if ((bad_plain != 0) != any_outside || (bad_wide != 0) != any_outside) {
            fail_msg("round %d: outside %d, plain says %zu, wide says %zu", round, any_outside,
                     bad_plain, bad_wide);
        }
        if (any_outside) {
            continue; /* the record goes whole: its offsets are not used */
        }
        assert_memory_equal(plain.off, wide.off, sizeof(plain.off));
        assert_memory_equal(plain.len, wide.len, sizeof(plain.len));

        /* and back: both unpackings give the slices packed */
        memset(&b, 0, sizeof(b));
        b.bytes = (char *)line;
        wide.whole = PK_WHOLE;
        wide.at = 0;
        wide.ts_ns = 7;
        unpack(&b, &wide, &back_plain);
        unpack_wide(&b, &wide, &back_wide);
        for (int k = 0; k < PK_N; k++) {
            struct slice want = *slot_of(&r, k), p = *slot_of(&back_plain, k),
                         w = *slot_of(&back_wide, k);

            if (p.p != want.p || p.len != want.len || w.p != want.p || w.len != want.len) {
                fail_msg("round %d, slice %d: want %p+%zu, plain %p+%zu, wide %p+%zu", round, k,
                         (const void *)want.p, want.len, (const void *)p.p, p.len,
                         (const void *)w.p, w.len);
            }
        }
        assert_int_equal(back_wide.ts_ns, 7);
        assert_null(back_wide.event.p);
        assert_int_equal(back_wide.nextra, 0);
    }
}

/*
 * What the reader decided beyond the bits crosses as words: the captures come back as the
 * same places in the other side's copy of the line, and one that is not in the line (an app
 * label, say) leaves the engine to decide every rule itself.
 */
static void test_ahead_round_trip(void **state)
{
    static const char line[] = "2026-03-18T14:30:51Z system/k8s/web-1 Created pod: web-1-abcde";
    char copy[sizeof(line)];
    struct record r = {0}, there = {0};
    struct rules_ahead ah = {0}, back = {0};
    uint64_t words[2 + RULES_AHEAD_MAX_CAPS];
    size_t n;
    (void)state;

    memcpy(copy, line, sizeof(line));
    r.line = (struct slice){line, sizeof(line) - 1};
    there.line = (struct slice){copy, sizeof(line) - 1};
    ah.upto = 41;
    ah.ncaps = 3;
    ah.caps[0] = (struct rules_ahead_cap){7, 2, {line + 51, 11}};   /* the pod, at the end */
    ah.caps[1] = (struct rules_ahead_cap){65535, 65535, {line, 0}}; /* empty, at the start */
    ah.caps[2] = (struct rules_ahead_cap){9, 0, {line + 21, 10}};
    n = pack_ahead(&ah, &r, words);
    assert_int_equal(n, 4);
    unpack_ahead(words, &there, &back);
    assert_int_equal(back.upto, 41);
    assert_int_equal(back.ncaps, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(back.caps[i].list, ah.caps[i].list);
        assert_int_equal(back.caps[i].gid, ah.caps[i].gid);
        assert_ptr_equal(back.caps[i].val.p, copy + (ah.caps[i].val.p - line));
        assert_int_equal(back.caps[i].val.len, ah.caps[i].val.len);
    }
    assert_memory_equal(back.caps[0].val.p, "web-1-abcde", 11);

    /* one past the line's end, or elsewhere: nothing decided, nothing taken */
    ah.caps[1].val = (struct slice){line + 52, 11};
    assert_int_equal(pack_ahead(&ah, &r, words), 1);
    unpack_ahead(words, &there, &back);
    assert_int_equal(back.upto, 0);
    assert_int_equal(back.ncaps, 0);
    ah.caps[1].val = (struct slice){"myapp", 5};
    assert_int_equal(pack_ahead(&ah, &r, words), 1);
    unpack_ahead(words, &there, &back);
    assert_int_equal(back.upto, 0);
    assert_int_equal(back.ncaps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_agrees_with_plain),
        cmocka_unit_test(test_ahead_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
