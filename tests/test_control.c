/*
 * test_control.c - tools/linli/control.c: the typed control request as
 * linli-node receives it (cli_exec), from any member of the control
 * socket's group.  Every part is checked; a request of the old form is
 * told to use the same version; the command's files are the caller's:
 * inputs come from the request only, outputs go back in the answer and
 * never onto the node's disk.
 */
#include "tools/linli/cli.h"
#include "crdt/ident.h"
#include "node/daemon.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *s_dir;
static lstore *s_store;

static void
s_setup(void)
{
  lerr e = {0};
  cr_assert_eq(linli_crypto_init(), 0);
  s_dir = tu_tmpdir("control");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/st", s_dir);
  cr_assert_eq(lstore_init(dir, "st", NULL, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&s_store, dir, NULL, &e), 0, "%s", e.msg);
}

static void
s_teardown(void)
{
  lstore_close(&s_store);
  tu_rmtree(s_dir);
  free(s_dir);
}

TestSuite(control, .init = s_setup, .fini = s_teardown);

typedef struct answer {
  int parts;
  int64_t code;
  char out[4096], err[4096];
  uint32_t nfiles;
  char name[256];
  uint64_t mode;
  size_t fsize;
} answer;

/* Runs req through cli_exec and decodes the answer (3 or 4 parts). */
static void
s_run(const lbuf *req, answer *a)
{
  lbuf reply;
  lbuf_init(&reply);
  memset(a, 0, sizeof *a);
  cli_exec(NULL, s_store, NULL, req->p, req->len, &reply);
  cr_assert(!reply.oom);
  mpr r;
  uint32_t top, on, en;
  const uint8_t *o, *er;
  mpr_init(&r, reply.p, reply.len);
  cr_assert_eq(mpr_array(&r, &top), 0);
  cr_assert(top == 3 || top == 4);
  a->parts = (int)top;
  cr_assert_eq(mpr_int(&r, &a->code), 0);
  cr_assert_eq(mpr_bin(&r, &o, &on), 0);
  cr_assert_eq(mpr_bin(&r, &er, &en), 0);
  snprintf(a->out, sizeof a->out, "%.*s", (int)on, (const char *)o);
  snprintf(a->err, sizeof a->err, "%.*s", (int)en, (const char *)er);
  if (top == 4) {
    cr_assert_eq(mpr_array(&r, &a->nfiles), 0);
    for (uint32_t i = 0; i < a->nfiles; i++) {
      const char *nm;
      uint32_t nl, fn;
      const uint8_t *fp;
      cr_assert_eq(mpr_array_n(&r, 3), 0);
      cr_assert_eq(mpr_str(&r, &nm, &nl), 0);
      cr_assert_eq(mpr_uint(&r, &a->mode), 0);
      cr_assert_eq(mpr_bin(&r, &fp, &fn), 0);
      snprintf(a->name, sizeof a->name, "%.*s", (int)nl, nm);
      a->fsize = fn;
    }
  }
  cr_assert_eq(mpr_left(&r), 0);
  lbuf_free(&reply);
}

/* ["linli-ctl-v2", cmd, args, opts, files]: opts as name/value pairs
 * (value NULL for a flag), files as name/contents pairs. */
static void
s_req(lbuf *b, const char *cmd, const char *const *args, int nargs, const char *const *opts,
      int nopts, const char *const *files, int nfiles)
{
  mpw w;
  lbuf_reset(b);
  mpw_init(&w, b);
  mpw_array(&w, 5);
  mpw_cstr(&w, "linli-ctl-v2");
  mpw_cstr(&w, cmd);
  mpw_array(&w, (uint32_t)nargs);
  for (int i = 0; i < nargs; i++)
    mpw_cstr(&w, args[i]);
  mpw_array(&w, (uint32_t)nopts);
  for (int i = 0; i < nopts; i++) {
    mpw_array(&w, 2);
    mpw_cstr(&w, opts[2 * i]);
    if (opts[2 * i + 1])
      mpw_cstr(&w, opts[2 * i + 1]);
    else
      mpw_nil(&w);
  }
  mpw_array(&w, (uint32_t)nfiles);
  for (int i = 0; i < nfiles; i++) {
    mpw_array(&w, 2);
    mpw_cstr(&w, files[2 * i]);
    mpw_bin(&w, files[2 * i + 1], strlen(files[2 * i + 1]));
  }
}

