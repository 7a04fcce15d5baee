/*
 * trustcache.c - what the store knows of each author's trust (crdt/trust.h):
 * the certificate chain and revocations read from the views, fork evidence
 * from the metadata, cached per author; fork evidence kept and listed; the
 * signed head at a seq (what a revocation carries); key rotation.
 */
#include "node/store_int.h"
#include "crdt/hmap.h"
#include "node/failpoint.h"
#include "node/fsutil.h"
#include "node/keyfile.h"
#include "node/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
st_revocations_each(lstore *s, const uint8_t subject[LINLI_PK_BYTES], st_rev_cb cb, void *ctx,
                    lerr *e)
{
  char key[96];
  size_t kl = trust_key(key, TRUST_REVOKE_PREFIX, subject);
  rec *r = NULL;
  int rc = lstore_get(s, key, kl, &r, e);
  if (rc)
    return rc == LINLI_ENOTFOUND ? 0 : rc;
  const rfield *f = rec_field(r, TRUST_REVOKE_FIELD, strlen(TRUST_REVOKE_FIELD), FK_SET);
  for (uint32_t i = 0; f && i < f->nents && rc == 0; i++) {
    uint8_t *raw;
    size_t rl;
    lrevoke rv;
    /* Every element passed trust_check_op when it was stored. */
    if (trust_unhex(f->ents[i].s, f->ents[i].s_len, &raw, &rl, NULL) != 0)
      continue;
    if (revoke_decode(&rv, raw, rl, NULL) == 0 && memcmp(rv.subject, subject, LINLI_PK_BYTES) == 0)
      rc = cb(ctx, f->ents[i].st.author, &rv);
    free(raw);
  }
  rec_destroy(&r);
  return rc;
}

