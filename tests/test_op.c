/*
 * test_op.c - crdt/op: kind names, op_check (good ops of every kind, every
 * class of bad op: key syntax, field, DEL with a field, RM tags, limits),
 * the canonical encoding's exact bytes, values read back with
 * op_read_value, op_hash sensitivity to every input, and head signatures
 * (head_message layout, head_sign/head_verify, failure on any change).
 */
#include "crdt/err.h"
#include "crdt/op.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
setup(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
}

TestSuite(op, .init = setup);

#define HLC0 UINT64_C(0x01a2206afd790002) /* 2026-11-28T04:30:12.345Z +2 */

static op
mk(uint8_t kind, const char *key, const char *field, const char *str)
{
  op o = {.seq = 1, .hlc = HLC0, .kind = kind};
  o.key = key;
  o.key_len = (uint32_t)strlen(key);
  o.field = field;
  o.field_len = (uint32_t)strlen(field);
  if (str) {
    o.str = str;
    o.str_len = (uint32_t)strlen(str);
  }
  return o;
}

static op_tag s_tags[3];

static void
init_tags(void)
{
  memset(s_tags, 0, sizeof s_tags);
  memset(s_tags[0].author, 0x10, LINLI_PK_BYTES);
  s_tags[0].seq = 4;
  memset(s_tags[1].author, 0x10, LINLI_PK_BYTES);
  s_tags[1].seq = 9;
  memset(s_tags[2].author, 0x20, LINLI_PK_BYTES);
  s_tags[2].seq = 1;
}

static op
mk_rm(void)
{
  init_tags();
  op o = mk(OP_RM, "hh/v000", "tags", "老人");
  o.tags = s_tags;
  o.ntags = 3;
  return o;
}

static void
expect_bad(const op *o, const char *what)
{
  lerr e = {0};
  int rc = op_check(o, &e);
  cr_assert_eq(rc, LINLI_EMALFORMED, "%s: rc %d", what, rc);
  cr_assert_eq(e.code, LINLI_EMALFORMED, "%s: e.code %d", what, e.code);
  cr_assert_neq(e.msg[0], '\0', "%s: no message", what);
  cr_assert_eq(op_check(o, NULL), LINLI_EMALFORMED, "%s without lerr", what);
}

static void
expect_good(const op *o, const char *what)
{
  lerr e = {0};
  int rc = op_check(o, &e);
  cr_assert_eq(rc, 0, "%s: rc %d (%s)", what, rc, e.msg);
}

/* ---- names ---- */

Test(op, kind_names)
{
  static const char *const names[] = {"set", "incr", "add", "rm", "append", "del"};
  static const int fks[] = {FK_REGISTER, FK_COUNTER, FK_SET, FK_SET, FK_LOG, -1};
  for (int k = 0; k < OP_KIND_COUNT; k++) {
    cr_assert_str_eq(op_kind_name((uint8_t)k), names[k]);
    cr_assert_eq(op_kind_parse(names[k]), k);
    cr_assert_eq(op_field_kind((uint8_t)k), fks[k]);
  }
  cr_assert_str_eq(op_kind_name(OP_KIND_COUNT), "?");
  cr_assert_str_eq(op_kind_name(255), "?");
  cr_assert_eq(op_kind_parse("SET"), -1);
  cr_assert_eq(op_kind_parse(""), -1);
  cr_assert_eq(op_kind_parse("delete"), -1);
  cr_assert_eq(op_field_kind(OP_KIND_COUNT), -1);
  cr_assert_str_eq(field_kind_name(FK_REGISTER), "register");
  cr_assert_str_eq(field_kind_name(FK_COUNTER), "counter");
  cr_assert_str_eq(field_kind_name(FK_SET), "set");
  cr_assert_str_eq(field_kind_name(FK_LOG), "log");
  cr_assert_str_eq(field_kind_name(4), "?");
  cr_assert_str_eq(field_kind_name(-1), "?");
}

Test(op, tag_order)
{
  init_tags();
  cr_assert_lt(tag_cmp(&s_tags[0], &s_tags[1]), 0, "same author: by seq");
  cr_assert_gt(tag_cmp(&s_tags[1], &s_tags[0]), 0);
  cr_assert_lt(tag_cmp(&s_tags[1], &s_tags[2]), 0, "author bytes first");
  cr_assert_eq(tag_cmp(&s_tags[2], &s_tags[2]), 0);
  op_tag big = s_tags[0];
  big.seq = UINT64_MAX;
  cr_assert_lt(tag_cmp(&big, &s_tags[2]), 0);
}

/* ---- op_check: good ops ---- */

Test(op, check_accepts_every_kind)
{
  op o = mk(OP_SET, "hh/v000", "name", "王秀英");
  expect_good(&o, "set");
  o = mk(OP_SET, "hh/v000", "name", "");
  expect_good(&o, "set of an empty string");
  o.str = NULL; /* an empty borrowed string may be (NULL, 0) */
  expect_good(&o, "set of an empty string given as NULL");
  o = mk(OP_ADD, "hh/v000", "tags", NULL);
  expect_good(&o, "add of an empty element given as NULL");
  o = mk(OP_INCR, "hh/v000", "visits", NULL);
  o.n = -5;
  expect_good(&o, "incr -5");
  o.n = INT64_MIN;
  expect_good(&o, "incr INT64_MIN");
  o.n = 0;
  expect_good(&o, "incr 0");
  o = mk(OP_ADD, "hh/v000", "tags", "独居");
  expect_good(&o, "add");
  o = mk_rm();
  expect_good(&o, "rm with 3 tags");
  o.ntags = 1;
  expect_good(&o, "rm with 1 tag");
  o = mk(OP_APPEND, "diary/2026-11-28", "entries", "今天走访了三户 민원");
  expect_good(&o, "append");
  o = mk(OP_DEL, "hh/v000", "", NULL);
  expect_good(&o, "del");
  o.seq = UINT64_MAX;
  o.hlc = UINT64_MAX;
  expect_good(&o, "del at the largest seq and stamp");
}