Test(control, runs_a_command_and_returns_its_output)
{
  lbuf b;
  answer a;
  lbuf_init(&b);
  s_req(&b, "digest", NULL, 0, NULL, 0, NULL, 0);
  s_run(&b, &a);
  cr_assert_eq(a.parts, 4);
  cr_assert_eq(a.code, 0, "%s", a.err);
  cr_assert_eq(strlen(a.out), 65);
  cr_assert_eq(a.nfiles, 0);
  const char *opts[] = {"--json", NULL};
  s_req(&b, "status", NULL, 0, opts, 1, NULL, 0);
  s_run(&b, &a);
  cr_assert_eq(a.code, 0, "%s", a.err);
  cr_assert(strstr(a.out, "\"name\":\"st\"") != NULL, "%s", a.out);
  lbuf_free(&b);
}

Test(control, an_old_request_is_told_to_use_the_same_version)
{
  lbuf b;
  answer a;
  mpw w;
  lbuf_init(&b);
  mpw_init(&w, &b);
  mpw_array(&w, 3);
  mpw_cstr(&w, "linli-ctl-v1");
  mpw_cstr(&w, "/");
  mpw_array(&w, 2);
  mpw_cstr(&w, "linli");
  mpw_cstr(&w, "digest");
  s_run(&b, &a);
  cr_assert_eq(a.parts, 3, "an old linli reads three parts");
  cr_assert_eq(a.code, 2);
  cr_assert(strstr(a.err, "use linli and linli-node of the same version") != NULL, "%s", a.err);
  lbuf_free(&b);
}

/* Each bad request: exit status 2, one line, nothing run. */
static void
s_refused(const lbuf *b, const char *want)
{
  answer a;
  s_run(b, &a);
  cr_assert_eq(a.parts, 4);
  cr_assert_eq(a.code, 2, "%s", a.err);
  cr_assert(strstr(a.err, want) != NULL, "wanted '%s' in: %s", want, a.err);
  cr_assert_eq(strchr(a.err, '\n'), a.err + strlen(a.err) - 1, "one line: %s", a.err);
  cr_assert_eq(a.out[0], '\0');
}

Test(control, every_part_of_a_request_is_checked)
{
  lbuf b;
  mpw w;
  lbuf_init(&b);
  const char *one[] = {"x"};

  mpw_init(&w, &b);
  mpw_cstr(&w, "digest");
  s_refused(&b, "not a linli control request");

  s_req(&b, "digest", NULL, 0, NULL, 0, NULL, 0);
  b.len--; /* the files array cut off */
  s_refused(&b, "malformed");
  s_req(&b, "digest", NULL, 0, NULL, 0, NULL, 0);
  lbuf_put(&b, "\xc0", 1);
  s_refused(&b, "bytes after the request");

  s_req(&b, "frobnicate", NULL, 0, NULL, 0, NULL, 0);
  s_refused(&b, "unknown command");
  s_req(&b, "keygen", NULL, 0, NULL, 0, NULL, 0);
  s_refused(&b, "does not run this command");
  s_req(&b, "init", NULL, 0, NULL, 0, NULL, 0);
  s_refused(&b, "does not run this command");
  s_req(&b, "get", NULL, 0, NULL, 0, NULL, 0);
  s_refused(&b, "missing argument");
  const char *two[] = {"a", "b"};
  s_req(&b, "digest", two, 2, NULL, 0, NULL, 0);
  s_refused(&b, "too many arguments");

  const char *o1[] = {"-o", "x"};
  s_req(&b, "digest", NULL, 0, o1, 1, NULL, 0);
  s_refused(&b, "unknown option '-o'");
  const char *o2[] = {"--json", "yes"};
  s_req(&b, "digest", NULL, 0, o2, 1, NULL, 0);
  s_refused(&b, "takes no value");
  const char *o3[] = {"-o", NULL};
  s_req(&b, "summary", NULL, 0, o3, 1, NULL, 0);
  s_refused(&b, "needs a value");
  const char *o4[] = {"--json", NULL, "--json", NULL};
  s_req(&b, "digest", NULL, 0, o4, 2, NULL, 0);
  s_refused(&b, "given twice");
  const char *o5[] = {"-o", "a", "-o", "b"};
  s_req(&b, "summary", NULL, 0, o5, 2, NULL, 0);
  s_refused(&b, "given twice");

  /* an argument with a NUL in it */
  mpw_init(&w, &b);
  lbuf_reset(&b);
  mpw_array(&w, 5);
  mpw_cstr(&w, "linli-ctl-v2");
  mpw_cstr(&w, "get");
  mpw_array(&w, 1);
  mpw_str(&w, "a\0b", 3);
  mpw_array(&w, 0);
  mpw_array(&w, 0);
  s_refused(&b, "without NUL");

  const char *f1[] = {"a", "1", "a", "2"};
  s_req(&b, "import", one, 1, NULL, 0, f1, 2);
  s_refused(&b, "a file is given twice");
  const char *f2[] = {"", "1"};
  s_req(&b, "import", one, 1, NULL, 0, f2, 1);
  s_refused(&b, "a name of 1 to 4096 bytes");
  const char *f17[34];
  char names[17][8];
  for (int i = 0; i < 17; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    f17[2 * i] = names[i];
    f17[2 * i + 1] = "";
  }
  s_req(&b, "import", one, 1, NULL, 0, f17, 17);
  s_refused(&b, "at most 16");
  lbuf_free(&b);
}

