/*
 * linli-bench - linli measured on the village workload.
 *
 * The workload (defined in docs/BENCHMARKS.md and shared by every system we
 * compare with): one mulberry32 stream seeded 42; 100 authors v000..v099,
 * each writing 10,000 register ops in 100 signed deltas of 100; per op a
 * record hh/<author>/<k>, one of 8 fields and a 12-24 character value.  The
 * FNV-1a checksum over "<record>\t<field>\t<value>\n" of every op lets
 * anyone confirm the data is the same (59157634 at full size).
 *
 * Scenarios so far: ingest (a fresh district store verifies, applies and
 * durably stores every delta; 1,000 random fields are read back and
 * checked); sync-bytes (replica Y holds the first 90 of each author's 100
 * deltas, X all of them; the two sync through the real protocol sessions
 * wired in memory, and every message's bytes are counted: exactly the
 * ZeroMQ payloads), once with DATA compressed as by default and once
 * without (sync-bytes-raw); in-sync (a new connection between the two, now
 * equal); catch-up and village (real linli-node processes, daemons.c).
 * Output: a table, or with --json one object per line.
 */
#include "crdt/hlc.h"
#include "crdt/trust.h"
#include "node/replica.h"
#include "node/store.h"
#include "sync/session.h"
#include "tools/bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *const s_fields[8] = {"name", "phone",      "address", "members",
                                        "note", "status",     "updated_by", "remark"};
static const char s_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static uint32_t
s_mulberry(uint32_t *a)
{
  uint32_t t = (*a += 0x6D2B79F5u);
  t = (t ^ t >> 15) * (t | 1);
  t ^= t + (t ^ t >> 7) * (t | 61);
  return t ^ t >> 14;
}

static uint32_t
s_uniform(uint32_t *a, uint32_t n)
{
  return (uint32_t)(((uint64_t)s_mulberry(a) * n) >> 32);
}

