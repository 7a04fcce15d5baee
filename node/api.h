/*
 * api.h - the HTTP/JSON API of linli-node and the web interface's files
 * (docs/API.md), served by node/http.c from the daemon's loop.
 *
 * Every request is answered from the loop's thread with the daemon's open
 * store: reads straight from it (node/records.h, node/store.h), writes
 * through lrecords_write signed by the person logged in (node/users.h),
 * CSV export and import and the audit through the very commands of the
 * `linli` program (daemon_exec), so that both give the same bytes and
 * make the same checks.  Everything a browser sends is checked: a bad
 * request gets a JSON error with a code and a message in English and
 * Chinese, and changes nothing.
 */
#ifndef LINLI_API_H
#define LINLI_API_H

#include "node/daemon.h"
#include "node/http.h"

typedef struct lapi lapi;

/* The API of daemon `d` (its store, configuration and peers). */
int api_new(lapi **out, ldaemon *d, lerr *e);
/* Ends every session (their keys wiped); *a becomes NULL.  Safe on NULL. */
void api_destroy(lapi **a);
/* The handler to give http_start. */
void api_handler(lapi *a, lhttp_handler *out);
/* ms until api_tick has work (a session's idle end); UINT64_MAX: none. */
uint64_t api_timeout_ms(lapi *a);
/* Ends the sessions idle longer than session_idle. */
void api_tick(lapi *a);

/* Request bodies: JSON up to 1 MiB, CSV up to 8 MiB. */
#define API_JSON_MAX (1u << 20)
#define API_CSV_MAX (8u << 20)

#endif
