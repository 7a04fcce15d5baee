/*
 * hlc.h - hybrid logical clock.
 *
 * An HLC timestamp is a uint64: the high 48 bits are milliseconds since the
 * Unix epoch, the low 16 bits a logical counter that orders events within
 * one millisecond (or while the wall clock lags behind the clock's past).
 * The wall time is always passed in: crdt/ never reads a clock.
 *
 * The node persists the last timestamp it issued or observed, so the clock
 * never goes backwards across restarts, whatever the wall clock does.
 */
#ifndef LINLI_HLC_H
#define LINLI_HLC_H

#include <stddef.h>
#include <stdint.h>

#define HLC_LOGICAL_BITS 16
#define HLC_MAX_MS ((UINT64_C(1) << 48) - 1)

static inline uint64_t hlc_make(uint64_t ms, uint64_t logical)
{
  return ms << HLC_LOGICAL_BITS | (logical & 0xffff);
}
static inline uint64_t hlc_ms(uint64_t h) { return h >> HLC_LOGICAL_BITS; }
static inline uint64_t hlc_logical(uint64_t h) { return h & 0xffff; }

/* The timestamp of a new local event: strictly greater than `last`, and at
 * least the wall time.  When the counter would overflow it moves on to the
 * next millisecond, which keeps the order total. */
uint64_t hlc_next(uint64_t last, uint64_t wall_ms);

/* Takes a timestamp seen on a remote op into account: returns the larger of
 * `last` and `remote`, except that a remote timestamp more than
 * `max_ahead_ms` ahead of the wall clock is not followed (a peer with a
 * broken or hostile clock must not drag ours into the future). */
uint64_t hlc_observe(uint64_t last, uint64_t remote, uint64_t wall_ms, uint64_t max_ahead_ms);

/* The time of a timestamp as ISO 8601 with milliseconds and a UTC offset
 * of `offset_s` seconds (east positive): "2026-12-01T10:17:56.270+08:00",
 * or "...Z" for offset 0.  The logical counter is not part of a time and is
 * not shown: a reader who needs it takes hlc_logical(h) as its own field.
 * An offset with seconds (local mean time before 1900) is written
 * +HH:MM:SS.  Cut to fit n bytes, always NUL-terminated.  Returns out. */
char *hlc_format_at(char *out, size_t n, uint64_t h, int32_t offset_s);
/* hlc_format_at in UTC: "2026-11-28T04:30:12.345Z". */
char *hlc_format(char *out, size_t n, uint64_t h);

#endif
