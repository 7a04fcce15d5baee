/* trust.c - certificates, revocations, fork evidence and the write rules.
 * docs/FORMAT.md, "Trust", specifies every byte; trust.h says why it is
 * shaped this way. */
#include "crdt/trust.h"

#include "crdt/delta.h"
#include "crdt/rules.h"
#include "crdt/hlc.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_roles[ROLE_COUNT] = {"district", "street",   "village", "clerk",
                                                "assessor", "auditor", "admin"};

const char *
trust_role_name(int role)
{
  return role >= 0 && role < ROLE_COUNT ? s_roles[role] : "?";
}

bool
trust_role_person(int role)
{
  return role >= ROLE_CLERK && role < ROLE_COUNT;
}

int
trust_role_parse(const char *s)
{
  for (int i = 0; i < ROLE_COUNT; i++)
    if (strcmp(s, s_roles[i]) == 0)
      return i;
  return -1;
}

static const char *
s_short(char buf[LINLI_SHORT_ID_LEN + 1], const uint8_t *pk)
{
  ident_short(buf, pk);
  return buf;
}

/* ---- certificates ---- */

static void
s_cert_fields(mpw *w, const lcert *c)
{
  mpw_cstr(w, "linli-cert-v1");
  mpw_bin(w, c->subject, LINLI_PK_BYTES);
  mpw_cstr(w, c->name);
  mpw_cstr(w, trust_role_name(c->role));
  mpw_bin(w, c->issuer, LINLI_PK_BYTES);
  mpw_cstr(w, c->prefix);
  mpw_uint(w, c->not_before);
  mpw_uint(w, c->not_after);
}

void
cert_signed_part(lbuf *out, const lcert *c)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 8);
  s_cert_fields(&w, c);
}

void
cert_sign(lcert *c, const lident *issuer)
{
  memcpy(c->issuer, issuer->pk, LINLI_PK_BYTES);
  lbuf b;
  lbuf_init(&b);
  cert_signed_part(&b, c);
  ident_sign(issuer, c->sig, b.p, b.len);
  lbuf_free(&b);
}

int
cert_check(const lcert *c, lerr *e)
{
  size_t nl = strlen(c->name), pl = strlen(c->prefix);
  if (c->role >= ROLE_COUNT)
    return lerr_set(e, LINLI_EMALFORMED, "certificate role is not district, street, village, "
                    "clerk, assessor, auditor or admin");
  if (nl == 0 || !utf8_valid(c->name, nl))
    return lerr_set(e, LINLI_EMALFORMED, "certificate name must be 1 to %d bytes of UTF-8",
                    TRUST_NAME_MAX);
  for (size_t i = 0; i < nl; i++)
    if ((unsigned char)c->name[i] < 0x20 || c->name[i] == 0x7f)
      return lerr_set(e, LINLI_EMALFORMED, "certificate name contains a control character");
  if (pl > 0) {
    if (c->prefix[pl - 1] != '/')
      return lerr_set(e, LINLI_EMALFORMED, "certificate prefix '%s' does not end with '/'",
                      c->prefix);
    /* Path components as in a record key: UTF-8, no control characters,
     * none empty. */
    bool ok = utf8_valid(c->prefix, pl) && c->prefix[0] != '/' && pl <= LINLI_KEY_MAX;
    for (size_t i = 0; ok && i < pl; i++)
      if ((unsigned char)c->prefix[i] < 0x20 || c->prefix[i] == 0x7f ||
          (i > 0 && c->prefix[i] == '/' && c->prefix[i - 1] == '/'))
        ok = false;
    if (!ok)
      return lerr_set(e, LINLI_EMALFORMED, "certificate prefix '%s' is not a key prefix",
                      c->prefix);
    if (strncmp(c->prefix, "trust/", 6) == 0)
      return lerr_set(e, LINLI_EMALFORMED, "certificate prefix '%s' is reserved", c->prefix);
  } else if (c->role != ROLE_DISTRICT) {
    /* District-level namespaces (notices, ...) are for district keys. */
    return lerr_set(e, LINLI_EMALFORMED, "a %s certificate needs a key prefix",
                    trust_role_name(c->role));
  }
  if (c->not_after < c->not_before)
    return lerr_set(e, LINLI_EMALFORMED, "certificate validity ends before it starts");
  return 0;
}