Test(op, check_accepts_key_forms)
{
  static const char *const good[] = {
    "a/b", "hh/v000/601", "金都社区/民情日记", "社区/金都/001", "a b/c d", "x/y/z/w",
    "a/\xf0\x9f\x98\x80", "col/id with ~!@#$%^&*()",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    op o = mk(OP_SET, good[i], "f", "v");
    expect_good(&o, good[i]);
    cr_assert_eq(key_check(good[i], strlen(good[i]), NULL), 0, "key_check %s", good[i]);
  }
}

Test(op, check_limits_exactly)
{
  char *key = malloc(LINLI_KEY_MAX + 1);
  char *field = malloc(LINLI_FIELD_MAX + 1);
  char *val = malloc(LINLI_VALUE_MAX + 1);
  cr_assert(key && field && val);
  memset(key, 'k', LINLI_KEY_MAX + 1);
  key[1] = '/';
  memset(field, 'f', LINLI_FIELD_MAX + 1);
  memset(val, 'v', LINLI_VALUE_MAX + 1);
  op o = mk(OP_SET, "a/b", "f", "v");
  o.key = key;
  o.key_len = LINLI_KEY_MAX;
  expect_good(&o, "key of the maximum length");
  o.key_len = LINLI_KEY_MAX + 1;
  expect_bad(&o, "key one byte too long");
  cr_assert_eq(key_check(key, LINLI_KEY_MAX + 1, NULL), LINLI_EINVAL);
  o = mk(OP_SET, "a/b", "f", "v");
  o.field = field;
  o.field_len = LINLI_FIELD_MAX;
  expect_good(&o, "field of the maximum length");
  o.field_len = LINLI_FIELD_MAX + 1;
  expect_bad(&o, "field one byte too long");
  for (uint8_t k = OP_SET; k <= OP_APPEND; k++) {
    if (k == OP_INCR)
      continue;
    o = k == OP_RM ? mk_rm() : mk(k, "a/b", "f", "v");
    o.str = val;
    o.str_len = LINLI_VALUE_MAX;
    expect_good(&o, "value of the maximum length");
    o.str_len = LINLI_VALUE_MAX + 1;
    expect_bad(&o, "value one byte too long");
  }
  /* tags: 1024 sorted tags pass, 1025 do not */
  op_tag *tags = calloc(LINLI_TAGS_MAX + 1, sizeof *tags);
  cr_assert_not_null(tags);
  for (uint32_t i = 0; i <= LINLI_TAGS_MAX; i++)
    tags[i].seq = i + 1;
  o = mk(OP_RM, "a/b", "f", "v");
  o.tags = tags;
  o.ntags = LINLI_TAGS_MAX;
  expect_good(&o, "rm with the most tags");
  o.ntags = LINLI_TAGS_MAX + 1;
  expect_bad(&o, "rm with too many tags");
  free(tags);
  free(key);
  free(field);
  free(val);
}

/* ---- op_check: bad ops ---- */

Test(op, check_rejects_bad_keys)
{
  static const struct { const char *k; size_t n; } bad[] = {
    {"", 0},
    {"nokey", 5},
    {"金都社区", 12},
    {"/a", 2},
    {"a/", 2},
    {"/", 1},
    {"//", 2},
    {"/a/b", 4},
    {"a/b/", 4},
    {"a//b", 4},
    {"a/b//c", 6},
    {"a/b\x01", 4},
    {"a/\x1f", 3},
    {"a/b\n", 4},
    {"a\tb/c", 5},
    {"a/\x7f", 3},
    {"a/b\0c", 5},
    {"a/\xff", 3},
    {"a/\xe9\x87", 4},       /* a cut character */
    {"a\xc0\xafz", 4},       /* overlong '/' */
    {"a/\xed\xa0\x80", 5},   /* a surrogate */
    {"\x80/b", 3},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    op o = mk(OP_SET, "a/b", "f", "v");
    o.key = bad[i].k;
    o.key_len = (uint32_t)bad[i].n;
    char what[64];
    snprintf(what, sizeof what, "bad key #%zu", i);
    expect_bad(&o, what);
    lerr e = {0};
    cr_assert_eq(key_check(bad[i].k, bad[i].n, &e), LINLI_EINVAL, "key_check #%zu", i);
    cr_assert_eq(e.code, LINLI_EINVAL);
    cr_assert_neq(e.msg[0], '\0');
    /* the same key is rejected for every kind */
    for (uint8_t k = 0; k < OP_KIND_COUNT; k++) {
      op p = k == OP_RM ? mk_rm() : mk(k, "a/b", k == OP_DEL ? "" : "f", "v");
      p.key = bad[i].k;
      p.key_len = (uint32_t)bad[i].n;
      cr_assert_eq(op_check(&p, NULL), LINLI_EMALFORMED, "bad key #%zu kind %u", i, k);
    }
  }
  /* a long bad key is reported without overrunning the message */
  char *key = malloc(LINLI_KEY_MAX);
  cr_assert_not_null(key);
  memset(key, 'x', LINLI_KEY_MAX);
  key[0] = '/';
  lerr e;
  cr_assert_eq(key_check(key, LINLI_KEY_MAX, &e), LINLI_EINVAL);
  cr_assert_lt(strlen(e.msg), sizeof e.msg);
  free(key);
}

