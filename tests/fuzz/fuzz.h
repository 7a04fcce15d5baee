/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point, fixed
 * keys and logs built with the real encoders, and an in-memory replica for
 * driving a sync session without a store.
 *
 * Every target is one LLVMFuzzerTestOneInput.  Built with LINLI_FUZZ it is
 * linked with libFuzzer; in the normal builds it is linked with replay.c,
 * which runs it once over every file of its corpus (tests/fuzz/corpus/).
 * corpus_gen.c writes the valid part of that corpus from these fixtures.
 */
#ifndef LINLI_FUZZ_H
#define LINLI_FUZZ_H

#include "crdt/delta.h"
#include "crdt/trust.h"
#include "sync/session.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixtures' "now" (ms) and the certificates' validity around it. */
#define FX_NOW 1790000000000ull
#define FX_DAY (24ull * 3600 * 1000)

/* root -> street (gusu/jinchang/) -> village (gusu/jinchang/v12/); `other`
 * is an uncertified station. */
typedef struct fx_keys {
  lident root, street, village, other;
  lchain schain, vchain;
} fx_keys;

/* One author's log: ops of every kind, hashed; a certified author's log
 * starts with its certificate op. */
#define FX_LOG_MAX 16
typedef struct fx_log {
  const lident *id;
  uint32_t n;
  op ops[FX_LOG_MAX];
  uint8_t h[FX_LOG_MAX + 1][LINLI_HASH_BYTES]; /* h[i]: head after seq i */
  char key[FX_LOG_MAX][96];
  op_tag tag;
  lbuf chain_hex, revoke_hex;
} fx_log;

typedef struct fx {
  fx_keys k;
  fx_log village, street, other;
} fx;

/* Builds the fixtures once (deterministic: fixed seeds, fixed times). */
const fx *fx_get(void);

/* Appends the delta of ops first..last (1-based seqs) of `l`, signed at
 * its last op. */
void fx_delta(const fx_log *l, uint32_t first, uint32_t last, lbuf *out);
/* Appends fork evidence for `other` at seq 2: its real delta 1..2 and one
 * whose op 2 differs. */
void fx_fork(const fx *f, lbuf *out);

/* ---- an in-memory replica ---- */

#define FX_AUTHORS 8
#define FX_DELTAS 32
#define FX_FORKS 4

typedef struct fx_rdelta {
  uint8_t *p;
  size_t n;
  uint64_t first, last;
} fx_rdelta;

typedef struct fx_rlog {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  uint8_t head[LINLI_HASH_BYTES];
  fx_rdelta d[FX_DELTAS]; /* contiguous: each starts at most one past the last */
  uint32_t nd;
} fx_rlog;

typedef struct fx_repl {
  fx_rlog logs[FX_AUTHORS]; /* sorted by author */
  uint32_t nlogs;
  lbuf forks[FX_FORKS];
  uint32_t nforks;
} fx_repl;

/* Adds one encoded delta that continues (or overlaps) what is held;
 * LINLI_EGAP when it does not connect, LINLI_EFORK when it diverges,
 * LINLI_ETOOBIG when the replica's fixed room is used up.  `dry`: keeps
 * only the heads and delta bounds, not the bytes (a trial run on a copy). */
int fx_repl_add(fx_repl *r, const uint8_t *p, size_t n, bool dry, lerr *e);
void fx_repl_free(fx_repl *r);
/* The callbacks over `r`. */
lrepl fx_repl_callbacks(fx_repl *r);

/* The two sides of the session fixtures: the target holds the village's
 * ops 1..3 and the other station's log; the peer holds the village's 1..6, the street's log and fork
 * evidence against `other`. */
void fx_repl_target(fx_repl *r);
void fx_repl_peer(fx_repl *r);

/* Session targets' input: one flags byte, then messages, each a 2-byte
 * big-endian length and that many bytes (the last may be short).  A length
 * with its top bit (FX_SESS_PAUSE) set is 6 minutes of silence before the
 * message (PING and the anti-entropy HELLO fall due) in which local data
 * changed; the rest of it is the length. */
#define FX_SESS_PAUSE 0x8000
enum {
  FX_SESS_HELLO = 1,     /* exchange valid HELLOs before the input's messages */
  FX_SESS_INITIATOR = 2, /* the session under test connected (is the child) */
  FX_SESS_PLAIN = 4,     /* it neither accepts nor sends compressed DATA */
  FX_SESS_SMALL = 8,     /* small window and message bound */
  FX_SESS_UNSENT = 16,   /* every other message it sends cannot be sent */
};
/* The configuration of either side for `flags`. */
lsession_cfg fx_session_cfg(const fx *f, uint8_t flags, bool target);

/* The session under test over its replica, started; with FX_SESS_HELLO
 * also its peer, and every message but DATA exchanged both ways until
 * neither has more (DATA is handed back with session_unsent). */
typedef struct fx_sess {
  fx_repl tr, pr;
  lsession *t, *p;
  uint64_t now;
  lbuf msg;
} fx_sess;
fx_sess *fx_sess_open(uint8_t flags);
void fx_sess_close(fx_sess **s);
/* The message type of an encoded sync message, or -1. */
int fx_msg_kind(const uint8_t *p, size_t n);

#endif
