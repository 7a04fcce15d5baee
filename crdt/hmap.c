/* hmap.c - open-addressing hash map; see hmap.h. */
#include "crdt/hmap.h"
#include "crdt/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(((hmap *)0)->hkey) == crypto_shorthash_KEYBYTES, "hmap hash key size");

void hmap_init(hmap *m) { memset(m, 0, sizeof *m); }

void
hmap_init_borrowed(hmap *m)
{
  hmap_init(m);
  m->borrow = true;
}

void
hmap_free(hmap *m)
{
  bool borrow = m->borrow;
  if (!borrow)
    for (size_t i = 0; i < m->cap; i++)
      free(m->slots[i].key);
  free(m->slots);
  hmap_init(m);
  m->borrow = borrow;
}

/* SipHash-2-4 under the map's own random key (see hmap.h): keys a peer
 * picks to collide under a public hash land anywhere under this one. */
static uint32_t
s_hash(const hmap *m, const uint8_t *p, size_t n)
{
  uint8_t out[crypto_shorthash_BYTES];
  crypto_shorthash(out, p, n, m->hkey);
  uint32_t h;
  memcpy(&h, out, sizeof h);
  return h;
}

static hmap_slot *
s_find(const hmap *m, const void *key, size_t klen, uint32_t h)
{
  size_t mask = m->cap - 1;
  /* a power-of-two table with a free slot: the probe ends */
  LINLI_ASSERT(m->cap > 0 && (m->cap & mask) == 0 && m->n < m->cap);
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    hmap_slot *s = &m->slots[i];
    if (s->key == NULL || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0))
      return s;
  }
}

void *
hmap_get(const hmap *m, const void *key, size_t klen)
{
  if (m->n == 0)
    return NULL;
  hmap_slot *s = s_find(m, key, klen, s_hash(m, key, klen));
  return s->key ? s->val : NULL;
}

static int
s_resize(hmap *m, size_t cap)
{
  hmap_slot *old = m->slots;
  size_t oldcap = m->cap;
  if (oldcap == 0)
    randombytes_buf(m->hkey, sizeof m->hkey); /* nothing is placed yet */
  m->slots = calloc(cap, sizeof *m->slots);
  if (m->slots == NULL) {
    m->slots = old;
    return LINLI_ENOMEM;
  }
  m->cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key)
      *s_find(m, old[i].key, old[i].klen, old[i].hash) = old[i];
  free(old);
  return 0;
}

int
hmap_put(hmap *m, const void *key, size_t klen, void *val)
{
  if ((m->n + 1) * 4 > m->cap * 3 && s_resize(m, m->cap ? m->cap * 2 : 16) != 0)
    return LINLI_ENOMEM;
  uint32_t h = s_hash(m, key, klen);
  hmap_slot *s = s_find(m, key, klen, h);
  if (s->key == NULL) {
    if (m->borrow) {
      /* An empty key still needs a non-NULL pointer: NULL marks a free slot. */
      s->key = (uint8_t *)(klen ? key : (const void *)&m->borrow);
    } else {
      s->key = malloc(klen ? klen : 1);
      if (s->key == NULL)
        return LINLI_ENOMEM;
      memcpy(s->key, key, klen);
    }
    s->klen = (uint32_t)klen;
    s->hash = h;
    m->n++;
  }
  s->val = val;
  LINLI_ASSERT(m->n * 4 <= m->cap * 3); /* the load factor hmap_put keeps */
  return 0;
}
