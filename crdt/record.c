/*
 * record.c - CRDT record state; semantics in record.h, bytes in
 * docs/FORMAT.md ("Record state").
 *
 * Every array here is kept sorted, and nothing depends on the order in which
 * ops arrive: that is the whole correctness argument, and
 * tests/test_record.c checks it by applying the same ops in many orders.
 * Inserts are O(n) memmoves; records hold tens to thousands of entries, not
 * millions, so plain sorted arrays beat anything cleverer.
 *
 * Memory comes from the heap, or from an arena for records that live only
 * while one group is applied (rec_new_in): every allocation goes through
 * s_alloc / s_resize / s_free, which pick one or the other.
 */
#include "crdt/record.h"

#include <stdlib.h>
#include <string.h>

int
stamp_cmp(const lstamp *a, const lstamp *b)
{
  if (a->hlc != b->hlc)
    return a->hlc < b->hlc ? -1 : 1;
  int c = memcmp(a->author, b->author, LINLI_PK_BYTES);
  if (c)
    return c < 0 ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void *
s_alloc(rec *r, size_t n)
{
  return r->arena ? larena_alloc(r->arena, n) : malloc(n ? n : 1);
}

static void *
s_resize(rec *r, void *p, size_t old, size_t n)
{
  return r->arena ? larena_grow(r->arena, p, old, n) : realloc(p, n ? n : 1);
}

static void
s_free(rec *r, void *p)
{
  if (r->arena == NULL)
    free(p);
}

/* Grows *arr (of elements of `size` bytes) to hold one more. */
static int
s_grow(rec *r, void **arr, uint32_t *cap, uint32_t n, size_t size)
{
  if (n < *cap)
    return 0;
  uint32_t ncap = *cap ? *cap * 2 : 4;
  void *p = s_resize(r, *arr, (size_t)*cap * size, (size_t)ncap * size);
  if (p == NULL)
    return LINLI_ENOMEM;
  *arr = p;
  *cap = ncap;
  return 0;
}

rec *
rec_new_in(larena *a)
{
  rec *r = a ? larena_alloc(a, sizeof *r) : malloc(sizeof *r);
  if (r) {
    memset(r, 0, sizeof *r);
    r->arena = a;
  }
  return r;
}

rec *
rec_new(void)
{
  return rec_new_in(NULL);
}

static void
s_field_free(rec *r, rfield *f)
{
  for (uint32_t i = 0; i < f->nents; i++)
    s_free(r, f->ents[i].s);
  s_free(r, f->ents);
  s_free(r, f->tomb);
  s_free(r, f->name);
}

void
rec_destroy(rec **rp)
{
  rec *r = *rp;
  if (r == NULL)
    return;
  *rp = NULL;
  if (r->arena)
    return; /* the arena's owner releases it all at once */
  for (uint32_t i = 0; i < r->nfields; i++)
    s_field_free(r, &r->fields[i]);
  free(r->fields);
  free(r->hist);
  free(r);
}

static int
s_bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
  size_t n = an < bn ? an : bn;
  /* Field names mostly differ in their first byte: no memcmp call then. */
  if (n && a[0] != b[0])
    return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
  int c = n ? memcmp(a, b, n) : 0; /* an empty value may be (NULL, 0) */
  if (c)
    return c;
  return an < bn ? -1 : an > bn;
}

static int
s_field_cmp(const rfield *f, const char *name, size_t n, int fk)
{
  int c = s_bytes_cmp(f->name, f->name_len, name, n);
  if (c)
    return c;
  return f->fk < fk ? -1 : f->fk > fk;
}

