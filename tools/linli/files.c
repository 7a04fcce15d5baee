/*
 * files.c - the files a command reads and writes (cli.h, "The caller's
 * files").
 *
 * In embedded mode they are the disk.  When the command runs inside
 * linli-node (cli_exec), they are the caller's: the CLI read every input
 * file before it sent the request and the request carries their contents
 * under the names given on the command line; every file the command writes
 * is kept here and goes back in the answer, and the CLI writes it in its
 * own directory with its own permissions.  So the daemon never opens a
 * file a caller named: not in its private /tmp, not with its own rights.
 *
 * keygen, init and restore, which never run inside linli-node (they make
 * or replace a data directory), read and write their key and backup files
 * through node/keyfile and node/backup directly.
 */
#include "tools/linli/cli.h"
#include "node/daemon.h"
#include "node/fsutil.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_files *s_in;
static cli_files *s_out;

void
cli_files_serve(const cli_files *in, cli_files *out)
{
  s_in = in;
  s_out = out;
}

void
cli_files_free(cli_files *f)
{
  for (uint32_t i = 0; i < f->n; i++) {
    free(f->v[i].name);
    if (f->v[i].own != NULL)
      sodium_memzero(f->v[i].own, f->v[i].n);
    free(f->v[i].own);
  }
  f->n = 0;
}

const cli_file *
cli_files_find(const cli_files *f, const char *name)
{
  for (uint32_t i = 0; i < f->n; i++)
    if (strcmp(f->v[i].name, name) == 0)
      return &f->v[i];
  return NULL;
}

int
cli_files_add(cli_files *f, const char *name, size_t nl, const void *p, size_t n, uint32_t mode,
              cli_file_how how, lerr *e)
{
  uint8_t *own = how == CLI_FILE_TAKE ? (uint8_t *)p : NULL;
  if (f->n == CLI_FILES_MAX) {
    free(own);
    return lerr_set(e, LINLI_ETOOBIG, "more than %d files in one command", CLI_FILES_MAX);
  }
  cli_file *x = &f->v[f->n];
  x->name = malloc(nl + 1);
  if (how == CLI_FILE_COPY && (own = malloc(n > 0 ? n : 1)) != NULL && n > 0)
    memcpy(own, p, n);
  if (x->name == NULL || (how != CLI_FILE_BORROW && own == NULL)) {
    free(x->name);
    free(own);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  memcpy(x->name, name, nl);
  x->name[nl] = '\0';
  x->own = own;
  x->p = own != NULL ? own : p;
  x->n = n;
  x->mode = mode;
  f->n++;
  return 0;
}

bool
cli_files_remote(void)
{
  return s_out != NULL;
}

int
cli_file_read(const char *path, size_t max, uint8_t **out, size_t *n, lerr *e)
{
  if (s_out == NULL)
    return fs_read_all(path, max, out, n, e);
  const cli_file *f = s_in != NULL ? cli_files_find(s_in, path) : NULL;
  if (f == NULL)
    return lerr_set(e, LINLI_EINVAL,
                    "%s: the request did not carry this file (use linli and linli-node of "
                    "the same version)", path);
  if (f->n > max)
    return lerr_set(e, LINLI_ETOOBIG, "%s: larger than %zu bytes", path, max);
  *out = malloc(f->n > 0 ? f->n : 1);
  if (*out == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  memcpy(*out, f->p, f->n);
  *n = f->n;
  return 0;
}

int
cli_file_write(const char *path, const void *p, size_t n, mode_t mode, lerr *e)
{
  if (s_out == NULL)
    return fs_write_atomic(path, p, n, mode, e);
  if (cli_files_find(s_out, path) != NULL)
    return lerr_set(e, LINLI_EEXIST, "%s: written twice by one command", path);
  return cli_files_add(s_out, path, strlen(path), p, n, (uint32_t)mode, CLI_FILE_COPY, e);
}

int
cli_out_check(const cli *c)
{
  struct stat st;
  if (s_out != NULL || c->out == NULL || c->force || !cli_out_guarded(c))
    return CLI_OK;
  if (lstat(c->out, &st) == 0)
    return cli_fail("%s exists; give --force to replace it, or another -o FILE", c->out);
  return CLI_OK;
}

int
cli_file_local(const char *path, char *local, size_t cap, lerr *e)
{
  if (s_out == NULL) {
    if (snprintf(local, cap, "%s", path) >= (int)cap)
      return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", path);
    return 0;
  }
  lstore *s = cli_shared_store();
  if (s == NULL ||
      snprintf(local, cap, "%s/.out-%ld", lstore_dir(s), (long)getpid()) >= (int)cap)
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", path);
  unlink(local); /* left by a command a crash interrupted */
  return 0;
}

int
cli_file_local_done(const char *path, const char *local, mode_t mode, lerr *e)
{
  if (s_out == NULL)
    return 0;
  uint8_t *p = NULL;
  size_t n = 0;
  int rc = fs_read_all(local, DAEMON_CTL_MAX, &p, &n, e);
  unlink(local);
  if (rc == LINLI_ETOOBIG)
    return lerr_set(e, rc, "%s: larger than a running linli-node can send back (256 MiB); stop "
                           "linli-node and run the command again", path);
  if (rc == 0)
    rc = cli_file_write(path, p, n, mode, e);
  if (p != NULL)
    sodium_memzero(p, n);
  free(p);
  return rc;
}