Test(op, check_rejects_bad_fields)
{
  static const struct { const char *f; size_t n; } bad[] = {
    {"", 0}, {"a\x01", 2}, {"\n", 1}, {"x\x7f", 2}, {"\xff", 1}, {"\xc3", 1},
    {"\xed\xbf\xbf", 3}, {"a\0b", 3},
  };
  for (uint8_t k = 0; k < OP_KIND_COUNT; k++) {
    if (k == OP_DEL)
      continue;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      op o = k == OP_RM ? mk_rm() : mk(k, "a/b", "f", "v");
      o.field = bad[i].f;
      o.field_len = (uint32_t)bad[i].n;
      char what[64];
      snprintf(what, sizeof what, "kind %u bad field #%zu", k, i);
      expect_bad(&o, what);
    }
  }
}

Test(op, check_rejects_bad_headers)
{
  op o = mk(OP_SET, "a/b", "f", "v");
  o.kind = OP_KIND_COUNT;
  expect_bad(&o, "unknown kind");
  o.kind = 255;
  expect_bad(&o, "kind 255");
  o = mk(OP_SET, "a/b", "f", "v");
  o.seq = 0;
  expect_bad(&o, "seq 0");
  o = mk(OP_SET, "a/b", "f", "v");
  o.hlc = 0;
  expect_bad(&o, "hlc 0");
}

Test(op, check_rejects_delete_with_field)
{
  op o = mk(OP_DEL, "a/b", "f", NULL);
  expect_bad(&o, "del naming a field");
  o = mk(OP_DEL, "a/b", "", NULL);
  expect_good(&o, "del");
}

Test(op, check_rejects_bad_values)
{
  static const char *const bad[] = {"\xff", "ok\xc0\x80", "\xed\xa0\x80", "cut\xe9\x87"};
  for (uint8_t k = 0; k < OP_KIND_COUNT; k++) {
    if (k == OP_INCR || k == OP_DEL)
      continue;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      op o = k == OP_RM ? mk_rm() : mk(k, "a/b", "f", "v");
      o.str = bad[i];
      o.str_len = (uint32_t)strlen(bad[i]);
      char what[64];
      snprintf(what, sizeof what, "kind %u bad value #%zu", k, i);
      expect_bad(&o, what);
    }
  }
}

Test(op, check_rejects_bad_rm_tags)
{
  op o = mk_rm();
  o.ntags = 0;
  expect_bad(&o, "rm with no tags");
  o.tags = NULL;
  expect_bad(&o, "rm with no tags (NULL)");

  op_tag t[3];
  init_tags();
  /* unsorted: seq order within one author */
  memcpy(t, s_tags, sizeof t);
  t[0] = s_tags[1];
  t[1] = s_tags[0];
  o = mk_rm();
  o.tags = t;
  expect_bad(&o, "tags not sorted by seq");
  /* unsorted: author order */
  t[0] = s_tags[2];
  t[1] = s_tags[0];
  t[2] = s_tags[1];
  expect_bad(&o, "tags not sorted by author");
  /* duplicates */
  t[0] = s_tags[0];
  t[1] = s_tags[0];
  t[2] = s_tags[2];
  expect_bad(&o, "duplicate tag");
  t[0] = s_tags[0];
  t[1] = s_tags[1];
  t[2] = s_tags[1];
  expect_bad(&o, "duplicate last tag");
  /* zero seq, first or later */
  memcpy(t, s_tags, sizeof t);
  t[0].seq = 0;
  expect_bad(&o, "first tag seq 0");
  memcpy(t, s_tags, sizeof t);
  t[2].seq = 0;
  expect_bad(&o, "last tag seq 0");
  memcpy(t, s_tags, sizeof t);
  expect_good(&o, "restored tags");
}

/* ---- canonical encoding ---- */

static char *
canon_hex(const uint8_t prev[32], const uint8_t author[32], const op *o)
{
  lbuf b;
  lbuf_init(&b);
  op_encode_canonical(&b, prev, author, o);
  cr_assert(!b.oom);
  char *hex = malloc(2 * b.len + 1);
  cr_assert_not_null(hex);
  hex_encode(hex, b.p, b.len);
  lbuf_free(&b);
  return hex;
}

#define H11 "1111111111111111111111111111111111111111111111111111111111111111"
#define H22 "2222222222222222222222222222222222222222222222222222222222222222"

