/* arena.c - bump allocation in chunks; see arena.h. */
#include "crdt/arena.h"
#include "crdt/err.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN alignof(max_align_t)
/* Chunks start small (a group of a few deltas needs little) and double up
 * to a size where malloc's own cost per chunk no longer matters. */
#define ARENA_CHUNK_MIN (64u << 10)
#define ARENA_CHUNK_MAX (1u << 20)

struct larena_chunk {
  larena_chunk *next;
  size_t cap;
  alignas(ARENA_ALIGN) unsigned char data[];
};

static size_t
s_round(size_t n)
{
  return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void
larena_init(larena *a)
{
  memset(a, 0, sizeof *a);
}

static int
s_new_chunk(larena *a, size_t need)
{
  size_t cap = a->head ? a->head->cap * 2 : ARENA_CHUNK_MIN;
  if (cap > ARENA_CHUNK_MAX)
    cap = ARENA_CHUNK_MAX;
  if (cap < need)
    cap = need;
  if (cap > SIZE_MAX - sizeof(larena_chunk))
    return -1;
  larena_chunk *c = malloc(sizeof *c + cap);
  if (c == NULL)
    return -1;
  c->next = a->head;
  c->cap = cap;
  a->head = c;
  a->used = 0;
  a->total += cap;
  return 0;
}

void *
larena_alloc(larena *a, size_t n)
{
  if (n > SIZE_MAX - ARENA_ALIGN)
    return NULL;
  size_t r = s_round(n ? n : 1);
  if (a->head == NULL || a->head->cap - a->used < r)
    if (s_new_chunk(a, r) != 0)
      return NULL;
  void *p = a->head->data + a->used;
  a->used += r;
  LINLI_ASSERT(a->used <= a->head->cap);
  LINLI_ASSERT(((uintptr_t)p & (ARENA_ALIGN - 1)) == 0);
  return p;
}

void *
larena_dup(larena *a, const void *p, size_t n)
{
  void *q = larena_alloc(a, n);
  if (q && n)
    memcpy(q, p, n);
  return q;
}

void *
larena_grow(larena *a, void *p, size_t old, size_t n)
{
  if (p != NULL && n <= SIZE_MAX - ARENA_ALIGN) {
    size_t ro = s_round(old ? old : 1), rn = s_round(n ? n : 1);
    /* A block to grow came from this arena: it has a chunk. */
    LINLI_ASSERT(a->head != NULL);
    /* The last block handed out grows (or shrinks) where it is. */
    if ((unsigned char *)p + ro == a->head->data + a->used && a->used - ro + rn <= a->head->cap) {
      LINLI_ASSERT(ro <= a->used);
      a->used = a->used - ro + rn;
      return p;
    }
  }
  void *q = larena_alloc(a, n);
  if (q && p)
    memcpy(q, p, old < n ? old : n);
  return q;
}

void
larena_reset(larena *a)
{
  if (a->head == NULL)
    return;
  larena_chunk *keep = a->head, *c = keep->next;
  while (c) {
    larena_chunk *next = c->next;
    free(c);
    c = next;
  }
  keep->next = NULL;
  a->head = keep;
  a->used = 0;
  a->total = keep->cap;
}

void
larena_free(larena *a)
{
  larena_reset(a);
  free(a->head);
  larena_init(a);
}