int
st_issuers_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, ltrust_issuers *out,
              bool *have, lerr *e)
{
  /* Back from `seq` to the last certificate op: renewals are rare, so
   * this reads few deltas. */
  *have = false;
  lchain *ch = malloc(sizeof *ch);
  if (ch == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  int rc = 0;
  while (seq > 0 && !*have && rc == 0) {
    delta d;
    char *raw;
    memset(&d, 0, sizeof d);
    if ((rc = st_load_delta(s, author, seq, &d, &raw, NULL, e)) != 0)
      break;
    for (uint64_t q = seq; q >= d.first_seq && !*have; q--) {
      if (trust_op_chain(author, &d.ops[q - d.first_seq], ch, NULL) == 0) {
        trust_issuers(ch, out);
        *have = true;
      }
    }
    seq = d.first_seq - 1;
    delta_clear(&d);
    free(raw);
  }
  free(ch);
  return rc;
}

int
st_revoke_decide(lstore *s, const ltrust_state *st, const uint8_t author[LINLI_PK_BYTES],
                 const uint8_t revoker[LINLI_PK_BYTES], const lrevoke *rv, lerr *e)
{
  ltrust_issuers is;
  bool have = false;
  uint64_t at = trust_revoke_at(rv->seq);
  int rc = 0;
  if (memcmp(revoker, s->root, LINLI_PK_BYTES) == 0)
    return 0;
  if (st->certified && st->chain_seq <= at) {
    trust_issuers(&st->chain, &is);
    have = true;
  } else if ((rc = st_issuers_at(s, author, at, &is, &have, e)) != 0) {
    return rc;
  }
  return trust_revoke_check(s->root, revoker, rv, have ? &is : NULL, e);
}

typedef struct load_ctx {
  lstore *s;
  const uint8_t *author;
  ltrust_state *st;
  bool head_read;
  uint64_t head;
  lerr *e;
} load_ctx;

/* One stored revocation of the author being loaded: decided when the
 * author's log is held up to its seq (or the root wrote it), pending
 * otherwise. */
static int
s_load_rev(void *ctx, const uint8_t revoker[LINLI_PK_BYTES], const lrevoke *rv)
{
  load_ctx *lc = ctx;
  uint64_t at = trust_revoke_at(rv->seq);
  bool by_root = memcmp(revoker, lc->s->root, LINLI_PK_BYTES) == 0;
  lerr why;
  int rc;
  if (!lc->head_read) {
    lhead h;
    if ((rc = lstore_head(lc->s, lc->author, &h, lc->e)) != 0 && rc != LINLI_ENOTFOUND)
      return rc;
    lc->head = rc == 0 ? h.seq : 0;
    lc->head_read = true;
  }
  if (!by_root && at > lc->head) {
    if (at < lc->st->pending_at)
      lc->st->pending_at = at;
    return 0;
  }
  rc = st_revoke_decide(lc->s, lc->st, lc->author, revoker, rv, &why);
  if (rc == 0)
    trust_add_revocation(lc->st, revoker, rv);
  else if (rc != LINLI_EREFUSED && lc->e)
    *lc->e = why;
  return rc == LINLI_EREFUSED ? 0 : rc;
}

/* What the views and the fork evidence say of `author`. */
static int
s_trust_load(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state *st, lerr *e)
{
  char key[96];
  size_t kl;
  rec *r = NULL;
  int rc;
  trust_state_init(st);
  kl = trust_key(key, TRUST_CERT_PREFIX, author);
  if ((rc = lstore_get(s, key, kl, &r, e)) == 0) {
    const rfield *f = rec_field(r, TRUST_CHAIN_FIELD, strlen(TRUST_CHAIN_FIELD), FK_REGISTER);
    uint8_t *raw;
    size_t rl;
    if (f && f->nents == 1 && trust_unhex(f->ents[0].s, f->ents[0].s_len, &raw, &rl, NULL) == 0) {
      st->certified = chain_decode(&st->chain, raw, rl, NULL) == 0;
      st->chain_seq = f->ents[0].st.seq;
      free(raw);
    }
    rec_destroy(&r);
  } else if (rc != LINLI_ENOTFOUND) {
    return rc;
  }
  /* Revocations have force only under a root. */
  if (s->has_root) {
    load_ctx lc = {.s = s, .author = author, .st = st, .e = e};
    if ((rc = st_revocations_each(s, author, s_load_rev, &lc, e)) != 0)
      return rc;
  }
  char mk[80] = "fork:";
  hex_encode(mk + 5, author, LINLI_PK_BYTES);
  uint8_t *ev;
  size_t evl;
  if (lstore_meta_get(s, mk, &ev, &evl, NULL) == 0) {
    uint8_t a[LINLI_PK_BYTES];
    mpr rd;
    mpr_init(&rd, ev, evl);
    const char *tag;
    uint32_t tl;
    st->forked = true;
    if (mpr_array_n(&rd, 5) || mpr_str(&rd, &tag, &tl) || mpr_bin_n(&rd, a, sizeof a) ||
        mpr_uint(&rd, &st->fork_seq))
      st->fork_seq = 0;
    free(ev);
  }
  return 0;
}

/* The store's cached state of `author` (loaded on first use). */
int
st_trust_get(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state **out, lerr *e)
{
  ltrust_state *st = hmap_get(&s->trust, author, LINLI_PK_BYTES);
  if (st == NULL) {
    st = malloc(sizeof *st);
    if (st == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    int rc = s_trust_load(s, author, st, e);
    if (rc == 0 && hmap_put(&s->trust, author, LINLI_PK_BYTES, st) != 0)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    if (rc) {
      free(st);
      return rc;
    }
  }
  *out = st;
  return 0;
}

int
lstore_trust(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state *out, lerr *e)
{
  ltrust_state *st;
  int rc = st_trust_get(s, author, &st, e);
  if (rc == 0)
    *out = *st;
  return rc;
}

uint64_t lstore_trust_gen(const lstore *s) { return s->trust_gen; }

int
lstore_cert_prefix(lstore *s, const uint8_t pk[LINLI_PK_BYTES], const char **prefix, lerr *e)
{
  ltrust_state *st;
  *prefix = NULL;
  int rc = st_trust_get(s, pk, &st, e);
  if (rc == 0 && st->certified)
    *prefix = st->chain.c[0].prefix;
  return rc;
}

int
lstore_namespace(lstore *s, char out[LINLI_KEY_MAX + 1], lerr *e)
{
  ltrust_state *st;
  out[0] = '\0';
  int rc = st_trust_get(s, lstore_self(s), &st, e);
  if (rc == 0 && st->certified)
    snprintf(out, LINLI_KEY_MAX + 1, "%s", st->chain.c[0].prefix);
  return rc;
}

int
lstore_forks(lstore *s, lstore_fork_cb cb, void *ctx, lerr *e)
{
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, "x:fork:", 7); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < 7 || memcmp(k, "x:fork:", 7) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    uint8_t author[LINLI_PK_BYTES];
    uint64_t seq;
    lerr inner;
    if (fork_check((const uint8_t *)v, vl, author, &seq, &inner) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "stored fork evidence is corrupt: %s", inner.msg);
      break;
    }
    rc = cb(ctx, author, seq, (const uint8_t *)v, vl);
  }
  rocksdb_iter_destroy(it);
  return rc;
}

