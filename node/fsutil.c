/* fsutil.c - atomic file writes and whole-file reads; see fsutil.h. */
#include "node/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fs_join(char *out, size_t n, const char *dir, const char *name)
{
  int w = snprintf(out, n, "%s/%s", dir, name);
  return w < 0 || (size_t)w >= n ? LINLI_ETOOBIG : 0;
}

int
fs_sync_parent(const char *path)
{
  char copy[4096];
  if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
    return -1;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* Creates a new file beside `path` under an unpredictable name, as
 * mkstemp(3) does: O_CREAT|O_EXCL (which never follows a symlink) with a
 * random suffix, so that nothing anyone created in a shared directory
 * beforehand is opened, truncated or written through.  The file starts as
 * 0600 (mkstemp's mode); fs_write_atomic sets `mode` on the descriptor. */
static int
s_create_tmp(const char *path, char *tmp, size_t cap, lerr *e)
{
  if (snprintf(tmp, cap, "%s.tmp.XXXXXX", path) >= (int)cap)
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", path);
  int fd = mkstemp(tmp);
  if (fd >= 0)
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (fd < 0)
    return lerr_set(e, LINLI_EIO, "%s: cannot create a temporary file beside it: %s", path,
                    strerror(errno));
  return fd;
}

int
fs_write_all(int fd, const void *p, size_t n)
{
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      if (w == 0)
        errno = EIO;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

int
fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode, lerr *e)
{
  char tmp[4096];
  int fd = s_create_tmp(path, tmp, sizeof tmp, e);
  if (fd < 0)
    return fd;
  if (fs_write_all(fd, p, n) != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0)
    goto werr;
  if (close(fd) != 0) {
    fd = -1;
    goto werr;
  }
  fd = -1;
  if (rename(tmp, path) != 0)
    goto werr;
  if (fs_sync_parent(path) != 0)
    return lerr_set(e, LINLI_EIO, "%s: fsync of the directory: %s", path, strerror(errno));
  return 0;
werr:;
  int err = errno;
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  return lerr_set(e, LINLI_EIO, "%s: %s", path, strerror(err ? err : EIO));
}

/* What a file that is not a regular file is, for the error message. */
static const char *
s_file_type(mode_t m)
{
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISFIFO(m))
    return "a FIFO (named pipe)";
  if (S_ISCHR(m) || S_ISBLK(m))
    return "a device";
  if (S_ISSOCK(m))
    return "a socket";
  return "a special file";
}

/* The one-line refusal of a path that is not a regular file. */
static int
s_not_regular(const char *path, mode_t m, lerr *e)
{
  return lerr_set(e, LINLI_EINVAL, "%s: is %s, not a regular file; give the path of a file",
                  path, s_file_type(m));
}

int
fs_read_all(const char *path, size_t max, uint8_t **out, size_t *n, lerr *e)
{
  *out = NULL;
  *n = 0;
  /* Look before opening: opening a device may act on it, and opening a
   * FIFO nobody writes to waits for ever.  O_NONBLOCK and the fstat cover
   * a file swapped in between; a regular file ignores O_NONBLOCK. */
  struct stat st;
  if (stat(path, &st) != 0)
    return lerr_set(e, errno == ENOENT ? LINLI_ENOTFOUND : LINLI_EIO, "%s: %s", path,
                    strerror(errno));
  if (!S_ISREG(st.st_mode))
    return s_not_regular(path, st.st_mode, e);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 && errno == EACCES)
    return lerr_set(e, LINLI_EIO, "%s: unreadable (permission denied)", path);
  if (fd < 0)
    return lerr_set(e, errno == ENOENT ? LINLI_ENOTFOUND : LINLI_EIO, "%s: %s", path,
                    strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    close(fd);
    if (S_ISREG(st.st_mode))
      return lerr_set(e, LINLI_EIO, "%s: %s", path, strerror(err));
    return s_not_regular(path, st.st_mode, e);
  }
  if ((uint64_t)st.st_size > max) {
    close(fd);
    return lerr_set(e, LINLI_ETOOBIG, "%s: larger than %zu bytes", path, max);
  }
  size_t size = (size_t)st.st_size;
  uint8_t *buf = malloc(size ? size : 1);
  if (buf == NULL) {
    close(fd);
    return lerr_set(e, LINLI_ENOMEM, "%s: out of memory", path);
  }
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (got != size) {
    free(buf);
    return lerr_set(e, LINLI_EIO, "%s: short read", path);
  }
  *out = buf;
  *n = size;
  return 0;
}

int
fs_mkdirs(const char *path, mode_t mode, lerr *e)
{
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
      return lerr_set(e, LINLI_EIO, "%s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST)
    return lerr_set(e, LINLI_EIO, "%s: %s", buf, strerror(errno));
  return 0;
}
