/* test_bundle.c - sync/bundle: a bundle reads back exactly; truncation at
 * every length, any flipped byte, a wrong count or trailing bytes are
 * refused before the reader reports the end. */
#include "sync/bundle.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <string.h>

static void
s_init(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
}

TestSuite(bundle, .init = s_init);

/* Three fake "deltas": any msgpack arrays of 6 serve the container. */
static void
s_make(lbuf *out, lident *id)
{
  uint8_t seed[LINLI_SEED_BYTES] = {7};
  ident_from_seed(id, seed);
  bundle_writer w;
  uint8_t who[LINLI_PK_BYTES];
  memset(who, 0x11, sizeof who);
  bundle_write_begin(&w, out, id->pk, 1764300000000ull, who);
  for (int i = 0; i < 3; i++) {
    lbuf d;
    lbuf_init(&d);
    mpw m;
    mpw_init(&m, &d);
    mpw_array(&m, 6);
    for (int k = 0; k < 6; k++)
      mpw_uint(&m, (uint64_t)(i * 10 + k));
    bundle_write_delta(&w, out, d.p, d.len);
    lbuf_free(&d);
  }
  bundle_write_end(&w, out, id);
}

static int
s_read_all(const uint8_t *p, size_t n, int *count, lerr *e)
{
  bundle_reader br;
  int rc = bundle_read_begin(&br, p, n, e);
  if (rc)
    return rc;
  const uint8_t *d;
  size_t dl;
  *count = 0;
  while ((rc = bundle_read_next(&br, &d, &dl, e)) == 1)
    (*count)++;
  return rc;
}

Test(bundle, round_trip)
{
  lbuf b;
  lbuf_init(&b);
  lident id;
  s_make(&b, &id);
  bundle_reader br;
  lerr e = {0};
  cr_assert_eq(bundle_read_begin(&br, b.p, b.len, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(br.info.exporter, id.pk, LINLI_PK_BYTES), 0);
  cr_assert(br.info.has_for);
  cr_assert_eq(br.info.created_ms, 1764300000000ull);
  const uint8_t *d;
  size_t dl;
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(bundle_read_next(&br, &d, &dl, &e), 1, "%s", e.msg);
    mpr r;
    mpr_init(&r, d, dl);
    uint64_t v;
    cr_assert_eq(mpr_array_n(&r, 6), 0);
    cr_assert_eq(mpr_uint(&r, &v), 0);
    cr_assert_eq(v, (uint64_t)i * 10);
  }
  cr_assert_eq(bundle_read_next(&br, &d, &dl, &e), 0, "%s", e.msg);
  cr_assert_eq(br.info.ndeltas, 3);
  cr_assert_eq(bundle_read_next(&br, &d, &dl, &e), 0);
  lbuf_free(&b);
  ident_wipe(&id);
}

Test(bundle, damage_never_reaches_the_end)
{
  lbuf b;
  lbuf_init(&b);
  lident id;
  s_make(&b, &id);
  int n;
  lerr e;
  for (size_t cut = 0; cut < b.len; cut++)
    cr_assert_lt(s_read_all(b.p, cut, &n, &e), 0, "truncated at %zu accepted", cut);
  for (size_t i = 0; i < b.len; i++) {
    b.p[i] ^= 0x04;
    int rc = s_read_all(b.p, b.len, &n, &e);
    b.p[i] ^= 0x04;
    cr_assert_lt(rc, 0, "flip at %zu of %zu accepted", i, b.len);
  }
  lbuf_put(&b, "\xc0", 1);
  cr_assert_lt(s_read_all(b.p, b.len, &n, &e), 0);
  lbuf_free(&b);
  ident_wipe(&id);
}

Test(bundle, non_canonical_header_and_trailer_refused)
{
  /* docs/FORMAT.md, "Conventions": the header's tag as str 8 and the
   * trailer's count as uint 8 are legal msgpack, and not the form a bundle
   * is written in.  The count is outside what the trailer signs, so before
   * readers were strict this variant read as a good bundle. */
  lbuf b, v;
  lbuf_init(&b);
  lbuf_init(&v);
  lident id;
  s_make(&b, &id);
  int count;
  lerr e = {0};
  cr_assert_eq(s_read_all(b.p, b.len, &count, &e), 0, "%s", e.msg);
  /* header: 94 af "linli-bundle-v1" -> 94 d9 0f "linli-bundle-v1" */
  cr_assert_eq(b.p[1], 0xaf);
  lbuf_put(&v, b.p, 1);
  lbuf_put(&v, "\xd9\x0f", 2);
  lbuf_put(&v, b.p + 2, b.len - 2);
  cr_assert_neq(s_read_all(v.p, v.len, &count, &e), 0, "header tag as str 8 accepted");
  /* trailer: 94 b0 "linli-bundle-end" 03 c4 20 ... -> count as cc 03 */
  size_t t = b.len - (1 + 17 + 1 + 34 + 66);
  cr_assert_eq(b.p[t], 0x94);
  cr_assert_eq(b.p[t + 18], 0x03);
  lbuf_reset(&v);
  lbuf_put(&v, b.p, t + 18);
  lbuf_put(&v, "\xcc\x03", 2);
  lbuf_put(&v, b.p + t + 19, b.len - t - 19);
  cr_assert_neq(s_read_all(v.p, v.len, &count, &e), 0, "trailer count as uint 8 accepted");
  lbuf_free(&b);
  lbuf_free(&v);
  ident_wipe(&id);
}

Test(bundle, fork_evidence_before_the_deltas)
{
  /* Fork evidence (an array of 5) comes before every delta and counts in
   * the trailer; after a delta it is refused. */
  lident id;
  uint8_t seed[LINLI_SEED_BYTES] = {7};
  ident_from_seed(&id, seed);
  static const uint8_t ev[] = {0x95, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0};
  static const uint8_t dl[] = {0x96, 0, 1, 2, 3, 4, 5};
  for (int late = 0; late < 2; late++) {
    lbuf b;
    lbuf_init(&b);
    bundle_writer w;
    bundle_write_begin(&w, &b, id.pk, 1, NULL);
    if (late) {
      bundle_write_delta(&w, &b, dl, sizeof dl);
      bundle_write_delta(&w, &b, ev, sizeof ev); /* what a writer never does */
    } else {
      bundle_write_fork(&w, &b, ev, sizeof ev);
      bundle_write_delta(&w, &b, dl, sizeof dl);
    }
    bundle_write_end(&w, &b, &id);
    bundle_reader br;
    lerr e = {0};
    const uint8_t *p;
    size_t n;
    cr_assert_eq(bundle_read_begin(&br, b.p, b.len, &e), 0, "%s", e.msg);
    if (late) {
      cr_assert_eq(bundle_read_next(&br, &p, &n, &e), BUNDLE_DELTA);
      cr_assert_lt(bundle_read_next(&br, &p, &n, &e), 0);
      cr_assert(strstr(e.msg, "fork evidence after a delta") != NULL, "%s", e.msg);
    } else {
      cr_assert_eq(bundle_read_next(&br, &p, &n, &e), BUNDLE_FORK, "%s", e.msg);
      cr_assert_eq(n, sizeof ev);
      cr_assert_eq(bundle_read_next(&br, &p, &n, &e), BUNDLE_DELTA, "%s", e.msg);
      cr_assert_eq(n, sizeof dl);
      cr_assert_eq(bundle_read_next(&br, &p, &n, &e), 0, "%s", e.msg);
      cr_assert_eq(br.info.ndeltas, 2);
    }
    lbuf_free(&b);
  }
  ident_wipe(&id);
}
