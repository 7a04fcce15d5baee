/* summary.c - encoding of author-head summaries; see summary.h. */
#include "sync/summary.h"

#include <stdlib.h>
#include <string.h>

#define SUMMARY_DOMAIN_V1 "linli-summary-v1"
#define SUMMARY_DOMAIN "linli-summary-v2"
#define SUMMARY_SIG_DOMAIN "linli-summary-sig-v2"
#define SUMMARY_MAX_AUTHORS 1000000

static int
s_cmp(const void *a, const void *b)
{
  return memcmp(((const lhead_ref *)a)->author, ((const lhead_ref *)b)->author,
                LINLI_PK_BYTES);
}

int
summary_sort(lsummary *s)
{
  qsort(s->heads, s->n, sizeof *s->heads, s_cmp);
  for (uint32_t i = 1; i < s->n; i++)
    if (s_cmp(&s->heads[i - 1], &s->heads[i]) == 0)
      return LINLI_EINVAL;
  return 0;
}

/* What the station signs: the canonical msgpack of [SUMMARY_SIG_DOMAIN,
 * H(every byte of the summary before its signature)]. */
static void
s_sig_message(lbuf *msg, const uint8_t *p, size_t n)
{
  uint8_t hash[LINLI_HASH_BYTES];
  linli_hash(hash, p, n);
  mpw w;
  mpw_init(&w, msg);
  mpw_array(&w, 2);
  mpw_cstr(&w, SUMMARY_SIG_DOMAIN);
  mpw_bin(&w, hash, LINLI_HASH_BYTES);
}

static void
s_encode(const lsummary *s, const lident *id, lbuf *out)
{
  size_t start = out->len;
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, id ? 5 : 4);
  mpw_cstr(&w, id ? SUMMARY_DOMAIN : SUMMARY_DOMAIN_V1);
  mpw_bin(&w, s->node, LINLI_PK_BYTES);
  mpw_uint(&w, s->created_ms);
  mpw_array(&w, s->n);
  for (uint32_t i = 0; i < s->n; i++) {
    mpw_array(&w, 3);
    mpw_bin(&w, s->heads[i].author, LINLI_PK_BYTES);
    mpw_uint(&w, s->heads[i].seq);
    mpw_bin(&w, s->heads[i].hash, LINLI_HASH_BYTES);
  }
  if (id == NULL || out->oom)
    return;
  LINLI_ASSERT(memcmp(id->pk, s->node, LINLI_PK_BYTES) == 0);
  uint8_t sig[LINLI_SIG_BYTES];
  lbuf msg;
  lbuf_init(&msg);
  s_sig_message(&msg, out->p + start, out->len - start);
  if (msg.oom) {
    out->oom = true;
  } else {
    ident_sign(id, sig, msg.p, msg.len);
    mpw_bin(&w, sig, sizeof sig);
  }
  lbuf_free(&msg);
}

void
summary_encode(const lsummary *s, lbuf *out)
{
  s_encode(s, NULL, out);
}

void
summary_encode_signed(const lsummary *s, const lident *id, lbuf *out)
{
  s_encode(s, id, out);
}

int
summary_decode(lsummary *s, const uint8_t *p, size_t n, lerr *e)
{
  mpr r;
  const char *dom;
  uint32_t dn, an;
  memset(s, 0, sizeof *s);
  mpr_init(&r, p, n);
  if (mpr_array(&r, &an) || mpr_str(&r, &dom, &dn))
    return lerr_set(e, LINLI_EMALFORMED, "not a linli summary");
  if (an == 5 && dn == strlen(SUMMARY_DOMAIN) && memcmp(dom, SUMMARY_DOMAIN, dn) == 0)
    s->is_signed = true;
  else if (an != 4 || dn != strlen(SUMMARY_DOMAIN_V1) || memcmp(dom, SUMMARY_DOMAIN_V1, dn) != 0)
    return lerr_set(e, LINLI_EMALFORMED, "not a linli summary");
  if (mpr_bin_n(&r, s->node, LINLI_PK_BYTES) || mpr_uint(&r, &s->created_ms) ||
      mpr_array(&r, &s->n) || s->n > SUMMARY_MAX_AUTHORS) {
    s->n = 0;
    return lerr_set(e, LINLI_EMALFORMED, "malformed summary header");
  }
  s->heads = calloc(s->n ? s->n : 1, sizeof *s->heads);
  if (s->heads == NULL) {
    s->n = 0;
    return lerr_set(e, LINLI_ENOMEM, "out of memory reading a summary");
  }
  for (uint32_t i = 0; i < s->n; i++) {
    lhead_ref *h = &s->heads[i];
    if (mpr_array_n(&r, 3) || mpr_bin_n(&r, h->author, LINLI_PK_BYTES) ||
        mpr_uint(&r, &h->seq) || mpr_bin_n(&r, h->hash, LINLI_HASH_BYTES)) {
      summary_free(s);
      return lerr_set(e, LINLI_EMALFORMED, "malformed summary entry %u", i);
    }
    if (i > 0 && s_cmp(&s->heads[i - 1], h) >= 0) {
      summary_free(s);
      return lerr_set(e, LINLI_EMALFORMED, "summary entries are not sorted by author");
    }
  }
  if (s->is_signed) {
    size_t signed_len = n - mpr_left(&r);
    uint8_t sig[LINLI_SIG_BYTES];
    if (mpr_bin_n(&r, sig, sizeof sig)) {
      summary_free(s);
      return lerr_set(e, LINLI_EMALFORMED, "malformed summary signature");
    }
    lbuf msg;
    lbuf_init(&msg);
    s_sig_message(&msg, p, signed_len);
    bool ok = !msg.oom && ident_verify(s->node, sig, msg.p, msg.len);
    bool oom = msg.oom;
    lbuf_free(&msg);
    if (!ok) {
      summary_free(s);
      return oom ? lerr_set(e, LINLI_ENOMEM, "out of memory reading a summary")
                 : lerr_set(e, LINLI_ESIG, "the summary is not signed by the station it "
                            "names: make it again with linli summary at that station");
    }
  }
  if (mpr_left(&r) != 0) {
    summary_free(s);
    return lerr_set(e, LINLI_EMALFORMED, "trailing bytes after a summary");
  }
  return 0;
}

void
summary_free(lsummary *s)
{
  free(s->heads);
  memset(s, 0, sizeof *s);
}

const lhead_ref *
summary_find(const lsummary *s, const uint8_t author[LINLI_PK_BYTES])
{
  lhead_ref key;
  memcpy(key.author, author, LINLI_PK_BYTES);
  return bsearch(&key, s->heads, s->n, sizeof *s->heads, s_cmp);
}