/* Binary search: index of the first field >= (name, fk); *found says equal. */
static uint32_t
s_field_find(const rec *r, const char *name, size_t n, int fk, bool *found)
{
  uint32_t lo = 0, hi = r->nfields;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (s_field_cmp(&r->fields[mid], name, n, fk) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < r->nfields && s_field_cmp(&r->fields[lo], name, n, fk) == 0;
  return lo;
}

const rfield *
rec_field(const rec *r, const char *name, size_t name_len, int fk)
{
  bool found;
  uint32_t i = s_field_find(r, name, name_len, fk, &found);
  return found ? &r->fields[i] : NULL;
}

int
rec_other_kind(const rec *r, const char *name, size_t name_len, int fk)
{
  for (int k = FK_REGISTER; k <= FK_LOG; k++) {
    if (k == fk)
      continue;
    const rfield *f = rec_field(r, name, name_len, k);
    if (f != NULL && rfield_visible(f))
      return k;
  }
  return -1;
}

static rfield *
s_field_get(rec *r, const char *name, size_t n, int fk)
{
  bool found;
  uint32_t i = s_field_find(r, name, n, fk, &found);
  if (found)
    return &r->fields[i];
  if (s_grow(r, (void **)&r->fields, &r->fields_cap, r->nfields, sizeof *r->fields))
    return NULL;
  char *copy = s_alloc(r, n);
  if (copy == NULL)
    return NULL;
  memcpy(copy, name, n);
  memmove(&r->fields[i + 1], &r->fields[i], (r->nfields - i) * sizeof *r->fields);
  r->nfields++;
  rfield *f = &r->fields[i];
  memset(f, 0, sizeof *f);
  f->name = copy;
  f->name_len = (uint32_t)n;
  f->fk = (uint8_t)fk;
  /* fields stay sorted by (name, kind), without repeats */
  LINLI_ASSERT(i == 0 || s_field_cmp(&r->fields[i - 1], name, n, fk) < 0);
  LINLI_ASSERT(i + 1 == r->nfields || s_field_cmp(&r->fields[i + 1], name, n, fk) > 0);
  return f;
}

static void
s_field_drop_if_empty(rec *r, rfield *f)
{
  if (f->nents || f->ntomb)
    return;
  uint32_t i = (uint32_t)(f - r->fields);
  s_field_free(r, f);
  memmove(&r->fields[i], &r->fields[i + 1], (r->nfields - i - 1) * sizeof *r->fields);
  r->nfields--;
}

/* Inserts a contribution in stamp order; `s` is copied. */
static int
s_entry_insert(rec *r, rfield *f, const lstamp *st, int64_t n, const char *s, uint32_t s_len)
{
  uint32_t lo = 0, hi = f->nents;
  if (hi > 0 && stamp_cmp(&f->ents[hi - 1].st, st) < 0)
    lo = hi; /* in stamp order, as usual: no search */
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (stamp_cmp(&f->ents[mid].st, st) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < f->nents && stamp_cmp(&f->ents[lo].st, st) == 0)
    return 0;
  if (s_grow(r, (void **)&f->ents, &f->ents_cap, f->nents, sizeof *f->ents))
    return LINLI_ENOMEM;
  char *copy = NULL;
  if (s != NULL) {
    copy = s_alloc(r, s_len);
    if (copy == NULL)
      return LINLI_ENOMEM;
    memcpy(copy, s, s_len);
  }
  memmove(&f->ents[lo + 1], &f->ents[lo], (f->nents - lo) * sizeof *f->ents);
  f->nents++;
  f->ents[lo] = (rentry){.st = *st, .n = n, .s = copy, .s_len = s_len};
  /* entries stay sorted by stamp, without repeats */
  LINLI_ASSERT(lo == 0 || stamp_cmp(&f->ents[lo - 1].st, st) < 0);
  LINLI_ASSERT(lo + 1 == f->nents || stamp_cmp(st, &f->ents[lo + 1].st) < 0);
  return 0;
}

static void
s_entry_remove(rec *r, rfield *f, uint32_t i)
{
  s_free(r, f->ents[i].s);
  memmove(&f->ents[i], &f->ents[i + 1], (f->nents - i - 1) * sizeof *f->ents);
  f->nents--;
}

static bool
s_tomb_has(const rfield *f, const op_tag *t)
{
  uint32_t lo = 0, hi = f->ntomb;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    int c = tag_cmp(&f->tomb[mid], t);
    if (c == 0)
      return true;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

static int
s_tomb_add(rec *r, rfield *f, const op_tag *t)
{
  uint32_t lo = 0, hi = f->ntomb;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (tag_cmp(&f->tomb[mid], t) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < f->ntomb && tag_cmp(&f->tomb[lo], t) == 0)
    return 0;
  if (s_grow(r, (void **)&f->tomb, &f->tomb_cap, f->ntomb, sizeof *f->tomb))
    return LINLI_ENOMEM;
  memmove(&f->tomb[lo + 1], &f->tomb[lo], (f->ntomb - lo) * sizeof *f->tomb);
  f->tomb[lo] = *t;
  f->ntomb++;
  /* tombstones stay sorted by (author, seq), without repeats */
  LINLI_ASSERT(lo == 0 || tag_cmp(&f->tomb[lo - 1], t) < 0);
  LINLI_ASSERT(lo + 1 == f->ntomb || tag_cmp(t, &f->tomb[lo + 1]) < 0);
  return 0;
}

/* Records the op in the history; returns 1 if new, 0 if already there. */
static int
s_hist_add(rec *r, const lstamp *st)
{
  uint32_t lo = 0, hi = r->nhist;
  /* Ops mostly arrive in stamp order: try the end first. */
  if (hi > 0 && stamp_cmp(&r->hist[hi - 1], st) < 0)
    lo = hi;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (stamp_cmp(&r->hist[mid], st) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < r->nhist && stamp_cmp(&r->hist[lo], st) == 0)
    return 0;
  if (s_grow(r, (void **)&r->hist, &r->hist_cap, r->nhist, sizeof *r->hist))
    return LINLI_ENOMEM;
  memmove(&r->hist[lo + 1], &r->hist[lo], (r->nhist - lo) * sizeof *r->hist);
  r->hist[lo] = *st;
  r->nhist++;
  /* the history stays sorted by stamp, without repeats */
  LINLI_ASSERT(lo == 0 || stamp_cmp(&r->hist[lo - 1], st) < 0);
  LINLI_ASSERT(lo + 1 == r->nhist || stamp_cmp(st, &r->hist[lo + 1]) < 0);
  return 1;
}

/* A delete with stamp `d` hides every contribution stamped before it. */
static void
s_apply_delete(rec *r, const lstamp *d)
{
  if (r->has_del && stamp_cmp(d, &r->del) <= 0)
    return;
  r->has_del = true;
  r->del = *d;
  for (uint32_t i = 0; i < r->nfields;) {
    rfield *f = &r->fields[i];
    uint32_t keep = 0;
    while (keep < f->nents && stamp_cmp(&f->ents[keep].st, d) < 0)
      keep++;
    for (uint32_t k = 0; k < keep; k++)
      s_free(r, f->ents[k].s);
    if (keep > 0) /* a set field may hold only tombstones: ents is NULL */
      memmove(f->ents, f->ents + keep, (f->nents - keep) * sizeof *f->ents);
    f->nents -= keep;
    /* what is left is stamped at or after the delete */
    LINLI_ASSERT(f->nents == 0 || stamp_cmp(&f->ents[0].st, d) >= 0);
    uint32_t before = r->nfields;
    s_field_drop_if_empty(r, f);
    if (r->nfields == before)
      i++;
  }
}

int
rec_apply(rec *r, const uint8_t author[LINLI_PK_BYTES], const op *o)
{
  lstamp st = {.hlc = o->hlc, .seq = o->seq};
  memcpy(st.author, author, LINLI_PK_BYTES);
  int rc = s_hist_add(r, &st);
  if (rc <= 0)
    return rc;
  if (o->kind == OP_DEL) {
    s_apply_delete(r, &st);
    return 1;
  }
  bool hidden = r->has_del && stamp_cmp(&st, &r->del) < 0;
  if (hidden && o->kind != OP_RM)
    return 1; /* kept in the history only */
  rfield *f = s_field_get(r, o->field, o->field_len, op_field_kind(o->kind));
  if (f == NULL)
    return LINLI_ENOMEM;
  rc = 0; /* still 1 from s_hist_add: the RM loop below runs only while rc == 0 */
  switch (o->kind) {
  case OP_SET:
    if (f->nents == 1) {
      if (stamp_cmp(&f->ents[0].st, &st) > 0)
        break;
      /* The older write loses: the new one takes its place. */
      char *copy = s_alloc(r, o->str_len);
      if (copy == NULL) {
        rc = LINLI_ENOMEM;
        break;
      }
      if (o->str_len)
        memcpy(copy, o->str, o->str_len);
      s_free(r, f->ents[0].s);
      f->ents[0] = (rentry){.st = st, .s = copy, .s_len = o->str_len};
      break;
    }
    rc = s_entry_insert(r, f, &st, 0, o->str, o->str_len);
    break;
  case OP_INCR:
    rc = s_entry_insert(r, f, &st, o->n, NULL, 0);
    break;
  case OP_ADD: {
    op_tag t = {.seq = o->seq};
    memcpy(t.author, author, LINLI_PK_BYTES);
    if (!s_tomb_has(f, &t))
      rc = s_entry_insert(r, f, &st, 0, o->str, o->str_len);
    break;
  }
  case OP_RM:
    /* Tombstones are kept even when the remove is hidden by a delete: the
     * adds they name may carry larger stamps. */
    for (uint32_t i = 0; i < o->ntags && rc == 0; i++) {
      rc = s_tomb_add(r, f, &o->tags[i]);
      for (uint32_t k = 0; k < f->nents; k++)
        if (f->ents[k].st.seq == o->tags[i].seq &&
            memcmp(f->ents[k].st.author, o->tags[i].author, LINLI_PK_BYTES) == 0) {
          s_entry_remove(r, f, k);
          break;
        }
    }
    break;
  case OP_APPEND:
    rc = s_entry_insert(r, f, &st, 0, o->str, o->str_len);
    break;
  }
  s_field_drop_if_empty(r, f);
  return rc < 0 ? rc : 1;
}

bool
rfield_visible(const rfield *f)
{
  return f->nents > 0;
}

int64_t
rfield_counter(const rfield *f)
{
  uint64_t sum = 0; /* wrapping: the sum is the same in any order */
  for (uint32_t i = 0; i < f->nents; i++)
    sum += (uint64_t)f->ents[i].n;
  return (int64_t)sum;
}

bool
rec_present(const rec *r)
{
  for (uint32_t i = 0; i < r->nfields; i++)
    if (rfield_visible(&r->fields[i]))
      return true;
  return false;
}

static int
s_str_ptr_cmp(const void *a, const void *b)
{
  const rentry *x = *(const rentry *const *)a, *y = *(const rentry *const *)b;
  return s_bytes_cmp(x->s, x->s_len, y->s, y->s_len);
}

static void
s_write_set(mpw *w, const rfield *f)
{
  const rentry **v = malloc((f->nents ? f->nents : 1) * sizeof *v);
  if (v == NULL) {
    w->b->oom = true;
    return;
  }
  for (uint32_t i = 0; i < f->nents; i++)
    v[i] = &f->ents[i];
  qsort(v, f->nents, sizeof *v, s_str_ptr_cmp);
  uint32_t n = 0;
  for (uint32_t i = 0; i < f->nents; i++)
    if (i == 0 || s_str_ptr_cmp(&v[i - 1], &v[i]) != 0)
      v[n++] = v[i];
  mpw_array(w, n);
  for (uint32_t i = 0; i < n; i++)
    mpw_str(w, v[i]->s, v[i]->s_len);
  free(v);
}

void
rec_canonical(const rec *r, const char *key, size_t klen, lbuf *out)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 2);
  mpw_str(&w, key, klen);
  uint32_t nvis = 0;
  for (uint32_t i = 0; i < r->nfields; i++)
    nvis += rfield_visible(&r->fields[i]);
  mpw_array(&w, nvis);
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    if (!rfield_visible(f))
      continue;
    mpw_array(&w, 3);
    mpw_str(&w, f->name, f->name_len);
    mpw_uint(&w, f->fk);
    switch (f->fk) {
    case FK_REGISTER:
      mpw_str(&w, f->ents[0].s, f->ents[0].s_len);
      break;
    case FK_COUNTER:
      mpw_int(&w, rfield_counter(f));
      break;
    case FK_SET:
      s_write_set(&w, f);
      break;
    case FK_LOG:
      mpw_array(&w, f->nents);
      for (uint32_t k = 0; k < f->nents; k++) {
        mpw_array(&w, 3);
        mpw_uint(&w, f->ents[k].st.hlc);
        mpw_bin(&w, f->ents[k].st.author, LINLI_PK_BYTES);
        mpw_str(&w, f->ents[k].s, f->ents[k].s_len);
      }
      break;
    }
  }
}