static uint32_t
s_fnv(uint32_t h, const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

static double
s_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds used by the whole process, every thread (RocksDB's flushes
 * included): on a busy machine a steadier figure than the wall clock. */
static double
s_cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
s_peak_rss_mb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

/* The value each (author, k, field) holds at the end, for the read-back. */
typedef struct expect {
  char key[32];
  uint8_t field;
  char value[32];
} expect;

/* The certificate op that opens author `id`'s log when the workload is
 * generated under a trust root: a village certificate for "hh/<name>/",
 * issued by the root itself.  `hex` receives the value (owned by caller). */
static op
s_cert_op(const lident *root, const lident *id, const char *name, uint64_t hlc, lbuf *hex,
          char *key)
{
  lchain ch;
  memset(&ch, 0, sizeof ch);
  lcert *c = &ch.c[0];
  memcpy(c->subject, id->pk, LINLI_PK_BYTES);
  snprintf(c->name, sizeof c->name, "%s", name);
  c->role = ROLE_VILLAGE;
  snprintf(c->prefix, sizeof c->prefix, "hh/%s/", name);
  c->not_before = 0;
  c->not_after = 4102444800000ull; /* 2100-01-01 */
  cert_sign(c, root);
  ch.n = 1;
  lbuf raw;
  lbuf_init(&raw);
  chain_encode(&raw, &ch);
  lbuf_reset(hex);
  trust_hex(hex, raw.p, raw.len);
  lbuf_free(&raw);
  size_t kl = trust_key(key, TRUST_CERT_PREFIX, id->pk);
  return (op){.seq = 1, .hlc = hlc, .kind = OP_SET, .key = key, .key_len = (uint32_t)kl,
              .field = TRUST_CHAIN_FIELD, .field_len = (uint32_t)strlen(TRUST_CHAIN_FIELD),
              .str = (const char *)hex->p, .str_len = (uint32_t)hex->len};
}

/* Generates the workload.  With `root`, every author's log opens with its
 * certificate (one more op per author, before the workload's; the
 * checksum covers the workload's ops only). */
static void
s_generate(workload *w, expect *ex, uint32_t nex, const lident *root)
{
  lbuf certhex;
  lbuf_init(&certhex);
  char certkey[96];
  uint32_t st = 42, h = 2166136261u;
  uint32_t per = w->ops_per_author / w->batch;
  w->ndeltas = w->authors * per;
  w->deltas = calloc(w->ndeltas, sizeof *w->deltas);
  op *ops = calloc(w->batch + 1, sizeof *ops);
  char (*keys)[32] = calloc(w->batch, 32);
  char (*vals)[32] = calloc(w->batch, 32);
  lbuf scratch;
  lbuf_init(&scratch);
  /* The read-back sample: nex (author, record, field) triples chosen up
   * front; slot[] maps each triple to its sample entry. */
  int32_t *slot = malloc((size_t)w->authors * 8000 * sizeof *slot);
  memset(slot, 0xff, (size_t)w->authors * 8000 * sizeof *slot);
  uint32_t exseed = 7;
  for (uint32_t q = 0; q < nex; q++) {
    uint32_t a = s_uniform(&exseed, w->authors), k = s_uniform(&exseed, 1000),
             f = s_uniform(&exseed, 8);
    slot[(size_t)a * 8000 + k * 8 + f] = (int32_t)q;
    snprintf(ex[q].key, sizeof ex[q].key, "hh/v%03u/%u", a, k);
    ex[q].field = (uint8_t)f;
  }
  for (uint32_t a = 0; a < w->authors; a++) {
    char name[16];
    snprintf(name, sizeof name, "v%03u", a);
    uint8_t seed[LINLI_SEED_BYTES];
    linli_hash(seed, (const uint8_t *)name, strlen(name));
    lident id;
    ident_from_seed(&id, seed);
    uint8_t head[LINLI_HASH_BYTES] = {0};
    uint64_t seq = 0;
    for (uint32_t b = 0; b < per; b++) {
      uint8_t prev[LINLI_HASH_BYTES];
      memcpy(prev, head, sizeof prev);
      op *wops = ops;     /* the workload's ops of this delta */
      if (root && b == 0) {
        ops[0] = s_cert_op(root, &id, name, hlc_make(1764300000000ull + a, 0) - 1, &certhex,
                           certkey);
        op_hash(head, head, id.pk, &ops[0], &scratch);
        seq = 1;
        wops = ops + 1;
      }
      for (uint32_t i = 0; i < w->batch; i++) {
        uint32_t k = s_uniform(&st, 1000), f = s_uniform(&st, 8), len = 12 + s_uniform(&st, 13);
        snprintf(keys[i], 32, "hh/%s/%u", name, k);
        for (uint32_t c = 0; c < len; c++)
          vals[i][c] = s_alphabet[s_uniform(&st, 62)];
        vals[i][len] = '\0';
        h = s_fnv(h, keys[i], strlen(keys[i]));
        h = s_fnv(h, "\t", 1);
        h = s_fnv(h, s_fields[f], strlen(s_fields[f]));
        h = s_fnv(h, "\t", 1);
        h = s_fnv(h, vals[i], len);
        h = s_fnv(h, "\n", 1);
        wops[i] = (op){.seq = ++seq,
                      .hlc = hlc_make(1764300000000ull + (uint64_t)b * 60000 + a, i),
                      .kind = OP_SET, .key = keys[i], .key_len = (uint32_t)strlen(keys[i]),
                      .field = s_fields[f], .field_len = (uint32_t)strlen(s_fields[f]),
                      .str = vals[i], .str_len = len};
        op_hash(head, head, id.pk, &wops[i], &scratch);
        int32_t q = slot[(size_t)a * 8000 + k * 8 + f];
        if (q >= 0)
          memcpy(ex[q].value, vals[i], len + 1); /* the last write wins */
        if (a == 0 && seq <= 5 && getenv("LINLI_BENCH_SHOW"))
          fprintf(stderr, "%s\t%s\t%s\n", keys[i], s_fields[f], vals[i]);
      }
      uint8_t sig[LINLI_SIG_BYTES];
      head_sign(&id, seq, head, sig);
      lbuf *d = &w->deltas[a * per + b];
      lbuf_init(d);
      uint32_t nops = w->batch + (uint32_t)(wops - ops);
      delta_encode(d, id.pk, seq - nops + 1, prev, ops, nops, sig);
    }
    ident_wipe(&id);
  }
  free(slot);
  w->checksum = h;
  w->ops = (uint64_t)w->authors * w->ops_per_author;
  lbuf_free(&certhex);
  lbuf_free(&scratch);
  free(ops);
  free(keys);
  free(vals);
}

static int
s_ingest(workload *w, const expect *ex, uint32_t nex, bool json, double *ops_s)
{
  char dir[] = "/tmp/linli-bench-XXXXXX";
  if (mkdtemp(dir) == NULL)
    return 1;
  char path[64];
  snprintf(path, sizeof path, "%s/d", dir);
  lerr e = {0};
  lstore *s;
  lstore_opts o = {.profile = LSTORE_DISTRICT};
  if (lstore_init(path, "bench", NULL, NULL, &e) || lstore_open(&s, path, &o, &e)) {
    fprintf(stderr, "linli-bench: %s\n", e.msg);
    return 1;
  }
  double t0 = s_now(), cpu0 = s_cpu_s(), t_add = 0, t_commit = 0;
  lingest *g;
  lstore_ingest_new(s, true, &g);
  for (uint32_t i = 0; i < w->ndeltas; i++) {
    double ta = s_now();
    int arc = lingest_add(g, w->deltas[i].p, w->deltas[i].len, &e);
    t_add += s_now() - ta;
    if (arc != 0) {
      fprintf(stderr, "linli-bench: ingest: %s\n", e.msg);
      return 1;
    }
    if (lingest_count(g) == w->group || i + 1 == w->ndeltas) {
      double tc = s_now();
      int crc = lingest_commit(g, 1800000000000ull, NULL, &e);
      t_commit += s_now() - tc;
      if (crc != 0) {
        fprintf(stderr, "linli-bench: commit: %s\n", e.msg);
        return 1;
      }
    }
  }
  lingest_destroy(&g);
  double secs = s_now() - t0, cpu = s_cpu_s() - cpu0;
  /* read back */
  int bad = 0;
  for (uint32_t q = 0; q < nex; q++) {
    if (ex[q].value[0] == '\0')
      continue; /* never written */
    rec *r;
    if (lstore_get(s, ex[q].key, strlen(ex[q].key), &r, &e) != 0) {
      bad++;
      continue;
    }
    const char *fn = s_fields[ex[q].field];
    const rfield *f = rec_field(r, fn, strlen(fn), FK_REGISTER);
    if (f == NULL || f->nents != 1 || f->ents[0].s_len != strlen(ex[q].value) ||
        memcmp(f->ents[0].s, ex[q].value, f->ents[0].s_len) != 0)
      bad++;
    rec_destroy(&r);
  }
  lstore_close(&s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "linli-bench: could not remove %s\n", dir);
  if (bad) {
    fprintf(stderr, "linli-bench: ingest: %d fields read back wrong\n", bad);
    return 1;
  }
  *ops_s = (double)w->ops / secs;
  if (json)
    printf("{\"scenario\":\"ingest\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
           "\"peak_rss_mb\":%.1f,\"verify_seconds\":%.3f,\"apply_seconds\":%.3f,"
           "\"cpu_seconds\":%.3f,\"group_deltas\":%u,\"checksum\":\"%08x\"}\n",
           (unsigned long long)w->ops, secs, *ops_s, s_peak_rss_mb(), t_add, t_commit, cpu,
           w->group, w->checksum);
  else
    printf("%-14s %10llu ops %8.3f s %12.0f ops/s  peak RSS %6.1f MB  (decode+verify %.2f s, "
           "apply+write %.2f s, cpu %.2f s, %u deltas per commit)  checksum %08x\n",
           "ingest", (unsigned long long)w->ops, secs, *ops_s, s_peak_rss_mb(), t_add, t_commit,
           cpu, w->group, w->checksum);
  return 0;
}

/* A store filled with the deltas for which keep(author, batch) is true. */
static lstore *
s_filled(const char *path, workload *w, uint32_t keep_batches, lerr *e)
{
  lstore *s;
  lstore_opts o = {.profile = LSTORE_DISTRICT};
  if (lstore_init(path, "bench", NULL, NULL, e) || lstore_open(&s, path, &o, e))
    return NULL;
  uint32_t per = w->ops_per_author / w->batch;
  lingest *g;
  lstore_ingest_new(s, true, &g);
  for (uint32_t i = 0; i < w->ndeltas; i++) {
    if (i % per >= keep_batches)
      continue;
    if (lingest_add(g, w->deltas[i].p, w->deltas[i].len, e) != 0 ||
        (lingest_count(g) == 1000 && lingest_commit(g, 1800000000000ull, NULL, e) != 0)) {
      lingest_destroy(&g);
      lstore_close(&s);
      return NULL;
    }
  }
  int rc = lingest_commit(g, 1800000000000ull, NULL, e);
  lingest_destroy(&g);
  if (rc)
    lstore_close(&s);
  return rc ? NULL : s;
}

typedef struct wire_count {
  uint64_t bytes[2], msgs[2];
} wire_count;

/* Moves messages between the two sessions until both are quiet. */
static int
s_pump(lsession *a, lsession *b, wire_count *wc, lerr *e)
{
  lsession *ss[2] = {a, b};
  lbuf out;
  lbuf_init(&out);
  uint64_t now = 1800000000000ull;
  int rc = 0;
  for (bool moved = true; moved && rc >= 0;) {
    moved = false;
    for (int side = 0; side < 2 && rc >= 0; side++)
      while ((rc = session_next_out(ss[side], &out, now, e)) == 1) {
        moved = true;
        wc->bytes[side] += out.len;
        wc->msgs[side]++;
        if ((rc = session_recv(ss[1 - side], out.p, out.len, now, e)) < 0)
          break;
      }
    now += 1;
  }
  lbuf_free(&out);
  return rc < 0 ? rc : 0;
}

/* One sync between X (the child, initiator) and Y, both with zstd level
 * `compress` (as lsession_cfg.compress).  Checks that the two converge and
 * that exactly `missing` ops went from X to Y. */
static int
s_sync(lstore *x, lstore *y, const lrepl *lx, const lrepl *ly, int compress, uint64_t missing,
       wire_count *wc, lsession_stat *st, double *secs, lerr *e)
{
  lsession_cfg cx = {.initiator = true, .compress = compress},
               cy = {.initiator = false, .compress = compress};
  memcpy(cx.self, lstore_self(x), LINLI_PK_BYTES);
  memcpy(cx.peer, lstore_self(y), LINLI_PK_BYTES);
  memcpy(cy.self, lstore_self(y), LINLI_PK_BYTES);
  memcpy(cy.peer, lstore_self(x), LINLI_PK_BYTES);
  lsession *sx = session_new(&cx, lx), *sy = session_new(&cy, ly);
  memset(wc, 0, sizeof *wc);
  double t0 = s_now();
  session_start(sx, 1800000000000ull);
  int rc = s_pump(sx, sy, wc, e);
  *secs = s_now() - t0;
  session_stat_get(sx, st);
  session_destroy(&sx);
  session_destroy(&sy);
  if (rc)
    return 1;
  ldigest dx, dy;
  lstore_digest(x, "", 0, &dx, NULL);
  lstore_digest(y, "", 0, &dy, NULL);
  if (memcmp(dx.sum, dy.sum, LINLI_HASH_BYTES) != 0) {
    lerr_set(e, LINLI_EINVAL, "the replicas differ after the sync");
    return 1;
  }
  /* Only what Y lacked may travel: a protocol that resends held ops
   * would still converge, so this is checked on its own. */
  if (st->ops_sent != missing) {
    lerr_set(e, LINLI_EINVAL, "%llu ops sent, %llu were missing",
             (unsigned long long)st->ops_sent, (unsigned long long)missing);
    return 1;
  }
  return 0;
}

/* sync-bytes: X holds every delta, Y (and Z, its twin) the first 90% of
 * each author's; X syncs with Y compressed (the default) and with Z
 * uncompressed (sync-bytes-raw), then connects to Y again (in-sync). */
static int
s_sync_bytes(workload *w, bool json, int level)
{
  char dir[] = "/tmp/linli-bench-XXXXXX";
  if (mkdtemp(dir) == NULL)
    return 1;
  char px[64], py[64], pz[64];
  snprintf(px, sizeof px, "%s/x", dir);
  snprintf(py, sizeof py, "%s/y", dir);
  snprintf(pz, sizeof pz, "%s/z", dir);
  lerr e = {0};
  uint32_t per = w->ops_per_author / w->batch, have = per * 9 / 10;
  lstore *x = s_filled(px, w, per, &e), *y = x ? s_filled(py, w, have, &e) : NULL,
         *z = y ? s_filled(pz, w, have, &e) : NULL;
  if (x == NULL || y == NULL || z == NULL) {
    fprintf(stderr, "linli-bench: sync-bytes: %s\n", e.msg);
    return 1;
  }
  uint64_t missing = (uint64_t)w->authors * (per - have) * w->batch;
  lreplica *rx, *ry, *rz;
  lrepl lxy, lxz, ly, lz;
  /* X connects to Y and Z as their child: a child offers its parent
   * everything. */
  if (replica_new(&rx, x, &e) || replica_new(&ry, y, &e) || replica_new(&rz, z, &e) ||
      replica_peer(rx, lstore_self(y), LPEER_PARENT, &lxy, &e) ||
      replica_peer(rx, lstore_self(z), LPEER_PARENT, &lxz, &e) ||
      replica_peer(ry, lstore_self(x), LPEER_CHILD, &ly, &e) ||
      replica_peer(rz, lstore_self(x), LPEER_CHILD, &lz, &e)) {
    fprintf(stderr, "linli-bench: sync-bytes: %s\n", e.msg);
    return 1;
  }
  int rc = 0;
  const struct {
    const char *scenario;
    lstore *y;
    const lrepl *lx, *ly;
    int compress;
  } runs[2] = {{"sync-bytes", y, &lxy, &ly, level},
               {"sync-bytes-raw", z, &lxz, &lz, LSESSION_COMPRESS_OFF}};
  for (int i = 0; i < 2 && rc == 0; i++) {
    wire_count wc;
    lsession_stat st;
    double secs;
    rc = s_sync(x, runs[i].y, runs[i].lx, runs[i].ly, runs[i].compress, missing, &wc, &st,
                &secs, &e);
    if (rc) {
      fprintf(stderr, "linli-bench: %s: %s\n", runs[i].scenario, e.msg);
      break;
    }
    int lv = runs[i].compress == 0 ? LSESSION_COMPRESS_DEFAULT
                                   : (runs[i].compress < 0 ? 0 : runs[i].compress);
    double bpo = (double)(wc.bytes[0] + wc.bytes[1]) / (double)missing;
    char how[32] = "no compression";
    if (st.compress_tx)
      snprintf(how, sizeof how, "zstd level %d", lv);
    if (json)
      printf("{\"scenario\":\"%s\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
             "\"bytes_x_to_y\":%llu,\"bytes_y_to_x\":%llu,\"bytes_per_op\":%.2f,"
             "\"round_trips\":%llu,\"compression\":%s,\"zstd_level\":%d,"
             "\"data_bytes\":%llu,\"data_bytes_plain\":%llu,\"peak_rss_mb\":%.1f,"
             "\"checksum\":\"%08x\"}\n",
             runs[i].scenario, (unsigned long long)missing, secs, (double)missing / secs,
             (unsigned long long)wc.bytes[0], (unsigned long long)wc.bytes[1], bpo,
             (unsigned long long)st.round_trips, st.compress_tx ? "true" : "false", lv,
             (unsigned long long)st.data_bytes_sent, (unsigned long long)st.data_bytes_plain,
             s_peak_rss_mb(), w->checksum);
    else
      printf("%-14s %10llu ops missing: %llu bytes X->Y, %llu bytes Y->X, %.2f bytes per "
             "missing op, %llu round trips, %.3f s (%s)\n",
             runs[i].scenario, (unsigned long long)missing, (unsigned long long)wc.bytes[0],
             (unsigned long long)wc.bytes[1], bpo, (unsigned long long)st.round_trips, secs,
             how);
  }
  if (rc == 0) {
    /* in-sync: a new connection between X and Y, now equal */
    wire_count wc;
    lsession_stat st;
    double secs;
    rc = s_sync(x, y, &lxy, &ly, level, 0, &wc, &st, &secs, &e);
    if (rc) {
      fprintf(stderr, "linli-bench: in-sync: %s\n", e.msg);
    } else {
      if (json)
        printf("{\"scenario\":\"in-sync\",\"ops\":0,\"authors\":%u,\"bytes_x_to_y\":%llu,"
               "\"bytes_y_to_x\":%llu,\"round_trips\":1,\"checksum\":\"%08x\"}\n",
               w->authors, (unsigned long long)wc.bytes[0], (unsigned long long)wc.bytes[1],
               w->checksum);
      else
        printf("%-14s %u authors in sync: %llu bytes X->Y, %llu bytes Y->X, %llu messages, "
               "1 round trip\n",
               "in-sync", w->authors, (unsigned long long)wc.bytes[0],
               (unsigned long long)wc.bytes[1], (unsigned long long)(wc.msgs[0] + wc.msgs[1]));
      if (wc.msgs[0] != 1 || wc.msgs[1] != 1) {
        fprintf(stderr, "linli-bench: in-sync took more than one round trip\n");
        rc = 1;
      }
    }
  }
  replica_destroy(&rx);
  replica_destroy(&ry);
  replica_destroy(&rz);
  lstore_close(&x);
  lstore_close(&y);
  lstore_close(&z);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "linli-bench: could not remove %s\n", dir);
  return rc;
}

