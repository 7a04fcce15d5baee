/*
 * records.h - writes that cannot go wrong silently, and the schema a
 * station holds: what the command line and any other front end (an API)
 * call instead of lstore_write for a person's write.
 *
 * The schema travels as an ordinary record, LSCHEMA_KEY (crdt/schema.h),
 * written by the trust root only: it reaches every station by sync, and a
 * station checks each local write against the version it holds
 * (docs/SCHEMA.md, docs/FORMAT.md "Schema").  Ops from other stations are
 * never refused for the schema: they were checked where they were written,
 * against the schema held there, and the CRDT merges them as it always
 * does.
 */
#ifndef LINLI_RECORDS_H
#define LINLI_RECORDS_H

#include "crdt/schema.h"
#include "node/store.h"

/* The schema this station holds, or *out NULL when it holds none (then
 * writes are free-form).  In a store with a trust root, only a schema
 * written by the root counts; another author's is ignored.  A held schema
 * that does not parse is an error (LINLI_ESTORE).  The store keeps the
 * parse and hands out a hold on it (schema_destroy drops it; no holder
 * changes it) while the stored record and the root are the ones it was
 * parsed from. */
int lrecords_schema(lstore *s, lschema **out, lerr *e);

/* Checks ops[0..n), all on one key, and writes them as this node
 * (lstore_write): no field is created beside a visible field of the same
 * name and another kind; under the schema (`sch`, may be NULL) the key's
 * type's rules hold (schema_check_ops), with every value of a typed field
 * first made canonical (full-width digits folded, an enum code to its
 * label): op strings may then point into memory this call owns, valid
 * until the call returns.  Refusals are LINLI_EINVAL with one line in e
 * that names the field, the expected type and an example; a refusal of the
 * schema's also fills `why` (may be NULL; its rule is LSR_NONE for any
 * other error).  The reserved keys schema/ and trust/ are refused here
 * (they have their own commands). */
int lrecords_write(lstore *s, const lschema *sch, const lident *id, op *ops, uint32_t n,
                   uint64_t wall_ms, lschema_reason *why, lerr *e);

/* Publishes schema text as this node, which must be the trust root:
 * parses it, refuses a version not above the one held, and checks every
 * stored record of each type against it (a change that would make stored
 * data invalid is refused with the record and the reason), then writes
 * LSCHEMA_KEY's "json" and "version" in one delta. */
int lrecords_publish(lstore *s, const lident *id, const char *text, size_t n, uint64_t wall_ms,
                     lerr *e);

/* Calls cb for every present record of type t whose key starts with
 * `prefix` (absolute) and that passes every filter w[0..nw), in key order;
 * ns_len is the length of the record's namespace (the village) in key.
 * The record is valid only during the call; a non-zero return from cb
 * stops and is returned. */
typedef int (*lrecords_row_cb)(void *ctx, const char *key, size_t klen, size_t ns_len,
                               const rec *r);
int lrecords_query(lstore *s, const lschema *sch, const lschema_type *t, const char *prefix,
                   const lschema_where *w, uint32_t nw, lrecords_row_cb cb, void *ctx, lerr *e);

/* The aggregates the schema declares, for the namespace level `prefix`
 * ("" for everything held, else a prefix ending in '/'): cb gets each
 * (type, month ("" for all time, else "YYYY-MM"), item, value), item being
 * "count", "by:FIELD=VALUE" or "sum:FIELD" (schema_contrib).  Kept up to
 * date by every commit; recomputed from the records first when they are
 * not (no aggregates yet, a new schema, a rebuild).  LINLI_ENOTFOUND when
 * the station holds no schema. */
typedef int (*lrecords_agg_cb)(void *ctx, const lschema_type *t, const char *month,
                               const char *item, size_t ilen, int64_t v);
int lrecords_aggregates(lstore *s, const char *prefix, lrecords_agg_cb cb, void *ctx, lerr *e);

/* The label a report shows for an aggregate item: "count" is 数量,
 * "sum:F" is F合计, "by:F=V" stays F=V. */
void lrecords_item_label(char *out, size_t cap, const char *item, size_t n);

#endif
