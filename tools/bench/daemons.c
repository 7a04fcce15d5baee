/*
 * daemons.c - the linli-bench scenarios that run real linli-node processes:
 * catch-up and village.  docs/BENCHMARKS.md says what each one measures
 * and why it is set up this way.
 *
 * catch-up.  A street whose store holds the whole workload connects, as a
 * child, to an empty district; both are linli-node processes with the
 * district store profile, talking CURVE over TCP on 127.0.0.1.  A child
 * offers its parent every log it holds, so the district receives every op.
 * The time runs from the street's "started" log line to the district's
 * "synced with street" line (both written by the nodes, in milliseconds),
 * and the district's digest must then equal the street's.  Each process's
 * peak resident set is read from /proc before it is stopped.
 *
 * village.  A village-profile node holds the workload (one record per
 * household: 100,000 records at full size).  Its peak resident set is read
 * three times: idle (started, its street not up yet), sending (an empty
 * street comes up and the village sends it everything: a station that
 * reconnects after a long time offline, or a new street), and receiving
 * (the village's data directory is lost, it starts empty with its old key
 * and the street restores it: every log first came from that village, so
 * the street sends them all back down).  A fresh process for the last one,
 * so each figure is that phase's own peak.
 */
#include "tools/bench/bench.h"

#include "node/keyfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Budget for one sync: generous, since a shared machine may be slow, but
 * bounded, so that a sync that never converges fails instead of hanging. */
#define S_SYNC_TIMEOUT_S 900.0

double
bench_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
bench_fill(const char *dir, const char *name, const workload *w, uint32_t keep, int profile,
           ldigest *digest, lerr *e)
{
  lstore *s = NULL;
  lingest *g = NULL;
  lstore_opts o = {.profile = profile};
  uint32_t per = w->ops_per_author / w->batch;
  int rc = lstore_init(dir, name, NULL, NULL, e);
  if (rc == 0)
    rc = lstore_open(&s, dir, &o, e);
  if (rc == 0)
    rc = lstore_ingest_new(s, true, &g);
  for (uint32_t i = 0; rc == 0 && i < w->ndeltas; i++) {
    if (i % per >= keep)
      continue;
    rc = lingest_add(g, w->deltas[i].p, w->deltas[i].len, e);
    if (rc == 0 && lingest_count(g) == 1000)
      rc = lingest_commit(g, 1800000000000ull, NULL, e);
  }
  if (rc == 0 && lingest_count(g) > 0)
    rc = lingest_commit(g, 1800000000000ull, NULL, e);
  if (rc == 0 && digest != NULL)
    rc = lstore_digest(s, "", 0, digest, e);
  lingest_destroy(&g);
  lstore_close(&s);
  return rc;
}

void
bench_rmrf(const char *dir)
{
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "linli-bench: could not remove %s\n", dir);
}

static int
s_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double
bench_median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, s_cmp_double);
  return v[n / 2];
}

int
bench_node_exe(char *out, size_t cap, lerr *e)
{
  char dir[PATH_MAX];
  if (bench_exe_dir(dir, sizeof dir, e) != 0)
    return LINLI_EIO;
  if (snprintf(out, cap, "%s/linli-node", dir) >= (int)cap)
    return lerr_set(e, LINLI_ETOOBIG, "path too long");
  if (access(out, X_OK) != 0)
    return lerr_set(e, LINLI_EIO, "these scenarios run linli-node, expected at %s", out);
  return 0;
}

int
bnode_start_listening(bnode *n, const char *exe, const char *conf, uint64_t *started_ms,
                      lerr *e)
{
  int rc = LINLI_EBUSY;
  for (int tries = 0; tries < 5 && rc == LINLI_EBUSY; tries++) {
    n->port = bench_free_port();
    if (n->port == 0)
      return lerr_set(e, LINLI_EIO, "no free TCP port on 127.0.0.1");
    char text[1024];
    snprintf(text, sizeof text, conf, n->port);
    rc = bnode_start(n, exe, text, started_ms, e);
  }
  return rc;
}

int
bnode_check_digest(bnode *n, const ldigest *want, lerr *e)
{
  const char *args[] = {"digest"};
  char hex[2 * LINLI_HASH_BYTES + 1];
  lbuf out;
  lbuf_init(&out);
  int rc = bnode_ctl(n, args, 1, &out, e);
  hex_encode(hex, want->sum, LINLI_HASH_BYTES);
  if (rc == 0 && (out.len < 2 * LINLI_HASH_BYTES || memcmp(out.p, hex, 2 * LINLI_HASH_BYTES)))
    rc = lerr_set(e, LINLI_EIO, "%s: digest %.*s after the sync, expected %s", n->name,
                  (int)(out.len < 64 ? out.len : 64), (const char *)out.p, hex);
  else if (rc > 0)
    rc = LINLI_EIO;
  lbuf_free(&out);
  return rc;
}

static double
s_max(double a, double b)
{
  return a > b ? a : b;
}

