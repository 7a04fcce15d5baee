/*
 * test_format.c - the worked examples of docs/FORMAT.md and
 * docs/PROTOCOL.md, byte for byte.
 *
 * The examples in the specs are computed here from the same inputs and
 * every hex block marked `<!-- example: NAME -->` in the document must equal
 * what the code produces.  Run with LINLI_PRINT_EXAMPLE=1 to print the
 * blocks (that is how the specs' hex was made; the check keeps it true).
 * The protocol messages are what two real sessions (sync/session.c) send
 * each other.
 */
#include "crdt/delta.h"
#include "crdt/digest.h"
#include "crdt/hlc.h"
#include "crdt/record.h"
#include "crdt/trust.h"
#include "sync/bundle.h"
#include "sync/session.h"
#include "sync/summary.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct example {
  const char *doc; /* under docs/ */
  const char *name;
  lbuf bytes;
} example;

#define NEX 40
static example ex[NEX];
static int nex;
static const char *ex_doc = "FORMAT.md"; /* where s_ex's examples are */

static lbuf *
s_ex(const char *name)
{
  cr_assert_lt(nex, NEX);
  ex[nex].doc = ex_doc;
  ex[nex].name = name;
  lbuf_init(&ex[nex].bytes);
  return &ex[nex++].bytes;
}

/* ---- the protocol examples: a village and its street ---- */

typedef struct pex {
  const lrepl_head *heads; /* what this side holds */
  uint32_t nheads;
  const lbuf *delta;       /* the one delta it can send */
} pex;

static int
p_heads(void *ctx, const uint8_t peer[LINLI_PK_BYTES], lrepl_head **out, uint32_t *n, lerr *e)
{
  const pex *x = ctx;
  (void)peer;
  (void)e;
  *out = calloc(x->nheads ? x->nheads : 1, sizeof **out);
  cr_assert_not_null(*out);
  if (x->nheads > 0)
    memcpy(*out, x->heads, x->nheads * sizeof **out);
  *n = x->nheads;
  return 0;
}

static int
p_read(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t from, size_t max_delta,
       size_t budget, lbuf *out, uint32_t *count, uint64_t *last, lerr *e)
{
  const pex *x = ctx;
  (void)author, (void)max_delta, (void)budget, (void)e;
  cr_assert_eq(from, 1);
  lbuf_put(out, x->delta->p, x->delta->len);
  *count = 1;
  *last = 2;
  return 0;
}

static int
p_apply(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *const *d, const size_t *len,
        uint32_t n, uint64_t now_ms, uint8_t *refused, lerr *e)
{
  (void)ctx, (void)peer, (void)now_ms, (void)refused;
  for (uint32_t i = 0; i < n; i++) { /* what a store would check first */
    delta x;
    int rc = delta_decode(&x, d[i], len[i], e);
    if (rc)
      return rc;
    delta_clear(&x);
  }
  return 0;
}

/* The next message `s` sends, into example `name` (NULL: not kept), and
 * delivered to `to`. */
static void
p_step(lsession *s, lsession *to, const char *name, uint64_t now)
{
  lbuf m;
  lbuf_init(&m);
  lerr e = {0};
  cr_assert_eq(session_next_out(s, &m, now, &e), 1, "%s", e.msg);
  if (name)
    lbuf_put(s_ex(name), m.p, m.len);
  if (to)
    cr_assert_geq(session_recv(to, m.p, m.len, now, &e), 0, "%s", e.msg);
  lbuf_free(&m);
}

/* The village (the author of FORMAT.md's example, holding its two ops)
 * connects to its street (seed 32..63, holding nothing).  The village
 * runs the village profile, the street the district profile, both with
 * compression on; a second street has compression off, so that the
 * village's DATA travels plain. */
