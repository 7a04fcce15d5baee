/* test_summary.c - sync/summary: round trip, sorting, lookup, and strict
 * rejection of malformed or truncated summaries. */
#include "sync/summary.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static lsummary
s_make(uint32_t n)
{
  lsummary s = {.created_ms = 1764300060000ull, .n = n};
  memset(s.node, 0xab, sizeof s.node);
  s.heads = calloc(n ? n : 1, sizeof *s.heads);
  uint32_t seed = 5;
  for (uint32_t i = 0; i < n; i++) {
    for (int k = 0; k < LINLI_PK_BYTES; k++)
      s.heads[i].author[k] = (uint8_t)tu_rand(&seed);
    s.heads[i].seq = tu_rand(&seed);
    memset(s.heads[i].hash, (int)i, LINLI_HASH_BYTES);
  }
  return s;
}

Test(summary, round_trip_sorted_and_found)
{
  lsummary s = s_make(50);
  cr_assert_eq(summary_sort(&s), 0);
  lbuf b;
  lbuf_init(&b);
  summary_encode(&s, &b);
  lsummary t;
  lerr e = {0};
  cr_assert_eq(summary_decode(&t, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(t.n, 50);
  cr_assert_eq(t.created_ms, s.created_ms);
  cr_assert_eq(memcmp(t.heads, s.heads, 50 * sizeof *s.heads), 0);
  for (uint32_t i = 0; i < s.n; i++) {
    const lhead_ref *h = summary_find(&t, s.heads[i].author);
    cr_assert_not_null(h);
    cr_assert_eq(h->seq, s.heads[i].seq);
  }
  uint8_t nobody[LINLI_PK_BYTES] = {0};
  cr_assert_null(summary_find(&t, nobody));
  /* a few dozen bytes per author */
  cr_assert_lt(b.len, 80 + 50 * 80);
  summary_free(&t);
  summary_free(&s);
  lbuf_free(&b);
}

Test(summary, rejects_damage)
{
  lsummary s = s_make(3);
  cr_assert_eq(summary_sort(&s), 0);
  lbuf b;
  lbuf_init(&b);
  summary_encode(&s, &b);
  lsummary t;
  lerr e;
  for (size_t cut = 0; cut < b.len; cut++)
    cr_assert_neq(summary_decode(&t, b.p, cut, &e), 0, "truncated at %zu accepted", cut);
  lbuf_put(&b, "x", 1);
  cr_assert_neq(summary_decode(&t, b.p, b.len, &e), 0);
  b.len--;
  /* unsorted entries are refused */
  lhead_ref tmp = s.heads[0];
  s.heads[0] = s.heads[1];
  s.heads[1] = tmp;
  lbuf_reset(&b);
  summary_encode(&s, &b);
  cr_assert_eq(summary_decode(&t, b.p, b.len, &e), LINLI_EMALFORMED);
  cr_assert(strstr(e.msg, "sorted") != NULL);
  /* a repeated author cannot be sorted into a summary */
  s.heads[1] = s.heads[0];
  cr_assert_eq(summary_sort(&s), LINLI_EINVAL);
  cr_assert_neq(summary_decode(&t, (const uint8_t *)"\x94\xa1x", 3, &e), 0);
  summary_free(&s);
  lbuf_free(&b);
}

Test(summary, signed_by_its_station)
{
  cr_assert_eq(linli_crypto_init(), 0);
  lident id, other;
  ident_generate(&id);
  ident_generate(&other);
  lsummary s = s_make(4);
  memcpy(s.node, id.pk, LINLI_PK_BYTES);
  cr_assert_eq(summary_sort(&s), 0);
  lbuf b;
  lbuf_init(&b);
  summary_encode_signed(&s, &id, &b);
  lsummary t;
  lerr e = {0};
  cr_assert_eq(summary_decode(&t, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert(t.is_signed);
  cr_assert_eq(t.n, 4);
  cr_assert_eq(memcmp(t.node, id.pk, LINLI_PK_BYTES), 0);
  summary_free(&t);
  for (size_t cut = 0; cut < b.len; cut++)
    cr_assert_neq(summary_decode(&t, b.p, cut, &e), 0, "truncated at %zu accepted", cut);
  /* another station's key in place of the signer's (bytes 20..51) */
  uint8_t *forged = malloc(b.len);
  memcpy(forged, b.p, b.len);
  cr_assert_eq(memcmp(forged + 20, id.pk, LINLI_PK_BYTES), 0);
  memcpy(forged + 20, other.pk, LINLI_PK_BYTES);
  cr_assert_eq(summary_decode(&t, forged, b.len, &e), LINLI_ESIG);
  cr_assert(strstr(e.msg, "not signed by the station it names") != NULL);
  /* a head changed after signing */
  memcpy(forged, b.p, b.len);
  forged[b.len - LINLI_SIG_BYTES - 3] ^= 1;
  cr_assert_eq(summary_decode(&t, forged, b.len, &e), LINLI_ESIG);
  free(forged);
  /* the older unsigned form is read, and says so */
  lbuf_reset(&b);
  summary_encode(&s, &b);
  cr_assert_eq(summary_decode(&t, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert(!t.is_signed);
  summary_free(&t);
  summary_free(&s);
  lbuf_free(&b);
  ident_wipe(&id);
  ident_wipe(&other);
}
