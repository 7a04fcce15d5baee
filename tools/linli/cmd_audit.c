/*
 * cmd_audit.c - `linli audit`: verify signed histories trusting nothing but
 * the root public key given on the command line.
 *
 * The input is a bundle, or a data directory opened read-only.  Of a data
 * directory only the raw log rows (and fork evidence, which is re-checked
 * on its own) are read: heads, views, digests and the store's own trust
 * state are what a dishonest node could have forged, so the audit never
 * looks at them.  Every delta is decoded, its hash chain recomputed from
 * the canonical encoding, its signature checked, its continuity with the
 * author's previous delta checked, and every op run through the same trust
 * rules a node applies (crdt/trust.h).  Revocations live in other logs
 * than the ops they cut, so they are checked once everything was read.
 *
 * A problem never stops the audit: each is reported with its location
 * (author, seq or seq range), and the exit status is 1 when there is any.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "crdt/hlc.h"
#include "crdt/hmap.h"
#include "crdt/rules.h"
#include "crdt/trust.h"
#include "sync/bundle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUNDLE_MAX ((size_t)2 << 30)
#define S_PROBLEMS_MAX 10000

typedef struct aprob {
  uint8_t author[LINLI_PK_BYTES];
  bool has_author;
  uint64_t seq, seq_end;
  char what[400];
} aprob;

typedef struct aauthor {
  uint8_t pk[LINLI_PK_BYTES];
  bool started, linked;     /* linked: `prev` is a hash we verified */
  bool gapped;              /* a gap was reported: later deltas may fill it */
  bool forked;              /* fork evidence came before its deltas */
  bool partial;             /* its log in the input starts after seq 1 */
  uint64_t fork_seq;
  bool evidence;            /* fork evidence checked, at ev_seq */
  uint64_t ev_seq;
  uint64_t first_seq, next_seq, ops, head_seq;
  uint8_t prev[LINLI_HASH_BYTES];
  uint64_t last_hlc;        /* of op next_seq - 1, when linked */
  uint64_t hlc_min, hlc_max;
  ltrust_state ts;
  /* the chains its log set: seq and issuers, for revocations (a
   * revocation is decided by the chain in force at its seq) */
  struct aepoch {
    uint64_t seq;
    ltrust_issuers is;
  } *epochs;
  uint32_t nepochs, epochs_cap;
  uint64_t valid_to;        /* the last op that passed the rules, 0: none */
  bool blocked;
  uint64_t refused;         /* ops after the first refused one */
  uint32_t problems;
} aauthor;

typedef struct arev {
  uint8_t revoker[LINLI_PK_BYTES];
  uint64_t at_seq;
  lrevoke rv;
} arev;

/* One op of the audited record, copied out of its delta. */
typedef struct ahist {
  uint8_t author[LINLI_PK_BYTES];
  op o;
  char *key, *field, *str;
  op_tag *tags;
  uint8_t hash[LINLI_HASH_BYTES], head_hash[LINLI_HASH_BYTES];
  uint8_t head_sig[LINLI_SIG_BYTES];
  uint64_t head_seq;
} ahist;

typedef struct audit {
  const uint8_t *root;
  hmap authors;
  aauthor **list;
  uint32_t nlist, cap;
  aprob *probs;
  uint32_t nprobs, probs_cap;
  uint64_t nproblems;       /* counted even past S_PROBLEMS_MAX */
  aprob *notes;             /* valid, but worth a look: revocations without force */
  uint32_t nnotes, notes_cap;
  uint64_t nnoted;
  arev *revs;
  uint32_t nrevs, revs_cap;
  const char *record;
  size_t record_len;
  ahist *hist;
  uint32_t nhist, hist_cap;
  uint64_t deltas, ops;
  lbuf scratch;
  uint8_t (*hashes)[LINLI_HASH_BYTES];
  uint32_t hashes_cap;
  /* the raw delta holding (author, seq), from the input */
  int (*refetch)(void *ctx, const uint8_t *author, uint64_t seq, uint8_t **p, size_t *n);
  void *refetch_ctx;
  cli_progress prog;
  uint64_t total;
  bool oom;
} audit;

static void
s_report(audit *a, bool problem, const uint8_t *author, uint64_t seq, uint64_t seq_end,
         const char *fmt, va_list ap)
{
  aprob **list = problem ? &a->probs : &a->notes;
  uint32_t *n = problem ? &a->nprobs : &a->nnotes, *cap = problem ? &a->probs_cap : &a->notes_cap;
  if (problem) {
    a->nproblems++;
    aauthor *aa = author ? hmap_get(&a->authors, author, LINLI_PK_BYTES) : NULL;
    if (aa)
      aa->problems++;
  } else {
    a->nnoted++;
  }
  if (*n == S_PROBLEMS_MAX)
    return;
  if (*n == *cap) {
    uint32_t c = *cap ? 2 * *cap : 16;
    aprob *np = realloc(*list, c * sizeof *np);
    if (np == NULL) {
      a->oom = true;
      return;
    }
    *list = np;
    *cap = c;
  }
  aprob *p = &(*list)[(*n)++];
  memset(p, 0, sizeof *p);
  if (author) {
    memcpy(p->author, author, LINLI_PK_BYTES);
    p->has_author = true;
  }
  p->seq = seq;
  p->seq_end = seq_end;
  vsnprintf(p->what, sizeof p->what, fmt, ap);
}