Test(op, canonical_exact_bytes)
{
  uint8_t prev[32], author[32];
  memset(prev, 0x11, 32);
  memset(author, 0x22, 32);
  /* [prev, author, 1, HLC0, "hh/v1", "name", 0, "王"] */
  op o = mk(OP_SET, "hh/v1", "name", "王");
  char *hex = canon_hex(prev, author, &o);
  const char *want =
      "98"                      /* fixarray of 8 */
      "c420" H11                /* prev: bin8 of 32 bytes */
      "c420" H22                /* author */
      "01"                      /* seq 1: positive fixint */
      "cf01a2206afd790002"      /* hlc: uint64 */
      "a568682f7631"            /* "hh/v1": fixstr 5 */
      "a46e616d65"              /* "name" */
      "00"                      /* kind set */
      "a3e78e8b";               /* "王": fixstr of 3 UTF-8 bytes */
  cr_assert_str_eq(hex, want);
  free(hex);

  /* seq 300, incr -33: seq as uint16, value as int8 */
  o = mk(OP_INCR, "a/b", "n", NULL);
  o.seq = 300;
  o.hlc = 127;
  o.n = -33;
  hex = canon_hex(prev, author, &o);
  cr_assert_str_eq(hex, "98c420" H11 "c420" H22 "cd012c" "7f" "a3612f62" "a16e" "01" "d0df");
  free(hex);

  /* delete: empty field, value nil */
  o = mk(OP_DEL, "a/b", "", NULL);
  o.seq = 128;
  o.hlc = 65536;
  hex = canon_hex(prev, author, &o);
  cr_assert_str_eq(hex, "98c420" H11 "c420" H22 "cc80" "ce00010000" "a3612f62" "a0" "05" "c0");
  free(hex);

  /* remove: ["x", [[tag author, tag seq]...]] */
  op_tag t[2];
  memset(t[0].author, 0x33, 32);
  t[0].seq = 2;
  memset(t[1].author, 0x44, 32);
  t[1].seq = 70000;
  o = mk(OP_RM, "a/b", "s", "x");
  o.hlc = 1;
  o.tags = t;
  o.ntags = 2;
  hex = canon_hex(prev, author, &o);
  cr_assert_str_eq(hex,
                   "98c420" H11 "c420" H22 "01" "01" "a3612f62" "a173" "03"
                   "92" "a178" "92"
                   "92c420" "3333333333333333333333333333333333333333333333333333333333333333" "02"
                   "92c420" "4444444444444444444444444444444444444444444444444444444444444444"
                   "ce00011170");
  free(hex);

  /* add and append: the value is just the string */
  o = mk(OP_APPEND, "a/b", "l", "hi");
  o.hlc = 2;
  hex = canon_hex(prev, author, &o);
  cr_assert_str_eq(hex, "98c420" H11 "c420" H22 "01" "02" "a3612f62" "a16c" "04" "a26869");
  free(hex);
  o.kind = OP_ADD;
  hex = canon_hex(prev, author, &o);
  cr_assert_str_eq(hex, "98c420" H11 "c420" H22 "01" "02" "a3612f62" "a16c" "02" "a26869");
  free(hex);
}

Test(op, canonical_empty_value_as_null)
{
  uint8_t prev[32], author[32];
  memset(prev, 0x11, 32);
  memset(author, 0x22, 32);
  op a = mk(OP_SET, "a/b", "f", "");
  op b = mk(OP_SET, "a/b", "f", NULL);
  cr_assert_null(b.str);
  char *ha = canon_hex(prev, author, &a), *hb = canon_hex(prev, author, &b);
  cr_assert_str_eq(ha, hb);
  cr_assert_str_eq(ha, "98c420" H11 "c420" H22 "01" "cf01a2206afd790002" "a3612f62" "a166" "00" "a0");
  free(ha);
  free(hb);
}

Test(op, canonical_appends_to_existing_content)
{
  uint8_t prev[32] = {0}, author[32] = {0};
  op o = mk(OP_SET, "a/b", "f", "v");
  lbuf b, c;
  lbuf_init(&b);
  lbuf_init(&c);
  lbuf_put(&b, "\xc0", 1);
  op_encode_canonical(&b, prev, author, &o);
  op_encode_canonical(&c, prev, author, &o);
  cr_assert_eq(b.len, c.len + 1);
  cr_assert_eq(b.p[0], 0xc0);
  cr_assert_eq(memcmp(b.p + 1, c.p, c.len), 0);
  lbuf_free(&b);
  lbuf_free(&c);
}

/* Parses a canonical encoding back, as a check that it is the documented
 * array of 8 and that op_read_value inverts op_write_value. */
static void
parse_canonical(const lbuf *b, const uint8_t prev[32], const uint8_t author[32],
                const op *want)
{
  mpr r;
  mpr_init(&r, b->p, b->len);
  uint8_t p2[32], a2[32];
  uint64_t seq, hlc, kind;
  const char *key, *field;
  uint32_t kl, fl;
  cr_assert_eq(mpr_array_n(&r, 8), 0);
  cr_assert_eq(mpr_bin_n(&r, p2, 32), 0);
  cr_assert_eq(mpr_bin_n(&r, a2, 32), 0);
  cr_assert_eq(memcmp(p2, prev, 32), 0);
  cr_assert_eq(memcmp(a2, author, 32), 0);
  cr_assert_eq(mpr_uint(&r, &seq), 0);
  cr_assert_eq(mpr_uint(&r, &hlc), 0);
  cr_assert_eq(mpr_str(&r, &key, &kl), 0);
  cr_assert_eq(mpr_str(&r, &field, &fl), 0);
  cr_assert_eq(mpr_uint(&r, &kind), 0);
  cr_assert_eq(seq, want->seq);
  cr_assert_eq(hlc, want->hlc);
  cr_assert_eq(kind, want->kind);
  cr_assert_eq(kl, want->key_len);
  cr_assert_eq(memcmp(key, want->key, kl), 0);
  cr_assert_eq(fl, want->field_len);
  cr_assert_eq(memcmp(field, want->field, fl), 0);
  op got = {.kind = (uint8_t)kind};
  op_tag *tb = NULL;
  cr_assert_eq(op_read_value(&r, &got, &tb), 0);
  cr_assert_eq(mpr_left(&r), 0);
  switch (want->kind) {
  case OP_INCR:
    cr_assert_eq(got.n, want->n);
    break;
  case OP_DEL:
    break;
  case OP_RM:
    cr_assert_eq(got.ntags, want->ntags);
    cr_assert_eq(got.tags, tb);
    for (uint32_t i = 0; i < got.ntags; i++)
      cr_assert_eq(tag_cmp(&got.tags[i], &want->tags[i]), 0);
    /* fall through */
  default:
    cr_assert_eq(got.str_len, want->str_len);
    cr_assert_eq(memcmp(got.str, want->str, got.str_len), 0);
  }
  free(tb);
}