static void
s_build_protocol(const lident *village, const uint8_t h2[LINLI_HASH_BYTES], const lbuf *dl)
{
  ex_doc = "PROTOCOL.md";
  uint8_t seed[LINLI_SEED_BYTES];
  for (int i = 0; i < LINLI_SEED_BYTES; i++)
    seed[i] = (uint8_t)(32 + i);
  lident street;
  ident_from_seed(&street, seed);
  lrepl_head head = {.seq = 2, .cls = LSCOPE_DOWN};
  memcpy(head.author, village->pk, LINLI_PK_BYTES);
  memcpy(head.hash, h2, LINLI_HASH_BYTES);
  pex vx = {.heads = &head, .nheads = 1, .delta = dl}, sx = {0};
  lrepl vr = {.ctx = &vx, .heads = p_heads, .read = p_read, .apply = p_apply};
  lrepl sr = {.ctx = &sx, .heads = p_heads, .read = p_read, .apply = p_apply};
  lsession_cfg vc = {.initiator = true, .window = 1u << 20, .max_message = 256u << 10};
  memcpy(vc.self, village->pk, LINLI_PK_BYTES);
  memcpy(vc.peer, street.pk, LINLI_PK_BYTES);
  lsession_cfg sc = {.window = 8u << 20, .max_message = SYNC_MAX_MESSAGE};
  memcpy(sc.self, street.pk, LINLI_PK_BYTES);
  memcpy(sc.peer, village->pk, LINLI_PK_BYTES);
  uint64_t now = 1764300120000ull; /* 2025-11-28T03:22:00Z */
  lbuf_put(s_ex("street-key"), street.pk, LINLI_PK_BYTES);

  lsession *v = session_new(&vc, &vr), *st = session_new(&sc, &sr);
  cr_assert(v && st);
  session_start(v, now);
  p_step(v, st, "hello-village", now);
  p_step(st, v, "hello-street", now);
  session_destroy(&st);

  sc.compress = LSESSION_COMPRESS_OFF;
  st = session_new(&sc, &sr);
  session_start(v, now);
  p_step(v, st, NULL, now);
  p_step(st, v, "hello-street-plain", now);
  p_step(v, st, "data", now + 40);
  p_step(st, v, "ack", now + 80);

  /* the village's PING at now + 5 s, the street's PONG 30 ms later */
  static const uint8_t ping[] = {0x92, 0x03, 0xcf, 0x00, 0x00, 0x01, 0x9a, 0xc8, 0x7b, 0x73, 0x48};
  lerr e = {0};
  cr_assert_eq(session_recv(st, ping, sizeof ping, now + 5030, &e), 0, "%s", e.msg);
  lbuf_put(s_ex("ping"), ping, sizeof ping);
  p_step(st, NULL, "pong", now + 5030);

  static const uint8_t nine[] = {0x92, 0x09, 0x01};
  cr_assert_lt(session_recv(st, nine, sizeof nine, now + 6000, &e), 0);
  p_step(st, NULL, "error", now + 6000);
  session_destroy(&v);
  session_destroy(&st);
  ident_wipe(&street);
  ex_doc = "FORMAT.md";
}

/* A compact key whose shared prefix ends inside a character (村 e6 9d 91
 * and 材 e6 9d 90 share two bytes): the ops array of a delta of two sets. */
static void
s_build_compact_key(const lident *id)
{
  const char *k1 = "hh/村/1", *k2 = "hh/材/2";
  uint64_t t0 = hlc_make(1764300000000ull, 0);
  op ops[2] = {
      {.seq = 1, .hlc = t0, .kind = OP_SET, .key = k1, .key_len = (uint32_t)strlen(k1),
       .field = "a", .field_len = 1, .str = "x", .str_len = 1},
      {.seq = 2, .hlc = t0 + 1, .kind = OP_SET, .key = k2, .key_len = (uint32_t)strlen(k2),
       .field = "a", .field_len = 1, .str = "y", .str_len = 1},
  };
  uint8_t zero[LINLI_HASH_BYTES] = {0}, sig[LINLI_SIG_BYTES] = {0};
  lbuf d;
  lbuf_init(&d);
  delta_encode(&d, id->pk, 1, zero, ops, 2, sig);
  mpr r;
  mpr_init(&r, d.p, d.len);
  cr_assert_eq(mpr_array_n(&r, 6), 0);
  for (int i = 0; i < 4; i++)
    cr_assert_eq(mpr_skip(&r), 0);
  const uint8_t *from = r.p;
  cr_assert_eq(mpr_skip(&r), 0);
  lbuf_put(s_ex("compact-key-ops"), from, (size_t)(r.p - from));
  lbuf_free(&d);
}

