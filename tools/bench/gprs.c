/*
 * gprs.c - the gprs scenario of linli-bench: a street and a village, both
 * linli-node processes with `link = gprs`, the village's parent address
 * pointing at tools/linkrelay, which behaves like a village GPRS line
 * (5,500 bytes/s each way = 44 kbit/s, 375 ms one way, a 16 KiB queue).
 * docs/BENCHMARKS.md, "gprs", says what each figure means.
 *
 * day.  1,000 ops written offline at the village (200 writes of 5
 * fields).  The village starts while the line is down and retries; the
 * time runs from link-up (the relay starts: its start is the wall clock
 * read just before) to the street's "synced with village" log line, whose
 * time stamp the street wrote; the street's digest must then equal the
 * village's.  It includes up to 2 s of the village's reconnect backoff.
 *
 * idle.  The same two nodes restarted with the timers ten times faster
 * (link_heartbeat 6 s, so a PING every 30 s, link_resync 180 s) and left
 * alone: the bytes the relay delivers each way over 30 s are five minutes
 * of the real settings, so a fifth of them is a minute of the real line.
 *
 * backlog.  3,000 diary entries of 600 characters of random text (300
 * records of 10 fields, about 1.5 MB once compressed) written offline at a
 * fresh village; the same timing as day, the bytes up, the line's use
 * (bytes up over seconds, against 5,500 B/s) and how often the village's
 * connection was cut (it must complete).
 *
 * Each runs S_RUNS times on fresh data directories and the medians are
 * reported; with quick, once, on 100 ops and 20 entries, the idle line
 * for 6 s.
 */
#include "tools/bench/bench.h"

#include "node/keyfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_RUNS 3
#define S_RATE 5500
#define S_DELAY_MS 375
#define S_QUEUE 16384
#define S_SYNC_TIMEOUT_S 900.0

typedef struct gline {
  pid_t pid;
  int port;
  char stats[PATH_MAX], log[PATH_MAX];
} gline;

static uint64_t
s_wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
s_sleep(double secs)
{
  for (double t0 = bench_now(); bench_now() - t0 < secs;)
    usleep(20000);
}


/* ---- the line ---- */

/* Starts linkrelay (beside linli-bench) on l->port (0: a free one),
 * relaying to 127.0.0.1:target as a GPRS line; its counts go to
 * dir/line.stats. */
static int
s_line_start(gline *l, const char *dir, int target, lerr *e)
{
  char exe[PATH_MAX], relay[PATH_MAX + 16], lport[16], to[32], rate[16], delay[16], queue[16];
  if (bench_exe_dir(exe, sizeof exe, e) != 0)
    return LINLI_EIO;
  snprintf(relay, sizeof relay, "%s/linkrelay", exe);
  if (access(relay, X_OK) != 0)
    return lerr_set(e, LINLI_EIO, "gprs runs linkrelay, expected at %s", relay);
  snprintf(l->stats, sizeof l->stats, "%s/line.stats", dir);
  snprintf(l->log, sizeof l->log, "%s/line.log", dir);
  unlink(l->stats);
  if (l->port == 0)
    l->port = bench_free_port();
  snprintf(lport, sizeof lport, "%d", l->port);
  snprintf(to, sizeof to, "127.0.0.1:%d", target);
  snprintf(rate, sizeof rate, "%d", S_RATE);
  snprintf(delay, sizeof delay, "%d", S_DELAY_MS);
  snprintf(queue, sizeof queue, "%d", S_QUEUE);
  char *argv[] = {relay, "-l", lport, "-t", to, "-s", l->stats, "-r", rate,
                  "-d", delay, "-q", queue, NULL};
  if ((l->pid = bench_spawn(argv, l->log, e)) < 0)
    return LINLI_EIO;
  struct stat st;
  for (double t0 = bench_now(); bench_now() - t0 < 10; usleep(20000))
    if (stat(l->stats, &st) == 0)
      return 0;
  bench_kill(l->pid);
  l->pid = 0;
  return lerr_set(e, LINLI_EIO, "linkrelay did not start (see %s)", l->log);
}

