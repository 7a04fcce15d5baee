#define _GNU_SOURCE /* memmem */
/*
 * test_session.c - sync/session: two sessions wired together in memory over
 * real stores, with a fake clock.  Convergence, the already-in-sync round
 * trip, lost / duplicated / reordered messages, a restart in the middle of a
 * transfer, a backlog far larger than the window, and hostile messages;
 * compression negotiated, refused, and attacked with bad zstd frames.
 */
#include "crdt/hlc.h"
#include "node/replica.h"
#include "node/store.h"
#include "sync/session.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* ---- a replica over an lstore, every author in scope ---- */

static int
r_heads(void *ctx, const uint8_t peer[LINLI_PK_BYTES], lrepl_head **out, uint32_t *n, lerr *e)
{
  (void)peer;
  lhead *h;
  int rc = lstore_heads(ctx, &h, n, e);
  if (rc)
    return rc;
  *out = calloc(*n ? *n : 1, sizeof **out);
  for (uint32_t i = 0; i < *n; i++) {
    memcpy((*out)[i].author, h[i].author, LINLI_PK_BYTES);
    (*out)[i].seq = h[i].seq;
    memcpy((*out)[i].hash, h[i].hash, LINLI_HASH_BYTES);
  }
  free(h);
  return 0;
}

typedef struct rdctx {
  lbuf *out;
  uint32_t *count;
  uint64_t *last;
} rdctx;

static int
r_emit(void *ctx, const uint8_t *p, size_t n)
{
  rdctx *c = ctx;
  uint8_t a[LINLI_PK_BYTES];
  uint64_t f, l;
  cr_assert_eq(delta_peek(p, n, a, &f, &l), 0);
  lbuf_put(c->out, p, n);
  (*c->count)++;
  *c->last = l;
  return 0;
}

static int
r_read(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t from, size_t max_delta,
       size_t budget, lbuf *out, uint32_t *count, uint64_t *last, lerr *e)
{
  *count = 0;
  *last = from - 1;
  rdctx c = {out, count, last};
  return lstore_read_log(ctx, author, from, max_delta, budget, r_emit, &c, e);
}

static int
r_apply(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *const *d, const size_t *len,
        uint32_t n, uint64_t now, uint8_t *refused, lerr *e)
{
  (void)peer;
  lingest *g;
  cr_assert_eq(lstore_ingest_new(ctx, true, &g), 0);
  int rc = 0;
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    rc = lingest_add(g, d[i], len[i], e);
    if (rc == LINLI_EREFUSED || rc == LINLI_EFORK) {
      refused[i] = 1;
      rc = 0;
    }
  }
  if (rc == 0)
    rc = lingest_commit(g, now, NULL, e);
  lingest_destroy(&g);
  return rc;
}

/* Fork evidence, straight from the store. */
static uint32_t
r_fork_count(void *ctx)
{
  return lstore_fork_count(ctx);
}

static int
r_fork_get(void *ctx, uint32_t i, lbuf *out, lerr *e)
{
  return lstore_fork_get(ctx, i, NULL, NULL, out, NULL, e);
}

static int
r_fork_put(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *p, size_t n, lerr *e)
{
  (void)peer;
  return lstore_fork_add(ctx, p, n, NULL, e);
}

/* Classes a parent announced, as the child's replica is told them. */
static int classified, classified_early;
static uint8_t classified_author[LINLI_PK_BYTES];

static void
r_classify(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t author[LINLI_PK_BYTES],
           int cls)
{
  (void)peer;
  if (cls == LSCOPE_DOWN) {
    memcpy(classified_author, author, LINLI_PK_BYTES);
    classified++;
    lhead h;
    if (lstore_head(ctx, author, &h, NULL) == LINLI_ENOTFOUND)
      classified_early++; /* announced before any of its ops arrived */
  }
}

/* ---- nodes and the wire ---- */

typedef struct node {
  char *dir;
  char path[4200];
  lstore *s;
  lident id;
  lsession *sess;
  lreplica *replica; /* with repl: a real replica instead of the fake above */
  lrepl repl;
} node;

static void
s_node(node *n, const char *tag, uint8_t k)
{
  memset(n, 0, sizeof *n);
  n->dir = tu_tmpdir(tag);
  snprintf(n->path, sizeof n->path, "%s/n", n->dir);
  uint8_t seed[LINLI_SEED_BYTES];
  memset(seed, k, sizeof seed);
  ident_from_seed(&n->id, seed);
  lerr e = {0};
  cr_assert_eq(lstore_init(n->path, tag, &n->id, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&n->s, n->path, NULL, &e), 0, "%s", e.msg);
}

static void
s_node_free(node *n)
{
  session_destroy(&n->sess);
  replica_destroy(&n->replica);
  lstore_close(&n->s);
  tu_rmtree(n->dir);
  free(n->dir);
}

/* The limits every session a test makes gets (Criterion runs each test in
 * a process of its own). */
static lsession_limits s_limits;

/* The protocol versions the next s_session names (0, 0: this build's). */
static uint32_t s_vmin, s_vmax;

/* `compress` as in lsession_cfg: 0 is the default (on). */
static void
s_session(node *n, const node *peer, bool initiator, uint32_t window, uint32_t maxmsg,
          int compress)
{
  lsession_cfg cfg = {.initiator = initiator, .window = window, .max_message = maxmsg,
                      .compress = compress, .version_min = s_vmin, .version_max = s_vmax,
                      .limits = s_limits};
  memcpy(cfg.self, n->id.pk, LINLI_PK_BYTES);
  memcpy(cfg.peer, peer->id.pk, LINLI_PK_BYTES);
  lrepl r = {.ctx = n->s, .heads = r_heads, .read = r_read, .apply = r_apply,
             .classify = r_classify, .fork_count = r_fork_count, .fork_get = r_fork_get,
             .fork_put = r_fork_put};
  if (n->repl.ctx != NULL)
    r = n->repl; /* the node's own replica (node/replica.c) */
  session_destroy(&n->sess);
  n->sess = session_new(&cfg, &r);
  cr_assert_not_null(n->sess);
}

/* Writes `n` ops in writes of `per` ops each. */
static void
s_write(node *n, int count, int per, const char *tag)
{
  lerr e = {0};
  for (int i = 0; i < count; i += per) {
    op o[64];
    char keys[64][48], vals[64][48];
    int k = 0;
    for (; k < per && i + k < count; k++) {
      snprintf(keys[k], sizeof keys[k], "hh/%s/%d", tag, (i + k) % 97);
      snprintf(vals[k], sizeof vals[k], "%s-value-%d-abcdefghijklmnop", tag, i + k);
      o[k] = (op){.kind = OP_SET, .key = keys[k], .key_len = (uint32_t)strlen(keys[k]),
                  .field = "note", .field_len = 4, .str = vals[k],
                  .str_len = (uint32_t)strlen(vals[k])};
    }
    cr_assert_eq(lstore_write(n->s, &n->id, o, (uint32_t)k, 1800000000000ull + (uint64_t)i, &e),
                 0, "%s", e.msg);
  }
}

typedef struct wire {
  uint32_t drop_pct, dup_pct, swap_pct; /* faults, in percent of messages */
  bool old_a;       /* a's HELLOs lose their options on the way: a node from
                       before compression, as the other side sees it */
  uint32_t seed;
  uint64_t now;
  uint64_t msgs, bytes[2];
  uint64_t data[2], zdata[2]; /* DATA messages sent, and how many compressed */
  uint64_t hello8[2], hello9[2]; /* HELLOs sent without and with options */
  size_t max_data[2];            /* the largest DATA sent, in bytes */
  uint32_t data_len[2][1024];    /* the size of each DATA sent (first 1024) */
  uint32_t max_inflight[2];
} wire;

enum { K_OTHER, K_HELLO8, K_HELLO, K_DATA, K_ZDATA };

/* What a message is, looking only at its bytes. */
static int
s_kind(const uint8_t *p, size_t n)
{
  mpr r;
  uint32_t nel;
  uint64_t type, no;
  mpr_init(&r, p, n);
  if (mpr_array(&r, &nel) || mpr_uint(&r, &type))
    return K_OTHER;
  if (type == 0)
    return nel == 8 ? K_HELLO8 : K_HELLO;
  if (type != 1 || mpr_uint(&r, &no))
    return K_OTHER;
  return mpr_peek(&r) == MP_BIN ? K_ZDATA : K_DATA;
}

/* The same HELLO without its options (the 9th element, which is last). */
static void
s_strip_options(lbuf *m)
{
  mpr r;
  uint32_t nel;
  mpr_init(&r, m->p, m->len);
  cr_assert_eq(mpr_array(&r, &nel), 0);
  cr_assert_eq(nel, 9);
  for (int i = 0; i < 8; i++)
    cr_assert_eq(mpr_skip(&r), 0);
  m->len = (size_t)(r.p - m->p);
  cr_assert_eq(m->p[0], 0x99);
  m->p[0] = 0x98;
}

typedef struct msgq {
  lbuf m[4096];
  int n;
} msgq;

/* Moves messages until both sides are quiet; returns the number of
 * messages delivered.  Every session output goes through the faults. */
static uint64_t
s_pump(node *a, node *b, wire *w, int max_rounds)
{
  static msgq q[2]; /* to a, to b */
  node *nodes[2] = {a, b};
  uint64_t delivered = 0;
  for (int round = 0; round < max_rounds; round++) {
    bool any = false;
    for (int side = 0; side < 2; side++) {
      lbuf out;
      lbuf_init(&out);
      lerr e = {0};
      int rc;
      while ((rc = session_next_out(nodes[side]->sess, &out, w->now, &e)) == 1) {
        any = true;
        int kind = s_kind(out.p, out.len);
        if (kind == K_HELLO && side == 0 && w->old_a) {
          s_strip_options(&out);
          kind = K_HELLO8;
        }
        if ((kind == K_DATA || kind == K_ZDATA) && w->data[side] < 1024)
          w->data_len[side][w->data[side]] = (uint32_t)out.len;
        w->data[side] += kind == K_DATA || kind == K_ZDATA;
        if ((kind == K_DATA || kind == K_ZDATA) && out.len > w->max_data[side])
          w->max_data[side] = out.len;
        w->zdata[side] += kind == K_ZDATA;
        w->hello8[side] += kind == K_HELLO8;
        w->hello9[side] += kind == K_HELLO;
        w->bytes[side] += out.len;
        msgq *dst = &q[1 - side];
        uint32_t r = tu_rand(&w->seed) % 100;
        if (r < w->drop_pct)
          continue;
        int copies = (r >= w->drop_pct && r < w->drop_pct + w->dup_pct) ? 2 : 1;
        for (int c = 0; c < copies; c++) {
          cr_assert_lt(dst->n, 4096);
          lbuf_init(&dst->m[dst->n]);
          lbuf_put(&dst->m[dst->n], out.p, out.len);
          dst->n++;
        }
        if (dst->n >= 2 && tu_rand(&w->seed) % 100 < w->swap_pct) {
          lbuf t = dst->m[dst->n - 1];
          dst->m[dst->n - 1] = dst->m[dst->n - 2];
          dst->m[dst->n - 2] = t;
        }
      }
      cr_assert_geq(rc, 0, "%s", e.msg);
      lbuf_free(&out);
      lsession_stat st;
      session_stat_get(nodes[side]->sess, &st);
      if (st.inflight_bytes > w->max_inflight[side])
        w->max_inflight[side] = st.inflight_bytes;
    }
    for (int side = 0; side < 2; side++) {
      msgq *in = &q[side];
      for (int i = 0; i < in->n; i++) {
        lerr e = {0};
        int rc = session_recv(nodes[side]->sess, in->m[i].p, in->m[i].len, w->now, &e);
        cr_assert_geq(rc, 0, "%s", e.msg);
        lbuf_free(&in->m[i]);
        delivered++;
        any = true;
      }
      in->n = 0;
    }
    w->now += 10;
    if (!any) {
      /* quiet: let timers run (PING, anti-entropy HELLO) once */
      w->now += 6 * 60 * 1000;
      session_tick(a->sess, w->now);
      session_tick(b->sess, w->now);
      if (round > 0 && w->drop_pct == 0 && w->dup_pct == 0 && w->swap_pct == 0)
        break;
    }
  }
  w->msgs += delivered;
  return delivered;
}

static void
s_assert_converged(node *a, node *b)
{
  ldigest x, y;
  lerr e = {0};
  cr_assert_eq(lstore_digest(a->s, "", 0, &x, &e), 0);
  cr_assert_eq(lstore_digest(b->s, "", 0, &y, &e), 0);
  cr_assert_eq(memcmp(x.sum, y.sum, LINLI_HASH_BYTES), 0, "digests differ");
  cr_assert_eq(x.count, y.count);
  lstore_stat sa, sb;
  cr_assert_eq(lstore_stat_get(a->s, &sa, &e), 0);
  cr_assert_eq(lstore_stat_get(b->s, &sb, &e), 0);
  cr_assert_eq(sa.ops, sb.ops);
}

/* Connects a (initiator) and b with the same settings on both sides,
 * pumps until both are quiet and checks that they converged. */
static void
s_sync(node *a, node *b, wire *w, uint32_t window, uint32_t maxmsg, int compress, int rounds)
{
  s_session(a, b, true, window, maxmsg, compress);
  s_session(b, a, false, window, maxmsg, compress);
  session_start(a->sess, w->now);
  s_pump(a, b, w, rounds);
  s_assert_converged(a, b);
}

static void
s_init(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
}

TestSuite(session, .init = s_init, .timeout = 120);