/* Keeps evidence (if none is kept for the author yet) and stops accepting
 * the author's new ops.  Evidence is written at once, outside any ingest
 * group: it stays even when the group that found it is thrown away. */
int
st_fork_keep(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
            size_t evl, lerr *e)
{
  ltrust_state *st;
  int rc = st_trust_get(s, author, &st, e);
  if (rc)
    return rc;
  if (st->forked)
    return 0;
  char mk[80] = "fork:";
  hex_encode(mk + 5, author, LINLI_PK_BYTES);
  if ((rc = lstore_meta_put(s, mk, ev, evl, e)) != 0)
    return rc;
  st->forked = true;
  st->fork_seq = seq;
  s->trust_gen++;
  s->nforks++;
  log_kv(LLOG_WARN, &(llog_kv){.author = author, .seq = seq},
         "author %s forked at seq %llu: evidence kept, its new ops are refused",
         st_short(mk, author), (unsigned long long)seq);
  return 0;
}

uint32_t lstore_fork_count(const lstore *s) { return s->nforks; }

typedef struct fork_pick {
  uint32_t want, at;
  lstore_author_pred keep;
  void *kctx;
  lbuf *out;
} fork_pick;

static int
s_fork_pick(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
            size_t n)
{
  fork_pick *fp = ctx;
  (void)seq;
  if (fp->keep != NULL && !fp->keep(fp->kctx, author))
    return 0;
  if (fp->at++ != fp->want)
    return 0;
  lbuf_put(fp->out, ev, n);
  return 1;
}

int
lstore_fork_get(lstore *s, uint32_t i, lstore_author_pred keep, void *kctx, lbuf *out,
                uint32_t *kept, lerr *e)
{
  fork_pick fp = {.want = i, .keep = keep, .kctx = kctx, .out = out};
  int rc = lstore_forks(s, s_fork_pick, &fp, e);
  if (kept)
    *kept = fp.at;
  return rc;
}

int
lstore_fork_add(lstore *s, const uint8_t *p, size_t n, bool *is_new, lerr *e)
{
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  int rc = fork_check(p, n, author, &seq, e);
  if (rc)
    return rc;
  ltrust_state *st;
  if ((rc = st_trust_get(s, author, &st, e)) != 0)
    return rc;
  if (is_new)
    *is_new = !st->forked;
  return st_fork_keep(s, author, seq, p, n, e);
}

int
lstore_signed_head(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, lhead *out,
                   lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  st_short(who, author);
  if (seq == 0)
    return lerr_set(e, LINLI_EINVAL, "seq 0 has no head");
  delta d;
  char *raw;
  memset(&d, 0, sizeof d);
  int rc = st_load_delta(s, author, seq, &d, &raw, NULL, e);
  if (rc)
    return rc;
  if (delta_last_seq(&d) != seq) {
    rc = lerr_set(e, LINLI_ENOTFOUND,
                  "author %s: no signature at seq %llu here; the nearest signed heads are seq "
                  "%llu and %llu",
                  who, (unsigned long long)seq, (unsigned long long)(d.first_seq - 1),
                  (unsigned long long)delta_last_seq(&d));
  } else {
    lbuf scratch;
    lbuf_init(&scratch);
    memset(out, 0, sizeof *out);
    memcpy(out->author, author, LINLI_PK_BYTES);
    out->seq = seq;
    out->hlc = d.ops[d.nops - 1].hlc;
    memcpy(out->sig, d.sig, LINLI_SIG_BYTES);
    rc = delta_verify(&d, out->hash, NULL, &scratch, e);
    lbuf_free(&scratch);
  }
  delta_clear(&d);
  free(raw);
  return rc;
}

