/* corpus_gen.c - writes the valid part of the fuzz corpus, and a few edge
 * cases, from the fixtures and the real encoders:
 *
 *   fuzz_corpus_gen tests/fuzz/corpus
 *
 * Everything is deterministic (fixed keys and times, ed25519 signatures
 * are), so running it again rewrites the same files; inputs that fuzzing
 * found are kept next to them under their own names (crash-*). */
#include "fuzz.h"
#include "sync/bundle.h"
#include "sync/summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root_dir;
static int nfiles;

static void
s_write(const char *target, const char *name, const uint8_t *p, size_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root_dir, target);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "fuzz_corpus_gen: cannot make %s: %s\n", path, strerror(errno));
    exit(1);
  }
  snprintf(path, sizeof path, "%s/%s/%s", root_dir, target, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
    fprintf(stderr, "fuzz_corpus_gen: cannot write %s\n", path);
    exit(1);
  }
  nfiles++;
}

static void
s_write_buf(const char *target, const char *name, const lbuf *b)
{
  if (b->oom)
    abort();
  s_write(target, name, b->p, b->len);
}

/* The same bytes after a one-byte selector (the trust target's mode). */
static void
s_write_sel(const char *target, const char *name, uint8_t sel, const lbuf *b)
{
  lbuf t;
  lbuf_init(&t);
  lbuf_put(&t, &sel, 1);
  lbuf_put(&t, b->p, b->len);
  s_write_buf(target, name, &t);
  lbuf_free(&t);
}

static void
s_deltas(const fx *f)
{
  static const struct { const char *name; int log; uint32_t first, last; } d[] = {
    {"village-1-7", 0, 1, 7}, {"village-1-1", 0, 1, 1}, {"village-2-4", 0, 2, 4},
    {"village-5-5", 0, 5, 5}, {"village-6-7", 0, 6, 7}, {"street-1-3", 1, 1, 3},
    {"street-3-3", 1, 3, 3},  {"other-1-2", 2, 1, 2},
  };
  const fx_log *logs[] = {&f->village, &f->street, &f->other};
  lbuf b;
  lbuf_init(&b);
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
    lbuf_reset(&b);
    fx_delta(logs[d[i].log], d[i].first, d[i].last, &b);
    s_write_buf("delta", d[i].name, &b);
    s_write_sel("trust", d[i].name, 3, &b);
  }
  /* edge cases: cut short, one byte too many, nothing */
  lbuf_reset(&b);
  fx_delta(&f->village, 1, 7, &b);
  s_write("delta", "edge-truncated", b.p, b.len / 2);
  lbuf_put(&b, "\xc0", 1);
  s_write_buf("delta", "edge-trailing-byte", &b);
  s_write("delta", "edge-empty", NULL, 0);
  lbuf_free(&b);
}

static void
s_summaries(const fx *f)
{
  lhead_ref heads[3];
  const fx_log *logs[] = {&f->village, &f->street, &f->other};
  for (int i = 0; i < 3; i++) {
    memcpy(heads[i].author, logs[i]->id->pk, LINLI_PK_BYTES);
    heads[i].seq = logs[i]->n;
    memcpy(heads[i].hash, logs[i]->h[logs[i]->n], LINLI_HASH_BYTES);
  }
  lsummary s = {.created_ms = FX_NOW, .n = 3, .heads = heads};
  memcpy(s.node, f->k.street.pk, LINLI_PK_BYTES);
  if (summary_sort(&s) != 0)
    abort();
  lbuf b;
  lbuf_init(&b);
  summary_encode(&s, &b);
  s_write_buf("summary", "three-authors", &b);
  s_write("summary", "edge-truncated", b.p, b.len - 1);
  lbuf_reset(&b);
  s.n = 1;
  summary_encode(&s, &b);
  s_write_buf("summary", "one-author", &b);
  lbuf_reset(&b);
  s.n = 0;
  summary_encode(&s, &b);
  s_write_buf("summary", "empty", &b);
  lbuf_free(&b);
}

static void
s_bundle(const fx *f, const char *name, const uint8_t *for_node, int ndeltas, size_t cut,
         bool fork)
{
  lbuf b, d;
  lbuf_init(&b);
  lbuf_init(&d);
  bundle_writer w;
  bundle_write_begin(&w, &b, f->k.street.pk, FX_NOW, for_node);
  if (fork) {
    fx_fork(f, &d);
    bundle_write_fork(&w, &b, d.p, d.len);
  }
  const fx_log *logs[] = {&f->village, &f->street, &f->other};
  for (int i = 0; i < ndeltas; i++) {
    lbuf_reset(&d);
    fx_delta(logs[i % 3], 1, logs[i % 3]->n, &d);
    bundle_write_delta(&w, &b, d.p, d.len);
  }
  bundle_write_end(&w, &b, &f->k.street);
  s_write("bundle", name, b.p, cut ? cut : b.len);
  lbuf_free(&b);
  lbuf_free(&d);
}

