/*
 * fsutil.h - the file operations every linli file write goes through.
 *
 * fs_write_atomic() is how any file that must survive a power cut is
 * written: a temporary file beside the target, fsync, rename over the
 * target, fsync of the directory.  A crash leaves the old file or the new
 * one, never half of either.  The temporary file gets a random name and is
 * created exclusively (as by mkstemp), so a file or symlink someone put in
 * a shared directory beforehand is never opened or written through.
 */
#ifndef LINLI_FSUTIL_H
#define LINLI_FSUTIL_H

#include "crdt/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes p[0..n) to `path` atomically with permissions `mode` (e.g. 0600
 * for a secret key; the temporary file is 0600 from its creation and gets
 * `mode` before the rename). */
int fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode, lerr *e);

/* Writes all of p[0..n) to fd, again after EINTR and short writes; 0, or
 * -1 with errno set (a write that wrote nothing counts as EIO). */
int fs_write_all(int fd, const void *p, size_t n);

/* fsyncs the directory holding `path` (after a rename into it); -1 and
 * errno on failure. */
int fs_sync_parent(const char *path);

/* Reads a whole file (at most `max` bytes; larger is LINLI_ETOOBIG).
 * *out is malloc'd; the caller frees it.  Anything but a regular file (a
 * FIFO, a device, a directory) is refused by name without waiting on it:
 * LINLI_EINVAL, "PATH: is a FIFO (named pipe), not a regular file; ...". */
int fs_read_all(const char *path, size_t max, uint8_t **out, size_t *n, lerr *e);

/* mkdir -p with `mode` for the directories it creates. */
int fs_mkdirs(const char *path, mode_t mode, lerr *e);

/* Joins dir and name into out (size n); LINLI_ETOOBIG if it does not fit. */
int fs_join(char *out, size_t n, const char *dir, const char *name);

#endif