Test(session, converges_both_ways_then_in_sync_costs_one_round_trip)
{
  node a, b;
  s_node(&a, "sa", 1);
  s_node(&b, "sb", 2);
  s_write(&a, 600, 10, "village");
  s_write(&b, 40, 4, "street");
  wire w = {.seed = 1, .now = 1800000000000ull};
  s_sync(&a, &b, &w, 0, 0, 0, 1000);
  lsession_stat st;
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.ops_behind_out, 0);
  cr_assert_eq(st.ops_behind_in, 0);
  cr_assert_gt(st.last_sync_ms, 0);
  cr_assert_eq(st.ops_sent, 600);
  cr_assert_eq(st.ops_received, 40);
  /* compression is on by default, both ways */
  cr_assert(st.compress_tx);
  cr_assert_gt(w.zdata[0], 0);
  cr_assert_gt(w.zdata[1], 0);
  cr_assert_lt(st.data_bytes_sent, st.data_bytes_plain);
  /* the largest DATA: one of several, none over the limit */
  cr_assert_gt(st.data_max, 0);
  cr_assert_lt(st.data_max, st.data_bytes_sent);
  cr_assert_leq(st.data_max, SYNC_MAX_MESSAGE);
  /* a new connection between replicas in sync: HELLO each way, no DATA */
  s_session(&a, &b, true, 0, 0, 0);
  s_session(&b, &a, false, 0, 0, 0);
  session_start(a.sess, w.now);
  lbuf out;
  lbuf_init(&out);
  lerr e = {0};
  cr_assert_eq(session_next_out(a.sess, &out, w.now, &e), 1);
  size_t hello_a = out.len;
  cr_assert_eq(session_recv(b.sess, out.p, out.len, w.now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, w.now, &e), 1);
  size_t hello_b = out.len;
  cr_assert_eq(session_recv(a.sess, out.p, out.len, w.now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, w.now, &e), 0, "B sent more than its HELLO");
  cr_assert_eq(session_next_out(a.sess, &out, w.now, &e), 0, "A sent more than its HELLO");
  /* 2 authors: at most 64 bytes each plus 256 */
  cr_assert_leq(hello_a, 2 * 64 + 256);
  cr_assert_leq(hello_b, 2 * 64 + 256);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

Test(session, lost_duplicated_and_reordered_messages_are_repaired)
{
  for (uint32_t seed = 1; seed <= 4; seed++) {
    node a, b;
    s_node(&a, "la", 1);
    s_node(&b, "lb", 2);
    s_write(&a, 800, 8, "v1");
    s_write(&b, 300, 3, "v2");
    s_session(&a, &b, true, 16384, 4096, 0);
    s_session(&b, &a, false, 16384, 4096, 0);
    wire w = {.seed = seed, .now = 1800000000000ull, .drop_pct = 10, .dup_pct = 10,
              .swap_pct = 20};
    session_start(a.sess, w.now);
    s_pump(&a, &b, &w, 400);
    /* then a clean link: anti-entropy finishes the repair */
    w.drop_pct = w.dup_pct = w.swap_pct = 0;
    s_pump(&a, &b, &w, 2000);
    s_assert_converged(&a, &b);
    s_node_free(&a);
    s_node_free(&b);
  }
}

Test(session, restart_mid_transfer_does_not_resend_completed_ranges)
{
  const int modes[2] = {LSESSION_COMPRESS_OFF, 0};
  for (int m = 0; m < 2; m++) {
    node a, b;
    s_node(&a, "ra", 1);
    s_node(&b, "rb", 2);
    s_write(&a, 6000, 50, "v1"); /* a few windows, even compressed */
    s_session(&a, &b, true, 16384, 4096, modes[m]);
    s_session(&b, &a, false, 16384, 4096, modes[m]);
    wire w = {.seed = 3, .now = 1800000000000ull};
    session_start(a.sess, w.now);
    /* part of the transfer: up to the first round that applied anything */
    lstore_stat half = {0};
    lerr e = {0};
    for (int round = 0; round < 20 && half.ops == 0; round++) {
      s_pump(&a, &b, &w, 1);
      cr_assert_eq(lstore_stat_get(b.s, &half, &e), 0);
    }
    cr_assert_gt(half.ops, 0);
    cr_assert_lt(half.ops, 6000);
    /* the receiver dies and comes back: store closed and reopened */
    session_destroy(&b.sess);
    lstore_close(&b.s);
    cr_assert_eq(lstore_open(&b.s, b.path, NULL, &e), 0, "%s", e.msg);
    s_session(&a, &b, true, 16384, 4096, modes[m]);
    s_session(&b, &a, false, 16384, 4096, modes[m]);
    session_start(a.sess, w.now);
    s_pump(&a, &b, &w, 1000);
    s_assert_converged(&a, &b);
    lsession_stat st;
    session_stat_get(a.sess, &st);
    cr_assert_eq(st.ops_sent, 6000 - half.ops, "sent %llu after the restart, %llu were missing",
                 (unsigned long long)st.ops_sent, (unsigned long long)(6000 - half.ops));
    s_node_free(&a);
    s_node_free(&b);
  }
}

Test(session, backlog_larger_than_the_window_stays_within_it)
{
  /* Credit counts bytes on the wire: compressed, the same window carries
   * more data, and what is in flight still never exceeds it. */
  const int modes[2] = {LSESSION_COMPRESS_OFF, 0};
  for (int m = 0; m < 2; m++) {
    node a, b;
    s_node(&a, "wa", 1);
    s_node(&b, "wb", 2);
    s_write(&a, 6000, 50, "v1"); /* several hundred KiB */
    const uint32_t window = 20000, maxmsg = 4096;
    wire w = {.seed = 3, .now = 1800000000000ull};
    s_sync(&a, &b, &w, window, maxmsg, modes[m], 5000);
    lsession_stat st;
    session_stat_get(a.sess, &st);
    /* b's window bounds what a has in flight */
    cr_assert_leq(w.max_inflight[0], window, "%u", w.max_inflight[0]);
    cr_assert_gt(st.data_bytes_plain, 10 * window);
    if (modes[m] == LSESSION_COMPRESS_OFF) {
      cr_assert_eq(w.zdata[0], 0);
      cr_assert_eq(st.data_bytes_sent, st.data_bytes_plain);
    } else {
      cr_assert_eq(w.zdata[0], w.data[0], "%llu of %llu DATA compressed",
                   (unsigned long long)w.zdata[0], (unsigned long long)w.data[0]);
      cr_assert_lt(st.data_bytes_sent, st.data_bytes_plain / 2);
    }
    s_node_free(&a);
    s_node_free(&b);
  }
}

Test(session, a_small_window_still_carries_large_messages)
{
  /* A window of one message bound, compressed, so that it holds a dozen
   * messages and credit comes back in small pieces: returned credit is not
   * spent on slivers (each DATA is a synced commit for the receiver),
   * messages are sized by the compression seen so far, and one that
   * compresses worse is kept back rather than overrun the window. */
  node a, b;
  s_node(&a, "sa", 1);
  s_node(&b, "sb", 2);
  s_write(&a, 12000, 50, "v1");
  const uint32_t maxmsg = SYNC_MIN_MESSAGE, window = maxmsg;
  wire w = {.seed = 5, .now = 1800000000000ull};
  s_sync(&a, &b, &w, window, maxmsg, 0, 5000);
  lsession_stat st;
  session_stat_get(a.sess, &st);
  cr_assert_gt(w.data[0], 10);
  cr_assert_eq(w.zdata[0], w.data[0]);
  cr_assert_leq(w.max_inflight[0], window, "%u", w.max_inflight[0]);
  /* no sliver messages: only the last, which ends the backlog, may be
   * small */
  cr_assert_leq(w.data[0], 1024);
  uint32_t small = 0;
  for (uint64_t i = 0; i + 1 < w.data[0]; i++)
    small += w.data_len[0][i] < w.max_data[0] / 3;
  cr_assert_eq(small, 0, "%u of %llu DATA messages under a third of the largest", small,
               (unsigned long long)w.data[0]);
  uint64_t avg_plain = st.data_bytes_plain / w.data[0];
  cr_assert_geq(avg_plain, maxmsg * 3 / 4, "%llu bytes per DATA before compression",
                (unsigned long long)avg_plain);
  cr_assert_leq(st.data_deferred, w.data[0] / 4, "%llu kept back of %llu",
                (unsigned long long)st.data_deferred, (unsigned long long)w.data[0]);
  s_node_free(&a);
  s_node_free(&b);
}

Test(session, zstd_contexts_are_held_only_while_transferring)
{
  /* A district keeps a session per station; one in sync must not hold a
   * compression context of a megabyte. */
  node a, b;
  s_node(&a, "ca", 1);
  s_node(&b, "cb", 2);
  s_write(&a, 12000, 50, "v1"); /* a few windows, compressed */
  s_session(&a, &b, true, SYNC_MIN_MESSAGE, SYNC_MIN_MESSAGE, 0);
  s_session(&b, &a, false, SYNC_MIN_MESSAGE, SYNC_MIN_MESSAGE, 0);
  wire w = {.seed = 2, .now = 1800000000000ull};
  session_start(a.sess, w.now);
  lsession_stat sa, sb;
  for (int i = 0; i < 10; i++) { /* HELLO, HELLO, the first DATA and so on */
    s_pump(&a, &b, &w, 1);
    session_stat_get(a.sess, &sa);
    session_stat_get(b.sess, &sb);
    if (sb.zstd_bytes > 0)
      break;
  }
  cr_assert_gt(w.zdata[0], 0);
  cr_assert_gt(sa.ops_behind_out, 0, "the transfer is still going");
  cr_assert_gt(sa.zstd_bytes, 0);
  cr_assert_gt(sb.zstd_bytes, 0);
  s_pump(&a, &b, &w, 5000);
  s_assert_converged(&a, &b);
  session_stat_get(a.sess, &sa);
  session_stat_get(b.sess, &sb);
  cr_assert_eq(sa.zstd_bytes, 0, "%llu", (unsigned long long)sa.zstd_bytes);
  cr_assert_eq(sb.zstd_bytes, 0, "%llu", (unsigned long long)sb.zstd_bytes);
  /* the next change makes them again, and lets them go again */
  s_write(&a, 200, 50, "v2");
  session_local_change(a.sess);
  uint64_t z = w.zdata[0];
  s_pump(&a, &b, &w, 5000);
  s_assert_converged(&a, &b);
  cr_assert_gt(w.zdata[0], z);
  session_stat_get(a.sess, &sa);
  cr_assert_eq(sa.zstd_bytes, 0);
  s_node_free(&a);
  s_node_free(&b);
}