int
bench_catch_up(const workload *w, bool json)
{
  char exe[PATH_MAX], top[] = "/tmp/linli-bench-XXXXXX", src[64], dst[64];
  char conf[1024];
  bnode street = {0}, district = {0};
  lerr e = {0};
  ldigest want;
  uint64_t t_start = 0, t_synced = 0;
  uint32_t per = w->ops_per_author / w->batch;
  int rc = bench_node_exe(exe, sizeof exe, &e);
  if (rc == 0 && mkdtemp(top) == NULL)
    rc = lerr_set(&e, LINLI_EIO, "cannot make a temporary directory");
  if (rc != 0) {
    fprintf(stderr, "linli-bench: catch-up: %s\n", e.msg);
    return 1;
  }
  snprintf(src, sizeof src, "%s/street", top);
  snprintf(dst, sizeof dst, "%s/district", top);
  rc = bench_fill(src, "street", w, per, LSTORE_DISTRICT, &want, &e);
  if (rc == 0)
    rc = lstore_init(dst, "district", NULL, NULL, &e);
  if (rc == 0)
    rc = bnode_init(&street, "street", src, &e);
  if (rc == 0)
    rc = bnode_init(&district, "district", dst, &e);
  if (rc != 0)
    goto fail;
  snprintf(conf, sizeof conf,
           "name = district\nrole = district\ndata = %s\nlisten = tcp://127.0.0.1:%%d\n"
           "child = %s street\nlog_level = info\n",
           dst, street.pk_hex);
  if ((rc = bnode_start_listening(&district, exe, conf, NULL, &e)) != 0)
    goto fail;
  snprintf(conf, sizeof conf,
           "name = street\nrole = street\ndata = %s\nparent = tcp://127.0.0.1:%d %s district\n"
           "profile = district\nlog_level = info\n",
           src, district.port, district.pk_hex);
  if ((rc = bnode_start(&street, exe, conf, &t_start, &e)) != 0 ||
      (rc = bnode_wait_log(&district, "] synced with street", S_SYNC_TIMEOUT_S, &t_synced,
                           &e)) != 0 ||
      (rc = bnode_check_digest(&district, &want, &e)) != 0)
    goto fail;
  double rss_src = bnode_peak_rss_mb(&street), rss_dst = bnode_peak_rss_mb(&district);
  if ((rc = bnode_stop(&street, &e)) != 0 || (rc = bnode_stop(&district, &e)) != 0)
    goto fail;
  double secs = (double)(t_synced - t_start) / 1000.0;
  double ops_s = secs > 0 ? (double)w->ops / secs : 0;
  if (json)
    printf("{\"scenario\":\"catch-up\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
           "\"peak_rss_mb\":%.1f,\"peak_rss_source_mb\":%.1f,\"peak_rss_target_mb\":%.1f,"
           "\"checksum\":\"%08x\"}\n",
           (unsigned long long)w->ops, secs, ops_s, s_max(rss_src, rss_dst), rss_src, rss_dst,
           w->checksum);
  else
    printf("%-10s %10llu ops %8.3f s %12.0f ops/s  peak RSS %6.1f MB sending, %6.1f MB "
           "receiving  (two linli-node over CURVE)\n",
           "catch-up", (unsigned long long)w->ops, secs, ops_s, rss_src, rss_dst);
  fflush(stdout);
  bnode_fini(&street);
  bnode_fini(&district);
  bench_rmrf(top);
  return 0;
fail:
  fprintf(stderr, "linli-bench: catch-up: %s\n", e.msg);
  bnode_kill(&street);
  bnode_kill(&district);
  bnode_fini(&street);
  bnode_fini(&district);
  fprintf(stderr, "linli-bench: catch-up: logs kept in %s\n", top);
  return 1;
}

