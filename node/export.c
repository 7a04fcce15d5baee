/*
 * export.c - reading the logs back: raw scans for the auditor, the deltas
 * a peer or a bundle lacks (stored deltas joined into larger ones within a
 * byte budget), and the full verification of every chain and signature.
 */
#include "node/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
lstore_log_scan(lstore *s, lstore_raw_cb cb, void *ctx, lerr *e)
{
  int rc = 0;
  /* One pass over every log: no block it reads is read again, so putting
   * them in the block cache would only grow the process by the cache's
   * size (48 MB instead of 17 for `linli audit` of the 1M-op workload). */
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  rocksdb_readoptions_set_fill_cache(ro, 0);
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[LCF_LOG]);
  for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
    size_t vl;
    const char *v = rocksdb_iter_value(it, &vl);
    rc = cb(ctx, (const uint8_t *)v, vl);
  }
  char *err = NULL;
  rocksdb_iter_get_error(it, &err);
  rocksdb_iter_destroy(it);
  rocksdb_readoptions_destroy(ro);
  if (err && rc == 0)
    rc = st_rerr(e, err, "reading the log");
  else
    rocksdb_free(err);
  return rc;
}

int
lstore_log_find(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, uint8_t **p,
                size_t *n, lerr *e)
{
  delta d;
  char *raw;
  memset(&d, 0, sizeof d);
  int rc = st_load_delta(s, author, seq, &d, &raw, n, e);
  if (rc)
    return rc;
  delta_clear(&d);
  *p = (uint8_t *)raw;
  return 0;
}

/* ---- export ---- */

/* Deltas read from the log, waiting to be joined into one. */
typedef struct joiner {
  delta *ds;
  char **raws;
  uint32_t n, cap;
  uint64_t first;             /* seq of the first op to send */
  uint8_t prev[LINLI_HASH_BYTES];
  size_t bytes;
  uint32_t ops;
} joiner;

static void
s_joiner_reset(joiner *j)
{
  for (uint32_t i = 0; i < j->n; i++) {
    delta_clear(&j->ds[i]);
    free(j->raws[i]);
  }
  j->n = 0;
  j->bytes = 0;
  j->ops = 0;
}

static int
s_joiner_emit(joiner *j, lstore_emit_cb emit, void *ctx, lexport_stats *st, lerr *e)
{
  if (j->n == 0)
    return 0;
  op *ops = malloc(j->ops * sizeof *ops);
  if (ops == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t k = 0;
  for (uint32_t i = 0; i < j->n; i++)
    for (uint32_t q = 0; q < j->ds[i].nops; q++)
      if (j->ds[i].ops[q].seq >= j->first)
        ops[k++] = j->ds[i].ops[q];
  lbuf out;
  lbuf_init(&out);
  const delta *last = &j->ds[j->n - 1];
  delta_encode(&out, last->author, j->first, j->prev, ops, k, last->sig);
  int rc = out.oom ? lerr_set(e, LINLI_ENOMEM, "out of memory") : emit(ctx, out.p, out.len);
  if (rc == 0 && st) {
    st->deltas++;
    st->ops += k;
  }
  j->first = delta_last_seq(last) + 1;
  lbuf_free(&out);
  free(ops);
  s_joiner_reset(j);
  return rc;
}

static int
s_export_author(lstore *s, const lhead *h, uint64_t from, const uint8_t prev[LINLI_HASH_BYTES],
                size_t max_bytes, lstore_emit_cb emit, void *ctx, lexport_stats *st, lerr *e)
{
  joiner j;
  memset(&j, 0, sizeof j);
  j.first = from;
  memcpy(j.prev, prev, LINLI_HASH_BYTES);
  uint8_t key[LOG_KEY_LEN];
  st_log_key(key, h->author, from);
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  for (rocksdb_iter_seek(it, (const char *)key, sizeof key); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl != LOG_KEY_LEN || memcmp(k, h->author, LINLI_PK_BYTES) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    char *raw = malloc(vl ? vl : 1);
    if (raw == NULL) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      break;
    }
    memcpy(raw, v, vl);
    delta d;
    if (delta_decode(&d, (const uint8_t *)raw, vl, NULL) != 0) {
      free(raw);
      char who[LINLI_SHORT_ID_LEN + 1];
      rc = lerr_set(e, LINLI_ESTORE, "author %s: a stored delta is corrupt (run linli verify)",
                    st_short(who, h->author));
      break;
    }
    uint64_t from_here = d.first_seq > j.first ? d.first_seq : j.first;
    uint32_t nops = (uint32_t)(delta_last_seq(&d) - from_here + 1);
    /* Join while the result stays within the byte and op bounds; a single
     * stored delta larger than the bound goes out on its own. */
    if (j.n > 0 && (j.bytes + vl > max_bytes || j.ops + nops > DELTA_MAX_OPS))
      rc = s_joiner_emit(&j, emit, ctx, st, e);
    if (rc == 0 && j.n == j.cap) {
      uint32_t cap = j.cap ? j.cap * 2 : 16;
      delta *nd = realloc(j.ds, cap * sizeof *nd);
      if (nd)
        j.ds = nd;
      char **nr = realloc(j.raws, cap * sizeof *nr);
      if (nr)
        j.raws = nr;
      if (nd == NULL || nr == NULL)
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      else
        j.cap = cap;
    }
    if (rc) {
      delta_clear(&d);
      free(raw);
      break;
    }
    /* The stored delta's own previous hash links the joined run to what the
     * receiver holds, except when the run starts inside it (first row). */
    if (j.n == 0 && d.first_seq == from_here)
      memcpy(j.prev, d.prev, LINLI_HASH_BYTES);
    j.ds[j.n] = d;
    j.raws[j.n] = raw;
    j.ops += nops;
    j.bytes += vl;
    j.n++;
  }
  rocksdb_iter_destroy(it);
  if (rc == 0)
    rc = s_joiner_emit(&j, emit, ctx, st, e);
  s_joiner_reset(&j);
  free(j.ds);
  free(j.raws);
  return rc > 0 ? 0 : rc; /* a positive return from emit asks to stop */
}

