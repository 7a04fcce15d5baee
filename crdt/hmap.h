/*
 * hmap.h - a hash map from byte strings to pointers (open addressing,
 * linear probing).  Used wherever a batch needs "this author's head" or
 * "this record's state" in O(1): the store's ingest caches, the CLI.
 * Keys are copied, or in a borrowing map (hmap_init_borrowed) only pointed
 * to; values are borrowed pointers the caller manages.
 *
 * Keys often come from a peer (author keys, record keys), who could choose
 * them to collide and make every insert walk one long probe run.  So slots
 * are placed by a keyed hash (SipHash-2-4, libsodium's crypto_shorthash)
 * under a random key each map draws when it first allocates: without the
 * key nobody can predict which keys collide.
 */
#ifndef LINLI_HMAP_H
#define LINLI_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap_slot {
  uint8_t *key; /* a copy, or the caller's in a borrowing map; NULL = empty */
  uint32_t klen;
  uint32_t hash; /* the keyed hash; the slot's home is hash & (cap - 1) */
  void *val;
} hmap_slot;

typedef struct hmap {
  hmap_slot *slots;
  size_t cap, n; /* cap is a power of two */
  bool borrow;   /* keys are the caller's, not copies */
  uint8_t hkey[16]; /* this map's hash key, drawn at the first allocation */
} hmap;

void hmap_init(hmap *m);
/* A map that keeps the caller's key pointers instead of copies: each key
 * must stay valid and unchanged while it is in the map.  For callers that
 * already hold the key next to the value (saves an allocation per key). */
void hmap_init_borrowed(hmap *m);
/* Frees the slots and copied keys, leaving an empty map of the same kind;
 * values are the caller's (see the iteration note below). */
void hmap_free(hmap *m);
void *hmap_get(const hmap *m, const void *key, size_t klen);
/* Inserts or replaces; returns 0 or LINLI_ENOMEM. */
int hmap_put(hmap *m, const void *key, size_t klen, void *val);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) ... */

#endif