static void
s_problem(audit *a, const uint8_t *author, uint64_t seq, uint64_t seq_end, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
s_problem(audit *a, const uint8_t *author, uint64_t seq, uint64_t seq_end, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  s_report(a, true, author, seq, seq_end, fmt, ap);
  va_end(ap);
}

/* Something valid that an auditor should see; not a problem. */
static void
s_note(audit *a, const uint8_t *author, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_note(audit *a, const uint8_t *author, uint64_t seq, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  s_report(a, false, author, seq, seq, fmt, ap);
  va_end(ap);
}

static aauthor *
s_author(audit *a, const uint8_t pk[LINLI_PK_BYTES])
{
  aauthor *aa = hmap_get(&a->authors, pk, LINLI_PK_BYTES);
  if (aa)
    return aa;
  aa = calloc(1, sizeof *aa);
  if (aa == NULL)
    return NULL;
  memcpy(aa->pk, pk, LINLI_PK_BYTES);
  trust_state_init(&aa->ts);
  if (a->nlist == a->cap) {
    uint32_t cap = a->cap ? 2 * a->cap : 64;
    aauthor **nl = realloc(a->list, cap * sizeof *nl);
    if (nl == NULL) {
      free(aa);
      return NULL;
    }
    a->list = nl;
    a->cap = cap;
  }
  if (hmap_put(&a->authors, pk, LINLI_PK_BYTES, aa) != 0) {
    free(aa);
    return NULL;
  }
  a->list[a->nlist++] = aa;
  return aa;
}

static char *
s_dup(const char *p, size_t n)
{
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, p, n);
    d[n] = 0;
  }
  return d;
}

static void
s_keep_hist(audit *a, const delta *d, uint32_t i, const uint8_t head[LINLI_HASH_BYTES])
{
  if (a->nhist == a->hist_cap) {
    uint32_t cap = a->hist_cap ? 2 * a->hist_cap : 16;
    ahist *nh = realloc(a->hist, cap * sizeof *nh);
    if (nh == NULL) {
      a->oom = true;
      return;
    }
    a->hist = nh;
    a->hist_cap = cap;
  }
  const op *o = &d->ops[i];
  ahist *h = &a->hist[a->nhist++];
  memset(h, 0, sizeof *h);
  memcpy(h->author, d->author, LINLI_PK_BYTES);
  h->o = *o;
  h->key = s_dup(o->key, o->key_len);
  h->field = s_dup(o->field ? o->field : "", o->field_len);
  h->str = o->str ? s_dup(o->str, o->str_len) : NULL;
  if (o->ntags) {
    h->tags = malloc(o->ntags * sizeof *h->tags);
    if (h->tags)
      memcpy(h->tags, o->tags, o->ntags * sizeof *h->tags);
  }
  if (h->key == NULL || h->field == NULL || (o->str && h->str == NULL) ||
      (o->ntags && h->tags == NULL))
    a->oom = true;
  h->o.key = h->key;
  h->o.field = h->field;
  h->o.str = h->str;
  h->o.tags = h->tags;
  memcpy(h->hash, a->hashes[i], LINLI_HASH_BYTES);
  memcpy(h->head_hash, head, LINLI_HASH_BYTES);
  memcpy(h->head_sig, d->sig, LINLI_SIG_BYTES);
  h->head_seq = delta_last_seq(d);
}

/* The hash the input gives to `author`'s op `seq`, or -1 when it has none. */
static int
s_hash_at(audit *a, const uint8_t *author, uint64_t seq, uint8_t out[LINLI_HASH_BYTES])
{
  uint8_t *p;
  size_t n;
  if (a->refetch == NULL || a->refetch(a->refetch_ctx, author, seq, &p, &n) != 0)
    return -1;
  int rc = rules_hash_at_verified(p, n, author, seq, out, NULL);
  free(p);
  return rc ? -1 : 0;
}

