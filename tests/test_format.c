/*
 * test_format.c - docs/FORMAT.md's worked example, byte for byte.
 *
 * The example in the spec is computed here from the same inputs and every
 * hex block marked `<!-- example: NAME -->` in FORMAT.md must equal what the
 * code produces.  Run with LINLI_PRINT_EXAMPLE=1 to print the blocks (that
 * is how the spec's hex was made; the check keeps it true).
 */
#include "crdt/delta.h"
#include "crdt/digest.h"
#include "crdt/hlc.h"
#include "crdt/record.h"
#include "sync/summary.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct example {
  const char *name;
  lbuf bytes;
} example;

#define NEX 12
static example ex[NEX];
static int nex;

static lbuf *
s_ex(const char *name)
{
  ex[nex].name = name;
  lbuf_init(&ex[nex].bytes);
  return &ex[nex++].bytes;
}

static void
s_build(void)
{
  uint8_t seed[LINLI_SEED_BYTES];
  for (int i = 0; i < LINLI_SEED_BYTES; i++)
    seed[i] = (uint8_t)i;
  lident id;
  ident_from_seed(&id, seed);
  lbuf_put(s_ex("author-key"), id.pk, LINLI_PK_BYTES);

  const char *key = "hh/yalu/0012";
  uint64_t t0 = hlc_make(1764300000000ull, 0); /* 2025-11-28T03:20:00Z */
  op ops[2] = {
    {.seq = 1, .hlc = t0, .kind = OP_SET, .key = key, .key_len = 12, .field = "户主",
     .field_len = 6, .str = "陈建国", .str_len = 9},
    {.seq = 2, .hlc = t0 + 1, .kind = OP_INCR, .key = key, .key_len = 12,
     .field = "诚信积分", .field_len = 12, .n = 5},
  };
  uint8_t zero[LINLI_HASH_BYTES] = {0}, h1[LINLI_HASH_BYTES], h2[LINLI_HASH_BYTES];
  lbuf scratch;
  lbuf_init(&scratch);
  op_encode_canonical(s_ex("op1-canonical"), zero, id.pk, &ops[0]);
  op_hash(h1, zero, id.pk, &ops[0], &scratch);
  lbuf_put(s_ex("op1-hash"), h1, sizeof h1);
  op_encode_canonical(s_ex("op2-canonical"), h1, id.pk, &ops[1]);
  op_hash(h2, h1, id.pk, &ops[1], &scratch);
  lbuf_put(s_ex("op2-hash"), h2, sizeof h2);
  head_message(s_ex("head-message"), id.pk, 2, h2);
  uint8_t sig[LINLI_SIG_BYTES];
  head_sign(&id, 2, h2, sig);
  lbuf_put(s_ex("head-signature"), sig, sizeof sig);
  lbuf *d = s_ex("delta");
  delta_encode(d, id.pk, 1, zero, ops, 2, sig);

  rec *r = rec_new();
  cr_assert_eq(rec_apply(r, id.pk, &ops[0]), 1);
  cr_assert_eq(rec_apply(r, id.pk, &ops[1]), 1);
  rec_canonical(r, key, 12, s_ex("record-canonical"));
  uint8_t rh[LINLI_HASH_BYTES];
  rec_hash(r, key, 12, rh, &scratch);
  lbuf_put(s_ex("record-hash"), rh, sizeof rh);
  rec_destroy(&r);

  lhead_ref head = {.seq = 2};
  memcpy(head.author, id.pk, LINLI_PK_BYTES);
  memcpy(head.hash, h2, LINLI_HASH_BYTES);
  lsummary sum = {.created_ms = 1764300060000ull, .n = 1, .heads = &head};
  memcpy(sum.node, id.pk, LINLI_PK_BYTES);
  summary_encode(&sum, s_ex("summary"));
  lbuf_free(&scratch);
  ident_wipe(&id);
}

static void
s_free(void)
{
  for (int i = 0; i < nex; i++)
    lbuf_free(&ex[i].bytes);
  nex = 0;
}

/* The hex block that follows `<!-- example: NAME -->` in the document. */
static lbuf
s_doc_block(const char *doc, const char *name)
{
  lbuf out;
  lbuf_init(&out);
  char marker[128];
  snprintf(marker, sizeof marker, "<!-- example: %s -->", name);
  const char *p = strstr(doc, marker);
  cr_assert_not_null(p, "FORMAT.md has no example block '%s'", name);
  p = strstr(p, "```hex");
  cr_assert_not_null(p);
  p = strchr(p, '\n') + 1;
  const char *end = strstr(p, "```");
  cr_assert_not_null(end);
  int hi = -1;
  for (; p < end; p++) {
    if (isspace((unsigned char)*p))
      continue;
    int v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
    cr_assert(v >= 0 && v < 16, "bad hex digit '%c' in block %s", *p, name);
    if (hi < 0) {
      hi = v;
    } else {
      uint8_t b = (uint8_t)(hi << 4 | v);
      lbuf_put(&out, &b, 1);
      hi = -1;
    }
  }
  cr_assert_eq(hi, -1, "odd number of hex digits in block %s", name);
  return out;
}

Test(format, worked_example_matches_the_spec)
{
  cr_assert_eq(linli_crypto_init(), 0);
  s_build();
  if (getenv("LINLI_PRINT_EXAMPLE")) {
    for (int i = 0; i < nex; i++) {
      printf("<!-- example: %s -->\n```hex\n", ex[i].name);
      for (size_t k = 0; k < ex[i].bytes.len; k++)
        printf("%02x%s", ex[i].bytes.p[k], (k + 1) % 32 == 0 || k + 1 == ex[i].bytes.len ? "\n" : " ");
      printf("```\n\n");
    }
  }
  size_t n;
  char *doc = (char *)tu_read_file(LINLI_SOURCE_DIR "/docs/FORMAT.md", &n);
  cr_assert_not_null(doc, "cannot read docs/FORMAT.md");
  doc = realloc(doc, n + 1);
  doc[n] = '\0';
  for (int i = 0; i < nex; i++) {
    lbuf want = s_doc_block(doc, ex[i].name);
    cr_assert_eq(want.len, ex[i].bytes.len, "block %s: %zu bytes in the spec, %zu computed",
                 ex[i].name, want.len, ex[i].bytes.len);
    cr_assert_eq(memcmp(want.p, ex[i].bytes.p, want.len), 0, "block %s differs", ex[i].name);
    lbuf_free(&want);
  }
  free(doc);
  s_free();
}

Test(format, example_delta_decodes_and_verifies)
{
  cr_assert_eq(linli_crypto_init(), 0);
  s_build();
  delta d;
  lerr e = {0};
  lbuf *enc = &ex[7].bytes;
  cr_assert_str_eq(ex[7].name, "delta");
  cr_assert_eq(delta_decode(&d, enc->p, enc->len, &e), 0, "%s", e.msg);
  lbuf scratch;
  lbuf_init(&scratch);
  uint8_t head[LINLI_HASH_BYTES];
  cr_assert_eq(delta_verify(&d, head, NULL, &scratch, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(head, ex[4].bytes.p, LINLI_HASH_BYTES), 0);
  delta_clear(&d);
  lbuf_free(&scratch);
  s_free();
}
