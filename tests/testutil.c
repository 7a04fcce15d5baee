/* testutil.c - see testutil.h. */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