Test(control, inputs_come_from_the_request_only)
{
  lbuf b;
  answer a;
  lbuf_init(&b);
  /* The node's own disk has the file; the request does not carry it. */
  char path[600];
  snprintf(path, sizeof path, "%s/st/node.key.pub", s_dir);
  const char *args[] = {path};
  s_req(&b, "import", args, 1, NULL, 0, NULL, 0);
  s_run(&b, &a);
  cr_assert_eq(a.code, 1);
  cr_assert(strstr(a.err, "the request did not carry this file") != NULL, "%s", a.err);
  /* What it carries under that name is what is read. */
  const char *files[] = {path, "not a bundle"};
  s_req(&b, "import", args, 1, NULL, 0, files, 1);
  s_run(&b, &a);
  cr_assert_eq(a.code, 1);
  cr_assert(strstr(a.err, path) != NULL && strstr(a.err, "carry") == NULL, "%s", a.err);
  lbuf_free(&b);
}

Test(control, outputs_go_back_in_the_answer_not_to_the_node_disk)
{
  lbuf b;
  answer a;
  lbuf_init(&b);
  char out[600];
  snprintf(out, sizeof out, "%s/x.bundle", s_dir);
  const char *opts[] = {"-o", out};
  s_req(&b, "export", NULL, 0, opts, 1, NULL, 0);
  s_run(&b, &a);
  cr_assert_eq(a.code, 0, "%s", a.err);
  cr_assert_eq(a.nfiles, 1);
  cr_assert_str_eq(a.name, out);
  cr_assert_eq(a.mode, 0600);
  cr_assert_gt(a.fsize, 0);
  cr_assert_neq(access(out, F_OK), 0, "the node wrote the caller's file itself");

  snprintf(out, sizeof out, "%s/st.bk", s_dir);
  s_req(&b, "backup", NULL, 0, opts, 1, NULL, 0);
  s_run(&b, &a);
  cr_assert_eq(a.code, 0, "%s", a.err);
  cr_assert_eq(a.nfiles, 1);
  cr_assert_eq(a.mode, 0600);
  cr_assert_gt(a.fsize, 100);
  cr_assert_neq(access(out, F_OK), 0);
  /* nothing left behind in the data directory */
  char probe[700];
  snprintf(probe, sizeof probe, "%s/st/.out-%ld", s_dir, (long)getpid());
  cr_assert_neq(access(probe, F_OK), 0);

  /* a failed command sends no file */
  const char *bad[] = {"-o", out, "--for", "missing.summary"};
  s_req(&b, "export", NULL, 0, bad, 2, NULL, 0);
  s_run(&b, &a);
  cr_assert_eq(a.code, 1);
  cr_assert_eq(a.nfiles, 0);
  lbuf_free(&b);
}
