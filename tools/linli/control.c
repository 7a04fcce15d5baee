/*
 * control.c - the CLI and a running linli-node.
 *
 * The daemon owns the data directory while it runs (RocksDB allows one
 * process).  So the CLI first looks for the daemon's control socket,
 * DIR/control.sock: when a daemon answers there, the command line goes to it
 * (msgpack ["linli-ctl-v1", cwd, argv]) and the daemon runs the very same
 * command code against its open store (cli_exec), capturing what it prints;
 * the CLI prints the answer and exits with its status.  When no daemon
 * listens, the CLI works on the directory itself (embedded mode).
 *
 * Capturing output relies on glibc, where stdout and stderr are ordinary
 * variables that may be assigned (glibc manual, "Standard Streams"): the
 * commands keep writing to stdout and stderr and need no second code path.
 */
#include "tools/linli/cli.h"
#include "crdt/hlc.h"
#include "node/daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

void *cli_daemon;
static lstore *s_shared;

lstore *
cli_shared_store(void)
{
  return s_shared;
}

void
cli_close(lstore **s)
{
  if (*s != NULL && *s != s_shared)
    lstore_close(s);
  *s = NULL;
}

int
cli_exec(void *ctx, lstore *s, const char *cwd, int argc, char **argv, lbuf *out, lbuf *err)
{
  (void)cwd; /* the client sends file names already made absolute */
  char *ob = NULL, *eb = NULL;
  size_t on = 0, en = 0;
  FILE *fo = open_memstream(&ob, &on), *fe = open_memstream(&eb, &en);
  if (fo == NULL || fe == NULL) {
    if (fo)
      fclose(fo);
    if (fe)
      fclose(fe);
    lbuf_put(err, "linli: the daemon cannot capture output\n", 40);
    return CLI_FAIL;
  }
  FILE *so = stdout, *se = stderr;
  stdout = fo;
  stderr = fe;
  s_shared = s;
  cli_daemon = ctx;
  int rc = cli_main(argc, argv);
  fflush(fo);
  fflush(fe);
  stdout = so;
  stderr = se;
  s_shared = NULL;
  cli_daemon = NULL;
  fclose(fo);
  fclose(fe);
  lbuf_put(out, ob, on);
  lbuf_put(err, eb, en);
  free(ob);
  free(eb);
  return rc;
}

/* Is anything accepting connections on the socket file?  A socket file
 * left by a daemon that died refuses them: then the CLI works alone. */
static bool
s_listening(const char *path)
{
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path || access(path, F_OK) != 0)
    return false;
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

bool
cli_daemon_listening(const cli *c)
{
  char dir[PATH_MAX], sock[PATH_MAX + 32];
  if (realpath(c->dir, dir) == NULL)
    return false;
  snprintf(sock, sizeof sock, "%s/control.sock", dir);
  return s_listening(sock);
}

/* `arg` with the file name at `file` (inside arg) made absolute. */
static char *
s_absolute(const char *arg, const char *file, const char *cwd)
{
  size_t pre = (size_t)(file - arg);
  size_t n = pre + strlen(cwd) + strlen(file) + 2;
  char *r = malloc(n);
  if (r == NULL)
    return NULL;
  if (file[0] == '/')
    snprintf(r, n, "%s", arg);
  else
    snprintf(r, n, "%.*s%s/%s", (int)pre, arg, cwd, file);
  return r;
}

static const char *
s_file_in(const char *arg, const char *const *files, int nfiles)
{
  for (int k = 0; k < nfiles; k++)
    if (files[k] != NULL && files[k] >= arg && files[k] <= arg + strlen(arg))
      return files[k];
  return NULL;
}

