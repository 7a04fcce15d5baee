/*
 * summary.h - what a node holds: one (author, seq, head hash) per author log.
 *
 * A summary is how one side tells the other what it has, so that the other
 * sends only what is missing: by file (`linli summary` / `linli export
 * --for`) now, in the hello message of the network protocol later.  It is a
 * few dozen bytes per author, whatever the size of the logs.  The head hash
 * lets the sender notice a diverged log (a fork) instead of trusting the
 * sequence number alone.  docs/FORMAT.md, "Summary", has the bytes.
 */
#ifndef LINLI_SUMMARY_H
#define LINLI_SUMMARY_H

#include "crdt/err.h"
#include "crdt/ident.h"
#include "crdt/mp.h"

typedef struct lhead_ref {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  uint8_t hash[LINLI_HASH_BYTES];
} lhead_ref;

typedef struct lsummary {
  uint8_t node[LINLI_PK_BYTES]; /* whose summary */
  uint64_t created_ms;
  bool is_signed;               /* decoded from a signed (v2) summary */
  uint32_t n;
  lhead_ref *heads;             /* owned, sorted by author, no repeats */
} lsummary;

/* Sorts heads by author; fails with LINLI_EINVAL on a repeated author. */
int summary_sort(lsummary *s);
/* The unsigned form of older versions ("linli-summary-v1"): what an old
 * summary file holds; kept for tests of its refusal and the fuzzer. */
void summary_encode(const lsummary *s, lbuf *out);
/* The signed form ("linli-summary-v2") a station writes: `id` is the
 * station's identity, whose key s->node must be. */
void summary_encode_signed(const lsummary *s, const lident *id, lbuf *out);
/* Reads either form; a signed one whose signature does not verify for
 * s->node is refused (LINLI_ESIG), an unsigned one has is_signed false. */
int summary_decode(lsummary *s, const uint8_t *p, size_t n, lerr *e);
void summary_free(lsummary *s);
/* Binary search; NULL when the summary has no such author. */
const lhead_ref *summary_find(const lsummary *s, const uint8_t author[LINLI_PK_BYTES]);

#endif
