/* rules.c - a delta against the log held of its author; see rules.h. */
#include "crdt/rules.h"

#include <stdlib.h>
#include <string.h>

int
rules_delta_follows(const rules_pos *held, const delta *d, lerr *e)
{
  if (d->first_seq > held->seq + 1)
    return lerr_set(e, LINLI_EGAP,
                    "seq %llu: the delta starts after a gap, seq %llu is the last held: ops "
                    "missing from the middle of the chain",
                    (unsigned long long)d->first_seq, (unsigned long long)held->seq);
  if (d->first_seq == held->seq + 1 && memcmp(d->prev, held->hash, LINLI_HASH_BYTES) != 0)
    return lerr_set(e, LINLI_ECHAIN,
                    "seq %llu: previous hash does not match the op held at seq %llu: the chain "
                    "is broken (an op dropped, reordered or altered)",
                    (unsigned long long)d->first_seq, (unsigned long long)held->seq);
  return 0;
}

int
rules_delta_meets(const rules_pos *held, const delta *d,
                  const uint8_t (*hashes)[LINLI_HASH_BYTES], const uint8_t *held_at_last,
                  uint32_t *skip, uint64_t *fork_seq, lerr *e)
{
  uint64_t first = d->first_seq, last = delta_last_seq(d);
  *skip = 0;
  if (last <= held->seq) {
    const uint8_t *mine = last == held->seq ? held->hash : held_at_last;
    if (mine != NULL && memcmp(mine, hashes[d->nops - 1], LINLI_HASH_BYTES) != 0) {
      *fork_seq = last;
      return lerr_set(e, LINLI_EFORK, "seq %llu: two signed histories (a fork)",
                      (unsigned long long)last);
    }
    *skip = d->nops;
    return RULES_HELD;
  }
  if (first <= held->seq) {
    *skip = (uint32_t)(held->seq - first + 1);
    if (memcmp(hashes[*skip - 1], held->hash, LINLI_HASH_BYTES) != 0) {
      *fork_seq = held->seq;
      return lerr_set(e, LINLI_EFORK, "seq %llu: two signed histories (a fork)",
                      (unsigned long long)held->seq);
    }
  }
  /* Within a delta the compact form makes timestamps increase; across
   * deltas it is checked here. */
  if (held->seq > 0 && d->ops[*skip].hlc <= held->hlc)
    return lerr_set(e, LINLI_EMALFORMED, "seq %llu: timestamp is not after seq %llu's",
                    (unsigned long long)(first + *skip), (unsigned long long)held->seq);
  return 0;
}

void
rules_hash_at(const delta *d, uint64_t seq, uint8_t out[LINLI_HASH_BYTES], lbuf *scratch)
{
  uint8_t h[LINLI_HASH_BYTES];
  memcpy(h, d->prev, sizeof h);
  for (uint64_t q = d->first_seq; q <= seq; q++)
    op_hash(h, h, d->author, &d->ops[q - d->first_seq], scratch);
  memcpy(out, h, sizeof h);
}

int
rules_hash_at_verified(const uint8_t *p, size_t n, const uint8_t author[LINLI_PK_BYTES],
                       uint64_t seq, uint8_t out[LINLI_HASH_BYTES], lerr *e)
{
  delta d;
  memset(&d, 0, sizeof d);
  int rc = delta_decode(&d, p, n, e);
  if (rc)
    return rc;
  lbuf scratch;
  lbuf_init(&scratch);
  uint8_t head[LINLI_HASH_BYTES];
  if (memcmp(d.author, author, LINLI_PK_BYTES) != 0 || seq < d.first_seq ||
      seq > delta_last_seq(&d))
    rc = lerr_set(e, LINLI_EMALFORMED, "the delta is not the author's or does not cover seq %llu",
                  (unsigned long long)seq);
  else if ((rc = delta_verify(&d, head, NULL, &scratch, e)) == 0)
    rules_hash_at(&d, seq, out, &scratch);
  lbuf_free(&scratch);
  delta_clear(&d);
  return rc;
}
