/* testutil.h - helpers shared by the Criterion tests. */
#ifndef LINLI_TESTUTIL_H
#define LINLI_TESTUTIL_H

#include "crdt/delta.h"

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under $TMPDIR (or /tmp); the caller removes it
 * with tu_rmtree().  Returns a malloc'd path. */
char *tu_tmpdir(const char *tag);
/* rm -rf, for test directories only. */
void tu_rmtree(const char *path);
/* A deterministic PRNG for property tests (mulberry32). */
uint32_t tu_rand(uint32_t *state);
/* A monotonic clock in seconds, for tests that measure time. */
double tu_secs(void);
/* Reads a whole file; *len gets its size.  NULL on error. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* The key pair whose seed is 32 bytes of `n`. */
void tu_key(lident *id, uint8_t n);
/* Chains `n` ops after the author's `*seq` (seqs and HLCs after `*seq`,
 * `*hlc`), signs the last head and encodes the delta into `out` (reset
 * first); `head` goes from the hash before to the hash after.  When
 * `heads` is not NULL, heads[seq] gets the hash at every seq. */
void tu_delta(const lident *id, uint64_t *seq, uint64_t *hlc, uint8_t head[LINLI_HASH_BYTES],
              op *ops, uint32_t n, lbuf *out, uint8_t (*heads)[LINLI_HASH_BYTES]);

#endif