static int
s_read_cstr(mpr *r, char *out, size_t cap)
{
  const char *s;
  uint32_t n;
  if (mpr_str(r, &s, &n) || n >= cap || memchr(s, 0, n) != NULL)
    return -1;
  memcpy(out, s, n);
  out[n] = 0;
  return 0;
}

static int
s_cert_read(mpr *r, lcert *c, lerr *e)
{
  const char *tag;
  uint32_t tl;
  char role[16];
  memset(c, 0, sizeof *c);
  if (mpr_array_n(r, 9) || mpr_str(r, &tag, &tl) || tl != 13 ||
      memcmp(tag, "linli-cert-v1", 13) != 0 || mpr_bin_n(r, c->subject, LINLI_PK_BYTES) ||
      s_read_cstr(r, c->name, sizeof c->name) || s_read_cstr(r, role, sizeof role) ||
      mpr_bin_n(r, c->issuer, LINLI_PK_BYTES) || s_read_cstr(r, c->prefix, sizeof c->prefix) ||
      mpr_uint(r, &c->not_before) || mpr_uint(r, &c->not_after) ||
      mpr_bin_n(r, c->sig, LINLI_SIG_BYTES))
    return lerr_set(e, LINLI_EMALFORMED, "certificate is not a linli-cert-v1");
  int ro = trust_role_parse(role);
  if (ro < 0)
    return lerr_set(e, LINLI_EMALFORMED, "certificate role '%s' is unknown", role);
  c->role = (uint8_t)ro;
  return cert_check(c, e);
}

void
chain_encode(lbuf *out, const lchain *ch)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, ch->n);
  for (uint32_t i = 0; i < ch->n; i++) {
    mpw_array(&w, 9);
    s_cert_fields(&w, &ch->c[i]);
    mpw_bin(&w, ch->c[i].sig, LINLI_SIG_BYTES);
  }
}

int
chain_decode(lchain *ch, const uint8_t *p, size_t n, lerr *e)
{
  mpr r;
  uint32_t cnt;
  mpr_init(&r, p, n);
  ch->n = 0;
  if (mpr_array(&r, &cnt) || cnt == 0 || cnt > TRUST_CHAIN_MAX)
    return lerr_set(e, LINLI_EMALFORMED, "certificate chain must hold 1 to %d certificates",
                    TRUST_CHAIN_MAX);
  for (uint32_t i = 0; i < cnt; i++) {
    int rc = s_cert_read(&r, &ch->c[i], e);
    if (rc)
      return lerr_wrap(e, rc, "certificate %u of the chain: ", i + 1);
  }
  if (mpr_left(&r) != 0)
    return lerr_set(e, LINLI_EMALFORMED, "trailing bytes after the certificate chain");
  ch->n = cnt;
  return 0;
}

