/* replay.c - runs a fuzz target once over files and directories of inputs
 * (its corpus), without libFuzzer: the corpus as a regression suite in the
 * normal builds.  Exits 1 when an argument cannot be read or holds no
 * input; a crash is the target's own abort or a sanitizer's report. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
s_run_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return -1;
  }
  uint8_t *p = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *q = realloc(p, cap);
      if (q == NULL)
        abort();
      p = q;
    }
    size_t got = fread(p + n, 1, cap - n, f);
    n += got;
    if (got == 0)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    free(p);
    return -1;
  }
  /* an exact-size copy, so that reading past the input is caught */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL)
    abort();
  memcpy(exact, p, n);
  free(p);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 1;
}

static int
s_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
s_run(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: no such file or directory: %s\n", path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode))
    return s_run_file(path);
  DIR *d = opendir(path);
  if (d == NULL) {
    fprintf(stderr, "replay: cannot list %s\n", path);
    return -1;
  }
  char **names = NULL;
  size_t nn = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char **q = realloc(names, (nn + 1) * sizeof *names);
    if (q == NULL)
      abort();
    names = q;
    size_t len = strlen(path) + strlen(de->d_name) + 2;
    names[nn] = malloc(len);
    snprintf(names[nn++], len, "%s/%s", path, de->d_name);
  }
  closedir(d);
  qsort(names, nn, sizeof *names, s_names);
  int count = 0;
  for (size_t i = 0; i < nn; i++) {
    int rc = count >= 0 ? s_run(names[i]) : 0;
    count = rc < 0 ? -1 : count + rc;
    free(names[i]);
  }
  free(names);
  return count;
}

int
main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  int total = 0;
  for (int i = 1; i < argc; i++) {
    int rc = s_run(argv[i]);
    if (rc <= 0) {
      if (rc == 0)
        fprintf(stderr, "replay: no input in %s\n", argv[i]);
      return 1;
    }
    total += rc;
  }
  printf("replay: %d inputs ran\n", total);
  return 0;
}
