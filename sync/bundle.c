/* bundle.c - bundle files of signed deltas; see bundle.h and
 * docs/FORMAT.md ("Bundle"). */
#include "sync/bundle.h"

#include <string.h>

#define BUNDLE_DOMAIN "linli-bundle-v1"
#define BUNDLE_END "linli-bundle-end"
#define BUNDLE_SIG_DOMAIN "linli-bundle-sig-v1"

static void
s_hashed_put(bundle_writer *w, lbuf *out, size_t from)
{
  crypto_generichash_update(&w->h, out->p + from, out->len - from);
}

void
bundle_write_begin(bundle_writer *w, lbuf *out, const uint8_t exporter[LINLI_PK_BYTES],
                   uint64_t created_ms, const uint8_t *for_node)
{
  crypto_generichash_init(&w->h, NULL, 0, LINLI_HASH_BYTES);
  w->ndeltas = 0;
  w->nforks = 0;
  size_t from = out->len;
  mpw m;
  mpw_init(&m, out);
  mpw_array(&m, 4);
  mpw_cstr(&m, BUNDLE_DOMAIN);
  mpw_bin(&m, exporter, LINLI_PK_BYTES);
  mpw_uint(&m, created_ms);
  if (for_node)
    mpw_bin(&m, for_node, LINLI_PK_BYTES);
  else
    mpw_nil(&m);
  s_hashed_put(w, out, from);
}

void
bundle_write_delta(bundle_writer *w, lbuf *out, const uint8_t *p, size_t n)
{
  lbuf_put(out, p, n);
  crypto_generichash_update(&w->h, p, n);
  w->ndeltas++;
}

void
bundle_write_fork(bundle_writer *w, lbuf *out, const uint8_t *p, size_t n)
{
  LINLI_ASSERT(w->ndeltas == w->nforks); /* evidence goes before every delta */
  bundle_write_delta(w, out, p, n);
  w->nforks++;
}

static void
s_sig_message(lbuf *b, const uint8_t hash[LINLI_HASH_BYTES])
{
  mpw m;
  mpw_init(&m, b);
  mpw_array(&m, 2);
  mpw_cstr(&m, BUNDLE_SIG_DOMAIN);
  mpw_bin(&m, hash, LINLI_HASH_BYTES);
}

void
bundle_write_end(bundle_writer *w, lbuf *out, const lident *id)
{
  uint8_t hash[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  crypto_generichash_final(&w->h, hash, sizeof hash);
  lbuf msg;
  lbuf_init(&msg);
  s_sig_message(&msg, hash);
  ident_sign(id, sig, msg.p, msg.len);
  lbuf_free(&msg);
  mpw m;
  mpw_init(&m, out);
  mpw_array(&m, 4);
  mpw_cstr(&m, BUNDLE_END);
  mpw_uint(&m, w->ndeltas);
  mpw_bin(&m, hash, sizeof hash);
  mpw_bin(&m, sig, sizeof sig);
}

static bool
s_str_is(mpr *r, const char *want)
{
  const char *s;
  uint32_t n;
  return mpr_str(r, &s, &n) == 0 && n == strlen(want) && memcmp(s, want, n) == 0;
}

int
bundle_read_begin(bundle_reader *br, const uint8_t *p, size_t n, lerr *e)
{
  memset(br, 0, sizeof *br);
  mpr_init(&br->r, p, n);
  br->start = p;
  if (mpr_array_n(&br->r, 4) || !s_str_is(&br->r, BUNDLE_DOMAIN))
    return lerr_set(e, LINLI_EMALFORMED, "not a linli bundle");
  if (mpr_bin_n(&br->r, br->info.exporter, LINLI_PK_BYTES) ||
      mpr_uint(&br->r, &br->info.created_ms))
    return lerr_set(e, LINLI_EMALFORMED, "malformed bundle header");
  if (mpr_peek(&br->r) == MP_NIL) {
    mpr_nil(&br->r);
  } else if (mpr_bin_n(&br->r, br->info.for_node, LINLI_PK_BYTES) == 0) {
    br->info.has_for = true;
  } else {
    return lerr_set(e, LINLI_EMALFORMED, "malformed bundle header");
  }
  return 0;
}

/* The trailer starts with a 4-element array and its domain string, fork
 * evidence with a 5-element array, a delta with a 6-element array.
 * Peeking at the array header is enough to tell them apart. */
int
bundle_read_next(bundle_reader *br, const uint8_t **p, size_t *n, lerr *e)
{
  if (br->done)
    return 0;
  if (mpr_left(&br->r) == 0)
    return lerr_set(e, LINLI_EMALFORMED,
                    "bundle is truncated after %llu deltas (no trailer)",
                    (unsigned long long)br->seen);
  const uint8_t *obj = br->r.p;
  if (*obj == 0x94) { /* array of 4: the trailer */
    size_t hashed = (size_t)(obj - br->start);
    uint64_t count;
    uint8_t hash[LINLI_HASH_BYTES], want[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
    if (mpr_array_n(&br->r, 4) || !s_str_is(&br->r, BUNDLE_END) || mpr_uint(&br->r, &count) ||
        mpr_bin_n(&br->r, want, sizeof want) || mpr_bin_n(&br->r, sig, sizeof sig))
      return lerr_set(e, LINLI_EMALFORMED, "bundle trailer is malformed or truncated");
    if (mpr_left(&br->r) != 0)
      return lerr_set(e, LINLI_EMALFORMED, "trailing bytes after the bundle trailer");
    if (count != br->seen)
      return lerr_set(e, LINLI_EMALFORMED,
                      "bundle trailer counts %llu deltas and fork evidence, found %llu",
                      (unsigned long long)count, (unsigned long long)br->seen);
    linli_hash(hash, br->start, hashed);
    if (memcmp(hash, want, sizeof hash) != 0)
      return lerr_set(e, LINLI_ECHAIN, "bundle content does not match its trailer hash");
    lbuf msg;
    lbuf_init(&msg);
    s_sig_message(&msg, hash);
    bool ok = !msg.oom && ident_verify(br->info.exporter, sig, msg.p, msg.len);
    lbuf_free(&msg);
    if (!ok)
      return lerr_set(e, LINLI_ESIG, "bundle signature of its exporter does not verify");
    br->info.ndeltas = count;
    br->done = true;
    return 0;
  }
  bool fork = *obj == 0x95; /* array of 5: fork evidence */
  if (fork && br->deltas > 0)
    return lerr_set(e, LINLI_EMALFORMED,
                    "bundle object %llu: fork evidence after a delta (it must come first)",
                    (unsigned long long)br->seen + 1);
  if (mpr_skip(&br->r) != 0)
    return lerr_set(e, LINLI_EMALFORMED, "bundle %s %llu is malformed or truncated",
                    fork ? "fork evidence" : "delta", (unsigned long long)br->seen + 1);
  *p = obj;
  *n = (size_t)(br->r.p - obj);
  br->seen++;
  if (fork)
    return BUNDLE_FORK;
  br->deltas++;
  return BUNDLE_DELTA;
}
