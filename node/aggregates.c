/*
 * aggregates.c - the aggregates a schema declares (docs/SCHEMA.md), kept in
 * the same WriteBatch as the records they sum, like the view digests.
 *
 * The apply context (views.c) calls st_agg_record twice for each record a
 * group touches: with sign -1 on its state as loaded, +1 on its state as
 * written; what the record adds (schema_contrib) moves from the one to the
 * other for every namespace level above it ("", "gusu/", "gusu/jinchang/",
 * "gusu/jinchang/shilu/").  st_agg_write adds the moves to the stored rows.
 * Since the rows depend only on the records, every tier holding the same
 * ops holds the same aggregates.
 *
 * Rows live in the meta column family: "agg:" PREFIX \0 COLLECTION \0 MONTH
 * \0 ITEM -> int64 (8 bytes, big-endian two's complement), and "aggv" is the
 * version of the schema they were computed under.  When that is not the
 * version held (no aggregates yet, a new schema arrived, a rebuild dropped
 * them), nothing is maintained, and lrecords_aggregates recomputes them all
 * from the views first: a scan, once.
 */
#include "node/records.h"
#include "node/store_int.h"

#include "crdt/hmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aggctx {
  bool on;
  lschema *sch;
  hmap moves; /* row key (after "agg:") -> int64_t* */
};

static void
s_be(uint8_t p[8], int64_t v)
{
  st_be64(p, (uint64_t)v);
}

/* The schema whose aggregates the store keeps up to date, or NULL. */
static int
s_load(lstore *s, lschema **out, bool *current, lerr *e)
{
  *current = false;
  int rc = lrecords_schema(s, out, e);
  if (rc != 0 || *out == NULL)
    return rc;
  char *v;
  size_t vl;
  rc = st_get(s, LCF_META, "aggv", 4, &v, &vl, e);
  if (rc == LINLI_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  *current = vl == 8 && (int64_t)st_rd64((const uint8_t *)v) == (*out)->version;
  rocksdb_free(v);
  return 0;
}

typedef struct s_move {
  hmap *moves;
  const char *key;
  size_t ns_len;
  const char *coll;
  int sign;
  lerr *e;
} s_move;

static int
s_add(hmap *moves, const char *rk, size_t n, int64_t v, lerr *e)
{
  int64_t *d = hmap_get(moves, rk, n);
  if (d == NULL) {
    d = calloc(1, sizeof *d);
    if (d == NULL || hmap_put(moves, rk, n, d) != 0) {
      free(d);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *d = (int64_t)((uint64_t)*d + (uint64_t)v);
  return 0;
}

static int
s_move_cb(void *ctx, const char *month, const char *item, size_t ilen, int64_t v)
{
  s_move *m = ctx;
  char rk[LINLI_KEY_MAX + 2 * LINLI_FIELD_MAX + 300];
  int rc = 0;
  /* every namespace level: "" and each prefix ending in '/' */
  for (size_t p = 0; p <= m->ns_len && rc == 0; p++) {
    if (p > 0 && m->key[p - 1] != '/')
      continue;
    int n = snprintf(rk, sizeof rk, "%.*s%c%s%c%s%c%.*s", (int)p, m->key, 0, m->coll, 0, month,
                     0, (int)ilen, item);
    if (n < 0 || (size_t)n >= sizeof rk)
      continue;
    rc = s_add(m->moves, rk, (size_t)n, m->sign * v, m->e);
  }
  return rc;
}

static int
s_contrib(const lschema *sch, hmap *moves, const char *key, size_t klen, const rec *r, int sign,
          lerr *e)
{
  size_t ns = 0;
  const lschema_type *t = schema_type_of_key(sch, key, klen, &ns);
  if (t == NULL || r == NULL)
    return 0;
  s_move m = {.moves = moves, .key = key, .ns_len = ns, .coll = t->collection, .sign = sign,
              .e = e};
  return schema_contrib(t, r, s_move_cb, &m);
}

int
st_agg_record(applyctx *c, const char *key, size_t klen, const rec *r, int sign, lerr *e)
{
  if (c->agg == NULL) {
    c->agg = calloc(1, sizeof *c->agg);
    if (c->agg == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    hmap_init(&c->agg->moves);
    bool current;
    int rc = s_load(c->s, &c->agg->sch, &current, e);
    if (rc != 0)
      return rc;
    c->agg->on = c->agg->sch != NULL && current;
  }
  if (!c->agg->on)
    return 0;
  return s_contrib(c->agg->sch, &c->agg->moves, key, klen, r, sign, e);
}

/* Adds the moves in `moves` to the stored rows, into wb. */
static int
s_write(lstore *s, hmap *moves, rocksdb_writebatch_t *wb, lerr *e)
{
  char rk[4 + LINLI_KEY_MAX + 2 * LINLI_FIELD_MAX + 300];
  for (size_t i = 0; i < moves->cap; i++) {
    hmap_slot *sl = &moves->slots[i];
    if (sl->key == NULL || *(int64_t *)sl->val == 0)
      continue;
    memcpy(rk, "agg:", 4);
    memcpy(rk + 4, sl->key, sl->klen);
    int64_t v = 0;
    char *old;
    size_t ol;
    int rc = st_get(s, LCF_META, rk, 4 + sl->klen, &old, &ol, e);
    if (rc == 0) {
      if (ol == 8)
        v = (int64_t)st_rd64((const uint8_t *)old);
      rocksdb_free(old);
    } else if (rc != LINLI_ENOTFOUND) {
      return rc;
    }
    v = (int64_t)((uint64_t)v + (uint64_t) * (int64_t *)sl->val);
    if (v == 0) {
      rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], rk, 4 + sl->klen);
    } else {
      uint8_t b[8];
      s_be(b, v);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], rk, 4 + sl->klen, (const char *)b, 8);
    }
  }
  return 0;
}

