/*
 * holdback.c - signed deltas dated too far ahead of this node's clock,
 * held back until the clock reaches them; see store.h ("clocks") and
 * docs/FORMAT.md ("Clocks").
 *
 * A delta with an op whose HLC time is more than the bound ahead of the
 * wall clock ingest was given is neither applied nor passed on: it is kept
 * verbatim in the meta column family under "x:held:" + author (hex) + ":"
 * + first seq (16 hex digits), so rows sort by author, then seq.  A log is
 * a chain: once a delta of an author is held, every later delta of that
 * author is held too.  lstore_release_held() runs the rows through ingest
 * again with the current clock; what is no longer ahead is applied (or
 * refused by the usual rules) and its row removed.
 */
#include "node/store_int.h"
#include "crdt/hlc.h"

#include <stdio.h>
#include <stdlib.h>

#define HELD "x:held:"
#define HELD_LEN 7
#define HELD_KEY_MAX (HELD_LEN + 2 * LINLI_PK_BYTES + 1 + 16 + 1)

static size_t
s_key(char out[HELD_KEY_MAX], const uint8_t author[LINLI_PK_BYTES], uint64_t first, bool whole)
{
  memcpy(out, HELD, HELD_LEN);
  hex_encode(out + HELD_LEN, author, LINLI_PK_BYTES);
  size_t n = HELD_LEN + 2 * LINLI_PK_BYTES;
  if (!whole)
    return n;
  return n + (size_t)snprintf(out + n, HELD_KEY_MAX - n, ":%016llx", (unsigned long long)first);
}

bool
st_held_has(lstore *s, const uint8_t author[LINLI_PK_BYTES])
{
  if (s->nheld == 0)
    return false;
  char k[HELD_KEY_MAX];
  size_t kl = s_key(k, author, 0, false);
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  rocksdb_iter_seek(it, k, kl);
  bool has = false;
  if (rocksdb_iter_valid(it)) {
    size_t n;
    const char *f = rocksdb_iter_key(it, &n);
    has = n >= kl && memcmp(f, k, kl) == 0;
  }
  rocksdb_iter_destroy(it);
  return has;
}

int
st_held_put(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t first, const uint8_t *p,
            size_t n, lerr *e)
{
  char k[HELD_KEY_MAX];
  size_t kl = s_key(k, author, first, true);
  char *v;
  size_t vl;
  /* Offered again (a peer's next session): held already, nothing to
   * write, unless this copy reaches further. */
  bool is_new = true;
  if (st_get(s, LCF_META, k, kl, &v, &vl, NULL) == 0) {
    uint8_t who[LINLI_PK_BYTES];
    uint64_t f, held_last = 0, last = 0;
    delta_peek((const uint8_t *)v, vl, who, &f, &held_last);
    rocksdb_free(v);
    delta_peek(p, n, who, &f, &last);
    if (last <= held_last)
      return 0;
    is_new = false;
  }
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], k, kl, (const char *)p, n);
  int rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0 && is_new)
    s->nheld++;
  return rc;
}

/* One held row, as read back. */
typedef struct hrow {
  char *key;
  size_t kl;
  uint8_t *p;
  size_t n;
} hrow;

static void
s_rows_free(hrow *r, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++) {
    free(r[i].key);
    free(r[i].p);
  }
  free(r);
}

static int
s_rows(lstore *s, hrow **out, uint32_t *nout, lerr *e)
{
  hrow *r = NULL;
  uint32_t n = 0, cap = 0;
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, HELD, HELD_LEN); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < HELD_LEN || memcmp(k, HELD, HELD_LEN) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      hrow *nr = realloc(r, cap * sizeof *r);
      if (nr == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      r = nr;
    }
    hrow *h = &r[n];
    h->key = malloc(kl);
    h->p = malloc(vl ? vl : 1);
    if (h->key == NULL || h->p == NULL) {
      free(h->key);
      free(h->p);
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      break;
    }
    memcpy(h->key, k, kl);
    h->kl = kl;
    memcpy(h->p, v, vl);
    h->n = vl;
    n++;
  }
  rocksdb_iter_destroy(it);
  if (rc) {
    s_rows_free(r, n);
    return rc;
  }
  *out = r;
  *nout = n;
  return 0;
}

int
lstore_held(lstore *s, lheld **out, uint32_t *nout, lerr *e)
{
  hrow *r;
  uint32_t n;
  *out = NULL;
  *nout = 0;
  int rc = s_rows(s, &r, &n, e);
  if (rc)
    return rc;
  lheld *v = calloc(n ? n : 1, sizeof *v);
  if (v == NULL) {
    s_rows_free(r, n);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    delta d;
    memset(&d, 0, sizeof d);
    if (delta_decode(&d, r[i].p, r[i].n, NULL) != 0 || d.nops == 0)
      continue; /* only verified deltas are held; a bad row is skipped */
    memcpy(v[k].author, d.author, LINLI_PK_BYTES);
    v[k].first = d.first_seq;
    v[k].last = delta_last_seq(&d);
    v[k].max_hlc = d.ops[d.nops - 1].hlc;
    k++;
    delta_clear(&d);
  }
  s_rows_free(r, n);
  *out = v;
  *nout = k;
  return 0;
}

int
lstore_release_held(lstore *s, uint64_t wall_ms, uint64_t ahead_ms, lingest_stats *st, lerr *e)
{
  if (st)
    memset(st, 0, sizeof *st);
  if (s->nheld == 0)
    return 0;
  hrow *r;
  uint32_t n;
  int rc = s_rows(s, &r, &n, e);
  if (rc)
    return rc;
  lingest *g;
  if (lstore_ingest_new(s, true, &g) != 0) {
    s_rows_free(r, n);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  lingest_set_clock(g, wall_ms, ahead_ms);
  st_ingest_releasing(g);
  bool *gone = calloc(n ? n : 1, sizeof *gone);
  if (gone == NULL)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  for (uint32_t i = 0; rc == 0 && i < n; i++) {
    lerr le = {0};
    int a = lingest_add(g, r[i].p, r[i].n, &le);
    if (a == LINLI_ENOMEM || a == LINLI_ESTORE || a == LINLI_ENOSPC)
      rc = lerr_set(e, a, "%s", le.msg);
    else
      gone[i] = a != LINLI_EFUTURE; /* applied, or refused for good */
  }
  if (rc == 0)
    rc = lingest_commit(g, wall_ms, st, e);
  if (rc == 0) {
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
      if (gone[i]) {
        rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], r[i].key, r[i].kl);
        k++;
      }
    if (k > 0 && (rc = st_write(s, wb, e)) == 0)
      s->nheld = s->nheld > k ? s->nheld - k : 0;
    rocksdb_writebatch_destroy(wb);
  }
  lingest_destroy(&g);
  free(gone);
  s_rows_free(r, n);
  return rc;
}