/* One delta of the input. */
static int
s_audit_delta(audit *a, const uint8_t *p, size_t n)
{
  delta d;
  lerr e = {0};
  int rc;
  memset(&d, 0, sizeof d);
  a->deltas++;
  if (delta_decode(&d, p, n, &e) != 0) {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t f, l;
    if (delta_peek(p, n, author, &f, &l) == 0) {
      aauthor *aa = s_author(a, author);
      if (aa) {
        aa->linked = false;
        if (aa->next_seq <= l)
          aa->next_seq = l + 1;
        aa->started = true;
      }
      s_problem(a, author, f, l, "unreadable delta: %s", e.msg);
    } else {
      s_problem(a, NULL, 0, 0, "delta %llu of the input is unreadable: %s",
                (unsigned long long)a->deltas, e.msg);
    }
    return 0;
  }
  uint64_t first = d.first_seq, last = delta_last_seq(&d);
  aauthor *aa = s_author(a, d.author);
  if (aa == NULL) {
    delta_clear(&d);
    a->oom = true;
    return LINLI_ENOMEM;
  }
  /* Continuity with what came before in this input, decided by the same
   * rules as a node's (crdt/rules.h). */
  rules_pos held = {.seq = aa->next_seq ? aa->next_seq - 1 : 0, .hlc = aa->last_hlc};
  memcpy(held.hash, aa->prev, LINLI_HASH_BYTES);
  bool check = aa->started && aa->linked && !(aa->gapped && first < aa->next_seq);
  if (!aa->started) {
    aa->first_seq = first;
    /* A partial bundle (`linli export --for`): what is here is checked
     * from the delta's own `prev` on (chain, signatures, continuity,
     * timestamps); the trust rules need the author's certificate at the
     * start of its log, so they are not possible here (the root's are). */
    if (first != 1 && memcmp(d.author, a->root, LINLI_PK_BYTES) != 0) {
      aa->partial = true;
      s_note(a, d.author, first,
             "ops before seq %llu are not in this input (a partial bundle): chain and "
             "signatures checked from here on, certificate and namespace checks not possible",
             (unsigned long long)first);
    }
  } else if (!check && first < aa->next_seq) {
    s_problem(a, d.author, first, last < aa->next_seq ? last : aa->next_seq - 1,
              "delta repeats seqs already seen (reordered or duplicated)");
  } else if (check && (rc = rules_delta_follows(&held, &d, &e)) != 0) {
    if (rc == LINLI_EGAP) {
      s_problem(a, d.author, aa->next_seq, first - 1,
                "ops missing from the middle of the chain (dropped)");
      aa->gapped = true;
    } else {
      s_problem(a, d.author, first, first,
                "previous hash does not match op %llu: the chain is broken (an op dropped, "
                "reordered or altered)",
                (unsigned long long)(first - 1));
    }
    check = false;
  }
  aa->started = true;
  if (aa->forked && !aa->blocked) {
    s_problem(a, d.author, first, last,
              "ops of an author whose log forked at seq %llu: a node holding the evidence "
              "refuses them",
              (unsigned long long)aa->fork_seq);
    aa->blocked = true;
  }
  if (a->hashes_cap < d.nops) {
    void *nh = realloc(a->hashes, d.nops * sizeof *a->hashes);
    if (nh == NULL) {
      delta_clear(&d);
      a->oom = true;
      return LINLI_ENOMEM;
    }
    a->hashes = nh;
    a->hashes_cap = d.nops;
  }
  uint8_t head[LINLI_HASH_BYTES];
  if (delta_verify(&d, head, a->hashes, &a->scratch, &e) != 0) {
    s_problem(a, d.author, first, last,
              "signature does not verify: an op, the order of ops or the signature was altered");
    aa->linked = false;
    if (aa->next_seq <= last)
      aa->next_seq = last + 1;
    delta_clear(&d);
    return 0;
  }
  uint32_t skip = 0;
  if (check) {
    uint8_t at[LINLI_HASH_BYTES];
    uint64_t fork_seq;
    bool have_at = last < held.seq && s_hash_at(a, d.author, last, at) == 0;
    rc = rules_delta_meets(&held, &d, (const uint8_t(*)[LINLI_HASH_BYTES])a->hashes,
                           have_at ? at : NULL, &skip, &fork_seq, &e);
    if (rc == RULES_HELD) { /* the same history again: nothing new */
      delta_clear(&d);
      return 0;
    }
    if (rc == LINLI_EFORK) {
      s_problem(a, d.author, fork_seq, fork_seq,
                "fork: two different ops signed for this seq (both deltas in this input)");
      aa->blocked = true;
    } else if (rc != 0) {
      s_problem(a, d.author, first + skip, first + skip, "%s", e.msg);
      aa->blocked = true;
    }
  }
  if (first + skip >= aa->next_seq || !aa->linked) {
    memcpy(aa->prev, head, LINLI_HASH_BYTES);
    aa->last_hlc = d.ops[d.nops - 1].hlc;
    aa->linked = true;
  }
  if (aa->next_seq <= last)
    aa->next_seq = last + 1;
  aa->head_seq = last;
  for (uint32_t i = skip; i < d.nops; i++) {
    const op *o = &d.ops[i];
    a->ops++;
    if (aa->blocked) {
      aa->refused++;
      continue;
    }
    lrevoke rv;
    bool isrv = false;
    uint64_t chain_seq = aa->ts.chain_seq;
    if (!aa->partial && trust_check_op(a->root, d.author, &aa->ts, o, &rv, &isrv, &e) != 0) {
      s_problem(a, d.author, o->seq, o->seq, "%s", e.msg);
      aa->blocked = true;
      continue;
    }
    if (aa->ts.chain_seq != chain_seq) {
      if (aa->nepochs == aa->epochs_cap) {
        uint32_t cap = aa->epochs_cap ? 2 * aa->epochs_cap : 2;
        struct aepoch *ne = realloc(aa->epochs, cap * sizeof *ne);
        if (ne == NULL) {
          a->oom = true;
          continue;
        }
        aa->epochs = ne;
        aa->epochs_cap = cap;
      }
      aa->epochs[aa->nepochs].seq = o->seq;
      trust_issuers(&aa->ts.chain, &aa->epochs[aa->nepochs++].is);
    }
    aa->valid_to = o->seq;
    aa->ops++;
    if (aa->hlc_min == 0 || o->hlc < aa->hlc_min)
      aa->hlc_min = o->hlc;
    if (o->hlc > aa->hlc_max)
      aa->hlc_max = o->hlc;
    if (isrv) {
      if (a->nrevs == a->revs_cap) {
        uint32_t cap = a->revs_cap ? 2 * a->revs_cap : 8;
        arev *nr = realloc(a->revs, cap * sizeof *nr);
        if (nr == NULL) {
          a->oom = true;
          continue;
        }
        a->revs = nr;
        a->revs_cap = cap;
      }
      arev *r = &a->revs[a->nrevs++];
      memcpy(r->revoker, d.author, LINLI_PK_BYTES);
      r->at_seq = o->seq;
      r->rv = rv;
    }
    if (a->record && o->key_len == a->record_len && memcmp(o->key, a->record, o->key_len) == 0)
      s_keep_hist(a, &d, i, head);
  }
  delta_clear(&d);
  cli_progress_update(&a->prog, a->ops, a->total);
  return 0;
}

