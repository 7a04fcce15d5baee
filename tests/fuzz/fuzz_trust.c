/* fuzz_trust.c - certificate chains, revocations, fork evidence, and the
 * per-op trust rules.  The first byte picks what the rest is:
 *   0  a chain (verified against the fixtures' root, for the village)
 *   1  a revocation (and whether the village's issuer may make it)
 *   2  fork evidence
 *   3  a delta whose ops go through the trust rules, under the fixtures'
 *      root and under none
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
    ltrust_issuers iss;
    trust_issuers(&ch, &iss);
    if (iss.n == 0 || iss.n > TRUST_CHAIN_MAX)
      abort();
  }
}

/* A revocation as the village's issuers (street, then root) see it. */
static void
s_revoke(const fx *f, const uint8_t *p, size_t n)
{
  lrevoke rv;
  if (revoke_decode(&rv, p, n, NULL) != 0)
    return;
  if (strlen(rv.reason) > TRUST_REASON_MAX)
    abort();
  ltrust_issuers iss;
  trust_issuers(&f->k.vchain, &iss);
  (void)trust_revoke_check(f->k.root.pk, f->k.street.pk, &rv, &iss, NULL);
  (void)trust_revoke_check(f->k.root.pk, f->k.other.pk, &rv, NULL, NULL);
  ltrust_state st;
  trust_state_init(&st);
  if (trust_add_revocation(&st, f->k.street.pk, &rv))
    (void)trust_cut(trust_revocation(&st), rv.seq + 1);
}

/* A delta's ops through the trust rules, with the fixtures' root and with
 * none; revocations of the village that have force are kept as a node
 * would keep them. */
static void
s_ops(const fx *f, const uint8_t *p, size_t n)
{
  delta d;
  memset(&d, 0, sizeof d);
  if (delta_decode(&d, p, n, NULL) != 0)
    return;
  ltrust_state st, noroot, village;
  trust_state_init(&st);
  trust_state_init(&noroot);
  trust_state_init(&village);
  ltrust_issuers iss;
  trust_issuers(&f->k.vchain, &iss);
  for (uint32_t i = 0; i < d.nops; i++) {
    lchain ch;
    (void)trust_op_chain(d.author, &d.ops[i], &ch, NULL);
    (void)trust_check_op(NULL, d.author, &noroot, &d.ops[i], NULL, NULL, NULL);
    lrevoke rv;
    bool is_rv = false;
    if (trust_check_op(f->k.root.pk, d.author, &st, &d.ops[i], &rv, &is_rv, NULL) == 0 &&
        is_rv && memcmp(rv.subject, f->k.village.pk, LINLI_PK_BYTES) == 0 &&
        trust_revoke_check(f->k.root.pk, d.author, &rv, &iss, NULL) == 0)
      trust_add_revocation(&village, d.author, &rv);
  }
  (void)trust_revocation(&village);
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
  case 1:
    s_revoke(f, p, n);
    break;
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
