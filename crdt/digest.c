/* digest.c - order-free sums of record hashes; see digest.h. */
#include "crdt/digest.h"
#include "crdt/err.h"

#include <string.h>

void
digest_add(ldigest *d, const uint8_t h[LINLI_HASH_BYTES])
{
  unsigned carry = 0;
  for (int i = 0; i < LINLI_HASH_BYTES; i++) {
    unsigned v = d->sum[i] + h[i] + carry;
    d->sum[i] = (uint8_t)v;
    carry = v >> 8;
  }
  d->count++;
}

void
digest_sub(ldigest *d, const uint8_t h[LINLI_HASH_BYTES])
{
  int borrow = 0;
  for (int i = 0; i < LINLI_HASH_BYTES; i++) {
    int v = d->sum[i] - h[i] - borrow;
    borrow = v < 0;
    d->sum[i] = (uint8_t)(v + (borrow ? 256 : 0));
  }
  d->count--;
}

void
digest_merge(ldigest *d, const ldigest *x)
{
  int64_t count = d->count + x->count;
  digest_add(d, x->sum);
  d->count = count;
}

uint32_t
digest_prefixes(const char *key, size_t klen, uint32_t *lens, uint32_t max)
{
  uint32_t n = 0;
  if (n < max)
    lens[n++] = 0;
  for (size_t i = 0; i + 1 < klen && n < max; i++)
    if (key[i] == '/')
      lens[n++] = (uint32_t)(i + 1);
  return n;
}

void
digest_pack(const ldigest *d, uint8_t out[DIGEST_ROW_BYTES])
{
  memcpy(out, d->sum, LINLI_HASH_BYTES);
  uint64_t c = (uint64_t)d->count;
  for (int i = 0; i < 8; i++)
    out[LINLI_HASH_BYTES + i] = (uint8_t)(c >> (56 - 8 * i));
}

int
digest_unpack(ldigest *d, const uint8_t *p, size_t n)
{
  if (n != DIGEST_ROW_BYTES)
    return LINLI_EMALFORMED;
  memcpy(d->sum, p, LINLI_HASH_BYTES);
  uint64_t c = 0;
  for (int i = 0; i < 8; i++)
    c = c << 8 | p[LINLI_HASH_BYTES + i];
  d->count = (int64_t)c;
  return 0;
}
