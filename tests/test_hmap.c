/*
 * test_hmap.c - crdt/hmap: put, get and replace across many resizes, keys
 * that differ only in length or in their last byte, the empty key, and the
 * borrowing mode (keys pointed to, not copied; the mode survives hmap_free).
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