void
rec_hash(const rec *r, const char *key, size_t klen, uint8_t out[LINLI_HASH_BYTES],
         lbuf *scratch)
{
  if (r == NULL || !rec_present(r)) {
    memset(out, 0, LINLI_HASH_BYTES);
    return;
  }
  lbuf_reset(scratch);
  rec_canonical(r, key, klen, scratch);
  linli_hash(out, scratch->p, scratch->len);
}

/* ---- internal encoding: authors are written once per record ---- */

/* The author table: the distinct keys a record refers to, in order of
 * first use (del, hist, then each field's entries and tombstones).  It
 * points at the keys inside the record.  Records rarely have more than a
 * few authors and consecutive stamps are mostly by the same one: a linear
 * search that tries the last hit first is the fastest index. */
#define ATAB_STACK 16

typedef struct atab {
  const uint8_t **keys;
  uint32_t n, cap, last;
  bool oom;
  const uint8_t *stack[ATAB_STACK];
} atab;

static uint32_t
s_atab_index(atab *t, const uint8_t *pk)
{
  if (t->n > 0 && memcmp(t->keys[t->last], pk, LINLI_PK_BYTES) == 0)
    return t->last;
  for (uint32_t i = 0; i < t->n; i++)
    if (memcmp(t->keys[i], pk, LINLI_PK_BYTES) == 0)
      return t->last = i;
  if (t->n == t->cap) {
    uint32_t cap = t->cap * 2;
    const uint8_t **p = malloc(cap * sizeof *p);
    if (p == NULL) {
      t->oom = true;
      return 0;
    }
    memcpy(p, t->keys, t->n * sizeof *p);
    if (t->keys != t->stack)
      free(t->keys);
    t->keys = p;
    t->cap = cap;
  }
  t->keys[t->n] = pk;
  return t->last = t->n++;
}