typedef struct budget_ctx {
  lstore_emit_cb emit;
  void *ctx;
  size_t left;
  bool emitted;
} budget_ctx;

static int
s_budget_emit(void *ctx, const uint8_t *p, size_t n)
{
  budget_ctx *b = ctx;
  /* A delta that does not fit stays for the next call, unless it is the
   * first: every call must make progress. */
  if (b->emitted && n > b->left)
    return 1;
  int rc = b->emit(b->ctx, p, n);
  if (rc)
    return rc;
  b->emitted = true;
  b->left = n >= b->left ? 0 : b->left - n;
  return b->left == 0 ? 1 : 0;
}

int
lstore_read_log(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t from,
                size_t max_delta_bytes, size_t budget, lstore_emit_cb emit, void *ctx, lerr *e)
{
  lhead h;
  int rc = lstore_head(s, author, &h, e);
  if (rc)
    return rc;
  if (from == 0 || from > h.seq)
    return 0;
  uint8_t prev[LINLI_HASH_BYTES] = {0};
  lbuf scratch;
  lbuf_init(&scratch);
  if (from > 1)
    rc = st_hash_at(s, author, from - 1, prev, &scratch, e);
  lbuf_free(&scratch);
  if (rc)
    return rc;
  budget_ctx b = {.emit = emit, .ctx = ctx, .left = budget ? budget : SIZE_MAX};
  return s_export_author(s, &h, from, prev, max_delta_bytes, s_budget_emit, &b, NULL, e);
}

int
lstore_export(lstore *s, const lsummary *want, lstore_keep_cb keep, size_t max_bytes,
              lstore_emit_cb emit, void *ctx, lexport_stats *st, lerr *e)
{
  lexport_stats local;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  lhead *heads;
  uint32_t n;
  int rc = lstore_heads(s, &heads, &n, e);
  if (rc)
    return rc;
  lbuf scratch;
  lbuf_init(&scratch);
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    const lhead *h = &heads[i];
    if (keep != NULL && !keep(ctx, h->author))
      continue;
    const lhead_ref *theirs = want ? summary_find(want, h->author) : NULL;
    uint64_t have = theirs ? theirs->seq : 0;
    uint8_t prev[LINLI_HASH_BYTES] = {0};
    if (have >= h->seq) {
      if (have == h->seq && memcmp(theirs->hash, h->hash, LINLI_HASH_BYTES) != 0)
        st->forks++;
      continue;
    }
    if (have > 0) {
      if ((rc = st_hash_at(s, h->author, have, prev, &scratch, e)) != 0)
        break;
      if (memcmp(prev, theirs->hash, LINLI_HASH_BYTES) != 0) {
        st->forks++; /* their log is not a prefix of ours */
        continue;
      }
    }
    st->authors++;
    rc = s_export_author(s, h, have + 1, prev, max_bytes, emit, ctx, st, e);
  }
  lbuf_free(&scratch);
  free(heads);
  return rc;
}

/* ---- maintenance ---- */

