/*
 * websession.c - sessions and the login rate limit; see websession.h.
 */
#include "node/websession.h"

#include "crdt/ident.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wsess_init(wsess_table *t, uint64_t idle_ms, wsess_free_fn free_fn)
{
  memset(t, 0, sizeof *t);
  t->idle_ms = idle_ms;
  t->free_fn = free_fn;
}

static void
s_drop(wsess_table *t, uint32_t i)
{
  wsess *s = t->v[i];
  if (t->free_fn != NULL)
    t->free_fn(&s->person);
  sodium_memzero(s, sizeof *s);
  free(s);
  t->v[i] = t->v[--t->n];
  t->v[t->n] = NULL;
}

void
wsess_free(wsess_table *t)
{
  while (t->n > 0)
    s_drop(t, t->n - 1);
}

static void
s_random_hex(char out[WSESS_ID_HEX + 1])
{
  uint8_t b[WSESS_ID_HEX / 2];
  randombytes_buf(b, sizeof b);
  sodium_bin2hex(out, WSESS_ID_HEX + 1, b, sizeof b);
  sodium_memzero(b, sizeof b);
}

int
wsess_new(wsess_table *t, lperson *p, uint64_t now_ms, wsess **out, lerr *e)
{
  *out = NULL;
  if (t->n == WSESS_MAX) { /* the least recently used one makes room */
    uint32_t old = 0;
    for (uint32_t i = 1; i < t->n; i++)
      if (t->v[i]->last_ms < t->v[old]->last_ms)
        old = i;
    s_drop(t, old);
  }
  wsess *s = calloc(1, sizeof *s);
  if (s == NULL) {
    if (t->free_fn != NULL)
      t->free_fn(&p);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  s_random_hex(s->id);
  s_random_hex(s->csrf);
  s->person = p;
  s->last_ms = now_ms;
  t->v[t->n++] = s;
  *out = s;
  return 0;
}

/* Equal strings of WSESS_ID_HEX characters, compared in constant time. */
static bool
s_same(const char *a, const char *b)
{
  if (b == NULL || strlen(b) != WSESS_ID_HEX)
    return false;
  return sodium_memcmp(a, b, WSESS_ID_HEX) == 0;
}

wsess *
wsess_find(wsess_table *t, const char *id, uint64_t now_ms)
{
  wsess_expire(t, now_ms);
  for (uint32_t i = 0; i < t->n; i++)
    if (s_same(t->v[i]->id, id)) {
      t->v[i]->last_ms = now_ms;
      return t->v[i];
    }
  return NULL;
}

bool
wsess_csrf_ok(const wsess *s, const char *token)
{
  return s_same(s->csrf, token);
}

void
wsess_end(wsess_table *t, wsess *s)
{
  for (uint32_t i = 0; i < t->n; i++)
    if (t->v[i] == s) {
      s_drop(t, i);
      return;
    }
}

uint64_t
wsess_expire(wsess_table *t, uint64_t now_ms)
{
  uint64_t next = UINT64_MAX;
  for (uint32_t i = 0; i < t->n;) {
    uint64_t end = t->v[i]->last_ms + t->idle_ms;
    if (now_ms >= end) {
      s_drop(t, i);
      continue;
    }
    if (end < next)
      next = end;
    i++;
  }
  return next;
}

/* ---- the rate limit ---- */

static wrl_slot *
s_slot(wrl *r, const char *key, bool make, uint64_t now_ms)
{
  if (r->v == NULL) {
    if (!make)
      return NULL;
    r->v = calloc(WRL_SLOTS, sizeof *r->v);
    if (r->v == NULL)
      return NULL;
  }
  wrl_slot *free_slot = NULL, *oldest = &r->v[0];
  for (uint32_t i = 0; i < WRL_SLOTS; i++) {
    wrl_slot *s = &r->v[i];
    if (s->key[0] == '\0') {
      if (free_slot == NULL)
        free_slot = s;
      continue;
    }
    if (strncmp(s->key, key, sizeof s->key - 1) == 0)
      return s;
    if (s->last_ms < oldest->last_ms)
      oldest = s;
  }
  if (!make)
    return NULL;
  wrl_slot *s = free_slot != NULL ? free_slot : oldest;
  memset(s, 0, sizeof *s);
  snprintf(s->key, sizeof s->key, "%s", key);
  s->last_ms = now_ms;
  return s;
}

uint64_t
wrl_wait(wrl *r, const char *key, uint64_t now_ms)
{
  wrl_slot *s = s_slot(r, key, false, now_ms);
  return s != NULL && s->until_ms > now_ms ? s->until_ms - now_ms : 0;
}

void
wrl_fail(wrl *r, const char *key, uint64_t now_ms)
{
  wrl_slot *s = s_slot(r, key, true, now_ms);
  if (s == NULL)
    return;
  s->fails++;
  s->last_ms = now_ms;
  if (s->fails >= WRL_FREE) {
    uint64_t wait = WRL_BASE_MS;
    for (uint32_t i = WRL_FREE; i < s->fails && wait < WRL_MAX_MS; i++)
      wait *= 2;
    if (wait > WRL_MAX_MS)
      wait = WRL_MAX_MS;
    s->until_ms = now_ms + wait;
  }
}

void
wrl_ok(wrl *r, const char *key)
{
  wrl_slot *s = s_slot(r, key, false, 0);
  if (s != NULL)
    memset(s, 0, sizeof *s);
}

void
wrl_free(wrl *r)
{
  free(r->v);
  r->v = NULL;
}