int
chain_verify(const lchain *ch, const uint8_t root[LINLI_PK_BYTES],
             const uint8_t subject[LINLI_PK_BYTES], lerr *e)
{
  char a[LINLI_SHORT_ID_LEN + 1], b[LINLI_SHORT_ID_LEN + 1];
  if (ch->n == 0)
    return lerr_set(e, LINLI_EREFUSED, "empty certificate chain");
  if (memcmp(ch->c[0].subject, subject, LINLI_PK_BYTES) != 0)
    return lerr_set(e, LINLI_EREFUSED, "the chain certifies %s, not %s",
                    s_short(a, ch->c[0].subject), s_short(b, subject));
  lbuf buf;
  lbuf_init(&buf);
  int rc = 0;
  for (uint32_t i = 0; i < ch->n && rc == 0; i++) {
    const lcert *c = &ch->c[i];
    bool top = i + 1 == ch->n;
    const uint8_t *want = top ? root : ch->c[i + 1].subject;
    if (memcmp(c->issuer, want, LINLI_PK_BYTES) != 0) {
      rc = lerr_set(e, LINLI_EREFUSED, "certificate of %s (%s) is issued by %s, %s %s",
                    c->name, s_short(a, c->subject), s_short(b, c->issuer),
                    top ? "not by the trust root" : "not by the next in the chain",
                    top ? "" : ch->c[i + 1].name);
      break;
    }
    lbuf_reset(&buf);
    cert_signed_part(&buf, c);
    if (buf.oom) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      break;
    }
    if (!ident_verify(c->issuer, c->sig, buf.p, buf.len)) {
      rc = lerr_set(e, LINLI_EREFUSED, "certificate of %s (%s): signature does not verify",
                    c->name, s_short(a, c->subject));
      break;
    }
    /* The issuer's own powers: the root's are unlimited. */
    const char *ipre = top ? "" : ch->c[i + 1].prefix;
    int irole = top ? ROLE_DISTRICT : ch->c[i + 1].role;
    if (trust_role_person(irole))
      rc = lerr_set(e, LINLI_EREFUSED,
                    "certificate of %s (%s) is issued by %s, a %s: a person certifies nobody",
                    c->name, s_short(a, c->subject), ch->c[i + 1].name, trust_role_name(irole));
    else if (strncmp(c->prefix, ipre, strlen(ipre)) != 0)
      rc = lerr_set(e, LINLI_EREFUSED,
                    "certificate of %s (%s): prefix '%s' is outside its issuer's '%s'", c->name,
                    s_short(a, c->subject), c->prefix, ipre);
    else if (c->role < irole)
      rc = lerr_set(e, LINLI_EREFUSED, "certificate of %s (%s): a %s cannot certify a %s",
                    c->name, s_short(a, c->subject), trust_role_name(irole),
                    trust_role_name(c->role));
  }
  lbuf_free(&buf);
  return rc;
}

int
chain_valid_at(const lchain *ch, uint64_t ms, lerr *e)
{
  for (uint32_t i = 0; i < ch->n; i++) {
    const lcert *c = &ch->c[i];
    if (ms < c->not_before || ms > c->not_after) {
      char a[LINLI_SHORT_ID_LEN + 1];
      return lerr_set(e, LINLI_EREFUSED, "certificate of %s (%s) is %s at that time", c->name,
                      s_short(a, c->subject), ms < c->not_before ? "not yet valid" : "expired");
    }
  }
  return 0;
}

/* ---- revocations ---- */

void
revoke_encode(lbuf *out, const lrevoke *rv)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 6);
  mpw_cstr(&w, "linli-revoke-v1");
  mpw_bin(&w, rv->subject, LINLI_PK_BYTES);
  mpw_uint(&w, rv->seq);
  mpw_bin(&w, rv->hash, LINLI_HASH_BYTES);
  mpw_bin(&w, rv->sig, LINLI_SIG_BYTES);
  mpw_cstr(&w, rv->reason);
}