int
lstore_verify(lstore *s, lstore_progress_cb progress, void *ctx, uint64_t *ops_out, lerr *e)
{
  lstore_stat stt;
  int rc = lstore_stat_get(s, &stt, e);
  if (rc)
    return rc;
  uint64_t done = 0;
  char who[LINLI_SHORT_ID_LEN + 1];
  lbuf scratch;
  lbuf_init(&scratch);
  uint8_t (*hashes)[LINLI_HASH_BYTES] = NULL;
  uint8_t author[LINLI_PK_BYTES], prev[LINLI_HASH_BYTES];
  uint64_t next = 1, authors_seen = 0;
  uint8_t last_sig[LINLI_SIG_BYTES];
  bool in_author = false;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  rocksdb_iter_seek_to_first(it);
  for (;;) {
    bool valid = rocksdb_iter_valid(it);
    size_t kl = 0, vl = 0;
    const char *k = valid ? rocksdb_iter_key(it, &kl) : NULL;
    bool same = valid && in_author && kl == LOG_KEY_LEN && memcmp(k, author, LINLI_PK_BYTES) == 0;
    if (in_author && !same) {
      /* The author's log ended: it must end at the stored head. */
      lhead h;
      if ((rc = lstore_head(s, author, &h, e)) != 0) {
        lerr_set(e, LINLI_ESTORE, "author %s: log without a stored head", st_short(who, author));
        rc = LINLI_ESTORE;
        break;
      }
      if (h.seq != next - 1 || memcmp(h.hash, prev, LINLI_HASH_BYTES) != 0 ||
          memcmp(h.sig, last_sig, LINLI_SIG_BYTES) != 0) {
        rc = lerr_set(e, LINLI_ECHAIN, "author %s seq %llu: stored head does not match the log",
                      st_short(who, author), (unsigned long long)h.seq);
        break;
      }
      authors_seen++;
      in_author = false;
    }
    if (!valid)
      break;
    if (kl != LOG_KEY_LEN) {
      rc = lerr_set(e, LINLI_ESTORE, "a log row has a malformed key");
      break;
    }
    if (!in_author) {
      memcpy(author, k, LINLI_PK_BYTES);
      memset(prev, 0, sizeof prev);
      next = 1;
      in_author = true;
    }
    const char *v = rocksdb_iter_value(it, &vl);
    delta d;
    lerr inner = {0};
    uint64_t row_last = st_rd64((const uint8_t *)k + LINLI_PK_BYTES);
    if (delta_decode(&d, (const uint8_t *)v, vl, &inner) != 0) {
      rc = lerr_set(e, LINLI_EMALFORMED, "author %s seq %llu..%llu: stored delta is corrupt: %s",
                    st_short(who, author), (unsigned long long)next, (unsigned long long)row_last,
                    inner.msg);
      break;
    }
    if (memcmp(d.author, author, LINLI_PK_BYTES) != 0 || delta_last_seq(&d) != row_last) {
      rc = lerr_set(e, LINLI_ESTORE, "author %s seq %llu: log row key does not match its delta",
                    st_short(who, author), (unsigned long long)row_last);
      delta_clear(&d);
      break;
    }
    if (d.first_seq != next) {
      rc = lerr_set(e, LINLI_EGAP, "author %s seq %llu: log has a gap (next delta starts at %llu)",
                    st_short(who, author), (unsigned long long)next,
                    (unsigned long long)d.first_seq);
      delta_clear(&d);
      break;
    }
    if (memcmp(d.prev, prev, LINLI_HASH_BYTES) != 0) {
      rc = lerr_set(e, LINLI_ECHAIN,
                    "author %s seq %llu: previous hash does not match seq %llu",
                    st_short(who, author), (unsigned long long)next,
                    (unsigned long long)(next - 1));
      delta_clear(&d);
      break;
    }
    rc = delta_verify(&d, prev, NULL, &scratch, e);
    memcpy(last_sig, d.sig, sizeof last_sig);
    next = row_last + 1;
    done += d.nops;
    delta_clear(&d);
    if (rc)
      break;
    if (progress)
      progress(ctx, done, stt.ops);
    rocksdb_iter_next(it);
  }
  rocksdb_iter_destroy(it);
  free(hashes);
  lbuf_free(&scratch);
  if (rc == 0 && authors_seen != stt.authors)
    rc = lerr_set(e, LINLI_ESTORE, "%llu heads are stored but %llu author logs were found",
                  (unsigned long long)stt.authors, (unsigned long long)authors_seen);
  if (ops_out)
    *ops_out = done;
  return rc;
}
