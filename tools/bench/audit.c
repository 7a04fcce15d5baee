/* audit.c - the audit scenario of linli-bench: `linli audit` over a
 * district store holding the whole workload, every log under a trust root.
 *
 * The audit runs as the auditor would run it: the `linli` program, as its
 * own process, over the data directory, with nothing but the root key.
 * Its wall time and peak RSS (VmHWM, read while it runs) are measured;
 * the ops it reports having verified are checked against the workload. */
#include "tools/bench/bench.h"

#include "crdt/ident.h"
#include "node/replica.h"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define S_RUNS 3


/* Runs `linli -d dir audit --root hex --json` with its stdout in `outf`;
 * returns its exit status (or -1), *secs its wall time, *rss_mb its peak.
 *
 * The peak is VmHWM read from /proc while the audit runs (every 2 ms; it
 * only grows, so at most the last 2 ms can be missed), not wait4's
 * ru_maxrss: that keeps the high-water mark of every memory the child
 * had, and a child starts as a copy of this process, which holds the
 * workload and may be far larger than `linli` will ever be.  glibc's
 * posix_spawn returns once the child has executed `linli`, so from then
 * on /proc describes `linli` alone. */
static int
s_run_audit(const char *linli, const char *dir, const char *roothex, const char *outf,
            double *secs, double *rss_mb)
{
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0)
    return -1;
  char *argv[] = {(char *)linli, "-d", (char *)dir, "audit", "--root", (char *)roothex,
                  "--json", NULL};
  pid_t pid;
  double t0 = bench_now();
  int rc = posix_spawn_file_actions_addopen(&fa, 1, outf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (rc == 0)
    rc = posix_spawn(&pid, linli, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return -1;
  double peak = 0;
  int status;
  for (;;) {
    double mb = bench_status_mb(pid, "VmHWM");
    if (mb > peak)
      peak = mb;
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid)
      break;
    if (w < 0)
      return -1;
    usleep(2000);
  }
  *secs = bench_now() - t0;
  *rss_mb = peak;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* scope-heads: what a parent does for every HELLO to a child under a
 * trust root, the heads in the child's scope (the lrepl's heads), over
 * the district store: the child is v000, certified for hh/v000/, among the
 * workload's authors.  Beside it, the store's heads alone (what the scope
 * adds to).  S_SCOPE_CALLS calls a batch, S_SCOPE_RUNS batches, timed in
 * the thread's CPU time (steadier than the wall clock on a loaded
 * machine), the median batch reported per call. */
#define S_SCOPE_CALLS 500
#define S_SCOPE_RUNS 7