Test(session, hostile_messages_are_refused_and_apply_nothing)
{
  node a, b;
  s_node(&a, "ha", 1);
  s_node(&b, "hb", 2);
  s_write(&a, 30, 10, "v1");
  /* uncompressed, so that a flipped byte lands in a delta (compressed
   * DATA has its own test) */
  s_session(&a, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  s_session(&b, &a, false, 0, 0, 0);
  wire w = {.seed = 3, .now = 1800000000000ull};
  lerr e = {0};
  /* garbage and truncated HELLOs */
  const uint8_t junk[] = {0x93, 0x00, 0xa3, 'x', 'y', 'z', 0xc1};
  cr_assert_lt(session_recv(b.sess, junk, sizeof junk, w.now, &e), 0);
  cr_assert_lt(session_recv(b.sess, junk, 0, w.now, &e), 0);
  /* DATA before HELLO: ignored (see the receiver rules) */
  const uint8_t data0[] = {0x93, 0x01, 0x01, 0x90};
  cr_assert_eq(session_recv(b.sess, data0, sizeof data0, w.now, &e), 0);
  /* a real exchange, with a byte flipped in every DATA message */
  s_session(&b, &a, false, 0, 0, 0);
  session_start(a.sess, w.now);
  lbuf out;
  lbuf_init(&out);
  cr_assert_eq(session_next_out(a.sess, &out, w.now, &e), 1);
  cr_assert_eq(session_recv(b.sess, out.p, out.len, w.now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, w.now, &e), 1);
  cr_assert_eq(session_recv(a.sess, out.p, out.len, w.now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(a.sess, &out, w.now, &e), 1);
  out.p[out.len - 10] ^= 0x40; /* inside the last delta's signature */
  memset(&e, 0, sizeof e);
  cr_assert_lt(session_recv(b.sess, out.p, out.len, w.now, &e), 0);
  cr_assert(strstr(e.msg, "signature") != NULL, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, w.now, &e), 1); /* the ERROR */
  lstore_stat st;
  cr_assert_eq(lstore_stat_get(b.s, &st, &e), 0);
  cr_assert_eq(st.ops, 0);
  /* a HELLO naming another node than the connection's key */
  s_session(&b, &a, false, 0, 0, 0);
  s_session(&a, &b, true, 0, 0, 0);
  node c;
  s_node(&c, "hc", 3);
  s_session(&c, &b, true, 0, 0, 0);
  session_start(c.sess, w.now);
  cr_assert_eq(session_next_out(c.sess, &out, w.now, &e), 1);
  cr_assert_lt(session_recv(b.sess, out.p, out.len, w.now, &e), 0);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
  s_node_free(&c);
}

Test(session, a_log_new_since_hello_is_announced_before_its_data)
{
  /* The parent holds nothing when the child connects; its first write
   * must reach the child with its class, or the child could not know
   * whether to pass it further down. */
  node child, parent;
  s_node(&child, "nc", 1);
  s_node(&parent, "np", 2);
  s_session(&child, &parent, true, 0, 0, 0);
  s_session(&parent, &child, false, 0, 0, 0);
  wire w = {.seed = 3, .now = 1800000000000ull};
  session_start(child.sess, w.now);
  s_pump(&child, &parent, &w, 100);
  classified = classified_early = 0;
  s_write(&parent, 5, 5, "notice");
  session_local_change(parent.sess);
  s_pump(&child, &parent, &w, 100);
  s_assert_converged(&child, &parent);
  cr_assert_geq(classified, 1, "the parent's new log was never announced");
  cr_assert_geq(classified_early, 1, "the parent's new log was announced only after its data");
  cr_assert_eq(memcmp(classified_author, parent.id.pk, LINLI_PK_BYTES), 0);
  s_node_free(&child);
  s_node_free(&parent);
}

/* Copies every delta of `from` into `to`, as a bundle import would; a
 * delta the trust rules refuse or that forks is left out. */
static int
s_copy_emit(void *ctx, const uint8_t *p, size_t n)
{
  lingest *g = ctx;
  int rc = lingest_add(g, p, n, NULL);
  return rc == LINLI_EFORK || rc == LINLI_EREFUSED ? 0 : rc;
}

static void
s_copy(node *from, node *to)
{
  lingest *g;
  lerr e = {0};
  cr_assert_eq(lstore_ingest_new(to->s, true, &g), 0);
  cr_assert_eq(lstore_export(from->s, NULL, NULL, 1 << 20, s_copy_emit, g, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_commit(g, 1800000000000ull, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
}

Test(session, refused_authors_are_left_out_and_forks_are_told)
{
  /* b trusts a's key as its root; x has no certificate; y1 and y2 are one
   * key on two cloned disks */
  node a, b, x, y1, y2;
  s_node(&a, "ra", 1);
  s_node(&b, "rb", 2);
  s_node(&x, "rx", 3);
  s_node(&y1, "ry1", 4);
  s_node(&y2, "ry2", 4);
  lerr e = {0};
  cr_assert_eq(lstore_set_root(b.s, a.id.pk, &e), 0, "%s", e.msg);
  s_write(&a, 200, 10, "district");
  s_write(&x, 150, 10, "stranger");
  s_write(&y1, 5, 5, "one");
  s_write(&y2, 5, 5, "two");
  s_copy(&x, &a);
  s_copy(&y1, &a);
  s_copy(&y2, &a); /* the fork: a keeps both deltas as evidence */
  cr_assert_eq(lstore_fork_count(a.s), 1);
  s_session(&a, &b, true, 0, 0, 0);
  s_session(&b, &a, false, 0, 0, 0);
  wire w = {.seed = 7, .now = 1800000000000ull};
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 1000); /* asserts that no side ever fails */
  /* b took the root's log, refused the stranger's, and heard of the fork */
  lhead h;
  cr_assert_eq(lstore_head(b.s, a.id.pk, &h, &e), 0, "%s", e.msg);
  cr_assert_eq(h.seq, 200);
  cr_assert_eq(lstore_head(b.s, x.id.pk, &h, &e), LINLI_ENOTFOUND);
  lsession_stat st;
  session_stat_get(b.sess, &st);
  cr_assert_gt(st.deltas_refused, 0);
  cr_assert_eq(lstore_fork_count(b.s), 1);
  ltrust_state ts;
  cr_assert_eq(lstore_trust(b.s, y1.id.pk, &ts, &e), 0);
  cr_assert(ts.forked);
  /* the refused author is not sent again and again in this session */
  session_stat_get(a.sess, &st);
  cr_assert_leq(st.ops_sent, 200 + 150 + 5 + 5);
  s_node_free(&a);
  s_node_free(&b);
  s_node_free(&x);
  s_node_free(&y1);
  s_node_free(&y2);
}

/* ---- fork evidence follows the replication scope (node/replica.c) ---- */

#define T0 1800000000000ull

/* A node under the trust root `root`. */
static void
s_node_under(node *n, const char *tag, uint8_t k, const lident *root)
{
  memset(n, 0, sizeof *n);
  n->dir = tu_tmpdir(tag);
  snprintf(n->path, sizeof n->path, "%s/n", n->dir);
  tu_key(&n->id, k);
  lerr e = {0};
  lstore_init_opts o = {.root = root->pk};
  cr_assert_eq(lstore_init(n->path, tag, &n->id, &o, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&n->s, n->path, NULL, &e), 0, "%s", e.msg);
}

/* n's certificate for `prefix`, issued by `issuer` with the chain `by`
 * holds of it, written as n's first op. */
static void
s_certify(node *n, node *by, const lident *issuer, int role, const char *prefix)
{
  lcert c;
  lchain ch;
  lerr e = {0};
  memset(&c, 0, sizeof c);
  memcpy(c.subject, n->id.pk, LINLI_PK_BYTES);
  snprintf(c.name, sizeof c.name, "%s", prefix);
  c.role = role;
  snprintf(c.prefix, sizeof c.prefix, "%s", prefix);
  c.not_before = T0 - 100 * 86400000ull;
  c.not_after = T0 + 100 * 86400000ull;
  cr_assert_eq(lstore_issue_chain(by->s, issuer, &c, &ch, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_write_chain(n->s, &n->id, &ch, T0 - 1000, &e), 0, "%s", e.msg);
}

static void
s_put(node *n, const char *key, const char *val)
{
  lerr e = {0};
  op o = {.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "note",
          .field_len = 4, .str = val, .str_len = (uint32_t)strlen(val)};
  cr_assert_eq(lstore_write(n->s, &n->id, &o, 1, T0, &e), 0, "%s", e.msg);
}

/* A key certified for `prefix` that signed two histories, both taken in by
 * `at`, which keeps the evidence. */
static void
s_forked(node *at, node *street, const lident *root, uint8_t k, const char *prefix)
{
  node one, two;
  char key[128];
  s_node_under(&one, "fk1", k, root);
  s_node_under(&two, "fk2", k, root);
  s_copy(street, &one); /* the chain above it */
  s_certify(&one, street, &street->id, ROLE_VILLAGE, prefix);
  s_copy(&one, &two);
  snprintf(key, sizeof key, "%shh/1", prefix);
  s_put(&one, key, "one");
  s_put(&two, key, "two");
  uint32_t before = lstore_fork_count(at->s);
  s_copy(&one, at);
  s_copy(&two, at);
  cr_assert_eq(lstore_fork_count(at->s), before + 1);
  s_node_free(&one);
  s_node_free(&two);
}

static void
s_use_replica(node *n, const node *peer, int kind)
{
  lerr e = {0};
  if (n->replica == NULL)
    cr_assert_eq(replica_new(&n->replica, n->s, &e), 0, "%s", e.msg);
  cr_assert_eq(replica_peer(n->replica, peer->id.pk, kind, &n->repl, &e), 0, "%s", e.msg);
}

static bool
s_has_fork(node *n, const uint8_t author[LINLI_PK_BYTES])
{
  ltrust_state ts;
  lerr e = {0};
  cr_assert_eq(lstore_trust(n->s, author, &ts, &e), 0, "%s", e.msg);
  return ts.forked;
}

/* A street under the root, its villages A and B; B's key forked, and so
 * did a second device certified for A's namespace (A2): the street holds
 * both pieces of evidence, A holds its own log and the street's. */
typedef struct scoped {
  lident root;
  node st, a;
  uint8_t b[LINLI_PK_BYTES], a2[LINLI_PK_BYTES];
} scoped;

static void
s_scoped(scoped *f)
{
  lident k;
  tu_key(&f->root, 90);
  s_node_under(&f->st, "fst", 91, &f->root);
  s_node_under(&f->a, "fa", 92, &f->root);
  s_certify(&f->st, &f->st, &f->root, ROLE_STREET, "gusu/jinchang/");
  s_put(&f->st, "gusu/jinchang/notices/1", "议事会");
  s_copy(&f->st, &f->a);
  s_certify(&f->a, &f->st, &f->st.id, ROLE_VILLAGE, "gusu/jinchang/shilu/");
  s_put(&f->a, "gusu/jinchang/shilu/hh/1", "陈建国");
  s_forked(&f->st, &f->st, &f->root, 93, "gusu/jinchang/caixiang/");
  s_forked(&f->st, &f->st, &f->root, 94, "gusu/jinchang/shilu/");
  tu_key(&k, 93);
  memcpy(f->b, k.pk, LINLI_PK_BYTES);
  tu_key(&k, 94);
  memcpy(f->a2, k.pk, LINLI_PK_BYTES);
  cr_assert(s_has_fork(&f->st, f->b));
  cr_assert(s_has_fork(&f->st, f->a2));
}

/* The street's evidence about `author` as a FORK message, into `msg`. */
static void
s_fork_msg(scoped *f, const uint8_t author[LINLI_PK_BYTES], lbuf *msg)
{
  lbuf ev;
  lerr e = {0};
  lbuf_init(&ev);
  for (uint32_t i = 0; i < lstore_fork_count(f->st.s); i++) {
    uint8_t au[LINLI_PK_BYTES];
    uint64_t seq;
    lbuf_reset(&ev);
    cr_assert_eq(lstore_fork_get(f->st.s, i, NULL, NULL, &ev, NULL, &e), 1, "%s", e.msg);
    cr_assert_eq(fork_check(ev.p, ev.len, au, &seq, &e), 0, "%s", e.msg);
    if (memcmp(au, author, LINLI_PK_BYTES) != 0)
      continue;
    mpw mw;
    mpw_init(&mw, msg);
    mpw_array(&mw, 2);
    mpw_uint(&mw, 6); /* FORK */
    mpw_raw(&mw, ev.p, ev.len);
    lbuf_free(&ev);
    return;
  }
  cr_assert_fail("no evidence about the author");
}

Test(session, fork_evidence_goes_only_to_a_child_whose_scope_holds_its_author)
{
  scoped f;
  s_scoped(&f);
  /* A syncs with the street, each side through its real replica; the
   * street learns A's certificate from A's first DATA, and with it A's
   * scope (the evidence about A2 is told then) */
  s_use_replica(&f.st, &f.a, LPEER_CHILD);
  s_use_replica(&f.a, &f.st, LPEER_PARENT);
  s_session(&f.a, &f.st, true, 0, 0, 0);
  s_session(&f.st, &f.a, false, 0, 0, 0);
  wire w = {.seed = 11, .now = T0};
  session_start(f.a.sess, w.now);
  s_pump(&f.a, &f.st, &w, 1000);
  lhead h;
  lerr e = {0};
  cr_assert_eq(lstore_head(f.st.s, f.a.id.pk, &h, &e), 0, "%s", e.msg);
  /* A holds the evidence about the device in its own namespace, none about
   * B, and no op of B */
  cr_assert(s_has_fork(&f.a, f.a2), "the evidence in A's scope did not reach A");
  cr_assert_not(s_has_fork(&f.a, f.b), "village B's fork evidence reached village A");
  cr_assert_eq(lstore_fork_count(f.a.s), 1);
  cr_assert_eq(lstore_head(f.a.s, f.b, &h, &e), LINLI_ENOTFOUND);
  cr_assert_eq(lstore_hash_at(f.a.s, f.b, 1, h.hash, &e), LINLI_ENOTFOUND);
  /* everything flows up: A's parent side tells the street all it holds */
  cr_assert_eq(f.a.repl.fork_count(f.a.repl.ctx), 1);
  s_node_free(&f.a);
  s_node_free(&f.st);
}

Test(session, a_child_keeps_no_fork_evidence_of_an_author_outside_its_scope)
{
  /* An older or dishonest parent sends evidence of every author: A checks
   * it, keeps only what lies in its own scope, and the session goes on */
  scoped f;
  s_scoped(&f);
  s_use_replica(&f.a, &f.st, LPEER_PARENT);
  s_session(&f.a, &f.st, true, 0, 0, 0);
  session_start(f.a.sess, T0);
  lbuf msg;
  lerr e = {0};
  lbuf_init(&msg);
  s_fork_msg(&f, f.b, &msg);
  cr_assert_eq(session_recv(f.a.sess, msg.p, msg.len, T0, &e), 0, "%s", e.msg);
  cr_assert_not(s_has_fork(&f.a, f.b), "A kept a sibling's fork evidence a parent sent");
  cr_assert_eq(lstore_fork_count(f.a.s), 0);
  /* A holds no certificate of A2: the class its parent's HELLO gave it
   * places it in A's subtree, and its evidence is kept */
  f.a.repl.classify(f.a.repl.ctx, f.st.id.pk, f.a2, LSCOPE_SUBTREE);
  lbuf_reset(&msg);
  s_fork_msg(&f, f.a2, &msg);
  cr_assert_eq(session_recv(f.a.sess, msg.p, msg.len, T0, &e), 0, "%s", e.msg);
  cr_assert(s_has_fork(&f.a, f.a2));
  /* a second street for the same namespace, holding the logs but not the
   * evidence, keeps B's evidence from a child: B is in its scope */
  node st2;
  s_node_under(&st2, "fst2", 95, &f.root);
  s_copy(&f.st, &st2);
  s_certify(&st2, &st2, &f.root, ROLE_STREET, "gusu/jinchang/");
  cr_assert_eq(lstore_fork_count(st2.s), 0);
  s_use_replica(&st2, &f.a, LPEER_CHILD);
  s_session(&st2, &f.a, false, 0, 0, 0);
  lbuf_reset(&msg);
  s_fork_msg(&f, f.b, &msg);
  cr_assert_eq(session_recv(st2.sess, msg.p, msg.len, T0, &e), 0, "%s", e.msg);
  cr_assert(s_has_fork(&st2, f.b));
  lbuf_free(&msg);
  s_node_free(&st2);
  s_node_free(&f.a);
  s_node_free(&f.st);
}

/* ---- compression ---- */

Test(session, compression_is_used_only_when_both_sides_accept_it)
{
  /* a's and b's settings, and whether DATA may travel compressed */
  const struct {
    int a, b;
    bool z;
  } cases[] = {{0, 0, true},
               {0, LSESSION_COMPRESS_OFF, false},
               {LSESSION_COMPRESS_OFF, 0, false},
               {LSESSION_COMPRESS_OFF, LSESSION_COMPRESS_OFF, false},
               {LSESSION_COMPRESS_MAX, 1, true}};
  uint64_t bytes[5] = {0};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    node a, b;
    s_node(&a, "za", 1);
    s_node(&b, "zb", 2);
    s_write(&a, 500, 10, "v1");
    s_write(&b, 200, 5, "v2");
    s_session(&a, &b, true, 0, 0, cases[c].a);
    s_session(&b, &a, false, 0, 0, cases[c].b);
    wire w = {.seed = 1, .now = 1800000000000ull};
    session_start(a.sess, w.now);
    s_pump(&a, &b, &w, 1000);
    s_assert_converged(&a, &b);
    lsession_stat sa, sb;
    session_stat_get(a.sess, &sa);
    session_stat_get(b.sess, &sb);
    cr_assert_eq(sa.compress_tx, cases[c].z, "case %zu", c);
    cr_assert_eq(sb.compress_tx, cases[c].z, "case %zu", c);
    cr_assert_gt(w.data[0], 0);
    cr_assert_gt(w.data[1], 0);
    cr_assert_eq(w.zdata[0], cases[c].z ? w.data[0] : 0, "case %zu", c);
    cr_assert_eq(w.zdata[1], cases[c].z ? w.data[1] : 0, "case %zu", c);
    cr_assert_eq(sa.ops_sent, 500);
    cr_assert_eq(sb.ops_sent, 200);
    if (cases[c].a == LSESSION_COMPRESS_OFF)
      cr_assert_eq(w.hello9[0] + w.hello9[1], 0, "case %zu: options nobody needs", c);
    else
      cr_assert_eq(w.hello8[0] + w.hello8[1], 0, "case %zu", c);
    bytes[c] = w.bytes[0] + w.bytes[1];
    s_node_free(&a);
    s_node_free(&b);
  }
  /* these values repeat a lot: compressed, a third of the bytes or less */
  cr_assert_lt(bytes[0] * 3, bytes[3], "%llu compressed, %llu not",
               (unsigned long long)bytes[0], (unsigned long long)bytes[3]);
  /* With compression off, a (the initiator) speaks the protocol from
   * before options, and b answers in kind.  With it on, a offers zstd, 16
   * bytes of options, and b answers it accepts nothing, {} */
  cr_assert_eq(bytes[2], bytes[3]);
  cr_assert_eq(bytes[1], bytes[3] + 17);
}

Test(session, the_receivers_max_bounds_the_data_it_is_sent)
{
  /* b, the sender, is set for 1 MiB messages without compression; a asks
   * in its HELLO for at most 16 KiB.  Then without the ask. */
  size_t largest[2];
  for (int c = 0; c < 2; c++) {
    node a, b;
    s_node(&a, "ma", 1);
    s_node(&b, "mb", 2);
    /* enough for the DATA size to grow from SYNC_LINK_START to its bound */
    s_write(&b, 8000, 50, "v2");
    s_session(&a, &b, true, 0, c == 0 ? SYNC_MIN_MESSAGE : 0, 0);
    s_session(&b, &a, false, 0, SYNC_MAX_MESSAGE, LSESSION_COMPRESS_OFF);
    wire w = {.seed = 3, .now = 1800000000000ull};
    session_start(a.sess, w.now);
    s_pump(&a, &b, &w, 1000);
    s_assert_converged(&a, &b);
    largest[c] = w.max_data[1];
    cr_assert_eq(w.zdata[1], 0);
    s_node_free(&a);
    s_node_free(&b);
  }
  /* a lone delta may pass the bound; these are about 3 KB each */
  cr_assert_leq(largest[0], SYNC_MIN_MESSAGE, "%zu", largest[0]);
  cr_assert_gt(largest[1], 4 * SYNC_MIN_MESSAGE, "%zu", largest[1]);
}

Test(session, a_peer_without_options_gets_hellos_and_data_it_understands)
{
  /* a, as b sees it, is a node from before compression: its HELLOs have 8
   * elements.  b must answer in kind (such a node refuses a HELLO of 9)
   * and never send it compressed DATA. */
  node a, b;
  s_node(&a, "oa", 1);
  s_node(&b, "ob", 2);
  s_write(&a, 300, 10, "v1");
  s_write(&b, 300, 10, "v2");
  s_session(&a, &b, true, 0, 0, 0);
  s_session(&b, &a, false, 0, 0, 0);
  wire w = {.seed = 1, .now = 1800000000000ull, .old_a = true};
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 1000);
  s_pump(&a, &b, &w, 1000); /* and the anti-entropy HELLO the first one ended on */
  s_assert_converged(&a, &b);
  cr_assert_gt(w.hello8[0], 1, "the anti-entropy HELLO never came");
  cr_assert_gt(w.hello8[1], 1);
  cr_assert_eq(w.hello9[1], 0, "b sent options to a peer that did not send any");
  cr_assert_gt(w.data[0], 0);
  cr_assert_gt(w.data[1], 0);
  cr_assert_eq(w.zdata[0] + w.zdata[1], 0);
  s_node_free(&a);
  s_node_free(&b);
}

/* The HELLO in `m`, its options replaced by the msgpack in opts[0..n) and
 * `extra` more elements (nil) after them. */
static void
s_hello_with(lbuf *m, const uint8_t *opts, size_t n, int extra)
{
  mpr r;
  uint32_t nel;
  mpr_init(&r, m->p, m->len);
  cr_assert_eq(mpr_array(&r, &nel), 0);
  const uint8_t *from = r.p;
  for (int i = 0; i < 8; i++)
    cr_assert_eq(mpr_skip(&r), 0);
  lbuf o;
  lbuf_init(&o);
  mpw w;
  mpw_init(&w, &o);
  mpw_array(&w, (uint32_t)(9 + extra));
  lbuf_put(&o, from, (size_t)(r.p - from));
  lbuf_put(&o, opts, n);
  for (int i = 0; i < extra; i++)
    mpw_nil(&w);
  lbuf_free(m);
  *m = o;
}

Test(session, hello_options_skip_what_they_do_not_know)
{
  node a, b;
  s_node(&a, "fa", 1);
  s_node(&b, "fb", 2);
  s_write(&b, 100, 10, "v2");
  lbuf out, hello;
  lbuf_init(&out);
  lbuf_init(&hello);
  lerr e = {0};
  uint64_t now = 1800000000000ull;
  s_session(&a, &b, true, 0, 0, 0);
  session_start(a.sess, now);
  cr_assert_eq(session_next_out(a.sess, &hello, now, &e), 1);
  cr_assert_eq(s_kind(hello.p, hello.len), K_HELLO);
  /* {"future": [1, 2], "compress": ["lz4", "zstd"]}, then one element more:
   * what a later version might send */
  const uint8_t later[] = {0x82, 0xa6, 'f', 'u', 't', 'u', 'r', 'e', 0x92, 0x01, 0x02,
                           0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 0x92,
                           0xa3, 'l', 'z', '4', 0xa4, 'z', 's', 't', 'd'};
  lbuf m;
  lbuf_init(&m);
  lbuf_put(&m, hello.p, hello.len);
  s_hello_with(&m, later, sizeof later, 1);
  s_session(&b, &a, false, 0, 0, 0);
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1);
  cr_assert_eq(s_kind(out.p, out.len), K_HELLO);
  cr_assert_eq(session_recv(a.sess, out.p, out.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1);
  cr_assert_eq(s_kind(out.p, out.len), K_ZDATA);
  cr_assert_eq(session_recv(a.sess, out.p, out.len, now, &e), 1, "%s", e.msg);
  /* only "lz4": no compression */
  const uint8_t lz4[] = {0x81, 0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 0x91,
                         0xa3, 'l', 'z', '4'};
  lbuf_reset(&m);
  lbuf_put(&m, hello.p, hello.len);
  s_hello_with(&m, lz4, sizeof lz4, 0);
  s_session(&b, &a, false, 0, 0, 0);
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  lsession_stat st;
  session_stat_get(b.sess, &st);
  cr_assert(!st.compress_tx);
  /* options that are not a map, or a "compress" that is not a list of
   * names: refused */
  const uint8_t bad1[] = {0xa4, 'z', 's', 't', 'd'};
  const uint8_t bad2[] = {0x81, 0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's',
                          0xa4, 'z', 's', 't', 'd'};
  const uint8_t bad3[] = {0x81, 0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 0x91, 0x01};
  /* a "max" below 16 KiB, above 1 MiB, or not a number */
  const uint8_t bad4[] = {0x81, 0xa3, 'm', 'a', 'x', 0xcd, 0x3f, 0xff};
  const uint8_t bad5[] = {0x81, 0xa3, 'm', 'a', 'x', 0xce, 0x00, 0x10, 0x00, 0x01};
  const uint8_t bad6[] = {0x81, 0xa3, 'm', 'a', 'x', 0xa1, '1'};
  /* a key twice: which one counts would be the reader's guess */
  const uint8_t bad7[] = {0x82, 0xa3, 'm', 'a', 'x', 0xcd, 0x40, 0x00,
                          0xa3, 'm', 'a', 'x', 0xce, 0x00, 0x10, 0x00, 0x00};
  const uint8_t bad8[] = {0x82, 0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 0x90,
                          0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 0x91,
                          0xa4, 'z', 's', 't', 'd'};
  const struct {
    const uint8_t *p;
    size_t n;
  } bad[] = {{bad1, sizeof bad1}, {bad2, sizeof bad2}, {bad3, sizeof bad3},
             {bad4, sizeof bad4}, {bad5, sizeof bad5}, {bad6, sizeof bad6},
             {bad7, sizeof bad7}, {bad8, sizeof bad8}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    lbuf_reset(&m);
    lbuf_put(&m, hello.p, hello.len);
    s_hello_with(&m, bad[i].p, bad[i].n, 0);
    s_session(&b, &a, false, 0, 0, 0);
    memset(&e, 0, sizeof e);
    cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), LINLI_EMALFORMED);
    cr_assert(strncmp(e.msg, "HELLO options: ", 15) == 0, "%s", e.msg);
  }
  lbuf_free(&m);
  lbuf_free(&out);
  lbuf_free(&hello);
  s_node_free(&a);
  s_node_free(&b);
}