int
revoke_decode(lrevoke *rv, const uint8_t *p, size_t n, lerr *e)
{
  mpr r;
  const char *tag;
  uint32_t tl;
  memset(rv, 0, sizeof *rv);
  mpr_init(&r, p, n);
  if (mpr_array_n(&r, 6) || mpr_str(&r, &tag, &tl) || tl != 15 ||
      memcmp(tag, "linli-revoke-v1", 15) != 0 || mpr_bin_n(&r, rv->subject, LINLI_PK_BYTES) ||
      mpr_uint(&r, &rv->seq) || mpr_bin_n(&r, rv->hash, LINLI_HASH_BYTES) ||
      mpr_bin_n(&r, rv->sig, LINLI_SIG_BYTES) ||
      s_read_cstr(&r, rv->reason, sizeof rv->reason) || mpr_left(&r) != 0 ||
      !utf8_valid(rv->reason, strlen(rv->reason)))
    return lerr_set(e, LINLI_EMALFORMED, "revocation is not a linli-revoke-v1");
  if (rv->seq == 0) {
    static const uint8_t zero[LINLI_SIG_BYTES];
    if (memcmp(rv->hash, zero, LINLI_HASH_BYTES) != 0 || memcmp(rv->sig, zero, LINLI_SIG_BYTES))
      return lerr_set(e, LINLI_EMALFORMED, "revocation at seq 0 must carry zero hash and signature");
    return 0;
  }
  if (!head_verify(rv->subject, rv->seq, rv->hash, rv->sig)) {
    char a[LINLI_SHORT_ID_LEN + 1];
    return lerr_set(e, LINLI_EREFUSED,
                    "revocation of %s at seq %llu: the head signature does not verify",
                    s_short(a, rv->subject), (unsigned long long)rv->seq);
  }
  return 0;
}

void
trust_issuers(const lchain *ch, ltrust_issuers *out)
{
  out->n = ch->n;
  for (uint32_t i = 0; i < ch->n; i++)
    memcpy(out->pk[i], ch->c[i].issuer, LINLI_PK_BYTES);
}

int
trust_revoke_check(const uint8_t root[LINLI_PK_BYTES], const uint8_t revoker[LINLI_PK_BYTES],
                   const lrevoke *rv, const ltrust_issuers *in_force, lerr *e)
{
  if (memcmp(revoker, root, LINLI_PK_BYTES) == 0)
    return 0;
  for (uint32_t i = 0; in_force && i < in_force->n; i++)
    if (memcmp(revoker, in_force->pk[i], LINLI_PK_BYTES) == 0)
      return 0;
  char a[LINLI_SHORT_ID_LEN + 1], b[LINLI_SHORT_ID_LEN + 1];
  return lerr_set(e, LINLI_EREFUSED,
                  "the revocation of %s at seq %llu by %s has no force: %s is neither the root "
                  "nor an issuer in the chain %s held at seq %llu",
                  s_short(a, rv->subject), (unsigned long long)rv->seq, s_short(b, revoker), b,
                  a, (unsigned long long)trust_revoke_at(rv->seq));
}

/* ---- fork evidence ---- */

void
fork_encode(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *a,
            size_t alen, const uint8_t *b, size_t blen)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 5);
  mpw_cstr(&w, "linli-fork-v1");
  mpw_bin(&w, author, LINLI_PK_BYTES);
  mpw_uint(&w, seq);
  mpw_raw(&w, a, alen);
  mpw_raw(&w, b, blen);
}

int
fork_read(const uint8_t *p, size_t n, fork_parts *out, lerr *e)
{
  mpr r;
  const char *tag;
  uint32_t tl;
  mpr_init(&r, p, n);
  if (mpr_array_n(&r, 5) || mpr_str(&r, &tag, &tl) || tl != 13 ||
      memcmp(tag, "linli-fork-v1", 13) != 0 || mpr_bin_n(&r, out->author, LINLI_PK_BYTES) ||
      mpr_uint(&r, &out->seq))
    return lerr_set(e, LINLI_EMALFORMED, "fork evidence is not a linli-fork-v1");
  out->d[0] = r.p;
  if (mpr_skip(&r))
    return lerr_set(e, LINLI_EMALFORMED, "fork evidence is truncated");
  out->dn[0] = (size_t)(r.p - out->d[0]);
  out->d[1] = r.p;
  if (mpr_skip(&r) || mpr_left(&r) != 0)
    return lerr_set(e, LINLI_EMALFORMED, "fork evidence is truncated or has trailing bytes");
  out->dn[1] = (size_t)(r.p - out->d[1]);
  return 0;
}

