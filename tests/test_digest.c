/*
 * test_digest.c - crdt/digest: 256-bit little-endian sums of record hashes
 * (add/sub inverse, order independence, carries and borrows across every
 * byte, wrap-around modulo 2^256, counts), digest_merge, digest_prefixes
 * and the 40-byte row encoding.
 */
#include "crdt/digest.h"
#include "crdt/err.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <string.h>

static void
rand_hash(uint8_t h[32], uint32_t *st)
{
  for (int i = 0; i < 32; i++)
    h[i] = (uint8_t)tu_rand(st);
}

Test(digest, add_then_sub_is_identity)
{
  uint32_t st = 1;
  ldigest d;
  memset(&d, 0, sizeof d);
  uint8_t hs[50][32];
  for (int i = 0; i < 50; i++) {
    rand_hash(hs[i], &st);
    digest_add(&d, hs[i]);
  }
  cr_assert_eq(d.count, 50);
  ldigest mid = d;
  uint8_t x[32];
  rand_hash(x, &st);
  digest_add(&d, x);
  cr_assert_neq(memcmp(d.sum, mid.sum, 32), 0);
  digest_sub(&d, x);
  cr_assert_eq(memcmp(d.sum, mid.sum, 32), 0);
  cr_assert_eq(d.count, 50);
  /* subtract in another order than added */
  for (int i = 49; i >= 0; i -= 2)
    digest_sub(&d, hs[i]);
  for (int i = 0; i < 50; i += 2)
    digest_sub(&d, hs[i]);
  static const uint8_t zero[32];
  cr_assert_eq(memcmp(d.sum, zero, 32), 0);
  cr_assert_eq(d.count, 0);
  /* sub before add (the sum goes "negative" and comes back) */
  digest_sub(&d, x);
  cr_assert_eq(d.count, -1);
  digest_add(&d, x);
  cr_assert_eq(memcmp(d.sum, zero, 32), 0);
  cr_assert_eq(d.count, 0);
}

