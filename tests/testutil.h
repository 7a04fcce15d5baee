/* testutil.h - helpers shared by the Criterion tests. */
#ifndef LINLI_TESTUTIL_H
#define LINLI_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under $TMPDIR (or /tmp); the caller removes it
 * with tu_rmtree().  Returns a malloc'd path. */
char *tu_tmpdir(const char *tag);
/* rm -rf, for test directories only. */
void tu_rmtree(const char *path);
/* A deterministic PRNG for property tests (mulberry32). */
uint32_t tu_rand(uint32_t *state);
/* Reads a whole file; *len gets its size.  NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);

#endif
