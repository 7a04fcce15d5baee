/*
 * test_hlc.c - crdt/hlc: packing of (ms, logical), hlc_next (strictly
 * increasing whatever the wall clock does, counter overflow carrying into the
 * milliseconds, clamping of absurd wall times), hlc_observe (follows remote
 * stamps, caps far-future ones at wall + max_ahead, never goes back) and
 * hlc_format.
 */
#include "crdt/hlc.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <string.h>

#define T2026 UINT64_C(1795840212345) /* 2026-11-28T04:30:12.345Z */

Test(hlc, make_and_split)
{
  uint64_t h = hlc_make(T2026, 7);
  cr_assert_eq(h, T2026 << 16 | 7);
  cr_assert_eq(hlc_ms(h), T2026);
  cr_assert_eq(hlc_logical(h), 7);
  /* the logical part is masked to 16 bits */
  cr_assert_eq(hlc_make(5, 0x1ffff), hlc_make(5, 0xffff));
  cr_assert_eq(hlc_make(HLC_MAX_MS, 0xffff), UINT64_MAX);
  cr_assert_eq(hlc_ms(UINT64_MAX), HLC_MAX_MS);
  cr_assert_eq(hlc_logical(UINT64_MAX), 0xffff);
  /* order of stamps is order of (ms, logical) */
  cr_assert_lt(hlc_make(10, 0xffff), hlc_make(11, 0));
  cr_assert_lt(hlc_make(10, 1), hlc_make(10, 2));
}

Test(hlc, next_follows_a_wall_clock_that_moves_ahead)
{
  uint64_t h = hlc_next(0, T2026);
  cr_assert_eq(h, hlc_make(T2026, 0));
  h = hlc_next(h, T2026 + 1);
  cr_assert_eq(h, hlc_make(T2026 + 1, 0));
  h = hlc_next(h, T2026 + 1000);
  cr_assert_eq(h, hlc_make(T2026 + 1000, 0));
}

Test(hlc, next_when_the_wall_clock_stands_still)
{
  uint64_t h = hlc_make(T2026, 0);
  for (unsigned i = 1; i <= 100; i++) {
    uint64_t n = hlc_next(h, T2026);
    cr_assert_gt(n, h);
    cr_assert_eq(hlc_ms(n), T2026);
    cr_assert_eq(hlc_logical(n), i);
    h = n;
  }
}

Test(hlc, next_when_the_wall_clock_goes_backwards)
{
  uint64_t last = hlc_make(T2026, 3);
  uint64_t h = hlc_next(last, T2026 - 60000); /* a minute back */
  cr_assert_eq(h, hlc_make(T2026, 4));
  h = hlc_next(h, 0);
  cr_assert_eq(h, hlc_make(T2026, 5));
  /* once the wall clock passes the clock again it takes over */
  h = hlc_next(h, T2026 + 1);
  cr_assert_eq(h, hlc_make(T2026 + 1, 0));
}

Test(hlc, next_logical_overflow_carries_into_ms)
{
  uint64_t last = hlc_make(T2026, 0xffff);
  uint64_t h = hlc_next(last, T2026);
  cr_assert_eq(h, hlc_make(T2026 + 1, 0));
  cr_assert_gt(h, last);
  h = hlc_next(last, T2026 - 5);
  cr_assert_eq(h, hlc_make(T2026 + 1, 0));
  /* 70000 events in one frozen millisecond run on into the next ones */
  h = hlc_make(T2026, 0);
  for (unsigned i = 0; i < 70000; i++) {
    uint64_t n = hlc_next(h, T2026);
    cr_assert_gt(n, h);
    h = n;
  }
  cr_assert_eq(h, hlc_make(T2026, 0) + 70000);
  cr_assert_eq(hlc_ms(h), T2026 + 1);
  cr_assert_eq(hlc_logical(h), 70000 - 65536);
}