int
bench_village(const workload *w, bool json)
{
  char exe[PATH_MAX], top[] = "/tmp/linli-bench-XXXXXX", vdir[64], sdir[64];
  char conf[1024], street_conf[1024], keypath[80];
  bnode village = {0}, street = {0};
  lerr e = {0};
  ldigest want;
  lident id;
  uint64_t t_up = 0, t_sent = 0, t_down = 0, t_restored = 0;
  double rss_idle = -1, rss_idle_now = -1, rss_send = -1, rss_recv = -1, rss_street = -1;
  uint32_t per = w->ops_per_author / w->batch;
  int rc = bench_node_exe(exe, sizeof exe, &e);
  if (rc == 0 && mkdtemp(top) == NULL)
    rc = lerr_set(&e, LINLI_EIO, "cannot make a temporary directory");
  if (rc != 0) {
    fprintf(stderr, "linli-bench: village: %s\n", e.msg);
    return 1;
  }
  snprintf(vdir, sizeof vdir, "%s/village", top);
  snprintf(sdir, sizeof sdir, "%s/street", top);
  snprintf(keypath, sizeof keypath, "%s/node.key", vdir);
  /* The village's store is written through the village profile, as the
   * station itself would have written it. */
  rc = bench_fill(vdir, "village", w, per, LSTORE_VILLAGE, &want, &e);
  if (rc == 0)
    rc = lstore_init(sdir, "street", NULL, NULL, &e);
  if (rc == 0)
    rc = bnode_init(&village, "village", vdir, &e);
  if (rc == 0)
    rc = bnode_init(&street, "street", sdir, &e);
  if (rc != 0)
    goto fail;
  street.port = bench_free_port();
  snprintf(conf, sizeof conf,
           "name = village\nrole = village\ndata = %s\nparent = tcp://127.0.0.1:%d %s street\n"
           "log_level = info\n",
           vdir, street.port, street.pk_hex);
  snprintf(street_conf, sizeof street_conf,
           "name = street\nrole = street\ndata = %s\nlisten = tcp://127.0.0.1:%d\n"
           "child = %s village\nlog_level = info\n",
           sdir, street.port, village.pk_hex);
  /* Idle: the street is not there yet, as when the network is down. */
  if ((rc = bnode_start(&village, exe, conf, NULL, &e)) != 0)
    goto fail;
  for (double t0 = bench_now(); bench_now() - t0 < 1.0;)
    usleep(20000);
  rss_idle = bnode_peak_rss_mb(&village);
  rss_idle_now = bnode_rss_mb(&village);
  /* Sending: the street comes up empty and the village sends it all. */
  if ((rc = bnode_start(&street, exe, street_conf, NULL, &e)) != 0 ||
      (rc = bnode_wait_log(&street, "] child village connected", 60, &t_up, &e)) != 0 ||
      (rc = bnode_wait_log(&street, "] synced with village", S_SYNC_TIMEOUT_S, &t_sent, &e)) !=
          0 ||
      (rc = bnode_check_digest(&street, &want, &e)) != 0)
    goto fail;
  rss_send = bnode_peak_rss_mb(&village);
  if ((rc = bnode_stop(&village, &e)) != 0)
    goto fail;
  /* Receiving: the village lost its disk; it starts empty with its old key
   * and the street sends every log back down. */
  if ((rc = keyfile_read(keypath, &id, &e)) != 0)
    goto fail;
  bench_rmrf(vdir);
  rc = lstore_init(vdir, "village", &id, NULL, &e);
  ident_wipe(&id);
  if (rc != 0 || (rc = bnode_start(&village, exe, conf, NULL, &e)) != 0 ||
      (rc = bnode_wait_log(&village, "] connected to parent street", 60, &t_down, &e)) != 0 ||
      (rc = bnode_wait_log(&village, "] synced with street", S_SYNC_TIMEOUT_S, &t_restored, &e)) !=
          0 ||
      (rc = bnode_check_digest(&village, &want, &e)) != 0)
    goto fail;
  rss_recv = bnode_peak_rss_mb(&village);
  rss_street = bnode_peak_rss_mb(&street);
  if ((rc = bnode_stop(&village, &e)) != 0 || (rc = bnode_stop(&street, &e)) != 0)
    goto fail;
  double send_s = (double)(t_sent - t_up) / 1000.0, recv_s = (double)(t_restored - t_down) / 1000.0;
  double peak = s_max(rss_idle, s_max(rss_send, rss_recv));
  if (json)
    printf("{\"scenario\":\"village\",\"ops\":%llu,\"records\":%lld,\"peak_rss_mb\":%.1f,"
           "\"peak_rss_idle_mb\":%.1f,\"rss_idle_mb\":%.1f,\"peak_rss_sending_mb\":%.1f,"
           "\"peak_rss_receiving_mb\":%.1f,\"send_seconds\":%.3f,\"send_ops_per_s\":%.0f,"
           "\"receive_seconds\":%.3f,\"receive_ops_per_s\":%.0f,\"peak_rss_street_mb\":%.1f,"
           "\"checksum\":\"%08x\"}\n",
           (unsigned long long)w->ops, (long long)want.count, peak, rss_idle, rss_idle_now,
           rss_send, rss_recv, send_s, send_s > 0 ? (double)w->ops / send_s : 0, recv_s,
           recv_s > 0 ? (double)w->ops / recv_s : 0, rss_street, w->checksum);
  else
    printf("%-10s %10lld records: peak RSS %.1f MB idle, %.1f MB sending them up (%.2f s), "
           "%.1f MB receiving them back (%.2f s)\n",
           "village", (long long)want.count, rss_idle, rss_send, send_s, rss_recv, recv_s);
  fflush(stdout);
  bnode_fini(&village);
  bnode_fini(&street);
  bench_rmrf(top);
  return 0;
fail:
  fprintf(stderr, "linli-bench: village: %s\n", e.msg);
  bnode_kill(&village);
  bnode_kill(&street);
  bnode_fini(&village);
  bnode_fini(&street);
  fprintf(stderr, "linli-bench: village: logs kept in %s\n", top);
  return 1;
}
