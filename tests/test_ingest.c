/*
 * test_ingest.c - node/ingest and node/trustcache: the trust rules as a
 * store applies them.  Revocations have force only when authorised by the
 * chain in force at their seq, whatever order the logs arrive in; an
 * unauthorised revocation never takes a place; a refused delta leaves no
 * trust effect behind; the top of the seq range does not wrap; the trust
 * generation moves with every trust change and with nothing else.
 *
 * A root, two streets and three villages write their logs by hand (as
 * remote nodes would); each scenario feeds them to fresh stores in
 * different orders and compares the outcome.
 */
#include "crdt/hlc.h"
#include "crdt/trust.h"
#include "node/keyfile.h"
#include "node/store.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1790000000000ull /* ms: the logs' "now" */
#define DAY (24ull * 3600 * 1000)
#define MAXSEQ 200

/* An author writing signed deltas by hand, with its head at every seq
 * (revocations carry one). */
typedef struct author {
  lident id;
  uint64_t seq, hlc;
  uint8_t head[LINLI_HASH_BYTES];
  uint8_t heads[MAXSEQ + 1][LINLI_HASH_BYTES];
} author;

static author root, street, street2, village, neighbour;

static void
s_author(author *a, uint8_t n)
{
  memset(a, 0, sizeof *a);
  tu_key(&a->id, n);
  a->hlc = hlc_make(T0 + n, 0);
}

static lcert
s_cert(const author *subject, const author *issuer, const char *name, int role,
       const char *prefix)
{
  lcert c;
  memset(&c, 0, sizeof c);
  memcpy(c.subject, subject->id.pk, LINLI_PK_BYTES);
  snprintf(c.name, sizeof c.name, "%s", name);
  c.role = (uint8_t)role;
  snprintf(c.prefix, sizeof c.prefix, "%s", prefix);
  c.not_before = T0 - DAY;
  c.not_after = T0 + 365 * DAY;
  cert_sign(&c, &issuer->id);
  return c;
}

/* Chains, signs and encodes ops as the author's next delta. */
static void
s_delta(author *a, op *ops, uint32_t n, lbuf *out)
{
  cr_assert_leq(a->seq + n, MAXSEQ);
  lbuf_init(out);
  tu_delta(&a->id, &a->seq, &a->hlc, a->head, ops, n, out, a->heads);
}

/* Values of trust ops live as long as the test: kept here. */
static char *vals[256];
static int nvals;

static const char *
s_hexval(const lbuf *b)
{
  lbuf h;
  lbuf_init(&h);
  trust_hex(&h, b->p, b->len);
  lbuf_put(&h, "", 1);
  cr_assert_lt(nvals, 256);
  return vals[nvals++] = (char *)h.p;
}

static char keys[256][96];
static int nkeys;

/* The op setting `a`'s chain. */
static op
s_cert_op(const author *a, const lchain *ch)
{
  lbuf b;
  lbuf_init(&b);
  chain_encode(&b, ch);
  const char *v = s_hexval(&b);
  lbuf_free(&b);
  char *k = keys[nkeys++];
  size_t kl = trust_key(k, TRUST_CERT_PREFIX, a->id.pk);
  return (op){.kind = OP_SET, .key = k, .key_len = (uint32_t)kl, .field = TRUST_CHAIN_FIELD,
              .field_len = 5, .str = v, .str_len = (uint32_t)strlen(v)};
}