/* A chain file as `linli cert issue` writes it: the village's
 * certificate, issued by the street (seed 32..63). */
static void
s_build_chain_file(const lident *village)
{
  uint8_t seed[LINLI_SEED_BYTES];
  for (int i = 0; i < LINLI_SEED_BYTES; i++)
    seed[i] = (uint8_t)(32 + i);
  lident street;
  ident_from_seed(&street, seed);
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.n = 1;
  lcert *c = &ch.c[0];
  memcpy(c->subject, village->pk, LINLI_PK_BYTES);
  snprintf(c->name, sizeof c->name, "%s", "雅鹿村");
  c->role = ROLE_VILLAGE;
  snprintf(c->prefix, sizeof c->prefix, "%s", "gusu/jinchang/v12/");
  c->not_before = 1764300000000ull;
  c->not_after = 1795836000000ull;
  cert_sign(c, &street);
  chain_encode(s_ex("chain-file"), &ch);
  ident_wipe(&street);
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
  summary_encode_signed(&sum, &id, s_ex("summary"));
  s_build_compact_key(&id);
  s_build_chain_file(&id);
  s_build_protocol(&id, h2, d);

  /* Fork evidence in a bundle: the author signed two different ops 1;
   * the street station of "chain-file" (seed 32 to 63) exports the
   * evidence (and no delta of the author). */
  for (int i = 0; i < LINLI_SEED_BYTES; i++)
    seed[i] = (uint8_t)(32 + i);
  lident st;
  ident_from_seed(&st, seed);
  op alt = ops[0];
  alt.str = "陈建民";
  alt.str_len = 9;
  uint8_t ha[LINLI_HASH_BYTES], sa[LINLI_SIG_BYTES], sb[LINLI_SIG_BYTES];
  op_hash(ha, zero, id.pk, &alt, &scratch);
  head_sign(&id, 1, h1, sa);
  head_sign(&id, 1, ha, sb);
  lbuf da, db, ev;
  lbuf_init(&da);
  lbuf_init(&db);
  lbuf_init(&ev);
  delta_encode(&da, id.pk, 1, zero, &ops[0], 1, sa);
  delta_encode(&db, id.pk, 1, zero, &alt, 1, sb);
  fork_encode(&ev, id.pk, 1, da.p, da.len, db.p, db.len);
  uint8_t fa[LINLI_PK_BYTES];
  uint64_t fseq;
  cr_assert_eq(fork_check(ev.p, ev.len, fa, &fseq, NULL), 0);
  bundle_writer bw;
  lbuf *b = s_ex("fork-bundle");
  bundle_write_begin(&bw, b, st.pk, 1764300120000ull, NULL);
  bundle_write_fork(&bw, b, ev.p, ev.len);
  bundle_write_end(&bw, b, &st);
  lbuf_free(&da);
  lbuf_free(&db);
  lbuf_free(&ev);
  ident_wipe(&st);
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
  cr_assert_not_null(p, "no example block '%s'", name);
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
      printf("<!-- example: %s (docs/%s) -->\n```hex\n", ex[i].name, ex[i].doc);
      for (size_t k = 0; k < ex[i].bytes.len; k++)
        printf("%02x%s", ex[i].bytes.p[k], (k + 1) % 32 == 0 || k + 1 == ex[i].bytes.len ? "\n" : " ");
      printf("```\n\n");
    }
  }
  for (int i = 0; i < nex; i++) {
    char path[512];
    size_t n;
    snprintf(path, sizeof path, "%s/docs/%s", LINLI_SOURCE_DIR, ex[i].doc);
    char *doc = (char *)tu_read_file(path, &n);
    cr_assert_not_null(doc, "cannot read %s", path);
    doc = realloc(doc, n + 1);
    doc[n] = '\0';
    lbuf want = s_doc_block(doc, ex[i].name);
    cr_assert_eq(want.len, ex[i].bytes.len, "%s, block %s: %zu bytes in the spec, %zu computed",
                 ex[i].doc, ex[i].name, want.len, ex[i].bytes.len);
    cr_assert_eq(memcmp(want.p, ex[i].bytes.p, want.len), 0, "%s, block %s differs", ex[i].doc,
                 ex[i].name);
    lbuf_free(&want);
    free(doc);
  }
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
