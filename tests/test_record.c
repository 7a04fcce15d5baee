/*
 * test_record.c - crdt/record: the semantics of every field kind as
 * documented in record.h (register LWW with author tie-break, counter sum
 * with negatives and wrapping, add-wins OR-set incl. remove-before-add, log
 * order, delete hiding older contributions, field identity by (name, kind)),
 * rec_canonical bytes and rec_hash, rec_encode/rec_decode round trips and
 * robustness against corrupt input, and the convergence property: the same
 * op set applied in 200 random orders with duplicates (and through storage
 * round trips) gives byte-identical records, canonical states, hashes and
 * view digests.
 */
#include "crdt/digest.h"
#include "crdt/err.h"
#include "crdt/hlc.h"
#include "crdt/record.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NA 5
static lident s_auth[NA]; /* sorted by public key bytes: s_auth[0] is the smallest */

static int
s_ident_cmp(const void *a, const void *b)
{
  return memcmp(((const lident *)a)->pk, ((const lident *)b)->pk, LINLI_PK_BYTES);
}

static void
setup(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
  for (int i = 0; i < NA; i++) {
    uint8_t seed[LINLI_SEED_BYTES];
    for (int k = 0; k < LINLI_SEED_BYTES; k++)
      seed[k] = (uint8_t)(i * 41 + k);
    ident_from_seed(&s_auth[i], seed);
  }
  qsort(s_auth, NA, sizeof s_auth[0], s_ident_cmp);
}

TestSuite(record, .init = setup);

#define A 0
#define B 1
#define C 2
#define T(x) (hlc_make(UINT64_C(1795840212345) + (x), 0))

static op
mkop(uint8_t kind, uint64_t seq, uint64_t hlc, const char *key, const char *field,
     const char *str, int64_t n)
{
  op o = {.seq = seq, .hlc = hlc, .kind = kind, .n = n};
  o.key = key;
  o.key_len = (uint32_t)strlen(key);
  o.field = field;
  o.field_len = (uint32_t)strlen(field);
  o.str = str ? str : "";
  o.str_len = str ? (uint32_t)strlen(str) : 0;
  return o;
}

static int
apply(rec *r, int author, op o)
{
  lerr e;
  cr_assert_eq(op_check(&o, &e), 0, "test op invalid: %s", e.msg);
  return rec_apply(r, s_auth[author].pk, &o);
}

#define KEY "hh/v000/601"

static int
set_(rec *r, int a, uint64_t seq, uint64_t hlc, const char *field, const char *v)
{
  return apply(r, a, mkop(OP_SET, seq, hlc, KEY, field, v, 0));
}
static int
incr_(rec *r, int a, uint64_t seq, uint64_t hlc, const char *field, int64_t n)
{
  return apply(r, a, mkop(OP_INCR, seq, hlc, KEY, field, NULL, n));
}
static int
add_(rec *r, int a, uint64_t seq, uint64_t hlc, const char *field, const char *e)
{
  return apply(r, a, mkop(OP_ADD, seq, hlc, KEY, field, e, 0));
}
static int
append_(rec *r, int a, uint64_t seq, uint64_t hlc, const char *field, const char *t)
{
  return apply(r, a, mkop(OP_APPEND, seq, hlc, KEY, field, t, 0));
}
static int
del_(rec *r, int a, uint64_t seq, uint64_t hlc)
{
  return apply(r, a, mkop(OP_DEL, seq, hlc, KEY, "", NULL, 0));
}
/* A remove of `e` naming up to two tags (author index, seq); sorted here. */
static int
rm_(rec *r, int a, uint64_t seq, uint64_t hlc, const char *field, const char *e, int ta1,
    uint64_t ts1, int ta2, uint64_t ts2)
{
  op_tag t[2];
  memcpy(t[0].author, s_auth[ta1].pk, LINLI_PK_BYTES);
  t[0].seq = ts1;
  uint32_t n = 1;
  if (ta2 >= 0) {
    memcpy(t[1].author, s_auth[ta2].pk, LINLI_PK_BYTES);
    t[1].seq = ts2;
    n = 2;
    if (tag_cmp(&t[0], &t[1]) > 0) {
      op_tag x = t[0];
      t[0] = t[1];
      t[1] = x;
    }
  }
  op o = mkop(OP_RM, seq, hlc, KEY, field, e, 0);
  o.tags = t;
  o.ntags = n;
  return apply(r, a, o);
}

/* The visible register value, or NULL. */
static const rentry *
reg(const rec *r, const char *name)
{
  const rfield *f = rec_field(r, name, strlen(name), FK_REGISTER);
  if (f == NULL || !rfield_visible(f))
    return NULL;
  cr_assert_eq(f->nents, 1, "a register keeps one entry");
  return &f->ents[0];
}

static void
expect_reg(const rec *r, const char *name, const char *want)
{
  const rentry *e = reg(r, name);
  if (want == NULL) {
    cr_assert_null(e, "register %s should be absent", name);
    return;
  }
  cr_assert_not_null(e, "register %s absent, want '%s'", name, want);
  cr_assert_eq(e->s_len, strlen(want));
  cr_assert(e->s_len == 0 || memcmp(e->s, want, e->s_len) == 0, "register %s = '%.*s', want '%s'", name,
               (int)e->s_len, e->s, want);
}

/* True when `elem` is visible in set field `name`. */
static bool
set_has(const rec *r, const char *name, const char *elem)
{
  const rfield *f = rec_field(r, name, strlen(name), FK_SET);
  if (f == NULL)
    return false;
  for (uint32_t i = 0; i < f->nents; i++)
    if (f->ents[i].s_len == strlen(elem) &&
        (f->ents[i].s_len == 0 || memcmp(f->ents[i].s, elem, f->ents[i].s_len) == 0))
      return true;
  return false;
}

static int64_t
counter(const rec *r, const char *name)
{
  const rfield *f = rec_field(r, name, strlen(name), FK_COUNTER);
  cr_assert_not_null(f, "counter %s absent", name);
  return rfield_counter(f);
}

/* The bytes of rec_canonical. */
static void
canon(const rec *r, const char *key, lbuf *out)
{
  lbuf_init(out);
  rec_canonical(r, key, strlen(key), out);
  cr_assert(!out->oom);
}

static void
expect_same_bytes(const lbuf *a, const lbuf *b, const char *what)
{
  cr_assert_eq(a->len, b->len, "%s: %zu bytes vs %zu", what, a->len, b->len);
  cr_assert_eq(memcmp(a->p, b->p, a->len), 0, "%s differ", what);
}

/* Runs `fn` on a fresh record with the ops given by index in `order`. */
typedef int (*step_fn)(rec *r, int i);

static rec *
run_order(step_fn fn, const int *order, int n)
{
  rec *r = rec_new();
  cr_assert_not_null(r);
  for (int i = 0; i < n; i++)
    cr_assert_geq(fn(r, order[i]), 0);
  return r;
}

/* Applies the ops of `fn` (0..n-1) in every order (n <= 5) and checks all
 * give the same internal encoding; returns the record of the first order. */
