/* fuzz_bundle.c - the bundle reader, and the delta decoder (or the fork
 * evidence check) on every object it hands out, as `linli import` and
 * `linli audit` do. */
#include "fuzz.h"
#include "sync/bundle.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (linli_crypto_init() != 0)
    abort();
  bundle_reader br;
  if (bundle_read_begin(&br, data, size, NULL) != 0)
    return 0;
  lbuf scratch;
  lbuf_init(&scratch);
  const uint8_t *p;
  size_t n;
  int rc;
  while ((rc = bundle_read_next(&br, &p, &n, NULL)) > 0) {
    if (p < data || p + n > data + size)
      abort();
    if (rc == BUNDLE_FORK) {
      uint8_t author[LINLI_PK_BYTES];
      uint64_t seq;
      (void)fork_check(p, n, author, &seq, NULL);
      continue;
    }
    if (rc != BUNDLE_DELTA)
      abort();
    delta d;
    memset(&d, 0, sizeof d);
    if (delta_decode(&d, p, n, NULL) == 0) {
      uint8_t head[LINLI_HASH_BYTES];
      (void)delta_verify(&d, head, NULL, &scratch, NULL);
    }
    delta_clear(&d);
  }
  if (rc == 0 && br.info.ndeltas != br.seen)
    abort();
  lbuf_free(&scratch);
  return 0;
}
