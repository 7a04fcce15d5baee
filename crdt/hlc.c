/* hlc.c - hybrid logical clock arithmetic; see hlc.h. */
#include "crdt/hlc.h"

#include <stdio.h>
#include <time.h>

uint64_t
hlc_next(uint64_t last, uint64_t wall_ms)
{
  if (wall_ms > HLC_MAX_MS)
    wall_ms = HLC_MAX_MS;
  uint64_t wall = hlc_make(wall_ms, 0);
  if (wall > last)
    return wall;
  return last + 1; /* carries into the milliseconds when the counter is full */
}

uint64_t
hlc_observe(uint64_t last, uint64_t remote, uint64_t wall_ms, uint64_t max_ahead_ms)
{
  /* Saturate: a limit past the last representable millisecond is no limit
   * (the sum, or the shift in hlc_make, would otherwise wrap around and cap
   * remote stamps near or even below the wall clock). */
  uint64_t limit = UINT64_MAX;
  if (wall_ms <= HLC_MAX_MS && max_ahead_ms <= HLC_MAX_MS - wall_ms)
    limit = hlc_make(wall_ms + max_ahead_ms, 0xffff);
  if (remote > limit)
    remote = limit;
  return remote > last ? remote : last;
}

char *
hlc_format(char *out, size_t n, uint64_t h)
{
  uint64_t ms = hlc_ms(h);
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  if (gmtime_r(&secs, &tm) == NULL) {
    snprintf(out, n, "hlc:%llu", (unsigned long long)h);
    return out;
  }
  char logical[16] = "";
  if (hlc_logical(h))
    snprintf(logical, sizeof logical, "+%u", (unsigned)hlc_logical(h));
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ%s", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (unsigned)(ms % 1000), logical);
  return out;
}
