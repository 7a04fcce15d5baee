/*
 * control.c - the CLI and a running linli-node.
 *
 * The daemon owns the data directory while it runs (RocksDB allows one
 * process).  So the CLI first looks for the daemon's control socket,
 * DIR/control.sock: when a daemon answers there, the CLI, having parsed and
 * checked the command line itself, sends a typed request (the command, its
 * arguments and options, and the contents of every file it reads), and the
 * daemon runs the very same command code against its open store (cli_exec),
 * capturing what it prints and the files it writes (files.c); the CLI
 * writes those files, prints the output and exits with the status.  The
 * request and the answer are specified in docs/OPERATING.md ("The control
 * socket").  When no daemon listens, the CLI works on the directory itself
 * (embedded mode).
 *
 * Capturing output relies on glibc, where stdout and stderr are ordinary
 * variables that may be assigned (glibc manual, "Standard Streams"): the
 * commands keep writing to stdout and stderr and need no second code path.
 */
#include "tools/linli/cli.h"
#include "crdt/arena.h"
#include "crdt/hlc.h"
#include "crdt/ident.h"
#include "node/daemon.h"
#include "node/fsutil.h"

#include <errno.h>
#include <sodium.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#define S_CTL_VERSION "linli-ctl-v2"
#define S_ARGS_MAX 4096     /* arguments in one request */
#define S_OPTS_MAX 64       /* options in one request */
#define S_WORD_MAX 65536    /* bytes of one argument or option value */
#define S_NAME_MAX 4096     /* bytes of a file name */

void *cli_daemon;
static lstore *s_shared;
static const lident *s_signer;

lstore *
cli_shared_store(void)
{
  return s_shared;
}

const lident *
cli_exec_as(void)
{
  return s_signer;
}

void
cli_close(lstore **s)
{
  if (*s != NULL && *s != s_shared)
    lstore_close(s);
  *s = NULL;
}

/* ---- the daemon's side ---- */

/* The answer: [status, stdout, stderr, [[NAME, MODE, CONTENTS]...]]. */
static void
s_answer(lbuf *reply, int code, const void *o, size_t on, const void *er, size_t en,
         const cli_files *files)
{
  mpw w;
  mpw_init(&w, reply);
  mpw_array(&w, 4);
  mpw_int(&w, code);
  mpw_bin(&w, o, on);
  mpw_bin(&w, er, en);
  mpw_array(&w, files != NULL ? files->n : 0);
  for (uint32_t i = 0; files != NULL && i < files->n; i++) {
    mpw_array(&w, 3);
    mpw_cstr(&w, files->v[i].name);
    mpw_uint(&w, files->v[i].mode);
    mpw_bin(&w, files->v[i].p, files->v[i].n);
  }
}

/* A request refused before any command ran: exit status 2, one line. */
static void
s_refuse(lbuf *reply, const char *msg)
{
  char line[512];
  int n = snprintf(line, sizeof line, "linli-node: %s\n", msg);
  s_answer(reply, CLI_USAGE, "", 0, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1,
           NULL);
}

/* One string of the request as a C string in `a`: NULL when it is not a
 * string, is longer than `max` or holds a NUL. */
static char *
s_word(mpr *r, larena *a, size_t max)
{
  const char *p;
  uint32_t n;
  if (mpr_str(r, &p, &n) != 0 || n > max || memchr(p, '\0', n) != NULL)
    return NULL;
  char *w = larena_alloc(a, (size_t)n + 1);
  if (w != NULL) {
    memcpy(w, p, n);
    w[n] = '\0';
  }
  return w;
}

/* Decodes ["linli-ctl-v2", COMMAND, [ARG...], [[OPTION, VALUE]...],
 * [[NAME, CONTENTS]...]] into c (the options not yet set: returned in
 * opts/vals) and `in`.  NULL, or what is wrong. */