/* The op revoking `subject` after its seq `seq` (its head signed there). */
static op
s_revoke_op(const author *subject, uint64_t seq)
{
  lrevoke rv;
  memset(&rv, 0, sizeof rv);
  memcpy(rv.subject, subject->id.pk, LINLI_PK_BYTES);
  rv.seq = seq;
  if (seq == UINT64_MAX) {
    memset(rv.hash, 0x5a, sizeof rv.hash);
    head_sign(&subject->id, seq, rv.hash, rv.sig);
  } else if (seq > 0) {
    cr_assert_leq(seq, MAXSEQ);
    memcpy(rv.hash, subject->heads[seq], LINLI_HASH_BYTES);
    head_sign(&subject->id, seq, rv.hash, rv.sig);
  }
  strcpy(rv.reason, "test");
  lbuf b;
  lbuf_init(&b);
  revoke_encode(&b, &rv);
  const char *v = s_hexval(&b);
  lbuf_free(&b);
  char *k = keys[nkeys++];
  size_t kl = trust_key(k, TRUST_REVOKE_PREFIX, subject->id.pk);
  return (op){.kind = OP_ADD, .key = k, .key_len = (uint32_t)kl, .field = TRUST_REVOKE_FIELD,
              .field_len = (uint32_t)strlen(TRUST_REVOKE_FIELD), .str = v,
              .str_len = (uint32_t)strlen(v)};
}

static op
s_put(const char *key)
{
  return (op){.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "f",
              .field_len = 1, .str = "v", .str_len = 1};
}

/* `n` single-op deltas of puts under `prefix`. */
static void
s_puts(author *a, const char *key, uint32_t n, lbuf *out)
{
  for (uint32_t i = 0; i < n; i++) {
    op o = s_put(key);
    s_delta(a, &o, 1, &out[i]);
  }
}

/* ---- stores ---- */

static char *dirs[16];
static int ndirs;

static lstore *
s_store(void)
{
  char *dir = tu_tmpdir("ingest");
  cr_assert_not_null(dir);
  dirs[ndirs++] = dir;
  char path[4200];
  snprintf(path, sizeof path, "%s/n", dir);
  lident id;
  tu_key(&id, 99);
  lerr e = {0};
  cr_assert_eq(lstore_init(path, "test", &id, NULL, &e), 0, "%s", e.msg);
  lstore *s;
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_set_root(s, root.id.pk, &e), 0, "%s", e.msg);
  return s;
}

static lstore *
s_reopen(lstore **s, int k)
{
  lstore_close(s);
  char path[4200];
  snprintf(path, sizeof path, "%s/n", dirs[k]);
  lerr e = {0};
  cr_assert_eq(lstore_open(s, path, NULL, &e), 0, "%s", e.msg);
  return *s;
}

/* Each delta in its own group (as deltas from separate peers arrive). */
static int
s_add(lstore *s, const lbuf *b, lerr *e)
{
  lingest *g;
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  int rc = lingest_add(g, b->p, b->len, e);
  if (rc == 0)
    rc = lingest_commit(g, T0 + DAY, NULL, e);
  lingest_destroy(&g);
  return rc;
}

static void
s_must_add(lstore *s, const lbuf *b)
{
  lerr e = {0};
  cr_assert_eq(s_add(s, b, &e), 0, "%s", e.msg);
}