/* A hand-built HELLO: [0, "linli-sync", version, node, now, 1 MiB, reply,
 * heads, opts], `opts` (raw msgpack) and the element after it only when
 * given. */
typedef struct thead {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  uint8_t h8[8];
  uint64_t cls;
} thead;

static void
s_hello_build(lbuf *m, uint64_t version, const uint8_t who[LINLI_PK_BYTES], bool reply,
              const thead *h, uint32_t nh, const void *opts, size_t optn, bool extra)
{
  lbuf_reset(m);
  mpw w;
  mpw_init(&w, m);
  mpw_array(&w, 8 + (opts != NULL) + extra);
  mpw_uint(&w, 0);
  mpw_cstr(&w, "linli-sync");
  mpw_uint(&w, version);
  mpw_bin(&w, who, LINLI_PK_BYTES);
  mpw_uint(&w, 1800000000000ull);
  mpw_uint(&w, 1u << 20);
  mpw_bool(&w, reply);
  mpw_array(&w, nh);
  for (uint32_t i = 0; i < nh; i++) {
    mpw_array(&w, 4);
    mpw_bin(&w, h[i].author, LINLI_PK_BYTES);
    mpw_uint(&w, h[i].seq);
    mpw_bin(&w, h[i].h8, 8);
    mpw_uint(&w, h[i].cls);
  }
  if (opts)
    lbuf_put(m, opts, optn);
  if (extra)
    mpw_cstr(&w, "a later version's element");
  cr_assert(!m->oom);
}

/* b's session hears a's HELLO (holding nothing, accepting zstd) and
 * answers it: what a connection starts with. */
static void
s_hello_in(node *b, node *a)
{
  static const uint8_t zstd[] = {0x81, 0xa8, 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 0x91,
                                 0xa4, 'z', 's', 't', 'd'};
  lbuf m;
  lbuf_init(&m);
  s_hello_build(&m, 1, a->id.pk, true, NULL, 0, zstd, sizeof zstd, false);
  lerr e = {0};
  cr_assert_eq(session_recv(b->sess, m.p, m.len, 1800000000000ull, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b->sess, &m, 1800000000000ull, &e), 1);
  cr_assert_eq(s_kind(m.p, m.len), K_HELLO);
  lbuf_free(&m);
}

/* DATA [1, 7, bin frame]. */
static void
s_zdata(lbuf *m, const void *frame, size_t n)
{
  lbuf_reset(m);
  mpw w;
  mpw_init(&w, m);
  mpw_array(&w, 3);
  mpw_uint(&w, 1);
  mpw_uint(&w, 7);
  mpw_bin(&w, frame, n);
}

/* A zstd frame of p[0..n), with or without its size in the header. */
static void
s_frame(lbuf *f, const void *p, size_t n, bool with_size)
{
  ZSTD_CCtx *c = ZSTD_createCCtx();
  cr_assert_not_null(c);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, with_size);
  lbuf_reset(f);
  cr_assert_eq(lbuf_reserve(f, ZSTD_compressBound(n)), 0);
  size_t zn = ZSTD_compress2(c, f->p, ZSTD_compressBound(n), p, n);
  cr_assert(!ZSTD_isError(zn), "%s", ZSTD_getErrorName(zn));
  f->len = zn;
  ZSTD_freeCCtx(c);
}

