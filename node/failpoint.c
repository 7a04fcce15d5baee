/*
 * failpoint.c - test-only crash and error injection (failpoint.h).
 */
#include "node/failpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
  bool read;
  char name[64];
  unsigned long at, hits;
  bool err;
} s_fp;

static void
s_fp_read(void)
{
  s_fp.read = true;
  const char *v = getenv("LINLI_FAILPOINT");
  if (v == NULL || *v == '\0')
    return;
  size_t n = strcspn(v, "@:");
  if (n == 0 || n >= sizeof s_fp.name)
    return;
  memcpy(s_fp.name, v, n);
  s_fp.name[n] = '\0';
  s_fp.at = 1;
  const char *p = v + n;
  if (*p == '@') {
    char *end;
    s_fp.at = strtoul(p + 1, &end, 10);
    p = end;
  }
  s_fp.err = strcmp(p, ":err") == 0;
}

bool
lfail(const char *name)
{
  if (!s_fp.read)
    s_fp_read();
  if (s_fp.name[0] == '\0' || strcmp(name, s_fp.name) != 0 || ++s_fp.hits != s_fp.at)
    return false;
  if (s_fp.err)
    return true;
  fprintf(stderr, "failpoint %s: killed\n", name);
  kill(getpid(), SIGKILL);
  _exit(99);
}
