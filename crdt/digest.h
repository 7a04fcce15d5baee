/*
 * digest.h - view digests: one 256-bit value per key prefix that two
 * replicas holding the same ops agree on.
 *
 * The digest of a prefix is the sum, modulo 2^256, of the hashes of the
 * canonical states of the records under it (record.h, rec_hash), each hash
 * read as a little-endian 256-bit integer; an absent record counts as zero.
 * A sum does not care about order and is updated in O(1) when one record
 * changes: subtract its old hash, add its new one.  So a store keeps a
 * digest for every prefix that ends at a '/' (and for "", the whole store)
 * without ever scanning.  Alongside it keeps the number of present records.
 */
#ifndef LINLI_DIGEST_H
#define LINLI_DIGEST_H

#include "crdt/ident.h"

#include <stdint.h>

typedef struct ldigest {
  uint8_t sum[LINLI_HASH_BYTES];
  int64_t count;
} ldigest;

void digest_add(ldigest *d, const uint8_t h[LINLI_HASH_BYTES]);
void digest_sub(ldigest *d, const uint8_t h[LINLI_HASH_BYTES]);
/* d += x (both sum and count), for combining partial results. */
void digest_merge(ldigest *d, const ldigest *x);

/* The prefixes a key contributes to, shortest first: "" and every proper
 * prefix that ends at a '/'.  Returns how many lengths were written to
 * `lens` (at most `max`). */
uint32_t digest_prefixes(const char *key, size_t klen, uint32_t *lens, uint32_t max);

/* Row encoding: 32 bytes of sum, then the count as 8 bytes big-endian. */
#define DIGEST_ROW_BYTES 40
void digest_pack(const ldigest *d, uint8_t out[DIGEST_ROW_BYTES]);
int digest_unpack(ldigest *d, const uint8_t *p, size_t n);

#endif