/* Rewrites the content size a frame header states (RFC 8878, 3.1.1.1). */
static void
s_set_size(lbuf *f, uint64_t v)
{
  uint8_t fhd = f->p[4];
  int fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, did = fhd & 3;
  size_t at = 5 + (single ? 0 : 1) + (size_t)(did == 3 ? 4 : did);
  int size = fcs_flag == 0 ? (single ? 1 : 0) : 1 << fcs_flag;
  cr_assert_gt(size, 1, "the test needs a 2, 4 or 8 byte size field");
  if (size == 2)
    v -= 256;
  for (int i = 0; i < size; i++)
    f->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* A fresh session of b (compression as given) refuses m with `code` (0:
 * any) and a message holding `what`, answers with an ERROR, and applies
 * nothing. */
static void
s_refused(node *b, node *a, int compress, const lbuf *m, int code, const char *what)
{
  s_session(b, a, false, 0, 0, compress);
  s_hello_in(b, a);
  lerr e = {0};
  int rc = session_recv(b->sess, m->p, m->len, 1800000000000ull, &e);
  if (code == 0)
    cr_assert_lt(rc, 0, "accepted");
  else
    cr_assert_eq(rc, code, "expected %d (%s), got %d: %s", code, what, rc, e.msg);
  cr_assert(strstr(e.msg, what) != NULL, "expected \"%s\" in: %s", what, e.msg);
  cr_assert(strchr(e.msg, '\n') == NULL);
  lbuf out;
  lbuf_init(&out);
  cr_assert_eq(session_next_out(b->sess, &out, 1800000000000ull, &e), 1);
  cr_assert_eq(out.p[0], 0x93);
  cr_assert_eq(out.p[1], 5, "no ERROR for the peer");
  lbuf_free(&out);
  lstore_stat st;
  cr_assert_eq(lstore_stat_get(b->s, &st, &e), 0);
  cr_assert_eq(st.ops, 0, "something was applied");
}

Test(session, bad_compressed_data_and_decompression_bombs_are_refused)
{
  node a, b;
  s_node(&a, "ka", 1);
  s_node(&b, "kb", 2);
  s_write(&a, 30, 10, "v1");
  /* a real compressed DATA, and the deltas array inside it */
  s_session(&a, &b, true, 0, 0, 0);
  s_session(&b, &a, false, 0, 0, 0);
  uint64_t now = 1800000000000ull;
  lerr e = {0};
  lbuf out, real, plain, f, m;
  lbuf_init(&out);
  lbuf_init(&real);
  lbuf_init(&plain);
  lbuf_init(&f);
  lbuf_init(&m);
  session_start(a.sess, now);
  cr_assert_eq(session_next_out(a.sess, &out, now, &e), 1);
  cr_assert_eq(session_recv(b.sess, out.p, out.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1);
  cr_assert_eq(session_recv(a.sess, out.p, out.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(a.sess, &real, now, &e), 1);
  cr_assert_eq(s_kind(real.p, real.len), K_ZDATA);
  mpr r;
  uint64_t v;
  const uint8_t *z;
  uint32_t zn;
  mpr_init(&r, real.p, real.len);
  cr_assert_eq(mpr_array_n(&r, 3) || mpr_uint(&r, &v) || mpr_uint(&r, &v) ||
                   mpr_bin(&r, &z, &zn),
               0);
  unsigned long long size = ZSTD_getFrameContentSize(z, zn);
  cr_assert_lt(size, 1u << 20);
  cr_assert_eq(lbuf_reserve(&plain, (size_t)size), 0);
  cr_assert_eq(ZSTD_decompress(plain.p, (size_t)size, z, zn), size);
  plain.len = (size_t)size;
  cr_assert_lt(zn, plain.len);

  /* compressed DATA to a side that did not offer compression */
  s_refused(&b, &a, LSESSION_COMPRESS_OFF, &real, LINLI_EMALFORMED,
            "compressed DATA, but this side does not accept compression");
  /* not zstd at all */
  s_zdata(&m, "certainly not a zstd frame", 26);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA is not a zstd frame");
  /* a frame cut short, a frame with another after it, an empty frame */
  s_zdata(&m, z, zn - 5);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA is not exactly one zstd frame");
  lbuf_reset(&f);
  lbuf_put(&f, z, zn);
  lbuf_put(&f, z, zn);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA is not exactly one zstd frame");
  s_frame(&f, "", 0, true);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA is not exactly one zstd frame");
  /* a frame that does not say how large it is */
  s_frame(&f, plain.p, plain.len, false);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA does not state its size");
  /* frames that state a wrong size, smaller or larger */
  s_frame(&f, plain.p, plain.len, true);
  s_set_size(&f, plain.len - 1);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA does not decompress");
  s_frame(&f, plain.p, plain.len, true);
  s_set_size(&f, plain.len + 1);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA does not decompress");
  /* a byte flipped in a block: zstd may or may not notice (frames carry
   * no checksum), the deltas' hashes and signatures do */
  lbuf_reset(&f);
  lbuf_put(&f, z, zn);
  f.p[f.len / 2] ^= 0x55;
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, 0, "");
  /* well-formed zstd, but not a deltas array; and a delta with a bad
   * signature: what is inside is checked as in plain DATA */
  s_frame(&f, "\x01\x02\x03", 3, true);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "DATA (decompressed): deltas is not an array of 1 or more deltas at byte 0");
  plain.p[plain.len - 10] ^= 0x40;
  s_frame(&f, plain.p, plain.len, true);
  plain.p[plain.len - 10] ^= 0x40;
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_ESIG, "signature");

  /* Bombs: a few dozen bytes that would expand past 1 MiB are refused
   * before anything is allocated for them. */
  const size_t big = 2u << 20;
  uint8_t *zeros = calloc(1, big);
  cr_assert_not_null(zeros);
  s_frame(&f, zeros, big, true);
  s_zdata(&m, f.p, f.len);
  cr_assert_lt(m.len, 200, "a %zu byte bomb", m.len);
  s_refused(&b, &a, 0, &m, LINLI_ETOOBIG,
            "compressed DATA would expand to 2097152 bytes, more than the 1048576 allowed");
  s_frame(&f, zeros, SYNC_MAX_MESSAGE + 1, true);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_ETOOBIG, "would expand to 1048577 bytes");
  /* one that lies about its size is stopped at the size it states */
  s_frame(&f, zeros, big, true);
  s_set_size(&f, 100000);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "compressed DATA does not decompress");
  /* exactly 1 MiB is within bounds: decompressed, then found malformed */
  s_frame(&f, zeros, SYNC_MAX_MESSAGE, true);
  s_zdata(&m, f.p, f.len);
  s_refused(&b, &a, 0, &m, LINLI_EMALFORMED, "DATA (decompressed): deltas is not an array of 1 or more deltas at byte 0");
  free(zeros);

  /* and the real message is applied */
  s_session(&b, &a, false, 0, 0, 0);
  s_hello_in(&b, &a);
  cr_assert_eq(session_recv(b.sess, real.p, real.len, now, &e), 1, "%s", e.msg);
  lstore_stat st;
  cr_assert_eq(lstore_stat_get(b.s, &st, &e), 0);
  cr_assert_eq(st.ops, 30);
  lbuf_free(&out);
  lbuf_free(&real);
  lbuf_free(&plain);
  lbuf_free(&f);
  lbuf_free(&m);
  s_node_free(&a);
  s_node_free(&b);
}

/* ---- receiver rules (docs/PROTOCOL.md, "Receiver rules") ---- */

static uint64_t
s_ops(node *n)
{
  lstore_stat st;
  lerr e = {0};
  cr_assert_eq(lstore_stat_get(n->s, &st, &e), 0, "%s", e.msg);
  return st.ops;
}

/* n's session refuses m with `code` and a reason holding `what`, queues an
 * ERROR [5, -code, reason] with the same reason, and applies nothing. */
static void
s_rule_refused(node *n, const void *m, size_t len, int code, const char *what)
{
  uint64_t before = s_ops(n);
  lerr e = {0};
  int rc = session_recv(n->sess, m, len, 1800000000000ull, &e);
  cr_assert_eq(rc, code, "expected %d (%s), got %d: %s", code, what, rc, e.msg);
  cr_assert(strstr(e.msg, what) != NULL, "expected \"%s\" in: %s", what, e.msg);
  lbuf out;
  lbuf_init(&out);
  lerr e2 = {0};
  int k;
  /* the ERROR is the last thing queued */
  while ((k = session_next_out(n->sess, &out, 1800000000000ull, &e2)) == 1 && out.p[1] != 5)
    ;
  cr_assert_eq(k, 1, "no ERROR for the peer");
  mpr r;
  uint64_t type, c;
  const char *why;
  uint32_t wn;
  mpr_init(&r, out.p, out.len);
  cr_assert_eq(mpr_array_n(&r, 3) || mpr_uint(&r, &type) || mpr_uint(&r, &c) ||
                   mpr_str(&r, &why, &wn),
               0);
  cr_assert_eq(c, (uint64_t)-code);
  cr_assert_eq(wn, strlen(e.msg));
  cr_assert_eq(memcmp(why, e.msg, wn), 0, "the ERROR's reason is not the one logged");
  lbuf_free(&out);
  cr_assert_eq(s_ops(n), before, "something was applied");
}

/* The next message n sends: its type, or -1 when there is none. */
static int
s_next_type(node *n, lbuf *out)
{
  lerr e = {0};
  int rc = session_next_out(n->sess, out, 1800000000000ull, &e);
  cr_assert_geq(rc, 0, "%s", e.msg);
  return rc == 1 ? out->p[1] : -1;
}

