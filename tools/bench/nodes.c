/*
 * nodes.c - linli-node processes for linli-bench: start one on a
 * configuration, talk to it through its control socket, read its log and
 * its memory figures, stop it.
 *
 * The benchmark measures the programs that stations run, so it starts the
 * real linli-node binary (found beside linli-bench) rather than calling the
 * daemon's code in-process: each node then has its own address space, and
 * its peak resident set (VmHWM in /proc/PID/status) is that node's alone.
 *
 * Times come from the nodes' own log lines, which carry milliseconds of
 * wall-clock time: the benchmark looks at the logs every 20 ms, but a
 * duration is the difference between two time stamps the nodes wrote, so
 * it does not depend on how often anyone looked.
 *
 * A benchmark that stops half-way must not leave daemons behind: every
 * child is started with PR_SET_PDEATHSIG (it gets SIGTERM when linli-bench
 * dies, however it dies), every failure path of the scenarios kills what
 * it started, and bench_nodes_guard() makes Ctrl-C do the same.
 */
#include "tools/bench/bench.h"

#include "node/keyfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_MAX_CHILDREN 8
#define S_LOOK_MS 20

static volatile pid_t s_children[S_MAX_CHILDREN];

static void
s_sleep_ms(long ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void
s_track(pid_t pid, bool on)
{
  for (int i = 0; i < S_MAX_CHILDREN; i++)
    if (on ? s_children[i] == 0 : s_children[i] == pid) {
      s_children[i] = on ? pid : 0;
      return;
    }
}

static void
s_on_signal(int sig)
{
  for (int i = 0; i < S_MAX_CHILDREN; i++)
    if (s_children[i] > 0)
      kill(s_children[i], SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

void
bench_nodes_guard(void)
{
  struct sigaction sa = {.sa_handler = s_on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int
bench_exe_dir(char *out, size_t cap, lerr *e)
{
  ssize_t n = readlink("/proc/self/exe", out, cap - 1);
  if (n <= 0 || (size_t)n >= cap - 1)
    return lerr_set(e, LINLI_EIO, "cannot read /proc/self/exe");
  out[n] = '\0';
  char *slash = strrchr(out, '/');
  if (slash == NULL)
    return lerr_set(e, LINLI_EIO, "/proc/self/exe is not a path: %s", out);
  *slash = '\0';
  return 0;
}

int
bnode_init(bnode *n, const char *name, const char *dir, lerr *e)
{
  memset(n, 0, sizeof *n);
  char pub[300];
  uint8_t pk[LINLI_PK_BYTES];
  if (snprintf(n->name, sizeof n->name, "%s", name) >= (int)sizeof n->name ||
      snprintf(n->dir, sizeof n->dir, "%s", dir) >= (int)sizeof n->dir ||
      snprintf(n->conf, sizeof n->conf, "%s.conf", dir) >= (int)sizeof n->conf ||
      snprintf(n->log, sizeof n->log, "%s.log", dir) >= (int)sizeof n->log ||
      snprintf(pub, sizeof pub, "%s/node.key.pub", dir) >= (int)sizeof pub)
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", dir);
  if (keyfile_read_pub(pub, pk, e) != 0)
    return e ? e->code : LINLI_EIO;
  hex_encode(n->pk_hex, pk, LINLI_PK_BYTES);
  return 0;
}

int
bench_free_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  int port = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* The last non-empty line of the file at `path` from offset `from`. */
static void
s_last_line(const char *path, long from, char *out, size_t cap)
{
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  fseek(f, from, SEEK_SET);
  while ((len = getline(&line, &lcap, f)) > 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (len > 0)
      snprintf(out, cap, "%s", line);
  }
  free(line);
  fclose(f);
}

/* "2026-11-28T04:55:00.123Z ..." -> milliseconds since the epoch. */
static bool
s_stamp(const char *line, uint64_t *ms)
{
  struct tm tm = {0};
  int milli;
  if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &milli) != 7)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return false;
  *ms = (uint64_t)t * 1000u + (uint64_t)milli;
  return true;
}

int
bnode_log_find(bnode *n, const char *needle, bool advance, uint64_t *when_ms)
{
  FILE *f = fopen(n->log, "r");
  if (f == NULL)
    return 0;
  char *line = NULL;
  size_t cap = 0;
  int found = 0;
  if (fseek(f, n->log_mark, SEEK_SET) == 0) {
    while (getline(&line, &cap, f) > 0) {
      /* A line still being written has no newline yet: read it next time. */
      if (strchr(line, '\n') == NULL)
        break;
      if (strstr(line, needle) != NULL) {
        found = s_stamp(line, when_ms) ? 1 : 0;
        if (found && advance)
          n->log_mark = ftell(f);
        if (found)
          break;
      }
    }
  }
  free(line);
  fclose(f);
  return found;
}

/* Reaps the node if it has exited; true then, with *status. */
static bool
s_reaped(bnode *n, int *status)
{
  *status = 0;
  if (n->pid <= 0)
    return true;
  pid_t r = waitpid(n->pid, status, WNOHANG);
  if (r == n->pid || (r < 0 && errno == ECHILD)) {
    s_track(n->pid, false);
    n->pid = 0;
    return true;
  }
  return false;
}

static int
s_exited_err(bnode *n, int status, const char *what, lerr *e)
{
  char last[400];
  s_last_line(n->log, 0, last, sizeof last);
  if (WIFSIGNALED(status))
    return lerr_set(e, LINLI_EIO, "%s: linli-node was killed by signal %d %s; its log ends: %s",
                    n->name, WTERMSIG(status), what, last);
  return lerr_set(e, LINLI_EIO, "%s: linli-node exited with status %d %s; its log ends: %s",
                  n->name, WEXITSTATUS(status), what, last);
}

pid_t
bench_spawn(char *const argv[], const char *log, lerr *e)
{
  int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0) {
    lerr_set(e, LINLI_EIO, "cannot open %s: %s", log, strerror(errno));
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(logfd);
    lerr_set(e, LINLI_EIO, "fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    /* The child: only async-signal-safe calls until exec. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(127);
    int nul = open("/dev/null", O_RDWR);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(logfd, 2) < 0)
      _exit(127);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
  }
  close(logfd);
  s_track(pid, true);
  return pid;
}

void
bench_kill(pid_t pid)
{
  if (pid <= 0)
    return;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  s_track(pid, false);
}

int
bnode_start(bnode *n, const char *node_exe, const char *conf_text, uint64_t *started_ms,
            lerr *e)
{
  FILE *f = fopen(n->conf, "w");
  if (f == NULL || fputs(conf_text, f) == EOF || fclose(f) != 0)
    return lerr_set(e, LINLI_EIO, "cannot write %s: %s", n->conf, strerror(errno));
  struct stat st;
  n->log_mark = stat(n->log, &st) == 0 ? (long)st.st_size : 0;
  char *argv[] = {(char *)node_exe, "-c", n->conf, NULL};
  pid_t pid = bench_spawn(argv, n->log, e);
  if (pid < 0)
    return LINLI_EIO;
  n->pid = pid;
  for (double t0 = bench_now(); bench_now() - t0 < 60;) {
    int status;
    if (s_reaped(n, &status)) {
      char last[400];
      s_last_line(n->log, n->log_mark, last, sizeof last);
      if (strstr(last, "cannot listen") != NULL)
        return lerr_set(e, LINLI_EBUSY, "%s: %s", n->name, last);
      return s_exited_err(n, status, "at start", e);
    }
    char sock[300];
    uint64_t ms;
    snprintf(sock, sizeof sock, "%s/control.sock", n->dir);
    if (access(sock, F_OK) == 0 && bnode_log_find(n, "] started ", false, &ms)) {
      if (started_ms)
        *started_ms = ms;
      return 0;
    }
    s_sleep_ms(S_LOOK_MS);
  }
  bnode_kill(n);
  return lerr_set(e, LINLI_EIO, "%s: linli-node did not start within 60 s", n->name);
}

double
bench_status_mb(pid_t pid, const char *key)
{
  if (pid <= 0)
    return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  double mb = -1;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      mb = strtod(line + klen + 1, NULL) / 1024.0; /* the kernel writes kB */
      break;
    }
  }
  fclose(f);
  return mb;
}

