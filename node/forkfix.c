/*
 * forkfix.c - repairing a station whose key forked (docs/OPERATING.md,
 * "Forks"): the ops of its own branch that the parent does not hold are
 * signed again by a new key certified for the same prefix, and the old
 * key's copies of them are cut from the station's log, so that each
 * change counts once everywhere.
 *
 * The writes, in order:
 *   1. one commit: the new key's certificate op, the re-signed ops (new
 *      seqs, HLCs from the station's clock now) and the meta row
 *      x:forkfix:<old key hex> with its cut still to do;
 *   2. one batch: the old key's log cut back to the seq before the first
 *      re-signed one (the records it touched recomputed), the row marked
 *      cut, the recovering flag cleared (`forkfix-cut`);
 *   3. the key rotation (lstore_rotate), itself safe against a crash.
 * A crash after 1 leaves the row: the next open does 2 (st_forkfix_pending),
 * and the same command run again does 3.
 *
 * The row: new key (32) | first re-signed seq (u64 BE) | ops re-signed
 * (u64 BE) | hash of the old key's op first-1 (32) | the old key's
 * signature of that head (64) | cut done (1 byte, 0 or 1).
 */
#include "node/store_int.h"
#include "crdt/mp.h"
#include "crdt/op.h"
#include "node/failpoint.h"
#include "node/keyfile.h"
#include "node/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX_TAG "forkfix:"
#define FIX_ROW (LINLI_PK_BYTES + 8 + 8 + LINLI_HASH_BYTES + LINLI_SIG_BYTES + 1)

typedef struct fixrow {
  lforkfix f;
  uint8_t hash[LINLI_HASH_BYTES];
  uint8_t sig[LINLI_SIG_BYTES];
} fixrow;

static void
s_key(char mk[80], const uint8_t old[LINLI_PK_BYTES])
{
  memcpy(mk, FIX_TAG, sizeof FIX_TAG - 1);
  hex_encode(mk + sizeof FIX_TAG - 1, old, LINLI_PK_BYTES);
}

static void
s_put64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void
s_row_encode(uint8_t out[FIX_ROW], const fixrow *r)
{
  uint8_t *p = out;
  memcpy(p, r->f.next, LINLI_PK_BYTES);
  p += LINLI_PK_BYTES;
  s_put64(p, r->f.first);
  s_put64(p + 8, r->f.count);
  p += 16;
  memcpy(p, r->hash, LINLI_HASH_BYTES);
  p += LINLI_HASH_BYTES;
  memcpy(p, r->sig, LINLI_SIG_BYTES);
  p += LINLI_SIG_BYTES;
  *p = r->f.cut ? 1 : 0;
}

static int
s_row_decode(fixrow *r, const uint8_t old[LINLI_PK_BYTES], const uint8_t *v, size_t n, lerr *e)
{
  if (n != FIX_ROW || v[FIX_ROW - 1] > 1)
    return lerr_set(e, LINLI_ESTORE, "a stored fork repair row is corrupt");
  memcpy(r->f.old, old, LINLI_PK_BYTES);
  memcpy(r->f.next, v, LINLI_PK_BYTES);
  r->f.first = st_rd64(v + LINLI_PK_BYTES);
  r->f.count = st_rd64(v + LINLI_PK_BYTES + 8);
  memcpy(r->hash, v + LINLI_PK_BYTES + 16, LINLI_HASH_BYTES);
  memcpy(r->sig, v + LINLI_PK_BYTES + 16 + LINLI_HASH_BYTES, LINLI_SIG_BYTES);
  r->f.cut = v[FIX_ROW - 1] == 1;
  return 0;
}

/* Every repair row (a station repairs a fork once or twice in its life);
 * *out is malloc'd.  A row that does not decode is skipped with a
 * warning. */