/* All of `list` in one group; deltas refused are left out. */
static void
s_add_group(lstore *s, lbuf *const *list, int n)
{
  lingest *g;
  lerr e = {0};
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  for (int i = 0; i < n; i++)
    lingest_add(g, list[i]->p, list[i]->len, NULL);
  cr_assert_eq(lingest_commit(g, T0 + DAY, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
}

static uint64_t
s_head(lstore *s, const author *a)
{
  lhead h;
  int rc = lstore_head(s, a->id.pk, &h, NULL);
  return rc == 0 ? h.seq : 0;
}

static const ltrust_rev *
s_in_force(lstore *s, const author *a, ltrust_state *st)
{
  lerr e = {0};
  cr_assert_eq(lstore_trust(s, a->id.pk, st, &e), 0, "%s", e.msg);
  return trust_revocation(st);
}

static lchain rchain_s, rchain_s2; /* the streets' chains */

static void
setup(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
  nvals = nkeys = ndirs = 0;
  s_author(&root, 1);
  s_author(&street, 2);
  s_author(&street2, 3);
  s_author(&village, 4);
  s_author(&neighbour, 5);
  rchain_s.n = 1;
  rchain_s.c[0] = s_cert(&street, &root, "jinchang", ROLE_STREET, "gusu/jinchang/");
  rchain_s2.n = 1;
  rchain_s2.c[0] = s_cert(&street2, &root, "canglang", ROLE_STREET, "gusu/canglang/");
}

static void
teardown(void)
{
  for (int i = 0; i < nvals; i++)
    free(vals[i]);
  for (int i = 0; i < ndirs; i++) {
    tu_rmtree(dirs[i]);
    free(dirs[i]);
  }
}

TestSuite(ingest, .init = setup, .fini = teardown);

/* `a`'s first delta: its chain under `issuer` (whose own chain is
 * `up`). */
static void
s_first(author *a, const author *issuer, const lchain *up, const char *name, int role,
        const char *prefix, lbuf *out)
{
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.c[0] = s_cert(a, issuer, name, role, prefix);
  for (uint32_t i = 0; i < up->n; i++)
    ch.c[1 + i] = up->c[i];
  ch.n = 1 + up->n;
  op o = s_cert_op(a, &ch);
  s_delta(a, &o, 1, out);
}

/* ---- 17.1: unauthorised revocations take no place ---- */

Test(ingest, eight_revocations_cannot_make_a_key_unrevocable)
{
  lbuf st1, n1, v[8], vmid, vtail, nrevs, srev, vself, vmore;
  s_first(&street, &root, &(lchain){0}, "jinchang", ROLE_STREET, "gusu/jinchang/", &st1);
  /* (s_first with an empty upper chain gives the street's own chain) */
  s_first(&village, &street, &rchain_s, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &v[0]);
  s_puts(&village, "gusu/jinchang/v12/hh/1", 7, &v[1]); /* heads signed at 1..8 */
  op mid[92];
  for (int i = 0; i < 92; i++)
    mid[i] = s_put("gusu/jinchang/v12/hh/2");
  s_delta(&village, mid, 92, &vmid); /* 9..100 */
  op tail[10];
  for (int i = 0; i < 10; i++)
    tail[i] = s_put("gusu/jinchang/v12/hh/3");
  s_delta(&village, tail, 10, &vtail); /* 101..110 */
  /* a certified neighbour "revokes" the village at 1..8 */
  s_first(&neighbour, &street, &rchain_s, "v13", ROLE_VILLAGE, "gusu/jinchang/v13/", &n1);
  op nr[8];
  for (int i = 0; i < 8; i++)
    nr[i] = s_revoke_op(&village, (uint64_t)i + 1);
  s_delta(&neighbour, nr, 8, &nrevs);
  /* the street revokes it after seq 100 */
  op so = s_revoke_op(&village, 100);
  s_delta(&street, &so, 1, &srev);

  lbuf *vlog[] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &vmid, &vtail};
  for (int order = 0; order < 3; order++) {
    lstore *s = s_store();
    s_must_add(s, &st1);
    s_must_add(s, &n1);
    if (order == 0) {
      /* the village's whole log first, then the revocations */
      for (int i = 0; i < 10; i++)
        s_must_add(s, vlog[i]);
      s_must_add(s, &nrevs);
      s_must_add(s, &srev);
    } else if (order == 1) {
      /* the revocations first: undecided until the log gets there */
      s_must_add(s, &srev);
      s_must_add(s, &nrevs);
      for (int i = 0; i < 9; i++)
        s_must_add(s, vlog[i]);
      lerr e = {0};
      cr_assert_eq(s_add(s, &vtail, &e), LINLI_EREFUSED, "order 1: ops after 100 accepted");
      cr_assert(strstr(e.msg, "revoked after seq 100") != NULL, "%s", e.msg);
    } else {
      /* everything in one group, the log first */
      lbuf *all[] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &vmid, &vtail,
                     &nrevs, &srev};
      s_add_group(s, all, 12);
    }
    ltrust_state ts;
    const ltrust_rev *in = s_in_force(s, &village, &ts);
    cr_assert_not_null(in, "order %d: the street's revocation has no force", order);
    cr_assert_eq(in->rv.seq, 100, "order %d", order);
    cr_assert_eq(memcmp(in->revoker, street.id.pk, LINLI_PK_BYTES), 0);
    cr_assert_eq(ts.nrevs, 1, "order %d: an unauthorised revocation took a place", order);
    cr_assert_eq(s_head(s, &village), 100, "order %d: the log was not cut at 100", order);
    /* the same after a reopen (the state is loaded from the views) */
    s = s_reopen(&s, ndirs - 1);
    in = s_in_force(s, &village, &ts);
    cr_assert(in != NULL && in->rv.seq == 100 && ts.nrevs == 1, "order %d after reopen", order);
    lstore_close(&s);
  }

  /* The village revoking itself: the op is refused, nothing changes. */
  author vcopy = village;
  vcopy.seq = 100;
  memcpy(vcopy.head, village.heads[100], LINLI_HASH_BYTES);
  vcopy.hlc = village.hlc;
  op self[8];
  for (int i = 0; i < 8; i++)
    self[i] = s_revoke_op(&village, (uint64_t)i + 1);
  s_delta(&vcopy, self, 8, &vself);
  lstore *s = s_store();
  s_must_add(s, &st1);
  for (int i = 0; i < 9; i++)
    s_must_add(s, vlog[i]);
  lerr e = {0};
  cr_assert_eq(s_add(s, &vself, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "cannot revoke itself") != NULL, "%s", e.msg);
  s_must_add(s, &srev);
  ltrust_state ts;
  cr_assert_eq(s_in_force(s, &village, &ts)->rv.seq, 100);
  cr_assert_eq(ts.nrevs, 1);
  op more = s_put("gusu/jinchang/v12/hh/9");
  s_delta(&vcopy, &more, 1, &vmore);
  cr_assert_neq(s_add(s, &vmore, &e), 0, "a refused log went on");
  lstore_close(&s);
  lbuf *all[] = {&st1, &n1, &vmid, &vtail, &nrevs, &srev, &vself, &vmore};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    lbuf_free(all[i]);
  for (int i = 0; i < 8; i++)
    lbuf_free(&v[i]);
}