int
cli_forward(const cli *c, int argc, char **argv, int *status)
{
  char dir[PATH_MAX], sock[PATH_MAX + 32], endpoint[PATH_MAX + 64], cwd[PATH_MAX];
  if (realpath(c->dir, dir) == NULL || getcwd(cwd, sizeof cwd) == NULL)
    return 0;
  snprintf(sock, sizeof sock, "%s/control.sock", dir);
  if (!s_listening(sock))
    return 0;
  snprintf(endpoint, sizeof endpoint, "ipc://%s", sock);
  const char *files[5] = {c->out, c->for_file, c->key,
                          strcmp(c->cmd, "import") == 0 && c->argc > 0 ? c->argv[0] : NULL,
                          (strcmp(c->cmd, "schema") == 0 || strcmp(c->cmd, "import-csv") == 0) &&
                                  c->argc > 1 ? c->argv[1] : NULL};
  lbuf req;
  lbuf_init(&req);
  mpw w;
  mpw_init(&w, &req);
  mpw_array(&w, 3);
  mpw_cstr(&w, "linli-ctl-v1");
  mpw_cstr(&w, cwd);
  mpw_array(&w, (uint32_t)argc);
  for (int i = 0; i < argc; i++) {
    const char *f = s_file_in(argv[i], files, 5);
    char *abs = f ? s_absolute(argv[i], f, cwd) : NULL;
    mpw_cstr(&w, abs ? abs : argv[i]);
    free(abs);
  }
  *status = CLI_FAIL;
  void *ctx = zmq_ctx_new();
  void *req_sock = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
  int linger = 0, rc = -1;
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (req_sock == NULL || req.oom) {
    cli_fail("cannot reach the daemon at %s", sock);
    goto done;
  }
  zmq_setsockopt(req_sock, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_connect(req_sock, endpoint) != 0 || zmq_send(req_sock, req.p, req.len, 0) < 0) {
    cli_fail("cannot reach the daemon at %s: %s", sock, zmq_strerror(zmq_errno()));
    goto done;
  }
  /* A command may take long (an import); the daemon answers when done. */
  zmq_pollitem_t it = {.socket = req_sock, .events = ZMQ_POLLIN};
  int waited = 0;
  bool gone = false;
  while ((rc = zmq_poll(&it, 1, 1000)) == 0 && ++waited < 3600)
    if ((gone = !s_listening(sock)))
      break;
  if (gone) {
    /* Stopped before answering: it may or may not have run the command. */
    cli_fail("the linli-node of %s stopped before answering; the command may not have run "
             "(check, then retry)", dir);
    goto done;
  }
  if (rc <= 0 || zmq_msg_recv(&m, req_sock, 0) < 0) {
    cli_fail("the daemon at %s did not answer", sock);
    goto done;
  }
  mpr r;
  int64_t code;
  const uint8_t *o, *er;
  uint32_t on, en;
  mpr_init(&r, zmq_msg_data(&m), zmq_msg_size(&m));
  if (mpr_array_n(&r, 3) || mpr_int(&r, &code) || mpr_bin(&r, &o, &on) || mpr_bin(&r, &er, &en)) {
    cli_fail("the daemon at %s sent a malformed answer", sock);
    goto done;
  }
  fwrite(o, 1, on, stdout);
  fwrite(er, 1, en, stderr);
  *status = (int)code;
done:
  zmq_msg_close(&m);
  if (req_sock)
    zmq_close(req_sock);
  if (ctx)
    zmq_ctx_term(ctx);
  lbuf_free(&req);
  return 1;
}

/* The peers part of `linli status`, when it runs inside the daemon. */
void
cli_print_peers(FILE *f, jw *w)
{
  ldaemon_peer_status *p = NULL;
  uint32_t n = 0;
  lerr e = {0};
  if (cli_daemon == NULL || daemon_peer_status(cli_daemon, &p, &n, &e) != 0) {
    if (w) {
      jw_key(w, "daemon");
      jw_bool(w, false);
    } else {
      fputs("daemon:   not running (this command opened the data directory itself)\n", f);
    }
    return;
  }
  if (w) {
    jw_key(w, "daemon");
    jw_bool(w, true);
    jw_key(w, "peers");
    jw_arr_begin(w);
  } else {
    fputs("daemon:   running\npeers:\n", f);
  }
  for (uint32_t i = 0; i < n; i++) {
    char when[64] = "never";
    if (p[i].last_sync_ms)
      cli_time(when, sizeof when, hlc_make(p[i].last_sync_ms, 0));
    if (w) {
      jw_obj_begin(w);
      jw_key(w, "name");
      jw_str(w, p[i].name);
      jw_key(w, "id");
      jw_hex(w, p[i].pk, LINLI_PK_BYTES);
      jw_key(w, "role");
      jw_str(w, p[i].parent ? "parent" : "child");
      jw_key(w, "connected");
      jw_bool(w, p[i].connected);
      jw_key(w, "banned");
      jw_bool(w, p[i].banned);
      jw_key(w, "last_sync_ms");
      jw_uint(w, p[i].last_sync_ms);
      jw_key(w, "ops_behind_out");
      jw_uint(w, p[i].ops_behind_out);
      jw_key(w, "ops_behind_in");
      jw_uint(w, p[i].ops_behind_in);
      jw_key(w, "clock_offset_ms");
      jw_int(w, p[i].clock_offset_ms);
      jw_key(w, "rtt_ms");
      jw_uint(w, p[i].rtt_ms);
      jw_key(w, "ops_sent");
      jw_uint(w, p[i].ops_sent);
      jw_key(w, "ops_received");
      jw_uint(w, p[i].ops_received);
      jw_key(w, "duplicate_connection_ms");
      jw_uint(w, p[i].duplicate_ms);
      jw_obj_end(w);
    } else {
      fprintf(f, "  %-7s %s (%s) %s%s, last sync %s, they lack %llu ops, we lack %llu ops, "
                 "clock offset %+lld ms\n",
              p[i].parent ? "parent" : "child", p[i].name, p[i].short_id,
              p[i].connected ? "connected" : "not connected", p[i].banned ? " (refused)" : "",
              when, (unsigned long long)p[i].ops_behind_out,
              (unsigned long long)p[i].ops_behind_in, (long long)p[i].clock_offset_ms);
      if (p[i].duplicate_ms) {
        char dup[64];
        cli_time(dup, sizeof dup, hlc_make(p[i].duplicate_ms, 0));
        fprintf(f, "          ERROR: two live connections with this key (also from %s), last "
                   "seen %s: two nodes run with one identity; stop one\n",
                p[i].duplicate_address, dup);
      }
    }
  }
  if (w)
    jw_arr_end(w);
  free(p);
}