static const char *
s_decode(mpr *r, larena *a, cli *c, const char **opts, const char **vals, uint32_t *nopts,
         cli_files *in)
{
  uint32_t n;
  lerr e = {0};
  if ((c->cmd = s_word(r, a, 32)) == NULL)
    return "malformed control request: the command is not a short string";
  if (mpr_array(r, &n) != 0 || n > S_ARGS_MAX)
    return "malformed control request: the arguments are not an array of at most 4096";
  c->argc = (int)n;
  c->argv = larena_alloc(a, ((size_t)n + 1) * sizeof *c->argv);
  if (c->argv == NULL)
    return "out of memory";
  for (uint32_t i = 0; i < n; i++)
    if ((c->argv[i] = s_word(r, a, S_WORD_MAX)) == NULL)
      return "malformed control request: an argument is not a string of at most 64 KiB "
             "without NUL";
  c->argv[n] = NULL;
  if (mpr_array(r, nopts) != 0 || *nopts > S_OPTS_MAX)
    return "malformed control request: the options are not an array of at most 64";
  for (uint32_t i = 0; i < *nopts; i++) {
    if (mpr_array_n(r, 2) != 0 || (opts[i] = s_word(r, a, 32)) == NULL)
      return "malformed control request: an option is not [NAME, VALUE]";
    if (mpr_peek(r) == MP_NIL) {
      mpr_nil(r);
      vals[i] = NULL;
    } else if ((vals[i] = s_word(r, a, S_WORD_MAX)) == NULL) {
      return "malformed control request: an option's value is neither nil nor a string of "
             "at most 64 KiB without NUL";
    }
  }
  if (mpr_array(r, &n) != 0 || n > CLI_FILES_MAX)
    return "malformed control request: the files are not an array of at most 16";
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *p;
    uint32_t pn;
    char *name;
    if (mpr_array_n(r, 2) != 0 || (name = s_word(r, a, S_NAME_MAX)) == NULL ||
        name[0] == '\0' || mpr_bin(r, &p, &pn) != 0)
      return "malformed control request: a file is not [NAME, CONTENTS] with a name of 1 to "
             "4096 bytes";
    if (cli_files_find(in, name) != NULL)
      return "malformed control request: a file is given twice";
    /* borrowed: the request's bytes outlive the command */
    if (cli_files_add(in, name, strlen(name), p, pn, 0, CLI_FILE_BORROW, &e) != 0)
      return "out of memory";
  }
  if (mpr_left(r) != 0)
    return "malformed control request: bytes after the request";
  return NULL;
}

void
cli_exec(void *ctx, lstore *s, const lident *as, const uint8_t *req, size_t n, lbuf *reply)
{
  mpr r;
  uint32_t top;
  const char *ver;
  uint32_t vn;
  mpr_init(&r, req, n);
  if (mpr_array(&r, &top) != 0 || top < 1 || mpr_str(&r, &ver, &vn) != 0) {
    s_refuse(reply, "not a linli control request");
    return;
  }
  if (vn != sizeof S_CTL_VERSION - 1 || memcmp(ver, S_CTL_VERSION, vn) != 0) {
    /* An older linli sends ["linli-ctl-v1", cwd, argv] and reads a
     * three-part answer: give it one it can print. */
    char line[300];
    snprintf(line, sizeof line,
             "linli-node: this linli speaks another control protocol (%.*s; linli-node %s "
             "speaks " S_CTL_VERSION "): use linli and linli-node of the same version\n",
             (int)(vn < 40 ? vn : 40), ver, LINLI_VERSION);
    mpw w;
    mpw_init(&w, reply);
    mpw_array(&w, 3);
    mpw_int(&w, CLI_USAGE);
    mpw_bin(&w, "", 0);
    mpw_bin(&w, line, strlen(line));
    return;
  }
  if (top != 5) {
    s_refuse(reply, "malformed control request: not 5 parts");
    return;
  }
  cli c = {0};
  larena a;
  cli_files in = {0}, out = {0};
  const char *opts[S_OPTS_MAX], *vals[S_OPTS_MAX];
  uint32_t nopts = 0;
  larena_init(&a);
  const char *bad = s_decode(&r, &a, &c, opts, vals, &nopts, &in);
  if (bad != NULL) {
    s_refuse(reply, bad);
    goto done;
  }
  c.dir = lstore_dir(s);

  char *ob = NULL, *eb = NULL;
  size_t on = 0, en = 0;
  FILE *fo = open_memstream(&ob, &on), *fe = open_memstream(&eb, &en);
  if (fo == NULL || fe == NULL) {
    if (fo)
      fclose(fo);
    if (fe)
      fclose(fe);
    s_refuse(reply, "cannot capture the command's output");
    goto done;
  }
  FILE *so = stdout, *se = stderr;
  stdout = fo;
  stderr = fe;
  s_shared = s;
  s_signer = as;
  cli_daemon = ctx;
  cli_files_serve(&in, &out);
  int rc = CLI_OK;
  for (uint32_t i = 0; i < nopts && rc == CLI_OK; i++)
    rc = cli_opt_set(&c, opts[i], vals[i]);
  if (rc == CLI_OK)
    rc = cli_run(&c);
  cli_files_serve(NULL, NULL);
  fflush(fo);
  fflush(fe);
  stdout = so;
  stderr = se;
  s_shared = NULL;
  s_signer = NULL;
  cli_daemon = NULL;
  fclose(fo);
  fclose(fe);
  /* A failed command's files are not sent: nothing half-done reaches the
   * caller's disk. */
  s_answer(reply, rc, ob, on, eb, en, rc == CLI_OK ? &out : NULL);
  free(ob);
  free(eb);
done:
  cli_files_free(&in);
  cli_files_free(&out);
  larena_free(&a);
}