int
fork_check(const uint8_t *p, size_t n, uint8_t author[LINLI_PK_BYTES], uint64_t *seq, lerr *e)
{
  fork_parts fp;
  int rc = fork_read(p, n, &fp, e);
  if (rc)
    return rc;
  memcpy(author, fp.author, LINLI_PK_BYTES);
  *seq = fp.seq;
  uint8_t ha[LINLI_HASH_BYTES], hb[LINLI_HASH_BYTES];
  rc = rules_hash_at_verified(fp.d[0], fp.dn[0], author, *seq, ha, e);
  if (rc == 0)
    rc = rules_hash_at_verified(fp.d[1], fp.dn[1], author, *seq, hb, e);
  if (rc)
    return lerr_wrap(e, rc, "fork evidence: ");
  if (memcmp(ha, hb, sizeof ha) == 0)
    return lerr_set(e, LINLI_EMALFORMED, "fork evidence: both deltas agree at the seq named");
  return 0;
}

/* ---- hex values ---- */

int
trust_unhex(const char *s, size_t n, uint8_t **out, size_t *len, lerr *e)
{
  if (n % 2 != 0)
    return lerr_set(e, LINLI_EMALFORMED, "trust value is not hex");
  uint8_t *p = malloc(n / 2 + 1);
  if (p == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i += 2) {
    int v = 0;
    for (int k = 0; k < 2; k++) {
      char c = s[i + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) {
        free(p);
        return lerr_set(e, LINLI_EMALFORMED, "trust value is not lowercase hex");
      }
      v = v * 16 + d;
    }
    p[i / 2] = (uint8_t)v;
  }
  *out = p;
  *len = n / 2;
  return 0;
}

void
trust_hex(lbuf *out, const uint8_t *p, size_t n)
{
  /* hex_encode ends with a NUL, which the value does not include. */
  if (lbuf_reserve(out, 2 * n + 1) != 0)
    return;
  hex_encode((char *)out->p + out->len, p, n);
  out->len += 2 * n;
}

size_t
trust_key(char *out, const char *prefix, const uint8_t pk[LINLI_PK_BYTES])
{
  size_t n = strlen(prefix);
  memcpy(out, prefix, n);
  hex_encode(out + n, pk, LINLI_PK_BYTES);
  return n + 2 * LINLI_PK_BYTES;
}

/* ---- the rules ---- */

void
trust_state_init(ltrust_state *st)
{
  memset(st, 0, sizeof *st);
  st->blocked_at = UINT64_MAX;
  st->pending_at = UINT64_MAX;
}

/* revs[]: at most TRUST_REVS_MAX, sorted by seq, one per revoker. */
static bool __attribute__((unused)) /* only LINLI_ASSERT calls it */
s_revs_ok(const ltrust_state *st)
{
  if (st->nrevs > TRUST_REVS_MAX)
    return false;
  for (uint32_t i = 1; i < st->nrevs; i++) {
    if (st->revs[i - 1].rv.seq > st->revs[i].rv.seq)
      return false;
    for (uint32_t k = 0; k < i; k++)
      if (memcmp(st->revs[i].revoker, st->revs[k].revoker, LINLI_PK_BYTES) == 0)
        return false;
  }
  return true;
}

bool
trust_add_revocation(ltrust_state *st, const uint8_t revoker[LINLI_PK_BYTES], const lrevoke *rv)
{
  LINLI_ASSERT(s_revs_ok(st));
  uint32_t n = st->nrevs;
  for (uint32_t i = 0; i < n; i++) {
    if (memcmp(st->revs[i].revoker, revoker, LINLI_PK_BYTES) != 0)
      continue;
    if (st->revs[i].rv.seq <= rv->seq)
      return false;
    /* The revoker's earlier revocation replaces its later one. */
    memmove(&st->revs[i], &st->revs[i + 1], (n - i - 1) * sizeof st->revs[0]);
    n = --st->nrevs;
    break;
  }
  if (n == TRUST_REVS_MAX) {
    if (st->revs[n - 1].rv.seq <= rv->seq)
      return false;
    n = --st->nrevs; /* the largest gives way */
  }
  uint32_t at = n;
  while (at > 0 && st->revs[at - 1].rv.seq > rv->seq)
    at--;
  memmove(&st->revs[at + 1], &st->revs[at], (n - at) * sizeof st->revs[0]);
  memcpy(st->revs[at].revoker, revoker, LINLI_PK_BYTES);
  st->revs[at].rv = *rv;
  st->nrevs++;
  LINLI_ASSERT(s_revs_ok(st));
  return true;
}

