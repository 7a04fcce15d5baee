/* digest.c - order-free sums of record hashes; see digest.h. */
#include "crdt/digest.h"
#include "crdt/err.h"

#include <string.h>

/* The sum is kept as little-endian bytes (the row format); the arithmetic
 * runs on four 64-bit limbs: one record change moves the digest of every
 * prefix of its key, so this runs a few times per changed record. */
static uint64_t
s_le64(const uint8_t *b)
{
  uint64_t v;
  memcpy(&v, b, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static void
s_limbs(uint64_t l[4], const uint8_t *b)
{
  for (int i = 0; i < 4; i++)
    l[i] = s_le64(b + 8 * i);
}

static void
s_bytes(uint8_t *b, const uint64_t l[4])
{
  for (int i = 0; i < 4; i++) {
    uint64_t v = l[i];
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(b + 8 * i, &v, 8);
  }
}

void
digest_add(ldigest *d, const uint8_t h[LINLI_HASH_BYTES])
{
  uint64_t a[4], b[4], carry = 0;
  s_limbs(a, d->sum);
  s_limbs(b, h);
  for (int i = 0; i < 4; i++) {
    uint64_t v = a[i] + b[i];
    uint64_t c = v < a[i];
    a[i] = v + carry;
    carry = c | (a[i] < v);
  }
  s_bytes(d->sum, a);
  d->count++;
}

void
digest_sub(ldigest *d, const uint8_t h[LINLI_HASH_BYTES])
{
  uint64_t a[4], b[4], borrow = 0;
  s_limbs(a, d->sum);
  s_limbs(b, h);
  for (int i = 0; i < 4; i++) {
    uint64_t v = a[i] - b[i];
    uint64_t c = a[i] < b[i];
    a[i] = v - borrow;
    borrow = c | (v < borrow);
  }
  s_bytes(d->sum, a);
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
