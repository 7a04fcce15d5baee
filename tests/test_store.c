/*
 * test_store.c - node/store: durability across reopen, the HLC across
 * restarts, ingest (idempotent, order-free across authors, all-or-nothing
 * on bad input), tamper detection in stored data, rebuild, digests,
 * history, export joining and the process lock.
 */
#include "crdt/hlc.h"
#include "node/store.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_init(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
}

TestSuite(store, .init = s_init);

static void
s_key(lident *id, uint8_t n)
{
  uint8_t seed[LINLI_SEED_BYTES];
  memset(seed, n, sizeof seed);
  ident_from_seed(id, seed);
}

/* An author writing signed deltas by hand, as a remote node would. */
typedef struct author {
  lident id;
  uint64_t seq, hlc;
  uint8_t head[LINLI_HASH_BYTES];
} author;

static void
s_author(author *a, uint8_t n)
{
  memset(a, 0, sizeof *a);
  s_key(&a->id, n);
  a->hlc = hlc_make(1700000000000ull + n, 0);
}

static op
s_set(const char *key, const char *field, const char *val)
{
  return (op){.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = field,
              .field_len = (uint32_t)strlen(field), .str = val, .str_len = (uint32_t)strlen(val)};
}

static op
s_incr(const char *key, const char *field, int64_t n)
{
  return (op){.kind = OP_INCR, .key = key, .key_len = (uint32_t)strlen(key), .field = field,
              .field_len = (uint32_t)strlen(field), .n = n};
}

/* Chains, signs and encodes ops as the author's next delta. */
static void
s_delta(author *a, op *ops, uint32_t n, lbuf *out)
{
  tu_delta(&a->id, &a->seq, &a->hlc, a->head, ops, n, out, NULL);
}

static lstore *
s_fresh(char **dir, const char *tag, uint8_t keyn)
{
  *dir = tu_tmpdir(tag);
  cr_assert_not_null(*dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/n", *dir);
  lident id;
  s_key(&id, keyn);
  lerr e = {0};
  cr_assert_eq(lstore_init(path, "测试站", &id, NULL, &e), 0, "%s", e.msg);
  lstore *s;
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  return s;
}

static int
s_ingest1(lstore *s, const lbuf *b, lerr *e)
{
  lingest *g;
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  int rc = lingest_add(g, b->p, b->len, e);
  if (rc == 0)
    rc = lingest_commit(g, 1800000000000ull, NULL, e);
  lingest_destroy(&g);
  return rc;
}

static void
s_digest(lstore *s, const char *prefix, ldigest *d)
{
  lerr e = {0};
  cr_assert_eq(lstore_digest(s, prefix, strlen(prefix), d, &e), 0, "%s", e.msg);
}

Test(store, init_open_reopen)
{
  char *dir;
  lstore *s = s_fresh(&dir, "init", 1);
  cr_assert_str_eq(lstore_name(s), "测试站");
  lident id;
  s_key(&id, 1);
  cr_assert_eq(memcmp(lstore_self(s), id.pk, LINLI_PK_BYTES), 0);
  char path[4096];
  snprintf(path, sizeof path, "%s/n", dir);
  lerr e = {0};
  cr_assert_eq(lstore_init(path, "again", NULL, NULL, &e), LINLI_EEXIST);
  /* a second open of the same directory is refused while the first lives */
  lstore *t;
  cr_assert_eq(lstore_open(&t, path, NULL, &e), LINLI_EBUSY, "%s", e.msg);
  lstore_close(&s);
  cr_assert_null(s);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_str_eq(lstore_name(s), "测试站");
  lident loaded;
  cr_assert_eq(lstore_identity(s, &loaded, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(loaded.pk, id.pk, LINLI_PK_BYTES), 0);
  lstore_close(&s);
  snprintf(path, sizeof path, "%s/none", dir);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), LINLI_ENOTFOUND);
  cr_assert(strstr(e.msg, "linli init") != NULL);
  tu_rmtree(dir);
  free(dir);
}