static int
s_rows(lstore *s, fixrow **out, size_t *n, lerr *e)
{
  const size_t tl = 2 + sizeof FIX_TAG - 1;
  int rc = 0;
  *out = NULL;
  *n = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, "x:" FIX_TAG, tl); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < tl || memcmp(k, "x:" FIX_TAG, tl) != 0)
      break;
    uint8_t old[LINLI_PK_BYTES];
    char hx[2 * LINLI_PK_BYTES + 1];
    const char *v = rocksdb_iter_value(it, &vl);
    fixrow r;
    lerr why;
    if (kl != tl + 2 * LINLI_PK_BYTES)
      continue;
    memcpy(hx, k + tl, 2 * LINLI_PK_BYTES);
    hx[2 * LINLI_PK_BYTES] = '\0';
    if (hex_decode(old, LINLI_PK_BYTES, hx) != 0 ||
        s_row_decode(&r, old, (const uint8_t *)v, vl, &why) != 0) {
      log_warn("%s: a stored fork repair row is corrupt; skipped", s->dir);
      continue;
    }
    fixrow *nr = realloc(*out, (*n + 1) * sizeof **out);
    if (nr == NULL) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      break;
    }
    *out = nr;
    (*out)[(*n)++] = r;
  }
  rocksdb_iter_destroy(it);
  return rc;
}

/* The row of a repair that moved from or to `key`. */
static int
s_row_find(lstore *s, const uint8_t key[LINLI_PK_BYTES], fixrow *out, lerr *e)
{
  fixrow *rows;
  size_t n;
  int rc = s_rows(s, &rows, &n, e);
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (memcmp(rows[i].f.old, key, LINLI_PK_BYTES) == 0 ||
        memcmp(rows[i].f.next, key, LINLI_PK_BYTES) == 0) {
      *out = rows[i];
      free(rows);
      return 0;
    }
  free(rows);
  return rc ? rc : LINLI_ENOTFOUND;
}

int
lstore_forkfix_get(lstore *s, const uint8_t key[LINLI_PK_BYTES], lforkfix *out, lerr *e)
{
  fixrow r;
  int rc = s_row_find(s, key, &r, e);
  if (rc == 0)
    *out = r.f;
  return rc;
}

/* Step 2: cuts the old key's log before the first re-signed seq, marks the
 * row, ends recovery (the station's own log is now the new key's). */
static int
s_cut(lstore *s, fixrow *r, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  lrevoke at;
  memset(&at, 0, sizeof at);
  memcpy(at.subject, r->f.old, LINLI_PK_BYTES);
  at.seq = r->f.first - 1;
  memcpy(at.hash, r->hash, LINLI_HASH_BYTES);
  memcpy(at.sig, r->sig, LINLI_SIG_BYTES);
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  uint64_t removed = 0;
  lhead h;
  int rc = 0;
  if (lstore_head(s, r->f.old, &h, NULL) == 0 && h.seq > at.seq)
    rc = st_cut_log(s, r->f.old, &at, wb, &removed, e);
  if (rc == 0) {
    uint8_t v[FIX_ROW];
    char mk[80], xk[ST_META_KEY_MAX];
    r->f.cut = true;
    s_row_encode(v, r);
    s_key(mk, r->f.old);
    int w = st_meta_key(xk, mk, e);
    if (w < 0)
      rc = w;
    else
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], xk, (size_t)w, (const char *)v, sizeof v);
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], "recovering", 10);
  }
  if (rc == 0 && lfail("forkfix-cut"))
    rc = lerr_set(e, LINLI_EIO, "cutting the re-signed ops failed (test failpoint)");
  if (rc == 0)
    rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0) {
    s->recovering = false;
    st_trust_forget(s);
    log_info("author %s: its %llu ops from seq %llu on, signed again by %s, removed here",
             st_short(who, r->f.old), (unsigned long long)removed,
             (unsigned long long)r->f.first, st_short((char[LINLI_SHORT_ID_LEN + 1]){0}, r->f.next));
  } else {
    r->f.cut = false;
  }
  return rc;
}

