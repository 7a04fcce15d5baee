/* test_trust.c - certificates, chains, revocations, fork evidence and the
 * per-op trust rules (crdt/trust.h). */
#include "crdt/delta.h"
#include "crdt/hlc.h"
#include "crdt/trust.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define T0 1790000000000ull   /* ms: the tests' "now" */
#define DAY (24ull * 3600 * 1000)

static void
s_key(lident *id, uint8_t n)
{
  uint8_t seed[LINLI_SEED_BYTES];
  memset(seed, n, sizeof seed);
  ident_from_seed(id, seed);
}

static lcert
s_cert(const lident *subject, const char *name, int role, const char *prefix)
{
  lcert c;
  memset(&c, 0, sizeof c);
  memcpy(c.subject, subject->pk, LINLI_PK_BYTES);
  strcpy(c.name, name);
  c.role = (uint8_t)role;
  strcpy(c.prefix, prefix);
  c.not_before = T0 - DAY;
  c.not_after = T0 + 365 * DAY;
  return c;
}

/* root -> street (gusu/jinchang/) -> village (gusu/jinchang/v12/) */
static lident root, street, village, stranger;
static lchain vchain, schain;

static void
setup(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
  s_key(&root, 1);
  s_key(&street, 2);
  s_key(&village, 3);
  s_key(&stranger, 4);
  memset(&schain, 0, sizeof schain);
  schain.c[0] = s_cert(&street, "jinchang", ROLE_STREET, "gusu/jinchang/");
  cert_sign(&schain.c[0], &root);
  schain.n = 1;
  memset(&vchain, 0, sizeof vchain);
  vchain.c[0] = s_cert(&village, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/");
  cert_sign(&vchain.c[0], &street);
  vchain.c[1] = schain.c[0];
  vchain.n = 2;
}

TestSuite(trust, .init = setup);

Test(trust, chain_round_trip_and_verify)
{
  lbuf b;
  lbuf_init(&b);
  chain_encode(&b, &vchain);
  lchain back;
  lerr e = {0};
  cr_assert_eq(chain_decode(&back, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(back.n, 2);
  cr_assert_eq(memcmp(&back.c[0], &vchain.c[0], sizeof back.c[0]), 0);
  cr_assert_eq(chain_verify(&back, root.pk, village.pk, &e), 0, "%s", e.msg);
  cr_assert_eq(chain_valid_at(&back, T0, &e), 0, "%s", e.msg);
  /* every byte matters: flipping any one makes decode or verify fail */
  for (size_t i = 0; i < b.len; i++) {
    b.p[i] ^= 0x01;
    lchain t;
    int rc = chain_decode(&t, b.p, b.len, NULL);
    if (rc == 0)
      rc = chain_verify(&t, root.pk, village.pk, NULL);
    cr_assert_neq(rc, 0, "flipping byte %zu went unnoticed", i);
    b.p[i] ^= 0x01;
  }
  lbuf_free(&b);
}

Test(trust, chain_rules)
{
  lerr e = {0};
  lchain ch;
  /* wrong subject, wrong root */
  cr_assert_eq(chain_verify(&vchain, root.pk, street.pk, &e), LINLI_EREFUSED);
  cr_assert_eq(chain_verify(&vchain, stranger.pk, village.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "not by the trust root") != NULL, "%s", e.msg);
  /* a village cannot widen its street's prefix */
  ch = vchain;
  strcpy(ch.c[0].prefix, "gusu/");
  cert_sign(&ch.c[0], &street);
  cr_assert_eq(chain_verify(&ch, root.pk, village.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "outside its issuer's") != NULL, "%s", e.msg);
  /* nor be given a higher role than its issuer */
  ch = vchain;
  ch.c[0].role = ROLE_DISTRICT;
  strcpy(ch.c[0].prefix, "gusu/jinchang/v12/");
  cert_sign(&ch.c[0], &street);
  cr_assert_eq(chain_verify(&ch, root.pk, village.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "cannot certify") != NULL, "%s", e.msg);
  /* a certificate signed by someone else than the next in the chain */
  ch = vchain;
  cert_sign(&ch.c[0], &stranger);
  cr_assert_eq(chain_verify(&ch, root.pk, village.pk, &e), LINLI_EREFUSED);
  /* the issuer field claims the street but the signature is the stranger's */
  memcpy(ch.c[0].issuer, street.pk, LINLI_PK_BYTES);
  cr_assert_eq(chain_verify(&ch, root.pk, village.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "signature does not verify") != NULL, "%s", e.msg);
  /* validity */
  cr_assert_eq(chain_valid_at(&vchain, T0 - 2 * DAY, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "not yet valid") != NULL, "%s", e.msg);
  cr_assert_eq(chain_valid_at(&vchain, T0 + 400 * DAY, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "expired") != NULL, "%s", e.msg);
  /* the street's certificate expiring ends the village's too */
  ch = vchain;
  ch.c[1].not_after = T0 + DAY;
  cr_assert_eq(chain_valid_at(&ch, T0 + 2 * DAY, &e), LINLI_EREFUSED);
  /* syntax: a street needs a prefix; prefixes end in '/'; trust/ is reserved */
  lcert c = s_cert(&street, "x", ROLE_STREET, "");
  cr_assert_eq(cert_check(&c, &e), LINLI_EMALFORMED);
  c = s_cert(&street, "x", ROLE_STREET, "gusu");
  cr_assert_eq(cert_check(&c, &e), LINLI_EMALFORMED);
  c = s_cert(&street, "x", ROLE_STREET, "trust/");
  cr_assert_eq(cert_check(&c, &e), LINLI_EMALFORMED);
  c = s_cert(&street, "x", ROLE_STREET, "gusu//a/");
  cr_assert_eq(cert_check(&c, &e), LINLI_EMALFORMED);
  c = s_cert(&street, "x", ROLE_DISTRICT, "");
  cr_assert_eq(cert_check(&c, &e), 0, "%s", e.msg);
}

/* An op as trust_check_op sees it. */
static op
s_op(uint8_t kind, const char *key, const char *field, const char *val, uint64_t seq, uint64_t ms)
{
  op o;
  memset(&o, 0, sizeof o);
  o.kind = kind;
  o.key = key;
  o.key_len = (uint32_t)strlen(key);
  o.field = field;
  o.field_len = (uint32_t)strlen(field);
  o.str = val;
  o.str_len = (uint32_t)strlen(val);
  o.seq = seq;
  o.hlc = hlc_make(ms, 0);
  return o;
}

static char *
s_hexval(const uint8_t *p, size_t n)
{
  lbuf h;
  lbuf_init(&h);
  trust_hex(&h, p, n);
  lbuf_put(&h, "", 1);
  return (char *)h.p;
}

static char *
s_chain_hex(const lchain *ch)
{
  lbuf b;
  lbuf_init(&b);
  chain_encode(&b, ch);
  char *hex = s_hexval(b.p, b.len);
  lbuf_free(&b);
  return hex;
}

Test(trust, op_rules)
{
  ltrust_state st;
  trust_state_init(&st);
  lerr e = {0};
  char key[96];
  trust_key(key, TRUST_CERT_PREFIX, village.pk);
  char *hex = s_chain_hex(&vchain);
  /* rules off without a root */
  op o = s_op(OP_SET, "anything/at/all", "f", "v", 1, T0);
  cr_assert_eq(trust_check_op(NULL, village.pk, &st, &o, NULL, NULL, &e), 0);
  /* nothing before the certificate */
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "no certificate") != NULL, "%s", e.msg);
  /* the certificate op */
  o = s_op(OP_SET, key, TRUST_CHAIN_FIELD, hex, 1, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  cr_assert(st.certified);
  /* inside and outside the namespace */
  o = s_op(OP_SET, "gusu/jinchang/v12/hh/1", "name", "x", 2, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  o = s_op(OP_SET, "gusu/jinchang/v13/hh/1", "name", "x", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "outside its namespace") != NULL, "%s", e.msg);
  cr_assert(strstr(e.msg, "seq 3") != NULL, "%s", e.msg);
  /* district-level namespaces */
  o = s_op(OP_SET, "notices/2026/1", "title", "x", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert_eq(trust_check_op(root.pk, root.pk, &st, &o, NULL, NULL, &e), 0);
  /* after expiry */
  o = s_op(OP_SET, "gusu/jinchang/v12/hh/1", "name", "x", 3, T0 + 400 * DAY);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "expired") != NULL, "%s", e.msg);
  /* reserved keys: another's certificate, any other trust/ key, a delete */
  char other[96];
  trust_key(other, TRUST_CERT_PREFIX, street.pk);
  o = s_op(OP_SET, other, TRUST_CHAIN_FIELD, hex, 3, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  o = s_op(OP_SET, "trust/other/x", "f", "v", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  o = s_op(OP_DEL, key, "", "", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  /* a chain that certifies another key is refused as this key's */
  ltrust_state st2;
  trust_state_init(&st2);
  char skey[96];
  trust_key(skey, TRUST_CERT_PREFIX, stranger.pk);
  o = s_op(OP_SET, skey, TRUST_CHAIN_FIELD, hex, 1, T0);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st2, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(!st2.certified);
  /* garbage in the certificate value */
  trust_key(skey, TRUST_CERT_PREFIX, village.pk);
  o = s_op(OP_SET, skey, TRUST_CHAIN_FIELD, "zz", 1, T0);
  cr_assert_eq(trust_check_op(root.pk, village.pk, &st2, &o, NULL, NULL, &e), LINLI_EREFUSED);
  free(hex);
}

/* A village log: its head at each seq, for revocations. */
static void
s_head(const lident *id, uint64_t seq, uint8_t hash[LINLI_HASH_BYTES], uint8_t sig[LINLI_SIG_BYTES])
{
  memset(hash, (int)seq, LINLI_HASH_BYTES);
  head_sign(id, seq, hash, sig);
}

Test(trust, revocations)
{
  lrevoke rv;
  memset(&rv, 0, sizeof rv);
  memcpy(rv.subject, village.pk, LINLI_PK_BYTES);
  rv.seq = 7;
  s_head(&village, 7, rv.hash, rv.sig);
  strcpy(rv.reason, "stolen");
  lbuf b;
  lbuf_init(&b);
  revoke_encode(&b, &rv);
  lrevoke back;
  lerr e = {0};
  cr_assert_eq(revoke_decode(&back, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(back.seq, 7);
  cr_assert_str_eq(back.reason, "stolen");
  /* a head the subject never signed */
  lbuf_reset(&b);
  lrevoke forged = rv;
  forged.seq = 5;
  revoke_encode(&b, &forged);
  cr_assert_eq(revoke_decode(&back, b.p, b.len, &e), LINLI_EREFUSED);
  /* seq 0 needs zero hash and signature */
  forged = rv;
  forged.seq = 0;
  lbuf_reset(&b);
  revoke_encode(&b, &forged);
  cr_assert_eq(revoke_decode(&back, b.p, b.len, &e), LINLI_EMALFORMED);
  lbuf_free(&b);
  /* who may revoke: the root, the issuers up the chain; not a stranger,
   * not the village itself */
  ltrust_issuers vis;
  trust_issuers(&vchain, &vis);
  cr_assert_eq(vis.n, 2);
  cr_assert_eq(trust_revoke_check(root.pk, root.pk, &rv, NULL, &e), 0);
  cr_assert_eq(trust_revoke_check(root.pk, street.pk, &rv, &vis, &e), 0);
  cr_assert_eq(trust_revoke_check(root.pk, stranger.pk, &rv, &vis, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "has no force") != NULL, "%s", e.msg);
  cr_assert_eq(trust_revoke_check(root.pk, village.pk, &rv, &vis, &e), LINLI_EREFUSED);
  cr_assert_eq(trust_revoke_check(root.pk, street.pk, &rv, NULL, &e), LINLI_EREFUSED);
  /* seq 0 is decided by the chain at seq 1 */
  cr_assert_eq(trust_revoke_at(0), 1);
  cr_assert_eq(trust_revoke_at(7), 7);
  /* the state keeps authorised ones sorted: the first is in force */
  ltrust_state st;
  trust_state_init(&st);
  lrevoke r9 = rv, r3 = rv;
  r9.seq = 9;
  r3.seq = 3;
  cr_assert(trust_add_revocation(&st, street.pk, &r9));
  cr_assert(!trust_add_revocation(&st, street.pk, &r9));
  cr_assert_eq(trust_revocation(&st)->rv.seq, 9);
  cr_assert(trust_add_revocation(&st, root.pk, &r3));
  cr_assert_eq(trust_revocation(&st)->rv.seq, 3);
  cr_assert_eq(st.nrevs, 2);
  /* a revoker's earlier revocation replaces its later one */
  lrevoke r2 = rv;
  r2.seq = 2;
  cr_assert(trust_add_revocation(&st, street.pk, &r2));
  cr_assert_eq(st.nrevs, 2);
  cr_assert_eq(trust_revocation(&st)->rv.seq, 2);
  cr_assert_eq(memcmp(trust_revocation(&st)->revoker, street.pk, LINLI_PK_BYTES), 0);
  cr_assert(!trust_add_revocation(&st, street.pk, &r9));
  /* the seq cut without overflow at the top */
  ltrust_rev top = {.rv = {.seq = UINT64_MAX}};
  cr_assert(!trust_cut(&top, UINT64_MAX));
  cr_assert(!trust_cut(&top, UINT64_MAX - 1));
  cr_assert(!trust_cut(NULL, 5));
  ltrust_rev at5 = {.rv = {.seq = 5}};
  cr_assert(trust_cut(&at5, 6));
  cr_assert(!trust_cut(&at5, 5));
}

/* The invariants of revs[] the rest relies on: at most TRUST_REVS_MAX,
 * sorted by seq, one per revoker. */
static void
s_revs_ok(const ltrust_state *st)
{
  cr_assert_leq(st->nrevs, TRUST_REVS_MAX);
  for (uint32_t i = 0; i < st->nrevs; i++) {
    if (i > 0)
      cr_assert_leq(st->revs[i - 1].rv.seq, st->revs[i].rv.seq, "revs[] not sorted");
    for (uint32_t k = 0; k < i; k++)
      cr_assert_neq(memcmp(st->revs[i].revoker, st->revs[k].revoker, LINLI_PK_BYTES), 0,
                    "two places for one revoker");
  }
}

/* A revocation of `subject` at `seq` with its own head signature. */
static lrevoke
s_rv(const lident *subject, uint64_t seq)
{
  lrevoke rv;
  memset(&rv, 0, sizeof rv);
  memcpy(rv.subject, subject->pk, LINLI_PK_BYTES);
  rv.seq = seq;
  if (seq > 0)
    s_head(subject, seq, rv.hash, rv.sig);
  return rv;
}

/* A revocation op of `subject` at `seq`, for trust_check_op. */
static op
s_rv_op(const lident *subject, uint64_t rseq, uint64_t opseq, char key[96], char **hex)
{
  lrevoke rv = s_rv(subject, rseq);
  lbuf b;
  lbuf_init(&b);
  revoke_encode(&b, &rv);
  *hex = s_hexval(b.p, b.len);
  lbuf_free(&b);
  trust_key(key, TRUST_REVOKE_PREFIX, subject->pk);
  return s_op(OP_ADD, key, TRUST_REVOKE_FIELD, *hex, opseq, T0);
}

/* What a node does with a revocation of the village it holds the log of:
 * in force only when trust_revoke_check passes. */
static void
s_node_takes(ltrust_state *st, const lident *revoker, const lrevoke *rv)
{
  ltrust_issuers is;
  trust_issuers(&vchain, &is);
  if (trust_revoke_check(root.pk, revoker->pk, rv, &is, NULL) == 0)
    trust_add_revocation(st, revoker->pk, rv);
  s_revs_ok(st);
}

/* The trigger: revocations at seqs 1..8 that are no one's to write must
 * not push the street's revocation at seq 100 out, in either order. */
Test(trust, eight_revocations_cannot_make_a_key_unrevocable)
{
  char key[96], *hex;
  lerr e = {0};
  /* The village revoking itself is not a valid op at all. */
  ltrust_state vst;
  trust_state_init(&vst);
  vst.certified = true;
  vst.chain = vchain;
  for (uint64_t k = 1; k <= 8; k++) {
    op o = s_rv_op(&village, k, 100 + k, key, &hex);
    lrevoke got;
    bool isrv = true;
    cr_assert_eq(trust_check_op(root.pk, village.pk, &vst, &o, &got, &isrv, &e), LINLI_EREFUSED);
    cr_assert(strstr(e.msg, "cannot revoke itself") != NULL, "%s", e.msg);
    cr_assert(!isrv);
    free(hex);
  }
  /* A certified neighbour's revocations are valid ops without force. */
  lcert nc = s_cert(&stranger, "v13", ROLE_VILLAGE, "gusu/jinchang/v13/");
  cert_sign(&nc, &street);
  ltrust_state nst;
  trust_state_init(&nst);
  nst.certified = true;
  nst.chain.n = 2;
  nst.chain.c[0] = nc;
  nst.chain.c[1] = schain.c[0];
  for (int order = 0; order < 2; order++) {
    ltrust_state st;
    trust_state_init(&st);
    lrevoke street100 = s_rv(&village, 100);
    if (order == 1)
      s_node_takes(&st, &street, &street100);
    for (uint64_t k = 1; k <= 8; k++) {
      op o = s_rv_op(&village, k, k, key, &hex);
      lrevoke got;
      bool isrv = false;
      cr_assert_eq(trust_check_op(root.pk, stranger.pk, &nst, &o, &got, &isrv, &e), 0, "%s",
                   e.msg);
      cr_assert(isrv);
      s_node_takes(&st, &stranger, &got);
      free(hex);
    }
    cr_assert_eq(st.nrevs, order == 1 ? 1 : 0, "an unauthorised revocation took a slot");
    if (order == 0)
      s_node_takes(&st, &street, &street100);
    const ltrust_rev *in = trust_revocation(&st);
    cr_assert_not_null(in, "order %d: the street's revocation was pushed out", order);
    cr_assert_eq(in->rv.seq, 100);
    cr_assert_eq(memcmp(in->revoker, street.pk, LINLI_PK_BYTES), 0);
  }
}

/* Even TRUST_REVS_MAX authorised revokers cannot push the smallest out. */
Test(trust, full_revocation_slots_keep_the_smallest)
{
  ltrust_state st;
  trust_state_init(&st);
  lident k[TRUST_REVS_MAX + 2];
  for (int i = 0; i < TRUST_REVS_MAX + 2; i++) {
    s_key(&k[i], (uint8_t)(40 + i));
    lrevoke rv = s_rv(&village, (uint64_t)(50 - i));
    trust_add_revocation(&st, k[i].pk, &rv);
    s_revs_ok(&st);
    /* a repeat, and a later one by the same revoker, change nothing */
    cr_assert(!trust_add_revocation(&st, k[i].pk, &rv));
    rv.seq += 100;
    cr_assert(!trust_add_revocation(&st, k[i].pk, &rv));
  }
  cr_assert_eq(st.nrevs, TRUST_REVS_MAX);
  cr_assert_eq(trust_revocation(&st)->rv.seq, 50 - (TRUST_REVS_MAX + 1));
  for (uint32_t i = 1; i < st.nrevs; i++)
    cr_assert_lt(st.revs[i - 1].rv.seq, st.revs[i].rv.seq);
  /* a larger one does not enter a full state */
  lident late;
  s_key(&late, 90);
  lrevoke rv = s_rv(&village, 60);
  cr_assert(!trust_add_revocation(&st, late.pk, &rv));
}

/* Without a root, trust/ holds only well-formed certificates of the
 * writer itself and revocations of other keys. */
Test(trust, reserved_keys_without_a_root)
{
  ltrust_state st;
  trust_state_init(&st);
  lerr e = {0};
  op o = s_op(OP_SET, "trust/x/y", "f", "v", 1, T0);
  cr_assert_eq(trust_check_op(NULL, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "reserved") != NULL, "%s", e.msg);
  char key[96];
  trust_key(key, TRUST_CERT_PREFIX, village.pk);
  o = s_op(OP_SET, key, TRUST_CHAIN_FIELD, "00ff", 1, T0);
  cr_assert_eq(trust_check_op(NULL, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  o = s_op(OP_SET, key, "other", "00", 1, T0);
  cr_assert_eq(trust_check_op(NULL, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  char *hex = s_chain_hex(&vchain);
  o = s_op(OP_SET, key, TRUST_CHAIN_FIELD, hex, 1, T0);
  cr_assert_eq(trust_check_op(NULL, village.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  /* another key's chain is not this key's */
  cr_assert_eq(trust_check_op(NULL, street.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  char skey[96];
  trust_key(skey, TRUST_CERT_PREFIX, street.pk);
  o = s_op(OP_SET, skey, TRUST_CHAIN_FIELD, hex, 1, T0);
  cr_assert_eq(trust_check_op(NULL, street.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  free(hex);
  /* revocations: well-formed, of another key */
  o = s_rv_op(&village, 3, 2, key, &hex);
  cr_assert_eq(trust_check_op(NULL, street.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(trust_check_op(NULL, village.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  free(hex);
  o = s_op(OP_ADD, key, TRUST_REVOKE_FIELD, "zz", 2, T0);
  cr_assert_eq(trust_check_op(NULL, street.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(!st.certified, "no root: a certificate is not a chain in force");
}

/* A one-op signed delta of `id` at seq 1 setting hh/1 = val. */
static void
s_delta1(lbuf *out, const lident *id, const char *val)
{
  op o = s_op(OP_SET, "gusu/jinchang/v12/hh/1", "name", val, 1, T0);
  uint8_t prev[LINLI_HASH_BYTES] = {0}, head[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  lbuf scratch;
  lbuf_init(&scratch);
  op_hash(head, prev, id->pk, &o, &scratch);
  head_sign(id, 1, head, sig);
  delta_encode(out, id->pk, 1, prev, &o, 1, sig);
  lbuf_free(&scratch);
}

Test(trust, fork_evidence)
{
  lbuf a, b, ev;
  lbuf_init(&a);
  lbuf_init(&b);
  lbuf_init(&ev);
  s_delta1(&a, &village, "one");
  s_delta1(&b, &village, "two");
  fork_encode(&ev, village.pk, 1, a.p, a.len, b.p, b.len);
  uint8_t au[LINLI_PK_BYTES];
  uint64_t seq;
  lerr e = {0};
  cr_assert_eq(fork_check(ev.p, ev.len, au, &seq, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(au, village.pk, LINLI_PK_BYTES), 0);
  cr_assert_eq(seq, 1);
  /* two copies of the same delta are no evidence */
  lbuf_reset(&ev);
  fork_encode(&ev, village.pk, 1, a.p, a.len, a.p, a.len);
  cr_assert_neq(fork_check(ev.p, ev.len, au, &seq, &e), 0);
  /* nor is a delta someone else signed */
  lbuf c;
  lbuf_init(&c);
  s_delta1(&c, &stranger, "two");
  lbuf_reset(&ev);
  fork_encode(&ev, village.pk, 1, a.p, a.len, c.p, c.len);
  cr_assert_neq(fork_check(ev.p, ev.len, au, &seq, &e), 0);
  /* nor one whose signature was altered */
  lbuf_reset(&ev);
  b.p[b.len - 1] ^= 1;
  fork_encode(&ev, village.pk, 1, a.p, a.len, b.p, b.len);
  cr_assert_neq(fork_check(ev.p, ev.len, au, &seq, &e), 0);
  /* truncated evidence */
  cr_assert_neq(fork_check(ev.p, ev.len - 3, au, &seq, &e), 0);
  lbuf_free(&a);
  lbuf_free(&b);
  lbuf_free(&c);
  lbuf_free(&ev);
}

Test(trust, non_canonical_certificate_refused)
{
  /* A chain's certificates are read in their canonical form only: the
   * tag or the name as str 8, or a time as a longer uint, is refused
   * though the signature (over the canonical re-encoding) would verify. */
  lbuf b, v;
  lbuf_init(&b);
  lbuf_init(&v);
  chain_encode(&b, &vchain);
  lchain ch;
  lerr e = {0};
  cr_assert_eq(chain_decode(&ch, b.p, b.len, &e), 0, "%s", e.msg);
  /* 92 99 ad "linli-cert-v1" ...: the first certificate's tag as str 8 */
  cr_assert_eq(b.p[0], 0x92);
  cr_assert_eq(b.p[1], 0x99);
  cr_assert_eq(b.p[2], 0xad);
  lbuf_put(&v, b.p, 2);
  lbuf_put(&v, "\xd9\x0d", 2);
  lbuf_put(&v, b.p + 3, b.len - 3);
  cr_assert_eq(chain_decode(&ch, v.p, v.len, &e), LINLI_EMALFORMED, "tag as str 8 accepted");
  /* the name "v12" (a3) after the subject (c4 20 + 32) as str 8 */
  size_t at = 3 + 13 + 34;
  cr_assert_eq(b.p[at], 0xa3);
  lbuf_reset(&v);
  lbuf_put(&v, b.p, at);
  lbuf_put(&v, "\xd9\x03", 2);
  lbuf_put(&v, b.p + at + 1, b.len - at - 1);
  cr_assert_eq(chain_decode(&ch, v.p, v.len, &e), LINLI_EMALFORMED, "name as str 8 accepted");
  lbuf_free(&b);
  lbuf_free(&v);
}

/* ---- person certificates (docs/FORMAT.md, "Person certificates") ---- */

Test(trust, person_roles)
{
  static const char *const names[] = {"clerk", "assessor", "auditor", "admin"};
  for (int r = ROLE_CLERK; r <= ROLE_ADMIN; r++) {
    cr_assert_str_eq(trust_role_name(r), names[r - ROLE_CLERK]);
    cr_assert_eq(trust_role_parse(names[r - ROLE_CLERK]), r);
    cr_assert(trust_role_person(r));
  }
  cr_assert_eq(ROLE_CLERK, 3);
  cr_assert_eq(ROLE_ADMIN, 6);
  for (int r = ROLE_DISTRICT; r <= ROLE_VILLAGE; r++)
    cr_assert(!trust_role_person(r));
  cr_assert(!trust_role_person(ROLE_COUNT));
  cr_assert_eq(trust_role_parse("person"), -1);
}

/* A person certified by the village: [person, village, street]. */
static lchain
s_person_chain(const lident *person, const char *name, int role, const char *prefix)
{
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.c[0] = s_cert(person, name, role, prefix);
  cert_sign(&ch.c[0], &village);
  ch.c[1] = vchain.c[0];
  ch.c[2] = vchain.c[1];
  ch.n = 3;
  return ch;
}

Test(trust, person_chain_rules)
{
  lerr e = {0};
  lchain ch = s_person_chain(&stranger, "王芳", ROLE_CLERK, "gusu/jinchang/v12/");
  /* encodes with its role's name, decodes back, verifies */
  lbuf b;
  lbuf_init(&b);
  chain_encode(&b, &ch);
  bool named = false; /* the role travels as its name: fixstr "clerk" */
  for (size_t i = 0; i + 6 <= b.len && !named; i++)
    named = memcmp(b.p + i, "\xa5" "clerk", 6) == 0;
  cr_assert(named);
  lchain back;
  cr_assert_eq(chain_decode(&back, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(back.c[0].role, ROLE_CLERK);
  cr_assert_eq(chain_verify(&back, root.pk, stranger.pk, &e), 0, "%s", e.msg);
  lbuf_free(&b);
  /* a person's prefix narrows its station's like any other */
  ch = s_person_chain(&stranger, "王芳", ROLE_CLERK, "gusu/jinchang/v13/");
  cr_assert_eq(chain_verify(&ch, root.pk, stranger.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "outside its issuer") != NULL, "%s", e.msg);
  /* a person certifies nobody: a chain with a person anywhere but c[0] */
  lident other;
  s_key(&other, 9);
  lchain pch = s_person_chain(&stranger, "王芳", ROLE_ADMIN, "gusu/jinchang/v12/");
  lchain bad;
  memset(&bad, 0, sizeof bad);
  bad.c[0] = s_cert(&other, "李明", ROLE_CLERK, "gusu/jinchang/v12/hh/");
  cert_sign(&bad.c[0], &stranger);
  memcpy(&bad.c[1], pch.c, 3 * sizeof pch.c[0]);
  bad.n = 4;
  cr_assert_eq(chain_verify(&bad, root.pk, other.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "a person certifies nobody") != NULL, "%s", e.msg);
  /* nor a station */
  bad.c[0] = s_cert(&other, "v99", ROLE_VILLAGE, "gusu/jinchang/v12/x/");
  cert_sign(&bad.c[0], &stranger);
  cr_assert_eq(chain_verify(&bad, root.pk, other.pk, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "a person certifies nobody") != NULL, "%s", e.msg);
  /* a person needs a prefix */
  lcert c = s_cert(&other, "x", ROLE_AUDITOR, "");
  cr_assert_eq(cert_check(&c, &e), LINLI_EMALFORMED);
}

/* The certificate op of `who` carrying `ch`, at seq 1. */
static op
s_cert_op(const lident *who, const lchain *ch, char key[96], char **hex)
{
  trust_key(key, TRUST_CERT_PREFIX, who->pk);
  *hex = s_chain_hex(ch);
  return s_op(OP_SET, key, TRUST_CHAIN_FIELD, *hex, 1, T0);
}

Test(trust, person_op_rules)
{
  lerr e = {0};
  char key[96], rkey[96];
  char *hex, *rhex;
  ltrust_state st;
  /* a clerk writes inside its prefix, like a station */
  lchain ch = s_person_chain(&stranger, "王芳", ROLE_CLERK, "gusu/jinchang/v12/");
  trust_state_init(&st);
  op o = s_cert_op(&stranger, &ch, key, &hex);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  free(hex);
  o = s_op(OP_SET, "gusu/jinchang/v12/hh/0001", "户主", "陈建国", 2, T0);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  o = s_op(OP_SET, "gusu/jinchang/v13/hh/0001", "户主", "陈建国", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  /* a person writes no revocation, not even of another person */
  lident other;
  s_key(&other, 9);
  o = s_rv_op(&other, 0, 3, rkey, &rhex);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "a person writes no revocation") != NULL, "%s", e.msg);
  free(rhex);

  /* an assessor's prefix is the points collection: the prefix rule keeps
   * it there */
  ch = s_person_chain(&stranger, "赵评", ROLE_ASSESSOR, "gusu/jinchang/v12/pts/");
  trust_state_init(&st);
  o = s_cert_op(&stranger, &ch, key, &hex);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  free(hex);
  o = s_op(OP_INCR, "gusu/jinchang/v12/pts/0001", "积分", "", 2, T0);
  o.n = 5;
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  o = s_op(OP_SET, "gusu/jinchang/v12/hh/0001", "户主", "x", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "outside its namespace") != NULL, "%s", e.msg);

  /* an auditor: its own certificate, then nothing */
  ch = s_person_chain(&stranger, "孙审", ROLE_AUDITOR, "gusu/jinchang/v12/");
  trust_state_init(&st);
  o = s_cert_op(&stranger, &ch, key, &hex);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  cr_assert(st.certified);
  o.seq = 2; /* a renewal of its certificate is its own op too */
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), 0, "%s", e.msg);
  free(hex);
  o = s_op(OP_SET, "gusu/jinchang/v12/hh/0001", "户主", "x", 3, T0);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "an auditor") != NULL, "%s", e.msg);
  o = s_rv_op(&other, 0, 3, rkey, &rhex);
  cr_assert_eq(trust_check_op(root.pk, stranger.pk, &st, &o, NULL, NULL, &e), LINLI_EREFUSED);
  free(rhex);
}
