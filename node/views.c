/*
 * views.c - applying ops to records, shared by commit and rebuild: the
 * apply context loads each record the ops touch, merges them (crdt/record),
 * writes the new state with its hash and moves the digests of every
 * prefix, and the schema's aggregates (st_agg_*, node/aggregates.c).
 * Rebuild replays the whole log through the same code.
 */
#include "node/store_int.h"
#include "crdt/hmap.h"
#include "node/failpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- applying ops to records (shared by commit and rebuild) ---- */

void
st_ctx_init(applyctx *c, lstore *s)
{
  memset(c, 0, sizeof *c);
  c->s = s;
  larena_init(&c->arena);
  larena_init(&c->rarena);
  hmap_init_borrowed(&c->recs);
  hmap_init(&c->digs);
  lbuf_init(&c->scratch);
  lbuf_init(&c->row);
}

static void
s_ctx_reset(applyctx *c)
{
  c->nall = 0;
  larena_reset(&c->arena);
  larena_reset(&c->rarena);
  for (size_t i = 0; i < c->digs.cap; i++)
    if (c->digs.slots[i].key)
      free(c->digs.slots[i].val);
  hmap_free(&c->recs);
  hmap_free(&c->digs);
  c->ops = 0;
}

void
st_ctx_free(applyctx *c)
{
  s_ctx_reset(c);
  st_agg_free(c);
  free(c->all);
  larena_free(&c->arena);
  larena_free(&c->rarena);
  lbuf_free(&c->scratch);
  lbuf_free(&c->row);
}

/* The cache entry for `key`, created (not loaded) if absent. */
static crec *
s_ctx_entry(applyctx *c, const char *key, size_t klen)
{
  crec *cr = hmap_get(&c->recs, key, klen);
  if (cr)
    return cr;
  if (c->nall == c->allcap) {
    size_t cap = c->allcap ? c->allcap * 2 : 256;
    crec **na = realloc(c->all, cap * sizeof *na);
    if (na == NULL)
      return NULL;
    c->all = na;
    c->allcap = cap;
  }
  cr = larena_alloc(&c->arena, sizeof *cr + klen);
  if (cr == NULL)
    return NULL;
  memset(cr, 0, sizeof *cr);
  memcpy(cr->key, key, klen);
  cr->klen = (uint32_t)klen;
  if (hmap_put(&c->recs, cr->key, klen, cr) != 0)
    return NULL; /* the arena takes the entry back with everything else */
  c->all[c->nall++] = cr;
  return cr;
}

/* Fills cr from a stored views row (its hash, then its state), in `a`. */
static int
s_ctx_decode(larena *a, crec *cr, const char *v, size_t vl, lerr *e)
{
  if (vl < LINLI_HASH_BYTES ||
      rec_decode_in(&cr->r, a, (const uint8_t *)v + LINLI_HASH_BYTES, vl - LINLI_HASH_BYTES, NULL) != 0)
    return lerr_set(e, LINLI_ESTORE, "stored state of %.*s is corrupt (run linli rebuild)",
                    (int)cr->klen, cr->key);
  memcpy(cr->old_hash, v, LINLI_HASH_BYTES);
  return 0;
}