int
st_forkfix_pending(lstore *s, lerr *e)
{
  fixrow *rows;
  size_t n;
  int rc = s_rows(s, &rows, &n, e);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (rows[i].f.cut)
      continue;
    log_warn("%s: a fork repair was interrupted after its ops were signed again; finishing it",
             s->dir);
    rc = s_cut(s, &rows[i], e);
  }
  free(rows);
  return rc;
}

/* ---- where the histories part ---- */

typedef struct ev_pick {
  const uint8_t *author;
  uint8_t *ev;
  size_t n;
} ev_pick;

static int
s_ev_pick(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
          size_t n)
{
  ev_pick *p = ctx;
  (void)seq;
  if (memcmp(author, p->author, LINLI_PK_BYTES) != 0)
    return 0;
  if ((p->ev = malloc(n)) == NULL)
    return LINLI_ENOMEM;
  memcpy(p->ev, ev, n);
  p->n = n;
  return 1;
}

int
lstore_fork_first(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t *first, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  st_short(who, author);
  ev_pick p = {.author = author};
  int rc = lstore_forks(s, s_ev_pick, &p, e);
  if (rc < 0)
    return rc;
  if (p.ev == NULL)
    return lerr_set(e, LINLI_ENOTFOUND, "no fork evidence of %s is held here", who);
  lhead h;
  if ((rc = lstore_head(s, author, &h, e)) != 0) {
    free(p.ev);
    return rc;
  }
  /* ["linli-fork-v1", author, seq, delta, delta], checked when it was kept. */
  mpr rd;
  const char *tag;
  uint32_t tl;
  uint8_t a[LINLI_PK_BYTES];
  uint64_t seq;
  mpr_init(&rd, p.ev, p.n);
  rc = mpr_array_n(&rd, 5) || mpr_str(&rd, &tag, &tl) || mpr_bin_n(&rd, a, sizeof a) ||
       mpr_uint(&rd, &seq);
  *first = 0;
  /* Each delta either is the log held here, or shows the first seq where
   * it differs, or starts off the log held (then it does not show it). */
  bool unknown = false;
  for (int k = 0; k < 2 && rc == 0; k++) {
    const uint8_t *start = rd.p;
    if (mpr_skip(&rd)) {
      rc = 1;
      break;
    }
    delta d;
    memset(&d, 0, sizeof d);
    uint64_t q = 0;
    if (delta_decode(&d, start, (size_t)(rd.p - start), NULL) != 0)
      rc = 1;
    else if (st_first_diff(s, &d, h.seq, &q, NULL) != 0)
      unknown = true;
    else if (q > 0 && (*first == 0 || q < *first))
      *first = q;
    delta_clear(&d);
  }
  free(p.ev);
  if (rc)
    return lerr_set(e, LINLI_ESTORE, "the fork evidence of %s held here is corrupt", who);
  if (unknown || *first == 0)
    return lerr_set(e, LINLI_EINVAL,
                    "the fork evidence of %s does not show where its histories part: give the "
                    "first seq the parent does not hold (--from)", who);
  return 0;
}

/* ---- the repair ---- */

/* The old key's ops, as decoded deltas and the bytes their ops point
 * into. */
typedef struct oldlog {
  delta *d;
  uint8_t **raw;
  uint32_t n, cap;
  uint64_t ops;
} oldlog;

static int
s_collect(void *ctx, const uint8_t *p, size_t n)
{
  oldlog *o = ctx;
  if (o->n == o->cap) {
    uint32_t cap = o->cap ? o->cap * 2 : 8;
    delta *nd = realloc(o->d, cap * sizeof *nd);
    if (nd == NULL)
      return LINLI_ENOMEM;
    o->d = nd;
    uint8_t **nr = realloc(o->raw, cap * sizeof *nr);
    if (nr == NULL)
      return LINLI_ENOMEM;
    o->raw = nr;
    o->cap = cap;
  }
  uint8_t *copy = malloc(n ? n : 1);
  if (copy == NULL)
    return LINLI_ENOMEM;
  memcpy(copy, p, n);
  delta *d = &o->d[o->n];
  memset(d, 0, sizeof *d);
  if (delta_decode(d, copy, n, NULL) != 0) {
    delta_clear(d);
    free(copy);
    return LINLI_ESTORE;
  }
  o->raw[o->n++] = copy;
  o->ops += d->nops;
  return 0;
}

