/*
 * rules.h - how a signed delta meets the log already held of its author:
 * the validity rules of docs/FORMAT.md that concern a log as a whole
 * (continuity, the hash chain across deltas, forks, timestamps), stated
 * once.  node/ingest.c (import and sync) and `linli audit` both decide
 * every delta here, and every op through trust_check_op (crdt/trust.h),
 * so an auditor never accepts what a replica refuses, or the reverse.
 *
 * Pure: the caller says what it holds (rules_pos) and, when a delta falls
 * wholly inside it, the hash it holds at the delta's last seq.
 */
#ifndef LINLI_RULES_H
#define LINLI_RULES_H

#include "crdt/delta.h"

/* What is held of one author's log: ops 1..seq, the hash at seq (zeros
 * when seq is 0) and op seq's timestamp (0 when seq is 0). */
typedef struct rules_pos {
  uint64_t seq;
  uint8_t hash[LINLI_HASH_BYTES];
  uint64_t hlc;
} rules_pos;

/* Before verifying: whether delta `d` can follow what is held at all.
 * LINLI_EGAP when it starts after seq + 1 (ops missing between), and
 * LINLI_ECHAIN when it starts at seq + 1 with a `prev` other than the hash
 * held.  The message starts "seq N: ". */
int rules_delta_follows(const rules_pos *held, const delta *d, lerr *e);

/* After verifying `d` (hashes[i] is the hash of its op first_seq + i):
 * how it meets what is held.  *skip gets the number of its leading ops
 * that are held already; 0 is returned when ops from *skip on are new and
 * may follow (the first of them later than held->hlc: timestamps strictly
 * increase along an author's log).  RULES_HELD when every op is held and
 * the histories agree where they meet: at held->seq, or at the delta's
 * last seq, whose hash the caller passes as `held_at_last` (NULL when it
 * cannot tell, e.g. it is in a delta not stored yet: then the delta's own
 * signed hash is taken).  LINLI_EFORK, with *fork_seq, when the histories
 * differ (two signed histories: fork evidence); LINLI_EMALFORMED when a
 * timestamp goes back.  Call rules_delta_follows first. */
#define RULES_HELD 1
int rules_delta_meets(const rules_pos *held, const delta *d,
                      const uint8_t (*hashes)[LINLI_HASH_BYTES],
                      const uint8_t *held_at_last, uint32_t *skip, uint64_t *fork_seq, lerr *e);

/* The hash a decoded delta gives to its op `seq` (within its range),
 * chained from d->prev.  The signature is not checked. */
void rules_hash_at(const delta *d, uint64_t seq, uint8_t out[LINLI_HASH_BYTES], lbuf *scratch);

/* The hash that the encoded delta p[0..n) gives to `seq`, after checking
 * that it decodes, is `author`'s, covers `seq`, and verifies (chain and
 * signature). */
int rules_hash_at_verified(const uint8_t *p, size_t n, const uint8_t author[LINLI_PK_BYTES],
                           uint64_t seq, uint8_t out[LINLI_HASH_BYTES], lerr *e);

#endif
