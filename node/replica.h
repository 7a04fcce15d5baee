/*
 * replica.h - the node's data as the sync protocol sees it: an `lrepl`
 * (sync/session.h) over an open store, plus the replication scope of every
 * author.
 *
 * The scope decides which logs may travel down the hierarchy.  Every author
 * has a class:
 *
 *   SELF        our own key.
 *   DOWN        authored at or above our parent: it came from a parent
 *               that called it LSCOPE_DOWN (the parent's own key included).
 *   CHILD(k)    belongs to the subtree of child k: it first arrived from
 *               child k (or arrived from child k while UNASSIGNED).
 *   UNASSIGNED  a parent called it LSCOPE_SUBTREE (ours, but we do not know
 *               below which child), or it came from nowhere we know.
 *
 * What each peer is offered (heads) and may be sent (read), and which
 * fork evidence it is told of (fork_count, fork_get: the evidence of the
 * authors whose logs it may be sent, since evidence holds two of the
 * author's ops):
 *
 *   a parent    every log we hold, class 0: everything flows up.
 *   child C     SELF and DOWN (as LSCOPE_DOWN), CHILD(C) (as
 *               LSCOPE_SUBTREE), and nothing else.  A village never
 *               receives another village's log, even if it asks for one:
 *               `read` refuses an author outside the peer's scope.
 *
 * Fork evidence from any peer is kept only when its author lies in this
 * station's own scope (replica_own_scope, or without a certificate of the
 * author the class a peer gave it); other evidence is logged and dropped.
 *
 * Under a trust root (lstore_root) the classes above decide only what
 * a parent's word and first arrival say; what child C may see is decided
 * by the certificate chains the store holds (docs/PROTOCOL.md,
 * "Replication scope"): authors certified inside C's prefix are its
 * subtree (LSCOPE_SUBTREE), SELF, the root and authors certified above
 * C's prefix are LSCOPE_DOWN, anything else is out of scope and `head`
 * says nothing of it beyond the head C listed, and that only when our log
 * passes through it (a log C carried in is then not sent up again).  Before C's own certificate is held, C sees SELF,
 * the root and DOWN only.
 *
 * Classes change only towards more knowledge: an UNASSIGNED author that
 * arrives from child C becomes CHILD(C); a parent's word moves an author
 * between DOWN and UNASSIGNED; SELF and CHILD(k) never change.  Classes are
 * kept in the store's meta column ("scope:" + author hex, one byte class
 * plus the child's key for CHILD) and loaded into memory at start, one
 * point read per held author.  A parent's classification of an author we
 * do not hold yet is kept in memory only: the parent repeats it in every
 * HELLO.
 *
 * Applying received deltas is all or nothing: one ingest group, every delta
 * verified, one synced commit.  A replica is used by one thread, like the
 * store beneath it.
 */
#ifndef LINLI_REPLICA_H
#define LINLI_REPLICA_H

#include "node/store.h"
#include "sync/session.h"

typedef struct lreplica lreplica;

enum lscope_class {
  LCLASS_NONE = 0,       /* not classified (never stored) */
  LCLASS_SELF = 1,
  LCLASS_DOWN = 2,
  LCLASS_CHILD = 3,
  LCLASS_UNASSIGNED = 4,
};

enum { LPEER_PARENT = 0, LPEER_CHILD = 1 };

/* Loads the scope registry of `s` (borrowed: it must outlive the replica).
 * Errors: LINLI_ENOMEM, LINLI_ESTORE. */
int replica_new(lreplica **out, lstore *s, lerr *e);
/* How far ahead of our clock received ops may be dated before they are
 * held back (default LSTORE_AHEAD_MS; config max_ahead). */
void replica_set_ahead(lreplica *r, uint64_t ahead_ms);
void replica_destroy(lreplica **r);

/* Registers a peer (LPEER_PARENT or LPEER_CHILD) and fills `out` with the
 * lrepl a session with that peer uses; its ctx stays valid until
 * replica_destroy.  LINLI_EEXIST when the key is registered already,
 * LINLI_EINVAL when it is our own key. */
int replica_peer(lreplica *r, const uint8_t pk[LINLI_PK_BYTES], int kind, lrepl *out, lerr *e);

/* Forgets a peer registered with replica_peer (a reload that removed it);
 * every session using its lrepl must be gone.  Unknown keys are ignored. */
void replica_peer_drop(lreplica *r, const uint8_t pk[LINLI_PK_BYTES]);

/* The class of `author` and, for LCLASS_CHILD, the child's key (may be
 * NULL). */
int replica_class(const lreplica *r, const uint8_t author[LINLI_PK_BYTES],
                  uint8_t child[LINLI_PK_BYTES]);

/* The heads of every log a session with `station` would offer it, in
 * store order (by author), for a bundle made for that station by file
 * (`linli export --for`): under the store's trust root only (LINLI_EINVAL
 * without one).  The station need not be a configured peer: the
 * certificates held say where it stands.  The root, or a station certified
 * for a namespace strictly above this store's, is a parent (every log);
 * any other station is a child, whose scope the certificate chains decide
 * as above (before its certificate is held: this node's own log, the root's
 * and DOWN logs only).  The caller frees *out. */
int replica_station_heads(lstore *s, const uint8_t station[LINLI_PK_BYTES], lrepl_head **out,
                          uint32_t *n, lerr *e);

/* The one rule of certificate scope, for a store under a trust root: how
 * `author`, certified for namespace `author_ns`, stands to a station
 * certified for `station_ns` (either NULL: no certificate known).  This
 * store's own key and the root are LSCOPE_DOWN; an author inside the
 * station's namespace LSCOPE_SUBTREE, one whose namespace holds the
 * station's LSCOPE_DOWN; anything else -1 (outside the station's scope).
 * Sessions decide a child's scope with it, and `linli import` whether a
 * bundle holds logs outside the importing station's own. */
int replica_cert_class(lstore *s, const char *station_ns, const uint8_t author[LINLI_PK_BYTES],
                       const char *author_ns);

/* Whether this station keeps `author`'s log or fork evidence: the rule for
 * what a station takes in (`linli import`, and fork evidence from any
 * peer), under a trust root.  The author's namespace is that of its
 * certificate as held here, or as set by a certificate op in one of the
 * deltas d[0..nd) (the author's, the ones a file or evidence carries) when
 * it starts the author's log; replica_cert_class then decides against the
 * station's own namespace.  1: inside (its subtree, or above it), or
 * nothing to decide (no trust root, or the station holds no certificate
 * of its own); 0: outside, and author_ns (may be NULL) gets the author's
 * namespace; -1: no certificate of the author is known. */
int replica_own_scope(lstore *s, const uint8_t author[LINLI_PK_BYTES], const uint8_t *const *d,
                      const size_t *dn, uint32_t nd, char author_ns[LINLI_KEY_MAX + 1]);

/* New ops applied from peers since the last call (and resets the count):
 * tells the caller that other sessions have something new to offer. */
uint64_t replica_take_applied(lreplica *r);

#endif
