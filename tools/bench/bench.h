/*
 * bench.h - what the parts of linli-bench share.
 *
 * main.c generates the village workload and runs the in-process scenarios
 * (ingest, sync-bytes, in-sync); nodes.c starts and watches real linli-node
 * processes; daemons.c runs the scenarios that need them (catch-up,
 * village).  docs/BENCHMARKS.md explains every scenario and its numbers.
 */
#ifndef LINLI_BENCH_H
#define LINLI_BENCH_H

#include "crdt/err.h"
#include "crdt/mp.h"
#include "node/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The generated workload: every author's signed deltas, in memory. */
typedef struct workload {
  uint32_t authors, ops_per_author, batch;
  uint32_t group; /* deltas per ingest commit */
  lbuf *deltas; /* authors * (ops_per_author / batch), author-major */
  uint32_t ndeltas;
  uint32_t checksum;
  uint64_t ops;
} workload;

/* Seconds on the monotonic clock. */
double bench_now(void);

/* rm -rf DIR (a complaint on stderr when it fails). */
void bench_rmrf(const char *dir);

/* The median of v[0..n-1] (sorted in place). */
double bench_median(double *v, int n);

/* Creates the data directory `dir` (a fresh node key, store name `name`)
 * and ingests the first `keep` deltas of every author, in groups of 1,000
 * deltas as a district would, through the store opened with `profile`.
 * The store is closed again; `digest` (may be NULL) gets its digest.
 * Returns 0 or a LINLI_E* code with `e` filled. */
int bench_fill(const char *dir, const char *name, const workload *w, uint32_t keep,
               int profile, ldigest *digest, lerr *e);

/* The audit scenario (audit.c): `w` was generated under `root` (every log
 * opens with its certificate).  A district store under that root ingests
 * it (reported as ingest-trust: the ingest with every trust rule on), then
 * `linli audit --root` runs over the data directory as its own process. */
int bench_audit(const workload *w, const uint8_t root[LINLI_PK_BYTES], bool json);

/* ---- linli-node processes (nodes.c) ---- */

typedef struct bnode {
  char name[32];
  char dir[256];        /* data directory */
  char conf[288];       /* configuration file, beside the data directory */
  char log[288];        /* its stderr */
  char pk_hex[2 * LINLI_PK_BYTES + 1];
  int port;             /* listening port, 0 when it does not listen */
  pid_t pid;            /* 0 when not running */
  long log_mark;        /* log_find looks at lines from this offset on */
  void *zctx, *req;     /* control socket client, opened on first use */
} bnode;

/* The directory this program was started from, to find linli-node and
 * linli beside it.  0 or LINLI_EIO. */
int bench_exe_dir(char *out, size_t cap, lerr *e);

/* Starts argv[0] with argv, stdin and stdout on /dev/null and stderr
 * appended to `log`; it gets SIGTERM when linli-bench dies, and
 * bench_nodes_guard kills it.  The pid, or -1 with `e` filled. */
pid_t bench_spawn(char *const argv[], const char *log, lerr *e);
/* SIGKILL and reap a process bench_spawn started.  Safe on 0. */
void bench_kill(pid_t pid);

/* Sets up `n` for a data directory `dir` that exists already (its key is
 * read from DIR/node.key.pub); the configuration and log files are
 * DIR.conf and DIR.log. */
int bnode_init(bnode *n, const char *name, const char *dir, lerr *e);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int bench_free_port(void);

/* Writes `conf_text` to n->conf, starts `node_exe -c n->conf` with its
 * stderr appended to n->log, and waits (up to 60 s) for the "started" line
 * and the control socket.  *started_ms (may be NULL) gets the wall-clock
 * time the node logged as its start.  LINLI_EBUSY when the node exited at
 * start because its port was taken (pick another and try again), LINLI_EIO
 * for any other failure, with the log's last line in `e`. */
int bnode_start(bnode *n, const char *node_exe, const char *conf_text, uint64_t *started_ms,
                lerr *e);

/* A size line of /proc/PID/status ("VmHWM", "VmRSS"), in MB (MiB);
 * negative when the process or the line is not there (an exited process
 * has none). */
double bench_status_mb(pid_t pid, const char *key);

/* Peak and current resident set of the running node, from
 * /proc/PID/status (VmHWM, VmRSS), in MB (MiB); negative when unknown. */
double bnode_peak_rss_mb(const bnode *n);
double bnode_rss_mb(const bnode *n);

/* Runs `linli -d DIR ARGS...` through the node's control socket and puts
 * what the command printed in `out` (replaced).  Returns the command's exit
 * status, or a negative LINLI_E* code when the node did not answer. */
int bnode_ctl(bnode *n, const char *const *args, int nargs, lbuf *out, lerr *e);

/* Looks in the node's log, from n->log_mark on, for a line containing
 * `needle`; 1 and *when_ms (the line's time stamp) when found, else 0.
 * With `advance`, n->log_mark moves past the line found. */
int bnode_log_find(bnode *n, const char *needle, bool advance, uint64_t *when_ms);

/* Waits up to `seconds` for a log line containing `needle`, looking every
 * 20 ms (the time returned is the line's own, so the interval does not
 * matter).  LINLI_EIO when it does not come in time or the node exits. */
int bnode_wait_log(bnode *n, const char *needle, double seconds, uint64_t *when_ms, lerr *e);

/* SIGTERM, then waits up to 30 s; 0 when the node exited with status 0.
 * After that, SIGKILL.  n->pid becomes 0.  Safe when not running. */
int bnode_stop(bnode *n, lerr *e);

/* SIGKILL and reap; for failure paths.  Safe when not running. */
void bnode_kill(bnode *n);

/* Closes the control socket client. */
void bnode_fini(bnode *n);

/* Installs SIGINT/SIGTERM handlers that kill every running node before
 * this process dies. */
void bench_nodes_guard(void);

/* ---- scenarios with real nodes (daemons.c) ---- */

/* The path of linli-node beside linli-bench, checked to be executable. */
int bench_node_exe(char *out, size_t cap, lerr *e);

/* Starts a node that listens on a free port of 127.0.0.1 (n->port); `conf`
 * is a format with one %d, the port.  A port taken meanwhile by someone
 * else makes the node exit at start: then another is tried. */
int bnode_start_listening(bnode *n, const char *exe, const char *conf, uint64_t *started_ms,
                          lerr *e);

/* 0 when the node's store digest (of everything) is `want`. */
int bnode_check_digest(bnode *n, const ldigest *want, lerr *e);

/* catch-up: a node holding the whole workload and an empty one, two
 * linli-node processes over CURVE on loopback; prints one line or JSON
 * object.  0 or 1. */
int bench_catch_up(const workload *w, bool json);

/* village: a village-profile node holding the workload's records, idle,
 * sending everything up to an empty street, then restored from it. */
int bench_village(const workload *w, bool json);

/* ---- gprs.c ---- */

/* gprs: a street and a village (linli-node, link = gprs) over linkrelay's
 * GPRS line: a day of work from link-up to equal digests, the idle line's
 * bytes a minute, a 1 MB backlog's completion; medians of three runs (one,
 * and small, with quick).  0 or 1. */
int bench_gprs(bool quick, bool json);

/* ---- records.c ---- */

/* query: 100,000 households of ten villages (10,000 with quick) written
 * through a schema's household type, then lrecords_query without a filter,
 * with one, with two, and in one village.  0 or 1. */
int bench_query(bool quick, bool json);

#endif
