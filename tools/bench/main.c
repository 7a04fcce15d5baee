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
 * checked).  Output: a table, or with --json one object per line.
 */
#include "crdt/hlc.h"
#include "node/store.h"

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

static double
s_peak_rss_mb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

typedef struct workload {
  uint32_t authors, ops_per_author, batch;
  lbuf *deltas; /* authors * (ops_per_author / batch), author-major */
  uint32_t ndeltas;
  uint32_t checksum;
  uint64_t ops;
  /* for the read-back check: the last value of a sample of fields */
} workload;

/* The value each (author, k, field) holds at the end, for the read-back. */
typedef struct expect {
  char key[32];
  uint8_t field;
  char value[32];
} expect;

static void
s_generate(workload *w, expect *ex, uint32_t nex)
{
  uint32_t st = 42, h = 2166136261u;
  uint32_t per = w->ops_per_author / w->batch;
  w->ndeltas = w->authors * per;
  w->deltas = calloc(w->ndeltas, sizeof *w->deltas);
  op *ops = calloc(w->batch, sizeof *ops);
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
        ops[i] = (op){.seq = ++seq,
                      .hlc = hlc_make(1764300000000ull + (uint64_t)b * 60000 + a, i),
                      .kind = OP_SET, .key = keys[i], .key_len = (uint32_t)strlen(keys[i]),
                      .field = s_fields[f], .field_len = (uint32_t)strlen(s_fields[f]),
                      .str = vals[i], .str_len = len};
        op_hash(head, head, id.pk, &ops[i], &scratch);
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
      delta_encode(d, id.pk, seq - w->batch + 1, prev, ops, w->batch, sig);
    }
    ident_wipe(&id);
  }
  free(slot);
  w->checksum = h;
  w->ops = (uint64_t)w->authors * w->ops_per_author;
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
  if (lstore_init(path, "bench", NULL, &e) || lstore_open(&s, path, &o, &e)) {
    fprintf(stderr, "linli-bench: %s\n", e.msg);
    return 1;
  }
  double t0 = s_now(), t_add = 0, t_commit = 0;
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
    if (lingest_count(g) == 1000 || i + 1 == w->ndeltas) {
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
  double secs = s_now() - t0;
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
           "\"checksum\":\"%08x\"}\n",
           (unsigned long long)w->ops, secs, *ops_s, s_peak_rss_mb(), t_add, t_commit,
           w->checksum);
  else
    printf("%-10s %10llu ops %8.3f s %12.0f ops/s  peak RSS %6.1f MB  (decode+verify %.2f s, "
           "apply+write %.2f s)  checksum %08x\n",
           "ingest", (unsigned long long)w->ops, secs, *ops_s, s_peak_rss_mb(), t_add, t_commit,
           w->checksum);
  return 0;
}

int
main(int argc, char **argv)
{
  bool json = false, quick = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = true;
    else if (strcmp(argv[i], "--quick") == 0) quick = true;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      puts("usage: linli-bench [--quick] [--json]\n\n"
           "Runs linli on the village workload (100 authors x 10,000 register ops in\n"
           "signed deltas of 100; --quick: 10 authors x 1,000) in a temporary\n"
           "directory and prints one line per scenario (--json: one JSON object per\n"
           "line).  Scenarios: ingest.");
      return 0;
    } else {
      fprintf(stderr, "linli-bench: unknown option %s (see linli-bench --help)\n", argv[i]);
      return 2;
    }
  }
  if (linli_crypto_init() != 0)
    return 1;
  workload w = {.authors = quick ? 10 : 100, .ops_per_author = quick ? 1000 : 10000,
                .batch = 100};
  enum { NEX = 1000 };
  expect *ex = calloc(NEX, sizeof *ex);
  if (!json)
    fprintf(stderr, "linli-bench: generating %u authors x %u ops...\n", w.authors,
            w.ops_per_author);
  s_generate(&w, ex, NEX);
  double ops_s;
  int rc = s_ingest(&w, ex, NEX, json, &ops_s);
  for (uint32_t i = 0; i < w.ndeltas; i++)
    lbuf_free(&w.deltas[i]);
  free(w.deltas);
  free(ex);
  return rc;
}