/* Rule 6 (docs/FORMAT.md): a revocation has force when the root wrote it,
 * or an issuer in the subject's chain in force at its seq; decided by
 * trust_revoke_check, as a node decides it.  One the input cannot decide
 * (the subject's log does not reach its seq here) has no force in it, as
 * on a node holding the same logs. */
static void
s_check_revocations(audit *a)
{
  char who[LINLI_SHORT_ID_LEN + 1], by[LINLI_SHORT_ID_LEN + 1];
  for (uint32_t i = 0; i < a->nrevs; i++) {
    arev *r = &a->revs[i];
    aauthor *sub = hmap_get(&a->authors, r->rv.subject, LINLI_PK_BYTES);
    uint64_t at = trust_revoke_at(r->rv.seq);
    ident_short(who, r->rv.subject);
    ident_short(by, r->revoker);
    lerr e = {0};
    int rc = 0;
    if (memcmp(r->revoker, a->root, LINLI_PK_BYTES) != 0) {
      if (sub == NULL || sub->valid_to < at) {
        s_note(a, r->revoker, r->at_seq,
               "revokes %s at seq %llu, whose log does not reach that seq in this input: "
               "no force here",
               who, (unsigned long long)r->rv.seq);
        continue;
      }
      const ltrust_issuers *is = NULL;
      for (uint32_t k = sub->nepochs; k-- > 0 && is == NULL;)
        if (sub->epochs[k].seq <= at)
          is = &sub->epochs[k].is;
      rc = trust_revoke_check(a->root, r->revoker, &r->rv, is, &e);
    }
    if (rc != 0) {
      s_note(a, r->revoker, r->at_seq, "%s", e.msg);
      continue;
    }
    if (sub != NULL)
      trust_add_revocation(&sub->ts, r->revoker, &r->rv);
  }
  /* Per author, the revocation in force (the smallest seq). */
  for (uint32_t i = 0; i < a->nlist; i++) {
    aauthor *sub = a->list[i];
    const ltrust_rev *in = trust_revocation(&sub->ts);
    if (in == NULL)
      continue;
    ident_short(by, in->revoker);
    if (sub->head_seq > in->rv.seq)
      s_problem(a, sub->pk, in->rv.seq + 1, sub->head_seq,
                "ops signed after the key was revoked at seq %llu by %s (%s)",
                (unsigned long long)in->rv.seq, by,
                in->rv.reason[0] ? in->rv.reason : "no reason given");
    uint8_t h[LINLI_HASH_BYTES];
    if (in->rv.seq > 0 && sub->head_seq >= in->rv.seq &&
        s_hash_at(a, sub->pk, in->rv.seq, h) == 0 &&
        memcmp(h, in->rv.hash, LINLI_HASH_BYTES) != 0)
      s_problem(a, sub->pk, in->rv.seq, in->rv.seq,
                "fork: the revocation by %s carries this key's signature over another op at this "
                "seq",
                by);
  }
}