static void
s_trust(const fx *f)
{
  lbuf b;
  lbuf_init(&b);
  chain_encode(&b, &f->k.vchain);
  s_write_sel("trust", "chain-village", 0, &b);
  lbuf_reset(&b);
  chain_encode(&b, &f->k.schain);
  s_write_sel("trust", "chain-street", 0, &b);
  /* the same as it travels: hex inside the certificate op */
  s_write("trust", "edge-hex-empty", (const uint8_t *)"\x04", 1);
  lbuf t;
  lbuf_init(&t);
  lbuf_put(&t, "\x04", 1);
  lbuf_put(&t, f->village.chain_hex.p, f->village.chain_hex.len - 1);
  s_write_buf("trust", "hex-chain-village", &t);
  lbuf_reset(&t);
  lbuf_put(&t, "\x01", 1);
  uint8_t *raw;
  size_t rl;
  if (trust_unhex((const char *)f->street.revoke_hex.p, f->street.revoke_hex.len - 1, &raw, &rl,
                  NULL) != 0)
    abort();
  lbuf_put(&t, raw, rl);
  free(raw);
  s_write_buf("trust", "revocation", &t);
  lbuf_reset(&b);
  fx_fork(f, &b);
  s_write_sel("trust", "fork", 2, &b);
  lbuf_free(&t);
  lbuf_free(&b);
}

/* ---- session: what a real peer sends ---- */

#define REC_MAX 256
typedef struct rec {
  lbuf m[REC_MAX];
  uint32_t n;
} rec;

/* Every message both ways until neither has more; what `p` sends to `t`
 * is recorded. */
static void
s_pump(fx_sess *s, rec *r)
{
  for (int round = 0; round < 400; round++) {
    bool moved = false;
    if (session_next_out(s->t, &s->msg, s->now, NULL) == 1) {
      moved = true;
      if (session_recv(s->p, s->msg.p, s->msg.len, s->now, NULL) < 0)
        abort();
    }
    if (session_next_out(s->p, &s->msg, s->now, NULL) == 1) {
      moved = true;
      if (r->n < REC_MAX)
        lbuf_put(&r->m[r->n++], s->msg.p, s->msg.len);
      if (session_recv(s->t, s->msg.p, s->msg.len, s->now, NULL) < 0)
        abort();
    }
    s->now += 10;
    if (!moved)
      return;
  }
}

static void
s_put_msg(lbuf *b, const uint8_t *p, size_t n)
{
  uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
  if (n > 0xffff)
    abort();
  lbuf_put(b, len, 2);
  lbuf_put(b, p, n);
}

static const char *kind_names[] = {"hello", "data", "ack", "ping", "pong", "error", "fork"};

