/*
 * test_session.c - sync/session: two sessions wired together in memory over
 * real stores, with a fake clock.  Convergence, the already-in-sync round
 * trip, lost / duplicated / reordered messages, a restart in the middle of a
 * transfer, a backlog far larger than the window, and hostile messages.
 */
#include "crdt/hlc.h"
#include "node/store.h"
#include "sync/session.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  return lstore_fork_get(ctx, i, out, e);
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
  cr_assert_eq(lstore_init(n->path, tag, &n->id, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&n->s, n->path, NULL, &e), 0, "%s", e.msg);
}

static void
s_node_free(node *n)
{
  session_destroy(&n->sess);
  lstore_close(&n->s);
  tu_rmtree(n->dir);
  free(n->dir);
}

static void
s_session(node *n, const node *peer, bool initiator, uint32_t window, uint32_t maxmsg)
{
  lsession_cfg cfg = {.initiator = initiator, .window = window, .max_message = maxmsg};
  memcpy(cfg.self, n->id.pk, LINLI_PK_BYTES);
  memcpy(cfg.peer, peer->id.pk, LINLI_PK_BYTES);
  lrepl r = {.ctx = n->s, .heads = r_heads, .read = r_read, .apply = r_apply,
             .classify = r_classify, .fork_count = r_fork_count, .fork_get = r_fork_get,
             .fork_put = r_fork_put};
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
  uint32_t seed;
  uint64_t now;
  uint64_t msgs, bytes[2];
  uint32_t max_inflight[2];
} wire;

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
  s_session(&a, &b, true, 0, 0);
  s_session(&b, &a, false, 0, 0);
  wire w = {.seed = 1, .now = 1800000000000ull};
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 1000);
  s_assert_converged(&a, &b);
  lsession_stat st;
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.ops_behind_out, 0);
  cr_assert_eq(st.ops_behind_in, 0);
  cr_assert_gt(st.last_sync_ms, 0);
  cr_assert_eq(st.ops_sent, 600);
  cr_assert_eq(st.ops_received, 40);
  /* a new connection between replicas in sync: HELLO each way, no DATA */
  s_session(&a, &b, true, 0, 0);
  s_session(&b, &a, false, 0, 0);
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
    s_session(&a, &b, true, 16384, 4096);
    s_session(&b, &a, false, 16384, 4096);
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
  node a, b;
  s_node(&a, "ra", 1);
  s_node(&b, "rb", 2);
  s_write(&a, 2000, 20, "v1");
  s_session(&a, &b, true, 32768, 8192);
  s_session(&b, &a, false, 32768, 8192);
  wire w = {.seed = 3, .now = 1800000000000ull};
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 6); /* part of the transfer */
  lstore_stat half;
  lerr e = {0};
  cr_assert_eq(lstore_stat_get(b.s, &half, &e), 0);
  cr_assert_gt(half.ops, 0);
  cr_assert_lt(half.ops, 2000);
  /* the receiver dies and comes back: store closed and reopened */
  session_destroy(&b.sess);
  lstore_close(&b.s);
  cr_assert_eq(lstore_open(&b.s, b.path, NULL, &e), 0, "%s", e.msg);
  s_session(&a, &b, true, 32768, 8192);
  s_session(&b, &a, false, 32768, 8192);
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 1000);
  s_assert_converged(&a, &b);
  lsession_stat st;
  session_stat_get(a.sess, &st);
  cr_assert_eq(st.ops_sent, 2000 - half.ops, "sent %llu after the restart, %llu were missing",
               (unsigned long long)st.ops_sent, (unsigned long long)(2000 - half.ops));
  s_node_free(&a);
  s_node_free(&b);
}

Test(session, backlog_larger_than_the_window_stays_within_it)
{
  node a, b;
  s_node(&a, "wa", 1);
  s_node(&b, "wb", 2);
  s_write(&a, 6000, 50, "v1"); /* several hundred KiB */
  const uint32_t window = 20000, maxmsg = 4096;
  s_session(&a, &b, true, window, maxmsg);
  s_session(&b, &a, false, window, maxmsg);
  wire w = {.seed = 3, .now = 1800000000000ull};
  session_start(a.sess, w.now);
  s_pump(&a, &b, &w, 5000);
  s_assert_converged(&a, &b);
  /* b's window bounds what a has in flight (plus one delta over a message) */
  cr_assert_leq(w.max_inflight[0], window + 8192);
  cr_assert_gt(w.bytes[0], 10 * window);
  s_node_free(&a);
  s_node_free(&b);
}

Test(session, hostile_messages_are_refused_and_apply_nothing)
{
  node a, b;
  s_node(&a, "ha", 1);
  s_node(&b, "hb", 2);
  s_write(&a, 30, 10, "v1");
  s_session(&a, &b, true, 0, 0);
  s_session(&b, &a, false, 0, 0);
  wire w = {.seed = 3, .now = 1800000000000ull};
  lerr e = {0};
  /* garbage and truncated HELLOs */
  const uint8_t junk[] = {0x93, 0x00, 0xa3, 'x', 'y', 'z', 0xc1};
  cr_assert_lt(session_recv(b.sess, junk, sizeof junk, w.now, &e), 0);
  cr_assert_lt(session_recv(b.sess, junk, 0, w.now, &e), 0);
  /* DATA before HELLO */
  const uint8_t data0[] = {0x93, 0x01, 0x01, 0x90};
  cr_assert_lt(session_recv(b.sess, data0, sizeof data0, w.now, &e), 0);
  /* a real exchange, with a byte flipped in every DATA message */
  s_session(&b, &a, false, 0, 0);
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
  s_session(&b, &a, false, 0, 0);
  s_session(&a, &b, true, 0, 0);
  node c;
  s_node(&c, "hc", 3);
  s_session(&c, &b, true, 0, 0);
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
  s_session(&child, &parent, true, 0, 0);
  s_session(&parent, &child, false, 0, 0);
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
  cr_assert_eq(lstore_export(from->s, NULL, 1 << 20, s_copy_emit, g, NULL, &e), 0, "%s", e.msg);
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
  s_session(&a, &b, true, 0, 0);
  s_session(&b, &a, false, 0, 0);
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