Test(session, receiver_rules_refuse_or_ignore_hand_built_messages)
{
  node a, b;
  s_node(&a, "ra", 1); /* the child */
  s_node(&b, "rb", 2); /* the parent */
  s_write(&a, 20, 10, "c");
  s_write(&b, 10, 10, "p");
  lbuf m, out;
  lbuf_init(&m);
  lbuf_init(&out);
  lerr e = {0};
  uint64_t now = 1800000000000ull;

  /* a real DATA from the child: it hears a hand-built parent HELLO */
  s_session(&a, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  session_start(a.sess, now);
  cr_assert_eq(s_next_type(&a, &out), 0);
  s_hello_build(&m, 1, b.id.pk, false, NULL, 0, NULL, 0, false);
  cr_assert_eq(session_recv(a.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  lbuf data_up;
  lbuf_init(&data_up);
  cr_assert_eq(s_next_type(&a, &data_up), 1);

  /* DATA before HELLO, at the parent (a child's daemon handed DATA of its
   * old connection to a new one, after the parent restarted): ignored,
   * not applied, not ACKed, and the HELLO that follows is answered */
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  uint64_t held = s_ops(&b);
  cr_assert_eq(session_recv(b.sess, data_up.p, data_up.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(s_ops(&b), held);
  cr_assert_eq(s_next_type(&b, &out), -1, "answered DATA it ignored");
  s_hello_in(&b, &a);

  /* a real DATA from the parent, to a child that holds nothing of it */
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  s_hello_in(&b, &a);
  lbuf data_down;
  lbuf_init(&data_down);
  cr_assert_eq(s_next_type(&b, &data_down), 1);
  /* DATA before HELLO, at the child (its parent sent it before our HELLO
   * of a new connection arrived): ignored, not applied, not ACKed */
  s_session(&a, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  session_start(a.sess, now);
  cr_assert_eq(s_next_type(&a, &out), 0);
  uint64_t before = s_ops(&a);
  cr_assert_eq(session_recv(a.sess, data_down.p, data_down.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(s_ops(&a), before);
  cr_assert_eq(s_next_type(&a, &out), -1, "answered DATA it ignored");

  /* HELLO heads not sorted by author, or an author twice: refused */
  thead h[2];
  memset(h, 0, sizeof h);
  memset(h[0].author, 0xbb, LINLI_PK_BYTES);
  memset(h[1].author, 0xaa, LINLI_PK_BYTES);
  h[0].seq = h[1].seq = 1;
  s_hello_build(&m, 1, a.id.pk, true, h, 2, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EMALFORMED,
                 "HELLO: head 1 is not after head 0 in author byte order");
  memset(h[1].author, 0xbb, LINLI_PK_BYTES);
  s_hello_build(&m, 1, a.id.pk, true, h, 2, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EMALFORMED, "head 1 is not after head 0");

  /* a child's head of class 1: refused; class 2 from anyone: malformed */
  memset(h[1].author, 0xcc, LINLI_PK_BYTES);
  h[1].cls = 1;
  s_hello_build(&m, 1, a.id.pk, true, h, 2, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EPROTO,
                 "HELLO: head 1 has class 1, but a child sends class 0 only");
  /* ... the same heads from a parent are what a parent sends */
  s_hello_build(&m, 1, b.id.pk, false, h, 2, NULL, 0, false);
  s_session(&a, &b, true, 0, 0, 0);
  session_start(a.sess, now);
  cr_assert_eq(session_recv(a.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  h[1].cls = 2;
  s_hello_build(&m, 1, b.id.pk, false, h, 2, NULL, 0, false);
  s_session(&a, &b, true, 0, 0, 0);
  s_rule_refused(&a, m.p, m.len, LINLI_EMALFORMED, "HELLO: head 1 has class 2, not 0 or 1");

  /* a HELLO naming another node than the connection authenticated */
  s_hello_build(&m, 1, b.id.pk, true, NULL, 0, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EPROTO,
                 "HELLO: node is not the key this connection authenticated");

  /* a truncated HELLO, and one whose node is not a 32-byte bin; bytes 0
   * to 13 are 98 00 aa "linli-sync" 01, the node starts at byte 14 */
  s_hello_build(&m, 1, a.id.pk, true, NULL, 0, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, 14, LINLI_EMALFORMED, "HELLO: truncated msgpack at byte 14");
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, 30, LINLI_EMALFORMED,
                 "HELLO: truncated or invalid msgpack at byte 14");
  m.p[15] = 31;
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EMALFORMED, "HELLO: node is not a 32-byte bin at byte 14");

  /* an unknown type; a PING with a byte after it; a message over 1 MiB */
  const uint8_t nine[] = {0x92, 0x09, 0x01};
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, nine, sizeof nine, LINLI_EMALFORMED, "unknown message type 9");
  const uint8_t ping[] = {0x92, 0x03, 0x05, 0xc0};
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, ping, sizeof ping, LINLI_EMALFORMED,
                 "PING: bytes after the last element at byte 3");
  const uint8_t ack3[] = {0x93, 0x02, 0x01, 0x01};
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, ack3, sizeof ack3, LINLI_EMALFORMED, "ACK: an array of 3 elements, not 5");
  uint8_t *huge = calloc(1, SYNC_MAX_MESSAGE + 1);
  cr_assert_not_null(huge);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, huge, SYNC_MAX_MESSAGE + 1, LINLI_ETOOBIG,
                 "message of 1048577 bytes, more than the 1048576 allowed");
  free(huge);

  /* ACKs: for a DATA never sent, refused; for one no longer in flight,
   * no credit (ignored); `credit` itself is not trusted */
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  s_hello_in(&b, &a);
  const uint8_t ack99[] = {0x95, 0x02, 0x63, 0x10, 0xc2, 0x90};
  s_rule_refused(&b, ack99, sizeof ack99, LINLI_EPROTO,
                 "ACK for DATA 99, but the last DATA sent was 0");
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  s_hello_in(&b, &a);
  cr_assert_eq(s_next_type(&b, &out), 1);
  lsession_stat st;
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.inflight_bytes, out.len);
  const uint8_t ack1[] = {0x95, 0x02, 0x01, 0x10, 0xc2, 0x90}; /* credit 16 */
  cr_assert_eq(session_recv(b.sess, ack1, sizeof ack1, now, &e), 0, "%s", e.msg);
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.inflight_bytes, 0, "the credit of the DATA as sent comes back");
  cr_assert_eq(st.round_trips, 1);
  cr_assert_eq(session_recv(b.sess, ack1, sizeof ack1, now, &e), 0, "%s", e.msg);
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.round_trips, 1, "a second ACK of one DATA counted");
  const uint8_t ack2[] = {0x95, 0x02, 0x02, 0x10, 0xc2, 0x90};
  s_rule_refused(&b, ack2, sizeof ack2, LINLI_EPROTO,
                 "ACK for DATA 2, but the last DATA sent was 1");

  /* a PONG echoing a time still to come: ignored */
  const uint8_t pong[] = {0x93, 0x04, 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x01};
  cr_assert_eq(session_recv(b.sess, pong, sizeof pong, now, &e), 0, "%s", e.msg);
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.rtt_ms, 0);

  /* ACK heads naming an author the sender does not know: that entry is
   * ignored; the ACK itself is fine */
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  s_hello_in(&b, &a);
  cr_assert_eq(s_next_type(&b, &out), 1);
  lbuf ackx;
  lbuf_init(&ackx);
  mpw w;
  mpw_init(&w, &ackx);
  mpw_array(&w, 5);
  mpw_uint(&w, 2);
  mpw_uint(&w, 1);
  mpw_uint(&w, out.len);
  mpw_bool(&w, false);
  mpw_array(&w, 1);
  mpw_array(&w, 2);
  mpw_bin(&w, h[0].author, LINLI_PK_BYTES);
  mpw_uint(&w, 5);
  cr_assert_eq(session_recv(b.sess, ackx.p, ackx.len, now, &e), 0, "%s", e.msg);
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.inflight_bytes, 0);
  lbuf_free(&ackx);
  /* PING before any HELLO: answered */
  s_session(&b, &a, false, 0, 0, 0);
  const uint8_t ping0[] = {0x92, 0x03, 0x05};
  cr_assert_eq(session_recv(b.sess, ping0, sizeof ping0, now, &e), 0, "%s", e.msg);
  cr_assert_eq(s_next_type(&b, &out), 4);
  /* a parent's HELLO with reply true: the child answers it */
  s_session(&a, &b, true, 0, 0, 0);
  session_start(a.sess, now);
  cr_assert_eq(s_next_type(&a, &out), 0);
  s_hello_build(&m, 1, b.id.pk, true, NULL, 0, NULL, 0, false);
  cr_assert_eq(session_recv(a.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(s_next_type(&a, &out), 0, "no HELLO in answer");

  /* an ERROR's reason reaches our log as one line */
  const uint8_t err[] = {0x93, 0x05, 0x10, 0xa3, 'a', '\n', 'b'};
  cr_assert_eq(session_recv(b.sess, err, sizeof err, now, &e), LINLI_EVERSION);
  cr_assert_str_eq(e.msg, "peer refused the session: ERROR 16 (no common protocol version): a?b");

  lbuf_free(&data_up);
  lbuf_free(&data_down);
  lbuf_free(&m);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

/* The version byte of a HELLO (a fixint). */
static int
s_hello_version(const lbuf *m)
{
  cr_assert_eq(s_kind(m->p, m->len) == K_HELLO || s_kind(m->p, m->len) == K_HELLO8, 1);
  return m->p[13];
}

Test(session, versions_the_older_common_one_is_spoken_and_none_is_refused)
{
  node a, b;
  s_node(&a, "va", 1);
  s_node(&b, "vb", 2);
  s_write(&a, 20, 10, "c");
  lbuf m, out;
  lbuf_init(&m);
  lbuf_init(&out);
  lerr e = {0};
  uint64_t now = 1800000000000ull;
  lsession_stat st;
  /* A version 2 child that still speaks 1 ({"min": 1}) and sends an
   * element more: the parent answers as version 1 and both speak 1. */
  const uint8_t min1[] = {0x82, 0xa3, 'm', 'i', 'n', 0x01, 0xa8, 'c', 'o', 'm', 'p', 'r', 'e',
                          's', 's', 0x91, 0xa4, 'z', 's', 't', 'd'};
  s_hello_build(&m, 2, a.id.pk, true, NULL, 0, min1, sizeof min1, true);
  s_session(&b, &a, false, 0, 0, 0);
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.version, 1);
  cr_assert_eq(s_next_type(&b, &out), 0);
  cr_assert_eq(s_hello_version(&out), 1);
  /* without "min" a version 2 HELLO means it speaks 1 and 2 */
  s_hello_build(&m, 2, a.id.pk, true, NULL, 0, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  /* the same at the child: a version 2 parent's answer */
  s_session(&a, &b, true, 0, 0, 0);
  session_start(a.sess, now);
  cr_assert_eq(s_next_type(&a, &out), 0);
  cr_assert_eq(s_hello_version(&out), 1);
  s_hello_build(&m, 2, b.id.pk, false, NULL, 0, min1, sizeof min1, true);
  cr_assert_eq(session_recv(a.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.version, 1);
  cr_assert_eq(s_next_type(&a, &out), 1, "no DATA after the version 2 parent's HELLO");
  /* A peer that no longer speaks 1 ({"min": 2}), or speaks none (0):
   * no common version, a named ERROR. */
  const uint8_t min2[] = {0x81, 0xa3, 'm', 'i', 'n', 0x02};
  s_hello_build(&m, 3, a.id.pk, true, NULL, 0, min2, sizeof min2, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EVERSION,
                 "no common protocol version: the peer speaks 2 to 3, this node 1 to 1");
  s_hello_build(&m, 0, a.id.pk, true, NULL, 0, NULL, 0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EVERSION, "the peer speaks 0 to 0, this node 1 to 1");
  /* a "min" above the version it comes with, or of 0: malformed */
  const uint8_t min3[] = {0x81, 0xa3, 'm', 'i', 'n', 0x03};
  s_hello_build(&m, 2, a.id.pk, true, NULL, 0, min3, sizeof min3, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EMALFORMED, "HELLO: \"min\" 3 is above the version 2");
  const uint8_t min0[] = {0x81, 0xa3, 'm', 'i', 'n', 0x00};
  s_hello_build(&m, 2, a.id.pk, true, NULL, 0, min0, sizeof min0, false);
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, m.p, m.len, LINLI_EMALFORMED, "HELLO options: \"min\" is not an unsigned");
  lbuf_free(&m);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

/* The versions a session names come from its configuration (what
 * LINLI_TEST_PROTOCOL sets for tests): a child of version 2 only says
 * "min": 2 and is refused by a parent of 1; a parent of 1 to 2 speaks 2
 * with it, and names no "min" (1). */
Test(session, configured_versions_are_named_and_negotiated)
{
  node a, b;
  s_node(&a, "va", 1);
  s_node(&b, "vb", 2);
  lbuf hello, out;
  lbuf_init(&hello);
  lbuf_init(&out);
  lerr e = {0};
  lsession_stat st;
  uint64_t now = 1800000000000ull;
  s_vmin = s_vmax = 2;
  s_session(&a, &b, true, 0, 0, 0);
  s_vmin = s_vmax = 0;
  session_start(a.sess, now);
  cr_assert_eq(s_next_type(&a, &hello), 0);
  cr_assert_eq(s_hello_version(&hello), 2);
  cr_assert_not_null(memmem(hello.p, hello.len, "\xa3min\x02", 5), "no \"min\": 2 in the HELLO");
  s_session(&b, &a, false, 0, 0, 0);
  s_rule_refused(&b, hello.p, hello.len, LINLI_EVERSION,
                 "no common protocol version: the peer speaks 2 to 2, this node 1 to 1");
  s_vmin = 1;
  s_vmax = 2;
  s_session(&b, &a, false, 0, 0, 0);
  s_vmin = s_vmax = 0;
  cr_assert_eq(session_recv(b.sess, hello.p, hello.len, now, &e), 0, "%s", e.msg);
  session_stat_get(b.sess, &st);
  cr_assert_eq(st.version, 2);
  cr_assert_eq(s_next_type(&b, &out), 0);
  cr_assert_eq(s_hello_version(&out), 2);
  cr_assert_null(memmem(out.p, out.len, "\xa3min", 4), "\"min\" sent for an oldest version of 1");
  cr_assert_eq(session_recv(a.sess, out.p, out.len, now, &e), 0, "%s", e.msg);
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.version, 2);
  lbuf_free(&hello);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

/* Runs the HELLO exchange between a (initiator) and b, one message each
 * way, and leaves both output queues empty. */
static void
s_hellos(node *a, node *b, uint64_t now)
{
  lbuf out;
  lbuf_init(&out);
  lerr e = {0};
  session_start(a->sess, now);
  cr_assert_eq(session_next_out(a->sess, &out, now, &e), 1);
  cr_assert_eq(session_recv(b->sess, out.p, out.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b->sess, &out, now, &e), 1);
  cr_assert_eq(session_recv(a->sess, out.p, out.len, now, &e), 0, "%s", e.msg);
  lbuf_free(&out);
}

/* The signed deltas of `n`'s own log from seq `from` on, as the DATA
 * message [1, msg_no, [deltas..., extra]] (extra: raw msgpack, may be
 * NULL). */
static void
s_data_from(lbuf *m, node *n, uint64_t from, uint64_t msg_no, const uint8_t *extra, size_t xn)
{
  lbuf body;
  lbuf_init(&body);
  uint32_t count = 0;
  uint64_t last = 0;
  lerr e = {0};
  cr_assert_eq(r_read(n->s, n->id.pk, from, 1u << 20, 1u << 20, &body, &count, &last, &e), 0,
               "%s", e.msg);
  cr_assert_gt(count, 0);
  lbuf_reset(m);
  mpw w;
  mpw_init(&w, m);
  mpw_array(&w, 3);
  mpw_uint(&w, 1);
  mpw_uint(&w, msg_no);
  mpw_array(&w, count + (extra != NULL));
  lbuf_put(m, body.p, body.len);
  if (extra)
    lbuf_put(m, extra, xn);
  lbuf_free(&body);
}

Test(session, a_malformed_delta_behind_a_gap_is_refused)
{
  /* The first delta does not connect (b holds nothing, it starts at seq
   * 11): apply stops there with a gap.  The ACK still names every delta's
   * author, so the second, which is no delta at all, must be found out
   * before, not read as one. */
  node a, b;
  s_node(&a, "ga", 1);
  s_node(&b, "gb", 2);
  s_write(&a, 20, 10, "v1");
  s_session(&a, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  uint64_t now = 1800000000000ull;
  s_hellos(&a, &b, now);
  const uint8_t not_a_delta[] = {0x92, 0x01, 0x02};
  lbuf m, out;
  lbuf_init(&m);
  lbuf_init(&out);
  s_data_from(&m, &a, 11, 1, not_a_delta, sizeof not_a_delta);
  lerr e = {0};
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), LINLI_EMALFORMED, "%s", e.msg);
  cr_assert(strstr(e.msg, "DATA: delta 1 is not a signed delta at byte") != NULL, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1);
  cr_assert_eq(out.p[1], 5, "no ERROR for the peer");
  /* the gap alone is no fault: an ACK that names the author at what b
   * holds (nothing) */
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  s_hellos(&a, &b, now);
  s_data_from(&m, &a, 11, 1, NULL, 0);
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1);
  const uint8_t ack_head[] = {0x95, 0x02, 0x01};
  cr_assert_eq(memcmp(out.p, ack_head, sizeof ack_head), 0);
  cr_assert_eq(s_ops(&b), 0);
  lbuf_free(&m);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

Test(session, the_ack_has_its_place_before_the_data_is_committed)
{
  /* b's answers are never read: its queue fills with ACKs.  The DATA that
   * finds no room for its ACK is refused before it is applied, never
   * committed and then left unacknowledged. */
  s_limits.answers = 16;
  node a, b;
  s_node(&a, "qa", 1);
  s_node(&b, "qb", 2);
  s_write(&a, 20, 10, "v1");
  s_session(&a, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  uint64_t now = 1800000000000ull;
  s_hellos(&a, &b, now);
  lbuf m1, m2, out;
  lbuf_init(&m1);
  lbuf_init(&m2);
  lbuf_init(&out);
  lerr e = {0};
  /* ops 1..10, again and again: every copy is owed an ACK */
  lbuf body;
  lbuf_init(&body);
  uint32_t count = 0;
  uint64_t last = 0;
  cr_assert_eq(r_read(a.s, a.id.pk, 1, 300, 300, &body, &count, &last, &e), 0, "%s", e.msg);
  cr_assert_eq(last, 10, "the first write alone");
  mpw w;
  mpw_init(&w, &m1);
  mpw_array(&w, 3);
  mpw_uint(&w, 1);
  mpw_uint(&w, 1);
  mpw_array(&w, count);
  lbuf_put(&m1, body.p, body.len);
  lbuf_free(&body);
  for (int i = 0; i < 16; i++)
    cr_assert_geq(session_recv(b.sess, m1.p, m1.len, now, &e), 0, "copy %d: %s", i, e.msg);
  cr_assert_eq(s_ops(&b), 10);
  /* ops 11..20: no room for their ACK */
  s_data_from(&m2, &a, 11, 2, NULL, 0);
  memset(&e, 0, sizeof e);
  cr_assert_eq(session_recv(b.sess, m2.p, m2.len, now, &e), LINLI_EFLOODED, "%d %s", e.code,
               e.msg);
  cr_assert(strstr(e.msg, "without reading the ACKs") != NULL, "%s", e.msg);
  cr_assert_eq(s_ops(&b), 10, "committed, and the peer is never told");
  /* the ERROR goes last, code 15 */
  int got = 0;
  while (session_next_out(b.sess, &out, now, &e) == 1)
    got++;
  cr_assert_eq(got, 16);
  cr_assert_eq(out.p[1], 5);
  cr_assert_eq(out.p[2], 17);
  lbuf_free(&m1);
  lbuf_free(&m2);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

static int
s_thead_cmp(const void *x, const void *y)
{
  return memcmp(((const thead *)x)->author, ((const thead *)y)->author, LINLI_PK_BYTES);
}

/* A HELLO from `from` (reply = true, no options) listing `n` authors no
 * one holds, random keys at seq 1..n, in author order. */
static void
s_flood_hello(lbuf *m, const node *from, uint32_t n, uint32_t seed)
{
  thead *h = calloc(n, sizeof *h);
  cr_assert_not_null(h);
  for (uint32_t i = 0; i < n; i++) {
    for (int k = 0; k < LINLI_PK_BYTES; k++)
      h[i].author[k] = (uint8_t)tu_rand(&seed);
    h[i].seq = i + 1;
  }
  qsort(h, n, sizeof *h, s_thead_cmp);
  s_hello_build(m, 1, from->id.pk, true, h, n, NULL, 0, false);
  free(h);
}

Test(session, a_hello_flood_keeps_no_state_per_listed_author)
{
  /* A child lists 21,000 authors it made up (a 1 MiB HELLO, within the
   * message bound): the parent keeps state only for what it holds and
   * counts the rest; the link still syncs. */
  node a, b;
  s_node(&a, "fa", 1);
  s_node(&b, "fb", 2);
  s_write(&a, 30, 10, "v1");
  s_write(&b, 30, 10, "v2");
  s_session(&b, &a, false, 0, 0, 0);
  lbuf m, out;
  lbuf_init(&m);
  lbuf_init(&out);
  const uint32_t n = 21000;
  s_flood_hello(&m, &a, n, 11);
  cr_assert_leq(m.len, SYNC_MAX_MESSAGE);
  cr_assert_gt(m.len, SYNC_MAX_MESSAGE - 100000);
  lerr e = {0};
  uint64_t now = 1800000000000ull;
  lbuf_reserve(&out, 4096);
  struct mallinfo2 mi0 = mallinfo2();
  double t0 = tu_secs();
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1); /* its answer */
  double t = tu_secs() - t0;
  struct mallinfo2 mi1 = mallinfo2();
  /* heap kept after the HELLO (glibc's count; a sanitizer's allocator
   * reports none, and then the state count alone is checked) */
  long kept = (long)mi1.uordblks - (long)mi0.uordblks;
  lsession_stat st;
  session_stat_get(b.sess, &st);
  cr_log_info("a HELLO of %zu bytes listing %u authors: %.1f ms, state kept for %u authors, "
              "%ld bytes of heap more, answer %zu bytes",
              m.len, n, t * 1e3, st.authors, kept, out.len);
  if (mi0.uordblks > 0)
    cr_assert_lt(kept, 64 << 10, "the HELLO left %ld bytes behind", kept);
  cr_assert_leq(st.authors, 1, "state for %u authors", st.authors);
  cr_assert_eq(st.ops_behind_in, (uint64_t)n * (n + 1) / 2);
  cr_assert_lt(out.len, 512, "the answer lists only what b holds");
  cr_assert_lt(t, 2.0);
  /* what b holds still goes to a */
  s_session(&a, &b, true, 0, 0, 0);
  wire w = {.seed = 1, .now = now};
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 100);
  s_assert_converged(&a, &b);
  /* beyond the limit on heads: refused as a flood, with an ERROR */
  s_limits.hello_heads = 20000;
  s_session(&b, &a, false, 0, 0, 0);
  memset(&e, 0, sizeof e);
  cr_assert_eq(session_recv(b.sess, m.p, m.len, now, &e), LINLI_EFLOODED);
  cr_assert_str_eq(e.msg, "HELLO lists 21000 heads, more than the 20000 allowed");
  cr_assert_eq(session_next_out(b.sess, &out, now, &e), 1);
  cr_assert_eq(out.p[1], 5);
  cr_assert_eq(out.p[2], 17);
  lbuf_free(&m);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
}

/* A signed delta of `id`'s log, seq 1 to 17 (17 `set`s of compressible
 * values, the last one sized), of exactly `target` bytes: one that linli
 * would not write itself. */
static void
s_big_delta(lbuf *out, const lident *id, size_t target)
{
  static char vals[17][65536];
  char keys[17][32];
  op o[17];
  uint32_t last_len = 20000;
  for (int round = 0; round < 8; round++) {
    uint8_t head[LINLI_HASH_BYTES] = {0};
    uint64_t seq = 0, hlc = hlc_make(1800000000000ull, 0);
    for (int i = 0; i < 17; i++) {
      snprintf(keys[i], sizeof keys[i], "hh/big/%d", i);
      memset(vals[i], 'a' + i, sizeof vals[i]);
      o[i] = (op){.kind = OP_SET, .key = keys[i], .key_len = (uint32_t)strlen(keys[i]),
                  .field = "note", .field_len = 4, .str = vals[i],
                  .str_len = i < 16 ? 64000 : last_len};
    }
    tu_delta(id, &seq, &hlc, head, o, 17, out, NULL);
    cr_assert(!out->oom);
    if (out->len == target)
      return;
    last_len = (uint32_t)((int64_t)last_len + (int64_t)target - (int64_t)out->len);
  }
  cr_assert_fail("no delta of %zu bytes", target);
}

/* Applies a delta straight to a store, as a node did before deltas were
 * bounded. */
static void
s_store_delta(node *n, const lbuf *d)
{
  lingest *g;
  lerr e = {0};
  cr_assert_eq(lstore_ingest_new(n->s, true, &g), 0);
  cr_assert_eq(lingest_add(g, d->p, d->len, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_commit(g, 1800000000000ull, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&g);
}

Test(session, every_delta_taken_in_can_be_passed_on_uncompressed)
{
  /* a -> b compressed, b -> c plain (c has no zstd): a delta of the
   * largest size allowed crosses both links, no message above 1 MiB. */
  node a, b, c;
  s_node(&a, "za", 1);
  s_node(&b, "zb", 2);
  s_node(&c, "zc", 3);
  lbuf d;
  lbuf_init(&d);
  s_big_delta(&d, &a.id, DELTA_MAX_BYTES);
  s_store_delta(&a, &d);
  wire w = {.seed = 1, .now = 1800000000000ull};
  s_sync(&a, &b, &w, 0, 0, 0, 100);
  cr_assert_gt(w.zdata[0], 0, "it went compressed");
  cr_assert_eq(s_ops(&b), 17);
  wire w2 = {.seed = 1, .now = 1800000000000ull};
  s_sync(&b, &c, &w2, 0, 0, LSESSION_COMPRESS_OFF, 100);
  cr_assert_eq(w2.zdata[0], 0);
  cr_assert_leq(w2.max_data[0], SYNC_MAX_MESSAGE);
  cr_assert_gt(w2.max_data[0], DELTA_MAX_BYTES);
  cr_assert_eq(s_ops(&c), 17);

  /* One byte more: a DATA (compressed, or it could not be sent at all)
   * holding it is refused, nothing applied. */
  s_big_delta(&d, &a.id, DELTA_MAX_BYTES + 1);
  lbuf m, f;
  lbuf_init(&m);
  lbuf_init(&f);
  mpw mw;
  lbuf_reset(&f);
  mpw_init(&mw, &f);
  mpw_array(&mw, 1);
  lbuf_put(&f, d.p, d.len);
  lbuf z;
  lbuf_init(&z);
  s_frame(&z, f.p, f.len, true);
  s_zdata(&m, z.p, z.len);
  node e;
  s_node(&e, "ze", 4);
  s_refused(&e, &a, 0, &m, 0, "a delta of 1048565 bytes, more than the 1048564");
  lbuf_free(&m);
  lbuf_free(&f);
  lbuf_free(&z);
  lbuf_free(&d);
  s_node_free(&a);
  s_node_free(&b);
  s_node_free(&c);
  s_node_free(&e);
}

/* `n` authors of one op each (keys from seeds 1000..), the same deltas
 * applied to every node given. */
static void
s_many_authors(node **nodes, int nn, uint32_t n)
{
  lingest *g[4];
  lerr e = {0};
  cr_assert_leq(nn, 4);
  for (int k = 0; k < nn; k++)
    cr_assert_eq(lstore_ingest_new(nodes[k]->s, true, &g[k]), 0);
  lbuf d;
  lbuf_init(&d);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t seed[LINLI_SEED_BYTES] = {0}, head[LINLI_HASH_BYTES] = {0};
    memcpy(seed, &i, sizeof i);
    seed[31] = 0x77;
    lident id;
    ident_from_seed(&id, seed);
    char key[32];
    snprintf(key, sizeof key, "hh/m/%u", i);
    op o = {.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "note",
            .field_len = 4, .str = "x", .str_len = 1};
    uint64_t seq = 0, hlc = hlc_make(1800000000000ull, 0);
    tu_delta(&id, &seq, &hlc, head, &o, 1, &d, NULL);
    for (int k = 0; k < nn; k++)
      cr_assert_eq(lingest_add(g[k], d.p, d.len, &e), 0, "%s", e.msg);
  }
  for (int k = 0; k < nn; k++) {
    cr_assert_eq(lingest_commit(g[k], 1800000000000ull, NULL, &e), 0, "%s", e.msg);
    lingest_destroy(&g[k]);
  }
  lbuf_free(&d);
}

Test(session, more_heads_than_one_message_holds_go_in_parts)
{
  /* 20,000 logs on both sides: a HELLO of about 1.1 MiB, more than any
   * message may be.  Each side sends its HELLO in two parts; the link
   * syncs, and then a new connection costs the HELLOs and nothing else. */
  node a, b;
  s_node(&a, "pa", 1);
  s_node(&b, "pb", 2);
  node *both[2] = {&a, &b};
  s_many_authors(both, 2, 24000);
  s_write(&a, 30, 10, "v1");
  s_write(&b, 30, 10, "v2");
  wire w = {.seed = 1, .now = 1800000000000ull};
  s_sync(&a, &b, &w, 0, 0, 0, 200);
  cr_assert_eq(w.hello9[0], 2, "a's HELLO in %llu parts", (unsigned long long)w.hello9[0]);
  cr_assert_eq(w.hello9[1], 2, "b's HELLO in %llu parts", (unsigned long long)w.hello9[1]);
  lsession_stat sa, sb;
  session_stat_get(a.sess, &sa);
  session_stat_get(b.sess, &sb);
  cr_assert_eq(sa.ops_sent, 30);
  cr_assert_eq(sb.ops_sent, 30);
  cr_assert_eq(sa.ops_behind_in + sa.ops_behind_out, 0);
  cr_assert_gt(sa.last_sync_ms, 0);
  cr_assert_eq(s_ops(&a), 24060);
  /* every message within the bound, parts delivered one by one */
  s_session(&a, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  session_start(a.sess, w.now);
  lbuf p0, p1, out;
  lbuf_init(&p0);
  lbuf_init(&p1);
  lbuf_init(&out);
  lerr e = {0};
  cr_assert_eq(session_next_out(a.sess, &p0, w.now, &e), 1);
  cr_assert_eq(session_next_out(a.sess, &p1, w.now, &e), 1);
  cr_assert_eq(session_next_out(a.sess, &out, w.now, &e), 0);
  cr_assert_leq(p0.len, SYNC_MAX_MESSAGE);
  cr_assert_leq(p1.len, SYNC_MAX_MESSAGE);
  cr_assert_gt(p0.len + p1.len, SYNC_MAX_MESSAGE, "%zu + %zu bytes", p0.len, p1.len);
  cr_assert_eq(s_kind(p0.p, p0.len), K_HELLO, "compression off, but parts need options");
  /* the second part alone, or the first twice, is out of order */
  memset(&e, 0, sizeof e);
  cr_assert_eq(session_recv(b.sess, p1.p, p1.len, w.now, &e), LINLI_EMALFORMED);
  cr_assert_str_eq(e.msg, "HELLO: part 1 of 2 does not follow the part before");
  s_session(&b, &a, false, 0, 0, LSESSION_COMPRESS_OFF);
  cr_assert_eq(session_recv(b.sess, p0.p, p0.len, w.now, &e), 0, "%s", e.msg);
  cr_assert_eq(session_next_out(b.sess, &out, w.now, &e), 0, "b answered half a HELLO");
  cr_assert_eq(session_recv(b.sess, p1.p, p1.len, w.now, &e), 0, "%s", e.msg);
  int answers = 0;
  while (session_next_out(b.sess, &out, w.now, &e) == 1) {
    cr_assert_leq(out.len, SYNC_MAX_MESSAGE);
    cr_assert_eq(s_kind(out.p, out.len), K_HELLO);
    cr_assert_eq(session_recv(a.sess, out.p, out.len, w.now, &e), 0, "%s", e.msg);
    answers++;
  }
  cr_assert_eq(answers, 2);
  cr_assert_eq(session_next_out(a.sess, &out, w.now, &e), 0, "in sync: no DATA");
  session_stat_get(b.sess, &sb);
  cr_assert_eq(sb.ops_behind_in + sb.ops_behind_out, 0);
  /* c holds nothing and asks for no options (compression off: the HELLO
   * of nodes from before options).  b's answer cannot fit one message:
   * it goes in parts all the same (an older node could not take it
   * whole either), and c gets every log. */
  node c;
  s_node(&c, "pc", 3);
  s_session(&c, &b, true, 0, 0, LSESSION_COMPRESS_OFF);
  s_session(&b, &c, false, 0, 0, 0);
  wire w2 = {.seed = 1, .now = w.now};
  session_start(c.sess, w2.now);
  s_pump(&c, &b, &w2, 2000);
  s_assert_converged(&c, &b);
  cr_assert_eq(w2.hello8[0], 1);
  cr_assert_eq(w2.hello9[1], 2);
  cr_assert_leq(w2.max_data[1], SYNC_MAX_MESSAGE);
  lbuf_free(&p0);
  lbuf_free(&p1);
  lbuf_free(&out);
  s_node_free(&a);
  s_node_free(&b);
  s_node_free(&c);
}

/* A link of 5,500 bytes/s each way (44 kbit/s) with 375 ms one way: the
 * sender starts small, measures the link from its ACKs and keeps each DATA
 * to about cfg.data_ms (2 s) of it, so nothing (a heartbeat, an ACK) waits
 * behind more than a few seconds of data, whatever its bound (1 MiB). */
Test(session, data_is_sized_to_the_measured_link)
{
  enum { RATE = 5500, DELAY = 375, QMAX = 2048 };
  node a, b;
  s_node(&a, "la", 1);
  s_node(&b, "lb", 2);
  s_write(&b, 3000, 50, "v2");
  s_session(&a, &b, true, 0, 0, 0);
  s_session(&b, &a, false, 0, SYNC_MAX_MESSAGE, LSESSION_COMPRESS_OFF);
  node *nodes[2] = {&a, &b};
  static lbuf q[2][QMAX]; /* q[side]: sent by side, in order */
  static uint64_t at[2][QMAX];
  uint32_t head[2] = {0, 0}, tail[2] = {0, 0};
  uint64_t now = 1800000000000ull, link_free[2] = {now, now};
  size_t sizes[QMAX];
  uint32_t ndata = 0;
  uint64_t first_busy = 0, data_time = 0;
  session_start(a.sess, now);
  for (int step = 0; step < 100000; step++) {
    for (int side = 0; side < 2; side++) {
      lbuf out;
      lbuf_init(&out);
      lerr e = {0};
      while (session_next_out(nodes[side]->sess, &out, now, &e) == 1) {
        cr_assert_lt(tail[side], QMAX);
        if (side == 1 && s_kind(out.p, out.len) == K_DATA) {
          sizes[ndata++] = out.len;
          if (first_busy == 0)
            first_busy = now;
        }
        uint64_t start = link_free[side] > now ? link_free[side] : now;
        link_free[side] = start + out.len * 1000u / RATE;
        at[side][tail[side]] = link_free[side] + DELAY;
        lbuf_init(&q[side][tail[side]]);
        lbuf_put(&q[side][tail[side]], out.p, out.len);
        tail[side]++;
      }
      lbuf_free(&out);
    }
    int next = -1;
    for (int side = 0; side < 2; side++)
      if (head[side] < tail[side] && (next < 0 || at[side][head[side]] < at[next][head[next]]))
        next = side;
    if (next < 0)
      break;
    if (at[next][head[next]] > now)
      now = at[next][head[next]];
    lerr e = {0};
    lbuf *m = &q[next][head[next]++];
    cr_assert_geq(session_recv(nodes[1 - next]->sess, m->p, m->len, now, &e), 0, "%s", e.msg);
    lbuf_free(m);
    data_time = now;
  }
  s_assert_converged(&a, &b);
  cr_assert_gt(ndata, 10, "%u DATA", ndata);
  /* a lone delta may pass a bound; these are about 3 KB each */
  cr_assert_leq(sizes[0], SYNC_LINK_START + 4096, "the first DATA: %zu bytes", sizes[0]);
  for (uint32_t i = 4; i < ndata; i++)
    cr_assert_leq(sizes[i], 3 * RATE + 4096, "DATA %u: %zu bytes, more than 3 s of the link", i,
                  sizes[i]);
  /* and the link is used: the transfer is within 30% of its bytes' time */
  uint64_t total = 0;
  for (uint32_t i = 0; i < ndata; i++)
    total += sizes[i];
  uint64_t ideal = total * 1000u / RATE;
  cr_assert_lt(data_time - first_busy, ideal * 13 / 10 + 2000, "%llu ms for %llu bytes",
               (unsigned long long)(data_time - first_busy), (unsigned long long)total);
  lsession_stat st;
  session_stat_get(b.sess, &st);
  cr_assert(st.link_rate > RATE / 2 && st.link_rate <= RATE * 11 / 10, "%llu bytes/s measured",
            (unsigned long long)st.link_rate);
  s_node_free(&a);
  s_node_free(&b);
}

/* ---- flights: how many one-way trips until the parent holds the ops ---- */

/* Hands everything `from` has to send now to `to` (one flight over the
 * link); returns the number of messages, *data those that were DATA. */
static int
s_flight(node *from, node *to, uint64_t now, int *data)
{
  static lbuf q[4096];
  int n = 0;
  lbuf out;
  lbuf_init(&out);
  lerr e = {0};
  int rc;
  while ((rc = session_next_out(from->sess, &out, now, &e)) == 1) {
    cr_assert_lt(n, 4096);
    int kind = s_kind(out.p, out.len);
    *data += kind == K_DATA || kind == K_ZDATA;
    lbuf_init(&q[n]);
    lbuf_put(&q[n], out.p, out.len);
    n++;
  }
  cr_assert_geq(rc, 0, "%s", e.msg);
  lbuf_free(&out);
  for (int i = 0; i < n; i++) {
    cr_assert_geq(session_recv(to->sess, q[i].p, q[i].len, now, &e), 0, "%s", e.msg);
    lbuf_free(&q[i]);
  }
  return n;
}

static uint64_t
s_held(node *n, const node *author)
{
  lhead h;
  return lstore_head(n->s, author->id.pk, &h, NULL) == 0 ? h.seq : 0;
}

/* Connects child c to parent p (a fresh session there) and counts the
 * flights, child first, until p holds `want` ops of c (0: never); then
 * runs the two until quiet.  *data_first: the DATA in the child's first
 * flight. */
static int
s_flights_to(node *c, node *p, uint64_t want, uint64_t *now, int *data_first)
{
  s_session(p, c, false, 0, 0, 0);
  session_start(c->sess, *now);
  node *from = c, *to = p;
  int done_at = 0, quiet = 0;
  *data_first = 0;
  for (int k = 0; k < 200 && quiet < 2; k++) {
    int data = 0;
    int n = s_flight(from, to, *now, &data);
    if (k == 0)
      *data_first = data;
    quiet = n == 0 ? quiet + 1 : 0;
    if (done_at == 0 && s_held(p, c) >= want)
      done_at = k + 1;
    node *t = from;
    from = to;
    to = t;
    *now += 10;
  }
  cr_assert_eq(quiet, 2, "the two never went quiet");
  return done_at;
}

Test(session, what_the_parent_lacked_goes_with_the_hello_of_a_new_connection)
{
  node c, p;
  s_node(&c, "fc", 1);
  s_node(&p, "fp", 2);
  s_write(&c, 50, 5, "v1");
  uint64_t now = 1800000000000ull;
  s_session(&c, &p, true, 0, 0, 0);
  int first = 0;
  /* A first connection: the child learns what the parent holds from its
   * HELLO, and its DATA goes in the very next flight: HELLO, HELLO, DATA. */
  int f = s_flights_to(&c, &p, 50, &now, &first);
  cr_assert_eq(s_held(&p, &c), 50);
  cr_assert_eq(first, 0, "DATA before the parent's heads were ever known");
  cr_assert_leq(f, 3, "%d flights until the parent held the ops, expected 3", f);
  /* The link drops; the child writes more; the same session connects
   * again: it knows what the parent held at the last sync, so the new ops
   * go with its HELLO, without waiting for the answer. */
  s_write(&c, 20, 5, "v1b");
  f = s_flights_to(&c, &p, 70, &now, &first);
  cr_assert_eq(s_held(&p, &c), 70);
  cr_assert_gt(first, 0, "no DATA with the HELLO of a new connection");
  cr_assert_eq(f, 1, "%d flights until the parent held the ops, expected 1", f);
  s_assert_converged(&c, &p);
  lsession_stat st;
  session_stat_get(c.sess, &st);
  cr_assert_eq(st.ops_sent, 70, "%llu ops sent for 70: sent again after the answer",
               (unsigned long long)st.ops_sent);
  cr_assert_eq(st.ops_behind_out, 0);
  s_node_free(&c);
  s_node_free(&p);
}

Test(session, a_parent_that_lost_what_it_held_gets_it_again_after_an_early_data)
{
  node c, p;
  s_node(&c, "gc", 1);
  s_node(&p, "gp", 2);
  s_write(&c, 50, 5, "v1");
  uint64_t now = 1800000000000ull;
  s_session(&c, &p, true, 0, 0, 0);
  int first = 0;
  s_flights_to(&c, &p, 50, &now, &first);
  cr_assert_eq(s_held(&p, &c), 50);
  /* The parent comes back from an empty disk with the same key: what the
   * child sends early does not connect, and the answer's heads repair it. */
  session_destroy(&p.sess);
  lstore_close(&p.s);
  tu_rmtree(p.path);
  lerr e = {0};
  cr_assert_eq(lstore_init(p.path, "fp", &p.id, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&p.s, p.path, NULL, &e), 0, "%s", e.msg);
  s_write(&c, 20, 5, "v1b");
  s_flights_to(&c, &p, 70, &now, &first);
  cr_assert_gt(first, 0);
  cr_assert_eq(s_held(&p, &c), 70);
  s_assert_converged(&c, &p);
  s_node_free(&c);
  s_node_free(&p);
}

/* Hands each side's output to the other until both are quiet (no timers);
 * returns how many HELLOs `a` sent. */
static int
s_quiet(node *a, node *b, uint64_t now)
{
  node *nodes[2] = {a, b};
  int hellos = 0;
  for (bool any = true; any;) {
    any = false;
    for (int side = 0; side < 2; side++) {
      lbuf out;
      lbuf_init(&out);
      lerr e = {0};
      while (session_next_out(nodes[side]->sess, &out, now, &e) == 1) {
        any = true;
        hellos += side == 0 && s_kind(out.p, out.len) == K_HELLO;
        cr_assert_geq(session_recv(nodes[1 - side]->sess, out.p, out.len, now, &e), 0, "%s",
                      e.msg);
      }
      lbuf_free(&out);
    }
  }
  return hellos;
}

Test(session, a_resync_asks_the_peers_heads_at_the_next_tick_and_hellos_are_counted)
{
  node a, b;
  s_node(&a, "ra", 1);
  s_node(&b, "rb", 2);
  s_write(&a, 30, 5, "v");
  wire w = {.seed = 5, .now = 1800000000000ull};
  s_sync(&a, &b, &w, 0, 0, 0, 1000);
  s_quiet(&a, &b, w.now);
  lsession_stat st;
  session_stat_get(a.sess, &st);
  uint64_t h0 = st.hellos_received;
  cr_assert_gt(h0, 0);
  /* A second later the anti-entropy HELLO is minutes away. */
  w.now += 1000;
  session_tick(a.sess, w.now);
  cr_assert_eq(s_quiet(&a, &b, w.now), 0, "a HELLO before its time");
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.hellos_received, h0);
  /* Asked for, it goes at the next tick, and the answer is counted. */
  session_resync(a.sess);
  w.now += 10;
  session_tick(a.sess, w.now);
  cr_assert_eq(s_quiet(&a, &b, w.now), 1);
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.hellos_received, h0 + 1);
  s_node_free(&a);
  s_node_free(&b);
}
