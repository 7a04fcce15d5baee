/*
 * arena.h - a bump allocator for memory that lives and dies together.
 *
 * Applying a group of deltas builds thousands of small objects (record
 * states, their fields, entries and strings) that are all dropped when the
 * group is written.  Allocating them one by one from malloc and freeing them
 * one by one cost more than the CRDT merge itself; an arena hands out
 * pieces of large chunks and gives everything back at once.
 *
 * Nothing is freed piecemeal: memory given back to an arena (larena_grow's
 * old block) stays in use until larena_reset, so an arena suits work whose
 * size is bounded by its input, like one ingest group.
 */
#ifndef LINLI_ARENA_H
#define LINLI_ARENA_H

#include <stddef.h>

typedef struct larena_chunk larena_chunk;

typedef struct larena {
  larena_chunk *head; /* the chunk being filled; older ones behind it */
  size_t used;        /* bytes used in head */
  size_t total;       /* bytes of all chunks, for callers that bound memory */
} larena;

void larena_init(larena *a);
/* n bytes aligned for any type, or NULL when out of memory.  n may be 0. */
void *larena_alloc(larena *a, size_t n);
/* A copy of p[0..n) in the arena (n may be 0), or NULL. */
void *larena_dup(larena *a, const void *p, size_t n);
/* Like realloc: a block of `n` bytes holding the first min(old, n) bytes of
 * p (which has `old` bytes and came from this arena, or is NULL).  When p is
 * the last block handed out and its chunk has room it grows in place. */
void *larena_grow(larena *a, void *p, size_t old, size_t n);
/* Forgets every block; keeps the first chunk for reuse. */
void larena_reset(larena *a);
/* Releases everything; the arena may be used again after larena_init. */
void larena_free(larena *a);

#endif