int
lstore_issue_chain(lstore *s, const lident *issuer, lcert *cert, lchain *out, lerr *e)
{
  const uint8_t *root = lstore_root(s);
  if (root == NULL)
    return lerr_set(e, LINLI_EINVAL, "this store has no trust root (linli init --root); it "
                    "cannot issue certificates");
  int rc = cert_check(cert, e);
  if (rc)
    return rc;
  out->n = 1;
  if (memcmp(issuer->pk, root, LINLI_PK_BYTES) != 0) {
    ltrust_state *st;
    if ((rc = st_trust_get(s, issuer->pk, &st, e)) != 0)
      return rc;
    if (!st->certified || st->chain.n + 1 > TRUST_CHAIN_MAX)
      return lerr_set(e, LINLI_EINVAL, "this node has no certificate (linli cert install); it "
                      "cannot certify others");
    memcpy(&out->c[1], st->chain.c, st->chain.n * sizeof st->chain.c[0]);
    out->n = 1 + st->chain.n;
  }
  cert_sign(cert, issuer);
  out->c[0] = *cert;
  /* Refuse now what every node would refuse later. */
  return chain_verify(out, root, cert->subject, e);
}

int
st_trust_op(op *o, char key[96], lbuf *hex, uint8_t kind, const char *prefix,
            const uint8_t subject[LINLI_PK_BYTES], const char *field, const lbuf *raw, lerr *e)
{
  trust_hex(hex, raw->p, raw->len);
  size_t kl = trust_key(key, prefix, subject);
  *o = (op){.kind = kind, .key = key, .key_len = (uint32_t)kl, .field = field,
            .field_len = (uint32_t)strlen(field), .str = (const char *)hex->p,
            .str_len = (uint32_t)hex->len};
  return raw->oom || hex->oom ? lerr_set(e, LINLI_ENOMEM, "out of memory") : 0;
}

/* Writes, as `id`, one op on the trust record `prefix` + hex(subject):
 * `kind` of `field` with the hex of raw's bytes as its value. */
static int
s_write_trust(lstore *s, const lident *id, uint8_t kind, const char *prefix,
              const uint8_t subject[LINLI_PK_BYTES], const char *field, const lbuf *raw,
              uint64_t wall_ms, lerr *e)
{
  lbuf hex;
  lbuf_init(&hex);
  char key[96];
  op o;
  int rc = st_trust_op(&o, key, &hex, kind, prefix, subject, field, raw, e);
  if (rc == 0)
    rc = lstore_write(s, id, &o, 1, wall_ms, e);
  lbuf_free(&hex);
  return rc;
}

int
lstore_write_chain(lstore *s, const lident *id, const lchain *ch, uint64_t wall_ms, lerr *e)
{
  lbuf raw;
  lbuf_init(&raw);
  chain_encode(&raw, ch);
  int rc = s_write_trust(s, id, OP_SET, TRUST_CERT_PREFIX, id->pk, TRUST_CHAIN_FIELD, &raw,
                         wall_ms, e);
  lbuf_free(&raw);
  return rc;
}

int
lstore_write_revocation(lstore *s, const lident *id, lrevoke *rv, uint64_t wall_ms, lerr *e)
{
  memset(rv->hash, 0, sizeof rv->hash);
  memset(rv->sig, 0, sizeof rv->sig);
  if (rv->seq > 0) {
    lhead sh;
    int rc = lstore_signed_head(s, rv->subject, rv->seq, &sh, e);
    if (rc)
      return rc;
    memcpy(rv->hash, sh.hash, LINLI_HASH_BYTES);
    memcpy(rv->sig, sh.sig, LINLI_SIG_BYTES);
  }
  lbuf raw;
  lbuf_init(&raw);
  revoke_encode(&raw, rv);
  int rc = s_write_trust(s, id, OP_ADD, TRUST_REVOKE_PREFIX, rv->subject, TRUST_REVOKE_FIELD,
                         &raw, wall_ms, e);
  lbuf_free(&raw);
  return rc;
}