/* ---- 17.7: the chain in force at the revoked seq decides ---- */

Test(ingest, revocation_is_decided_by_the_chain_at_its_seq_in_any_order)
{
  lbuf s1, s21, v1, v2, vren, v3, srev, s2rev30, s2rev60;
  s_first(&street, &root, &(lchain){0}, "jinchang", ROLE_STREET, "gusu/jinchang/", &s1);
  s_first(&street2, &root, &(lchain){0}, "canglang", ROLE_STREET, "gusu/canglang/", &s21);
  s_first(&village, &street, &rchain_s, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &v1);
  op a[39];
  for (int i = 0; i < 39; i++)
    a[i] = s_put("gusu/jinchang/v12/hh/1");
  s_delta(&village, a, 39, &v2); /* 2..40 */
  /* seq 41: the village moves to the other street */
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.c[0] = s_cert(&village, &street2, "v12", ROLE_VILLAGE, "gusu/canglang/v12/");
  ch.c[1] = rchain_s2.c[0];
  ch.n = 2;
  op renew = s_cert_op(&village, &ch);
  s_delta(&village, &renew, 1, &vren);
  op b[29];
  for (int i = 0; i < 29; i++)
    b[i] = s_put("gusu/canglang/v12/hh/1");
  s_delta(&village, b, 29, &v3); /* 42..70 */
  /* the first street revokes at 40 (its chain then): in force */
  op o = s_revoke_op(&village, 40);
  s_delta(&street, &o, 1, &srev);
  /* the second street at 30 (not yet its village): no force */
  o = s_revoke_op(&village, 30);
  s_delta(&street2, &o, 1, &s2rev30);

  for (int order = 0; order < 3; order++) {
    lstore *s = s_store();
    s_must_add(s, &s1);
    s_must_add(s, &s21);
    s_must_add(s, &v1);
    s_must_add(s, &v2);
    if (order == 0) {
      /* without the renewal yet */
      s_must_add(s, &srev);
      s_must_add(s, &s2rev30);
      cr_assert_neq(s_add(s, &vren, NULL), 0, "the renewal got past the revocation");
    } else if (order == 1) {
      /* holding the renewal and after it */
      s_must_add(s, &vren);
      s_must_add(s, &v3);
      s_must_add(s, &s2rev30);
      cr_assert_eq(s_head(s, &village), 70, "a revocation without force cut the log");
      s_must_add(s, &srev);
    } else {
      lbuf *all[] = {&vren, &v3, &s2rev30, &srev};
      s_add_group(s, all, 4);
    }
    ltrust_state ts;
    const ltrust_rev *in = s_in_force(s, &village, &ts);
    cr_assert_not_null(in, "order %d: the street's revocation at 40 has no force", order);
    cr_assert_eq(in->rv.seq, 40, "order %d", order);
    cr_assert_eq(memcmp(in->revoker, street.id.pk, LINLI_PK_BYTES), 0, "order %d", order);
    cr_assert_eq(ts.nrevs, 1, "order %d", order);
    cr_assert_eq(s_head(s, &village), 40, "order %d: nodes do not converge", order);
    lstore_close(&s);
  }

  /* The second street's revocation at 30 stays without force on a node
   * that holds the renewal, also when the state is loaded afresh (the
   * chain at 30 is read back from the log). */
  o = s_revoke_op(&village, 60);
  s_delta(&street2, &o, 1, &s2rev60);
  lstore *s = s_store();
  lbuf *all[] = {&s1, &s21, &v1, &v2, &vren, &v3, &s2rev30};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    s_must_add(s, all[i]);
  s = s_reopen(&s, ndirs - 1);
  ltrust_state ts;
  cr_assert_null(s_in_force(s, &village, &ts), "reloaded: the revocation at 30 got force");
  cr_assert_eq(s_head(s, &village), 70);
  /* ... while its revocation at 60 (its village then) has force */
  s_must_add(s, &s2rev60);
  cr_assert_eq(s_in_force(s, &village, &ts)->rv.seq, 60);
  cr_assert_eq(s_head(s, &village), 60);
  s = s_reopen(&s, ndirs - 1);
  cr_assert_eq(s_in_force(s, &village, &ts)->rv.seq, 60);
  lstore_close(&s);
  lbuf *bufs[] = {&s1, &s21, &v1, &v2, &vren, &v3, &srev, &s2rev30, &s2rev60};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    lbuf_free(bufs[i]);
}