static void
s_write_stamp(mpw *w, atab *t, const lstamp *st)
{
  mpw_uint(w, st->hlc);
  mpw_uint(w, s_atab_index(t, st->author));
  mpw_uint(w, st->seq);
}

#define REC_VERSION 1

void
rec_encode(const rec *r, lbuf *out)
{
  /* The author table precedes its uses: a first pass collects it in the
   * order the body will name the authors, then everything is written
   * straight into `out`. */
  atab t = {.cap = ATAB_STACK};
  t.keys = t.stack;
  if (r->has_del)
    s_atab_index(&t, r->del.author);
  for (uint32_t i = 0; i < r->nhist; i++)
    s_atab_index(&t, r->hist[i].author);
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    for (uint32_t k = 0; k < f->nents; k++)
      s_atab_index(&t, f->ents[k].st.author);
    for (uint32_t k = 0; k < f->ntomb; k++)
      s_atab_index(&t, f->tomb[k].author);
  }
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 5);
  mpw_uint(&w, REC_VERSION);
  mpw_array(&w, t.n);
  for (uint32_t i = 0; i < t.n; i++)
    mpw_bin(&w, t.keys[i], LINLI_PK_BYTES);
  if (r->has_del) {
    mpw_array(&w, 3);
    s_write_stamp(&w, &t, &r->del);
  } else {
    mpw_nil(&w);
  }
  mpw_array(&w, r->nhist);
  for (uint32_t i = 0; i < r->nhist; i++) {
    mpw_array(&w, 3);
    s_write_stamp(&w, &t, &r->hist[i]);
  }
  mpw_array(&w, r->nfields);
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    mpw_array(&w, 4);
    mpw_str(&w, f->name, f->name_len);
    mpw_uint(&w, f->fk);
    mpw_array(&w, f->nents);
    for (uint32_t k = 0; k < f->nents; k++) {
      mpw_array(&w, 4);
      s_write_stamp(&w, &t, &f->ents[k].st);
      if (f->fk == FK_COUNTER)
        mpw_int(&w, f->ents[k].n);
      else
        mpw_str(&w, f->ents[k].s, f->ents[k].s_len);
    }
    mpw_array(&w, f->ntomb);
    for (uint32_t k = 0; k < f->ntomb; k++) {
      mpw_array(&w, 2);
      mpw_uint(&w, s_atab_index(&t, f->tomb[k].author));
      mpw_uint(&w, f->tomb[k].seq);
    }
  }
  if (t.oom)
    out->oom = true;
  if (t.keys != t.stack)
    free(t.keys);
}

