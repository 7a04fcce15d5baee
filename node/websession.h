/*
 * websession.h - the logged-in sessions of the HTTP API and the rate limit
 * on failed logins (node/api.c).
 *
 * A session is named by 32 random bytes (64 hex digits, the cookie's
 * value) and carries its own CSRF token (32 more random bytes) and the
 * person it unlocked (node/users.h: an lperson, whose secret key lives in
 * locked memory).  A session unused for longer than the idle time ends:
 * its person is handed to the table's free function, which wipes the key.
 * Session ids are compared in constant time.  The table holds at most
 * WSESS_MAX sessions; a new one beyond that ends the least recently used.
 *
 * The rate limit counts failures per key (a user name, a client address):
 * from the WRL_FREE-th failure on, the key is refused for 60 s, doubling
 * with each further failure up to 15 minutes.  A success forgets the key.
 * The table is bounded (WRL_SLOTS keys; the oldest is forgotten first).
 */
#ifndef LINLI_WEBSESSION_H
#define LINLI_WEBSESSION_H

#include "crdt/err.h"

#include <stdbool.h>
#include <stdint.h>

#define WSESS_MAX 256u
#define WSESS_ID_HEX 64

typedef struct lperson lperson;
typedef void (*wsess_free_fn)(lperson **p);

typedef struct wsess {
  char id[WSESS_ID_HEX + 1];   /* the cookie's value */
  char csrf[WSESS_ID_HEX + 1]; /* X-CSRF-Token of every write */
  lperson *person;
  uint64_t last_ms;            /* last used (monotonic ms) */
} wsess;

typedef struct wsess_table {
  wsess *v[WSESS_MAX];
  uint32_t n;
  uint64_t idle_ms;
  wsess_free_fn free_fn;
} wsess_table;

void wsess_init(wsess_table *t, uint64_t idle_ms, wsess_free_fn free_fn);
/* Ends every session. */
void wsess_free(wsess_table *t);
/* A new session for `p` (taken over: freed with the session). */
int wsess_new(wsess_table *t, lperson *p, uint64_t now_ms, wsess **out, lerr *e);
/* The live session named `id` (its use time set to now), or NULL. */
wsess *wsess_find(wsess_table *t, const char *id, uint64_t now_ms);
/* Whether `token` is the session's CSRF token (constant time). */
bool wsess_csrf_ok(const wsess *s, const char *token);
/* Ends one session. */
void wsess_end(wsess_table *t, wsess *s);
/* Ends the sessions idle too long; returns when the next one will be
 * (UINT64_MAX: none). */
uint64_t wsess_expire(wsess_table *t, uint64_t now_ms);

#define WRL_FREE 5u
#define WRL_SLOTS 1024u
#define WRL_BASE_MS 60000u
#define WRL_MAX_MS (15u * 60000u)

typedef struct wrl_slot {
  char key[128];
  uint32_t fails;
  uint64_t last_ms, until_ms;
} wrl_slot;

typedef struct wrl {
  wrl_slot *v; /* WRL_SLOTS of them, allocated on first use */
} wrl;

/* ms until `key` may try again (0: now). */
uint64_t wrl_wait(wrl *r, const char *key, uint64_t now_ms);
/* A failure of `key`. */
void wrl_fail(wrl *r, const char *key, uint64_t now_ms);
/* A success: the key's failures are forgotten. */
void wrl_ok(wrl *r, const char *key);
void wrl_free(wrl *r);

#endif