/* The scenarios, in the order they run.  "audit" is reserved for the
 * scenario that re-verifies a whole store (not written yet). */
static const char *const s_scenarios[] = {"ingest", "sync-bytes", "catch-up", "village", "audit",
                                          "query", "gprs"};
/* gprs takes over ten minutes of an emulated line: only when named. */
enum { S_GPRS = 6 };
enum { NSCEN = sizeof s_scenarios / sizeof s_scenarios[0] };

/* Marks the scenarios named in a comma-separated list; in-sync runs with
 * sync-bytes, whose replicas it reuses. */
static int
s_select(const char *list, bool *on)
{
  char buf[256];
  if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf)
    return -1;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    int k = -1;
    for (int i = 0; i < NSCEN; i++)
      if (strcmp(tok, s_scenarios[i]) == 0 || (i == 1 && strcmp(tok, "in-sync") == 0))
        k = i;
    if (k < 0) {
      fprintf(stderr, "linli-bench: unknown scenario %s (see linli-bench --help)\n", tok);
      return -1;
    }
    on[k] = true;
  }
  return 0;
}

int
main(int argc, char **argv)
{
  bool json = false, quick = false, on[NSCEN] = {0}, any = false;
  int level = 0; /* the session's default */
  long group = 1000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = true;
    else if (strcmp(argv[i], "--quick") == 0) quick = true;
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      if (s_select(argv[++i], on) != 0)
        return 2;
      any = true;
    } else if (strcmp(argv[i], "--compress") == 0 && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > LSESSION_COMPRESS_MAX) {
        fprintf(stderr, "linli-bench: --compress takes a zstd level from 1 to %d\n",
                LSESSION_COMPRESS_MAX);
        return 2;
      }
      level = (int)v;
    } else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
      char *end;
      group = strtol(argv[++i], &end, 10);
      if (*end != '\0' || group < 1 || group > 1000000) {
        fprintf(stderr, "linli-bench: --group takes 1 to 1000000 deltas\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      puts("usage: linli-bench [--quick] [--json] [--only SCENARIO,...] [--compress LEVEL]\n"
           "                   [--group N]\n\n"
           "Runs linli on the village workload (100 authors x 10,000 register ops in\n"
           "signed deltas of 100; --quick: 10 authors x 1,000) in a temporary\n"
           "directory and prints one line per scenario (--json: one JSON object per\n"
           "line).  Scenarios: ingest, sync-bytes (zstd at the sessions' default\n"
           "level, or LEVEL from 1 to 19; with sync-bytes-raw, no compression, and\n"
           "in-sync), catch-up, village, audit (with scope-heads), query (100,000\n"
           "households, 10,000 with --quick); --only runs the ones named, and gprs\n"
           "(a village over linkrelay's emulated GPRS line, over ten minutes; a\n"
           "minute with --quick) runs only when named.\n"
           "catch-up, village, audit and gprs start linli-node, linli or linkrelay,\n"
           "which must be beside linli-bench.  --group: deltas per commit in ingest (default\n"
           "1000, about 3.5 MB).  docs/BENCHMARKS.md explains each scenario.");
      return 0;
    } else {
      fprintf(stderr, "linli-bench: unknown option %s (see linli-bench --help)\n", argv[i]);
      return 2;
    }
  }
  if (!any)
    for (int i = 0; i < NSCEN; i++)
      on[i] = i != S_GPRS;
  if (linli_crypto_init() != 0)
    return 1;
  bench_nodes_guard();
  workload w = {.authors = quick ? 10 : 100, .ops_per_author = quick ? 1000 : 10000,
                .batch = 100, .group = (uint32_t)group};
  enum { NEX = 1000 };
  expect *ex = calloc(NEX, sizeof *ex);
  if (!json)
    fprintf(stderr, "linli-bench: generating %u authors x %u ops...\n", w.authors,
            w.ops_per_author);
  s_generate(&w, ex, NEX, NULL);
  double ops_s;
  int rc = 0;
  if (rc == 0 && on[0])
    rc = s_ingest(&w, ex, NEX, json, &ops_s);
  if (rc == 0 && on[1])
    rc = s_sync_bytes(&w, json, level);
  fflush(stdout);
  if (rc == 0 && on[2])
    rc = bench_catch_up(&w, json);
  if (rc == 0 && on[3])
    rc = bench_village(&w, json);
  if (rc == 0 && on[4]) {
    /* The audit needs a store under a trust root: the same workload with
     * each log opened by its author's certificate. */
    for (uint32_t i = 0; i < w.ndeltas; i++)
      lbuf_free(&w.deltas[i]);
    free(w.deltas);
    lident root;
    uint8_t seed[LINLI_SEED_BYTES];
    linli_hash(seed, (const uint8_t *)"root", 4);
    ident_from_seed(&root, seed);
    s_generate(&w, ex, NEX, &root);
    rc = bench_audit(&w, root.pk, json);
    ident_wipe(&root);
  }
  if (rc == 0 && on[5])
    rc = bench_query(quick, json);
  if (rc == 0 && on[S_GPRS])
    rc = bench_gprs(quick, json);
  for (uint32_t i = 0; i < w.ndeltas; i++)
    lbuf_free(&w.deltas[i]);
  free(w.deltas);
  free(ex);
  return rc;
}
