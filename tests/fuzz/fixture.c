/* fixture.c - see fuzz.h. */
#include "fuzz.h"
#include "crdt/hlc.h"

#include <stdlib.h>
#include <string.h>

static void
s_key(lident *id, uint8_t n)
{
  uint8_t seed[LINLI_SEED_BYTES];
  memset(seed, n, sizeof seed);
  ident_from_seed(id, seed);
}

static lcert
s_cert(const lident *subject, const char *name, int role, const char *prefix,
       const lident *issuer)
{
  lcert c;
  memset(&c, 0, sizeof c);
  memcpy(c.subject, subject->pk, LINLI_PK_BYTES);
  strcpy(c.name, name);
  c.role = (uint8_t)role;
  strcpy(c.prefix, prefix);
  c.not_before = FX_NOW - FX_DAY;
  c.not_after = FX_NOW + 365 * FX_DAY;
  cert_sign(&c, issuer);
  return c;
}

static op *
s_op(fx_log *l, uint8_t kind, const char *key, const char *field, const char *str)
{
  uint32_t i = l->n++;
  op *o = &l->ops[i];
  strcpy(l->key[i], key);
  *o = (op){.seq = i + 1, .hlc = hlc_make(FX_NOW + i * 1000, i % 3), .kind = kind,
            .key = l->key[i], .key_len = (uint32_t)strlen(key), .field = field,
            .field_len = (uint32_t)strlen(field), .str = str,
            .str_len = str ? (uint32_t)strlen(str) : 0};
  return o;
}

/* The certificate op every certified log starts with. */
static void
s_cert_op(fx_log *l, const lchain *ch)
{
  lbuf raw;
  lbuf_init(&raw);
  chain_encode(&raw, ch);
  trust_hex(&l->chain_hex, raw.p, raw.len);
  lbuf_put(&l->chain_hex, "", 1);
  lbuf_free(&raw);
  char key[96];
  trust_key(key, TRUST_CERT_PREFIX, l->id->pk);
  s_op(l, OP_SET, key, TRUST_CHAIN_FIELD, (const char *)l->chain_hex.p);
}

static void
s_hash(fx_log *l)
{
  lbuf scratch;
  lbuf_init(&scratch);
  memset(l->h[0], 0, LINLI_HASH_BYTES);
  for (uint32_t i = 0; i < l->n; i++)
    op_hash(l->h[i + 1], l->h[i], l->id->pk, &l->ops[i], &scratch);
  lbuf_free(&scratch);
}

static fx F;

const fx *
fx_get(void)
{
  static bool done;
  if (done)
    return &F;
  done = true;
  if (linli_crypto_init() != 0)
    abort();
  fx_keys *k = &F.k;
  s_key(&k->root, 1);
  s_key(&k->street, 2);
  s_key(&k->village, 3);
  s_key(&k->other, 4);
  k->schain.c[0] = s_cert(&k->street, "金阊街道", ROLE_STREET, "gusu/jinchang/", &k->root);
  k->schain.n = 1;
  k->vchain.c[0] = s_cert(&k->village, "v12", ROLE_VILLAGE, "gusu/jinchang/v12/", &k->street);
  k->vchain.c[1] = k->schain.c[0];
  k->vchain.n = 2;

  /* the village: one op of every kind after its certificate */
  fx_log *v = &F.village;
  v->id = &k->village;
  s_cert_op(v, &k->vchain);
  s_op(v, OP_SET, "gusu/jinchang/v12/h1", "name", "王秀英");
  s_op(v, OP_INCR, "gusu/jinchang/v12/h1", "visits", NULL)->n = -3;
  s_op(v, OP_ADD, "gusu/jinchang/v12/h1", "tags", "低保");
  v->tag = (op_tag){.seq = 4};
  memcpy(v->tag.author, k->village.pk, LINLI_PK_BYTES);
  op *rm = s_op(v, OP_RM, "gusu/jinchang/v12/h1", "tags", "低保");
  rm->tags = &v->tag;
  rm->ntags = 1;
  s_op(v, OP_APPEND, "gusu/jinchang/v12/h1", "notes", "2026-11-30 visited");
  s_op(v, OP_DEL, "gusu/jinchang/v12/h2", "", NULL);
  s_hash(v);

  /* the street: certificate, a record, and a revocation of the village
   * after its seq 6 */
  fx_log *s = &F.street;
  s->id = &k->street;
  s_cert_op(s, &k->schain);
  s_op(s, OP_SET, "gusu/jinchang/office", "phone", "0512-1234");
  lrevoke rv;
  memset(&rv, 0, sizeof rv);
  memcpy(rv.subject, k->village.pk, LINLI_PK_BYTES);
  rv.seq = 6;
  memcpy(rv.hash, v->h[6], LINLI_HASH_BYTES);
  head_sign(&k->village, 6, v->h[6], rv.sig);
  strcpy(rv.reason, "key lost");
  lbuf raw;
  lbuf_init(&raw);
  revoke_encode(&raw, &rv);
  trust_hex(&s->revoke_hex, raw.p, raw.len);
  lbuf_put(&s->revoke_hex, "", 1);
  lbuf_free(&raw);
  char key[96];
  trust_key(key, TRUST_REVOKE_PREFIX, k->village.pk);
  s_op(s, OP_ADD, key, TRUST_REVOKE_FIELD, (const char *)s->revoke_hex.p);
  s_hash(s);

  /* an uncertified station */
  fx_log *o = &F.other;
  o->id = &k->other;
  s_op(o, OP_SET, "x/a", "f", "1");
  s_op(o, OP_SET, "x/b", "f", "2");
  s_hash(o);
  return &F;
}