double
bnode_peak_rss_mb(const bnode *n)
{
  return bench_status_mb(n->pid, "VmHWM");
}

double
bnode_rss_mb(const bnode *n)
{
  return bench_status_mb(n->pid, "VmRSS");
}

int
bnode_ctl(bnode *n, const char *const *args, int nargs, lbuf *out, lerr *e)
{
  if (n->zctx == NULL && (n->zctx = zmq_ctx_new()) == NULL)
    return lerr_set(e, LINLI_EIO, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
  if (n->req == NULL) {
    char ep[300];
    int linger = 0, timeout = 30000;
    snprintf(ep, sizeof ep, "ipc://%s/control.sock", n->dir);
    n->req = zmq_socket(n->zctx, ZMQ_REQ);
    if (n->req == NULL || zmq_setsockopt(n->req, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(n->req, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_connect(n->req, ep) != 0) {
      int rc = lerr_set(e, LINLI_EIO, "%s: control socket: %s", n->name,
                        zmq_strerror(zmq_errno()));
      if (n->req)
        zmq_close(n->req);
      n->req = NULL;
      return rc;
    }
  }
  lbuf req;
  lbuf_init(&req);
  mpw w;
  mpw_init(&w, &req);
  /* A typed control request (docs/OPERATING.md, "The control socket"):
   * the command, its arguments, no options, no files. */
  mpw_array(&w, 5);
  mpw_cstr(&w, "linli-ctl-v2");
  mpw_cstr(&w, nargs > 0 ? args[0] : "");
  mpw_array(&w, nargs > 0 ? (uint32_t)nargs - 1 : 0);
  for (int i = 1; i < nargs; i++)
    mpw_cstr(&w, args[i]);
  mpw_array(&w, 0);
  mpw_array(&w, 0);
  int rc = LINLI_EIO;
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (req.oom) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  } else if (zmq_send(n->req, req.p, req.len, 0) < 0 || zmq_msg_recv(&m, n->req, 0) < 0) {
    /* A REQ socket that missed its answer cannot be used again. */
    rc = lerr_set(e, LINLI_EIO, "%s: the node did not answer on its control socket: %s",
                  n->name, zmq_strerror(zmq_errno()));
    zmq_close(n->req);
    n->req = NULL;
  } else {
    mpr r;
    int64_t code;
    const uint8_t *o, *er;
    uint32_t on, en;
    mpr_init(&r, zmq_msg_data(&m), zmq_msg_size(&m));
    uint32_t nfiles;
    if (mpr_array_n(&r, 4) || mpr_int(&r, &code) || mpr_bin(&r, &o, &on) ||
        mpr_bin(&r, &er, &en) || mpr_array(&r, &nfiles)) {
      rc = lerr_set(e, LINLI_EMALFORMED, "%s: malformed control answer", n->name);
    } else {
      lbuf_reset(out);
      lbuf_put(out, o, on);
      if (code != 0)
        lerr_set(e, LINLI_EIO, "%s: linli %s: %.*s", n->name, nargs ? args[0] : "",
                 (int)(en > 200 ? 200 : en), (const char *)er);
      rc = (int)code;
    }
  }
  zmq_msg_close(&m);
  lbuf_free(&req);
  return rc;
}

int
bnode_wait_log(bnode *n, const char *needle, double seconds, uint64_t *when_ms, lerr *e)
{
  for (double t0 = bench_now();;) {
    if (bnode_log_find(n, needle, true, when_ms))
      return 0;
    int status;
    if (s_reaped(n, &status))
      return s_exited_err(n, status, "unexpectedly", e);
    if (bench_now() - t0 > seconds)
      return lerr_set(e, LINLI_EIO, "%s: no \"%s\" in its log after %.0f s", n->name, needle,
                      seconds);
    s_sleep_ms(S_LOOK_MS);
  }
}

int
bnode_stop(bnode *n, lerr *e)
{
  if (n->pid <= 0)
    return 0;
  kill(n->pid, SIGTERM);
  int status = 0;
  for (double t0 = bench_now(); bench_now() - t0 < 30;) {
    if (s_reaped(n, &status)) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
      return s_exited_err(n, status, "after SIGTERM", e);
    }
    s_sleep_ms(S_LOOK_MS);
  }
  bnode_kill(n);
  return lerr_set(e, LINLI_EIO, "%s: linli-node did not stop within 30 s of SIGTERM", n->name);
}

void
bnode_kill(bnode *n)
{
  bench_kill(n->pid);
  n->pid = 0;
}

void
bnode_fini(bnode *n)
{
  if (n->req)
    zmq_close(n->req);
  n->req = NULL;
  if (n->zctx)
    zmq_ctx_term(n->zctx);
  n->zctx = NULL;
}