/* The payload bytes the line delivered each way since it started. */
static int
s_line_bytes(const gline *l, uint64_t *up, uint64_t *down, lerr *e)
{
  FILE *f = fopen(l->stats, "r");
  unsigned long long u = 0, d = 0;
  int ok = f && fscanf(f, "up %llu down %llu", &u, &d) == 2;
  if (f)
    fclose(f);
  if (!ok)
    return lerr_set(e, LINLI_EIO, "cannot read %s", l->stats);
  *up = u;
  *down = d;
  return 0;
}

static void
s_line_stop(gline *l)
{
  bench_kill(l->pid);
  l->pid = 0;
}

/* ---- the village's offline work ---- */

/* Fills the village store at `dir` (made here): `n` writes of 5 short
 * fields (day), or `n` records of 10 fields of 600 characters of random
 * text (backlog).  *ops: how many; *want: the store's digest. */
static int
s_offline(const char *dir, bool backlog, uint32_t n, uint64_t *ops, ldigest *want, lerr *e)
{
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char keypath[PATH_MAX];
  lident id;
  lstore *s = NULL;
  lstore_opts o = {.profile = LSTORE_VILLAGE};
  snprintf(keypath, sizeof keypath, "%s/node.key", dir);
  int rc = lstore_init(dir, "village", NULL, NULL, e);
  if (rc == 0)
    rc = keyfile_read(keypath, &id, e);
  if (rc)
    return rc;
  rc = lstore_open(&s, dir, &o, e);
  uint32_t nf = backlog ? 10 : 5, seed = 42;
  char key[48], fields[10][16], (*vals)[608] = calloc(nf, sizeof *vals);
  if (vals == NULL)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  *ops = 0;
  for (uint32_t i = 1; rc == 0 && i <= n; i++) {
    op v[10];
    snprintf(key, sizeof key, backlog ? "diary/va/%u" : "hh/va/%u", i);
    for (uint32_t f = 0; f < nf; f++) {
      snprintf(fields[f], sizeof fields[f], "f%u", f + 1);
      if (backlog) {
        for (int c = 0; c < 600; c++) {
          seed = seed * 1103515245u + 12345u;
          vals[f][c] = b64[(seed >> 16) & 63];
        }
        vals[f][600] = '\0';
      } else {
        snprintf(vals[f], sizeof vals[f], "%c%u", 'v' + (int)f, i);
      }
      v[f] = (op){.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key),
                  .field = fields[f], .field_len = (uint32_t)strlen(fields[f]),
                  .str = vals[f], .str_len = (uint32_t)strlen(vals[f])};
    }
    rc = lstore_write(s, &id, v, nf, s_wall_ms(), e);
    *ops += nf;
  }
  if (rc == 0)
    rc = lstore_digest(s, "", 0, want, e);
  free(vals);
  ident_wipe(&id);
  lstore_close(&s);
  return rc;
}

/* How many times the village's log says its parent connection was cut. */
static int
s_cuts(const bnode *v)
{
  FILE *f = fopen(v->log, "r");
  if (f == NULL)
    return -1;
  char *line = NULL;
  size_t cap = 0;
  int n = 0;
  while (getline(&line, &cap, f) > 0)
    n += strstr(line, "] disconnected from parent") != NULL;
  free(line);
  fclose(f);
  return n;
}

/* ---- one run ---- */

typedef struct grun {
  uint64_t ops;
  double secs;
  uint64_t up, down;        /* during the transfer */
  double idle_up, idle_down; /* bytes a minute of the real line (day only) */
  int cuts;
} grun;

/* One run in a fresh directory: the offline work, link-up, until the
 * street is in sync; then, for day, the idle line. */