static int
s_fork_cb(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
          size_t n)
{
  audit *a = ctx;
  uint8_t au[LINLI_PK_BYTES];
  uint64_t sq;
  lerr e;
  /* lstore_forks checked it already; the audit checks it itself.  From a
   * bundle (author NULL) it comes before every delta. */
  if (fork_check(ev, n, au, &sq, &e) != 0) {
    s_problem(a, author, seq, seq, "fork evidence %s does not check: %s",
              author ? "held by the node" : "in this input", e.msg);
    return 0;
  }
  /* A problem, unless a revocation settles it (s_check_forks). */
  aauthor *aa = s_author(a, au);
  if (aa != NULL && !aa->evidence) {
    aa->evidence = true;
    aa->ev_seq = sq;
  }
  if (aa == NULL) {
    a->oom = true;
  } else if (author == NULL && !aa->forked) {
    /* as on a node that took the evidence: the author's new ops are refused */
    aa->forked = true;
    aa->fork_seq = sq;
  }
  return 0;
}

/* Fork evidence is a problem unless the key's issuer settled it: a
 * revocation in force at or after the fork seq that carries the key's own
 * signature over the history held here (its hash at that seq is the one
 * held).  Then only that history, up to the revocation, is valid, and the
 * other one's ops are refused by every node (docs/OPERATING.md, "Forks"). */
static void
s_check_forks(audit *a)
{
  char by[LINLI_SHORT_ID_LEN + 1];
  for (uint32_t i = 0; i < a->nlist; i++) {
    aauthor *sub = a->list[i];
    if (!sub->evidence)
      continue;
    const ltrust_rev *in = trust_revocation(&sub->ts);
    uint8_t h[LINLI_HASH_BYTES];
    if (in != NULL && in->rv.seq >= sub->ev_seq && sub->head_seq >= in->rv.seq &&
        s_hash_at(a, sub->pk, in->rv.seq, h) == 0 &&
        memcmp(h, in->rv.hash, LINLI_HASH_BYTES) == 0) {
      ident_short(by, in->revoker);
      s_note(a, sub->pk, sub->ev_seq,
             "fork: two different ops signed for this seq, settled: %s revoked the key at seq "
             "%llu, naming the history held here; the other history is refused",
             by, (unsigned long long)in->rv.seq);
    } else {
      s_problem(a, sub->pk, sub->ev_seq, sub->ev_seq,
                "fork: two different ops signed for this seq (both deltas kept as evidence)");
    }
  }
}

/* ---- sources ---- */

static int
s_store_delta(void *ctx, const uint8_t *p, size_t n)
{
  return s_audit_delta(ctx, p, n);
}

static int
s_store_refetch(void *ctx, const uint8_t *author, uint64_t seq, uint8_t **p, size_t *n)
{
  return lstore_log_find(ctx, author, seq, p, n, NULL);
}

/* A bundle's deltas, indexed so revocations can look back. */
typedef struct bidx {
  const uint8_t **p;
  size_t *n;
  uint32_t count, cap;
} bidx;

static int
s_bundle_refetch(void *ctx, const uint8_t *author, uint64_t seq, uint8_t **out, size_t *outn)
{
  bidx *b = ctx;
  for (uint32_t i = 0; i < b->count; i++) {
    uint8_t au[LINLI_PK_BYTES];
    uint64_t f, l;
    if (delta_peek(b->p[i], b->n[i], au, &f, &l) == 0 && memcmp(au, author, LINLI_PK_BYTES) == 0 &&
        f <= seq && seq <= l) {
      if ((*out = malloc(b->n[i])) == NULL)
        return -1;
      memcpy(*out, b->p[i], b->n[i]);
      *outn = b->n[i];
      return 0;
    }
  }
  return -1;
}

/* ---- output ---- */

static int
s_author_cmp(const void *x, const void *y)
{
  const aauthor *a = *(aauthor *const *)x, *b = *(aauthor *const *)y;
  return memcmp(a->pk, b->pk, LINLI_PK_BYTES);
}

static const char *
s_name(const audit *a, const aauthor *aa)
{
  if (aa->ts.certified)
    return aa->ts.chain.c[0].name;
  if (a->root && memcmp(aa->pk, a->root, LINLI_PK_BYTES) == 0)
    return "(trust root)";
  return "(no certificate)";
}

/* Who an author is, from the chain its own log set (docs/FORMAT.md,
 * "Person certificates"); aa may be NULL. */
static void
s_who(const audit *a, const aauthor *aa, lauthor_info *out)
{
  if (aa && aa->ts.certified) {
    lauthor_from_chain(&aa->ts.chain, out);
    return;
  }
  memset(out, 0, sizeof *out);
  out->role = aa && a->root && memcmp(aa->pk, a->root, LINLI_PK_BYTES) == 0 ? ROLE_DISTRICT : -1;
}

static int
s_hist_cmp(const void *x, const void *y)
{
  const ahist *a = x, *b = y;
  if (a->o.hlc != b->o.hlc)
    return a->o.hlc < b->o.hlc ? -1 : 1;
  int c = memcmp(a->author, b->author, LINLI_PK_BYTES);
  if (c)
    return c;
  return a->o.seq < b->o.seq ? -1 : a->o.seq > b->o.seq;
}