Test(store, local_writes_survive_reopen_and_hlc_never_goes_back)
{
  char *dir;
  lstore *s = s_fresh(&dir, "hlc", 2);
  char path[4096];
  snprintf(path, sizeof path, "%s/n", dir);
  lident id;
  s_key(&id, 2);
  lerr e = {0};
  uint64_t last = 0, wall = 1800000000000ull;
  for (int round = 0; round < 6; round++) {
    /* the wall clock jumps back by an hour every round */
    uint64_t w = wall - (uint64_t)round * 3600000ull;
    for (int i = 0; i < 5; i++) {
      char key[32], val[32];
      snprintf(key, sizeof key, "hh/%d", i);
      snprintf(val, sizeof val, "v%d-%d", round, i);
      op o[2] = {s_set(key, "户主", val), s_incr(key, "诚信积分", 1)};
      cr_assert_eq(lstore_write(s, &id, o, 2, w, &e), 0, "%s", e.msg);
      cr_assert_gt(o[0].hlc, last);
      cr_assert_gt(o[1].hlc, o[0].hlc);
      cr_assert_eq(o[1].seq, (uint64_t)round * 10 + (uint64_t)i * 2 + 2);
      last = o[1].hlc;
    }
    lstore_close(&s);
    cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
    cr_assert_geq(lstore_hlc(s), last);
  }
  rec *r;
  cr_assert_eq(lstore_get(s, "hh/3", 4, &r, &e), 0, "%s", e.msg);
  const rfield *f = rec_field(r, "户主", strlen("户主"), FK_REGISTER);
  cr_assert_not_null(f);
  cr_assert_eq(f->ents[0].s_len, strlen("v5-3"));
  cr_assert_eq(memcmp(f->ents[0].s, "v5-3", 4), 0);
  f = rec_field(r, "诚信积分", strlen("诚信积分"), FK_COUNTER);
  cr_assert_eq(rfield_counter(f), 6);
  rec_destroy(&r);
  lstore_stat st;
  cr_assert_eq(lstore_stat_get(s, &st, &e), 0);
  cr_assert_eq(st.own_seq, 60);
  cr_assert_eq(st.digest.count, 5);
  uint64_t n;
  cr_assert_eq(lstore_verify(s, NULL, NULL, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 60);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* Builds deltas for 4 authors writing conflicting values to shared keys. */
#define NAUTH 4
#define NDELTA 6
static lbuf deltas[NAUTH][NDELTA];

static void
s_make_workload(void)
{
  author a[NAUTH];
  char keys[3][16] = {"hh/v1/1", "hh/v1/2", "req/v1/9"};
  for (int i = 0; i < NAUTH; i++) {
    s_author(&a[i], (uint8_t)(10 + i));
    a[i].hlc = hlc_make(1700000000000ull, 0); /* equal clocks: ties by author */
    for (int k = 0; k < NDELTA; k++) {
      char val[3][32];
      op o[3];
      for (int j = 0; j < 3; j++) {
        snprintf(val[j], sizeof val[j], "a%d-d%d-%d", i, k, j);
        o[j] = j == 2 ? s_incr(keys[(i + k) % 3], "pts", i - 1) : s_set(keys[(i + k + j) % 3], "status", val[j]);
      }
      lbuf_init(&deltas[i][k]);
      s_delta(&a[i], o, 3, &deltas[i][k]);
    }
  }
}

static void
s_free_workload(void)
{
  for (int i = 0; i < NAUTH; i++)
    for (int k = 0; k < NDELTA; k++)
      lbuf_free(&deltas[i][k]);
}

Test(store, ingest_is_idempotent_and_order_free_across_authors)
{
  s_make_workload();
  char *dir0;
  lstore *ref = s_fresh(&dir0, "ref", 1);
  lerr e = {0};
  for (int i = 0; i < NAUTH; i++)
    for (int k = 0; k < NDELTA; k++)
      cr_assert_eq(s_ingest1(ref, &deltas[i][k], &e), 0, "%s", e.msg);
  ldigest want;
  s_digest(ref, "", &want);
  cr_assert_eq(want.count, 3);
  uint32_t seed = 7;
  for (int trial = 0; trial < 8; trial++) {
    char *dir;
    lstore *s = s_fresh(&dir, "order", 2);
    int next[NAUTH] = {0};
    int left = NAUTH * NDELTA;
    lingest *g;
    cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
    while (left > 0) {
      int i = (int)(tu_rand(&seed) % NAUTH);
      if (next[i] == NDELTA)
        continue;
      /* sometimes resend something already held: it must change nothing */
      if (next[i] > 0 && tu_rand(&seed) % 3 == 0) {
        int k = (int)(tu_rand(&seed) % (uint32_t)next[i]);
        cr_assert_eq(lingest_add(g, deltas[i][k].p, deltas[i][k].len, &e), 0, "%s", e.msg);
      }
      cr_assert_eq(lingest_add(g, deltas[i][next[i]].p, deltas[i][next[i]].len, &e), 0, "%s",
                   e.msg);
      next[i]++;
      left--;
      if (tu_rand(&seed) % 4 == 0)
        cr_assert_eq(lingest_commit(g, 1800000000000ull, NULL, &e), 0, "%s", e.msg);
    }
    lingest_stats st;
    cr_assert_eq(lingest_commit(g, 1800000000000ull, &st, &e), 0, "%s", e.msg);
    lingest_destroy(&g);
    ldigest got;
    s_digest(s, "", &got);
    cr_assert_eq(memcmp(got.sum, want.sum, LINLI_HASH_BYTES), 0, "trial %d", trial);
    cr_assert_eq(got.count, want.count);
    /* all of it again: nothing changes */
    cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
    for (int i = 0; i < NAUTH; i++)
      for (int k = 0; k < NDELTA; k++)
        cr_assert_eq(lingest_add(g, deltas[i][k].p, deltas[i][k].len, &e), 0, "%s", e.msg);
    cr_assert_eq(lingest_ops(g), 0);
    cr_assert_eq(lingest_commit(g, 1800000000000ull, &st, &e), 0, "%s", e.msg);
    cr_assert_eq(st.ops_new, 0);
    cr_assert_eq(st.ops_dup, NAUTH * NDELTA * 3);
    lingest_destroy(&g);
    s_digest(s, "", &got);
    cr_assert_eq(memcmp(got.sum, want.sum, LINLI_HASH_BYTES), 0);
    lstore_close(&s);
    tu_rmtree(dir);
    free(dir);
  }
  lstore_close(&ref);
  tu_rmtree(dir0);
  free(dir0);
  s_free_workload();
}

Test(store, bad_deltas_are_rejected_without_any_change)
{
  s_make_workload();
  char *dir;
  lstore *s = s_fresh(&dir, "bad", 1);
  lerr e = {0};
  cr_assert_eq(s_ingest1(s, &deltas[0][0], &e), 0, "%s", e.msg);
  ldigest before, after;
  s_digest(s, "", &before);
  lstore_stat st0, st1;
  cr_assert_eq(lstore_stat_get(s, &st0, &e), 0);
  /* a gap: delta 2 without delta 1 */
  cr_assert_eq(s_ingest1(s, &deltas[0][2], &e), LINLI_EGAP);
  cr_assert(strstr(e.msg, "seq 7") != NULL, "%s", e.msg);
  /* every single flipped byte of the next delta is refused */
  lbuf *d = &deltas[0][1];
  for (size_t i = 0; i < d->len; i++) {
    d->p[i] ^= 0x01;
    memset(&e, 0, sizeof e);
    int rc = s_ingest1(s, d, &e);
    d->p[i] ^= 0x01;
    cr_assert_neq(rc, 0, "flip at byte %zu of %zu was accepted", i, d->len);
    cr_assert_neq(e.msg[0], '\0');
  }
  s_digest(s, "", &after);
  cr_assert_eq(memcmp(before.sum, after.sum, LINLI_HASH_BYTES), 0);
  cr_assert_eq(lstore_stat_get(s, &st1, &e), 0);
  cr_assert_eq(st0.ops, st1.ops);
  /* a group with one bad delta commits nothing if the caller drops it */
  lingest *g;
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  cr_assert_eq(lingest_add(g, deltas[1][0].p, deltas[1][0].len, &e), 0, "%s", e.msg);
  cr_assert_neq(lingest_add(g, deltas[1][2].p, deltas[1][2].len, &e), 0);
  lingest_destroy(&g);
  cr_assert_eq(lstore_stat_get(s, &st1, &e), 0);
  cr_assert_eq(st0.ops, st1.ops);
  /* the untouched delta still applies afterwards */
  cr_assert_eq(s_ingest1(s, d, &e), 0, "%s", e.msg);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
  s_free_workload();
}

static int
s_count_fork(void *ctx, const uint8_t pk[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
             size_t n)
{
  uint8_t who[LINLI_PK_BYTES];
  uint64_t at;
  cr_assert_eq(fork_check(ev, n, who, &at, NULL), 0);
  cr_assert_eq(memcmp(who, pk, LINLI_PK_BYTES), 0);
  cr_assert_eq(at, seq);
  (*(int *)ctx)++;
  return 0;
}

/* Both halves of a fork in one group (one bundle), as a verify-only group
 * (import's check) and as a keeping one (sync): the evidence is kept and
 * the author counts as forked, whichever half is the shorter. */
Test(store, fork_inside_one_group_keeps_evidence)
{
  for (int verify_only = 0; verify_only <= 1; verify_only++) {
    for (int shorter = 0; shorter <= 1; shorter++) {
      char *dir;
      lstore *s = s_fresh(&dir, "fork1", 1);
      author a, clone;
      s_author(&a, 22);
      lbuf b1, b2;
      lbuf_init(&b1);
      lbuf_init(&b2);
      lerr e = {0};
      op o1[1] = {s_set("hh/1", "name", "one")};
      s_delta(&a, o1, 1, &b1);
      cr_assert_eq(s_ingest1(s, &b1, &e), 0, "%s", e.msg);
      clone = a;
      op o2[2] = {s_set("hh/1", "name", "two"), s_set("hh/1", "tel", "1")};
      s_delta(&a, o2, 2, &b1); /* seqs 2-3 */
      op o3[2] = {s_set("hh/1", "name", "evil twin"), s_set("hh/1", "tel", "2")};
      s_delta(&clone, o3, shorter ? 1 : 2, &b2); /* seq 2, or 2-3 */
      lingest *g;
      cr_assert_eq(lstore_ingest_new(s, !verify_only, &g), 0);
      cr_assert_eq(lingest_add(g, b1.p, b1.len, &e), 0, "%s", e.msg);
      int rc = lingest_add(g, b2.p, b2.len, &e);
      cr_assert_eq(rc, LINLI_EFORK, "verify_only %d shorter %d: %d %s", verify_only, shorter, rc,
                   e.msg);
      cr_assert(strstr(e.msg, "evidence kept") != NULL, "%s", e.msg);
      lingest_destroy(&g);
      cr_assert_eq(lstore_fork_count(s), 1, "verify_only %d shorter %d", verify_only, shorter);
      ltrust_state ts;
      cr_assert_eq(lstore_trust(s, a.id.pk, &ts, &e), 0, "%s", e.msg);
      cr_assert(ts.forked);
      cr_assert_eq(ts.fork_seq, shorter ? 2u : 3u);
      int nev = 0;
      cr_assert_eq(lstore_forks(s, s_count_fork, &nev, &e), 0, "%s", e.msg);
      cr_assert_eq(nev, 1);
      /* and it survives a reopen */
      char path[4096];
      snprintf(path, sizeof path, "%s/n", dir);
      lstore_close(&s);
      cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
      cr_assert_eq(lstore_fork_count(s), 1);
      lstore_close(&s);
      lbuf_free(&b1);
      lbuf_free(&b2);
      tu_rmtree(dir);
      free(dir);
    }
  }
}

Test(store, fork_and_broken_chain_are_detected)
{
  char *dir;
  lstore *s = s_fresh(&dir, "fork", 1);
  author a, clone;
  s_author(&a, 20);
  lbuf b;
  lbuf_init(&b);
  lerr e = {0};
  op o1[1] = {s_set("hh/1", "name", "one")};
  s_delta(&a, o1, 1, &b);
  cr_assert_eq(s_ingest1(s, &b, &e), 0, "%s", e.msg);
  clone = a; /* a cloned disk: both continue from seq 1 */
  op o2[1] = {s_set("hh/1", "name", "two")};
  s_delta(&a, o2, 1, &b);
  cr_assert_eq(s_ingest1(s, &b, &e), 0, "%s", e.msg);
  op o3[1] = {s_set("hh/1", "name", "evil twin")};
  s_delta(&clone, o3, 1, &b);
  cr_assert_eq(s_ingest1(s, &b, &e), LINLI_EFORK, "%s", e.msg);
  cr_assert(strstr(e.msg, "seq 2") != NULL, "%s", e.msg);
  /* both signed histories are kept as evidence that checks on its own */
  cr_assert_eq(lstore_fork_count(s), 1);
  ltrust_state ts;
  cr_assert_eq(lstore_trust(s, a.id.pk, &ts, &e), 0, "%s", e.msg);
  cr_assert(ts.forked);
  cr_assert_eq(ts.fork_seq, 2);
  /* and the author's new ops are refused, on either branch */
  op o5[1] = {s_set("hh/1", "name", "after")};
  author a2 = a;
  s_delta(&a2, o5, 1, &b);
  cr_assert_eq(s_ingest1(s, &b, &e), LINLI_EREFUSED, "%s", e.msg);
  cr_assert(strstr(e.msg, "forked at seq 2") != NULL, "%s", e.msg);
  /* a delta whose previous hash is wrong */
  author c;
  s_author(&c, 21);
  op o6[1] = {s_set("hh/2", "name", "c")};
  s_delta(&c, o6, 1, &b);
  cr_assert_eq(s_ingest1(s, &b, &e), 0, "%s", e.msg);
  memset(c.head, 0x42, sizeof c.head);
  op o4[1] = {s_set("hh/2", "name", "three")};
  s_delta(&c, o4, 1, &b);
  cr_assert_eq(s_ingest1(s, &b, &e), LINLI_ECHAIN, "%s", e.msg);
  rec *r;
  cr_assert_eq(lstore_get(s, "hh/1", 4, &r, &e), 0);
  const rfield *f = rec_field(r, "name", 4, FK_REGISTER);
  cr_assert_eq(memcmp(f->ents[0].s, "two", 3), 0);
  rec_destroy(&r);
  lbuf_free(&b);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* Flips one byte of one stored row behind the store's back. */
static void
s_corrupt(const char *path, int cf, size_t which_row, size_t offset)
{
  char dbp[4200];
  snprintf(dbp, sizeof dbp, "%s/db", path);
  rocksdb_options_t *o = rocksdb_options_create();
  const rocksdb_options_t *cfo[LCF_COUNT];
  rocksdb_column_family_handle_t *h[LCF_COUNT];
  for (int i = 0; i < LCF_COUNT; i++)
    cfo[i] = o;
  char *err = NULL;
  rocksdb_t *db = rocksdb_open_column_families(o, dbp, LCF_COUNT, lstore_cf_names, cfo, h, &err);
  cr_assert_null(err, "%s", err);
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db, ro, h[cf]);
  rocksdb_iter_seek_to_first(it);
  for (size_t i = 0; i < which_row; i++)
    rocksdb_iter_next(it);
  cr_assert(rocksdb_iter_valid(it));
  size_t kl, vl;
  const char *k = rocksdb_iter_key(it, &kl);
  const char *v = rocksdb_iter_value(it, &vl);
  char *key = malloc(kl), *val = malloc(vl);
  memcpy(key, k, kl);
  memcpy(val, v, vl);
  val[offset % vl] ^= 0x20;
  rocksdb_iter_destroy(it);
  rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
  rocksdb_put_cf(db, wo, h[cf], key, kl, val, vl, &err);
  cr_assert_null(err);
  free(key);
  free(val);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_readoptions_destroy(ro);
  for (int i = 0; i < LCF_COUNT; i++)
    rocksdb_column_family_handle_destroy(h[i]);
  rocksdb_close(db);
  rocksdb_options_destroy(o);
}

Test(store, stored_tampering_is_found_by_verify)
{
  s_make_workload();
  /* offsets into a stored delta: header, an op in the middle, the
   * signature at the end; and into a head row. */
  struct { int cf; size_t row, off; } cases[] = {
    {LCF_LOG, 0, 40}, {LCF_LOG, 1, 120}, {LCF_LOG, 2, 100000 - 1}, {LCF_LOG, 3, 3},
    {LCF_HEADS, 0, 10}, {LCF_HEADS, 1, 60},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char *dir;
    lstore *s = s_fresh(&dir, "tamper", 1);
    lerr e = {0};
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < NDELTA; k++)
        cr_assert_eq(s_ingest1(s, &deltas[i][k], &e), 0, "%s", e.msg);
    cr_assert_eq(lstore_verify(s, NULL, NULL, NULL, &e), 0, "%s", e.msg);
    lstore_close(&s);
    char path[4096];
    snprintf(path, sizeof path, "%s/n", dir);
    s_corrupt(path, cases[c].cf, cases[c].row, cases[c].off);
    cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
    memset(&e, 0, sizeof e);
    cr_assert_neq(lstore_verify(s, NULL, NULL, NULL, &e), 0, "case %zu not detected", c);
    cr_assert(strstr(e.msg, "author ") != NULL, "no location in: %s", e.msg);
    lstore_close(&s);
    tu_rmtree(dir);
    free(dir);
  }
  s_free_workload();
}

Test(store, rebuild_and_digests_agree)
{
  char *dir;
  lstore *s = s_fresh(&dir, "rebuild", 3);
  lident id;
  s_key(&id, 3);
  lerr e = {0};
  uint32_t seed = 99;
  for (int i = 0; i < 300; i++) {
    char key[48], val[32], elem[16];
    snprintf(key, sizeof key, "gusu/v%u/hh/%u", tu_rand(&seed) % 3, tu_rand(&seed) % 40);
    snprintf(val, sizeof val, "值%u", tu_rand(&seed));
    snprintf(elem, sizeof elem, "m%u", tu_rand(&seed) % 4);
    op o[4] = {s_set(key, "name", val), s_incr(key, "pts", (int64_t)(tu_rand(&seed) % 7) - 3),
               {.kind = OP_ADD, .key = key, .key_len = (uint32_t)strlen(key), .field = "members",
                .field_len = 7, .str = elem, .str_len = (uint32_t)strlen(elem)},
               {.kind = OP_APPEND, .key = key, .key_len = (uint32_t)strlen(key), .field = "diary",
                .field_len = 5, .str = val, .str_len = (uint32_t)strlen(val)}};
    uint32_t n = 1 + tu_rand(&seed) % 4;
    if (tu_rand(&seed) % 25 == 0) {
      o[0] = (op){.kind = OP_DEL, .key = key, .key_len = (uint32_t)strlen(key), .field = "",
                  .field_len = 0};
      n = 1;
    }
    cr_assert_eq(lstore_write(s, &id, o, n, 1800000000000ull + (uint64_t)i, &e), 0, "%s", e.msg);
  }
  const char *prefixes[] = {"", "gusu/", "gusu/v0/", "gusu/v1/hh/", "gusu/v2/hh/"};
  ldigest before[5], after[5];
  for (int i = 0; i < 5; i++)
    s_digest(s, prefixes[i], &before[i]);
  /* a maintained prefix equals the scan-summed digest of the same set */
  ldigest scanned;
  s_digest(s, "gusu/v0/h", &scanned);
  cr_assert_eq(memcmp(scanned.sum, before[2].sum, LINLI_HASH_BYTES), 0);
  cr_assert_eq(scanned.count, before[2].count);
  cr_assert_eq(lstore_rebuild(s, NULL, NULL, &e), 0, "%s", e.msg);
  for (int i = 0; i < 5; i++) {
    s_digest(s, prefixes[i], &after[i]);
    cr_assert_eq(memcmp(before[i].sum, after[i].sum, LINLI_HASH_BYTES), 0, "prefix '%s'",
                 prefixes[i]);
    cr_assert_eq(before[i].count, after[i].count);
  }
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* A commit reads the records of a group through one sorted iterator and
 * writes them record by record; rebuild reads them one point read at a
 * time as it replays the log.  Both must give the same bytes.  Groups of
 * random sizes touch random records of a key space laid out so that wanted
 * keys and stored keys interleave every way: runs of new keys, stored keys
 * next to each other and far apart (more than the cursor steps before it
 * seeks), keys that are prefixes of others. */
Test(store, grouped_commits_equal_rebuild)
{
  char *dir;
  lstore *s = s_fresh(&dir, "groups", 4);
  enum { NA = 5, NKEYS = 400 };
  author au[NA];
  for (int a = 0; a < NA; a++)
    s_author(&au[a], (uint8_t)(20 + a));
  static char keys[NKEYS][40];
  for (int k = 0; k < NKEYS; k++)
    snprintf(keys[k], sizeof keys[k], k % 7 == 0 ? "hh/v%u/%u" : "hh/v%u/%u/x", k % 3, k / 3);
  uint32_t seed = 4242;
  lbuf d;
  lbuf_init(&d);
  lerr e = {0};
  for (int round = 0; round < 30; round++) {
    lingest *g;
    cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
    uint32_t ndeltas = 1 + tu_rand(&seed) % 12;
    for (uint32_t i = 0; i < ndeltas; i++) {
      author *a = &au[tu_rand(&seed) % NA];
      op ops[16];
      char vals[16][16];
      uint32_t n = 1 + tu_rand(&seed) % 16;
      /* a cluster of nearby keys or keys from anywhere */
      uint32_t base = tu_rand(&seed) % NKEYS;
      for (uint32_t k = 0; k < n; k++) {
        uint32_t kk = tu_rand(&seed) % 2 ? (base + k) % NKEYS : tu_rand(&seed) % NKEYS;
        snprintf(vals[k], sizeof vals[k], "v%u", tu_rand(&seed) % 1000);
        ops[k] = tu_rand(&seed) % 3 ? s_set(keys[kk], tu_rand(&seed) % 2 ? "name" : "note", vals[k])
                                    : s_incr(keys[kk], "pts", (int64_t)(tu_rand(&seed) % 9) - 4);
      }
      s_delta(a, ops, n, &d);
      cr_assert_eq(lingest_add(g, d.p, d.len, &e), 0, "%s", e.msg);
    }
    cr_assert_eq(lingest_commit(g, 1800000000000ull, NULL, &e), 0, "%s", e.msg);
    lingest_destroy(&g);
  }
  /* every record and digest, as the grouped commits left them */
  static lbuf before[NKEYS];
  const char *prefixes[] = {"", "hh/", "hh/v0/", "hh/v1/", "hh/v2/"};
  ldigest dg[5];
  for (int k = 0; k < NKEYS; k++) {
    lbuf_init(&before[k]);
    rec *r;
    if (lstore_get(s, keys[k], strlen(keys[k]), &r, NULL) == 0) {
      rec_encode(r, &before[k]);
      rec_destroy(&r);
    }
  }
  for (int i = 0; i < 5; i++)
    s_digest(s, prefixes[i], &dg[i]);
  cr_assert_gt(dg[0].count, NKEYS / 2, "most keys were written");
  cr_assert_eq(lstore_rebuild(s, NULL, NULL, &e), 0, "%s", e.msg);
  lbuf after;
  lbuf_init(&after);
  for (int k = 0; k < NKEYS; k++) {
    lbuf_reset(&after);
    rec *r;
    if (lstore_get(s, keys[k], strlen(keys[k]), &r, NULL) == 0) {
      rec_encode(r, &after);
      rec_destroy(&r);
    }
    cr_assert_eq(after.len, before[k].len, "record %s", keys[k]);
    cr_assert(after.len == 0 || memcmp(after.p, before[k].p, after.len) == 0, "record %s",
              keys[k]);
    lbuf_free(&before[k]);
  }
  for (int i = 0; i < 5; i++) {
    ldigest x;
    s_digest(s, prefixes[i], &x);
    cr_assert_eq(memcmp(x.sum, dg[i].sum, LINLI_HASH_BYTES), 0, "prefix '%s'", prefixes[i]);
    cr_assert_eq(x.count, dg[i].count);
  }
  lbuf_free(&after);
  lbuf_free(&d);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

typedef struct histctx {
  int n;
  uint64_t last_hlc;
} histctx;

static int
s_hist_cb(void *ctx, const lhist_entry *h)
{
  histctx *c = ctx;
  cr_assert_geq(h->o->hlc, c->last_hlc); /* stamp order; authors may tie */
  cr_assert_geq(h->head_seq, h->o->seq);
  cr_assert(head_verify(h->author, h->head_seq, h->head_hash, h->head_sig));
  c->last_hlc = h->o->hlc;
  c->n++;
  return 0;
}

typedef struct sink {
  lbuf all[64];
  int n;
} sink;

static int
s_sink(void *ctx, const uint8_t *p, size_t n)
{
  sink *k = ctx;
  cr_assert_lt(k->n, 64);
  lbuf_init(&k->all[k->n]);
  lbuf_put(&k->all[k->n], p, n);
  k->n++;
  return 0;
}

Test(store, history_export_and_summary)
{
  s_make_workload();
  char *da, *db;
  lstore *a = s_fresh(&da, "ha", 1), *b = s_fresh(&db, "hb", 2);
  lerr e = {0};
  for (int i = 0; i < NAUTH; i++)
    for (int k = 0; k < NDELTA; k++)
      cr_assert_eq(s_ingest1(a, &deltas[i][k], &e), 0, "%s", e.msg);
  histctx hc = {0};
  cr_assert_eq(lstore_history(a, "hh/v1/1", 7, s_hist_cb, &hc, &e), 0, "%s", e.msg);
  rec *r;
  cr_assert_eq(lstore_get(a, "hh/v1/1", 7, &r, &e), 0);
  cr_assert_eq((uint32_t)hc.n, r->nhist);
  rec_destroy(&r);
  /* b holds the first 2 deltas of author 0; export for its summary */
  for (int k = 0; k < 2; k++)
    cr_assert_eq(s_ingest1(b, &deltas[0][k], &e), 0, "%s", e.msg);
  lsummary sum;
  cr_assert_eq(lstore_summary(b, 1, &sum, &e), 0);
  cr_assert_eq(sum.n, 1);
  cr_assert_eq(sum.heads[0].seq, 6);
  sink k = {0};
  lexport_stats st;
  cr_assert_eq(lstore_export(a, &sum, NULL, 1u << 20, s_sink, &k, &st, &e), 0, "%s", e.msg);
  /* consecutive stored deltas were joined: one delta per author */
  cr_assert_eq(k.n, NAUTH);
  cr_assert_eq(st.ops, (uint64_t)(NAUTH * NDELTA * 3 - 6));
  summary_free(&sum);
  lingest *g;
  cr_assert_eq(lstore_ingest_new(b, true, &g), 0);
  for (int i = 0; i < k.n; i++)
    cr_assert_eq(lingest_add(g, k.all[i].p, k.all[i].len, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_commit(g, 1800000000000ull, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
  ldigest x, y;
  s_digest(a, "", &x);
  s_digest(b, "", &y);
  cr_assert_eq(memcmp(x.sum, y.sum, LINLI_HASH_BYTES), 0);
  /* a small byte bound splits the export but keeps every op */
  for (int i = 0; i < k.n; i++)
    lbuf_free(&k.all[i]);
  memset(&k, 0, sizeof k);
  cr_assert_eq(lstore_export(a, NULL, NULL, 200, s_sink, &k, &st, &e), 0, "%s", e.msg);
  cr_assert_eq(st.ops, (uint64_t)(NAUTH * NDELTA * 3));
  cr_assert_gt(k.n, NAUTH);
  for (int i = 0; i < k.n; i++)
    lbuf_free(&k.all[i]);
  cr_assert_eq(lstore_verify(b, NULL, NULL, NULL, &e), 0, "%s", e.msg);
  lstore_close(&a);
  lstore_close(&b);
  tu_rmtree(da);
  tu_rmtree(db);
  free(da);
  free(db);
  s_free_workload();
}

/* No delta larger than one sync message carries enters the store: a
 * local write that would make one is refused (split it), and so is one
 * received (a bundle from another implementation). */
Test(store, no_delta_larger_than_a_message_is_written_or_ingested)
{
  char *dir;
  lstore *s = s_fresh(&dir, "bigdelta", 1);
  lident id;
  s_key(&id, 1);
  static char big[65537];
  memset(big, 'y', 65536);
  op ops[16];
  for (int i = 0; i < 16; i++)
    ops[i] = s_set("hh/a/1", "note", big);
  lerr e = {0};
  cr_assert_eq(lstore_write(s, &id, ops, 16, 1800000000000ull, &e), LINLI_ETOOBIG);
  cr_assert(strstr(e.msg, "split it") != NULL, "%s", e.msg);
  lstore_stat st;
  cr_assert_eq(lstore_stat_get(s, &st, &e), 0);
  cr_assert_eq(st.ops, 0);
  cr_assert_eq(lstore_write(s, &id, ops, 15, 1800000000000ull, &e), 0, "%s", e.msg);
  author a;
  s_author(&a, 9);
  lbuf b;
  lbuf_init(&b);
  s_delta(&a, ops, 16, &b);
  cr_assert_gt(b.len, DELTA_MAX_BYTES);
  cr_assert_eq(s_ingest1(s, &b, &e), LINLI_ETOOBIG, "%s", e.msg);
  cr_assert(strstr(e.msg, "more than the 1048564 one sync message carries") != NULL, "%s",
            e.msg);
  cr_assert_eq(lstore_stat_get(s, &st, &e), 0);
  cr_assert_eq(st.ops, 15);
  lbuf_free(&b);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* init --root and --restore: the root and the recovering flag (with the
 * restore time) are in the store from its first write. */
Test(store, init_writes_root_and_restore_with_the_store)
{
  char *dir = tu_tmpdir("initopts");
  cr_assert_not_null(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/n", dir);
  lident id, root;
  s_key(&id, 5);
  s_key(&root, 6);
  lerr e = {0};
  lstore_init_opts o = {.root = root.pk, .restore = true, .restore_ms = 1800000000123ull};
  cr_assert_eq(lstore_init(path, "站", &id, &o, &e), 0, "%s", e.msg);
  lstore *s;
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_not_null(lstore_root(s));
  cr_assert_eq(memcmp(lstore_root(s), root.pk, LINLI_PK_BYTES), 0);
  cr_assert(lstore_recovering(s));
  cr_assert_eq(lstore_restored_ms(s), 1800000000123ull);
  /* clearing and setting the flag again keeps the restore time */
  cr_assert_eq(lstore_set_recovering(s, false, &e), 0, "%s", e.msg);
  lstore_close(&s);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_not(lstore_recovering(s));
  lstore_close(&s);
  /* the same key left by an interrupted init is taken again; another is not */
  char path2[4096], key2[4200];
  snprintf(path2, sizeof path2, "%s/m", dir);
  cr_assert_eq(lstore_init(path2, "站", &id, NULL, &e), 0, "%s", e.msg);
  snprintf(key2, sizeof key2, "%s/db", path2);
  tu_rmtree(key2);
  cr_assert_eq(lstore_init(path2, "站", &id, NULL, &e), 0, "%s", e.msg);
  tu_rmtree(key2);
  cr_assert_eq(lstore_init(path2, "站", &root, NULL, &e), LINLI_EEXIST);
  cr_assert(strstr(e.msg, "another key") != NULL, "%s", e.msg);
  tu_rmtree(dir);
  free(dir);
}

/* People waiting for their logs: marked, listed, kept across a reopen,
 * cleared; a marked key's write is refused (EBUSY), naming its key. */
Test(store, people_waiting_for_their_logs_are_kept_and_refused)
{
  char *dir = tu_tmpdir("await");
  cr_assert_not_null(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/n", dir);
  lident id, p1, p2;
  s_key(&id, 5);
  s_key(&p1, 8);
  s_key(&p2, 9);
  lerr e = {0};
  cr_assert_eq(lstore_init(path, "站", &id, NULL, &e), 0, "%s", e.msg);
  lstore *s;
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_await_count(s), 0);
  cr_assert_not(lstore_awaiting(s, p1.pk));
  cr_assert_eq(lstore_await_set(s, p1.pk, true, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_await_set(s, p1.pk, true, &e), 0, "%s", e.msg); /* once */
  cr_assert_eq(lstore_await_set(s, p2.pk, true, &e), 0, "%s", e.msg);
  lstore_close(&s);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_await_count(s), 2);
  cr_assert(lstore_awaiting(s, p1.pk));
  cr_assert_not(lstore_awaiting(s, id.pk));
  uint8_t(*v)[LINLI_PK_BYTES] = NULL;
  uint32_t n = 0;
  cr_assert_eq(lstore_await_list(s, &v, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 2);
  cr_assert(memcmp(v[0], p1.pk, LINLI_PK_BYTES) == 0 || memcmp(v[1], p1.pk, LINLI_PK_BYTES) == 0);
  cr_assert(memcmp(v[0], p2.pk, LINLI_PK_BYTES) == 0 || memcmp(v[1], p2.pk, LINLI_PK_BYTES) == 0);
  free(v);
  op o[1] = {s_set("hh/1", "name", "x")};
  cr_assert_eq(lstore_write(s, &p1, o, 1, 1800000000000ull, &e), LINLI_EBUSY);
  char sh[LINLI_SHORT_ID_LEN + 1];
  ident_short(sh, p1.pk);
  cr_assert(strstr(e.msg, sh) != NULL && strstr(e.msg, "must first come back") != NULL, "%s",
            e.msg);
  /* the station's own writes go on */
  cr_assert_eq(lstore_write(s, &id, o, 1, 1800000000000ull, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_await_set(s, p1.pk, false, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_await_set(s, p2.pk, false, &e), 0, "%s", e.msg);
  lstore_close(&s);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_await_count(s), 0);
  cr_assert_eq(lstore_await_list(s, &v, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 0);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* Values kept beside the store in a group go in with its commit only. */
Test(store, group_meta_is_written_with_the_commit)
{
  char *dir;
  lstore *s = s_fresh(&dir, "gmeta", 1);
  author a;
  s_author(&a, 7);
  op o[1] = {s_set("hh/1", "name", "x")};
  lbuf b;
  lbuf_init(&b);
  s_delta(&a, o, 1, &b);
  lerr e = {0};
  lingest *g;
  uint8_t *v;
  size_t vn;
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  cr_assert_eq(lingest_add(g, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_meta_put(g, "scope:t", "\x03", 1, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
  cr_assert_eq(lstore_meta_get(s, "scope:t", &v, &vn, &e), LINLI_ENOTFOUND);
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  cr_assert_eq(lingest_add(g, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_meta_put(g, "scope:t", "\x03", 1, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_meta_put(g, "scope:u", "", 0, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_commit(g, 1800000000000ull, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
  cr_assert_eq(lstore_meta_get(s, "scope:t", &v, &vn, &e), 0, "%s", e.msg);
  cr_assert_eq(vn, 1);
  cr_assert_eq(v[0], 3);
  free(v);
  cr_assert_eq(lstore_meta_get(s, "scope:u", &v, &vn, &e), 0, "%s", e.msg);
  cr_assert_eq(vn, 0);
  free(v);
  lbuf_free(&b);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* Clocks (docs/FORMAT.md, "Clocks"), with the receiver's wall clock
 * faked: ops dated more than the bound ahead are held back, and the rest
 * of their author's log after them; released when the clock gets there. */
Test(store, future_ops_are_held_back_until_the_clock_reaches_them)
{
  const uint64_t now = 1800000000000ull, hour = 3600000ull;
  char *dir;
  lstore *s = s_fresh(&dir, "future", 1);
  author a, b;
  s_author(&a, 30);
  s_author(&b, 31);
  a.hlc = hlc_make(now + 2 * hour, 0); /* a station whose clock is 2 h ahead */
  b.hlc = hlc_make(now - 1000, 0);
  lbuf d1, d2, d3;
  lbuf_init(&d1);
  lbuf_init(&d2);
  lbuf_init(&d3);
  op o1[1] = {s_set("hh/1", "name", "from the future")};
  op o2[1] = {s_set("hh/1", "tel", "1")};
  op o3[1] = {s_set("hh/2", "name", "now")};
  s_delta(&a, o1, 1, &d1);
  s_delta(&a, o2, 1, &d2);
  s_delta(&b, o3, 1, &d3);
  lerr e = {0};
  for (int keep = 0; keep <= 1; keep++) {
    lingest *g;
    cr_assert_eq(lstore_ingest_new(s, keep, &g), 0);
    lingest_set_clock(g, now, hour);
    cr_assert_eq(lingest_add(g, d1.p, d1.len, &e), LINLI_EFUTURE, "%s", e.msg);
    cr_assert(strstr(e.msg, "ahead of this clock") != NULL, "%s", e.msg);
    /* the rest of the author's log waits behind it (not a gap) */
    cr_assert_eq(lingest_add(g, d2.p, d2.len, &e), LINLI_EFUTURE, "%s", e.msg);
    cr_assert_eq(lingest_add(g, d3.p, d3.len, &e), 0, "%s", e.msg);
    if (keep)
      cr_assert_eq(lingest_commit(g, now, NULL, &e), 0, "%s", e.msg);
    lingest_destroy(&g);
  }
  lhead h;
  cr_assert_eq(lstore_head(s, a.id.pk, &h, NULL), LINLI_ENOTFOUND);
  cr_assert_eq(lstore_head(s, b.id.pk, &h, &e), 0, "%s", e.msg);
  lheld *held;
  uint32_t n;
  cr_assert_eq(lstore_held(s, &held, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 2);
  cr_assert_eq(memcmp(held[0].author, a.id.pk, LINLI_PK_BYTES), 0);
  cr_assert_eq(held[0].first, 1);
  cr_assert_eq(held[1].first, 2);
  cr_assert_eq(hlc_ms(held[0].max_hlc), now + 2 * hour);
  free(held);
  /* a later delta of the held author, arriving alone, waits too */
  op o4[1] = {s_set("hh/1", "tel", "2")};
  lbuf d4;
  lbuf_init(&d4);
  s_delta(&a, o4, 1, &d4);
  lingest *g;
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  lingest_set_clock(g, now, hour);
  cr_assert_eq(lingest_add(g, d4.p, d4.len, &e), LINLI_EFUTURE, "%s", e.msg);
  lingest_destroy(&g);
  /* offered again (a peer's next session): held once */
  cr_assert_eq(lstore_ingest_new(s, true, &g), 0);
  lingest_set_clock(g, now, hour);
  cr_assert_eq(lingest_add(g, d1.p, d1.len, &e), LINLI_EFUTURE, "%s", e.msg);
  lingest_destroy(&g);
  cr_assert_eq(lstore_held(s, &held, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 3);
  free(held);
  /* half an hour later they are still too far ahead */
  lingest_stats st;
  cr_assert_eq(lstore_release_held(s, now + hour / 2, hour, &st, &e), 0, "%s", e.msg);
  cr_assert_eq(st.deltas, 0);
  cr_assert_eq(lstore_head(s, a.id.pk, &h, NULL), LINLI_ENOTFOUND);
  /* survives a reopen, and once the clock is within the bound, applies */
  char path[4096];
  snprintf(path, sizeof path, "%s/n", dir);
  lstore_close(&s);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_release_held(s, now + hour + 1000, hour, &st, &e), 0, "%s", e.msg);
  cr_assert_eq(st.deltas, 3);
  cr_assert_eq(lstore_head(s, a.id.pk, &h, &e), 0, "%s", e.msg);
  cr_assert_eq(h.seq, 3);
  cr_assert_eq(lstore_held(s, &held, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 0);
  free(held);
  lbuf_free(&d1);
  lbuf_free(&d2);
  lbuf_free(&d3);
  lbuf_free(&d4);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* A rebuild interrupted after it cleared the views (its marker set) is
 * finished by the next open. */
Test(store, an_interrupted_rebuild_is_finished_at_open)
{
  char *dir;
  lstore *s = s_fresh(&dir, "rbmark", 3);
  lident id;
  s_key(&id, 3);
  lerr e = {0};
  for (int i = 0; i < 20; i++) {
    char key[32];
    snprintf(key, sizeof key, "hh/%d", i % 7);
    op o[1] = {s_incr(key, "n", i)};
    cr_assert_eq(lstore_write(s, &id, o, 1, 1800000000000ull + (uint64_t)i, &e), 0, "%s", e.msg);
  }
  ldigest before, after;
  s_digest(s, "", &before);
  lstore_close(&s);
  char path[4096], db[4200];
  snprintf(path, sizeof path, "%s/n", dir);
  snprintf(db, sizeof db, "%s/db", path);
  /* what the crash left: the marker and the views and digests gone */
  rocksdb_options_t *opts = rocksdb_options_create();
  const rocksdb_options_t *cfo[LCF_COUNT];
  rocksdb_column_family_handle_t *cf[LCF_COUNT];
  for (int i = 0; i < LCF_COUNT; i++)
    cfo[i] = opts;
  char *err = NULL;
  rocksdb_t *db_ = rocksdb_open_column_families(opts, db, LCF_COUNT, lstore_cf_names, cfo, cf, &err);
  cr_assert_null(err, "%s", err);
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, cf[LCF_META], "rebuilding", 10, "1", 1);
  rocksdb_writebatch_delete_range_cf(wb, cf[LCF_VIEWS], "", 0, "\xff", 1);
  rocksdb_writebatch_delete_range_cf(wb, cf[LCF_DIGESTS], "", 0, "\xff", 1);
  rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
  rocksdb_write(db_, wo, wb, &err);
  cr_assert_null(err, "%s", err);
  rocksdb_writeoptions_destroy(wo);
  rocksdb_writebatch_destroy(wb);
  for (int i = 0; i < LCF_COUNT; i++)
    rocksdb_column_family_handle_destroy(cf[i]);
  rocksdb_close(db_);
  rocksdb_options_destroy(opts);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  s_digest(s, "", &after);
  cr_assert_eq(memcmp(before.sum, after.sum, LINLI_HASH_BYTES), 0);
  cr_assert_eq(before.count, after.count);
  lstore_close(&s);
  tu_rmtree(dir);
  free(dir);
}

/* A writer whose clock is far from its parent's refuses to write. */
Test(store, writer_refuses_with_a_clock_far_from_the_parents)
{
  const uint64_t now = 1800000000000ull, min = 60000ull;
  char *dir;
  lstore *s = s_fresh(&dir, "skew", 1);
  lident id;
  s_key(&id, 1);
  lerr e = {0};
  op o = s_set("hh/1", "name", "x");
  /* the parent's clock is 3 h behind ours: ours is 3 h ahead */
  cr_assert_eq(lstore_set_parent_clock(s, now, -(int64_t)(180 * min), &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_write(s, &id, &o, 1, now + min, &e), LINLI_ECLOCK);
  cr_assert(strstr(e.msg, "180 min ahead of its parent") != NULL, "%s", e.msg);
  cr_assert(strstr(e.msg, "set the PC's date and time right") != NULL, "%s", e.msg);
  /* the refusal holds after a reopen */
  char path[4096];
  snprintf(path, sizeof path, "%s/n", dir);
  lstore_close(&s);
  cr_assert_eq(lstore_open(&s, path, NULL, &e), 0, "%s", e.msg);
  o = s_set("hh/1", "name", "x");
  cr_assert_eq(lstore_write(s, &id, &o, 1, now + min, &e), LINLI_ECLOCK);
  /* the clock set right (3 h back): the old measurement no longer counts
   * once it is more than a day away; a fresh one within bounds allows */
  cr_assert_eq(lstore_set_parent_clock(s, now, 2 * (int64_t)min, &e), 0, "%s", e.msg);
  o = s_set("hh/1", "name", "x");
  cr_assert_eq(lstore_write(s, &id, &o, 1, now + min, &e), 0, "%s", e.msg);
  lstore_close(&s);
  ident_wipe(&id);
  tu_rmtree(dir);
  free(dir);
}

/* Sets the raw meta row `format` of the closed store at `path`, as another
 * version of linli would have written it (RocksDB opened directly). */
static void
s_set_format(const char *path, const char *fmt)
{
  char db[4200];
  snprintf(db, sizeof db, "%s/db", path);
  rocksdb_options_t *o = rocksdb_options_create();
  char *err = NULL;
  size_t ncf = 0;
  char **names = rocksdb_list_column_families(o, db, &ncf, &err);
  cr_assert_null(err, "%s", err);
  const rocksdb_options_t **opts = calloc(ncf, sizeof *opts);
  rocksdb_column_family_handle_t **h = calloc(ncf, sizeof *h);
  for (size_t i = 0; i < ncf; i++)
    opts[i] = o;
  rocksdb_t *r = rocksdb_open_column_families(o, db, (int)ncf, (const char *const *)names, opts,
                                              h, &err);
  cr_assert_null(err, "%s", err);
  rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
  rocksdb_put(r, wo, "format", 6, fmt, strlen(fmt), &err); /* the default family: meta */
  cr_assert_null(err, "%s", err);
  rocksdb_writeoptions_destroy(wo);
  for (size_t i = 0; i < ncf; i++)
    rocksdb_column_family_handle_destroy(h[i]);
  rocksdb_close(r);
  rocksdb_list_column_families_destroy(names, ncf);
  free(h);
  free(opts);
  rocksdb_options_destroy(o);
}

/* A store made by a newer linli (a higher format number) is refused with
 * a message that says so, and a format that is no number is refused too;
 * either way the meta row is left as it was. */
Test(store, a_newer_or_unreadable_format_is_refused_and_left_alone)
{
  static const char *const fmts[] = {"2", "10", "x", ""};
  for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
    char *dir;
    lstore *s = s_fresh(&dir, "format", 1);
    lerr e = {0};
    lstore_close(&s);
    char path[4096];
    snprintf(path, sizeof path, "%s/n", dir);
    s_set_format(path, fmts[i]);
    cr_assert_eq(lstore_open(&s, path, NULL, &e), LINLI_ESTORE, "format '%s' opened", fmts[i]);
    cr_assert_null(s);
    if (i < 2)
      cr_assert(strstr(e.msg, "written by a newer linli; this version reads format 1") != NULL,
                "%s", e.msg);
    else
      cr_assert(strstr(e.msg, "format version is unreadable") != NULL, "%s", e.msg);
    /* Refused twice the same way: nothing was rewritten. */
    lerr e2 = {0};
    cr_assert_eq(lstore_open(&s, path, NULL, &e2), LINLI_ESTORE);
    cr_assert_str_eq(e2.msg, e.msg);
    tu_rmtree(dir);
    free(dir);
  }
}