static int
s_run(const char *exe, bool backlog, bool quick, grun *out, lerr *e)
{
  char top[] = "/tmp/linli-bench-gprs-XXXXXX", vdir[64], sdir[64], conf[1024], vconf[1024];
  bnode village = {0}, street = {0};
  gline line = {0};
  ldigest want;
  uint64_t t_synced = 0, t_up, u0, d0, u1, d1;
  const char *fast = "link_heartbeat = 6\nlink_resync = 180\n";
  uint32_t n = backlog ? (quick ? 2 : 300) : (quick ? 20 : 200);
  double idle_s = quick ? 6 : 30;
  memset(out, 0, sizeof *out);
  if (mkdtemp(top) == NULL)
    return lerr_set(e, LINLI_EIO, "cannot make a temporary directory");
  snprintf(vdir, sizeof vdir, "%s/village", top);
  snprintf(sdir, sizeof sdir, "%s/street", top);
  int rc = s_offline(vdir, backlog, n, &out->ops, &want, e);
  if (rc == 0)
    rc = lstore_init(sdir, "street", NULL, NULL, e);
  if (rc == 0)
    rc = bnode_init(&village, "village", vdir, e);
  if (rc == 0)
    rc = bnode_init(&street, "street", sdir, e);
  for (int phase = 0; rc == 0 && phase < (backlog ? 1 : 2); phase++) {
    /* phase 0: the transfer at the real settings; 1: idle, timers x10 */
    const char *extra = phase ? fast : "";
    snprintf(conf, sizeof conf,
             "name = street\nrole = street\ndata = %s\nlisten = tcp://127.0.0.1:%%d\n"
             "child = %s village\nlink = gprs\n%s",
             sdir, village.pk_hex, extra);
    if ((rc = bnode_start_listening(&street, exe, conf, NULL, e)) != 0)
      break;
    if (phase == 0) {
      line.port = bench_free_port(); /* the line comes up later */
    } else {
      /* the line is up from the start; the relay follows the street */
      s_line_stop(&line);
      line.port = 0;
      if ((rc = s_line_start(&line, top, street.port, e)) != 0)
        break;
    }
    snprintf(vconf, sizeof vconf,
             "name = village\nrole = village\ndata = %s\n"
             "parent = tcp://127.0.0.1:%d %s street\nlink = gprs\n%s",
             vdir, line.port, street.pk_hex, extra);
    if ((rc = bnode_start(&village, exe, vconf, NULL, e)) != 0)
      break;
    if (phase == 0) {
      s_sleep(quick ? 1 : 3); /* the village retries: the line is down */
      t_up = s_wall_ms();
      if ((rc = s_line_start(&line, top, street.port, e)) != 0 ||
          (rc = bnode_wait_log(&street, "] synced with village", S_SYNC_TIMEOUT_S, &t_synced,
                               e)) != 0 ||
          (rc = bnode_check_digest(&street, &want, e)) != 0 ||
          (rc = s_line_bytes(&line, &out->up, &out->down, e)) != 0)
        break;
      out->secs = t_synced > t_up ? (double)(t_synced - t_up) / 1000.0 : 0;
      out->cuts = s_cuts(&village);
    } else {
      uint64_t t_in;
      if ((rc = bnode_wait_log(&street, "] in sync with village", 60, &t_in, e)) != 0)
        break;
      s_sleep(3);
      if ((rc = s_line_bytes(&line, &u0, &d0, e)) != 0)
        break;
      s_sleep(idle_s);
      if ((rc = s_line_bytes(&line, &u1, &d1, e)) != 0)
        break;
      /* idle_s at ten times the rate is idle_s * 10 / 60 minutes */
      double minutes = idle_s * 10.0 / 60.0;
      out->idle_up = (double)(u1 - u0) / minutes;
      out->idle_down = (double)(d1 - d0) / minutes;
    }
    if ((rc = bnode_stop(&village, e)) != 0 || (rc = bnode_stop(&street, e)) != 0)
      break;
  }
  s_line_stop(&line);
  bnode_kill(&village);
  bnode_kill(&street);
  bnode_fini(&village);
  bnode_fini(&street);
  if (rc == 0)
    bench_rmrf(top);
  else
    fprintf(stderr, "linli-bench: gprs: logs kept in %s\n", top);
  return rc;
}