static double
s_thread_cpu(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
s_scope_heads(const char *dir, const workload *w, bool json, lerr *e)
{
  lstore *s = NULL;
  lreplica *r = NULL;
  lrepl rp;
  lstore_opts o = {.profile = LSTORE_DISTRICT};
  uint8_t seed[LINLI_SEED_BYTES];
  lident child;
  linli_hash(seed, (const uint8_t *)"v000", 4);
  ident_from_seed(&child, seed);
  int rc = lstore_open(&s, dir, &o, e);
  if (rc == 0)
    rc = replica_new(&r, s, e);
  if (rc == 0)
    rc = replica_peer(r, child.pk, LPEER_CHILD, &rp, e);
  double secs[S_SCOPE_RUNS], base[S_SCOPE_RUNS];
  uint32_t n = 0, nh = 0;
  for (int k = 0; k < S_SCOPE_RUNS && rc == 0; k++) {
    double t0 = s_thread_cpu();
    for (int i = 0; i < S_SCOPE_CALLS && rc == 0; i++) {
      lrepl_head *h = NULL;
      rc = rp.heads(rp.ctx, child.pk, &h, &n, e);
      free(h);
    }
    double t1 = s_thread_cpu();
    for (int i = 0; i < S_SCOPE_CALLS && rc == 0; i++) {
      lhead *h = NULL;
      rc = lstore_heads(s, &h, &nh, e);
      free(h);
    }
    secs[k] = t1 - t0;
    base[k] = s_thread_cpu() - t1;
  }
  ident_wipe(&child);
  replica_destroy(&r);
  lstore_close(&s);
  if (rc)
    return rc;
  if (n != 1)
    return lerr_set(e, LINLI_EINVAL, "%u heads in v000's scope, expected its own only", n);
  double us = bench_median(secs, S_SCOPE_RUNS) / S_SCOPE_CALLS * 1e6,
         us_heads = bench_median(base, S_SCOPE_RUNS) / S_SCOPE_CALLS * 1e6;
  if (json)
    printf("{\"scenario\":\"scope-heads\",\"authors\":%u,\"us_per_hello\":%.1f,"
           "\"us_heads_alone\":%.1f,\"runs\":%d,\"checksum\":\"%08x\"}\n",
           w->authors, us, us_heads, S_SCOPE_RUNS, w->checksum);
  else
    printf("%-14s %10u authors %9.1f us CPU a child's HELLO, of which %.1f us the store's "
           "heads (scope under a trust root, median of %d)\n",
           "scope-heads", w->authors, us, us_heads, S_SCOPE_RUNS);
  return 0;
}

int
bench_audit(const workload *w, const uint8_t root[LINLI_PK_BYTES], bool json)
{
  char tmp[] = "/tmp/linli-bench-audit-XXXXXX", dir[PATH_MAX], exe[PATH_MAX],
       linli[PATH_MAX + 8], outf[PATH_MAX], roothex[2 * LINLI_PK_BYTES + 1];
  lerr e = {0};
  if (mkdtemp(tmp) == NULL || bench_exe_dir(exe, sizeof exe, &e) != 0) {
    fprintf(stderr, "linli-bench: audit: %s\n", e.msg[0] ? e.msg : "no temporary directory");
    return 1;
  }
  snprintf(dir, sizeof dir, "%s/district", tmp);
  snprintf(outf, sizeof outf, "%s/audit.json", tmp);
  snprintf(linli, sizeof linli, "%s/linli", exe);
  hex_encode(roothex, root, LINLI_PK_BYTES);
  int rc = 1;
  /* The district: a store under the root, ingesting everything. */
  lstore *s = NULL;
  lingest *g = NULL;
  lstore_opts o = {.profile = LSTORE_DISTRICT};
  uint64_t total = 0;
  double t0 = bench_now();
  int r = lstore_init(dir, "district", NULL, NULL, &e);
  if (r == 0)
    r = lstore_open(&s, dir, &o, &e);
  if (r == 0)
    r = lstore_set_root(s, root, &e);
  if (r == 0)
    r = lstore_ingest_new(s, true, &g);
  for (uint32_t i = 0; r == 0 && i < w->ndeltas; i++) {
    r = lingest_add(g, w->deltas[i].p, w->deltas[i].len, &e);
    if (r == 0 && (lingest_count(g) == 1000 || i + 1 == w->ndeltas)) {
      total += lingest_ops(g);
      r = lingest_commit(g, 1800000000000ull, NULL, &e);
    }
  }
  double ingest_s = bench_now() - t0;
  lingest_destroy(&g);
  lstore_close(&s);
  if (r != 0) {
    fprintf(stderr, "linli-bench: audit: the store under a trust root: %s\n", e.msg);
    goto done;
  }
  if ((r = s_scope_heads(dir, w, json, &e)) != 0) {
    fprintf(stderr, "linli-bench: scope-heads: %s\n", e.msg);
    goto done;
  }
  if (json)
    printf("{\"scenario\":\"ingest-trust\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
           "\"checksum\":\"%08x\"}\n",
           (unsigned long long)total, ingest_s, (double)total / ingest_s, w->checksum);
  else
    printf("%-14s %10llu ops %8.3f s %12.0f ops/s  (every log under a trust root)\n",
           "ingest-trust", (unsigned long long)total, ingest_s, (double)total / ingest_s);
  fflush(stdout);
  double secs[S_RUNS], rss = 0;
  for (int k = 0; k < S_RUNS; k++) {
    double rm = 0;
    int st = s_run_audit(linli, dir, roothex, outf, &secs[k], &rm);
    if (rm > rss)
      rss = rm;
    size_t n = 0;
    char buf[4096] = "";
    FILE *f = fopen(outf, "r");
    if (f) {
      n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
    }
    buf[n] = 0;
    char want[64];
    snprintf(want, sizeof want, "\"ops\":%llu,", (unsigned long long)total);
    if (st != 0 || strstr(buf, "\"ok\":true") == NULL || strstr(buf, want) == NULL) {
      fprintf(stderr, "linli-bench: audit: linli audit exited %d or did not verify %llu ops: "
              "%.300s\n", st, (unsigned long long)total, buf);
      goto done;
    }
  }
  double med = bench_median(secs, S_RUNS);
  if (json)
    printf("{\"scenario\":\"audit\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
           "\"peak_rss_mb\":%.1f,\"runs\":%d,\"checksum\":\"%08x\"}\n",
           (unsigned long long)total, med, (double)total / med, rss, S_RUNS, w->checksum);
  else
    printf("%-14s %10llu ops %8.3f s %12.0f ops/s  peak RSS %6.1f MB  (linli audit, median of "
           "%d)\n",
           "audit", (unsigned long long)total, med, (double)total / med, rss, S_RUNS);
  rc = 0;
done:
  bench_rmrf(tmp);
  return rc;
}
