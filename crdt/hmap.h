/*
 * hmap.h - a hash map from byte strings to pointers (open addressing,
 * linear probing).  Used wherever a batch needs "this author's head" or
 * "this record's state" in O(1): the store's ingest caches, the CLI.
 * Keys are copied; values are borrowed pointers the caller manages.
 */
#ifndef LINLI_HMAP_H
#define LINLI_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hmap_slot {
  uint8_t *key; /* owned copy; NULL = empty */
  uint32_t klen;
  uint32_t hash;
  void *val;
} hmap_slot;

typedef struct hmap {
  hmap_slot *slots;
  size_t cap, n; /* cap is a power of two */
} hmap;

void hmap_init(hmap *m);
/* Frees the keys and slots; values are the caller's (see hmap_each). */
void hmap_free(hmap *m);
void *hmap_get(const hmap *m, const void *key, size_t klen);
/* Inserts or replaces; returns 0 or LINLI_ENOMEM. */
int hmap_put(hmap *m, const void *key, size_t klen, void *val);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) ... */

#endif