int
bench_gprs(bool quick, bool json)
{
  char exe[PATH_MAX];
  lerr e = {0};
  int runs = quick ? 1 : S_RUNS;
  grun r;
  double day[S_RUNS], up[S_RUNS], down[S_RUNS], iup[S_RUNS], idown[S_RUNS];
  double bl[S_RUNS], blup[S_RUNS], bldown[S_RUNS], blcuts[S_RUNS];
  uint64_t day_ops = 0, bl_ops = 0;
  if (bench_node_exe(exe, sizeof exe, &e) != 0) {
    fprintf(stderr, "linli-bench: gprs: %s\n", e.msg);
    return 1;
  }
  for (int k = 0; k < runs; k++) {
    if (s_run(exe, false, quick, &r, &e) != 0) {
      fprintf(stderr, "linli-bench: gprs: day: %s\n", e.msg);
      return 1;
    }
    day_ops = r.ops;
    day[k] = r.secs;
    up[k] = (double)r.up;
    down[k] = (double)r.down;
    iup[k] = r.idle_up;
    idown[k] = r.idle_down;
  }
  double m_day = bench_median(day, runs), m_up = bench_median(up, runs), m_down = bench_median(down, runs),
         m_iup = bench_median(iup, runs), m_idown = bench_median(idown, runs);
  if (json) {
    printf("{\"scenario\":\"gprs-day\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
           "\"bytes_up\":%.0f,\"bytes_down\":%.0f,\"runs\":%d}\n",
           (unsigned long long)day_ops, m_day, m_day > 0 ? (double)day_ops / m_day : 0, m_up,
           m_down, runs);
    printf("{\"scenario\":\"gprs-idle\",\"bytes_per_min_up\":%.0f,\"bytes_per_min_down\":%.0f,"
           "\"runs\":%d}\n",
           m_iup, m_idown, runs);
  } else {
    printf("%-14s %10llu ops: link-up to equal digests %.2f s, %.0f B up, %.0f B down "
           "(GPRS line, median of %d)\n",
           "gprs-day", (unsigned long long)day_ops, m_day, m_up, m_down, runs);
    printf("%-14s idle line %.0f B/min up, %.0f B/min down (payload; median of %d)\n",
           "gprs-idle", m_iup, m_idown, runs);
  }
  fflush(stdout);
  for (int k = 0; k < runs; k++) {
    if (s_run(exe, true, quick, &r, &e) != 0) {
      fprintf(stderr, "linli-bench: gprs: backlog: %s\n", e.msg);
      return 1;
    }
    bl_ops = r.ops;
    bl[k] = r.secs;
    blup[k] = (double)r.up;
    bldown[k] = (double)r.down;
    blcuts[k] = r.cuts;
  }
  double m_bl = bench_median(bl, runs), m_blup = bench_median(blup, runs),
         m_bldown = bench_median(bldown, runs), m_cuts = bench_median(blcuts, runs);
  double bps = m_bl > 0 ? m_blup / m_bl : 0;
  if (json)
    printf("{\"scenario\":\"gprs-backlog\",\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.1f,"
           "\"bytes_up\":%.0f,\"bytes_down\":%.0f,\"bytes_per_s\":%.0f,\"line_use\":%.2f,"
           "\"completed\":true,\"cuts\":%.0f,\"runs\":%d}\n",
           (unsigned long long)bl_ops, m_bl, m_bl > 0 ? (double)bl_ops / m_bl : 0, m_blup,
           m_bldown, bps, bps / S_RATE, m_cuts, runs);
  else
    printf("%-14s %10llu ops, %.0f B up: completed in %.1f s, %.0f B/s (%.0f%% of the line), "
           "%.0f B down, cut %.0f times (median of %d)\n",
           "gprs-backlog", (unsigned long long)bl_ops, m_blup, m_bl, bps, 100.0 * bps / S_RATE,
           m_bldown, m_cuts, runs);
  fflush(stdout);
  return 0;
}