/* Terminal columns of UTF-8 text: East Asian wide characters take two, so
 * that a column of Chinese names lines up. */
static int
s_columns(const char *s)
{
  int w = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    uint32_t cp = *p;
    int len = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
    if (len > 1)
      cp &= 0x3fu >> (len - 1);
    for (int i = 1; i < len && p[i]; i++)
      cp = (cp << 6) | (p[i] & 0x3f);
    w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                 (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                 (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                 (cp >= 0xffe0 && cp <= 0xffe6) || cp >= 0x20000
             ? 2
             : 1;
    for (int i = 0; i < len && *p; i++)
      p++;
  }
  return w;
}

static void
s_print_list(const char *title, const aprob *list, uint32_t n, uint64_t total)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  if (total == 0)
    return;
  printf("\n%s:\n", title);
  for (uint32_t i = 0; i < n; i++) {
    const aprob *p = &list[i];
    if (p->has_author) {
      ident_short(who, p->author);
      if (p->seq_end > p->seq)
        printf("  author %s seq %llu..%llu: %s\n", who, (unsigned long long)p->seq,
               (unsigned long long)p->seq_end, p->what);
      else
        printf("  author %s seq %llu: %s\n", who, (unsigned long long)p->seq, p->what);
    } else {
      printf("  %s\n", p->what);
    }
  }
  if (total > n)
    printf("  ... and %llu more\n", (unsigned long long)(total - n));
}

static void
s_print_text(audit *a, const char *source)
{
  char who[LINLI_SHORT_ID_LEN + 1], t0[64], t1[64], root[2 * LINLI_PK_BYTES + 1];
  hex_encode(root, a->root, LINLI_PK_BYTES);
  printf("audit of %s\ntrust root: %s\n\n", source, root);
  printf("%-12s  %-20s  %-8s  %9s  %9s  %-19s  %-19s  %s\n", "author", "name", "role", "ops",
         "head", "first op", "last op", "problems");
  for (uint32_t i = 0; i < a->nlist; i++) {
    aauthor *aa = a->list[i];
    ident_short(who, aa->pk);
    const char *role = aa->ts.certified ? trust_role_name(aa->ts.chain.c[0].role)
                       : memcmp(aa->pk, a->root, LINLI_PK_BYTES) == 0 ? "root" : "-";
    cli_time(t0, sizeof t0, aa->hlc_min);
    cli_time(t1, sizeof t1, aa->hlc_max);
    t0[19] = t1[19] = 0;
    printf("%-12s  ", who);
    lauthor_info ai;
    s_who(a, aa, &ai);
    char name[2 * TRUST_NAME_MAX + 8];
    /* a person with its station: 王芳 (石路村) */
    if (trust_role_person(ai.role) && ai.station[0])
      snprintf(name, sizeof name, "%s (%s)", ai.name, ai.station);
    else
      snprintf(name, sizeof name, "%s", s_name(a, aa));
    cli_text(stdout, name, strlen(name));
    int pad = 20 - s_columns(name);
    printf("%*s  %-8s  %9llu  %9llu  %-19s  %-19s  %u\n", pad > 0 ? pad : 0, "", role,
           (unsigned long long)aa->ops, (unsigned long long)aa->head_seq,
           aa->ops ? t0 : "-", aa->ops ? t1 : "-", aa->problems);
  }
  s_print_list("problems", a->probs, a->nprobs, a->nproblems);
  s_print_list("notes (valid, no effect)", a->notes, a->nnotes, a->nnoted);
  printf("\n%s: %llu ops in %llu deltas from %u authors, %llu problem%s\n",
         a->nproblems ? "FAILED" : "ok", (unsigned long long)a->ops,
         (unsigned long long)a->deltas, a->nlist, (unsigned long long)a->nproblems,
         a->nproblems == 1 ? "" : "s");
}

static void
s_print_json_list(jw *w, const char *key, const aprob *list, uint32_t n)
{
  jw_key(w, key);
  jw_arr_begin(w);
  for (uint32_t i = 0; i < n; i++) {
    const aprob *p = &list[i];
    jw_obj_begin(w);
    jw_key(w, "author");
    if (p->has_author)
      jw_hex(w, p->author, LINLI_PK_BYTES);
    else
      jw_null(w);
    jw_key(w, "seq");
    jw_uint(w, p->seq);
    jw_key(w, "seq_end");
    jw_uint(w, p->seq_end > p->seq ? p->seq_end : p->seq);
    jw_key(w, "what");
    jw_str(w, p->what);
    jw_obj_end(w);
  }
  jw_arr_end(w);
}