/* A revocation at seq 0 is decided by the chain the log starts with. */
Test(ingest, revocation_at_seq_0_before_and_after_the_log)
{
  lbuf s1, v1, v2, srev;
  s_first(&street, &root, &(lchain){0}, "jinchang", ROLE_STREET, "gusu/jinchang/", &s1);
  s_first(&village, &street, &rchain_s, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &v1);
  op a = s_put("gusu/jinchang/v12/hh/1");
  s_delta(&village, &a, 1, &v2);
  op o = s_revoke_op(&village, 0);
  s_delta(&street, &o, 1, &srev);
  for (int order = 0; order < 2; order++) {
    lstore *s = s_store();
    s_must_add(s, &s1);
    ltrust_state ts;
    if (order == 0) {
      /* decided each time op 1 comes, and op 1 is refused */
      s_must_add(s, &srev);
      lerr e = {0};
      cr_assert_eq(s_add(s, &v1, &e), LINLI_EREFUSED, "a log revoked from seq 0 was taken");
      cr_assert(strstr(e.msg, "revoked after seq 0") != NULL, "%s", e.msg);
      cr_assert_null(s_in_force(s, &village, &ts));
      cr_assert_eq(ts.pending_at, 1);
    } else {
      s_must_add(s, &v1);
      s_must_add(s, &v2);
      s_must_add(s, &srev);
      /* cut to nothing; the log is then refused from op 1 again */
      cr_assert_eq(s_head(s, &village), 0);
      cr_assert_eq(s_add(s, &v1, NULL), LINLI_EREFUSED, "a log revoked from seq 0 was taken");
    }
    cr_assert_eq(s_head(s, &village), 0, "order %d", order);
    lstore_close(&s);
  }
  lbuf *bufs[] = {&s1, &v1, &v2, &srev};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    lbuf_free(bufs[i]);
}

