/* err.c - error codes and messages; see err.h. */
#include "crdt/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
linli_assert_fail(const char *cond, const char *file, int line, const char *func)
{
  fflush(stdout);
  fprintf(stderr, "linli: invariant broken: %s (%s:%d, %s)\n", cond, file, line, func);
  abort();
}

int
lerr_set(lerr *e, int code, const char *fmt, ...)
{
  if (e == NULL)
    return code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap); /* truncation is acceptable */
  va_end(ap);
  e->code = code;
  return code;
}

int
lerr_wrap(lerr *e, int code, const char *fmt, ...)
{
  if (e == NULL)
    return code;
  char prefix[160], old[sizeof e->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, e->msg, sizeof old);
  size_t pl = strlen(prefix);
  if (pl >= sizeof e->msg)
    pl = sizeof e->msg - 1;
  memcpy(e->msg, prefix, pl);
  size_t ol = strnlen(old, sizeof old - 1);
  if (ol > sizeof e->msg - 1 - pl)
    ol = sizeof e->msg - 1 - pl; /* a long message is cut, never overrun */
  memcpy(e->msg + pl, old, ol);
  e->msg[pl + ol] = '\0';
  if (e->code == 0)
    e->code = code;
  return e->code;
}

const char *
linli_strerror(int code)
{
  switch (code) {
  case LINLI_OK: return "success";
#define LINLI_ERR_CASE(name, val, text) case name: return text;
  LINLI_ERRORS(LINLI_ERR_CASE)
#undef LINLI_ERR_CASE
  }
  return "unknown error";
}