Test(hlc, next_clamps_absurd_wall_times)
{
  uint64_t h = hlc_next(0, UINT64_MAX);
  cr_assert_eq(h, hlc_make(HLC_MAX_MS, 0));
  cr_assert_eq(hlc_next(0, HLC_MAX_MS + 1), hlc_make(HLC_MAX_MS, 0));
  cr_assert_eq(hlc_next(h, UINT64_MAX), hlc_make(HLC_MAX_MS, 1));
}

Test(hlc, next_random_walk_is_strictly_increasing)
{
  uint32_t seed = 42;
  uint64_t wall = T2026, h = 0;
  for (int i = 0; i < 20000; i++) {
    uint32_t x = tu_rand(&seed);
    switch (x % 4) {
    case 0: wall -= x % 5000; break;   /* clock stepped back */
    case 1: break;                     /* stands still */
    default: wall += x % 3; break;     /* moves on a little */
    }
    uint64_t n = hlc_next(h, wall);
    cr_assert_gt(n, h, "step %d: %llu after %llu", i, (unsigned long long)n,
                 (unsigned long long)h);
    cr_assert_geq(n, hlc_make(wall, 0), "step %d: behind the wall clock", i);
    /* never further ahead than needed: either the wall time or last + 1 */
    cr_assert(n == hlc_make(wall, 0) || n == h + 1);
    h = n;
  }
}

Test(hlc, observe_follows_remote_within_bounds)
{
  uint64_t wall = T2026, ahead = 60000;
  uint64_t last = hlc_make(wall, 5);
  /* an older remote stamp changes nothing */
  cr_assert_eq(hlc_observe(last, hlc_make(wall - 10, 0), wall, ahead), last);
  cr_assert_eq(hlc_observe(last, last, wall, ahead), last);
  /* a newer one is adopted */
  uint64_t remote = hlc_make(wall + 30000, 9);
  cr_assert_eq(hlc_observe(last, remote, wall, ahead), remote);
  /* exactly at the limit is still followed */
  remote = hlc_make(wall + ahead, 0xffff);
  cr_assert_eq(hlc_observe(last, remote, wall, ahead), remote);
  /* and the next local event comes after it */
  uint64_t h = hlc_observe(last, hlc_make(wall + 10, 3), wall, ahead);
  uint64_t n = hlc_next(h, wall);
  cr_assert_eq(n, hlc_make(wall + 10, 4));
}

Test(hlc, observe_caps_far_future_stamps)
{
  uint64_t wall = T2026, ahead = 60000;
  uint64_t last = hlc_make(wall, 0);
  static const uint64_t far[] = {
    0, 1, 1000, 86400000, UINT64_C(1) << 40,
  };
  for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
    uint64_t remote = hlc_make(wall + ahead + 1 + far[i], 0);
    uint64_t h = hlc_observe(last, remote, wall, ahead);
    cr_assert_lt(h, remote);
    cr_assert_eq(hlc_ms(h), wall + ahead, "case %zu: capped at %llu ms", i,
                 (unsigned long long)hlc_ms(h));
    cr_assert_geq(h, last);
  }
  cr_assert_eq(hlc_observe(last, UINT64_MAX, wall, ahead), hlc_make(wall + ahead, 0xffff));
  /* the cap never moves the clock backwards */
  uint64_t late = hlc_make(wall + 2 * ahead, 1);
  cr_assert_eq(hlc_observe(late, UINT64_MAX, wall, ahead), late);
  /* with no tolerance at all, the cap is the current wall millisecond */
  cr_assert_eq(hlc_ms(hlc_observe(0, hlc_make(wall + 5, 0), wall, 0)), wall);
}

