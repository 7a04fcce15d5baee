/*
 * test_mp.c - crdt/mp: the growable buffer, the canonical msgpack writer
 * (shortest encodings, exact bytes at every size boundary), the strict
 * reader (round trips, wrong types, truncation at every cut point,
 * implausible container counts, the skip depth limit) and utf8_valid.
 * msgpack-c's packer, which linli used to write with, is the reference the
 * writer is compared with over random values.
 */
#include "crdt/err.h"
#include "crdt/mp.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* Initialises `buf` and runs `stmt` with `w`, a writer into it. */
#define ENCODE(buf, stmt)                                                     \
  do {                                                                        \
    lbuf_init(&(buf));                                                        \
    mpw w_;                                                                   \
    mpw_init(&w_, &(buf));                                                    \
    mpw *w = &w_;                                                             \
    stmt;                                                                     \
    cr_assert(!(buf).oom);                                                    \
  } while (0)

static void
expect_bytes(const lbuf *b, const uint8_t *want, size_t n)
{
  cr_assert_eq(b->len, n, "encoded length %zu, want %zu", b->len, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(b->p[i], want[i], "byte %zu: 0x%02x, want 0x%02x", i, b->p[i], want[i]);
}

/* ---- lbuf ---- */

Test(mp, lbuf_put_take_reset)
{
  lbuf b;
  lbuf_init(&b);
  cr_assert_eq(b.len, 0);
  cr_assert_null(b.p);
  cr_assert_eq(lbuf_put(&b, "", 0), 0);
  cr_assert_eq(b.len, 0);
  /* grow past the first allocation several times */
  for (int i = 0; i < 1000; i++) {
    uint8_t c = (uint8_t)i;
    cr_assert_eq(lbuf_put(&b, &c, 1), 0);
  }
  cr_assert_eq(b.len, 1000);
  cr_assert_geq(b.cap, 1000);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq(b.p[i], (uint8_t)i);
  lbuf_reset(&b);
  cr_assert_eq(b.len, 0);
  cr_assert_not_null(b.p);
  cr_assert_eq(lbuf_put(&b, "xyz", 3), 0);
  cr_assert_eq(lbuf_reserve(&b, 5000), 0);
  cr_assert_geq(b.cap - b.len, 5000);
  size_t len = 0;
  uint8_t *p = lbuf_take(&b, &len);
  cr_assert_eq(len, 3);
  cr_assert_eq(memcmp(p, "xyz", 3), 0);
  cr_assert_null(b.p);
  cr_assert_eq(b.len, 0);
  cr_assert_eq(b.cap, 0);
  free(p);
  lbuf_free(&b); /* safe on an empty buffer */
}

Test(mp, lbuf_oom_flag_sticks)
{
  lbuf b;
  lbuf_init(&b);
  cr_assert_eq(lbuf_reserve(&b, SIZE_MAX), LINLI_ENOMEM);
  cr_assert(b.oom);
  cr_assert_eq(lbuf_put(&b, "a", 1), LINLI_ENOMEM);
  cr_assert_eq(lbuf_put(&b, "", 0), LINLI_ENOMEM);
  cr_assert_eq(b.len, 0);
  lbuf_free(&b);
  cr_assert(!b.oom);
}

/* ---- exact canonical bytes ---- */

Test(mp, exact_bytes_small_values)
{
  lbuf b;
  ENCODE(b, mpw_nil(w));
  expect_bytes(&b, (const uint8_t[]){0xc0}, 1);
  lbuf_free(&b);
  ENCODE(b, (mpw_bool(w, true), mpw_bool(w, false)));
  expect_bytes(&b, (const uint8_t[]){0xc3, 0xc2}, 2);
  lbuf_free(&b);
  ENCODE(b, mpw_cstr(w, "abc"));
  expect_bytes(&b, (const uint8_t[]){0xa3, 'a', 'b', 'c'}, 4);
  lbuf_free(&b);
  ENCODE(b, mpw_bin(w, "\x01\x02\x03", 3));
  expect_bytes(&b, (const uint8_t[]){0xc4, 0x03, 1, 2, 3}, 5);
  lbuf_free(&b);
  ENCODE(b, (mpw_array(w, 3), mpw_uint(w, 1), mpw_int(w, -1), mpw_cstr(w, "")));
  expect_bytes(&b, (const uint8_t[]){0x93, 0x01, 0xff, 0xa0}, 4);
  lbuf_free(&b);
  ENCODE(b, (mpw_map(w, 1), mpw_cstr(w, "k"), mpw_uint(w, 0)));
  expect_bytes(&b, (const uint8_t[]){0x81, 0xa1, 'k', 0x00}, 4);
  lbuf_free(&b);
  /* a positive value given to mpw_int is encoded as an unsigned integer */
  ENCODE(b, (mpw_int(w, 127), mpw_int(w, 128), mpw_int(w, 300)));
  expect_bytes(&b, (const uint8_t[]){0x7f, 0xcc, 0x80, 0xcd, 0x01, 0x2c}, 6);
  lbuf_free(&b);
  /* mpw_raw copies bytes verbatim */
  ENCODE(b, (mpw_array(w, 2), mpw_raw(w, "\xc0\xc3", 2)));
  expect_bytes(&b, (const uint8_t[]){0x92, 0xc0, 0xc3}, 3);
  lbuf_free(&b);
}

/* ---- against msgpack-c ---- */

static int
s_ref_write(void *data, const char *buf, size_t len)
{
  return lbuf_put(data, buf, len) == 0 ? 0 : -1;
}

/* A value of a random bit width, so that every encoding size is hit. */
static uint64_t
s_rand_width(uint32_t *st)
{
  uint64_t v = (uint64_t)tu_rand(st) << 32 | tu_rand(st);
  unsigned bits = tu_rand(st) % 65;
  return bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

/* A length near one of the size boundaries of str, bin and containers. */
static uint32_t
s_rand_len(uint32_t *st)
{
  static const uint32_t edges[] = {0, 15, 16, 31, 32, 255, 256, 65535, 65536};
  uint32_t e = edges[tu_rand(st) % (sizeof edges / sizeof edges[0])];
  uint32_t d = tu_rand(st) % 3;
  return e >= 1 && d == 0 ? e - 1 : e + (d == 2);
}

Test(mp, writer_matches_msgpack_c)
{
  static char body[65540];
  for (size_t i = 0; i < sizeof body; i++)
    body[i] = (char)('a' + i % 26);
  uint32_t st = 20261128;
  lbuf mine, ref;
  lbuf_init(&mine);
  lbuf_init(&ref);
  mpw w;
  mpw_init(&w, &mine);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &ref, s_ref_write);
  for (int i = 0; i < 20000; i++) {
    uint64_t v = s_rand_width(&st);
    uint32_t n = s_rand_len(&st);
    switch (tu_rand(&st) % 8) {
    case 0: mpw_uint(&w, v); msgpack_pack_uint64(&pk, v); break;
    case 1: mpw_int(&w, (int64_t)v); msgpack_pack_int64(&pk, (int64_t)v); break;
    case 2: mpw_int(&w, -(int64_t)(v >> 1)); msgpack_pack_int64(&pk, -(int64_t)(v >> 1)); break;
    case 3:
      mpw_str(&w, body, n);
      msgpack_pack_str(&pk, n);
      msgpack_pack_str_body(&pk, body, n);
      break;
    case 4:
      mpw_bin(&w, body, n);
      msgpack_pack_bin(&pk, n);
      msgpack_pack_bin_body(&pk, body, n);
      break;
    case 5: mpw_array(&w, n); msgpack_pack_array(&pk, n); break;
    case 6: mpw_map(&w, n); msgpack_pack_map(&pk, n); break;
    default:
      mpw_nil(&w);
      mpw_bool(&w, v & 1);
      msgpack_pack_nil(&pk);
      (v & 1) ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    }
    cr_assert_eq(mine.len, ref.len, "step %d: %zu bytes, msgpack-c wrote %zu", i, mine.len,
                 ref.len);
  }
  cr_assert(!mine.oom && !ref.oom);
  cr_assert_eq(memcmp(mine.p, ref.p, mine.len), 0);
  lbuf_free(&mine);
  lbuf_free(&ref);
}

Test(mp, put_primitives_match_their_lengths)
{
  uint32_t st = 7;
  for (int i = 0; i < 100000; i++) {
    uint8_t buf[MP_HDR_MAX];
    uint64_t v = s_rand_width(&st);
    uint32_t n = (uint32_t)s_rand_width(&st);
    cr_assert_eq((size_t)(mp_put_uint(buf, v) - buf), mp_uint_len(v));
    cr_assert_eq((size_t)(mp_put_int(buf, (int64_t)v) - buf), mp_int_len((int64_t)v));
    cr_assert_eq((size_t)(mp_put_array(buf, n) - buf), mp_array_len(n));
    cr_assert_eq((size_t)(mp_put_str_hdr(buf, n) - buf) + n, mp_str_len(n));
    cr_assert_eq((size_t)(mp_put_bin_hdr(buf, n) - buf) + n, mp_bin_len(n));
  }
}

typedef struct uint_case {
  uint64_t v;
  uint8_t bytes[9];
  size_t n;
} uint_case;

static const uint_case s_uints[] = {
  {0, {0x00}, 1},
  {1, {0x01}, 1},
  {127, {0x7f}, 1},
  {128, {0xcc, 0x80}, 2},
  {255, {0xcc, 0xff}, 2},
  {256, {0xcd, 0x01, 0x00}, 3},
  {65535, {0xcd, 0xff, 0xff}, 3},
  {65536, {0xce, 0x00, 0x01, 0x00, 0x00}, 5},
  {UINT64_C(0xffffffff), {0xce, 0xff, 0xff, 0xff, 0xff}, 5},
  {UINT64_C(0x100000000), {0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0}, 9},
  {UINT64_C(0x7fffffffffffffff), {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
  {UINT64_C(0x8000000000000000), {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
  {UINT64_MAX, {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
};

Test(mp, uint_boundaries_exact_and_round_trip)
{
  for (size_t i = 0; i < sizeof s_uints / sizeof s_uints[0]; i++) {
    const uint_case *c = &s_uints[i];
    lbuf b;
    ENCODE(b, mpw_uint(w, c->v));
    expect_bytes(&b, c->bytes, c->n);
    mpr r;
    uint64_t u = 12345;
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_peek(&r), MP_UINT);
    cr_assert_eq(mpr_uint(&r, &u), 0);
    cr_assert_eq(u, c->v, "uint %llu read back as %llu", (unsigned long long)c->v,
                 (unsigned long long)u);
    cr_assert_eq(mpr_left(&r), 0);
    /* as a signed integer: fine while it fits int64 */
    int64_t s = 0;
    mpr_init(&r, b.p, b.len);
    if (c->v <= INT64_MAX) {
      cr_assert_eq(mpr_int(&r, &s), 0);
      cr_assert_eq(s, (int64_t)c->v);
      cr_assert_eq(mpr_left(&r), 0);
    } else {
      cr_assert_eq(mpr_int(&r, &s), LINLI_EMALFORMED);
    }
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_skip(&r), 0);
    cr_assert_eq(mpr_left(&r), 0);
    /* every cut of the encoding is rejected */
    for (size_t cut = 0; cut < b.len; cut++) {
      mpr_init(&r, b.p, cut);
      cr_assert_eq(mpr_uint(&r, &u), LINLI_EMALFORMED, "uint cut at %zu accepted", cut);
      mpr_init(&r, b.p, cut);
      cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
    }
    lbuf_free(&b);
  }
}

typedef struct int_case {
  int64_t v;
  uint8_t bytes[9];
  size_t n;
} int_case;

static const int_case s_ints[] = {
  {0, {0x00}, 1},
  {5, {0x05}, 1},
  {-1, {0xff}, 1},
  {-32, {0xe0}, 1},
  {-33, {0xd0, 0xdf}, 2},
  {-128, {0xd0, 0x80}, 2},
  {-129, {0xd1, 0xff, 0x7f}, 3},
  {-32768, {0xd1, 0x80, 0x00}, 3},
  {-32769, {0xd2, 0xff, 0xff, 0x7f, 0xff}, 5},
  {INT32_MIN, {0xd2, 0x80, 0x00, 0x00, 0x00}, 5},
  {(int64_t)INT32_MIN - 1, {0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9},
  {INT64_MIN, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
  {INT64_MAX, {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
  {200, {0xcc, 0xc8}, 2},
};

Test(mp, int_boundaries_exact_and_round_trip)
{
  for (size_t i = 0; i < sizeof s_ints / sizeof s_ints[0]; i++) {
    const int_case *c = &s_ints[i];
    lbuf b;
    ENCODE(b, mpw_int(w, c->v));
    expect_bytes(&b, c->bytes, c->n);
    mpr r;
    int64_t s = 777;
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_peek(&r), c->v < 0 ? MP_NINT : MP_UINT);
    cr_assert_eq(mpr_int(&r, &s), 0);
    cr_assert_eq(s, c->v, "int %lld read back as %lld", (long long)c->v, (long long)s);
    cr_assert_eq(mpr_left(&r), 0);
    uint64_t u = 99;
    mpr_init(&r, b.p, b.len);
    if (c->v < 0) {
      /* a negative value is not an unsigned integer, and the cursor stays */
      cr_assert_eq(mpr_uint(&r, &u), LINLI_EMALFORMED);
      cr_assert_eq(u, 99);
      cr_assert_eq(mpr_left(&r), b.len);
    } else {
      cr_assert_eq(mpr_uint(&r, &u), 0);
      cr_assert_eq(u, (uint64_t)c->v);
    }
    for (size_t cut = 0; cut < b.len; cut++) {
      mpr_init(&r, b.p, cut);
      cr_assert_eq(mpr_int(&r, &s), LINLI_EMALFORMED, "int cut at %zu accepted", cut);
    }
    lbuf_free(&b);
  }
}

Test(mp, int_reader_takes_the_shortest_form_only)
{
  /* Each integer width is read when it is the shortest form of its value
   * (docs/FORMAT.md, "Conventions"); a longer form, or a non-negative value
   * in a signed type, is refused and leaves the cursor. */
  static const struct { uint8_t b[9]; size_t n; int64_t v; bool ok; } cases[] = {
    {{0xcc, 0x80}, 2, 0x80, true},
    {{0xcd, 0x01, 0x00}, 3, 0x100, true},
    {{0xce, 0x00, 0x01, 0x00, 0x00}, 5, 0x10000, true},
    {{0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, 9, INT64_C(0x100000000), true},
    {{0xd0, 0xdf}, 2, -33, true},
    {{0xd1, 0xff, 0x7f}, 3, -129, true},
    {{0xd2, 0xff, 0xff, 0x7f, 0xff}, 5, -32769, true},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9, -INT64_C(0x80000001), true},
    {{0xcc, 0x05}, 2, 5, false},
    {{0xcc, 0x7f}, 2, 0x7f, false},
    {{0xcd, 0x00, 0x05}, 3, 5, false},
    {{0xcd, 0x00, 0xff}, 3, 0xff, false},
    {{0xce, 0x00, 0x00, 0x00, 0x05}, 5, 5, false},
    {{0xce, 0x00, 0x00, 0xff, 0xff}, 5, 0xffff, false},
    {{0xcf, 0, 0, 0, 0, 0, 0, 0, 0x05}, 9, 5, false},
    {{0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 9, 0xffffffff, false},
    {{0xd0, 0x05}, 2, 5, false},
    {{0xd0, 0xfb}, 2, -5, false},
    {{0xd0, 0xe0}, 2, -32, false},
    {{0xd1, 0xff, 0xfb}, 3, -5, false},
    {{0xd1, 0xff, 0x80}, 3, -128, false},
    {{0xd1, 0x00, 0x05}, 3, 5, false},
    {{0xd2, 0xff, 0xff, 0xff, 0xfb}, 5, -5, false},
    {{0xd2, 0xff, 0xff, 0x80, 0x00}, 5, -32768, false},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb}, 9, -5, false},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0}, 9, INT32_MIN, false},
    {{0xd3, 0, 0, 0, 0, 0, 0, 0, 5}, 9, 5, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mpr r;
    int64_t v = 0;
    uint64_t u = 0;
    mpr_init(&r, cases[i].b, cases[i].n);
    if (!cases[i].ok) {
      cr_assert_eq(mpr_int(&r, &v), LINLI_EMALFORMED, "case %zu accepted", i);
      cr_assert_eq(mpr_left(&r), cases[i].n, "case %zu moved the cursor", i);
      cr_assert_eq(mpr_uint(&r, &u), LINLI_EMALFORMED, "case %zu accepted as uint", i);
      cr_assert_eq(mpr_left(&r), cases[i].n, "case %zu moved the cursor", i);
      cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED, "case %zu skipped", i);
      continue;
    }
    cr_assert_eq(mpr_int(&r, &v), 0, "case %zu", i);
    cr_assert_eq(v, cases[i].v, "case %zu", i);
    cr_assert_eq(mpr_left(&r), 0);
  }
  /* uint 64 beyond int64 is still the shortest form of its value */
  static const uint8_t top[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  mpr r;
  uint64_t u;
  mpr_init(&r, top, sizeof top);
  cr_assert_eq(mpr_uint(&r, &u), 0);
  cr_assert_eq(u, UINT64_MAX);
}

Test(mp, readers_refuse_long_forms_of_lengths)
{
  /* str 8 under 32 bytes, str 16 under 256, bin 16 under 256, array 16
   * under 16, map 16 under 16, array 32 under 65,536: each is legal
   * msgpack but not the canonical form, and refused. */
  static const uint8_t str8[] = {0xd9, 0x01, 'a'};
  static const uint8_t str16[] = {0xda, 0x00, 0x01, 'a'};
  static const uint8_t str32[] = {0xdb, 0x00, 0x00, 0x00, 0x01, 'a'};
  static const uint8_t bin16[] = {0xc5, 0x00, 0x01, 'a'};
  static const uint8_t bin32[] = {0xc6, 0x00, 0x00, 0x01, 0x00, 'a'};
  static const uint8_t arr16[] = {0xdc, 0x00, 0x01, 0xc0};
  static const uint8_t arr32[] = {0xdd, 0x00, 0x00, 0x00, 0x01, 0xc0};
  static const uint8_t map16[] = {0xde, 0x00, 0x01, 0xc0, 0xc0};
  const char *sp;
  const uint8_t *bp;
  uint32_t n;
  mpr r;
  mpr_init(&r, str8, sizeof str8);
  cr_assert_eq(mpr_str(&r, &sp, &n), LINLI_EMALFORMED);
  cr_assert_eq(mpr_left(&r), sizeof str8);
  mpr_init(&r, str16, sizeof str16);
  cr_assert_eq(mpr_str(&r, &sp, &n), LINLI_EMALFORMED);
  mpr_init(&r, str32, sizeof str32);
  cr_assert_eq(mpr_str(&r, &sp, &n), LINLI_EMALFORMED);
  mpr_init(&r, bin16, sizeof bin16);
  cr_assert_eq(mpr_bin(&r, &bp, &n), LINLI_EMALFORMED);
  mpr_init(&r, bin32, sizeof bin32);
  cr_assert_eq(mpr_bin(&r, &bp, &n), LINLI_EMALFORMED);
  mpr_init(&r, arr16, sizeof arr16);
  cr_assert_eq(mpr_array(&r, &n), LINLI_EMALFORMED);
  mpr_init(&r, arr32, sizeof arr32);
  cr_assert_eq(mpr_array(&r, &n), LINLI_EMALFORMED);
  mpr_init(&r, map16, sizeof map16);
  cr_assert_eq(mpr_map(&r, &n), LINLI_EMALFORMED);
  mpr_init(&r, str8, sizeof str8);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  mpr_init(&r, arr16, sizeof arr16);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  /* the shortest forms at the boundaries are read */
  uint8_t s8ok[2 + 32] = {0xd9, 32};
  mpr_init(&r, s8ok, sizeof s8ok);
  cr_assert_eq(mpr_str(&r, &sp, &n), 0);
  cr_assert_eq(n, 32);
  uint8_t a16ok[3 + 16] = {0xdc, 0x00, 16};
  mpr_init(&r, a16ok, sizeof a16ok);
  cr_assert_eq(mpr_array(&r, &n), 0);
  cr_assert_eq(n, 16);
  static const uint8_t bin8[] = {0xc4, 0x00};
  mpr_init(&r, bin8, sizeof bin8);
  cr_assert_eq(mpr_bin(&r, &bp, &n), 0, "bin 8 is the shortest bin, even when empty");
}

/* ---- strings, binary, containers at every header boundary ---- */

static char *
pattern(size_t n)
{
  char *s = malloc(n ? n : 1);
  cr_assert_not_null(s);
  for (size_t i = 0; i < n; i++)
    s[i] = (char)('a' + i % 26);
  return s;
}

Test(mp, str_boundaries)
{
  static const struct { size_t n; uint8_t hdr[5]; size_t hn; } cases[] = {
    {0, {0xa0}, 1},
    {1, {0xa1}, 1},
    {31, {0xbf}, 1},
    {32, {0xd9, 0x20}, 2},
    {255, {0xd9, 0xff}, 2},
    {256, {0xda, 0x01, 0x00}, 3},
    {65535, {0xda, 0xff, 0xff}, 3},
    {65536, {0xdb, 0x00, 0x01, 0x00, 0x00}, 5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = cases[i].n;
    char *s = pattern(n);
    lbuf b;
    ENCODE(b, mpw_str(w, s, n));
    cr_assert_eq(b.len, cases[i].hn + n, "str %zu: length %zu", n, b.len);
    cr_assert_eq(memcmp(b.p, cases[i].hdr, cases[i].hn), 0, "str %zu: header", n);
    cr_assert_eq(memcmp(b.p + cases[i].hn, s, n), 0);
    mpr r;
    const char *got;
    uint32_t gn;
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_peek(&r), MP_STR);
    cr_assert_eq(mpr_str(&r, &got, &gn), 0);
    cr_assert_eq(gn, n);
    cr_assert_eq(memcmp(got, s, n), 0);
    cr_assert_eq((const uint8_t *)got, b.p + cases[i].hn, "strings are borrowed");
    cr_assert_eq(mpr_left(&r), 0);
    /* a string is not binary */
    const uint8_t *bp;
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_bin(&r, &bp, &gn), LINLI_EMALFORMED);
    /* truncation: header cuts, and a sample of body cuts */
    for (size_t cut = 0; cut < b.len; cut += (cut < 8 || b.len - cut < 8) ? 1 : 97) {
      mpr_init(&r, b.p, cut);
      cr_assert_eq(mpr_str(&r, &got, &gn), LINLI_EMALFORMED, "str %zu cut %zu", n, cut);
      mpr_init(&r, b.p, cut);
      cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
    }
    lbuf_free(&b);
    free(s);
  }
  /* mpw_cstr is mpw_str with strlen */
  lbuf b1, b2;
  ENCODE(b1, mpw_cstr(w, "hello"));
  ENCODE(b2, mpw_str(w, "hello", 5));
  cr_assert_eq(b1.len, b2.len);
  cr_assert_eq(memcmp(b1.p, b2.p, b1.len), 0);
  lbuf_free(&b1);
  lbuf_free(&b2);
}

Test(mp, bin_boundaries)
{
  static const struct { size_t n; uint8_t hdr[5]; size_t hn; } cases[] = {
    {0, {0xc4, 0x00}, 2},
    {32, {0xc4, 0x20}, 2},
    {255, {0xc4, 0xff}, 2},
    {256, {0xc5, 0x01, 0x00}, 3},
    {65535, {0xc5, 0xff, 0xff}, 3},
    {65536, {0xc6, 0x00, 0x01, 0x00, 0x00}, 5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = cases[i].n;
    char *s = pattern(n);
    lbuf b;
    ENCODE(b, mpw_bin(w, s, n));
    cr_assert_eq(b.len, cases[i].hn + n);
    cr_assert_eq(memcmp(b.p, cases[i].hdr, cases[i].hn), 0, "bin %zu: header", n);
    mpr r;
    const uint8_t *got;
    uint32_t gn;
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_peek(&r), MP_BIN);
    cr_assert_eq(mpr_bin(&r, &got, &gn), 0);
    cr_assert_eq(gn, n);
    cr_assert_eq(memcmp(got, s, n), 0);
    cr_assert_eq(mpr_left(&r), 0);
    const char *sp;
    mpr_init(&r, b.p, b.len);
    cr_assert_eq(mpr_str(&r, &sp, &gn), LINLI_EMALFORMED, "binary is not a string");
    for (size_t cut = 0; cut < b.len; cut += (cut < 8 || b.len - cut < 8) ? 1 : 97) {
      mpr_init(&r, b.p, cut);
      cr_assert_eq(mpr_bin(&r, &got, &gn), LINLI_EMALFORMED, "bin %zu cut %zu", n, cut);
    }
    lbuf_free(&b);
    free(s);
  }
}

Test(mp, bin_n_exact_length)
{
  uint8_t key[32];
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(i * 7);
  lbuf b;
  ENCODE(b, mpw_bin(w, key, 32));
  mpr r;
  uint8_t out[33] = {0};
  mpr_init(&r, b.p, b.len);
  cr_assert_eq(mpr_bin_n(&r, out, 32), 0);
  cr_assert_eq(memcmp(out, key, 32), 0);
  mpr_init(&r, b.p, b.len);
  cr_assert_eq(mpr_bin_n(&r, out, 31), LINLI_EMALFORMED);
  mpr_init(&r, b.p, b.len);
  cr_assert_eq(mpr_bin_n(&r, out, 33), LINLI_EMALFORMED);
  lbuf_free(&b);
}

Test(mp, container_boundaries)
{
  static const struct { uint32_t n; uint8_t ahdr[5], mhdr[5]; size_t hn; } cases[] = {
    {0, {0x90}, {0x80}, 1},
    {15, {0x9f}, {0x8f}, 1},
    {16, {0xdc, 0x00, 0x10}, {0xde, 0x00, 0x10}, 3},
    {65535, {0xdc, 0xff, 0xff}, {0xde, 0xff, 0xff}, 3},
    {65536, {0xdd, 0x00, 0x01, 0x00, 0x00}, {0xdf, 0x00, 0x01, 0x00, 0x00}, 5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint32_t n = cases[i].n;
    lbuf a, m;
    ENCODE(a, {
      mpw_array(w, n);
      for (uint32_t k = 0; k < n; k++)
        mpw_uint(w, k & 0x7f);
    });
    ENCODE(m, {
      mpw_map(w, n);
      for (uint32_t k = 0; k < n; k++) {
        mpw_nil(w);
        mpw_bool(w, k & 1);
      }
    });
    cr_assert_eq(a.len, cases[i].hn + n);
    cr_assert_eq(memcmp(a.p, cases[i].ahdr, cases[i].hn), 0, "array %u header", n);
    cr_assert_eq(m.len, cases[i].hn + 2 * (size_t)n);
    cr_assert_eq(memcmp(m.p, cases[i].mhdr, cases[i].hn), 0, "map %u header", n);

    mpr r;
    uint32_t got = 0;
    mpr_init(&r, a.p, a.len);
    cr_assert_eq(mpr_peek(&r), MP_ARRAY);
    cr_assert_eq(mpr_array(&r, &got), 0);
    cr_assert_eq(got, n);
    for (uint32_t k = 0; k < n; k++) {
      uint64_t v;
      cr_assert_eq(mpr_uint(&r, &v), 0);
      cr_assert_eq(v, k & 0x7f);
    }
    cr_assert_eq(mpr_left(&r), 0);
    mpr_init(&r, a.p, a.len);
    cr_assert_eq(mpr_array_n(&r, n), 0);
    mpr_init(&r, a.p, a.len);
    cr_assert_eq(mpr_array_n(&r, n + 1), LINLI_EMALFORMED);
    mpr_init(&r, a.p, a.len);
    cr_assert_eq(mpr_map(&r, &got), LINLI_EMALFORMED, "an array is not a map");
    mpr_init(&r, a.p, a.len);
    cr_assert_eq(mpr_skip(&r), 0);
    cr_assert_eq(mpr_left(&r), 0);

    mpr_init(&r, m.p, m.len);
    cr_assert_eq(mpr_peek(&r), MP_MAP);
    cr_assert_eq(mpr_map(&r, &got), 0);
    cr_assert_eq(got, n);
    for (uint32_t k = 0; k < n; k++) {
      bool bv;
      cr_assert_eq(mpr_nil(&r), 0);
      cr_assert_eq(mpr_bool(&r, &bv), 0);
      cr_assert_eq(bv, (bool)(k & 1));
    }
    cr_assert_eq(mpr_left(&r), 0);
    mpr_init(&r, m.p, m.len);
    cr_assert_eq(mpr_array(&r, &got), LINLI_EMALFORMED, "a map is not an array");
    mpr_init(&r, m.p, m.len);
    cr_assert_eq(mpr_skip(&r), 0);
    cr_assert_eq(mpr_left(&r), 0);
    lbuf_free(&a);
    lbuf_free(&m);
  }
}

Test(mp, nil_and_bool)
{
  lbuf b;
  ENCODE(b, (mpw_nil(w), mpw_bool(w, true), mpw_bool(w, false)));
  mpr r;
  bool v = false;
  mpr_init(&r, b.p, b.len);
  cr_assert_eq(mpr_peek(&r), MP_NIL);
  cr_assert_eq(mpr_bool(&r, &v), LINLI_EMALFORMED);
  cr_assert_eq(mpr_nil(&r), 0);
  cr_assert_eq(mpr_peek(&r), MP_BOOL);
  cr_assert_eq(mpr_nil(&r), LINLI_EMALFORMED);
  cr_assert_eq(mpr_bool(&r, &v), 0);
  cr_assert(v);
  cr_assert_eq(mpr_bool(&r, &v), 0);
  cr_assert(!v);
  cr_assert_eq(mpr_left(&r), 0);
  cr_assert_eq(mpr_peek(&r), MP_BAD);
  cr_assert_eq(mpr_nil(&r), LINLI_EMALFORMED);
  cr_assert_eq(mpr_bool(&r, &v), LINLI_EMALFORMED);
  lbuf_free(&b);
}

Test(mp, empty_and_null_input)
{
  /* an empty lbuf has p == NULL: reading it must fail cleanly */
  mpr r;
  uint64_t u;
  const char *s;
  uint32_t n;
  mpr_init(&r, NULL, 0);
  cr_assert_eq(mpr_left(&r), 0);
  cr_assert_eq(mpr_peek(&r), MP_BAD);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  cr_assert_eq(mpr_uint(&r, &u), LINLI_EMALFORMED);
  cr_assert_eq(mpr_str(&r, &s, &n), LINLI_EMALFORMED);
  cr_assert_eq(mpr_array(&r, &n), LINLI_EMALFORMED);
  cr_assert_eq(mpr_nil(&r), LINLI_EMALFORMED);
  /* and an empty string may be written from (NULL, 0) */
  lbuf b;
  ENCODE(b, (mpw_str(w, NULL, 0), mpw_bin(w, NULL, 0)));
  expect_bytes(&b, (const uint8_t[]){0xa0, 0xc4, 0x00}, 3);
  lbuf_free(&b);
}

/* ---- types ---- */

Test(mp, peek_every_type)
{
  static const struct { uint8_t b; enum mp_type t; } cases[] = {
    {0x00, MP_UINT}, {0x7f, MP_UINT}, {0x80, MP_MAP}, {0x8f, MP_MAP},
    {0x90, MP_ARRAY}, {0x9f, MP_ARRAY}, {0xa0, MP_STR}, {0xbf, MP_STR},
    {0xc0, MP_NIL}, {0xc1, MP_BAD}, {0xc2, MP_BOOL}, {0xc3, MP_BOOL},
    {0xc4, MP_BIN}, {0xc5, MP_BIN}, {0xc6, MP_BIN}, {0xc7, MP_EXT},
    {0xc8, MP_EXT}, {0xc9, MP_EXT}, {0xca, MP_FLOAT}, {0xcb, MP_FLOAT},
    {0xcc, MP_UINT}, {0xcd, MP_UINT}, {0xce, MP_UINT}, {0xcf, MP_UINT},
    {0xd0, MP_NINT}, {0xd3, MP_NINT}, {0xd4, MP_EXT}, {0xd8, MP_EXT},
    {0xd9, MP_STR}, {0xdb, MP_STR}, {0xdc, MP_ARRAY}, {0xdd, MP_ARRAY},
    {0xde, MP_MAP}, {0xdf, MP_MAP}, {0xe0, MP_NINT}, {0xff, MP_NINT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mpr r;
    mpr_init(&r, &cases[i].b, 1);
    cr_assert_eq(mpr_peek(&r), cases[i].t, "peek 0x%02x", cases[i].b);
    cr_assert_eq(mpr_left(&r), 1, "peek does not consume");
  }
  mpr r;
  mpr_init(&r, "", 0);
  cr_assert_eq(mpr_peek(&r), MP_BAD);
}

Test(mp, readers_reject_wrong_types)
{
  lbuf b;
  /* one object of each type */
  ENCODE(b, {
    mpw_nil(w);
    mpw_bool(w, true);
    mpw_uint(w, 7);
    mpw_int(w, -7);
    mpw_cstr(w, "s");
    mpw_bin(w, "b", 1);
    mpw_array(w, 0);
    mpw_map(w, 0);
    mpw_raw(w, "\xca\x3f\x80\x00\x00", 5); /* float32 1.0 */
    mpw_raw(w, "\xd4\x01\x02", 3);         /* fixext1 */
  });
  size_t off[11];
  {
    mpr r;
    mpr_init(&r, b.p, b.len);
    for (int i = 0; i < 9; i++) {
      off[i] = (size_t)(r.p - b.p);
      cr_assert_eq(mpr_skip(&r), 0, "skip object %d", i);
    }
    off[9] = (size_t)(r.p - b.p);
    off[10] = b.len;
    /* ext types are never used by linli: skip refuses them */
    cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  }
  /* which readers accept object i: bit per reader */
  enum { R_NIL, R_BOOL, R_UINT, R_INT, R_STR, R_BIN, R_ARR, R_MAP, R_COUNT };
  static const unsigned accept[10] = {
    1u << R_NIL, 1u << R_BOOL, 1u << R_UINT | 1u << R_INT, 1u << R_INT,
    1u << R_STR, 1u << R_BIN, 1u << R_ARR, 1u << R_MAP, 0, 0,
  };
  for (int i = 0; i < 10; i++) {
    for (int k = 0; k < R_COUNT; k++) {
      mpr r;
      mpr_init(&r, b.p + off[i], off[i + 1] - off[i]);
      bool bv;
      uint64_t u;
      int64_t s;
      const char *sp;
      const uint8_t *bp;
      uint32_t n;
      int rc = 0;
      switch (k) {
      case R_NIL: rc = mpr_nil(&r); break;
      case R_BOOL: rc = mpr_bool(&r, &bv); break;
      case R_UINT: rc = mpr_uint(&r, &u); break;
      case R_INT: rc = mpr_int(&r, &s); break;
      case R_STR: rc = mpr_str(&r, &sp, &n); break;
      case R_BIN: rc = mpr_bin(&r, &bp, &n); break;
      case R_ARR: rc = mpr_array(&r, &n); break;
      case R_MAP: rc = mpr_map(&r, &n); break;
      }
      bool want = accept[i] >> k & 1;
      cr_assert_eq(rc, want ? 0 : LINLI_EMALFORMED, "object %d reader %d: rc %d", i, k, rc);
      if (want)
        cr_assert_eq(mpr_left(&r), 0, "object %d reader %d consumed it all", i, k);
    }
  }
  lbuf_free(&b);
}

Test(mp, int_rejects_uint64_beyond_int64)
{
  static const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
  mpr r;
  int64_t v;
  uint64_t u;
  mpr_init(&r, big, sizeof big);
  cr_assert_eq(mpr_int(&r, &v), LINLI_EMALFORMED);
  mpr_init(&r, big, sizeof big);
  cr_assert_eq(mpr_uint(&r, &u), 0);
  cr_assert_eq(u, UINT64_C(1) << 63);
}

/* ---- truncation of a composite object ---- */

/* Writes an object that uses every kind of header linli reads. */
static void
write_composite(mpw *w)
{
  static char big[300];
  memset(big, 'q', sizeof big);
  mpw_array(w, 17);
  mpw_uint(w, 1);
  mpw_uint(w, 200);
  mpw_uint(w, 60000);
  mpw_uint(w, 4000000000u);
  mpw_uint(w, UINT64_C(1) << 40);
  mpw_int(w, -5);
  mpw_int(w, -100);
  mpw_int(w, -30000);
  mpw_int(w, INT64_MIN);
  mpw_cstr(w, "金都社区");
  mpw_str(w, big, 40);
  mpw_str(w, big, 300);
  mpw_bin(w, big, 32);
  mpw_nil(w);
  mpw_bool(w, true);
  mpw_map(w, 2);
  mpw_cstr(w, "a");
  mpw_array(w, 2);
  mpw_uint(w, 3);
  mpw_cstr(w, "x");
  mpw_cstr(w, "b");
  mpw_map(w, 0);
  mpw_array(w, 20);
  for (int i = 0; i < 20; i++)
    mpw_int(w, -i);
}

/* Reads back exactly what write_composite wrote, checking every value. */
static int
read_composite(mpr *r)
{
  uint64_t u;
  int64_t s;
  const char *sp;
  const uint8_t *bp;
  uint32_t n;
  bool bv;
  if (mpr_array_n(r, 17)) return -1;
  if (mpr_uint(r, &u) || u != 1) return -1;
  if (mpr_uint(r, &u) || u != 200) return -1;
  if (mpr_uint(r, &u) || u != 60000) return -1;
  if (mpr_uint(r, &u) || u != 4000000000u) return -1;
  if (mpr_uint(r, &u) || u != UINT64_C(1) << 40) return -1;
  if (mpr_int(r, &s) || s != -5) return -1;
  if (mpr_int(r, &s) || s != -100) return -1;
  if (mpr_int(r, &s) || s != -30000) return -1;
  if (mpr_int(r, &s) || s != INT64_MIN) return -1;
  if (mpr_str(r, &sp, &n) || n != strlen("金都社区") || memcmp(sp, "金都社区", n)) return -1;
  if (mpr_str(r, &sp, &n) || n != 40) return -1;
  if (mpr_str(r, &sp, &n) || n != 300 || sp[299] != 'q') return -1;
  if (mpr_bin(r, &bp, &n) || n != 32) return -1;
  if (mpr_nil(r)) return -1;
  if (mpr_bool(r, &bv) || !bv) return -1;
  if (mpr_map(r, &n) || n != 2) return -1;
  if (mpr_str(r, &sp, &n) || n != 1 || sp[0] != 'a') return -1;
  if (mpr_array_n(r, 2) || mpr_uint(r, &u) || u != 3) return -1;
  if (mpr_str(r, &sp, &n) || n != 1 || sp[0] != 'x') return -1;
  if (mpr_str(r, &sp, &n) || n != 1 || sp[0] != 'b') return -1;
  if (mpr_map(r, &n) || n != 0) return -1;
  if (mpr_array_n(r, 20)) return -1;
  for (int i = 0; i < 20; i++)
    if (mpr_int(r, &s) || s != -i) return -1;
  return 0;
}

Test(mp, truncated_composite_rejected_at_every_cut)
{
  lbuf b;
  ENCODE(b, write_composite(w));
  mpr r;
  mpr_init(&r, b.p, b.len);
  cr_assert_eq(read_composite(&r), 0);
  cr_assert_eq(mpr_left(&r), 0);
  mpr_init(&r, b.p, b.len);
  cr_assert_eq(mpr_skip(&r), 0);
  cr_assert_eq(mpr_left(&r), 0);
  for (size_t cut = 0; cut < b.len; cut++) {
    /* a copy of exactly `cut` bytes, so ASan sees any read past the end */
    uint8_t *p = malloc(cut ? cut : 1);
    cr_assert_not_null(p);
    memcpy(p, b.p, cut);
    mpr_init(&r, p, cut);
    cr_assert_neq(read_composite(&r), 0, "typed read of %zu of %zu bytes accepted", cut, b.len);
    cr_assert_leq(r.p, r.end);
    mpr_init(&r, p, cut);
    cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED, "skip of %zu of %zu bytes accepted", cut,
                 b.len);
    cr_assert_leq(r.p, r.end);
    free(p);
  }
  lbuf_free(&b);
}

/* ---- hostile headers ---- */

Test(mp, container_count_larger_than_input)
{
  mpr r;
  uint32_t n = 0;
  /* array32 claiming 4G elements with nothing after it */
  static const uint8_t a32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  mpr_init(&r, a32, sizeof a32);
  cr_assert_eq(mpr_array(&r, &n), LINLI_EMALFORMED);
  mpr_init(&r, a32, sizeof a32);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  static const uint8_t m32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  mpr_init(&r, m32, sizeof m32);
  cr_assert_eq(mpr_map(&r, &n), LINLI_EMALFORMED);
  /* array16 of 20: 19 bytes left is too few, 20 is enough */
  uint8_t a16[3 + 20] = {0xdc, 0x00, 20};
  mpr_init(&r, a16, sizeof a16 - 1);
  cr_assert_eq(mpr_array(&r, &n), LINLI_EMALFORMED);
  mpr_init(&r, a16, sizeof a16);
  cr_assert_eq(mpr_array(&r, &n), 0);
  cr_assert_eq(n, 20);
  /* fixmap of 2 needs at least 4 bytes */
  static const uint8_t fm[] = {0x82, 0xc0, 0xc0, 0xc0, 0xc0};
  mpr_init(&r, fm, 4);
  cr_assert_eq(mpr_map(&r, &n), LINLI_EMALFORMED);
  mpr_init(&r, fm, 5);
  cr_assert_eq(mpr_map(&r, &n), 0);
  cr_assert_eq(n, 2);
  /* fixarray of 3 with 2 elements */
  static const uint8_t fa[] = {0x93, 0xc0, 0xc0};
  mpr_init(&r, fa, sizeof fa);
  cr_assert_eq(mpr_array(&r, &n), LINLI_EMALFORMED);
  /* strings and binary longer than the input */
  static const uint8_t s8[] = {0xd9, 0x30, 'a', 'b', 'c'};
  static const uint8_t s32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
  static const uint8_t b32[] = {0xc6, 0x7f, 0xff, 0xff, 0xff, 0};
  static const uint8_t fs[] = {0xa5, 'a', 'b'};
  const char *sp;
  const uint8_t *bp;
  mpr_init(&r, s8, sizeof s8);
  cr_assert_eq(mpr_str(&r, &sp, &n), LINLI_EMALFORMED);
  cr_assert_eq(mpr_left(&r), sizeof s8, "a failed read leaves the cursor");
  mpr_init(&r, s32, sizeof s32);
  cr_assert_eq(mpr_str(&r, &sp, &n), LINLI_EMALFORMED);
  mpr_init(&r, b32, sizeof b32);
  cr_assert_eq(mpr_bin(&r, &bp, &n), LINLI_EMALFORMED);
  mpr_init(&r, fs, sizeof fs);
  cr_assert_eq(mpr_str(&r, &sp, &n), LINLI_EMALFORMED);
  mpr_init(&r, fs, sizeof fs);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
}

Test(mp, skip_floats_and_bad_bytes)
{
  static const uint8_t f32[] = {0xca, 0x3f, 0x80, 0x00, 0x00};
  static const uint8_t f64[] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
  mpr r;
  mpr_init(&r, f32, sizeof f32);
  cr_assert_eq(mpr_skip(&r), 0);
  cr_assert_eq(mpr_left(&r), 0);
  mpr_init(&r, f64, sizeof f64);
  cr_assert_eq(mpr_skip(&r), 0);
  cr_assert_eq(mpr_left(&r), 0);
  for (size_t cut = 0; cut < sizeof f64; cut++) {
    mpr_init(&r, f64, cut);
    cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  }
  for (size_t cut = 0; cut < sizeof f32; cut++) {
    mpr_init(&r, f32, cut);
    cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  }
  static const uint8_t c1 = 0xc1;
  mpr_init(&r, &c1, 1);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  int64_t v;
  mpr_init(&r, f32, sizeof f32);
  cr_assert_eq(mpr_int(&r, &v), LINLI_EMALFORMED, "a float is not an integer");
  /* an array holding an ext value cannot be skipped either */
  static const uint8_t ae[] = {0x92, 0x01, 0xd4, 0x01, 0x02};
  mpr_init(&r, ae, sizeof ae);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
}

static uint8_t *
nested_arrays(size_t depth, size_t *len)
{
  /* depth one-element arrays around a nil */
  uint8_t *p = malloc(depth + 1);
  cr_assert_not_null(p);
  memset(p, 0x91, depth);
  p[depth] = 0xc0;
  *len = depth + 1;
  return p;
}

Test(mp, skip_depth_limit)
{
  size_t len;
  mpr r;
  /* modest nesting is fine */
  for (size_t depth = 0; depth <= 60; depth += 10) {
    uint8_t *p = nested_arrays(depth, &len);
    mpr_init(&r, p, len);
    cr_assert_eq(mpr_skip(&r), 0, "depth %zu", depth);
    cr_assert_eq(mpr_left(&r), 0);
    free(p);
  }
  /* the limit: 64 levels of arrays are skipped, 65 are refused */
  uint8_t *p = nested_arrays(64, &len);
  mpr_init(&r, p, len);
  cr_assert_eq(mpr_skip(&r), 0);
  free(p);
  p = nested_arrays(65, &len);
  mpr_init(&r, p, len);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  free(p);
  /* hostile nesting deep enough to smash the stack without a limit */
  p = nested_arrays(1000000, &len);
  mpr_init(&r, p, len);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  free(p);
  /* maps count too: {nil: {nil: ...}} */
  uint8_t *m = malloc(2 * 100 + 1);
  cr_assert_not_null(m);
  for (int i = 0; i < 100; i++) {
    m[2 * i] = 0x81;
    m[2 * i + 1] = 0xc0;
  }
  m[200] = 0xc0;
  mpr_init(&r, m, 201);
  cr_assert_eq(mpr_skip(&r), LINLI_EMALFORMED);
  mpr_init(&r, m + 180, 21); /* 10 levels */
  cr_assert_eq(mpr_skip(&r), 0);
  cr_assert_eq(mpr_left(&r), 0);
  free(m);
}

/* ---- UTF-8 ---- */

static bool
u8(const char *s)
{
  return utf8_valid(s, strlen(s));
}

Test(mp, utf8_valid_text)
{
  cr_assert(utf8_valid("", 0));
  cr_assert(utf8_valid(NULL, 0));
  cr_assert(u8("plain ascii / 123 ~"));
  cr_assert(u8("金都社区 民情日记"));
  cr_assert(u8("Grüße, ça va? ñ"));
  cr_assert(u8("\xf0\x9f\x98\x80"));        /* U+1F600, 4 bytes */
  cr_assert(u8("\xc2\x80"));                /* U+0080, smallest 2-byte */
  cr_assert(u8("\xdf\xbf"));                /* U+07FF */
  cr_assert(u8("\xe0\xa0\x80"));            /* U+0800, smallest 3-byte */
  cr_assert(u8("\xed\x9f\xbf"));            /* U+D7FF, just below surrogates */
  cr_assert(u8("\xee\x80\x80"));            /* U+E000, just above */
  cr_assert(u8("\xef\xbf\xbf"));            /* U+FFFF */
  cr_assert(u8("\xf0\x90\x80\x80"));        /* U+10000, smallest 4-byte */
  cr_assert(u8("\xf4\x8f\xbf\xbf"));        /* U+10FFFF, the last code point */
  cr_assert(utf8_valid("a\0b", 3), "NUL is valid UTF-8");
}

Test(mp, utf8_rejects_overlongs_surrogates_and_junk)
{
  static const char *const bad[] = {
    "\xc0\x80", "\xc1\xbf",                 /* overlong 2-byte */
    "\xe0\x80\x80", "\xe0\x9f\xbf",         /* overlong 3-byte */
    "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", /* overlong 4-byte */
    "\xed\xa0\x80", "\xed\xad\xbf", "\xed\xb0\x80", "\xed\xbf\xbf", /* surrogates */
    "\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf", /* above U+10FFFF */
    "\x80", "\xbf", "a\x80z",               /* lone continuation bytes */
    "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff",
    "\xe9\x87\x41",                         /* ASCII where a continuation belongs */
    "\xc3\xc3\xa9",
    "金都\xe7\xa4社区",                      /* a character cut in the middle */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert(!u8(bad[i]), "bad UTF-8 #%zu accepted", i);
}

Test(mp, utf8_truncated_sequences)
{
  const char *text = "金都社区 民情日记 x\xf0\x9f\x98\x80y";
  size_t n = strlen(text);
  cr_assert(utf8_valid(text, n));
  /* each prefix is valid exactly when it ends at a character boundary */
  for (size_t cut = 0; cut <= n; cut++) {
    bool boundary = cut == n || ((unsigned char)text[cut] & 0xc0) != 0x80;
    cr_assert_eq(utf8_valid(text, cut), boundary, "prefix of %zu bytes", cut);
  }
  /* and each suffix starting inside a character is invalid */
  for (size_t start = 0; start < n; start++) {
    bool boundary = ((unsigned char)text[start] & 0xc0) != 0x80;
    cr_assert_eq(utf8_valid(text + start, n - start), boundary, "suffix from %zu", start);
  }
  /* the length is respected: a valid string cut at n bytes from a longer one */
  cr_assert(!utf8_valid("\xe9\x87\x91", 2));
  cr_assert(!utf8_valid("\xf0\x9f\x98\x80", 3));
  cr_assert(!utf8_valid("\xc3\xa9", 1));
}

/* The plain byte-at-a-time decoder utf8_valid had before its ASCII fast
 * path: the reference for the random test below. */
static bool
s_utf8_ref(const uint8_t *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) { i++; continue; }
    int len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return false;
    if (n - i < (size_t)len) return false;
    for (int k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += (size_t)len;
  }
  return true;
}

Test(mp, utf8_fast_path_matches_bytewise_reference)
{
  static const char *const pieces[] = {
    "a", "hh/v000/", "0123456789abcdef", "金", "ü", "\xf0\x9f\x98\x80", /* valid */
    "\x80", "\xe9\x87", "\xc0\xaf", "\xed\xa0\x80", "\xff",           /* invalid */
  };
  uint32_t st = 99;
  uint8_t buf[96];
  for (int i = 0; i < 200000; i++) {
    size_t n = 0;
    /* mostly ASCII runs, so that the 8-byte steps meet a multibyte or bad
     * sequence at every alignment */
    while (n < 64) {
      uint32_t r = tu_rand(&st) % 16;
      const char *p = pieces[r < 6 ? r : r < 13 ? tu_rand(&st) % 3 : 6 + r - 13];
      if (r >= 14 && tu_rand(&st) % 4)
        p = pieces[1];
      size_t l = strlen(p);
      memcpy(buf + n, p, l);
      n += l;
    }
    size_t off = tu_rand(&st) % 8, len = tu_rand(&st) % (n - off + 1);
    cr_assert_eq(utf8_valid((const char *)buf + off, len), s_utf8_ref(buf + off, len),
                 "case %d (offset %zu, %zu bytes)", i, off, len);
  }
}