const ltrust_rev *
trust_revocation(const ltrust_state *st)
{
  /* revs[] holds authorised revocations sorted by seq. */
  return st->nrevs > 0 ? &st->revs[0] : NULL;
}

static bool
s_key_is(const op *o, const char *prefix, const uint8_t pk[LINLI_PK_BYTES])
{
  char k[80];
  size_t n = trust_key(k, prefix, pk);
  return o->key_len == n && memcmp(o->key, k, n) == 0;
}

static bool
s_field_is(const op *o, const char *f)
{
  size_t n = strlen(f);
  return o->field_len == n && memcmp(o->field, f, n) == 0;
}

static bool
s_starts(const op *o, const char *prefix)
{
  size_t n = strlen(prefix);
  return o->key_len >= n && memcmp(o->key, prefix, n) == 0;
}

/* A revocation op: its value, checked; the subject must be the key's. */
static int
s_revocation(const op *o, lrevoke *rv, lerr *e)
{
  uint8_t subject[LINLI_PK_BYTES];
  size_t pl = strlen(TRUST_REVOKE_PREFIX);
  if (o->kind != OP_ADD || !s_field_is(o, TRUST_REVOKE_FIELD) ||
      o->key_len != pl + 2 * LINLI_PK_BYTES)
    return lerr_set(e, LINLI_EREFUSED, "a revocation must add to field '%s' of %s<subject hex>",
                    TRUST_REVOKE_FIELD, TRUST_REVOKE_PREFIX);
  char hex[2 * LINLI_PK_BYTES + 1];
  memcpy(hex, o->key + pl, 2 * LINLI_PK_BYTES);
  hex[2 * LINLI_PK_BYTES] = 0;
  if (hex_decode(subject, sizeof subject, hex) != 0)
    return lerr_set(e, LINLI_EREFUSED, "revocation key does not name a public key");
  uint8_t *raw;
  size_t rl;
  int rc = trust_unhex(o->str, o->str_len, &raw, &rl, e);
  if (rc)
    return lerr_wrap(e, LINLI_EREFUSED, "revocation: ");
  rc = revoke_decode(rv, raw, rl, e);
  free(raw);
  if (rc)
    return lerr_wrap(e, LINLI_EREFUSED, "revocation: ");
  if (memcmp(rv->subject, subject, LINLI_PK_BYTES) != 0)
    return lerr_set(e, LINLI_EREFUSED, "revocation names another key than its record");
  return 0;
}

int
trust_op_chain(const uint8_t author[LINLI_PK_BYTES], const op *o, lchain *out, lerr *e)
{
  if (!s_key_is(o, TRUST_CERT_PREFIX, author))
    return LINLI_ENOTFOUND;
  if (o->kind != OP_SET || !s_field_is(o, TRUST_CHAIN_FIELD))
    return lerr_set(e, LINLI_EREFUSED, "a certificate must set field '%s'", TRUST_CHAIN_FIELD);
  uint8_t *raw;
  size_t rl;
  int rc = trust_unhex(o->str, o->str_len, &raw, &rl, e);
  if (rc == 0) {
    rc = chain_decode(out, raw, rl, e);
    free(raw);
  }
  return rc;
}

