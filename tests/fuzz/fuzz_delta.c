/* fuzz_delta.c - the delta decoder: decode, peek, verify, and re-encode
 * what decoded (the encoder must give back bytes that decode to the same
 * ops and hash to the same head). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (linli_crypto_init() != 0)
    abort();
  uint8_t author[LINLI_PK_BYTES];
  uint64_t first, last;
  int peek = delta_peek(data, size, author, &first, &last);
  delta d;
  memset(&d, 0, sizeof d);
  if (delta_decode(&d, data, size, NULL) != 0)
    return 0;
  /* what decodes, peeks the same */
  if (peek != 0 || memcmp(author, d.author, LINLI_PK_BYTES) != 0 || first != d.first_seq ||
      last != delta_last_seq(&d))
    abort();
  uint8_t head[LINLI_HASH_BYTES];
  lbuf scratch, again;
  lbuf_init(&scratch);
  lbuf_init(&again);
  (void)delta_verify(&d, head, NULL, &scratch, NULL);
  delta_encode(&again, d.author, d.first_seq, d.prev, d.ops, d.nops, d.sig);
  delta d2;
  memset(&d2, 0, sizeof d2);
  if (again.oom || delta_decode(&d2, again.p, again.len, NULL) != 0 || d2.nops != d.nops)
    abort();
  /* the same ops: the same hash chain */
  uint8_t h1[LINLI_HASH_BYTES], h2[LINLI_HASH_BYTES];
  memcpy(h1, d.prev, sizeof h1);
  memcpy(h2, d2.prev, sizeof h2);
  for (uint32_t i = 0; i < d.nops; i++) {
    op_hash(h1, h1, d.author, &d.ops[i], &scratch);
    op_hash(h2, h2, d2.author, &d2.ops[i], &scratch);
  }
  if (memcmp(h1, h2, sizeof h1) != 0)
    abort();
  delta_clear(&d2);
  lbuf_free(&again);
  lbuf_free(&scratch);
  delta_clear(&d);
  return 0;
}
