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
hlc_format_at(char *out, size_t n, uint64_t h, int32_t offset_s)
{
  uint64_t ms = hlc_ms(h);
  /* ms < 2^48, so the shifted seconds cannot overflow a 64-bit time_t */
  time_t secs = (time_t)(ms / 1000) + offset_s;
  struct tm tm;
  if (gmtime_r(&secs, &tm) == NULL) {
    snprintf(out, n, "hlc:%llu", (unsigned long long)h);
    return out;
  }
  char zone[16] = "Z";
  if (offset_s != 0) {
    unsigned a = (unsigned)(offset_s < 0 ? -(int64_t)offset_s : offset_s);
    int k = snprintf(zone, sizeof zone, "%c%02u:%02u", offset_s < 0 ? '-' : '+', a / 3600,
                     a / 60 % 60);
    if (a % 60 != 0)
      snprintf(zone + k, sizeof zone - (size_t)k, ":%02u", a % 60);
  }
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03u%s", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000), zone);
  return out;
}

char *
hlc_format(char *out, size_t n, uint64_t h)
{
  return hlc_format_at(out, n, h, 0);
}
