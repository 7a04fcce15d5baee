/*
 * test_hmap.c - crdt/hmap: put, get and replace across many resizes, keys
 * that differ only in length or in their last byte, the empty key, and the
 * borrowing mode (keys pointed to, not copied; the mode survives hmap_free);
 * keys chosen to collide under a public hash (FNV-1a) do not pile up.
 */
#include "crdt/hmap.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
check_map(bool borrow)
{
  hmap m;
  if (borrow)
    hmap_init_borrowed(&m);
  else
    hmap_init(&m);
  enum { N = 20000 };
  static char keys[N][24];
  static int vals[N];
  for (int i = 0; i < N; i++) {
    snprintf(keys[i], sizeof keys[i], "hh/v%03d/%d", i % 100, i);
    vals[i] = i;
    cr_assert_null(hmap_get(&m, keys[i], strlen(keys[i])));
    cr_assert_eq(hmap_put(&m, keys[i], strlen(keys[i]), &vals[i]), 0);
  }
  cr_assert_eq(m.n, N);
  for (int i = 0; i < N; i++)
    cr_assert_eq(hmap_get(&m, keys[i], strlen(keys[i])), &vals[i], "key %s", keys[i]);
  /* prefixes and near misses are other keys */
  cr_assert_null(hmap_get(&m, "hh/v000/1", 8));
  cr_assert_null(hmap_get(&m, "hh/v000/0x", 10));
  /* replacing keeps the count */
  int other = -1;
  cr_assert_eq(hmap_put(&m, keys[7], strlen(keys[7]), &other), 0);
  cr_assert_eq(m.n, N);
  cr_assert_eq(hmap_get(&m, keys[7], strlen(keys[7])), &other);
  /* the empty key is a key like any other */
  cr_assert_eq(hmap_put(&m, "", 0, &other), 0);
  cr_assert_eq(hmap_get(&m, "", 0), &other);
  /* copied or pointed to, as the mode says */
  size_t slot_of_7 = SIZE_MAX;
  for (size_t i = 0; i < m.cap; i++)
    if (m.slots[i].key && m.slots[i].klen == strlen(keys[7]) &&
        memcmp(m.slots[i].key, keys[7], m.slots[i].klen) == 0)
      slot_of_7 = i;
  cr_assert_neq(slot_of_7, SIZE_MAX);
  cr_assert_eq((const char *)m.slots[slot_of_7].key == keys[7], borrow);
  hmap_free(&m);
  cr_assert_eq(m.n, 0);
  cr_assert_eq(m.borrow, borrow, "hmap_free keeps the kind of map");
  cr_assert_null(hmap_get(&m, keys[0], strlen(keys[0])));
  cr_assert_eq(hmap_put(&m, keys[0], strlen(keys[0]), &vals[0]), 0);
  cr_assert_eq(hmap_get(&m, keys[0], strlen(keys[0])), &vals[0]);
  hmap_free(&m);
}

Test(hmap, copying_map) { check_map(false); }
Test(hmap, borrowing_map) { check_map(true); }

/* FNV-1a, the public hash maps once used: an attacker can compute it. */
static uint32_t
s_fnv(const uint8_t *p, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* 32-byte keys (author keys) whose FNV-1a hashes share their low `bits`
 * bits: under FNV they all start probing at one slot of any table of up to
 * 2^bits slots.  Multiplying by the odd FNV prime maps the low bits of its
 * operand to the low bits of the product one to one, so the last byte can
 * be solved for once the bits above it match: ~2^(bits-8) tries a key. */
static void
s_colliding_keys(uint8_t (*keys)[32], int n, int bits)
{
  const uint32_t prime = 16777619u, mask = (1u << bits) - 1;
  uint32_t inv = prime; /* the inverse of the prime mod 2^32, by Newton */
  for (int i = 0; i < 5; i++)
    inv *= 2 - prime * inv;
  const uint32_t target = 0x5a5a5u & mask, want = (target * inv) & mask;
  uint32_t seed = 7;
  for (int k = 0; k < n; k++) {
    uint8_t *key = keys[k];
    bool found = false;
    while (!found) {
      for (int i = 0; i < 29; i++)
        key[i] = (uint8_t)tu_rand(&seed);
      uint32_t h29 = s_fnv(key, 29);
      for (uint32_t x = 0; x < 65536 && !found; x++) {
        uint32_t h = (((h29 ^ (x >> 8)) * prime) ^ (x & 0xff)) * prime;
        if (((h ^ want) & mask & ~0xffu) == 0) {
          key[29] = (uint8_t)(x >> 8);
          key[30] = (uint8_t)x;
          key[31] = (uint8_t)((h ^ want) & 0xff);
          found = true;
        }
      }
    }
    cr_assert_eq(s_fnv(key, 32) & mask, target);
  }
}

/* How far each key sits from its home slot, summed: what finding every key
 * once costs in probes beyond the first. */
static uint64_t
s_displacement(const hmap *m)
{
  uint64_t sum = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key)
      sum += (i - (m->slots[i].hash & (m->cap - 1))) & (m->cap - 1);
  return sum;
}

Test(hmap, keys_colliding_under_fnv_stay_near_linear)
{
  /* 50,000 author keys that FNV-1a sends to one slot of any table up to
   * 2^17 slots (the one that holds them): under FNV every insert walked
   * the whole run before it, 1.25e9 probes in all. */
  enum { N = 50000 };
  static uint8_t bad[N][32], good[N][32];
  s_colliding_keys(bad, N, 17);
  uint32_t seed = 99;
  for (int k = 0; k < N; k++)
    for (int i = 0; i < 32; i++)
      good[k][i] = (uint8_t)tu_rand(&seed);
  double t[2];
  uint64_t disp[2];
  for (int pass = 0; pass < 2; pass++) {
    uint8_t (*keys)[32] = pass ? bad : good;
    hmap m;
    hmap_init(&m);
    double t0 = tu_secs();
    for (int k = 0; k < N; k++)
      cr_assert_eq(hmap_put(&m, keys[k], 32, keys[k]), 0);
    for (int k = 0; k < N; k++)
      cr_assert_eq(hmap_get(&m, keys[k], 32), keys[k]);
    t[pass] = tu_secs() - t0;
    cr_assert_eq(m.n, N);
    disp[pass] = s_displacement(&m);
    hmap_free(&m);
  }
  cr_log_info("random keys: %.1f ms, %.2f probes a key beyond the first; colliding keys: "
              "%.1f ms, %.2f",
              t[0] * 1e3, (double)disp[0] / N, t[1] * 1e3, (double)disp[1] / N);
  /* linear probing at a load of at most 3/4: about 1.5 extra probes a key */
  cr_assert_lt(disp[1], 4ull * N, "colliding keys: %llu probes beyond the first",
               (unsigned long long)disp[1]);
  cr_assert_lt(disp[1], 3 * disp[0] + N);
  cr_assert_lt(t[1], 5 * t[0] + 0.05, "colliding keys took %.3f s, random ones %.3f s", t[1],
               t[0]);
}
