/*
 * test_arena.c - crdt/arena: alignment of every block, blocks never
 * overlapping, growth in place and by copy keeping the contents, blocks
 * larger than a chunk, zero sizes, reset and free.
 */
#include "crdt/arena.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
fill(void *p, size_t n, uint8_t v)
{
  memset(p, v, n);
}

static void
expect_filled(const void *p, size_t n, uint8_t v)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(b[i], v, "byte %zu of %zu: 0x%02x, want 0x%02x", i, n, b[i], v);
}

Test(arena, blocks_are_aligned_and_disjoint)
{
  larena a;
  larena_init(&a);
  enum { N = 3000 };
  static void *blk[N];
  static size_t len[N];
  uint32_t st = 1;
  for (int i = 0; i < N; i++) {
    len[i] = tu_rand(&st) % 5 == 0 ? tu_rand(&st) % 5000 : tu_rand(&st) % 40;
    blk[i] = larena_alloc(&a, len[i]);
    cr_assert_not_null(blk[i]);
    cr_assert_eq((uintptr_t)blk[i] % alignof(max_align_t), 0);
    fill(blk[i], len[i], (uint8_t)i);
  }
  /* nothing written later overwrote an earlier block */
  for (int i = 0; i < N; i++)
    expect_filled(blk[i], len[i], (uint8_t)i);
  cr_assert_gt(a.total, 0);
  larena_free(&a);
  cr_assert_null(a.head);
  cr_assert_eq(a.total, 0);
}

Test(arena, dup_and_zero_sizes)
{
  larena a;
  larena_init(&a);
  char *s = larena_dup(&a, "hello", 5);
  cr_assert_not_null(s);
  cr_assert_eq(memcmp(s, "hello", 5), 0);
  void *z1 = larena_alloc(&a, 0), *z2 = larena_dup(&a, NULL, 0);
  cr_assert_not_null(z1);
  cr_assert_not_null(z2);
  cr_assert_neq(z1, z2, "zero-sized blocks are distinct");
  cr_assert_null(larena_alloc(&a, SIZE_MAX), "an impossible size fails cleanly");
  cr_assert_eq(memcmp(s, "hello", 5), 0);
  larena_free(&a);
}

Test(arena, grow_in_place_and_by_copy)
{
  larena a;
  larena_init(&a);
  /* the last block grows where it is */
  uint8_t *p = larena_alloc(&a, 16);
  fill(p, 16, 0xaa);
  uint8_t *q = larena_grow(&a, p, 16, 64);
  cr_assert_eq(q, p);
  expect_filled(q, 16, 0xaa);
  fill(q, 64, 0xab);
  /* a block that is no longer the last one moves, keeping its bytes */
  uint8_t *other = larena_alloc(&a, 8);
  fill(other, 8, 0x11);
  uint8_t *r = larena_grow(&a, q, 64, 200);
  cr_assert_neq(r, q);
  expect_filled(r, 64, 0xab);
  expect_filled(other, 8, 0x11);
  /* shrinking keeps the prefix; NULL grows from nothing */
  uint8_t *s = larena_grow(&a, r, 200, 10);
  expect_filled(s, 10, 0xab);
  uint8_t *t = larena_grow(&a, NULL, 0, 32);
  cr_assert_not_null(t);
  /* doubling growth across chunk boundaries, as the record arrays grow */
  size_t cap = 4;
  uint32_t *v = larena_grow(&a, NULL, 0, cap * sizeof *v);
  for (uint32_t i = 0; i < 500000; i++) {
    if (i == cap) {
      v = larena_grow(&a, v, cap * sizeof *v, 2 * cap * sizeof *v);
      cr_assert_not_null(v);
      cap *= 2;
    }
    v[i] = i * 2654435761u;
  }
  for (uint32_t i = 0; i < 500000; i++)
    cr_assert_eq(v[i], i * 2654435761u);
  larena_free(&a);
}

Test(arena, large_blocks_and_reset)
{
  larena a;
  larena_init(&a);
  for (int round = 0; round < 3; round++) {
    uint8_t *big = larena_alloc(&a, 5u << 20); /* larger than any chunk */
    cr_assert_not_null(big);
    fill(big, 5u << 20, 0x5a);
    uint8_t *small = larena_alloc(&a, 100);
    fill(small, 100, 0x33);
    expect_filled(big + (5u << 20) - 64, 64, 0x5a);
    larena_reset(&a);
    /* one chunk is kept for reuse and accounted for */
    cr_assert_not_null(a.head);
    cr_assert_eq(a.used, 0);
    cr_assert_gt(a.total, 0);
    uint8_t *again = larena_alloc(&a, 100);
    cr_assert_not_null(again);
    fill(again, 100, 0x44);
    larena_reset(&a);
  }
  larena_free(&a);
  larena_reset(&a); /* safe on an empty arena */
  larena_free(&a);
}
