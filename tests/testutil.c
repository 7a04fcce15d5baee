/* testutil.c - see testutil.h. */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *
tu_tmpdir(const char *tag)
{
  const char *base = getenv("TMPDIR");
  char *path = malloc(4096);
  snprintf(path, 4096, "%s/linli-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);
  if (mkdtemp(path) == NULL) {
    free(path);
    return NULL;
  }
  return path;
}

static int
s_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb; (void)flag; (void)ftw;
  return remove(p);
}

void
tu_rmtree(const char *path)
{
  if (path != NULL)
    nftw(path, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

uint32_t
tu_rand(uint32_t *a)
{
  uint32_t t = (*a += 0x6D2B79F5u);
  t = (t ^ t >> 15) * (t | 1);
  t ^= t + (t ^ t >> 7) * (t | 61);
  return t ^ t >> 14;
}

uint8_t *
tu_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *p = malloc(cap);
  size_t got;
  while (p != NULL && (got = fread(p + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *q = realloc(p, cap *= 2);
      if (q == NULL) { free(p); p = NULL; }
      else p = q;
    }
  }
  fclose(f);
  *len = n;
  return p;
}

void
tu_key(lident *id, uint8_t n)
{
  uint8_t seed[LINLI_SEED_BYTES];
  memset(seed, n, sizeof seed);
  ident_from_seed(id, seed);
}

void
tu_delta(const lident *id, uint64_t *seq, uint64_t *hlc, uint8_t head[LINLI_HASH_BYTES],
         op *ops, uint32_t n, lbuf *out, uint8_t (*heads)[LINLI_HASH_BYTES])
{
  lbuf scratch;
  lbuf_init(&scratch);
  uint8_t prev[LINLI_HASH_BYTES];
  memcpy(prev, head, sizeof prev);
  uint64_t first = *seq + 1;
  for (uint32_t i = 0; i < n; i++) {
    ops[i].seq = ++*seq;
    ops[i].hlc = ++*hlc;
    op_hash(head, head, id->pk, &ops[i], &scratch);
    if (heads)
      memcpy(heads[*seq], head, LINLI_HASH_BYTES);
  }
  uint8_t sig[LINLI_SIG_BYTES];
  head_sign(id, *seq, head, sig);
  lbuf_reset(out);
  delta_encode(out, id->pk, first, prev, ops, n, sig);
  lbuf_free(&scratch);
}

double
tu_secs(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