int
trust_check_op(const uint8_t *root, const uint8_t author[LINLI_PK_BYTES], ltrust_state *st,
               const op *o, lrevoke *rv, bool *is_rv, lerr *e)
{
  if (is_rv)
    *is_rv = false;
  /* Outside trust/, a store without a root checks nothing. */
  if (root == NULL && !s_starts(o, "trust/"))
    return 0;
  /* The short id is only for messages: made on the refusing paths, not
   * for every op of an ingest. */
  char who[LINLI_SHORT_ID_LEN + 1];
#define WHO s_short(who, author)
  unsigned long long seq = (unsigned long long)o->seq;
  int kl = (int)(o->key_len > 80 ? 80 : o->key_len);
  bool is_root = root != NULL && memcmp(author, root, LINLI_PK_BYTES) == 0;
  uint64_t ms = hlc_ms(o->hlc);
  lerr sub;
  int rc;

  if (s_starts(o, "trust/")) {
    if (s_key_is(o, TRUST_CERT_PREFIX, author) && !is_root) {
      lchain *ch = malloc(sizeof *ch);
      if (ch == NULL)
        return lerr_set(e, LINLI_ENOMEM, "out of memory");
      rc = trust_op_chain(author, o, ch, &sub);
      /* Without a root a certificate is only checked for its form. */
      if (rc == 0 && root == NULL && memcmp(ch->c[0].subject, author, LINLI_PK_BYTES) != 0)
        rc = lerr_set(&sub, LINLI_EREFUSED, "the chain certifies another key");
      if (rc == 0 && root != NULL)
        rc = chain_verify(ch, root, author, &sub);
      if (rc == 0 && root != NULL)
        rc = chain_valid_at(ch, ms, &sub);
      if (rc == 0 && root != NULL) {
        st->chain = *ch;
        st->certified = true;
        st->chain_seq = o->seq;
      }
      free(ch);
      if (rc == LINLI_ENOMEM)
        return lerr_set(e, rc, "out of memory");
      if (rc)
        return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: certificate refused: %s", WHO,
                        seq, sub.msg);
      return 0;
    }
    if (s_starts(o, TRUST_REVOKE_PREFIX)) {
      lrevoke tmp, *r = rv ? rv : &tmp;
      if (root != NULL && !is_root && st->certified && trust_role_person(st->chain.c[0].role))
        return lerr_set(e, LINLI_EREFUSED,
                        "author %s (%s, %s) seq %llu: a person writes no revocation (its "
                        "station does)", WHO, st->chain.c[0].name,
                        trust_role_name(st->chain.c[0].role), seq);
      if (root != NULL && !is_root && !st->certified)
        return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: no certificate, cannot revoke",
                        WHO, seq);
      if (root != NULL && !is_root && (rc = chain_valid_at(&st->chain, ms, &sub)) != 0)
        return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: %s", WHO, seq, sub.msg);
      if ((rc = s_revocation(o, r, &sub)) != 0)
        return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: %s", WHO, seq, sub.msg);
      /* A revocation is a check on a key by the keys above it. */
      if (memcmp(r->subject, author, LINLI_PK_BYTES) == 0)
        return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: a key cannot revoke itself", WHO,
                        seq);
      if (is_rv)
        *is_rv = true;
      return 0;
    }
    return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: key %.*s is reserved", WHO, seq, kl,
                    o->key);
  }
  if (is_root)
    return 0;
  if (!st->certified)
    return lerr_set(e, LINLI_EREFUSED,
                    "author %s seq %llu: no certificate (its log must start with one)", WHO, seq);
  if ((rc = chain_valid_at(&st->chain, ms, &sub)) != 0)
    return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: %s", WHO, seq, sub.msg);
  if (st->chain.c[0].role == ROLE_AUDITOR)
    return lerr_set(e, LINLI_EREFUSED,
                    "author %s (%s) seq %llu: an auditor reads and audits, it writes no record "
                    "(key %.*s)", WHO, st->chain.c[0].name, seq, kl, o->key);
  const char *pre = st->chain.c[0].prefix;
  size_t pl = strlen(pre);
  if (o->key_len < pl || memcmp(o->key, pre, pl) != 0)
    return lerr_set(e, LINLI_EREFUSED, "author %s (%s) seq %llu: key %.*s is outside its namespace '%s'",
                    WHO, st->chain.c[0].name, seq, kl, o->key, pre);
  return 0;
#undef WHO
}