Test(digest, order_independent)
{
  uint32_t st = 2;
  uint8_t hs[20][32];
  for (int i = 0; i < 20; i++)
    rand_hash(hs[i], &st);
  ldigest ref;
  memset(&ref, 0, sizeof ref);
  for (int i = 0; i < 20; i++)
    digest_add(&ref, hs[i]);
  for (int perm = 0; perm < 50; perm++) {
    int order[20];
    for (int i = 0; i < 20; i++)
      order[i] = i;
    for (int i = 19; i > 0; i--) {
      int j = (int)(tu_rand(&st) % (uint32_t)(i + 1));
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    ldigest d;
    memset(&d, 0, sizeof d);
    /* interleave a few add/sub pairs of junk too */
    for (int i = 0; i < 20; i++) {
      digest_add(&d, hs[order[i]]);
      if (i % 5 == 0) {
        uint8_t junk[32];
        rand_hash(junk, &st);
        digest_sub(&d, junk);
        digest_add(&d, junk);
      }
    }
    cr_assert_eq(memcmp(d.sum, ref.sum, 32), 0, "permutation %d", perm);
    cr_assert_eq(d.count, 20);
  }
}

Test(digest, carries_across_every_byte)
{
  ldigest d;
  memset(&d, 0, sizeof d);
  /* 0x00ff..ff (31 bytes of ff, little-endian) + 1 = 2^248 */
  memset(d.sum, 0xff, 31);
  uint8_t one[32] = {1};
  digest_add(&d, one);
  for (int i = 0; i < 31; i++)
    cr_assert_eq(d.sum[i], 0, "byte %d", i);
  cr_assert_eq(d.sum[31], 1);
  /* and the borrow back down */
  digest_sub(&d, one);
  for (int i = 0; i < 31; i++)
    cr_assert_eq(d.sum[i], 0xff, "byte %d", i);
  cr_assert_eq(d.sum[31], 0);
  /* 2^256 - 1 + 1 wraps to 0 */
  memset(d.sum, 0xff, 32);
  digest_add(&d, one);
  static const uint8_t zero[32];
  cr_assert_eq(memcmp(d.sum, zero, 32), 0);
  /* 0 - 1 = 2^256 - 1 */
  digest_sub(&d, one);
  for (int i = 0; i < 32; i++)
    cr_assert_eq(d.sum[i], 0xff);
  /* ff..ff + ff..ff = ff..fe (mod 2^256) */
  uint8_t ff[32];
  memset(ff, 0xff, 32);
  digest_add(&d, ff);
  cr_assert_eq(d.sum[0], 0xfe);
  for (int i = 1; i < 32; i++)
    cr_assert_eq(d.sum[i], 0xff);
  /* a carry out of one middle byte only: 0x80 + 0x80 at byte 10 */
  memset(&d, 0, sizeof d);
  uint8_t h[32] = {0};
  h[10] = 0x80;
  digest_add(&d, h);
  digest_add(&d, h);
  for (int i = 0; i < 32; i++)
    cr_assert_eq(d.sum[i], i == 11 ? 1 : 0, "byte %d", i);
  cr_assert_eq(d.count, 2);
}

Test(digest, little_endian_arithmetic_matches_a_reference)
{
  /* compare with an independent 8 x 32-bit limb implementation */
  uint32_t st = 3;
  uint32_t ref[8] = {0};
  ldigest d;
  memset(&d, 0, sizeof d);
  for (int it = 0; it < 500; it++) {
    uint8_t h[32];
    rand_hash(h, &st);
    if (it % 7 == 0)
      memset(h, 0xff, 32 - it % 32);
    uint32_t x[8] = {0};
    for (int i = 0; i < 32; i++)
      x[i / 4] |= (uint32_t)h[i] << (8 * (i % 4));
    if (tu_rand(&st) % 3 == 0) {
      digest_sub(&d, h);
      int64_t borrow = 0;
      for (int l = 0; l < 8; l++) {
        int64_t t = (int64_t)ref[l] - x[l] - borrow;
        borrow = t < 0;
        ref[l] = (uint32_t)(t + (borrow ? INT64_C(1) << 32 : 0));
      }
    } else {
      digest_add(&d, h);
      uint64_t carry = 0;
      for (int l = 0; l < 8; l++) {
        uint64_t t = (uint64_t)ref[l] + x[l] + carry;
        ref[l] = (uint32_t)t;
        carry = t >> 32;
      }
    }
    for (int i = 0; i < 32; i++)
      cr_assert_eq(d.sum[i], (uint8_t)(ref[i / 4] >> (8 * (i % 4))), "iteration %d byte %d",
                   it, i);
  }
}

Test(digest, merge)
{
  uint32_t st = 4;
  ldigest a, b, all;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&all, 0, sizeof all);
  for (int i = 0; i < 10; i++) {
    uint8_t h[32];
    rand_hash(h, &st);
    digest_add(i % 3 ? &a : &b, h);
    digest_add(&all, h);
  }
  uint8_t gone[32];
  rand_hash(gone, &st);
  digest_sub(&b, gone);
  digest_sub(&all, gone);
  int64_t ca = a.count, cb = b.count;
  digest_merge(&a, &b);
  cr_assert_eq(memcmp(a.sum, all.sum, 32), 0);
  cr_assert_eq(a.count, ca + cb, "counts add, not count + 1");
  cr_assert_eq(a.count, all.count);
  /* merging an empty digest changes nothing */
  ldigest z;
  memset(&z, 0, sizeof z);
  ldigest before = a;
  digest_merge(&a, &z);
  cr_assert_eq(memcmp(&a, &before, sizeof a), 0);
}

static void
expect_prefixes(const char *key, const uint32_t *want, uint32_t nwant)
{
  uint32_t lens[16];
  memset(lens, 0xee, sizeof lens);
  uint32_t n = digest_prefixes(key, strlen(key), lens, 16);
  cr_assert_eq(n, nwant, "'%s': %u prefixes, want %u", key, n, nwant);
  for (uint32_t i = 0; i < n; i++)
    cr_assert_eq(lens[i], want[i], "'%s' prefix %u: %u, want %u", key, i, lens[i], want[i]);
  cr_assert_eq(lens[n], 0xeeeeeeee, "nothing written past the count");
}