/* ---- the caller's side ---- */

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

static bool
s_is(const cli *c, const char *cmd, const char *sub)
{
  return strcmp(c->cmd, cmd) == 0 &&
         (sub == NULL || (c->argc > 0 && strcmp(c->argv[0], sub) == 0));
}

/* A public key argument that names a file (not 64 hex digits, not "self"). */
static bool
s_key_file(const char *arg)
{
  uint8_t pk[LINLI_PK_BYTES];
  return arg != NULL && strcmp(arg, "self") != 0 &&
         !(strlen(arg) == 2 * LINLI_PK_BYTES && hex_decode(pk, LINLI_PK_BYTES, arg) == 0);
}

/* Reads every file the command reads into `in`, as the command would
 * (cli_pubkey for a key argument, so a bad one gets the message it gets in
 * embedded mode).  CLI_OK, or the status of the error (printed). */
static int
s_inputs(const cli *c, cli_files *in)
{
  const char *files[CLI_FILES_MAX];
  bool keys[CLI_FILES_MAX] = {0};
  /* the options that name one (main.c's table says which) */
  int nf = cli_opt_inputs(c, files, keys, CLI_FILES_MAX - 1);
  /* and the arguments that do */
  if (s_is(c, "import", NULL) && c->argc > 0)
    files[nf++] = c->argv[0];
  else if ((s_is(c, "import-csv", NULL) || s_is(c, "schema", "publish") ||
            s_is(c, "cert", "install") || s_is(c, "cert", "show")) &&
           c->argc > 1)
    files[nf++] = c->argv[1];
  for (int k = 0; k < nf; k++) {
    uint8_t *p = NULL;
    size_t n = 0;
    lerr e = {0};
    uint8_t pk[LINLI_PK_BYTES];
    if (cli_files_find(in, files[k]) != NULL || (keys[k] && !s_key_file(files[k])))
      continue;
    if (keys[k] && cli_pubkey(files[k], pk, &e) != 0)
      return cli_fail_e(&e);
    int rc = fs_read_all(files[k], DAEMON_CTL_MAX, &p, &n, &e);
    if (rc == LINLI_ETOOBIG)
      return cli_fail("%s: larger than a running linli-node takes in one command (256 MiB); "
                      "stop linli-node and run the command again, which then works on the "
                      "data directory itself", files[k]);
    if (rc == 0)
      rc = cli_files_add(in, files[k], strlen(files[k]), p, n, 0, CLI_FILE_TAKE, &e);
    if (rc != 0)
      return cli_fail_e(&e);
  }
  return CLI_OK;
}

static int
s_request(const cli *c, const cli_files *in, lbuf *req)
{
  mpw w;
  mpw_init(&w, req);
  mpw_array(&w, 5);
  mpw_cstr(&w, S_CTL_VERSION);
  mpw_cstr(&w, c->cmd);
  mpw_array(&w, (uint32_t)c->argc);
  for (int i = 0; i < c->argc; i++)
    mpw_cstr(&w, c->argv[i]);
  cli_opts_write(c, &w);
  mpw_array(&w, in->n);
  for (uint32_t i = 0; i < in->n; i++) {
    mpw_array(&w, 2);
    mpw_cstr(&w, in->v[i].name);
    mpw_bin(&w, in->v[i].p, in->v[i].n);
  }
  if (req->oom)
    return cli_fail("out of memory");
  if (req->len > DAEMON_CTL_MAX)
    return cli_fail("the files of this command come to more than a running linli-node takes "
                    "in one command (256 MiB); stop linli-node and run the command again, "
                    "which then works on the data directory itself");
  return CLI_OK;
}