static int
s_tag_cmp(const void *a, const void *b)
{
  const op_tag *x = a, *y = b;
  int c = memcmp(x->author, y->author, LINLI_PK_BYTES);
  if (c)
    return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
lstore_fork_repair(lstore *s, const char *next_key, const lchain *ch, uint64_t first,
                   uint64_t wall_ms, lstore_resign_cb cb, void *ctx, lforkfix *out, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  uint8_t old[LINLI_PK_BYTES];
  memcpy(old, s->self, sizeof old);
  st_short(who, old);
  lident next, oldid;
  memset(&next, 0, sizeof next);
  memset(&oldid, 0, sizeof oldid);
  int rc = keyfile_read(next_key, &next, e);
  if (rc)
    return rc;
  fixrow r;
  memset(&r, 0, sizeof r);
  oldlog ol = {0};
  op *ops = NULL;
  op_tag **tagbufs = NULL;
  uint32_t ntagbufs = 0;
  lingest *g = NULL;
  if ((rc = s_row_find(s, old, &r, e)) == 0) {
    /* Run again after a crash: the ops are signed already. */
    char nw[LINLI_SHORT_ID_LEN + 1];
    if (memcmp(r.f.next, next.pk, LINLI_PK_BYTES) != 0) {
      rc = lerr_set(e, LINLI_EEXIST, "the ops of %s were signed again by %s already: give that key "
                    "(--key) to finish the repair", who, st_short(nw, r.f.next));
      goto done;
    }
    if (!r.f.cut && (rc = s_cut(s, &r, e)) != 0)
      goto done;
    goto rotate;
  }
  if (rc != LINLI_ENOTFOUND)
    goto done;
  rc = 0;
  if (memcmp(next.pk, old, LINLI_PK_BYTES) == 0) {
    rc = lerr_set(e, LINLI_EINVAL, "the new key is the current key");
    goto done;
  }
  lhead h;
  if (lstore_head(s, next.pk, &h, NULL) == 0) {
    rc = lerr_set(e, LINLI_EINVAL, "the new key has signed ops already: make another (linli keygen)");
    goto done;
  }
  if ((rc = lstore_head(s, old, &h, e)) != 0)
    goto done;
  if (first < 2 || first > h.seq) {
    rc = lerr_set(e, LINLI_EINVAL,
                  "seq %llu: the ops to sign again run from seq 2 (after the certificate) to "
                  "%llu, this node's last", (unsigned long long)first, (unsigned long long)h.seq);
    goto done;
  }
  if ((rc = lstore_identity(s, &oldid, e)) != 0 ||
      (rc = lstore_hash_at(s, old, first - 1, r.hash, e)) != 0)
    goto done;
  head_sign(&oldid, first - 1, r.hash, r.sig);
  memcpy(r.f.old, old, LINLI_PK_BYTES);
  memcpy(r.f.next, next.pk, LINLI_PK_BYTES);
  r.f.first = first;
  if ((rc = lstore_read_log(s, old, first, LSTORE_WRITE_MAX / 2, 0, s_collect, &ol, e)) != 0) {
    if (rc > 0)
      rc = lerr_set(e, rc, "author %s: its stored log cannot be read back; run linli verify", who);
    goto done;
  }
  r.f.count = ol.ops;
  /* The new log: its certificate op, then every op of the old branch in
   * order, one delta per delta read back, committed together. */
  if ((rc = lstore_ingest_new(s, true, &g)) != 0) {
    rc = lerr_set(e, rc, "out of memory");
    goto done;
  }
  lhead nh;
  memset(&nh, 0, sizeof nh);
  uint64_t t = s->hlc;
  {
    lbuf raw, hex;
    char key[96];
    op co;
    lbuf_init(&raw);
    lbuf_init(&hex);
    chain_encode(&raw, ch);
    rc = st_trust_op(&co, key, &hex, OP_SET, TRUST_CERT_PREFIX, next.pk, TRUST_CHAIN_FIELD, &raw,
                     e);
    if (rc == 0)
      rc = st_write_signed(g, &next, &nh, &t, &co, 1, wall_ms, e);
    lbuf_free(&raw);
    lbuf_free(&hex);
    if (rc)
      goto done;
  }
  /* An rm names the adds it saw; those of the old branch get their new
   * seqs (old seq q is new seq q - first + 2). */
  for (uint32_t i = 0; i < ol.n && rc == 0; i++) {
    const delta *d = &ol.d[i];
    op *nops = realloc(ops, (d->nops ? d->nops : 1) * sizeof *ops);
    if (nops == NULL) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      break;
    }
    ops = nops;
    for (uint32_t k = 0; k < d->nops && rc == 0; k++) {
      ops[k] = d->ops[k];
      if (ops[k].ntags == 0)
        continue;
      op_tag **nb = realloc(tagbufs, (ntagbufs + 1) * sizeof *tagbufs);
      op_tag *tg = malloc(ops[k].ntags * sizeof *tg);
      if (nb != NULL)
        tagbufs = nb;
      if (nb == NULL || tg == NULL) {
        free(tg);
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      tagbufs[ntagbufs++] = tg;
      for (uint32_t j = 0; j < ops[k].ntags; j++) {
        tg[j] = ops[k].tags[j];
        if (memcmp(tg[j].author, old, LINLI_PK_BYTES) == 0 && tg[j].seq >= first) {
          memcpy(tg[j].author, next.pk, LINLI_PK_BYTES);
          tg[j].seq = tg[j].seq - first + 2;
        }
      }
      qsort(tg, ops[k].ntags, sizeof *tg, s_tag_cmp);
      ops[k].tags = tg;
    }
    if (rc == 0)
      rc = st_write_signed(g, &next, &nh, &t, ops, d->nops, wall_ms, e);
    for (uint32_t k = 0; k < d->nops && rc == 0 && cb != NULL; k++)
      rc = cb(ctx, d->first_seq + k, &ops[k]);
  }
  if (rc)
    goto done;
  {
    uint8_t v[FIX_ROW];
    char mk[80];
    s_row_encode(v, &r);
    s_key(mk, old);
    if ((rc = lingest_meta_put(g, mk, v, sizeof v, e)) != 0 ||
        (rc = lingest_commit(g, wall_ms, NULL, e)) != 0)
      goto done;
  }
  log_info("author %s forked: %llu ops from seq %llu on signed again by %s", who,
           (unsigned long long)r.f.count, (unsigned long long)first,
           st_short((char[LINLI_SHORT_ID_LEN + 1]){0}, next.pk));
  if (lfail("forkfix-signed")) {
    rc = lerr_set(e, LINLI_EIO, "the repair stopped after signing (test failpoint)");
    goto done;
  }
  if ((rc = s_cut(s, &r, e)) != 0)
    goto done;
rotate:
  if (memcmp(s->self, old, LINLI_PK_BYTES) == 0)
    rc = lstore_rotate(s, next_key, e);
done:
  if (rc == 0 && out != NULL)
    *out = r.f;
  lingest_destroy(&g);
  for (uint32_t i = 0; i < ol.n; i++) {
    delta_clear(&ol.d[i]);
    free(ol.raw[i]);
  }
  free(ol.d);
  free(ol.raw);
  for (uint32_t i = 0; i < ntagbufs; i++)
    free(tagbufs[i]);
  free(tagbufs);
  free(ops);
  ident_wipe(&next);
  ident_wipe(&oldid);
  return rc;
}