static rec *
all_orders(step_fn fn, int n)
{
  int idx[5] = {0, 1, 2, 3, 4};
  rec *first = run_order(fn, idx, n);
  lbuf want;
  lbuf_init(&want);
  rec_encode(first, &want);
  /* Heap's algorithm, iteratively */
  int c[5] = {0};
  int i = 0;
  while (i < n) {
    if (c[i] < i) {
      int k = i % 2 == 0 ? 0 : c[i];
      int t = idx[k];
      idx[k] = idx[i];
      idx[i] = t;
      rec *r = run_order(fn, idx, n);
      lbuf got;
      lbuf_init(&got);
      rec_encode(r, &got);
      expect_same_bytes(&got, &want, "record state for another order");
      lbuf_free(&got);
      rec_destroy(&r);
      c[i]++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
  lbuf_free(&want);
  return first;
}

/* ---- stamps ---- */

Test(record, stamp_order)
{
  lstamp a = {.hlc = 5, .seq = 9}, b = {.hlc = 6, .seq = 1};
  memcpy(a.author, s_auth[B].pk, 32);
  memcpy(b.author, s_auth[A].pk, 32);
  cr_assert_lt(stamp_cmp(&a, &b), 0, "HLC first");
  b.hlc = 5;
  cr_assert_gt(stamp_cmp(&a, &b), 0, "then author bytes");
  memcpy(b.author, s_auth[B].pk, 32);
  cr_assert_gt(stamp_cmp(&a, &b), 0, "then seq");
  b.seq = 9;
  cr_assert_eq(stamp_cmp(&a, &b), 0);
}

/* ---- register ---- */

static int
s_reg_steps(rec *r, int i)
{
  switch (i) {
  case 0: return set_(r, A, 1, T(10), "name", "王秀英");
  case 1: return set_(r, B, 1, T(20), "name", "李");
  case 2: return set_(r, C, 1, T(15), "name", "张");
  }
  return -1;
}

Test(record, register_last_writer_wins)
{
  rec *r = all_orders(s_reg_steps, 3);
  expect_reg(r, "name", "李");
  const rentry *e = reg(r, "name");
  cr_assert_eq(e->st.hlc, T(20));
  cr_assert_eq(memcmp(e->st.author, s_auth[B].pk, 32), 0);
  cr_assert_eq(r->nhist, 3, "every op is in the history");
  cr_assert(rec_present(r));
  /* an older write arriving late changes nothing visible */
  cr_assert_eq(set_(r, A, 2, T(19), "name", "late"), 1);
  expect_reg(r, "name", "李");
  /* a newer one wins */
  cr_assert_eq(set_(r, A, 3, T(21), "name", "new"), 1);
  expect_reg(r, "name", "new");
  rec_destroy(&r);
  cr_assert_null(r);
}

static int
s_tie_steps(rec *r, int i)
{
  /* three authors write at the same HLC: the largest author key wins */
  switch (i) {
  case 0: return set_(r, A, 1, T(10), "name", "from A");
  case 1: return set_(r, C, 7, T(10), "name", "from C");
  case 2: return set_(r, B, 3, T(10), "name", "from B");
  }
  return -1;
}

Test(record, register_tie_broken_by_author_bytes)
{
  rec *r = all_orders(s_tie_steps, 3);
  expect_reg(r, "name", "from C");
  rec_destroy(&r);
  /* and with only A and B, B (larger key) wins */
  r = rec_new();
  set_(r, B, 1, T(10), "name", "from B");
  set_(r, A, 1, T(10), "name", "from A");
  expect_reg(r, "name", "from B");
  rec_destroy(&r);
}

Test(record, duplicate_apply_is_a_no_op)
{
  rec *r = rec_new();
  cr_assert_eq(set_(r, A, 1, T(10), "name", "x"), 1);
  cr_assert_eq(set_(r, A, 1, T(10), "name", "x"), 0);
  cr_assert_eq(incr_(r, A, 2, T(11), "visits", 5), 1);
  cr_assert_eq(incr_(r, A, 2, T(11), "visits", 5), 0);
  cr_assert_eq(counter(r, "visits"), 5, "each op counted once");
  cr_assert_eq(r->nhist, 2);
  rec_destroy(&r);
}

/* ---- counter ---- */

static int
s_counter_steps(rec *r, int i)
{
  switch (i) {
  case 0: return incr_(r, A, 1, T(1), "visits", 5);
  case 1: return incr_(r, B, 1, T(1), "visits", -8);
  case 2: return incr_(r, A, 2, T(2), "visits", 1000);
  case 3: return incr_(r, C, 1, T(0), "visits", -1);
  case 4: return incr_(r, B, 2, T(3), "visits", 0);
  }
  return -1;
}

Test(record, counter_sums_including_negative)
{
  rec *r = all_orders(s_counter_steps, 5);
  cr_assert_eq(counter(r, "visits"), 996);
  const rfield *f = rec_field(r, "visits", 6, FK_COUNTER);
  cr_assert_eq(f->nents, 5, "one entry per increment");
  rec_destroy(&r);
}

Test(record, counter_wraps)
{
  rec *r = rec_new();
  incr_(r, A, 1, T(1), "n", INT64_MAX);
  incr_(r, B, 1, T(1), "n", 1);
  cr_assert_eq(counter(r, "n"), INT64_MIN);
  incr_(r, C, 1, T(1), "n", -1);
  cr_assert_eq(counter(r, "n"), INT64_MAX);
  incr_(r, A, 2, T(2), "n", INT64_MIN);
  incr_(r, B, 2, T(2), "n", INT64_MIN);
  cr_assert_eq(counter(r, "n"), INT64_MAX, "2 * INT64_MIN wraps to 0");
  rec_destroy(&r);
  /* the same values in the other order */
  r = rec_new();
  incr_(r, B, 2, T(2), "n", INT64_MIN);
  incr_(r, C, 1, T(1), "n", -1);
  incr_(r, A, 2, T(2), "n", INT64_MIN);
  incr_(r, B, 1, T(1), "n", 1);
  incr_(r, A, 1, T(1), "n", INT64_MAX);
  cr_assert_eq(counter(r, "n"), INT64_MAX);
  rec_destroy(&r);
}

/* ---- set ---- */

Test(record, set_add_and_remove)
{
  rec *r = rec_new();
  cr_assert_eq(add_(r, A, 1, T(1), "tags", "独居"), 1);
  cr_assert_eq(add_(r, A, 2, T(2), "tags", "老人"), 1);
  cr_assert(set_has(r, "tags", "独居"));
  cr_assert(set_has(r, "tags", "老人"));
  cr_assert_eq(rm_(r, A, 3, T(3), "tags", "独居", A, 1, -1, 0), 1);
  cr_assert(!set_has(r, "tags", "独居"), "a remove naming the add removes it");
  cr_assert(set_has(r, "tags", "老人"));
  const rfield *f = rec_field(r, "tags", 4, FK_SET);
  cr_assert_not_null(f);
  cr_assert_eq(f->nents, 1);
  cr_assert_eq(f->ntomb, 1);
  cr_assert_eq(f->tomb[0].seq, 1);
  cr_assert_eq(memcmp(f->tomb[0].author, s_auth[A].pk, 32), 0);
  cr_assert_eq(rm_(r, B, 1, T(4), "tags", "老人", A, 2, -1, 0), 1);
  cr_assert(!set_has(r, "tags", "老人"));
  f = rec_field(r, "tags", 4, FK_SET);
  cr_assert_not_null(f, "the tombstones keep the field");
  cr_assert(!rfield_visible(f));
  cr_assert(!rec_present(r), "no visible field left");
  uint8_t h[32];
  lbuf s;
  lbuf_init(&s);
  rec_hash(r, KEY, strlen(KEY), h, &s);
  static const uint8_t zero[32];
  cr_assert_eq(memcmp(h, zero, 32), 0);
  lbuf_free(&s);
  rec_destroy(&r);
}

static int
s_addwins_steps(rec *r, int i)
{
  /* A and B add the same element concurrently; A removes what it saw (its
   * own add only).  B's add survives. */
  switch (i) {
  case 0: return add_(r, A, 1, T(1), "tags", "独居");
  case 1: return add_(r, B, 1, T(1), "tags", "独居");
  case 2: return rm_(r, A, 2, T(5), "tags", "独居", A, 1, -1, 0);
  case 3: return add_(r, C, 1, T(2), "tags", "低保");
  }
  return -1;
}

Test(record, set_add_wins_over_concurrent_remove)
{
  rec *r = all_orders(s_addwins_steps, 4);
  cr_assert(set_has(r, "tags", "独居"));
  cr_assert(set_has(r, "tags", "低保"));
  const rfield *f = rec_field(r, "tags", 4, FK_SET);
  cr_assert_eq(f->nents, 2);
  cr_assert_eq(memcmp(f->ents[0].st.author, s_auth[C].pk, 32) == 0 ||
               memcmp(f->ents[1].st.author, s_auth[C].pk, 32) == 0, 1);
  /* what a local remove must name now: B's add only */
  op_tag *tags;
  uint32_t n;
  cr_assert_eq(rec_set_tags(r, "tags", 4, "独居", strlen("独居"), &tags, &n), 0);
  cr_assert_eq(n, 1);
  cr_assert_eq(memcmp(tags[0].author, s_auth[B].pk, 32), 0);
  cr_assert_eq(tags[0].seq, 1);
  free(tags);
  /* a remove naming B's add too removes the element for good */
  cr_assert_eq(rm_(r, C, 2, T(6), "tags", "独居", B, 1, -1, 0), 1);
  cr_assert(!set_has(r, "tags", "独居"));
  cr_assert(set_has(r, "tags", "低保"));
  rec_destroy(&r);
}

static int
s_rm_first_steps(rec *r, int i)
{
  switch (i) {
  case 0: return rm_(r, B, 1, T(9), "tags", "x", A, 1, C, 1);
  case 1: return add_(r, A, 1, T(1), "tags", "x");
  case 2: return add_(r, C, 1, T(2), "tags", "x");
  case 3: return add_(r, A, 2, T(3), "tags", "x"); /* not named: survives */
  }
  return -1;
}

Test(record, set_remove_before_add_arrives)
{
  /* only the remove first */
  rec *r = rec_new();
  cr_assert_eq(rm_(r, B, 1, T(9), "tags", "x", A, 1, -1, 0), 1);
  cr_assert(!rec_present(r));
  cr_assert_eq(add_(r, A, 1, T(1), "tags", "x"), 1);
  cr_assert(!set_has(r, "tags", "x"), "the add was already removed");
  cr_assert(!rec_present(r));
  rec_destroy(&r);
  /* every order of a remove naming two adds plus a third add */
  r = all_orders(s_rm_first_steps, 4);
  cr_assert(set_has(r, "tags", "x"));
  const rfield *f = rec_field(r, "tags", 4, FK_SET);
  cr_assert_eq(f->nents, 1);
  cr_assert_eq(f->ents[0].st.seq, 2);
  cr_assert_eq(memcmp(f->ents[0].st.author, s_auth[A].pk, 32), 0);
  cr_assert_eq(f->ntomb, 2);
  rec_destroy(&r);
}

Test(record, set_tags_are_sorted)
{
  rec *r = rec_new();
  add_(r, C, 4, T(1), "tags", "e");
  add_(r, A, 9, T(2), "tags", "e");
  add_(r, B, 2, T(3), "tags", "e");
  add_(r, A, 3, T(4), "tags", "e");
  add_(r, A, 5, T(5), "tags", "other");
  op_tag *tags;
  uint32_t n;
  cr_assert_eq(rec_set_tags(r, "tags", 4, "e", 1, &tags, &n), 0);
  cr_assert_eq(n, 4);
  for (uint32_t i = 1; i < n; i++)
    cr_assert_lt(tag_cmp(&tags[i - 1], &tags[i]), 0);
  cr_assert_eq(memcmp(tags[0].author, s_auth[A].pk, 32), 0);
  cr_assert_eq(tags[0].seq, 3);
  cr_assert_eq(tags[1].seq, 9);
  cr_assert_eq(memcmp(tags[3].author, s_auth[C].pk, 32), 0);
  /* the tags make a valid remove that empties the element */
  op o = mkop(OP_RM, 1, T(10), KEY, "tags", "e", 0);
  o.tags = tags;
  o.ntags = n;
  cr_assert_eq(op_check(&o, NULL), 0);
  cr_assert_eq(rec_apply(r, s_auth[B].pk, &o), 1);
  cr_assert(!set_has(r, "tags", "e"));
  cr_assert(set_has(r, "tags", "other"));
  free(tags);
  /* no such field or element: zero tags */
  cr_assert_eq(rec_set_tags(r, "nope", 4, "e", 1, &tags, &n), 0);
  cr_assert_eq(n, 0);
  free(tags);
  cr_assert_eq(rec_set_tags(r, "tags", 4, "zz", 2, &tags, &n), 0);
  cr_assert_eq(n, 0);
  free(tags);
  rec_destroy(&r);
}

/* ---- log ---- */

static int
s_log_steps(rec *r, int i)
{
  switch (i) {
  case 0: return append_(r, A, 1, T(30), "diary", "third");
  case 1: return append_(r, B, 1, T(10), "diary", "first");
  case 2: return append_(r, A, 2, T(40), "diary", "fourth");
  case 3: return append_(r, C, 1, T(20), "diary", "second (C)");
  case 4: return append_(r, A, 3, T(20), "diary", "second (A)");
  }
  return -1;
}

Test(record, log_ordered_by_stamp)
{
  rec *r = all_orders(s_log_steps, 5);
  const rfield *f = rec_field(r, "diary", 5, FK_LOG);
  cr_assert_not_null(f);
  static const char *const want[] = {"first", "second (A)", "second (C)", "third", "fourth"};
  cr_assert_eq(f->nents, 5);
  for (uint32_t i = 0; i < 5; i++) {
    cr_assert_eq(f->ents[i].s_len, strlen(want[i]));
    cr_assert_eq(memcmp(f->ents[i].s, want[i], f->ents[i].s_len), 0, "entry %u", i);
  }
  /* canonical: [hlc, author, text] per entry in that order */
  lbuf got, exp;
  canon(r, KEY, &got);
  lbuf_init(&exp);
  mpw w;
  mpw_init(&w, &exp);
  mpw_array(&w, 2);
  mpw_cstr(&w, KEY);
  mpw_array(&w, 1);
  mpw_array(&w, 3);
  mpw_cstr(&w, "diary");
  mpw_uint(&w, FK_LOG);
  mpw_array(&w, 5);
  static const struct { uint64_t t; int a; } st[] = {{10, B}, {20, A}, {20, C}, {30, A}, {40, A}};
  for (int i = 0; i < 5; i++) {
    mpw_array(&w, 3);
    mpw_uint(&w, T(st[i].t));
    mpw_bin(&w, s_auth[st[i].a].pk, 32);
    mpw_cstr(&w, want[i]);
  }
  expect_same_bytes(&got, &exp, "log canonical form");
  lbuf_free(&got);
  lbuf_free(&exp);
  rec_destroy(&r);
}

/* ---- delete ---- */

static int
s_del_steps(rec *r, int i)
{
  switch (i) {
  case 0: return set_(r, A, 1, T(10), "name", "old");
  case 1: return incr_(r, A, 2, T(11), "visits", 3);
  case 2: return add_(r, B, 1, T(12), "tags", "x");
  case 3: return append_(r, C, 1, T(13), "diary", "d");
  case 4: return del_(r, B, 2, T(20));
  }
  return -1;
}

Test(record, delete_hides_earlier_contributions)
{
  rec *r = all_orders(s_del_steps, 5);
  cr_assert(!rec_present(r));
  cr_assert(r->has_del);
  cr_assert_eq(r->del.hlc, T(20));
  cr_assert_eq(r->nfields, 0, "nothing is left, not even empty fields");
  cr_assert_eq(r->nhist, 5, "the history keeps every op");
  lbuf s;
  lbuf_init(&s);
  uint8_t h[32];
  static const uint8_t zero[32];
  rec_hash(r, KEY, strlen(KEY), h, &s);
  cr_assert_eq(memcmp(h, zero, 32), 0);
  /* a concurrent update with a smaller stamp stays hidden */
  cr_assert_eq(set_(r, C, 2, T(15), "name", "concurrent older"), 1);
  cr_assert(!rec_present(r));
  /* a later update brings the record back with just that update */
  cr_assert_eq(incr_(r, C, 3, T(25), "visits", 7), 1);
  cr_assert(rec_present(r));
  cr_assert_eq(counter(r, "visits"), 7, "the increments before the delete are gone");
  cr_assert_null(reg(r, "name"));
  cr_assert_eq(r->nfields, 1);
  rec_hash(r, KEY, strlen(KEY), h, &s);
  cr_assert_neq(memcmp(h, zero, 32), 0);
  lbuf_free(&s);
  rec_destroy(&r);
}

static int
s_del_concurrent_steps(rec *r, int i)
{
  /* B deletes at T(20) while A, concurrently, writes at T(25) and T(15) */
  switch (i) {
  case 0: return set_(r, A, 1, T(5), "name", "old");
  case 1: return del_(r, B, 1, T(20));
  case 2: return set_(r, A, 3, T(25), "name", "survivor");
  case 3: return set_(r, A, 2, T(15), "name", "hidden");
  case 4: return add_(r, C, 1, T(30), "tags", "t");
  }
  return -1;
}

Test(record, delete_concurrent_with_higher_hlc_update)
{
  rec *r = all_orders(s_del_concurrent_steps, 5);
  cr_assert(rec_present(r));
  expect_reg(r, "name", "survivor");
  cr_assert(set_has(r, "tags", "t"));
  rec_destroy(&r);
}

Test(record, delete_tie_and_largest_delete_wins)
{
  /* same HLC: the stamp order (author bytes) decides whether the update is
   * before or after the delete */
  rec *r = rec_new();
  set_(r, A, 1, T(10), "name", "by A");   /* A < B: before B's delete */
  set_(r, C, 1, T(10), "other", "by C");  /* C > B: after it */
  del_(r, B, 1, T(10));
  expect_reg(r, "name", NULL);
  expect_reg(r, "other", "by C");
  rec_destroy(&r);
  /* two deletes: the larger one counts, in either order */
  for (int order = 0; order < 2; order++) {
    r = rec_new();
    set_(r, A, 1, T(15), "name", "x");
    if (order) {
      del_(r, B, 1, T(10));
      del_(r, C, 1, T(20));
    } else {
      del_(r, C, 1, T(20));
      del_(r, B, 1, T(10));
    }
    cr_assert_eq(r->del.hlc, T(20));
    cr_assert(!rec_present(r));
    rec_destroy(&r);
  }
}

static int
s_del_tomb_steps(rec *r, int i)
{
  /* a remove hidden by a delete still removes adds with larger stamps */
  switch (i) {
  case 0: return del_(r, B, 1, T(20));
  case 1: return rm_(r, C, 1, T(10), "tags", "x", A, 1, -1, 0);
  case 2: return add_(r, A, 1, T(30), "tags", "x");
  case 3: return add_(r, A, 2, T(31), "tags", "y");
  }
  return -1;
}

Test(record, delete_keeps_set_tombstones)
{
  rec *r = all_orders(s_del_tomb_steps, 4);
  cr_assert(!set_has(r, "tags", "x"));
  cr_assert(set_has(r, "tags", "y"));
  rec_destroy(&r);
}

/* ---- field identity ---- */

static int
s_ident_steps(rec *r, int i)
{
  switch (i) {
  case 0: return set_(r, A, 1, T(1), "x", "register value");
  case 1: return incr_(r, B, 1, T(2), "x", 42);
  case 2: return add_(r, C, 1, T(3), "x", "element");
  case 3: return append_(r, A, 2, T(4), "x", "entry");
  }
  return -1;
}

Test(record, field_identity_is_name_and_kind)
{
  rec *r = all_orders(s_ident_steps, 4);
  cr_assert_eq(r->nfields, 4, "one name, four kinds, four fields");
  for (uint32_t i = 0; i < 4; i++) {
    cr_assert_eq(r->fields[i].fk, i, "sorted by kind after name");
    cr_assert_eq(r->fields[i].name_len, 1);
  }
  expect_reg(r, "x", "register value");
  cr_assert_eq(counter(r, "x"), 42);
  cr_assert(set_has(r, "x", "element"));
  cr_assert_not_null(rec_field(r, "x", 1, FK_LOG));
  cr_assert_null(rec_field(r, "y", 1, FK_LOG));
  rec_destroy(&r);
}

/* ---- canonical form and hash ---- */

Test(record, canonical_exact_bytes)
{
  rec *r = rec_new();
  incr_(r, A, 1, T(1), "c", 3);
  incr_(r, B, 1, T(1), "c", -5);
  set_(r, A, 2, T(2), "n", "v");
  add_(r, A, 3, T(3), "s", "b");
  add_(r, B, 2, T(4), "s", "a");
  add_(r, C, 1, T(5), "s", "b"); /* a second add of "b": listed once */
  lbuf got;
  canon(r, "a/b", &got);
  static const uint8_t want[] = {
    0x92, 0xa3, 'a', '/', 'b',
    0x93,
    0x93, 0xa1, 'c', 0x01, 0xfe,               /* counter c = -2 */
    0x93, 0xa1, 'n', 0x00, 0xa1, 'v',          /* register n = "v" */
    0x93, 0xa1, 's', 0x02, 0x92, 0xa1, 'a', 0xa1, 'b', /* set s = {a, b}, sorted */
  };
  cr_assert_eq(got.len, sizeof want);
  cr_assert_eq(memcmp(got.p, want, sizeof want), 0);
  /* the hash is BLAKE2b-256 of exactly that */
  uint8_t h[32], h2[32];
  linli_hash(h2, want, sizeof want);
  lbuf s;
  lbuf_init(&s);
  lbuf_put(&s, "junk", 4);
  rec_hash(r, "a/b", 3, h, &s);
  cr_assert_eq(memcmp(h, h2, 32), 0);
  /* the key is part of it */
  rec_hash(r, "a/c", 3, h2, &s);
  cr_assert_neq(memcmp(h, h2, 32), 0);
  lbuf_free(&s);
  lbuf_free(&got);
  rec_destroy(&r);
}

Test(record, hash_zero_for_absent_records)
{
  static const uint8_t zero[32];
  uint8_t h[32];
  lbuf s;
  lbuf_init(&s);
  memset(h, 1, 32);
  rec_hash(NULL, KEY, strlen(KEY), h, &s);
  cr_assert_eq(memcmp(h, zero, 32), 0, "no record");
  rec *r = rec_new();
  memset(h, 1, 32);
  rec_hash(r, KEY, strlen(KEY), h, &s);
  cr_assert_eq(memcmp(h, zero, 32), 0, "empty record");
  cr_assert(!rec_present(r));
  /* canonical of an empty record: [key, []] */
  lbuf c;
  canon(r, "a/b", &c);
  cr_assert_eq(c.len, 6);
  cr_assert_eq(memcmp(c.p, "\x92\xa3" "a/b" "\x90", 6), 0);
  lbuf_free(&c);
  set_(r, A, 1, T(1), "n", "v");
  rec_hash(r, KEY, strlen(KEY), h, &s);
  cr_assert_neq(memcmp(h, zero, 32), 0, "present record");
  del_(r, A, 2, T(2));
  rec_hash(r, KEY, strlen(KEY), h, &s);
  cr_assert_eq(memcmp(h, zero, 32), 0, "deleted record");
  lbuf_free(&s);
  rec_destroy(&r);
  rec_destroy(&r); /* safe on NULL */
}

/* ---- internal encoding ---- */

/* A record with every kind, a delete, hidden ops and tombstones. */
static rec *
rich_record(void)
{
  rec *r = rec_new();
  set_(r, A, 1, T(1), "name", "before delete");
  incr_(r, B, 1, T(2), "visits", 9);
  del_(r, C, 1, T(5));
  set_(r, A, 2, T(6), "name", "王秀英");
  set_(r, B, 2, T(7), "名", "");
  incr_(r, B, 3, T(8), "visits", -3);
  incr_(r, A, 3, T(9), "visits", INT64_MIN);
  add_(r, A, 4, T(10), "tags", "独居");
  add_(r, B, 4, T(10), "tags", "老人");
  add_(r, C, 2, T(11), "tags", "");
  rm_(r, C, 3, T(12), "tags", "老人", B, 4, A, 99); /* names an add not seen yet */
  rm_(r, A, 5, T(3), "tags", "gone", C, 77, -1, 0); /* hidden by the delete */
  append_(r, A, 6, T(13), "diary", "今天走访了三户。");
  append_(r, C, 4, T(13), "diary", "");
  set_(r, C, 5, T(14), "name", "stale? no: newer");
  return r;
}

Test(record, encode_decode_round_trip)
{
  rec *r = rich_record();
  lbuf a, b;
  lbuf_init(&a);
  lbuf_init(&b);
  rec_encode(r, &a);
  cr_assert(!a.oom);
  rec *d = NULL;
  lerr e = {0};
  cr_assert_eq(rec_decode(&d, a.p, a.len, &e), 0, "%s", e.msg);
  cr_assert_not_null(d);
  rec_encode(d, &b);
  expect_same_bytes(&a, &b, "re-encoded record");
  /* the same visible state and structure */
  lbuf c1, c2;
  canon(r, KEY, &c1);
  canon(d, KEY, &c2);
  expect_same_bytes(&c1, &c2, "canonical state after decode");
  cr_assert_eq(d->has_del, r->has_del);
  cr_assert_eq(stamp_cmp(&d->del, &r->del), 0);
  cr_assert_eq(d->nhist, r->nhist);
  cr_assert_eq(d->nfields, r->nfields);
  for (uint32_t i = 0; i < r->nfields; i++) {
    cr_assert_eq(d->fields[i].nents, r->fields[i].nents);
    cr_assert_eq(d->fields[i].ntomb, r->fields[i].ntomb);
  }
  /* decoded records keep working: an op applies the same way to both */
  cr_assert_eq(add_(r, A, 20, T(50), "tags", "老人"), 1);
  cr_assert_eq(add_(d, A, 20, T(50), "tags", "老人"), 1);
  cr_assert_eq(rm_(r, B, 20, T(51), "tags", "独居", A, 4, -1, 0), 1);
  cr_assert_eq(rm_(d, B, 20, T(51), "tags", "独居", A, 4, -1, 0), 1);
  cr_assert_eq(add_(d, A, 99, T(52), "tags", "named before"), 1);
  cr_assert_eq(add_(r, A, 99, T(52), "tags", "named before"), 1);
  cr_assert(!set_has(d, "tags", "named before"), "the tombstone survived the round trip");
  cr_assert_eq(set_(d, A, 1, T(1), "name", "before delete"), 0, "history survived too");
  lbuf_reset(&a);
  lbuf_reset(&b);
  rec_encode(r, &a);
  rec_encode(d, &b);
  expect_same_bytes(&a, &b, "records after the same ops");
  /* the empty record round-trips as well */
  rec *z = rec_new(), *z2 = NULL;
  lbuf_reset(&a);
  rec_encode(z, &a);
  cr_assert_eq(rec_decode(&z2, a.p, a.len, NULL), 0);
  cr_assert(!rec_present(z2));
  cr_assert_eq(z2->nhist, 0);
  rec_destroy(&z);
  rec_destroy(&z2);
  lbuf_free(&a);
  lbuf_free(&b);
  lbuf_free(&c1);
  lbuf_free(&c2);
  rec_destroy(&r);
  rec_destroy(&d);
}

/* Uses a decoded (possibly nonsensical) record in every way: nothing may
 * crash or leak. */
static void
exercise(rec *r)
{
  lbuf b;
  lbuf_init(&b);
  rec_encode(r, &b);
  lbuf_reset(&b);
  rec_canonical(r, KEY, strlen(KEY), &b);
  uint8_t h[32];
  rec_hash(r, KEY, strlen(KEY), h, &b);
  (void)rec_present(r);
  for (uint32_t i = 0; i < r->nfields; i++) {
    (void)rfield_counter(&r->fields[i]);
    op_tag *t;
    uint32_t n;
    if (rec_set_tags(r, r->fields[i].name, r->fields[i].name_len, "x", 1, &t, &n) == 0)
      free(t);
  }
  set_(r, A, 1000, T(100), "name", "n");
  incr_(r, A, 1001, T(101), "visits", 1);
  add_(r, A, 1002, T(102), "tags", "老人");
  rm_(r, A, 1003, T(103), "tags", "老人", B, 4, -1, 0);
  append_(r, A, 1004, T(104), "diary", "x");
  del_(r, A, 1005, T(99));
  lbuf_reset(&b);
  rec_encode(r, &b);
  lbuf_free(&b);
}

Test(record, decode_rejects_truncation)
{
  rec *r = rich_record();
  lbuf a;
  lbuf_init(&a);
  rec_encode(r, &a);
  for (size_t cut = 0; cut < a.len; cut++) {
    uint8_t *p = malloc(cut ? cut : 1);
    cr_assert_not_null(p);
    memcpy(p, a.p, cut);
    rec *d = (rec *)1;
    lerr e = {0};
    cr_assert_eq(rec_decode(&d, p, cut, &e), LINLI_EMALFORMED, "decoded %zu of %zu", cut,
                 a.len);
    cr_assert_null(d);
    cr_assert_eq(e.code, LINLI_EMALFORMED);
    free(p);
  }
  /* empty input (an empty lbuf has p == NULL) */
  rec *d = (rec *)1;
  cr_assert_eq(rec_decode(&d, NULL, 0, NULL), LINLI_EMALFORMED);
  cr_assert_null(d);
  /* trailing bytes */
  lbuf_put(&a, "\xc0", 1);
  cr_assert_eq(rec_decode(&d, a.p, a.len, NULL), LINLI_EMALFORMED);
  cr_assert_null(d);
  lbuf_free(&a);
  rec_destroy(&r);
}

Test(record, decode_survives_flipped_bytes)
{
  rec *r = rich_record();
  lbuf a;
  lbuf_init(&a);
  rec_encode(r, &a);
  uint8_t *p = malloc(a.len);
  cr_assert_not_null(p);
  static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x40, 0x80, 0xff};
  uint32_t ok = 0, bad = 0;
  for (size_t i = 0; i < a.len; i++) {
    for (size_t m = 0; m < sizeof masks; m++) {
      memcpy(p, a.p, a.len);
      p[i] ^= masks[m];
      rec *d = NULL;
      if (rec_decode(&d, p, a.len, NULL) == 0) {
        ok++;
        exercise(d);
        rec_destroy(&d);
      } else {
        cr_assert_null(d);
        bad++;
      }
    }
  }
  /* structure bytes are caught; string contents and numbers may change */
  cr_assert_gt(bad, 0);
  cr_assert_gt(ok, 0);
  uint32_t st = 3;
  for (int iter = 0; iter < 5000; iter++) {
    memcpy(p, a.p, a.len);
    int n = 1 + (int)(tu_rand(&st) % 6);
    for (int k = 0; k < n; k++)
      p[tu_rand(&st) % a.len] = (uint8_t)tu_rand(&st);
    rec *d = NULL;
    if (rec_decode(&d, p, a.len - tu_rand(&st) % 3, NULL) == 0) {
      exercise(d);
      rec_destroy(&d);
    }
  }
  free(p);
  lbuf_free(&a);
  rec_destroy(&r);
}

Test(record, decode_rejects_bad_structure)
{
  uint8_t pk[32];
  memset(pk, 3, 32);
  for (int mut = 0; mut <= 12; mut++) {
    lbuf b;
    lbuf_init(&b);
    mpw w;
    mpw_init(&w, &b);
    mpw_array(&w, mut == 0 ? 4 : 5);
    mpw_uint(&w, mut == 1 ? 2 : 1);                 /* 1: unknown version */
    mpw_array(&w, 1);
    mpw_bin(&w, pk, mut == 2 ? 31 : 32);            /* 2: short author key */
    if (mut == 3) {                                 /* 3: delete stamp of 2 */
      mpw_array(&w, 2);
      mpw_uint(&w, 1);
      mpw_uint(&w, 0);
    } else {
      mpw_nil(&w);
    }
    mpw_array(&w, 2);                               /* history */
    mpw_array(&w, 3);
    mpw_uint(&w, 5);
    mpw_uint(&w, mut == 4 ? 1 : 0);                 /* 4: author index past the table */
    mpw_uint(&w, 1);
    mpw_array(&w, 3);
    mpw_uint(&w, mut == 5 ? 5 : 6);                 /* 5: the same stamp twice */
    mpw_uint(&w, 0);
    mpw_uint(&w, mut == 5 ? 1 : 2);
    mpw_array(&w, mut == 6 ? 2 : 1);                /* 6: the same field twice */
    for (int f = 0; f < (mut == 6 ? 2 : 1); f++) {
      mpw_array(&w, 4);
      mpw_cstr(&w, "visits");
      mpw_uint(&w, mut == 7 ? 4 : FK_COUNTER);      /* 7: unknown field kind */
      mpw_array(&w, 1);
      mpw_array(&w, 4);
      mpw_uint(&w, 5);
      mpw_uint(&w, 0);
      mpw_uint(&w, 1);
      if (mut == 8)
        mpw_cstr(&w, "3");                          /* 8: counter with a string */
      else
        mpw_int(&w, -3);
      mpw_array(&w, mut == 9 ? 1 : 0);              /* 9: tombstone of 3 parts */
      if (mut == 9) {
        mpw_array(&w, 3);
        mpw_uint(&w, 0);
        mpw_uint(&w, 1);
        mpw_uint(&w, 1);
      }
    }
    if (mut == 10)
      mpw_nil(&w);                                  /* 10: trailing bytes */
    if (mut == 11) {                                /* 11: a float where a count is */
      lbuf_reset(&b);
      lbuf_put(&b, "\x95\x01\x90\xc0\xca\0\0\0\0\x90", 10);
    }
    if (mut == 12) {                                /* 12: control: all well formed */
      rec *d = NULL;
      lerr e = {0};
      cr_assert_eq(rec_decode(&d, b.p, b.len, &e), 0, "%s", e.msg);
      cr_assert_eq(d->nhist, 2);
      cr_assert_eq(rfield_counter(rec_field(d, "visits", 6, FK_COUNTER)), -3);
      rec_destroy(&d);
    } else {
      rec *d = NULL;
      cr_assert_eq(rec_decode(&d, b.p, b.len, NULL), LINLI_EMALFORMED, "mutation %d", mut);
      cr_assert_null(d);
    }
    lbuf_free(&b);
  }
}

/* ---- the convergence property ---- */

#define NKEYS 4
#define NOPS 400
#define NPERM 200

static const char *const s_keys[NKEYS] = {
  "hh/v000/601", "hh/v000/602", "社区/金都/001", "diary/2026-11",
};

typedef struct pop {
  int author;
  int key;
  op o;
  op_tag tags[4];
  char str[32];
} pop;

typedef struct added {
  int author, key;
  uint64_t seq;
  const char *field, *elem;
} added;

/* Generates NOPS ops by NA authors with per-author chains (seq and HLC
 * increasing), concurrent writes, equal HLCs across authors, deletes, and
 * removes naming tags of earlier (and sometimes not yet generated) adds. */
static pop *
gen_ops(uint32_t seed)
{
  static const char *const reg_fields[] = {"name", "名", "visits"};
  static const char *const cnt_fields[] = {"visits", "name"};
  static const char *const elems[] = {"独居", "老人", "低保", "e", ""};
  static const char *const vals[] = {"王秀英", "李", "x", "", "Zhang San"};
  pop *ops = calloc(NOPS, sizeof *ops);
  added *adds = calloc(NOPS, sizeof *adds);
  cr_assert(ops && adds);
  uint32_t nadds = 0;
  uint64_t seqs[NA] = {0}, last[NA] = {0};
  uint32_t st = seed;
  for (int i = 0; i < NOPS; i++) {
    pop *p = &ops[i];
    int a = (int)(tu_rand(&st) % NA);
    p->author = a;
    p->key = (int)(tu_rand(&st) % NKEYS);
    op *o = &p->o;
    o->seq = ++seqs[a];
    /* a shared, slowly moving wall clock with jitter: many concurrent and
     * equal stamps across authors */
    uint64_t wall = T(i / 8 + tu_rand(&st) % 4);
    o->hlc = hlc_next(last[a], hlc_ms(wall));
    last[a] = o->hlc;
    o->key = s_keys[p->key];
    o->key_len = (uint32_t)strlen(o->key);
    uint32_t r = tu_rand(&st) % 100;
    o->kind = r < 20 ? OP_SET : r < 40 ? OP_INCR : r < 62 ? OP_ADD : r < 80 ? OP_RM
              : r < 95 ? OP_APPEND : OP_DEL;
    const char *field = "";
    switch (o->kind) {
    case OP_SET:
      field = reg_fields[tu_rand(&st) % 3];
      o->str = vals[tu_rand(&st) % 5];
      break;
    case OP_INCR:
      field = cnt_fields[tu_rand(&st) % 2];
      switch (tu_rand(&st) % 10) {
      case 0: o->n = INT64_MAX; break;
      case 1: o->n = INT64_MIN; break;
      default: o->n = (int64_t)(tu_rand(&st) % 2001) - 1000;
      }
      break;
    case OP_ADD: {
      field = "tags";
      o->str = elems[tu_rand(&st) % 5];
      added *ad = &adds[nadds++];
      *ad = (added){a, p->key, o->seq, field, o->str};
      break;
    }
    case OP_RM: {
      field = "tags";
      o->str = elems[tu_rand(&st) % 5];
      /* name some adds of this element on this key seen so far, and now and
       * then an add that does not exist yet (remove before add) */
      uint32_t n = 0;
      for (uint32_t k = 0; k < nadds && n < 3; k++) {
        const added *ad = &adds[k];
        if (ad->key == p->key && strcmp(ad->elem, o->str) == 0 && tu_rand(&st) % 3) {
          memcpy(p->tags[n].author, s_auth[ad->author].pk, LINLI_PK_BYTES);
          p->tags[n].seq = ad->seq;
          n++;
        }
      }
      if (n == 0 || tu_rand(&st) % 4 == 0) {
        int fa = (int)(tu_rand(&st) % NA);
        memcpy(p->tags[n].author, s_auth[fa].pk, LINLI_PK_BYTES);
        p->tags[n].seq = seqs[fa] + 1 + tu_rand(&st) % 5;
        n++;
      }
      /* sort, drop duplicates */
      for (uint32_t x = 1; x < n; x++)
        for (uint32_t y = x; y > 0 && tag_cmp(&p->tags[y - 1], &p->tags[y]) > 0; y--) {
          op_tag t = p->tags[y];
          p->tags[y] = p->tags[y - 1];
          p->tags[y - 1] = t;
        }
      uint32_t u = 0;
      for (uint32_t x = 0; x < n; x++)
        if (u == 0 || tag_cmp(&p->tags[u - 1], &p->tags[x]) != 0)
          p->tags[u++] = p->tags[x];
      o->tags = p->tags;
      o->ntags = u;
      break;
    }
    case OP_APPEND:
      field = "diary";
      snprintf(p->str, sizeof p->str, "entry %d by %d", i, a);
      o->str = p->str;
      break;
    case OP_DEL:
      break;
    }
    o->field = field;
    o->field_len = (uint32_t)strlen(field);
    if (o->str)
      o->str_len = (uint32_t)strlen(o->str);
    lerr e;
    cr_assert_eq(op_check(o, &e), 0, "generated op %d: %s", i, e.msg);
  }
  free(adds);
  return ops;
}

/* Digests for every prefix of the keys: a tiny table. */
#define NPFX 16
typedef struct pfx_table {
  char name[NPFX][64];
  uint32_t len[NPFX];
  ldigest d[NPFX];
  uint32_t n;
} pfx_table;

static ldigest *
pfx_get(pfx_table *t, const char *key, uint32_t len)
{
  for (uint32_t i = 0; i < t->n; i++)
    if (t->len[i] == len && memcmp(t->name[i], key, len) == 0)
      return &t->d[i];
  cr_assert_lt(t->n, NPFX);
  memcpy(t->name[t->n], key, len);
  t->len[t->n] = len;
  memset(&t->d[t->n], 0, sizeof t->d[t->n]);
  return &t->d[t->n++];
}

/* Adds (sign > 0) or subtracts a present record's hash at every prefix of
 * its key. */
static void
pfx_update(pfx_table *t, const char *key, const uint8_t h[32], int sign)
{
  uint32_t lens[16];
  uint32_t n = digest_prefixes(key, strlen(key), lens, 16);
  for (uint32_t i = 0; i < n; i++) {
    ldigest *d = pfx_get(t, key, lens[i]);
    if (sign > 0)
      digest_add(d, h);
    else
      digest_sub(d, h);
  }
}

static const ldigest *
pfx_find(const pfx_table *t, const char *name, uint32_t len)
{
  for (uint32_t i = 0; i < t->n; i++)
    if (t->len[i] == len && memcmp(t->name[i], name, len) == 0)
      return &t->d[i];
  return NULL;
}

typedef struct outcome {
  lbuf enc[NKEYS], canon[NKEYS];
  uint8_t hash[NKEYS][32];
  bool present[NKEYS];
  pfx_table digests;
  uint32_t nhist, ntomb, ndel, nvisible_fields;
} outcome;

static void
outcome_free(outcome *o)
{
  for (int k = 0; k < NKEYS; k++) {
    lbuf_free(&o->enc[k]);
    lbuf_free(&o->canon[k]);
  }
}

/* Applies ops[order[i]] for i < n; with `store`, every record is written
 * out and read back after each op, as the node's store does.  The digests
 * are kept incrementally (subtract old hash, add new) and checked against a
 * from-scratch sum at the end. */
static void
run(const pop *ops, const uint32_t *order, uint32_t n, bool store, outcome *out)
{
  memset(out, 0, sizeof *out);
  rec *r[NKEYS];
  uint8_t cur[NKEYS][32];
  static const uint8_t zero[32];
  lbuf s, tmp;
  lbuf_init(&s);
  lbuf_init(&tmp);
  for (int k = 0; k < NKEYS; k++) {
    r[k] = rec_new();
    memset(cur[k], 0, 32);
  }
  /* make every prefix exist, so the tables line up across runs */
  for (int k = 0; k < NKEYS; k++)
    pfx_update(&out->digests, s_keys[k], zero, 1);
  for (int k = 0; k < NKEYS; k++)
    pfx_update(&out->digests, s_keys[k], zero, -1);
  for (uint32_t i = 0; i < n; i++) {
    const pop *p = &ops[order[i]];
    int k = p->key;
    cr_assert_geq(rec_apply(r[k], s_auth[p->author].pk, &p->o), 0);
    if (store) {
      lbuf_reset(&tmp);
      rec_encode(r[k], &tmp);
      rec *back = NULL;
      cr_assert_eq(rec_decode(&back, tmp.p, tmp.len, NULL), 0);
      rec_destroy(&r[k]);
      r[k] = back;
    }
    uint8_t h[32];
    rec_hash(r[k], s_keys[k], strlen(s_keys[k]), h, &s);
    if (memcmp(h, cur[k], 32) != 0) {
      if (memcmp(cur[k], zero, 32) != 0)
        pfx_update(&out->digests, s_keys[k], cur[k], -1);
      if (memcmp(h, zero, 32) != 0)
        pfx_update(&out->digests, s_keys[k], h, 1);
      memcpy(cur[k], h, 32);
    }
  }
  pfx_table scratch_sum;
  memset(&scratch_sum, 0, sizeof scratch_sum);
  for (int k = 0; k < NKEYS; k++)
    pfx_update(&scratch_sum, s_keys[k], zero, 1);
  for (int k = 0; k < NKEYS; k++)
    pfx_update(&scratch_sum, s_keys[k], zero, -1);
  for (int k = 0; k < NKEYS; k++) {
    lbuf_init(&out->enc[k]);
    rec_encode(r[k], &out->enc[k]);
    canon(r[k], s_keys[k], &out->canon[k]);
    rec_hash(r[k], s_keys[k], strlen(s_keys[k]), out->hash[k], &s);
    cr_assert_eq(memcmp(out->hash[k], cur[k], 32), 0);
    out->present[k] = rec_present(r[k]);
    cr_assert_eq(out->present[k], memcmp(out->hash[k], zero, 32) != 0);
    if (out->present[k])
      pfx_update(&scratch_sum, s_keys[k], out->hash[k], 1);
    out->nhist += r[k]->nhist;
    out->ndel += r[k]->has_del;
    for (uint32_t f = 0; f < r[k]->nfields; f++) {
      out->ntomb += r[k]->fields[f].ntomb;
      out->nvisible_fields += rfield_visible(&r[k]->fields[f]);
    }
    rec_destroy(&r[k]);
  }
  /* the incremental digests equal the sums from scratch */
  cr_assert_eq(scratch_sum.n, out->digests.n);
  for (uint32_t i = 0; i < scratch_sum.n; i++) {
    const ldigest *inc = pfx_find(&out->digests, scratch_sum.name[i], scratch_sum.len[i]);
    cr_assert_not_null(inc);
    cr_assert_eq(memcmp(inc->sum, scratch_sum.d[i].sum, 32), 0, "prefix %.*s",
                 (int)scratch_sum.len[i], scratch_sum.name[i]);
    cr_assert_eq(inc->count, scratch_sum.d[i].count);
  }
  lbuf_free(&s);
  lbuf_free(&tmp);
}

static void
expect_same_outcome(const outcome *a, const outcome *b, int perm)
{
  for (int k = 0; k < NKEYS; k++) {
    cr_assert_eq(a->enc[k].len, b->enc[k].len, "perm %d key %s: record encoding length", perm,
                 s_keys[k]);
    cr_assert_eq(memcmp(a->enc[k].p, b->enc[k].p, a->enc[k].len), 0,
                 "perm %d key %s: record encoding", perm, s_keys[k]);
    cr_assert_eq(a->canon[k].len, b->canon[k].len, "perm %d key %s: canonical", perm,
                 s_keys[k]);
    cr_assert_eq(memcmp(a->canon[k].p, b->canon[k].p, a->canon[k].len), 0,
                 "perm %d key %s: canonical", perm, s_keys[k]);
    cr_assert_eq(memcmp(a->hash[k], b->hash[k], 32), 0, "perm %d key %s: hash", perm,
                 s_keys[k]);
  }
  cr_assert_eq(a->digests.n, b->digests.n, "perm %d: prefixes", perm);
  for (uint32_t i = 0; i < a->digests.n; i++) {
    const ldigest *d = pfx_find(&b->digests, a->digests.name[i], a->digests.len[i]);
    cr_assert_not_null(d);
    cr_assert_eq(memcmp(d->sum, a->digests.d[i].sum, 32), 0, "perm %d prefix '%.*s' digest",
                 perm, (int)a->digests.len[i], a->digests.name[i]);
    cr_assert_eq(d->count, a->digests.d[i].count);
  }
}

Test(record, property_any_order_any_repetition_same_state, .timeout = 120)
{
  pop *ops = gen_ops(20261128);
  uint32_t base[NOPS];
  for (uint32_t i = 0; i < NOPS; i++)
    base[i] = i;
  outcome ref;
  run(ops, base, NOPS, false, &ref);
  /* the generated history is not trivial: the test means something */
  cr_assert_eq(ref.nhist, NOPS, "every op in exactly one history");
  cr_assert_gt(ref.ndel, 0, "some keys were deleted");
  cr_assert_gt(ref.ntomb, 0, "some set tombstones");
  cr_assert_gt(ref.nvisible_fields, 4, "visible state remains");
  int npresent = 0;
  for (int k = 0; k < NKEYS; k++)
    npresent += ref.present[k];
  cr_assert_gt(npresent, 0);
  const ldigest *all = pfx_find(&ref.digests, "", 0);
  cr_assert_not_null(all);
  cr_assert_eq(all->count, npresent);

  uint32_t st = 7;
  uint32_t *order = malloc((NOPS * 2) * sizeof *order);
  cr_assert_not_null(order);
  for (int perm = 0; perm < NPERM; perm++) {
    /* a random permutation ... */
    for (uint32_t i = 0; i < NOPS; i++)
      order[i] = i;
    for (uint32_t i = NOPS - 1; i > 0; i--) {
      uint32_t j = tu_rand(&st) % (i + 1);
      uint32_t t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    /* ... with random repeats inserted at random places */
    uint32_t n = NOPS, dups = tu_rand(&st) % (NOPS / 2);
    for (uint32_t d = 0; d < dups; d++) {
      uint32_t at = tu_rand(&st) % (n + 1);
      memmove(&order[at + 1], &order[at], (n - at) * sizeof *order);
      order[at] = tu_rand(&st) % NOPS;
      n++;
    }
    outcome got;
    run(ops, order, n, perm % 10 == 0, &got);
    expect_same_outcome(&ref, &got, perm);
    outcome_free(&got);
  }
  /* the reverse order, and everything applied twice in a row */
  for (uint32_t i = 0; i < NOPS; i++) {
    order[2 * i] = NOPS - 1 - i;
    order[2 * i + 1] = NOPS - 1 - i;
  }
  outcome got;
  run(ops, order, 2 * NOPS, true, &got);
  expect_same_outcome(&ref, &got, -1);
  outcome_free(&got);
  free(order);
  outcome_free(&ref);
  free(ops);
}

Test(record, property_with_several_seeds, .timeout = 120)
{
  /* fewer permutations, different histories */
  for (uint32_t seed = 1; seed <= 5; seed++) {
    pop *ops = gen_ops(seed * 7919);
    uint32_t order[NOPS];
    for (uint32_t i = 0; i < NOPS; i++)
      order[i] = i;
    outcome ref;
    run(ops, order, NOPS, false, &ref);
    uint32_t st = seed;
    for (int perm = 0; perm < 20; perm++) {
      for (uint32_t i = NOPS - 1; i > 0; i--) {
        uint32_t j = tu_rand(&st) % (i + 1);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      outcome got;
      run(ops, order, NOPS, false, &got);
      expect_same_outcome(&ref, &got, perm);
      outcome_free(&got);
    }
    outcome_free(&ref);
    free(ops);
  }
}

Test(record, empty_values_given_as_null)
{
  /* an empty borrowed string may be (NULL, 0) */
  rec *r = rec_new();
  for (int a = 0; a < 3; a++) {
    op o = mkop(OP_ADD, 1, T(1), KEY, "tags", NULL, 0);
    o.str = NULL;
    cr_assert_eq(op_check(&o, NULL), 0);
    cr_assert_eq(rec_apply(r, s_auth[a].pk, &o), 1);
    o = mkop(OP_SET, 2, T(2), KEY, "name", NULL, 0);
    o.str = NULL;
    cr_assert_eq(rec_apply(r, s_auth[a].pk, &o), 1);
    o = mkop(OP_APPEND, 3, T(3), KEY, "diary", NULL, 0);
    o.str = NULL;
    cr_assert_eq(rec_apply(r, s_auth[a].pk, &o), 1);
  }
  cr_assert(set_has(r, "tags", ""));
  expect_reg(r, "name", "");
  op_tag *tags;
  uint32_t n;
  cr_assert_eq(rec_set_tags(r, "tags", 4, NULL, 0, &tags, &n), 0);
  cr_assert_eq(n, 3);
  free(tags);
  /* the same state as with "" pointers */
  rec *q = rec_new();
  for (int a = 0; a < 3; a++) {
    add_(q, a, 1, T(1), "tags", "");
    set_(q, a, 2, T(2), "name", "");
    append_(q, a, 3, T(3), "diary", "");
  }
  lbuf x, y;
  canon(r, KEY, &x);
  canon(q, KEY, &y);
  expect_same_bytes(&x, &y, "canonical");
  lbuf_reset(&x);
  lbuf_reset(&y);
  rec_encode(r, &x);
  rec_encode(q, &y);
  expect_same_bytes(&x, &y, "encoding");
  lbuf_free(&x);
  lbuf_free(&y);
  rec_destroy(&r);
  rec_destroy(&q);
}

/* ---- arena records and the single-pass encoder ---- */

/* rec_encode as it was written before it became one pass: the body into a
 * buffer of its own while the author table fills, then the table, then the
 * body.  The reference for the byte-for-byte comparison below. */
typedef struct ref_atab {
  uint8_t (*keys)[LINLI_PK_BYTES];
  uint32_t n;
} ref_atab;

static uint32_t
ref_index(ref_atab *t, const uint8_t *pk)
{
  for (uint32_t i = 0; i < t->n; i++)
    if (memcmp(t->keys[i], pk, LINLI_PK_BYTES) == 0)
      return i;
  t->keys = realloc(t->keys, (t->n + 1) * sizeof *t->keys);
  cr_assert_not_null(t->keys);
  memcpy(t->keys[t->n], pk, LINLI_PK_BYTES);
  return t->n++;
}

static void
ref_stamp(mpw *w, ref_atab *t, const lstamp *st)
{
  mpw_uint(w, st->hlc);
  mpw_uint(w, ref_index(t, st->author));
  mpw_uint(w, st->seq);
}

static void
ref_encode(const rec *r, lbuf *out)
{
  ref_atab t = {0};
  lbuf body;
  lbuf_init(&body);
  mpw w;
  mpw_init(&w, &body);
  if (r->has_del) {
    mpw_array(&w, 3);
    ref_stamp(&w, &t, &r->del);
  } else {
    mpw_nil(&w);
  }
  mpw_array(&w, r->nhist);
  for (uint32_t i = 0; i < r->nhist; i++) {
    mpw_array(&w, 3);
    ref_stamp(&w, &t, &r->hist[i]);
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
      ref_stamp(&w, &t, &f->ents[k].st);
      if (f->fk == FK_COUNTER)
        mpw_int(&w, f->ents[k].n);
      else
        mpw_str(&w, f->ents[k].s, f->ents[k].s_len);
    }
    mpw_array(&w, f->ntomb);
    for (uint32_t k = 0; k < f->ntomb; k++) {
      mpw_array(&w, 2);
      mpw_uint(&w, ref_index(&t, f->tomb[k].author));
      mpw_uint(&w, f->tomb[k].seq);
    }
  }
  mpw_init(&w, out);
  mpw_array(&w, 5);
  mpw_uint(&w, 1);
  mpw_array(&w, t.n);
  for (uint32_t i = 0; i < t.n; i++)
    mpw_bin(&w, t.keys[i], LINLI_PK_BYTES);
  lbuf_put(out, body.p, body.len);
  lbuf_free(&body);
  free(t.keys);
}

/* Random ops of every kind on one record by up to `nauth` authors (more
 * than the encoder's author table holds on the stack when nauth > 16). */
typedef struct rgen {
  uint32_t st;
  uint32_t nauth;
  uint8_t auth[24][LINLI_PK_BYTES];
  uint64_t seq[24];
  op_tag adds[64];
  uint32_t nadds;
  char text[8][16];
} rgen;

static void
rgen_init(rgen *g, uint32_t seed, uint32_t nauth)
{
  memset(g, 0, sizeof *g);
  g->st = seed;
  g->nauth = nauth;
  for (uint32_t a = 0; a < nauth; a++)
    for (int k = 0; k < LINLI_PK_BYTES; k++)
      g->auth[a][k] = (uint8_t)tu_rand(&g->st);
  for (int i = 0; i < 8; i++)
    snprintf(g->text[i], sizeof g->text[i], "v%u", tu_rand(&g->st) % 1000);
}

static int
s_tag_qcmp(const void *a, const void *b)
{
  return tag_cmp(a, b);
}

/* Makes op number i (its author in *author); tags points at storage for a
 * remove's tags. */
static op
rgen_op(rgen *g, const uint8_t **author, op_tag tags[4])
{
  static const char *const fields[] = {"name", "n", "tags", "diary", "名"};
  uint32_t a = tu_rand(&g->st) % g->nauth;
  *author = g->auth[a];
  uint32_t kind = tu_rand(&g->st) % 12;
  kind = kind < 5 ? OP_SET : kind < 7 ? OP_INCR : kind < 9 ? OP_ADD : kind < 10 ? OP_RM
         : kind < 11 ? OP_APPEND : OP_DEL;
  op o = {.seq = ++g->seq[a], .hlc = T(tu_rand(&g->st) % 50), .kind = (uint8_t)kind};
  o.key = KEY;
  o.key_len = (uint32_t)strlen(KEY);
  const char *f = kind == OP_DEL ? "" : fields[tu_rand(&g->st) % 5];
  o.field = f;
  o.field_len = (uint32_t)strlen(f);
  const char *v = g->text[tu_rand(&g->st) % 8];
  o.str = v;
  o.str_len = (uint32_t)strlen(v);
  o.n = (int64_t)tu_rand(&g->st) - (1 << 30);
  if (kind == OP_ADD && g->nadds < 64) {
    memcpy(g->adds[g->nadds].author, *author, LINLI_PK_BYTES);
    g->adds[g->nadds++].seq = o.seq;
  }
  if (kind == OP_RM) {
    uint32_t n = 1 + tu_rand(&g->st) % 3, k = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (g->nadds > 0 && tu_rand(&g->st) % 4) {
        tags[k++] = g->adds[tu_rand(&g->st) % g->nadds];
      } else {
        memcpy(tags[k].author, g->auth[tu_rand(&g->st) % g->nauth], LINLI_PK_BYTES);
        tags[k++].seq = 1 + tu_rand(&g->st) % 100; /* an add not seen (yet) */
      }
    }
    qsort(tags, k, sizeof *tags, s_tag_qcmp);
    uint32_t u = 0;
    for (uint32_t i = 0; i < k; i++)
      if (u == 0 || tag_cmp(&tags[u - 1], &tags[i]) != 0)
        tags[u++] = tags[i];
    o.tags = tags;
    o.ntags = u;
  }
  return o;
}

Test(record, arena_records_and_single_pass_encoding_match_the_reference)
{
  larena arena;
  larena_init(&arena);
  lbuf a, b, c;
  lbuf_init(&a);
  lbuf_init(&b);
  lbuf_init(&c);
  for (uint32_t trial = 0; trial < 400; trial++) {
    rgen g;
    rgen_init(&g, 1000 + trial, trial % 4 == 3 ? 24 : 1 + trial % 5);
    rec *heap = rec_new(), *ar = rec_new_in(&arena);
    cr_assert_not_null(heap);
    cr_assert_not_null(ar);
    cr_assert_eq(ar->arena, &arena);
    uint32_t nops = 1 + tu_rand(&g.st) % 120;
    for (uint32_t i = 0; i < nops; i++) {
      const uint8_t *author;
      op_tag tags[4];
      op o = rgen_op(&g, &author, tags);
      lerr e;
      cr_assert_eq(op_check(&o, &e), 0, "generated op invalid: %s", e.msg);
      int r1 = rec_apply(heap, author, &o), r2 = rec_apply(ar, author, &o);
      cr_assert_eq(r1, r2);
      cr_assert_geq(r1, 0);
    }
    lbuf_reset(&a);
    lbuf_reset(&b);
    lbuf_reset(&c);
    rec_encode(heap, &a);
    ref_encode(heap, &b);
    rec_encode(ar, &c);
    cr_assert(!a.oom && !b.oom && !c.oom);
    expect_same_bytes(&a, &b, "single-pass encoding against the reference");
    expect_same_bytes(&c, &a, "arena record against heap record");
    /* an arena record decoded from storage is the same record again */
    rec *d = NULL;
    cr_assert_eq(rec_decode_in(&d, &arena, a.p, a.len, NULL), 0);
    cr_assert_eq(d->arena, &arena);
    lbuf_reset(&b);
    rec_encode(d, &b);
    expect_same_bytes(&b, &a, "arena record after a storage round trip");
    rec_destroy(&heap);
    rec_destroy(&ar);
    rec_destroy(&d);
    cr_assert_null(ar);
    if (trial % 50 == 49)
      larena_reset(&arena); /* the records built in it are gone */
  }
  larena_free(&arena);
  lbuf_free(&a);
  lbuf_free(&b);
  lbuf_free(&c);
}

Test(record, other_kind_names_a_visible_field_of_another_kind)
{
  rec *r = rec_new();
  cr_assert_eq(rec_other_kind(r, "诚信积分", strlen("诚信积分"), FK_REGISTER), -1);
  incr_(r, A, 1, T(1), "诚信积分", 1);
  cr_assert_eq(rec_other_kind(r, "诚信积分", strlen("诚信积分"), FK_REGISTER), FK_COUNTER);
  cr_assert_eq(rec_other_kind(r, "诚信积分", strlen("诚信积分"), FK_COUNTER), -1,
               "the same kind is no conflict");
  cr_assert_eq(rec_other_kind(r, "诚信", strlen("诚信"), FK_REGISTER), -1,
               "a prefix of the name is another name");
  /* a field hidden by a delete is no longer in the way */
  del_(r, A, 2, T(2));
  cr_assert_eq(rec_other_kind(r, "诚信积分", strlen("诚信积分"), FK_REGISTER), -1);
  add_(r, B, 1, T(3), "成员", "张小明");
  cr_assert_eq(rec_other_kind(r, "成员", strlen("成员"), FK_LOG), FK_SET);
  rec_destroy(&r);
}