static int
s_read_stamp(mpr *r, const uint8_t (*authors)[LINLI_PK_BYTES], uint32_t na, lstamp *st)
{
  uint64_t a;
  if (mpr_uint(r, &st->hlc) || mpr_uint(r, &a) || a >= na || mpr_uint(r, &st->seq))
    return LINLI_EMALFORMED;
  memcpy(st->author, authors[a], LINLI_PK_BYTES);
  return 0;
}

int
rec_decode(rec **out, const uint8_t *p, size_t n, lerr *e)
{
  return rec_decode_in(out, NULL, p, n, e);
}

int
rec_decode_in(rec **out, larena *arena, const uint8_t *p, size_t n, lerr *e)
{
  *out = NULL;
  mpr r;
  mpr_init(&r, p, n);
  uint64_t ver;
  uint32_t na, cnt;
  const uint8_t *ab;
  uint32_t abn;
  rec *x = rec_new_in(arena);
  if (x == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint8_t (*authors)[LINLI_PK_BYTES] = NULL;
  if (mpr_array_n(&r, 5) || mpr_uint(&r, &ver) || ver != REC_VERSION || mpr_array(&r, &na))
    goto bad;
  authors = malloc((na ? na : 1) * sizeof *authors);
  if (authors == NULL)
    goto bad;
  for (uint32_t i = 0; i < na; i++) {
    if (mpr_bin(&r, &ab, &abn) || abn != LINLI_PK_BYTES)
      goto bad;
    memcpy(authors[i], ab, LINLI_PK_BYTES);
  }
  if (mpr_peek(&r) == MP_NIL) {
    mpr_nil(&r);
  } else {
    if (mpr_array_n(&r, 3) || s_read_stamp(&r, authors, na, &x->del))
      goto bad;
    x->has_del = true;
  }
  if (mpr_array(&r, &cnt))
    goto bad;
  for (uint32_t i = 0; i < cnt; i++) {
    lstamp st;
    if (mpr_array_n(&r, 3) || s_read_stamp(&r, authors, na, &st) || s_hist_add(x, &st) <= 0)
      goto bad;
  }
  if (mpr_array(&r, &cnt))
    goto bad;
  for (uint32_t i = 0; i < cnt; i++) {
    const char *name;
    uint32_t nl, ne, nt;
    uint64_t fk;
    if (mpr_array_n(&r, 4) || mpr_str(&r, &name, &nl) || mpr_uint(&r, &fk) || fk > FK_LOG)
      goto bad;
    rfield *f = s_field_get(x, name, nl, (int)fk);
    if (f == NULL || f->nents || f->ntomb || mpr_array(&r, &ne))
      goto bad;
    for (uint32_t k = 0; k < ne; k++) {
      lstamp st;
      int64_t v = 0;
      const char *s = NULL;
      uint32_t sl = 0;
      if (mpr_array_n(&r, 4) || s_read_stamp(&r, authors, na, &st))
        goto bad;
      if (fk == FK_COUNTER ? mpr_int(&r, &v) : mpr_str(&r, &s, &sl))
        goto bad;
      if (s_entry_insert(x, f, &st, v, s ? s : (fk == FK_COUNTER ? NULL : ""), sl))
        goto bad;
    }
    if (mpr_array(&r, &nt))
      goto bad;
    for (uint32_t k = 0; k < nt; k++) {
      op_tag t;
      uint64_t a;
      if (mpr_array_n(&r, 2) || mpr_uint(&r, &a) || a >= na || mpr_uint(&r, &t.seq))
        goto bad;
      memcpy(t.author, authors[a], LINLI_PK_BYTES);
      if (s_tomb_add(x, f, &t))
        goto bad;
    }
  }
  if (mpr_left(&r) != 0)
    goto bad;
  free(authors);
  *out = x;
  return 0;
bad:
  free(authors);
  rec_destroy(&x);
  return lerr_set(e, LINLI_EMALFORMED, "stored record state is corrupt");
}

int
rec_set_tags(const rec *r, const char *name, size_t name_len, const char *elem,
             size_t elem_len, op_tag **tags, uint32_t *n)
{
  *tags = NULL;
  *n = 0;
  const rfield *f = rec_field(r, name, name_len, FK_SET);
  if (f == NULL)
    return 0;
  op_tag *t = malloc((f->nents ? f->nents : 1) * sizeof *t);
  if (t == NULL)
    return LINLI_ENOMEM;
  uint32_t k = 0;
  for (uint32_t i = 0; i < f->nents; i++)
    if (s_bytes_cmp(f->ents[i].s, f->ents[i].s_len, elem, elem_len) == 0) {
      memcpy(t[k].author, f->ents[i].st.author, LINLI_PK_BYTES);
      t[k].seq = f->ents[i].st.seq;
      k++;
    }
  /* tags must be sorted by (author, seq) for the op's canonical form */
  for (uint32_t i = 1; i < k; i++)
    for (uint32_t j = i; j > 0 && tag_cmp(&t[j - 1], &t[j]) > 0; j--) {
      op_tag tmp = t[j];
      t[j] = t[j - 1];
      t[j - 1] = tmp;
    }
  for (uint32_t i = 1; i < k; i++)
    LINLI_ASSERT(tag_cmp(&t[i - 1], &t[i]) < 0); /* distinct stamps, distinct tags */
  *tags = t;
  *n = k;
  return 0;
}