Test(digest, prefixes)
{
  expect_prefixes("a/b/c", (const uint32_t[]){0, 2, 4}, 3);
  expect_prefixes("hh/v000/601", (const uint32_t[]){0, 3, 8}, 3);
  expect_prefixes("a/b", (const uint32_t[]){0, 2}, 2);
  expect_prefixes("abc", (const uint32_t[]){0}, 1);
  expect_prefixes("", (const uint32_t[]){0}, 1);
  /* a trailing '/' is not a proper prefix's end; a leading one is */
  expect_prefixes("a/b/", (const uint32_t[]){0, 2}, 2);
  expect_prefixes("/a", (const uint32_t[]){0, 1}, 2);
  expect_prefixes("社区/金都/001", (const uint32_t[]){0, 7, 14}, 3);
  /* the prefix strings themselves */
  const char *key = "hh/v000/601";
  uint32_t lens[4];
  uint32_t n = digest_prefixes(key, strlen(key), lens, 4);
  cr_assert_eq(n, 3);
  cr_assert_eq(strncmp(key, "hh/", lens[1]), 0);
  cr_assert_eq(strncmp(key, "hh/v000/", lens[2]), 0);
  /* klen, not the NUL, ends the key */
  n = digest_prefixes("a/b/c/d", 4, lens, 4);
  cr_assert_eq(n, 2);
  cr_assert_eq(lens[1], 2);
}

Test(digest, prefixes_respect_max)
{
  uint32_t lens[8];
  memset(lens, 0xee, sizeof lens);
  cr_assert_eq(digest_prefixes("a/b/c/d", 7, lens, 2), 2);
  cr_assert_eq(lens[0], 0);
  cr_assert_eq(lens[1], 2);
  cr_assert_eq(lens[2], 0xeeeeeeee);
  cr_assert_eq(digest_prefixes("a/b/c/d", 7, lens, 1), 1);
  cr_assert_eq(digest_prefixes("a/b/c/d", 7, lens, 0), 0);
  cr_assert_eq(digest_prefixes("a/b/c/d", 7, lens, 8), 4);
  cr_assert_eq(lens[3], 6);
}

Test(digest, pack_unpack)
{
  ldigest d;
  for (int i = 0; i < 32; i++)
    d.sum[i] = (uint8_t)(i * 5 + 1);
  d.count = 0x0102030405060708;
  uint8_t row[DIGEST_ROW_BYTES];
  digest_pack(&d, row);
  cr_assert_eq(memcmp(row, d.sum, 32), 0);
  static const uint8_t cnt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  cr_assert_eq(memcmp(row + 32, cnt, 8), 0, "count is big-endian");
  ldigest back;
  memset(&back, 0xaa, sizeof back);
  cr_assert_eq(digest_unpack(&back, row, sizeof row), 0);
  cr_assert_eq(memcmp(back.sum, d.sum, 32), 0);
  cr_assert_eq(back.count, d.count);
  /* negative and extreme counts survive */
  static const int64_t counts[] = {0, 1, -1, INT64_MIN, INT64_MAX, 255, 256};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    d.count = counts[i];
    digest_pack(&d, row);
    cr_assert_eq(digest_unpack(&back, row, sizeof row), 0);
    cr_assert_eq(back.count, counts[i]);
  }
  d.count = -1;
  digest_pack(&d, row);
  for (int i = 32; i < 40; i++)
    cr_assert_eq(row[i], 0xff);
}

Test(digest, unpack_rejects_wrong_length)
{
  uint8_t row[DIGEST_ROW_BYTES + 1] = {0};
  ldigest d;
  cr_assert_eq(digest_unpack(&d, row, DIGEST_ROW_BYTES - 1), LINLI_EMALFORMED);
  cr_assert_eq(digest_unpack(&d, row, DIGEST_ROW_BYTES + 1), LINLI_EMALFORMED);
  cr_assert_eq(digest_unpack(&d, row, 0), LINLI_EMALFORMED);
  cr_assert_eq(digest_unpack(&d, row, 32), LINLI_EMALFORMED);
  cr_assert_eq(digest_unpack(&d, row, DIGEST_ROW_BYTES), 0);
}