Test(op, canonical_parses_back_for_every_kind)
{
  uint8_t prev[32], author[32];
  uint32_t st = 5;
  for (int i = 0; i < 32; i++) {
    prev[i] = (uint8_t)tu_rand(&st);
    author[i] = (uint8_t)tu_rand(&st);
  }
  op ops[7];
  ops[0] = mk(OP_SET, "社区/金都/001", "姓名", "王秀英");
  ops[1] = mk(OP_INCR, "a/b", "n", NULL);
  ops[1].n = INT64_MIN;
  ops[2] = mk(OP_INCR, "a/b", "n", NULL);
  ops[2].n = INT64_MAX;
  ops[3] = mk(OP_ADD, "a/b", "s", "e");
  ops[4] = mk_rm();
  ops[5] = mk(OP_APPEND, "a/b", "log", "entry");
  ops[6] = mk(OP_DEL, "a/b", "", NULL);
  for (int i = 0; i < 7; i++) {
    ops[i].seq = (uint64_t)1 << (i * 9);
    lbuf b;
    lbuf_init(&b);
    op_encode_canonical(&b, prev, author, &ops[i]);
    parse_canonical(&b, prev, author, &ops[i]);
    lbuf_free(&b);
  }
}

Test(op, read_value_rejects_wrong_shapes)
{
  static const struct { uint8_t kind; const char *b; size_t n; } bad[] = {
    {OP_SET, "\x01", 1},                  /* an int where a string belongs */
    {OP_SET, "\xc4\x01x", 3},             /* binary is not a string */
    {OP_ADD, "\xc0", 1},
    {OP_APPEND, "", 0},
    {OP_INCR, "\xa1x", 2},
    {OP_INCR, "\xcf\x80\0\0\0\0\0\0\0", 9}, /* 2^63 does not fit int64 */
    {OP_DEL, "\x00", 1},                  /* delete's value is nil */
    {OP_DEL, "\xa0", 1},
    {OP_RM, "\xa1x", 2},                  /* not [elem, tags] */
    {OP_RM, "\x92\xa1x\x90", 4},          /* no tags */
    {OP_RM, "\x93\xa1x\x91\x92\xc4\x20", 7},
    {OP_RM, "\x92\xa1x\x91\x92\xc4\x01" "a" "\x01", 9}, /* 1-byte author */
    {OP_RM, "\x92\xa1x\x91\x91\x01", 6},  /* tag is not a pair */
    {OP_RM, "\x92\xa1x\x91", 4},          /* tag list claims 1, has none */
    {OP_KIND_COUNT, "\xc0", 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mpr r;
    mpr_init(&r, bad[i].b, bad[i].n);
    op o = {.kind = bad[i].kind};
    op_tag *tb = NULL;
    int rc = op_read_value(&r, &o, &tb);
    cr_assert_neq(rc, 0, "bad value #%zu accepted", i);
    free(tb);
  }
  /* and a good RM value with a negative tag seq is also refused */
  lbuf b;
  lbuf_init(&b);
  mpw w;
  mpw_init(&w, &b);
  mpw_array(&w, 2);
  mpw_cstr(&w, "x");
  mpw_array(&w, 1);
  mpw_array(&w, 2);
  mpw_bin(&w, s_tags[0].author, 32);
  mpw_int(&w, -1);
  mpr r;
  mpr_init(&r, b.p, b.len);
  op o = {.kind = OP_RM};
  op_tag *tb = NULL;
  cr_assert_neq(op_read_value(&r, &o, &tb), 0);
  free(tb);
  lbuf_free(&b);
}

/* ---- hashing ---- */

static void
hash_of(uint8_t out[32], const uint8_t prev[32], const uint8_t author[32], const op *o)
{
  lbuf s;
  lbuf_init(&s);
  op_hash(out, prev, author, o, &s);
  lbuf_free(&s);
}

Test(op, hash_is_blake2b_of_canonical)
{
  uint8_t prev[32], author[32], h[32], h2[32];
  memset(prev, 0x11, 32);
  memset(author, 0x22, 32);
  op o = mk(OP_SET, "hh/v1", "name", "王");
  lbuf b;
  lbuf_init(&b);
  op_encode_canonical(&b, prev, author, &o);
  linli_hash(h, b.p, b.len);
  lbuf_free(&b);
  /* a scratch buffer with old content is reset, not appended to */
  lbuf s;
  lbuf_init(&s);
  lbuf_put(&s, "garbage", 7);
  op_hash(h2, prev, author, &o, &s);
  cr_assert_eq(memcmp(h, h2, 32), 0);
  /* out may alias prev, as a chain walk does */
  uint8_t chain[32];
  memcpy(chain, prev, 32);
  op_hash(chain, chain, author, &o, &s);
  cr_assert_eq(memcmp(chain, h, 32), 0);
  lbuf_free(&s);
}

/* The canonical encoding as FORMAT.md spells it, through msgpack-c's
 * packer: the reference the direct encoder in op.c must match. */
static int
s_ref_write(void *data, const char *buf, size_t len)
{
  return lbuf_put(data, buf, len) == 0 ? 0 : -1;
}

static void
s_ref_str(msgpack_packer *pk, const char *s, uint32_t n)
{
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void
s_ref_bin(msgpack_packer *pk, const void *p, uint32_t n)
{
  msgpack_pack_bin(pk, n);
  msgpack_pack_bin_body(pk, p, n);
}

static void
s_ref_canonical(lbuf *out, const uint8_t prev[32], const uint8_t author[32], const op *o)
{
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, s_ref_write);
  msgpack_pack_array(&pk, 8);
  s_ref_bin(&pk, prev, 32);
  s_ref_bin(&pk, author, 32);
  msgpack_pack_uint64(&pk, o->seq);
  msgpack_pack_uint64(&pk, o->hlc);
  s_ref_str(&pk, o->key, o->key_len);
  s_ref_str(&pk, o->field, o->field_len);
  msgpack_pack_uint64(&pk, o->kind);
  switch (o->kind) {
  case OP_INCR: msgpack_pack_int64(&pk, o->n); break;
  case OP_DEL: msgpack_pack_nil(&pk); break;
  case OP_RM:
    msgpack_pack_array(&pk, 2);
    s_ref_str(&pk, o->str, o->str_len);
    msgpack_pack_array(&pk, o->ntags);
    for (uint32_t i = 0; i < o->ntags; i++) {
      msgpack_pack_array(&pk, 2);
      s_ref_bin(&pk, o->tags[i].author, 32);
      msgpack_pack_uint64(&pk, o->tags[i].seq);
    }
    break;
  default: s_ref_str(&pk, o->str, o->str_len);
  }
}

/* A random-width value, so that every integer encoding is reached. */
static uint64_t
s_rand_width(uint32_t *st)
{
  uint64_t v = (uint64_t)tu_rand(st) << 32 | tu_rand(st);
  unsigned bits = tu_rand(st) % 65;
  return bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

/* A random length, mostly short, sometimes past the str 8 / str 16 sizes
 * and past op_hash's stack buffer. */
static uint32_t
s_rand_len(uint32_t *st, uint32_t max)
{
  static const uint32_t edges[] = {0, 1, 31, 32, 255, 256, 400, 600, 65535, 65536};
  uint32_t n = tu_rand(st) % 4 == 0 ? edges[tu_rand(st) % 10] : tu_rand(st) % 40;
  return n > max ? max : n;
}

Test(op, canonical_matches_msgpack_c_over_random_ops)
{
  static char text[LINLI_VALUE_MAX + 8];
  for (size_t i = 0; i < sizeof text; i++)
    text[i] = (char)('a' + i % 26);
  static op_tag tags[300];
  uint32_t st = 42;
  lbuf mine, ref, scratch;
  lbuf_init(&mine);
  lbuf_init(&ref);
  lbuf_init(&scratch);
  for (int i = 0; i < 5000; i++) {
    uint8_t prev[32], author[32];
    for (int k = 0; k < 32; k++) {
      prev[k] = (uint8_t)tu_rand(&st);
      author[k] = (uint8_t)tu_rand(&st);
    }
    /* Well-formedness does not matter to the encoder: any field values. */
    op o = {.seq = s_rand_width(&st), .hlc = s_rand_width(&st),
            .kind = (uint8_t)(tu_rand(&st) % OP_KIND_COUNT)};
    o.key = text;
    o.key_len = s_rand_len(&st, LINLI_KEY_MAX);
    o.field = text + 3;
    o.field_len = s_rand_len(&st, LINLI_FIELD_MAX);
    o.str = text + 8;
    o.str_len = s_rand_len(&st, LINLI_VALUE_MAX);
    o.n = (int64_t)s_rand_width(&st) * (tu_rand(&st) % 2 ? -1 : 1);
    o.ntags = tu_rand(&st) % 8 == 0 ? 1 + tu_rand(&st) % 300 : 1 + tu_rand(&st) % 3;
    for (uint32_t t = 0; t < o.ntags; t++) {
      memset(tags[t].author, (int)t, 32);
      tags[t].seq = s_rand_width(&st);
    }
    o.tags = tags;
    lbuf_reset(&mine);
    lbuf_reset(&ref);
    op_encode_canonical(&mine, prev, author, &o);
    s_ref_canonical(&ref, prev, author, &o);
    cr_assert(!mine.oom && !ref.oom);
    cr_assert_eq(mine.len, ref.len, "op %d (kind %u): %zu bytes, reference %zu", i, o.kind,
                 mine.len, ref.len);
    cr_assert_eq(memcmp(mine.p, ref.p, mine.len), 0, "op %d (kind %u) differs", i, o.kind);
    /* op_hash, from the stack or from scratch, hashes the same bytes */
    uint8_t h[32], want[32];
    linli_hash(want, ref.p, ref.len);
    op_hash(h, prev, author, &o, &scratch);
    cr_assert_eq(memcmp(h, want, 32), 0, "op %d: hash differs", i);
  }
  lbuf_free(&mine);
  lbuf_free(&ref);
  lbuf_free(&scratch);
}

Test(op, hash_changes_with_every_input)
{
  uint8_t prev[32], author[32], base[32], h[32];
  memset(prev, 0x11, 32);
  memset(author, 0x22, 32);
  init_tags();
  op_tag t[3];
  memcpy(t, s_tags, sizeof t);

  /* one base op per kind; each variant changes exactly one thing */
  for (uint8_t k = 0; k < OP_KIND_COUNT; k++) {
    op o = mk(k, "hh/v000", k == OP_DEL ? "" : "tags", k == OP_DEL || k == OP_INCR ? NULL : "独居");
    if (k == OP_INCR)
      o.n = 7;
    if (k == OP_RM) {
      o.tags = t;
      o.ntags = 3;
    }
    expect_good(&o, "base");
    hash_of(base, prev, author, &o);
    int variants = 0;
    for (int v = 0;; v++) {
      op x = o;
      uint8_t p2[32], a2[32];
      memcpy(p2, prev, 32);
      memcpy(a2, author, 32);
      op_tag t2[3];
      memcpy(t2, t, sizeof t2);
      bool applies = true;
      switch (v) {
      case 0: p2[31] ^= 1; break;
      case 1: p2[0] ^= 0x80; break;
      case 2: a2[0] ^= 1; break;
      case 3: a2[17] ^= 0x40; break;
      case 4: x.seq++; break;
      case 5: x.hlc++; break;
      case 6: x.hlc += UINT64_C(1) << 16; break;
      case 7: x.key = "hh/v001"; break;
      case 8: x.key_len--; break;
      case 9: x.key = "hh/v000/x"; x.key_len = 9; break;
      case 10: applies = k != OP_DEL; x.field = "tagz"; break;
      case 11: applies = k != OP_DEL; x.field_len = 3; break;
      case 12: x.kind = (uint8_t)((k + 1) % OP_KIND_COUNT); break;
      case 13: applies = k == OP_SET || k == OP_ADD || k == OP_APPEND || k == OP_RM;
               x.str = "独身"; break;
      case 14: applies = k == OP_SET || k == OP_ADD || k == OP_APPEND || k == OP_RM;
               x.str_len = 0; break;
      case 15: applies = k == OP_INCR; x.n = -7; break;
      case 16: applies = k == OP_INCR; x.n = 8; break;
      case 17: applies = k == OP_RM; t2[1].seq++; x.tags = t2; break;
      case 18: applies = k == OP_RM; t2[2].author[31] ^= 1; x.tags = t2; break;
      case 19: applies = k == OP_RM; x.ntags = 2; break;
      default: applies = false; break;
      }
      if (v > 19)
        break;
      if (!applies)
        continue;
      hash_of(h, p2, a2, &x);
      cr_assert_neq(memcmp(h, base, 32), 0, "kind %u variant %d leaves the hash unchanged", k,
                    v);
      variants++;
    }
    cr_assert_geq(variants, 11);
    /* and the same inputs give the same hash */
    hash_of(h, prev, author, &o);
    cr_assert_eq(memcmp(h, base, 32), 0);
  }
}

Test(op, hash_ignores_what_the_kind_does_not_use)
{
  /* an INCR's string and a DEL's string and n are not part of the op */
  uint8_t prev[32] = {0}, author[32] = {0}, a[32], b[32];
  op o = mk(OP_INCR, "a/b", "n", NULL);
  o.n = 3;
  hash_of(a, prev, author, &o);
  o.str = "ignored";
  o.str_len = 7;
  hash_of(b, prev, author, &o);
  cr_assert_eq(memcmp(a, b, 32), 0);
  o = mk(OP_DEL, "a/b", "", NULL);
  hash_of(a, prev, author, &o);
  o.n = 99;
  hash_of(b, prev, author, &o);
  cr_assert_eq(memcmp(a, b, 32), 0);
}

/* ---- head signatures ---- */

Test(op, head_message_layout)
{
  uint8_t author[32], head[32];
  memset(author, 0x22, 32);
  memset(head, 0x33, 32);
  lbuf b;
  lbuf_init(&b);
  head_message(&b, author, 5, head);
  char *hex = malloc(2 * b.len + 1);
  hex_encode(hex, b.p, b.len);
  /* ["linli-head-v1", author, 5, head] */
  cr_assert_str_eq(hex, "94" "ad6c696e6c692d686561642d7631" "c420" H22 "05"
                        "c420" "3333333333333333333333333333333333333333333333333333333333333333");
  free(hex);
  lbuf_reset(&b);
  head_message(&b, author, UINT64_MAX, head);
  cr_assert_eq(b.len, 1 + 14 + 34 + 9 + 34, "the longest head message");
  lbuf_free(&b);
}

Test(op, head_sign_verify)
{
  uint8_t seed[32];
  for (int i = 0; i < 32; i++)
    seed[i] = (uint8_t)(100 + i);
  lident id, other;
  ident_from_seed(&id, seed);
  seed[0] ^= 1;
  ident_from_seed(&other, seed);
  uint8_t head[32], sig[64];
  for (int i = 0; i < 32; i++)
    head[i] = (uint8_t)(i * 31);
  static const uint64_t seqs[] = {1, 127, 128, 65536, UINT64_C(1) << 40, UINT64_MAX};
  for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
    uint64_t seq = seqs[s];
    head_sign(&id, seq, head, sig);
    cr_assert(head_verify(id.pk, seq, head, sig), "seq %llu", (unsigned long long)seq);
    /* it is a plain signature over head_message */
    lbuf b;
    lbuf_init(&b);
    head_message(&b, id.pk, seq, head);
    cr_assert(ident_verify(id.pk, sig, b.p, b.len));
    lbuf_free(&b);
    /* any changed input fails */
    cr_assert(!head_verify(id.pk, seq + 1, head, sig));
    cr_assert(!head_verify(id.pk, seq - 1, head, sig));
    cr_assert(!head_verify(other.pk, seq, head, sig));
  }
  head_sign(&id, 42, head, sig);
  for (int bit = 0; bit < 256; bit++) {
    head[bit / 8] ^= (uint8_t)(1u << bit % 8);
    cr_assert(!head_verify(id.pk, 42, head, sig), "head bit %d", bit);
    head[bit / 8] ^= (uint8_t)(1u << bit % 8);
  }
  for (int bit = 0; bit < 512; bit++) {
    sig[bit / 8] ^= (uint8_t)(1u << bit % 8);
    cr_assert(!head_verify(id.pk, 42, head, sig), "signature bit %d", bit);
    sig[bit / 8] ^= (uint8_t)(1u << bit % 8);
  }
  for (int bit = 0; bit < 256; bit += 5) {
    uint8_t pk[32];
    memcpy(pk, id.pk, 32);
    pk[bit / 8] ^= (uint8_t)(1u << bit % 8);
    cr_assert(!head_verify(pk, 42, head, sig), "author bit %d", bit);
  }
  for (int bit = 0; bit < 64; bit++)
    cr_assert(!head_verify(id.pk, 42 ^ (UINT64_C(1) << bit), head, sig), "seq bit %d", bit);
  cr_assert(head_verify(id.pk, 42, head, sig));
  /* a signature of the bare head (no domain, no seq) is not a head signature */
  uint8_t raw[64];
  ident_sign(&id, raw, head, 32);
  cr_assert(!head_verify(id.pk, 42, head, raw));
}

/* key_check and the field check look at each byte once for every rule: a
 * control byte (0x00-0x1f, 0x7f) or a "//" at any position is found, and
 * no other byte is taken for one. */
Test(op, control_characters_found_at_every_position)
{
  char key[40], field[40];
  for (size_t len = 3; len <= 33; len++) {
    for (size_t at = 0; at < len; at++) {
      for (int c = 0; c < 256; c++) {
        /* printable ASCII around the byte under test; UTF-8 lead bytes
         * would make the string invalid for another reason */
        if (c >= 0x80)
          continue;
        memset(key, 'k', len);
        key[len / 2] = '/';
        memset(field, 'f', len);
        bool control = c < 0x20 || c == 0x7f;
        if (at != len / 2 && at != 0 && at != len - 1) {
          key[at] = (char)c;
          bool slash_bad = c == '/' && (key[at - 1] == '/' || key[at + 1] == '/');
          lerr e = {0};
          cr_assert_eq(key_check(key, len, &e) != 0, control || slash_bad,
                       "key of %zu bytes, byte 0x%02x at %zu", len, c, at);
        }
        field[at] = (char)c;
        op o = mk(OP_SET, "a/b", "f", "v");
        o.field = field;
        o.field_len = (uint32_t)len;
        cr_assert_eq(op_check(&o, NULL) != 0, control,
                     "field of %zu bytes, byte 0x%02x at %zu", len, c, at);
      }
    }
  }
  /* bytes above 0x7f are never taken for control characters: every
   * two-byte character, in fields of several lengths and alignments */
  for (int lead = 0xc2; lead <= 0xdf; lead++)
    for (int cont = 0x80; cont <= 0xbf; cont++)
      for (size_t pad = 0; pad < 8; pad++) {
        memset(field, 'f', pad);
        for (size_t k = 0; k < 12; k++) {
          field[pad + 2 * k] = (char)lead;
          field[pad + 2 * k + 1] = (char)cont;
        }
        op o = mk(OP_SET, "a/b", "f", "v");
        o.field = field;
        o.field_len = (uint32_t)(pad + 24);
        cr_assert_eq(op_check(&o, NULL), 0, "U+%02x%02x after %zu bytes", lead, cont, pad);
      }
}

/* key_check as a plain reading of FORMAT.md, one rule after the other: the
 * reference for random keys below (which rule is reported matters too). */
static int
ref_key_rule(const char *k, size_t n)
{
  if (n == 0 || n > LINLI_KEY_MAX)
    return 1;
  if (!utf8_valid(k, n))
    return 2;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
      return 3;
  if (memchr(k, '/', n) == NULL)
    return 4;
  if (k[0] == '/' || k[n - 1] == '/')
    return 5;
  for (size_t i = 1; i < n; i++)
    if (k[i] == '/' && k[i - 1] == '/')
      return 6;
  return 0;
}

static int
key_rule(const char *k, size_t n)
{
  lerr e = {0};
  if (key_check(k, n, &e) == 0)
    return 0;
  static const char *const says[] = {"bytes", "UTF-8", "control", "collection/id",
                                     "starts or ends", "empty path"};
  for (int r = 0; r < 6; r++)
    if (strstr(e.msg, says[r]))
      return r + 1;
  cr_assert_fail("unexpected message: %s", e.msg);
  return -1;
}

Test(op, key_check_matches_the_rules_over_random_keys)
{
  static const char *const pieces[] = {"a", "hh", "/", "/", "0123456789", "\x1f", "\x7f",
                                       "金", "\xe9\x87", "\x80", "é", " "};
  uint32_t st = 5;
  char k[80];
  for (int i = 0; i < 200000; i++) {
    size_t n = 0, want = tu_rand(&st) % 40;
    while (n < want) {
      const char *p = pieces[tu_rand(&st) % 12];
      if (tu_rand(&st) % 3)
        p = tu_rand(&st) % 2 ? "a" : "/";
      size_t l = strlen(p);
      memcpy(k + n, p, l);
      n += l;
    }
    cr_assert_eq(key_rule(k, n), ref_key_rule(k, n), "key %d of %zu bytes", i, n);
  }
}
