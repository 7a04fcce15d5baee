/* fuzz_trust.c - certificate chains, revocations, fork evidence, and the
 * per-op trust rules.  The first byte picks what the rest is:
 *   0  a chain (verified against the fixtures' root, for the village)
 *   1  a revocation
 *   2  fork evidence
 *   3  a delta whose ops go through trust_check_op under the fixtures' root
 *   4  hex text, as trust values travel inside ops, then a chain */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void
s_chain(const fx *f, const uint8_t *p, size_t n)
{
  lchain ch;
  if (chain_decode(&ch, p, n, NULL) != 0)
    return;
  if (ch.n == 0 || ch.n > TRUST_CHAIN_MAX)
    abort();
  for (uint32_t i = 0; i < ch.n; i++)
    if (strlen(ch.c[i].name) > TRUST_NAME_MAX || strlen(ch.c[i].prefix) > LINLI_KEY_MAX)
      abort();
  if (chain_verify(&ch, f->k.root.pk, ch.c[0].subject, NULL) == 0) {
    (void)chain_valid_at(&ch, FX_NOW, NULL);
    (void)revoke_authorised(f->k.root.pk, f->k.street.pk, &ch);
  }
}

static void
s_ops(const fx *f, const uint8_t *p, size_t n)
{
  delta d;
  memset(&d, 0, sizeof d);
  if (delta_decode(&d, p, n, NULL) != 0)
    return;
  ltrust_state st;
  trust_state_init(&st);
  for (uint32_t i = 0; i < d.nops; i++) {
    lrevoke rv;
    bool is_rv = false;
    if (trust_check_op(f->k.root.pk, d.author, &st, &d.ops[i], &rv, &is_rv, NULL) == 0 && is_rv)
      trust_add_revocation(&st, d.author, &rv);
  }
  (void)trust_revocation(f->k.root.pk, &st);
  delta_clear(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const fx *f = fx_get();
  if (size == 0)
    return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  switch (data[0] % 5) {
  case 0:
    s_chain(f, p, n);
    break;
  case 1: {
    lrevoke rv;
    if (revoke_decode(&rv, p, n, NULL) == 0 && strlen(rv.reason) > TRUST_REASON_MAX)
      abort();
    break;
  }
  case 2: {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t seq;
    (void)fork_check(p, n, author, &seq, NULL);
    break;
  }
  case 3:
    s_ops(f, p, n);
    break;
  case 4: {
    uint8_t *raw = NULL;
    size_t rl = 0;
    if (trust_unhex((const char *)p, n, &raw, &rl, NULL) == 0) {
      s_chain(f, raw, rl);
      free(raw);
    }
    break;
  }
  }
  return 0;
}