Test(hlc, observe_with_a_huge_tolerance_does_not_wrap)
{
  /* A tolerance reaching past the last representable millisecond means no
   * cap at all; it must not wrap around into a cap near the wall clock. */
  uint64_t wall = T2026;
  uint64_t remote = hlc_make(wall + 5000, 1);
  cr_assert_eq(hlc_observe(0, remote, wall, UINT64_MAX), remote);
  cr_assert_eq(hlc_observe(0, remote, wall, UINT64_C(1) << 48), remote);
  cr_assert_eq(hlc_observe(0, remote, wall, HLC_MAX_MS - wall + 1), remote);
  cr_assert_eq(hlc_observe(0, UINT64_MAX, wall, UINT64_MAX), UINT64_MAX);
  /* exactly at the last millisecond still works as a cap */
  cr_assert_eq(hlc_observe(0, UINT64_MAX, wall, HLC_MAX_MS - wall), UINT64_MAX);
  cr_assert_eq(hlc_observe(0, UINT64_MAX, wall, HLC_MAX_MS - wall - 1),
               hlc_make(HLC_MAX_MS - 1, 0xffff));
}

Test(hlc, format)
{
  char buf[64];
  cr_assert_str_eq(hlc_format(buf, sizeof buf, 0), "1970-01-01T00:00:00.000Z");
  cr_assert_str_eq(hlc_format(buf, sizeof buf, hlc_make(T2026, 0)),
                   "2026-11-28T04:30:12.345Z");
  /* the logical counter is never glued to the time */
  cr_assert_str_eq(hlc_format(buf, sizeof buf, hlc_make(T2026, 7)),
                   "2026-11-28T04:30:12.345Z");
  cr_assert_str_eq(hlc_format(buf, sizeof buf, hlc_make(T2026, 65535)),
                   "2026-11-28T04:30:12.345Z");
  /* a leap day, and milliseconds with leading zeros */
  cr_assert_str_eq(hlc_format(buf, sizeof buf, hlc_make(UINT64_C(951868799) * 1000 + 7, 0)),
                   "2000-02-29T23:59:59.007Z");
  cr_assert_str_eq(hlc_format(buf, sizeof buf, hlc_make(1, 1)), "1970-01-01T00:00:00.001Z");
  /* the returned pointer is the buffer */
  cr_assert_eq(hlc_format(buf, sizeof buf, 0), buf);
  /* the largest stamp still formats (year 10889) */
  hlc_format(buf, sizeof buf, UINT64_MAX);
  cr_assert_str_eq(buf, "10889-08-02T05:31:50.655Z");
  /* a short buffer is cut and stays NUL-terminated */
  memset(buf, 'x', sizeof buf);
  hlc_format(buf, 11, hlc_make(T2026, 0));
  cr_assert_str_eq(buf, "2026-11-28");
}

Test(hlc, format_with_offset)
{
  char buf[64];
  /* 2026-12-01T02:17:56.270Z is 10:17 in Beijing, and still 1 December */
  uint64_t h = hlc_make(UINT64_C(1764555476270), 3);
  cr_assert_str_eq(hlc_format_at(buf, sizeof buf, h, 8 * 3600), "2025-12-01T10:17:56.270+08:00");
  /* a diary entry at 02:00 Beijing time is dated that day, not the one before */
  h = hlc_make(UINT64_C(1764525600000), 0); /* 2025-11-30T18:00:00Z */
  cr_assert_str_eq(hlc_format_at(buf, sizeof buf, h, 8 * 3600), "2025-12-01T02:00:00.000+08:00");
  cr_assert_str_eq(hlc_format_at(buf, sizeof buf, h, -(3 * 3600 + 30 * 60)),
                   "2025-11-30T14:30:00.000-03:30");
  cr_assert_str_eq(hlc_format_at(buf, sizeof buf, h, 0), "2025-11-30T18:00:00.000Z");
  /* Shanghai's local mean time before 1901: +08:05:43 */
  cr_assert_str_eq(hlc_format_at(buf, sizeof buf, h, 8 * 3600 + 5 * 60 + 43),
                   "2025-12-01T02:05:43.000+08:05:43");
}