/* Copies a name into a TRUST_NAME_MAX field, cut at a character boundary. */
static void
s_name_copy(char out[TRUST_NAME_MAX + 1], const char *name)
{
  size_t n = strlen(name);
  if (n > TRUST_NAME_MAX) {
    n = TRUST_NAME_MAX;
    while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
      n--;
  }
  memcpy(out, name, n);
  out[n] = '\0';
}

int
lstore_author_info(lstore *s, const uint8_t author[LINLI_PK_BYTES], lauthor_info *out, lerr *e)
{
  ltrust_state *st;
  memset(out, 0, sizeof *out);
  out->role = -1;
  int rc = st_trust_get(s, author, &st, e);
  if (rc)
    return rc;
  if (!st->certified) {
    if (memcmp(author, s->self, LINLI_PK_BYTES) == 0) {
      s_name_copy(out->name, s->name);
      s_name_copy(out->station, s->name);
      if (s->has_root && memcmp(author, s->root, LINLI_PK_BYTES) == 0)
        out->role = ROLE_DISTRICT;
    }
    return 0;
  }
  lauthor_from_chain(&st->chain, out);
  if (out->station[0] == '\0' && memcmp(st->chain.c[0].issuer, s->self, LINLI_PK_BYTES) == 0)
    s_name_copy(out->station, s->name); /* the root that certified it is this node */
  return 0;
}

void
lauthor_from_chain(const lchain *ch, lauthor_info *out)
{
  memset(out, 0, sizeof *out);
  out->certified = true;
  out->role = ch->c[0].role;
  s_name_copy(out->name, ch->c[0].name);
  if (!trust_role_person(ch->c[0].role))
    s_name_copy(out->station, ch->c[0].name);
  else if (ch->n > 1)
    s_name_copy(out->station, ch->c[1].name);
}

int
lstore_rotate(lstore *s, const char *next_key, lerr *e)
{
  char cur[4096], pub[4200], old[4200], oldpub[4300], nextpub[4200];
  char shrt[LINLI_SHORT_ID_LEN + 1];
  lident next;
  int rc = keyfile_read(next_key, &next, e);
  if (rc)
    return rc;
  uint8_t pk[LINLI_PK_BYTES];
  memcpy(pk, next.pk, sizeof pk);
  ident_wipe(&next);
  if (memcmp(pk, s->self, LINLI_PK_BYTES) == 0)
    return lerr_set(e, LINLI_EINVAL, "the new key is the current key");
  ident_short(shrt, s->self);
  if (fs_join(cur, sizeof cur, s->dir, "node.key"))
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", s->dir);
  snprintf(pub, sizeof pub, "%s.pub", cur);
  snprintf(old, sizeof old, "%s.retired-%s", cur, shrt);
  snprintf(oldpub, sizeof oldpub, "%s.pub", old);
  snprintf(nextpub, sizeof nextpub, "%s.pub", next_key);
  /* The retired key is kept (renamed, never deleted): the old log stays
   * verifiable by its public key, and an operator can still prove which
   * device held it.  The store's own key changes in one synced write. */
  /* A crash from here to the write below is finished or undone at the
   * next open (store.c, s_rotate_recover). */
  if (rename(cur, old) != 0 || (access(pub, F_OK) == 0 && rename(pub, oldpub) != 0))
    return lerr_set(e, LINLI_EIO, "%s: cannot retire the current key", cur);
  lfail("rotate-retired");
  if (rename(next_key, cur) != 0 || (access(nextpub, F_OK) == 0 && rename(nextpub, pub) != 0)) {
    rename(old, cur);
    rename(oldpub, pub);
    return lerr_set(e, LINLI_EIO, "%s: cannot install the new key", next_key);
  }
  if (fs_sync_parent(cur) != 0)
    return lerr_set(e, LINLI_EIO, "%s: fsync of the directory", cur);
  lfail("rotate-renamed");
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "self", 4, (const char *)pk, LINLI_PK_BYTES);
  rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0) {
    memcpy(s->self, pk, LINLI_PK_BYTES);
    s->trust_gen++;
  }
  return rc;
}