/* ---- 17.3: a delta refused late changes no trust state ---- */

Test(ingest, refused_delta_leaves_no_trust_effect)
{
  lbuf s1, v1, v2, bad, badren, ok, vnext;
  s_first(&street, &root, &(lchain){0}, "jinchang", ROLE_STREET, "gusu/jinchang/", &s1);
  s_first(&village, &street, &rchain_s, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &v1);
  op a[4];
  for (int i = 0; i < 4; i++)
    a[i] = s_put("gusu/jinchang/v12/hh/1");
  s_delta(&village, a, 4, &v2); /* 2..5 */
  /* the street's authorised revocation at 2, in a delta whose timestamp
   * is not after the street's previous op: refused after the trust rules
   * passed */
  author late = street;
  late.hlc = street.hlc - 1;
  op o = s_revoke_op(&village, 2);
  s_delta(&late, &o, 1, &bad);
  /* the village's renewal to another prefix, refused the same way */
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.c[0] = s_cert(&village, &street, "v12", ROLE_VILLAGE, "gusu/jinchang/v12b/");
  ch.c[1] = rchain_s.c[0];
  ch.n = 2;
  author vlate = village;
  vlate.hlc = village.hlc - 1;
  op r = s_cert_op(&village, &ch);
  s_delta(&vlate, &r, 1, &badren);
  op p = s_put("gusu/jinchang/hh/1");
  s_delta(&street, &p, 1, &ok);
  op q = s_put("gusu/jinchang/v12/hh/2");
  s_delta(&village, &q, 1, &vnext); /* seq 6 */

  lstore *s = s_store();
  s_must_add(s, &s1);
  s_must_add(s, &v1);
  s_must_add(s, &v2);
  lingest *g;
  lerr e = {0};
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  cr_assert_eq(lingest_add(g, bad.p, bad.len, &e), LINLI_EMALFORMED, "%s", e.msg);
  cr_assert(strstr(e.msg, "timestamp") != NULL, "%s", e.msg);
  cr_assert_eq(lingest_add(g, badren.p, badren.len, &e), LINLI_EMALFORMED, "%s", e.msg);
  /* the group goes on with a good delta and is committed */
  cr_assert_eq(lingest_add(g, ok.p, ok.len, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_commit(g, T0 + DAY, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
  ltrust_state ts;
  cr_assert_null(s_in_force(s, &village, &ts), "a refused delta's revocation has force");
  cr_assert_eq(s_head(s, &village), 5, "a refused delta's revocation cut the log");
  cr_assert_str_eq(ts.chain.c[0].prefix, "gusu/jinchang/v12/",
                   "a refused delta's certificate became the chain");
  cr_assert_eq(ts.chain_seq, 1);
  /* and the village goes on writing */
  s_must_add(s, &vnext);
  cr_assert_eq(s_head(s, &village), 6);
  lstore_close(&s);
  lbuf *bufs[] = {&s1, &v1, &v2, &bad, &badren, &ok, &vnext};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    lbuf_free(bufs[i]);
}

/* ---- 17.12: a revocation at the top of the seq range ---- */

Test(ingest, revocation_at_the_last_seq_does_not_wrap)
{
  lbuf v1, rrev, v2;
  s_first(&village, &street, &rchain_s, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &v1);
  op o = s_revoke_op(&village, UINT64_MAX);
  s_delta(&root, &o, 1, &rrev);
  op a = s_put("gusu/jinchang/v12/hh/1");
  s_delta(&village, &a, 1, &v2);
  lstore *s = s_store();
  s_must_add(s, &v1);
  s_must_add(s, &rrev);
  ltrust_state ts;
  const ltrust_rev *in = s_in_force(s, &village, &ts);
  cr_assert(in != NULL && in->rv.seq == UINT64_MAX);
  /* nothing of the log is after UINT64_MAX: its next op is valid */
  lerr e = {0};
  cr_assert_eq(s_add(s, &v2, &e), 0, "%s", e.msg);
  cr_assert_eq(s_head(s, &village), 2);
  lstore_close(&s);
  lbuf_free(&v1);
  lbuf_free(&rrev);
  lbuf_free(&v2);
}

/* ---- the trust generation: what a cache of certificate prefixes keys on ---- */

static const char *
s_prefix(lstore *s, const author *a)
{
  const char *p = NULL;
  lerr e = {0};
  cr_assert_eq(lstore_cert_prefix(s, a->id.pk, &p, &e), 0, "%s", e.msg);
  return p;
}

Test(ingest, trust_generation_moves_with_certificates_revocations_and_rotation_only)
{
  lbuf s1, v1, v2, ren, rev;
  s_first(&street, &root, &(lchain){0}, "jinchang", ROLE_STREET, "gusu/jinchang/", &s1);
  s_first(&village, &street, &rchain_s, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &v1);
  op a[3];
  for (int i = 0; i < 3; i++)
    a[i] = s_put("gusu/jinchang/v12/hh/1");
  s_delta(&village, a, 3, &v2); /* 2..4 */
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.c[0] = s_cert(&village, &street, "v12", ROLE_VILLAGE, "gusu/jinchang/v12b/");
  ch.c[1] = rchain_s.c[0];
  ch.n = 2;
  op r = s_cert_op(&village, &ch);
  s_delta(&village, &r, 1, &ren); /* 5: renewed for another prefix */
  op o = s_revoke_op(&village, 5);
  s_delta(&street, &o, 1, &rev);

  lstore *s = s_store();
  s_must_add(s, &s1);
  cr_assert_str_eq(s_prefix(s, &street), "gusu/jinchang/");
  cr_assert_null(s_prefix(s, &village), "a prefix for a key whose certificate is not held");
  uint64_t g = lstore_trust_gen(s);
  s_must_add(s, &v1);
  cr_assert_neq(lstore_trust_gen(s), g, "a certificate taken in left the generation");
  cr_assert_str_eq(s_prefix(s, &village), "gusu/jinchang/v12/");
  g = lstore_trust_gen(s);
  s_must_add(s, &v2);
  cr_assert_eq(lstore_trust_gen(s), g, "plain ops moved the generation: a cache never holds");
  s_must_add(s, &ren);
  cr_assert_neq(lstore_trust_gen(s), g, "a renewal left the generation");
  cr_assert_str_eq(s_prefix(s, &village), "gusu/jinchang/v12b/");
  g = lstore_trust_gen(s);
  s_must_add(s, &rev);
  cr_assert_neq(lstore_trust_gen(s), g, "a revocation left the generation");
  g = lstore_trust_gen(s);
  /* a key rotation changes the store's own key */
  char next[4300];
  snprintf(next, sizeof next, "%s/next.key", dirs[ndirs - 1]);
  lident nk;
  tu_key(&nk, 77);
  lerr e = {0};
  cr_assert_eq(keyfile_write(next, &nk, false, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_rotate(s, next, &e), 0, "%s", e.msg);
  cr_assert_neq(lstore_trust_gen(s), g, "a key rotation left the generation");
  lstore_close(&s);
  lbuf *bufs[] = {&s1, &v1, &v2, &ren, &rev};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    lbuf_free(bufs[i]);
}