static void
s_moves_free(hmap *moves)
{
  for (size_t i = 0; i < moves->cap; i++)
    if (moves->slots[i].key)
      free(moves->slots[i].val);
  hmap_free(moves);
}

int
st_agg_write(applyctx *c, rocksdb_writebatch_t *wb, lerr *e)
{
  if (c->agg == NULL || !c->agg->on)
    return 0;
  int rc = s_write(c->s, &c->agg->moves, wb, e);
  s_moves_free(&c->agg->moves);
  hmap_init(&c->agg->moves);
  return rc;
}

void
st_agg_free(applyctx *c)
{
  if (c->agg == NULL)
    return;
  s_moves_free(&c->agg->moves);
  schema_destroy(&c->agg->sch);
  free(c->agg);
  c->agg = NULL;
}

void
st_agg_drop(lstore *s, rocksdb_writebatch_t *wb)
{
  rocksdb_writebatch_delete_range_cf(wb, s->cf[LCF_META], "agg:", 4, "agg;", 4);
  rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], "aggv", 4);
}

/* ---- reading, and recomputing when stale ---- */

typedef struct s_scan {
  const lschema *sch;
  hmap moves;
  lerr *e;
} s_scan;

static int
s_scan_cb(void *ctx, const char *key, size_t klen, const rec *r)
{
  s_scan *x = ctx;
  return s_contrib(x->sch, &x->moves, key, klen, r, 1, x->e);
}

/* Recomputes every row from the records when they are not current. */
static int
s_refresh(lstore *s, const lschema *sch, lerr *e)
{
  s_scan x = {.sch = sch, .e = e};
  hmap_init(&x.moves);
  int rc = lstore_scan(s, "", 0, s_scan_cb, &x, e);
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  st_agg_drop(s, wb);
  if (rc == 0) {
    /* no rows are left to add to: write the sums as they are */
    char rk[4 + LINLI_KEY_MAX + 2 * LINLI_FIELD_MAX + 300];
    for (size_t i = 0; i < x.moves.cap; i++) {
      hmap_slot *sl = &x.moves.slots[i];
      if (sl->key == NULL || *(int64_t *)sl->val == 0)
        continue;
      memcpy(rk, "agg:", 4);
      memcpy(rk + 4, sl->key, sl->klen);
      uint8_t b[8];
      s_be(b, *(int64_t *)sl->val);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], rk, 4 + sl->klen, (const char *)b, 8);
    }
    uint8_t v[8];
    s_be(v, sch->version);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "aggv", 4, (const char *)v, 8);
    rc = st_write(s, wb, e);
  }
  rocksdb_writebatch_destroy(wb);
  s_moves_free(&x.moves);
  return rc;
}

int
lrecords_aggregates(lstore *s, const char *prefix, lrecords_agg_cb cb, void *ctx, lerr *e)
{
  lschema *sch = NULL;
  bool current;
  int rc = s_load(s, &sch, &current, e);
  if (rc == 0 && sch == NULL)
    rc = lerr_set(e, LINLI_ENOTFOUND, "this station holds no schema, so there are no aggregates");
  if (rc == 0 && !current)
    rc = s_refresh(s, sch, e);
  if (rc != 0) {
    schema_destroy(&sch);
    return rc;
  }
  size_t pl = strlen(prefix);
  char *seek = malloc(4 + pl + 1);
  if (seek == NULL) {
    schema_destroy(&sch);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  memcpy(seek, "agg:", 4);
  memcpy(seek + 4, prefix, pl);
  seek[4 + pl] = '\0';
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, seek, 4 + pl + 1); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < 4 + pl + 1 || memcmp(k, seek, 4 + pl + 1) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    /* COLLECTION \0 MONTH \0 ITEM */
    const char *coll = k + 4 + pl + 1, *end = k + kl;
    const char *z1 = memchr(coll, '\0', (size_t)(end - coll));
    const char *z2 = z1 != NULL ? memchr(z1 + 1, '\0', (size_t)(end - z1 - 1)) : NULL;
    if (z2 == NULL || vl != 8)
      continue;
    const lschema_type *t = NULL;
    for (uint32_t i = 0; i < sch->ntypes && t == NULL; i++)
      if (strlen(sch->types[i].collection) == (size_t)(z1 - coll) &&
          memcmp(sch->types[i].collection, coll, (size_t)(z1 - coll)) == 0)
        t = &sch->types[i];
    if (t == NULL)
      continue;
    char month[8] = "";
    if (z2 - z1 - 1 == 7)
      memcpy(month, z1 + 1, 7);
    rc = cb(ctx, t, month, z2 + 1, (size_t)(end - z2 - 1), (int64_t)st_rd64((const uint8_t *)v));
  }
  rocksdb_iter_destroy(it);
  free(seek);
  schema_destroy(&sch);
  return rc;
}