static void
s_session(uint8_t flags, const char *tag)
{
  const fx *f = fx_get();
  fx_sess *s = fx_sess_open(flags);
  if (s->p == NULL) {
    /* no HELLO yet: the peer starts from nothing as well */
    fx_repl_peer(&s->pr);
    lsession_cfg pc = fx_session_cfg(f, flags, false);
    lrepl pcb = fx_repl_callbacks(&s->pr);
    s->p = session_new(&pc, &pcb);
    session_start(s->p, s->now);
  }
  rec r;
  memset(&r, 0, sizeof r);
  s_pump(s, &r);
  /* idle: PING and PONG, then the anti-entropy HELLO */
  s->now += 6000;
  session_tick(s->t, s->now);
  session_tick(s->p, s->now);
  s_pump(s, &r);
  s->now += 6 * 60 * 1000;
  session_tick(s->t, s->now);
  session_tick(s->p, s->now);
  s_pump(s, &r);
  /* the whole conversation, then each message type on its own */
  lbuf b;
  lbuf_init(&b);
  lbuf_put(&b, &flags, 1);
  for (uint32_t i = 0; i < r.n; i++)
    s_put_msg(&b, r.m[i].p, r.m[i].len);
  char name[64];
  snprintf(name, sizeof name, "%s-all", tag);
  s_write_buf("session", name, &b);
  bool seen[7] = {0};
  for (uint32_t i = 0; i < r.n; i++) {
    int k = fx_msg_kind(r.m[i].p, r.m[i].len);
    if (k < 0 || k > 6 || seen[k])
      continue;
    seen[k] = true;
    lbuf_reset(&b);
    lbuf_put(&b, &flags, 1);
    s_put_msg(&b, r.m[i].p, r.m[i].len);
    snprintf(name, sizeof name, "%s-%s", tag, kind_names[k]);
    s_write_buf("session", name, &b);
    /* the same after a long silence in which local data changed */
    if (k == 3 && flags == FX_SESS_HELLO) {
      b.p[1] |= FX_SESS_PAUSE >> 8;
      s_write_buf("session", "hello-pause-ping", &b);
    }
  }
  /* an ERROR, as a session sends it to a peer that broke the protocol */
  if (flags == FX_SESS_HELLO) {
    static const uint8_t bad[] = {0x92, 0x07, 0x00};
    if (session_recv(s->p, bad, sizeof bad, s->now, NULL) >= 0 ||
        session_next_out(s->p, &s->msg, s->now, NULL) != 1 ||
        fx_msg_kind(s->msg.p, s->msg.len) != 5)
      abort();
    lbuf_reset(&b);
    lbuf_put(&b, &flags, 1);
    s_put_msg(&b, s->msg.p, s->msg.len);
    s_write_buf("session", "hello-error", &b);
  }
  for (uint32_t i = 0; i < REC_MAX; i++)
    lbuf_free(&r.m[i]);
  lbuf_free(&b);
  fx_sess_close(&s);
}

static const char *configs[][2] = {
  {"street", "# 金阊街道 street node\n"
             "name     = 金阊街道\n"
             "role     = street\n"
             "data     = /var/lib/linli/jinchang\n"
             "listen   = tcp://0.0.0.0:7401\n"
             "parent   = tcp://10.2.0.1:7401 "
             "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c 姑苏区\n"
             "child    = 8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394 "
             "石路社区\n"
             "child    = ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1 "
             "三乡社区\n"
             "log_level = info\n"},
  {"village", "\xef\xbb\xbfname = 石路社区\r\nrole = village\r\ndata = data\r\n"
              "parent = tcp://[::1]:7401 "
              "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c\r\n"
              "control = ipc:///run/linli/control.sock\r\nprofile = village\r\n"
              "compress = off\r\n"},
  {"district", "name = 姑苏区 #1\nrole = district\ndata = /srv/linli\n"
               "listen = tcp://*:7401\nprofile = district\ncompress = 19\nlog_level = debug\n"
               "child = 8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394 x\n"},
  {"device", "name=tablet\nrole=device\ndata=./d\n"
             "parent=ipc:///tmp/p.sock "
             "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394\n"},
  {"edge-repeated-child",
   "name = a\nrole = street\ndata = /d\nlisten = tcp://0.0.0.0:1\n"
   "child = 8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394 x\n"
   "child = 8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394 y\n"},
  {"edge-bad-port", "name = a\nrole = district\ndata = /d\nlisten = tcp://h:99999\n"},
  {"edge-unknown-key", "name = a\nrole = district\ndata = /d\ncolour = blue\n"},
  {"edge-no-newline", "name = a\nrole = district\ndata = /d"},
  {"edge-empty", ""},
};

int
main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: fuzz_corpus_gen tests/fuzz/corpus\n");
    return 2;
  }
  root_dir = argv[1];
  const fx *f = fx_get();
  s_deltas(f);
  s_summaries(f);
  s_bundle(f, "three-logs", NULL, 3, 0, false);
  s_bundle(f, "for-node", f->k.village.pk, 1, 0, false);
  s_bundle(f, "no-deltas", NULL, 0, 0, false);
  s_bundle(f, "fork-evidence", NULL, 2, 0, true);
  s_bundle(f, "edge-truncated", NULL, 3, 200, false);
  s_trust(f);
  s_session(FX_SESS_HELLO, "hello");
  s_session(FX_SESS_HELLO | FX_SESS_INITIATOR, "hello-initiator");
  s_session(FX_SESS_HELLO | FX_SESS_PLAIN, "hello-plain");
  s_session(FX_SESS_HELLO | FX_SESS_SMALL | FX_SESS_UNSENT, "hello-small");
  s_session(0, "nohello");
  s_session(FX_SESS_INITIATOR | FX_SESS_PLAIN, "nohello-initiator");
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
    s_write("config", configs[i][0], (const uint8_t *)configs[i][1], strlen(configs[i][1]));
  printf("fuzz_corpus_gen: %d files under %s\n", nfiles, root_dir);
  return 0;
}