static void
s_print_json_authors(audit *a, jw *w)
{
  char t[64];
  jw_key(w, "authors");
  jw_arr_begin(w);
  for (uint32_t i = 0; i < a->nlist; i++) {
    aauthor *aa = a->list[i];
    jw_obj_begin(w);
    jw_key(w, "id");
    jw_hex(w, aa->pk, LINLI_PK_BYTES);
    jw_key(w, "name");
    jw_str(w, s_name(a, aa));
    jw_key(w, "role");
    if (aa->ts.certified)
      jw_str(w, trust_role_name(aa->ts.chain.c[0].role));
    else
      jw_null(w);
    jw_key(w, "prefix");
    if (aa->ts.certified)
      jw_str(w, aa->ts.chain.c[0].prefix);
    else
      jw_null(w);
    lauthor_info ai;
    s_who(a, aa, &ai);
    jw_key(w, "station");
    jw_str(w, ai.station);
    jw_key(w, "ops");
    jw_uint(w, aa->ops);
    jw_key(w, "first_seq");
    jw_uint(w, aa->first_seq);
    jw_key(w, "head_seq");
    jw_uint(w, aa->head_seq);
    jw_key(w, "head_hash");
    if (aa->linked)
      jw_hex(w, aa->prev, LINLI_HASH_BYTES);
    else
      jw_null(w);
    jw_key(w, "first_time");
    jw_str(w, aa->ops ? cli_time(t, sizeof t, aa->hlc_min) : "");
    jw_key(w, "last_time");
    jw_str(w, aa->ops ? cli_time(t, sizeof t, aa->hlc_max) : "");
    jw_key(w, "problems");
    jw_uint(w, aa->problems);
    jw_obj_end(w);
  }
  jw_arr_end(w);
  s_print_json_list(w, "problems", a->probs, a->nprobs);
  s_print_json_list(w, "notes", a->notes, a->nnotes);
}

/* The record's history and the state it adds up to. */
static int
s_print_record(audit *a, jw *w)
{
  if (a->nhist > 1)
    qsort(a->hist, a->nhist, sizeof *a->hist, s_hist_cmp);
  rec *r = rec_new();
  if (r == NULL)
    return cli_fail("out of memory");
  for (uint32_t i = 0; i < a->nhist; i++)
    if (rec_apply(r, a->hist[i].author, &a->hist[i].o) < 0) {
      rec_destroy(&r);
      return cli_fail("out of memory");
    }
  if (w) {
    jw_key(w, "record");
    jw_obj_begin(w);
    jw_key(w, "key");
    jw_str(w, a->record);
    jw_key(w, "ops");
    jw_arr_begin(w);
  } else {
    printf("\nhistory of %s (%u op%s):\n", a->record, a->nhist, a->nhist == 1 ? "" : "s");
  }
  for (uint32_t i = 0; i < a->nhist; i++) {
    ahist *h = &a->hist[i];
    lhist_entry he = {.author = h->author, .o = &h->o, .hash = h->hash,
                      .head_seq = h->head_seq, .head_hash = h->head_hash,
                      .head_sig = h->head_sig};
    /* Who: from the chain in the author's log, checked under the root. */
    aauthor *aa = hmap_get(&a->authors, h->author, LINLI_PK_BYTES);
    lauthor_info who;
    s_who(a, aa, &who);
    if (w) {
      cli_hist_json(w, &he, &who);
    } else {
      fputs("  ", stdout);
      if (aa && !trust_role_person(who.role)) {
        cli_text(stdout, s_name(a, aa), strlen(s_name(a, aa)));
        fputs(": ", stdout);
      }
      cli_hist_text(stdout, &he, &who);
    }
  }
  int rc = CLI_OK;
  if (w) {
    jw_arr_end(w);
    jw_key(w, "present");
    jw_bool(w, rec_present(r));
    jw_key(w, "state");
    rc = cli_rec_json(w, r);
    jw_obj_end(w);
  } else {
    printf("resulting state%s:\n", rec_present(r) ? "" : " (deleted or empty)");
    rc = cli_rec_text(r);
  }
  rec_destroy(&r);
  return rc;
}

static void
s_audit_free(audit *a)
{
  for (uint32_t i = 0; i < a->nlist; i++) {
    free(a->list[i]->epochs);
    free(a->list[i]);
  }
  free(a->list);
  hmap_free(&a->authors);
  free(a->probs);
  free(a->notes);
  free(a->revs);
  for (uint32_t i = 0; i < a->nhist; i++) {
    free(a->hist[i].key);
    free(a->hist[i].field);
    free(a->hist[i].str);
    free(a->hist[i].tags);
  }
  free(a->hist);
  free(a->hashes);
  lbuf_free(&a->scratch);
}