void
fx_delta(const fx_log *l, uint32_t first, uint32_t last, lbuf *out)
{
  uint8_t sig[LINLI_SIG_BYTES];
  head_sign(l->id, last, l->h[last], sig);
  delta_encode(out, l->id->pk, first, l->h[first - 1], &l->ops[first - 1], last - first + 1,
               sig);
}

void
fx_fork(const fx *f, lbuf *out)
{
  const fx_log *o = &f->other;
  lbuf a, b, scratch;
  lbuf_init(&a);
  lbuf_init(&b);
  lbuf_init(&scratch);
  fx_delta(o, 1, 2, &a);
  op ops[2] = {o->ops[0], o->ops[1]};
  ops[1].str = "3";
  uint8_t h[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  op_hash(h, o->h[1], o->id->pk, &ops[1], &scratch);
  head_sign(o->id, 2, h, sig);
  delta_encode(&b, o->id->pk, 1, o->h[0], ops, 2, sig);
  fork_encode(out, o->id->pk, 2, a.p, a.len, b.p, b.len);
  lbuf_free(&a);
  lbuf_free(&b);
  lbuf_free(&scratch);
}

/* ---- the in-memory replica ---- */

static fx_rlog *
s_rlog(fx_repl *r, const uint8_t *author, bool create)
{
  uint32_t i = 0;
  while (i < r->nlogs && memcmp(r->logs[i].author, author, LINLI_PK_BYTES) < 0)
    i++;
  if (i < r->nlogs && memcmp(r->logs[i].author, author, LINLI_PK_BYTES) == 0)
    return &r->logs[i];
  if (!create || r->nlogs == FX_AUTHORS)
    return NULL;
  memmove(&r->logs[i + 1], &r->logs[i], (r->nlogs - i) * sizeof r->logs[0]);
  r->nlogs++;
  memset(&r->logs[i], 0, sizeof r->logs[i]);
  memcpy(r->logs[i].author, author, LINLI_PK_BYTES);
  return &r->logs[i];
}

int
fx_repl_add(fx_repl *r, const uint8_t *p, size_t n, bool dry, lerr *e)
{
  delta d;
  memset(&d, 0, sizeof d);
  int rc = delta_decode(&d, p, n, e);
  if (rc)
    return rc;
  uint8_t head[LINLI_HASH_BYTES];
  uint8_t(*hashes)[LINLI_HASH_BYTES] = malloc((size_t)d.nops * LINLI_HASH_BYTES);
  lbuf scratch;
  lbuf_init(&scratch);
  rc = hashes ? delta_verify(&d, head, hashes, &scratch, e) : LINLI_ENOMEM;
  lbuf_free(&scratch);
  fx_rlog *l = rc ? NULL : s_rlog(r, d.author, d.first_seq == 1);
  if (rc == 0 && l == NULL)
    rc = lerr_set(e, d.first_seq == 1 ? LINLI_ETOOBIG : LINLI_EGAP, "unknown author");
  uint64_t last = rc ? 0 : delta_last_seq(&d);
  if (rc == 0 && d.first_seq > l->seq + 1)
    rc = lerr_set(e, LINLI_EGAP, "seq %llu after %llu", (unsigned long long)d.first_seq,
                  (unsigned long long)l->seq);
  /* it must agree with what is held where they overlap */
  if (rc == 0 && l->seq > 0 && last >= l->seq) {
    const uint8_t *at = d.first_seq == l->seq + 1 ? d.prev : hashes[l->seq - d.first_seq];
    if (memcmp(at, l->head, LINLI_HASH_BYTES) != 0)
      rc = lerr_set(e, LINLI_EFORK, "diverges from the head held");
  }
  if (rc == 0 && last > l->seq) {
    uint8_t *copy = NULL;
    if (l->nd == FX_DELTAS)
      rc = lerr_set(e, LINLI_ETOOBIG, "replica full");
    else if (!dry && (copy = malloc(n)) == NULL)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    if (rc == 0) {
      if (copy)
        memcpy(copy, p, n);
      l->d[l->nd++] = (fx_rdelta){copy, n, d.first_seq, last};
      l->seq = last;
      memcpy(l->head, head, LINLI_HASH_BYTES);
    }
  }
  free(hashes);
  delta_clear(&d);
  return rc;
}

void
fx_repl_free(fx_repl *r)
{
  for (uint32_t i = 0; i < r->nlogs; i++)
    for (uint32_t j = 0; j < r->logs[i].nd; j++)
      free(r->logs[i].d[j].p);
  for (uint32_t i = 0; i < r->nforks; i++)
    lbuf_free(&r->forks[i]);
  memset(r, 0, sizeof *r);
}

static int
c_heads(void *ctx, const uint8_t peer[LINLI_PK_BYTES], lrepl_head **out, uint32_t *n, lerr *e)
{
  fx_repl *r = ctx;
  *out = calloc(r->nlogs ? r->nlogs : 1, sizeof **out);
  if (*out == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < r->nlogs; i++) {
    memcpy((*out)[i].author, r->logs[i].author, LINLI_PK_BYTES);
    (*out)[i].seq = r->logs[i].seq;
    memcpy((*out)[i].hash, r->logs[i].head, LINLI_HASH_BYTES);
    (*out)[i].cls = LSCOPE_DOWN;
  }
  *n = r->nlogs;
  return 0;
}

static int
c_head(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t h8[8],
       lrepl_head *out, lerr *e)
{
  (void)seq;
  (void)h8;
  fx_rlog *l = s_rlog(ctx, author, false);
  if (l == NULL)
    return lerr_set(e, LINLI_ENOTFOUND, "no such author");
  memcpy(out->author, author, LINLI_PK_BYTES);
  out->seq = l->seq;
  memcpy(out->hash, l->head, LINLI_HASH_BYTES);
  out->cls = LSCOPE_DOWN;
  return 0;
}

/* Appends the part of `d` from seq `from` on: the delta as held, or its
 * suffix (which keeps the signature). */
static int
s_suffix(const fx_rdelta *rd, uint64_t from, lbuf *out, lerr *e)
{
  if (from == rd->first)
    return lbuf_put(out, rd->p, rd->n) ? LINLI_ENOMEM : 0;
  delta d;
  memset(&d, 0, sizeof d);
  int rc = delta_decode(&d, rd->p, rd->n, e);
  uint8_t(*hashes)[LINLI_HASH_BYTES] = rc ? NULL : malloc((size_t)d.nops * LINLI_HASH_BYTES);
  if (rc == 0 && hashes == NULL)
    rc = LINLI_ENOMEM;
  uint8_t head[LINLI_HASH_BYTES];
  lbuf scratch;
  lbuf_init(&scratch);
  if (rc == 0)
    rc = delta_verify(&d, head, hashes, &scratch, e);
  lbuf_free(&scratch);
  if (rc == 0) {
    uint32_t k = (uint32_t)(from - d.first_seq);
    delta_encode(out, d.author, from, hashes[k - 1], &d.ops[k], d.nops - k, d.sig);
  }
  free(hashes);
  delta_clear(&d);
  return rc;
}

static int
c_read(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t from, size_t max_delta,
       size_t budget, lbuf *out, uint32_t *count, uint64_t *last, lerr *e)
{
  (void)max_delta;
  *count = 0;
  *last = from - 1;
  fx_rlog *l = s_rlog(ctx, author, false);
  if (l == NULL || from == 0)
    return 0;
  size_t start = out->len;
  for (uint32_t i = 0; i < l->nd && out->len - start < budget; i++) {
    const fx_rdelta *rd = &l->d[i];
    if (rd->last <= *last)
      continue;
    int rc = s_suffix(rd, *last + 1, out, e);
    if (rc)
      return rc;
    (*count)++;
    *last = rd->last;
  }
  return 0;
}

static int
c_apply(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *const *d, const size_t *len,
        uint32_t n, uint64_t now_ms, uint8_t *refused, lerr *e)
{
  /* all or nothing: first on a copy that holds no bytes, then for real */
  fx_repl *r = ctx;
  fx_repl *dry = malloc(sizeof *dry);
  if (dry == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  *dry = *r;
  int rc = 0;
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    rc = fx_repl_add(dry, d[i], len[i], true, e);
    if (rc == LINLI_EFORK || rc == LINLI_ETOOBIG) {
      refused[i] = 1;
      rc = 0;
    }
  }
  free(dry);
  for (uint32_t i = 0; i < n && rc == 0; i++)
    if (!refused[i] && fx_repl_add(r, d[i], len[i], false, e) != 0)
      abort(); /* it passed on the copy */
  return rc;
}

static void
c_classify(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t author[LINLI_PK_BYTES],
           int cls)
{
}

static uint32_t
c_fork_count(void *ctx)
{
  return ((fx_repl *)ctx)->nforks;
}

static int
c_fork_get(void *ctx, uint32_t i, lbuf *out, lerr *e)
{
  fx_repl *r = ctx;
  if (i >= r->nforks)
    return 0;
  lbuf_reset(out);
  return lbuf_put(out, r->forks[i].p, r->forks[i].len) ? LINLI_ENOMEM : 1;
}

static int
c_fork_put(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *p, size_t n, lerr *e)
{
  fx_repl *r = ctx;
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  int rc = fork_check(p, n, author, &seq, e);
  if (rc)
    return rc;
  for (uint32_t i = 0; i < r->nforks; i++)
    if (r->forks[i].len == n && memcmp(r->forks[i].p, p, n) == 0)
      return 0;
  if (r->nforks < FX_FORKS)
    lbuf_put(&r->forks[r->nforks++], p, n);
  return 0;
}

lrepl
fx_repl_callbacks(fx_repl *r)
{
  return (lrepl){.ctx = r, .heads = c_heads, .head = c_head, .read = c_read, .apply = c_apply,
                 .classify = c_classify, .fork_count = c_fork_count, .fork_get = c_fork_get,
                 .fork_put = c_fork_put};
}

static void
s_hold(fx_repl *r, const fx_log *l, uint32_t first, uint32_t last)
{
  lbuf b;
  lbuf_init(&b);
  fx_delta(l, first, last, &b);
  if (fx_repl_add(r, b.p, b.len, false, NULL) != 0)
    abort();
  lbuf_free(&b);
}

/* A deep copy: its own delta bytes and fork evidence. */
static void
s_clone(fx_repl *r, const fx_repl *from)
{
  *r = *from;
  for (uint32_t i = 0; i < r->nlogs; i++)
    for (uint32_t j = 0; j < r->logs[i].nd; j++) {
      fx_rdelta *rd = &r->logs[i].d[j];
      uint8_t *copy = malloc(rd->n);
      if (copy == NULL)
        abort();
      memcpy(copy, rd->p, rd->n);
      rd->p = copy;
    }
  for (uint32_t i = 0; i < r->nforks; i++) {
    lbuf_init(&r->forks[i]);
    lbuf_put(&r->forks[i], from->forks[i].p, from->forks[i].len);
  }
}

/* Both sides are built (signed, verified) once and copied for each use. */
void
fx_repl_target(fx_repl *r)
{
  static fx_repl t;
  static bool done;
  if (!done) {
    const fx *f = fx_get();
    s_hold(&t, &f->village, 1, 3);
    s_hold(&t, &f->other, 1, 2);
    done = true;
  }
  s_clone(r, &t);
}

void
fx_repl_peer(fx_repl *r)
{
  static fx_repl t;
  static bool done;
  if (!done) {
    const fx *f = fx_get();
    s_hold(&t, &f->village, 1, 3);
    s_hold(&t, &f->village, 4, 5);
    s_hold(&t, &f->village, 6, 7);
    s_hold(&t, &f->street, 1, 3);
    fx_fork(f, &t.forks[0]);
    t.nforks = 1;
    done = true;
  }
  s_clone(r, &t);
}

lsession_cfg
fx_session_cfg(const fx *f, uint8_t flags, bool target)
{
  lsession_cfg c = {.initiator = (flags & FX_SESS_INITIATOR) ? target : !target};
  memcpy(c.self, target ? f->k.village.pk : f->k.street.pk, LINLI_PK_BYTES);
  memcpy(c.peer, target ? f->k.street.pk : f->k.village.pk, LINLI_PK_BYTES);
  if (target && (flags & FX_SESS_PLAIN))
    c.compress = LSESSION_COMPRESS_OFF;
  if (flags & FX_SESS_SMALL) {
    c.window = 4096;
    c.max_message = SYNC_MIN_MESSAGE;
  }
  return c;
}

int
fx_msg_kind(const uint8_t *p, size_t n)
{
  mpr r;
  uint32_t nel;
  uint64_t kind;
  mpr_init(&r, p, n);
  if (mpr_array(&r, &nel) || nel < 2 || mpr_uint(&r, &kind) || kind > 100)
    return -1;
  return (int)kind;
}

/* Hands one side's next message (not DATA) to the other; whether it did. */
static bool
s_pass(fx_sess *s, lsession *from, lsession *to)
{
  if (session_next_out(from, &s->msg, s->now, NULL) != 1)
    return false;
  if (fx_msg_kind(s->msg.p, s->msg.len) == 1) {
    session_unsent(from);
    return false;
  }
  if (session_recv(to, s->msg.p, s->msg.len, s->now, NULL) < 0)
    abort(); /* the fixtures' sessions agree */
  return true;
}

fx_sess *
fx_sess_open(uint8_t flags)
{
  const fx *f = fx_get();
  fx_sess *s = calloc(1, sizeof *s);
  if (s == NULL)
    abort();
  s->now = FX_NOW;
  lbuf_init(&s->msg);
  fx_repl_target(&s->tr);
  lsession_cfg tc = fx_session_cfg(f, flags, true);
  lrepl tcb = fx_repl_callbacks(&s->tr);
  s->t = session_new(&tc, &tcb);
  if (s->t == NULL)
    abort();
  session_start(s->t, s->now);
  if (!(flags & FX_SESS_HELLO))
    return s;
  fx_repl_peer(&s->pr);
  lsession_cfg pc = fx_session_cfg(f, flags, false);
  lrepl pcb = fx_repl_callbacks(&s->pr);
  s->p = session_new(&pc, &pcb);
  if (s->p == NULL)
    abort();
  session_start(s->p, s->now);
  for (int i = 0; i < 16; i++) {
    bool moved = s_pass(s, s->t, s->p);
    moved |= s_pass(s, s->p, s->t);
    if (!moved)
      break;
  }
  lsession_stat st;
  session_stat_get(s->t, &st);
  if (!st.hello_done)
    abort();
  return s;
}

void
fx_sess_close(fx_sess **sp)
{
  fx_sess *s = *sp;
  if (s == NULL)
    return;
  session_destroy(&s->t);
  session_destroy(&s->p);
  fx_repl_free(&s->tr);
  fx_repl_free(&s->pr);
  lbuf_free(&s->msg);
  free(s);
  *sp = NULL;
}