/* The entry for `key`, its record loaded by a point read if need be. */
static int
s_ctx_rec(applyctx *c, const char *key, size_t klen, crec **out, lerr *e)
{
  crec *cr = s_ctx_entry(c, key, klen);
  if (cr == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  if (cr->r == NULL) {
    char *v;
    size_t vl;
    int rc = st_get(c->s, LCF_VIEWS, key, klen, &v, &vl, e);
    if (rc == 0) {
      rc = s_ctx_decode(&c->arena, cr, v, vl, e);
      rocksdb_free(v);
      if (rc == 0)
        rc = st_agg_record(c, cr->key, cr->klen, cr->r, -1, e);
      if (rc)
        return rc;
    } else if (rc != LINLI_ENOTFOUND) {
      return rc;
    } else if ((cr->r = rec_new_in(&c->arena)) == NULL) {
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = cr;
  return 0;
}

static int
s_crec_cmp(const void *a, const void *b)
{
  const crec *x = *(const crec *const *)a, *y = *(const crec *const *)b;
  int d = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
  return d ? d : (x->klen > y->klen) - (x->klen < y->klen);
}

static int
s_key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
  int d = memcmp(a, b, an < bn ? an : bn);
  return d ? d : (an > bn) - (an < bn);
}

/* Finds stored views rows for keys asked in increasing order.  A point read
 * per record costs a skiplist search in each memtable and a probe of each
 * level, and most records of a large group are usually new; one iterator
 * does better: a seek lands on the first stored key at or after the wanted
 * one, every wanted key before that stored key is known to be absent
 * without another read, and stored keys close together are reached with a
 * few Next() steps instead of new seeks. */
typedef struct vcursor {
  rocksdb_iterator_t *it;
  bool seeked, valid;
  const char *k;
  size_t kl;
} vcursor;

static void
s_cursor_at(vcursor *vc)
{
  if ((vc->valid = rocksdb_iter_valid(vc->it)) != 0)
    vc->k = rocksdb_iter_key(vc->it, &vc->kl);
}

/* The stored value of `key` (valid until the next call), or NULL. */
static const char *
s_cursor_find(vcursor *vc, const char *key, size_t klen, size_t *vl)
{
  int cmp = vc->valid ? s_key_cmp(vc->k, vc->kl, key, klen) : 1;
  for (int step = 0; vc->valid && cmp < 0 && step < 8; step++) {
    rocksdb_iter_next(vc->it);
    s_cursor_at(vc);
    if (vc->valid)
      cmp = s_key_cmp(vc->k, vc->kl, key, klen);
  }
  if (!vc->seeked || (vc->valid && cmp < 0)) {
    rocksdb_iter_seek(vc->it, key, klen);
    vc->seeked = true;
    s_cursor_at(vc);
    if (vc->valid)
      cmp = s_key_cmp(vc->k, vc->kl, key, klen);
  }
  /* Now the iterator is at the first stored key >= key, or past the end:
   * either way nothing stored lies between. */
  return vc->valid && cmp == 0 ? rocksdb_iter_value(vc->it, vl) : NULL;
}

static int
s_ctx_merge(applyctx *c, crec *cr, const uint8_t author[LINLI_PK_BYTES], const op *o, lerr *e)
{
  int rc = rec_apply(cr->r, author, o);
  if (rc < 0)
    return lerr_set(e, rc, "out of memory applying an op");
  cr->dirty |= rc > 0;
  c->ops++;
  return 0;
}

/* Applies ops as they come (rebuild). */
static int
s_ctx_apply(applyctx *c, const uint8_t author[LINLI_PK_BYTES], const op *ops, uint32_t n, lerr *e)
{
  for (uint32_t i = 0; i < n; i++) {
    crec *cr = NULL;
    int rc = s_ctx_rec(c, ops[i].key, ops[i].key_len, &cr, e);
    if (rc == 0)
      rc = s_ctx_merge(c, cr, author, &ops[i], e);
    if (rc)
      return rc;
  }
  return 0;
}

/* Finds (or makes) the record of `g`'s op and counts the op there, for
 * st_ctx_stream. */
int
st_ctx_want(applyctx *c, gop *g, lerr *e)
{
  g->cr = s_ctx_entry(c, g->o->key, g->o->key_len);
  if (g->cr == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  g->cr->nops++;
  return 0;
}

static int
s_ctx_digest(applyctx *c, const char *prefix, size_t plen, ldigest **out, lerr *e)
{
  ldigest *d = hmap_get(&c->digs, prefix, plen);
  if (d == NULL) {
    d = calloc(1, sizeof *d);
    if (d == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    char *v;
    size_t vl;
    int rc = st_get(c->s, LCF_DIGESTS, prefix, plen, &v, &vl, e);
    if (rc == 0) {
      rc = digest_unpack(d, (const uint8_t *)v, vl);
      rocksdb_free(v);
      if (rc) {
        free(d);
        return lerr_set(e, LINLI_ESTORE, "stored digest of '%.*s' is corrupt (run linli rebuild)",
                        (int)plen, prefix);
      }
    } else if (rc != LINLI_ENOTFOUND) {
      free(d);
      return rc;
    }
    if (hmap_put(&c->digs, prefix, plen, d) != 0) {
      free(d);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = d;
  return 0;
}

/* Moves the digests of every prefix of `key` from hash `from` to `to`
 * (all zeros: absent). */
static int
s_ctx_move(applyctx *c, const char *key, uint32_t klen, const uint8_t from[LINLI_HASH_BYTES],
           const uint8_t to[LINLI_HASH_BYTES], lerr *e)
{
  static const uint8_t zero[LINLI_HASH_BYTES];
  uint32_t lens[LINLI_KEY_MAX / 2 + 1];
  uint32_t np = digest_prefixes(key, klen, lens, sizeof lens / sizeof *lens);
  for (uint32_t k = 0; k < np; k++) {
    ldigest *d = NULL;
    int rc = s_ctx_digest(c, key, lens[k], &d, e);
    if (rc)
      return rc;
    if (memcmp(from, zero, sizeof zero) != 0)
      digest_sub(d, from);
    if (memcmp(to, zero, sizeof zero) != 0)
      digest_add(d, to);
  }
  c->changed++;
  return 0;
}

/* Writes one changed record into `wb` and moves the digests of its
 * prefixes from its old hash to its new one. */
static int
s_ctx_write_rec(applyctx *c, crec *cr, rocksdb_writebatch_t *wb, lerr *e)
{
  const char *key = cr->key;
  uint8_t h[LINLI_HASH_BYTES];
  rec_hash(cr->r, key, cr->klen, h, &c->scratch);
  lbuf_reset(&c->row);
  lbuf_put(&c->row, h, sizeof h);
  rec_encode(cr->r, &c->row);
  if (c->row.oom)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  rocksdb_writebatch_put_cf(wb, c->s->cf[LCF_VIEWS], key, cr->klen, (const char *)c->row.p,
                            c->row.len);
  int rc = 0;
  if (memcmp(h, cr->old_hash, sizeof h) != 0)
    rc = s_ctx_move(c, key, cr->klen, cr->old_hash, h, e);
  memcpy(cr->old_hash, h, sizeof h);
  cr->dirty = false;
  return rc;
}

static void
s_ctx_write_digests(applyctx *c, rocksdb_writebatch_t *wb)
{
  for (size_t i = 0; i < c->digs.cap; i++) {
    hmap_slot *sl = &c->digs.slots[i];
    if (sl->key == NULL)
      continue;
    uint8_t packed[DIGEST_ROW_BYTES];
    digest_pack(sl->val, packed);
    rocksdb_writebatch_put_cf(wb, c->s->cf[LCF_DIGESTS], (const char *)sl->key, sl->klen,
                              (const char *)packed, sizeof packed);
  }
}

/* Writes every changed record and the digests they move into `wb`, in key
 * order: RocksDB inserts a batch into its memtable skiplist entry by entry,
 * and an entry that follows the previous one in key order is found from
 * where that one went in, instead of by a search from the top. */
int
st_ctx_flush(applyctx *c, rocksdb_writebatch_t *wb, lerr *e)
{
  if (c->nall > 1) /* c->all is NULL in an empty context */
    qsort(c->all, c->nall, sizeof *c->all, s_crec_cmp);
  int rc = 0;
  for (size_t i = 0; i < c->nall && rc == 0; i++) {
    if (c->all[i]->r != NULL)
      rc = st_agg_record(c, c->all[i]->key, c->all[i]->klen, c->all[i]->r, +1, e);
    if (rc == 0 && c->all[i]->dirty)
      rc = s_ctx_write_rec(c, c->all[i], wb, e);
  }
  if (rc == 0)
    s_ctx_write_digests(c, wb);
  if (rc == 0)
    rc = st_agg_write(c, wb, e);
  return rc;
}

/* How far ahead of the op being merged st_ctx_stream asks for the memory of
 * later ops: their op structs first, then the bytes those point to. */
#define STREAM_PREFETCH_OP 8
#define STREAM_PREFETCH_BYTES 4

/* Applies the group's ops (counted by st_ctx_want) record by record in key
 * order: each record is read (s_cursor_find), merged, encoded and written
 * while it is in the cache, then its memory is reused for the next one.
 * Views rows go into `wb` in key order (see st_ctx_flush), then the digests.
 *
 * The ops are first laid out record by record (a counting sort, keeping
 * group order within a record).  Taken in that order they are scattered
 * over the group's decoded deltas, and each one was a cache miss (perf:
 * most of rec_apply's time on its first load of the op); they are walked
 * in a row now, so the memory of the ones a few steps ahead is requested
 * early. */
int
st_ctx_stream(applyctx *c, const gop *ops, uint32_t n, rocksdb_writebatch_t *wb, lerr *e)
{
  if (c->nall > 1)
    qsort(c->all, c->nall, sizeof *c->all, s_crec_cmp);
  gop *seq = malloc((n ? n : 1) * sizeof *seq);
  if (seq == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t at = 0;
  for (size_t i = 0; i < c->nall; i++) {
    c->all[i]->first = at;
    c->all[i]->fill = 0;
    at += c->all[i]->nops;
  }
  for (uint32_t i = 0; i < n; i++) {
    crec *cr = ops[i].cr;
    seq[cr->first + cr->fill++] = ops[i];
  }
  vcursor vc = {.it = rocksdb_create_iterator_cf(c->s->db, c->s->ro, c->s->cf[LCF_VIEWS])};
  int rc = 0;
  for (size_t i = 0; i < c->nall && rc == 0; i++) {
    crec *cr = c->all[i];
    size_t vl;
    const char *v = s_cursor_find(&vc, cr->key, cr->klen, &vl);
    if (v)
      rc = s_ctx_decode(&c->rarena, cr, v, vl, e);
    else if ((cr->r = rec_new_in(&c->rarena)) == NULL)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    if (rc == 0 && v)
      rc = st_agg_record(c, cr->key, cr->klen, cr->r, -1, e);
    for (uint32_t k = cr->first; rc == 0 && k < cr->first + cr->nops; k++) {
      if (k + STREAM_PREFETCH_OP < n)
        __builtin_prefetch(seq[k + STREAM_PREFETCH_OP].o);
      if (k + STREAM_PREFETCH_BYTES < n) {
        const op *o = seq[k + STREAM_PREFETCH_BYTES].o;
        __builtin_prefetch(o->field);
        __builtin_prefetch(o->str);
      }
      rc = s_ctx_merge(c, cr, seq[k].author, seq[k].o, e);
    }
    if (rc == 0)
      rc = st_agg_record(c, cr->key, cr->klen, cr->r, +1, e);
    if (rc == 0 && cr->dirty)
      rc = s_ctx_write_rec(c, cr, wb, e);
    cr->r = NULL;
    larena_reset(&c->rarena);
  }
  char *err = NULL;
  rocksdb_iter_get_error(vc.it, &err);
  if (err && rc == 0)
    rc = st_rerr(e, err, "read");
  else
    rocksdb_free(err);
  rocksdb_iter_destroy(vc.it);
  free(seq);
  if (rc == 0)
    s_ctx_write_digests(c, wb);
  if (rc == 0)
    rc = st_agg_write(c, wb, e);
  return rc;
}

/* ---- recomputing records after a cut (revocation) ---- */

int
st_recompute_want(applyctx *c, const char *key, size_t klen, lerr *e)
{
  return s_ctx_entry(c, key, klen) ? 0 : lerr_set(e, LINLI_ENOMEM, "out of memory");
}

/* An op a recomputed record keeps, to be re-read from the log. */
typedef struct rwant {
  lstamp st;
  crec *cr;
} rwant;

static int
s_rwant_cmp(const void *a, const void *b)
{
  const rwant *x = a, *y = b;
  int d = memcmp(x->st.author, y->st.author, LINLI_PK_BYTES);
  if (d)
    return d;
  return (x->st.seq > y->st.seq) - (x->st.seq < y->st.seq);
}

int
st_recompute(applyctx *c, const uint8_t author[LINLI_PK_BYTES], uint64_t after,
             rocksdb_writebatch_t *wb, lerr *e)
{
  static const uint8_t zero[LINLI_HASH_BYTES];
  rwant *w = NULL;
  size_t nw = 0, cap = 0;
  int rc = 0;
  if (c->nall > 1)
    qsort(c->all, c->nall, sizeof *c->all, s_crec_cmp);
  /* The ops each record keeps, from its history. */
  for (size_t i = 0; i < c->nall && rc == 0; i++) {
    crec *cr = c->all[i];
    char *v;
    size_t vl;
    if ((rc = st_get(c->s, LCF_VIEWS, cr->key, cr->klen, &v, &vl, e)) == LINLI_ENOTFOUND) {
      rc = 0;
      continue; /* never applied: nothing to undo */
    }
    if (rc)
      break;
    rc = s_ctx_decode(&c->arena, cr, v, vl, e);
    rocksdb_free(v);
    if (rc == 0)
      rc = st_agg_record(c, cr->key, cr->klen, cr->r, -1, e);
    for (uint32_t k = 0; rc == 0 && k < cr->r->nhist; k++) {
      const lstamp *st = &cr->r->hist[k];
      if (st->seq > after && memcmp(st->author, author, LINLI_PK_BYTES) == 0)
        continue;
      if (nw == cap) {
        cap = cap ? cap * 2 : 64;
        rwant *nwp = realloc(w, cap * sizeof *w);
        if (nwp == NULL) {
          rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
          break;
        }
        w = nwp;
      }
      w[nw++] = (rwant){.st = *st, .cr = cr};
    }
    if (rc == 0 && (cr->r = rec_new_in(&c->arena)) == NULL)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    cr->dirty = true;
    cr->nops = 0;
  }
  /* Re-read them in log order: a run of ops in one stored delta costs one
   * read and one decode. */
  if (nw > 1)
    qsort(w, nw, sizeof *w, s_rwant_cmp);
  delta d;
  memset(&d, 0, sizeof d);
  char *raw = NULL;
  for (size_t i = 0; i < nw && rc == 0; i++) {
    const lstamp *st = &w[i].st;
    if (raw == NULL || memcmp(d.author, st->author, LINLI_PK_BYTES) != 0 ||
        st->seq < d.first_seq || st->seq > delta_last_seq(&d)) {
      delta_clear(&d);
      free(raw);
      raw = NULL;
      if ((rc = st_load_delta(c->s, st->author, st->seq, &d, &raw, NULL, e)) != 0)
        break;
    }
    const op *o = &d.ops[st->seq - d.first_seq];
    crec *cr = w[i].cr;
    if (o->key_len != cr->klen || memcmp(o->key, cr->key, cr->klen) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "stored state of %.*s names an op of another record (run "
                    "linli rebuild)", (int)cr->klen, cr->key);
      break;
    }
    if ((rc = s_ctx_merge(c, cr, st->author, o, e)) == 0)
      cr->nops++;
  }
  delta_clear(&d);
  free(raw);
  free(w);
  /* Write them back, in key order; a record left without ops goes. */
  for (size_t i = 0; i < c->nall && rc == 0; i++) {
    crec *cr = c->all[i];
    if (!cr->dirty)
      continue;
    if (cr->nops > 0) {
      rc = st_agg_record(c, cr->key, cr->klen, cr->r, +1, e);
      if (rc == 0)
        rc = s_ctx_write_rec(c, cr, wb, e);
      continue;
    }
    rocksdb_writebatch_delete_cf(wb, c->s->cf[LCF_VIEWS], cr->key, cr->klen);
    if (memcmp(cr->old_hash, zero, sizeof zero) != 0)
      rc = s_ctx_move(c, cr->key, cr->klen, cr->old_hash, zero, e);
    cr->dirty = false;
  }
  if (rc == 0)
    s_ctx_write_digests(c, wb);
  if (rc == 0)
    rc = st_agg_write(c, wb, e);
  return rc;
}

void
st_trust_forget(lstore *s)
{
  s->trust_gen++;
  for (size_t i = 0; i < s->trust.cap; i++)
    if (s->trust.slots[i].key)
      free(s->trust.slots[i].val);
  hmap_free(&s->trust);
  hmap_init(&s->trust);
}

int
lstore_rebuild(lstore *s, lstore_progress_cb progress, void *ctx, lerr *e)
{
  lstore_stat stt;
  int rc = lstore_stat_get(s, &stt, e);
  if (rc)
    return rc;
  /* What was loaded from the views is stale once they are rebuilt (a
   * revocation may have cut a certificate renewal out of a log). */
  st_trust_forget(s);
  /* Keys are UTF-8, which never contains the byte 0xff: [""; "\xff") spans
   * every view and digest row.  The marker goes in with the deletion and
   * out with the last slice: a store opened with it set is mid-rebuild, and
   * lstore_open finishes the rebuild (st_recover). */
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], REBUILD_MARK, strlen(REBUILD_MARK), "1", 1);
  rocksdb_writebatch_delete_range_cf(wb, s->cf[LCF_VIEWS], "", 0, "\xff", 1);
  rocksdb_writebatch_delete_range_cf(wb, s->cf[LCF_DIGESTS], "", 0, "\xff", 1);
  st_agg_drop(s, wb);
  rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc)
    return rc;
  lfail("rebuild-cleared");
  applyctx c;
  st_ctx_init(&c, s);
  uint64_t done = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  for (rocksdb_iter_seek_to_first(it);; rocksdb_iter_next(it)) {
    bool valid = rocksdb_iter_valid(it);
    /* Flush in slices so that memory stays bounded on a large store. */
    if (!valid || c.ops >= 200000) {
      wb = rocksdb_writebatch_create();
      rc = st_ctx_flush(&c, wb, e);
      if (!valid)
        rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], REBUILD_MARK, strlen(REBUILD_MARK));
      else
        lfail("rebuild-slice");
      if (rc == 0)
        rc = st_write(s, wb, e);
      rocksdb_writebatch_destroy(wb);
      s_ctx_reset(&c);
      if (rc || !valid)
        break;
    }
    size_t vl;
    const char *v = rocksdb_iter_value(it, &vl);
    delta d;
    lerr inner = {0};
    if (delta_decode(&d, (const uint8_t *)v, vl, &inner) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "a stored delta is corrupt (%s); run linli verify", inner.msg);
      break;
    }
    rc = s_ctx_apply(&c, d.author, d.ops, d.nops, e);
    done += d.nops;
    delta_clear(&d);
    if (rc)
      break;
    if (progress)
      progress(ctx, done, stt.ops);
  }
  rocksdb_iter_destroy(it);
  st_ctx_free(&c);
  return rc;
}