int
cmd_audit(cli *c)
{
  uint8_t root[LINLI_PK_BYTES];
  lerr e = {0};
  audit a;
  lstore *s = NULL;
  uint8_t *buf = NULL;
  size_t n = 0;
  bidx bi = {0};
  char source[4400];
  int rc = CLI_OK;

  memset(&a, 0, sizeof a);
  if (c->root == NULL)
    return cli_usage(c, "--root KEY is required: the audit trusts nothing else");
  if (cli_pubkey(c->root, root, &e) != 0)
    return cli_usage(c, "--root: %s", e.msg);
  if (c->record != NULL && key_check(c->record, strlen(c->record), &e) != 0)
    return cli_usage(c, "--record: %s", e.msg);
  a.root = root;
  a.record = c->record;
  a.record_len = c->record ? strlen(c->record) : 0;
  hmap_init(&a.authors);
  lbuf_init(&a.scratch);
  cli_progress_init(&a.prog, "audited", " ops");

  if (c->argc == 1) {
    const char *path = c->argv[0];
    bundle_reader br;
    snprintf(source, sizeof source, "bundle %s", path);
    if (cli_file_read(path, S_BUNDLE_MAX, &buf, &n, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
    a.total = 0;
    if (bundle_read_begin(&br, buf, n, &e) != 0) {
      rc = cli_fail("%s: %s", path, e.msg);
      goto done;
    }
    char who[LINLI_SHORT_ID_LEN + 1];
    ident_short(who, br.info.exporter);
    snprintf(source, sizeof source, "bundle %s (exported by %s)", path, who);
    a.refetch = s_bundle_refetch;
    a.refetch_ctx = &bi;
    uint8_t last_author[LINLI_PK_BYTES] = {0};
    uint64_t last_seq = 0;
    bool any = false;
    for (;;) {
      const uint8_t *p;
      size_t dn;
      int r = bundle_read_next(&br, &p, &dn, &e);
      if (r == 0)
        break;
      if (r == BUNDLE_FORK) {
        s_fork_cb(&a, NULL, 0, p, dn);
        continue;
      }
      if (r < 0) {
        char where[120] = "at its start";
        if (any) {
          ident_short(who, last_author);
          snprintf(where, sizeof where, "after author %s seq %llu", who,
                   (unsigned long long)last_seq);
        }
        s_problem(&a, NULL, 0, 0, "bundle truncated or altered %s: %s", where, e.msg);
        break;
      }
      uint64_t f;
      if (delta_peek(p, dn, last_author, &f, &last_seq) == 0)
        any = true;
      if (bi.count == bi.cap) {
        uint32_t cap = bi.cap ? 2 * bi.cap : 256;
        const uint8_t **np = realloc(bi.p, cap * sizeof *np);
        size_t *nn = np ? realloc(bi.n, cap * sizeof *nn) : NULL;
        if (np)
          bi.p = np;
        if (nn == NULL) {
          rc = cli_fail("out of memory");
          goto done;
        }
        bi.n = nn;
        bi.cap = cap;
      }
      bi.p[bi.count] = p;
      bi.n[bi.count++] = dn;
      if (s_audit_delta(&a, p, dn) != 0) {
        rc = cli_fail("out of memory");
        goto done;
      }
    }
  } else {
    lstore_opts o = {.profile = LSTORE_DISTRICT, .read_only = true};
    snprintf(source, sizeof source, "data directory %s", c->dir);
    if (lstore_open(&s, c->dir, &o, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
    lstore_stat st;
    if (lstore_stat_get(s, &st, NULL) == 0)
      a.total = st.ops; /* only for the progress line */
    a.refetch = s_store_refetch;
    a.refetch_ctx = s;
    if (lstore_log_scan(s, s_store_delta, &a, &e) != 0) {
      s_problem(&a, NULL, 0, 0, "the log could not be read to the end: %s", e.msg);
    }
    if (lstore_forks(s, s_fork_cb, &a, &e) != 0)
      s_problem(&a, NULL, 0, 0, "fork evidence: %s", e.msg);
  }
  s_check_revocations(&a);
  s_check_forks(&a);
  cli_progress_clear(&a.prog);
  if (a.oom) {
    rc = cli_fail("out of memory");
    goto done;
  }
  if (a.nlist > 1) /* a.list is NULL when the input held no readable delta */
    qsort(a.list, a.nlist, sizeof *a.list, s_author_cmp);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "ok");
    jw_bool(&w, a.nproblems == 0);
    jw_key(&w, "source");
    jw_str(&w, source);
    jw_key(&w, "root");
    jw_hex(&w, root, LINLI_PK_BYTES);
    jw_key(&w, "deltas");
    jw_uint(&w, a.deltas);
    jw_key(&w, "ops");
    jw_uint(&w, a.ops);
    jw_key(&w, "problem_count");
    jw_uint(&w, a.nproblems);
    s_print_json_authors(&a, &w);
    if (a.record)
      rc = s_print_record(&a, &w);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    s_print_text(&a, source);
    if (a.record)
      rc = s_print_record(&a, NULL);
  }
  if (rc == CLI_OK && a.nproblems > 0)
    rc = CLI_FAIL;
done:
  cli_progress_clear(&a.prog);
  s_audit_free(&a);
  free(bi.p);
  free(bi.n);
  free(buf);
  lstore_close(&s);
  return rc;
}