/* Writes the answer's files and prints its output; the exit status. */
static int
s_answered(const cli *c, const char *sock, const uint8_t *p, size_t n)
{
  mpr r;
  uint32_t top, nfiles;
  int64_t code;
  const uint8_t *o, *er;
  uint32_t on, en;
  mpr_init(&r, p, n);
  if (mpr_array(&r, &top) != 0 || (top != 3 && top != 4) || mpr_int(&r, &code) != 0 ||
      mpr_bin(&r, &o, &on) != 0 || mpr_bin(&r, &er, &en) != 0 || code < 0 || code > 255)
    return cli_fail("the daemon at %s sent a malformed answer (use linli and linli-node of "
                    "the same version)", sock);
  if (top == 3) /* a linli-node of another version: its own line says less */
    return cli_fail("the linli-node at %s speaks another control protocol: use linli and "
                    "linli-node of the same version", sock);
  if (mpr_array(&r, &nfiles) != 0 || nfiles > CLI_FILES_MAX)
    return cli_fail("the daemon at %s sent a malformed answer", sock);
  for (uint32_t i = 0; i < nfiles; i++) {
    const char *name;
    uint32_t nl, fn;
    uint64_t mode;
    const uint8_t *fp;
    lerr e = {0};
    if (mpr_array_n(&r, 3) != 0 || mpr_str(&r, &name, &nl) != 0 || mpr_uint(&r, &mode) != 0 ||
        mpr_bin(&r, &fp, &fn) != 0 || mode > 0777)
      return cli_fail("the daemon at %s sent a malformed answer", sock);
    /* Only the file the command line names as its output is written. */
    if (c->out == NULL || strlen(c->out) != nl || memcmp(c->out, name, nl) != 0)
      return cli_fail("the daemon at %s sent a file the command does not write (%.*s); "
                      "nothing written", sock, (int)(nl < 80 ? nl : 80), name);
    if (cli_out_check(c) != CLI_OK) /* made meanwhile */
      return CLI_FAIL;
    if (fs_write_atomic(c->out, fp, fn, (mode_t)mode, &e) != 0) {
      fwrite(er, 1, en, stderr);
      return cli_fail_e(&e);
    }
  }
  if (mpr_left(&r) != 0)
    return cli_fail("the daemon at %s sent a malformed answer", sock);
  fwrite(o, 1, on, stdout);
  fwrite(er, 1, en, stderr);
  return (int)code;
}

/* The passwords the caller's program read (cli_passwords): the request's
 * file "-".  linli-node cannot read the caller's terminal, standard input
 * or files. */
static int
s_passwords(const cli *c, cli_files *in)
{
  char *p;
  size_t n = cli_passwords_file(c, &p);
  lerr e = {0};
  if (c->pw[0] == NULL)
    return CLI_OK;
  if (p == NULL)
    return cli_fail("out of memory");
  if (cli_files_find(in, "-") != NULL) {
    sodium_memzero(p, n);
    free(p);
    return cli_usage(c, "standard input cannot be both a file and the password");
  }
  /* taken: the set wipes it when freed */
  if (cli_files_add(in, "-", 1, p, n, 0, CLI_FILE_TAKE, &e) != 0)
    return cli_fail_e(&e);
  return CLI_OK;
}

int
cli_forward(const cli *c, int *status)
{
  char dir[PATH_MAX], sock[PATH_MAX + 32], endpoint[PATH_MAX + 64];
  if (realpath(c->dir, dir) == NULL)
    return 0;
  snprintf(sock, sizeof sock, "%s/control.sock", dir);
  if (!s_listening(sock))
    return 0;
  snprintf(endpoint, sizeof endpoint, "ipc://%s", sock);
  cli_files in = {0};
  lbuf req;
  lbuf_init(&req);
  void *ctx = NULL, *req_sock = NULL;
  zmq_msg_t m;
  zmq_msg_init(&m);
  /* The caller's files, checked and read here, with the caller's rights. */
  /* The passwords go as the file "-", which --password-file - reads there. */
  cli fwd = *c;
  if (c->pw[0] != NULL)
    fwd.password_file = "-";
  if ((*status = cli_out_check(c)) != CLI_OK || (*status = s_inputs(c, &in)) != CLI_OK ||
      (*status = s_passwords(c, &in)) != CLI_OK ||
      (*status = s_request(&fwd, &in, &req)) != CLI_OK)
    goto done;
  cli_files_free(&in);
  *status = CLI_FAIL;
  ctx = zmq_ctx_new();
  req_sock = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
  int linger = 0, rc = -1;
  int64_t maxmsg = (int64_t)DAEMON_CTL_MAX;
  if (req_sock == NULL) {
    cli_fail("cannot reach the daemon at %s", sock);
    goto done;
  }
  zmq_setsockopt(req_sock, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(req_sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
  if (zmq_connect(req_sock, endpoint) != 0 || zmq_send(req_sock, req.p, req.len, 0) < 0) {
    cli_fail("cannot reach the daemon at %s: %s", sock, zmq_strerror(zmq_errno()));
    goto done;
  }
  sodium_memzero(req.p, req.len); /* a password may be in it */
  lbuf_free(&req);
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
  *status = s_answered(c, sock, zmq_msg_data(&m), zmq_msg_size(&m));
done:
  zmq_msg_close(&m);
  if (req_sock)
    zmq_close(req_sock);
  if (ctx)
    zmq_ctx_term(ctx);
  cli_files_free(&in);
  if (req.p)
    sodium_memzero(req.p, req.len); /* a password may be in it */
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
      jw_key(w, "link_rate");
      jw_uint(w, p[i].link_rate);
      jw_key(w, "data_bytes");
      jw_uint(w, p[i].link_cap);
      jw_key(w, "data_max_bytes");
      jw_uint(w, p[i].data_max);
      jw_key(w, "protocol");
      jw_uint(w, p[i].version);
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
