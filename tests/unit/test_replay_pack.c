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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wide_agrees_with_plain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
