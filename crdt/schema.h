/*
 * schema.h - record types: what the records of a community mean, and the
 * check of a write against them.
 *
 * A schema (docs/SCHEMA.md; deploy/schemas/community.json) is JSON that
 * names record types.  Each type owns one collection: a record key
 * NAMESPACE/COLLECTION/ID (ID one path component) belongs to the type whose
 * collection is its next-to-last component, so "gusu/jinchang/shilu/hh/0012"
 * is a 户 (household) of the namespace gusu/jinchang/shilu/.  Keys of no
 * type stay free-form.  A type lists its fields: CRDT kind (register,
 * counter, set, log), value type (text, integer, money in fen, date, enum
 * with a code list, phone, resident ID), required or not, a lower bound for
 * numbers, zh and en labels; and the aggregates it contributes (a count,
 * counts by enum value, sums, by month of a date field).
 *
 * Pure: the text comes in, the caller owns the store that holds it.  The
 * structs are public so that a front end (command line, API, web forms)
 * can read labels and codes; only this module builds them.
 */
#ifndef LINLI_SCHEMA_H
#define LINLI_SCHEMA_H

#include "crdt/err.h"
#include "crdt/op.h"
#include "crdt/record.h"

#include <stdbool.h>
#include <stdint.h>

/* The reserved record that carries the schema a station holds: register
 * field "json" (the schema text) of key "schema/community", written by the
 * trust root only (docs/FORMAT.md, "Schema"). */
#define LSCHEMA_KEY "schema/community"
#define LSCHEMA_FIELD "json"

enum lschema_vt {
  LSV_TEXT,
  LSV_INTEGER,
  LSV_MONEY,       /* integer fen, >= 0 unless min says otherwise */
  LSV_DATE,        /* YYYY-MM-DD */
  LSV_ENUM,        /* one of the codes' zh labels (a code is accepted as input) */
  LSV_PHONE,       /* mobile 1[3-9] and 9 digits, or 0AREA-NUMBER */
  LSV_RESIDENT_ID, /* 18 characters, GB 11643 check digit */
  LSV_COUNT_
};

typedef struct lschema_code {
  char *code, *zh, *en;
} lschema_code;

typedef struct lschema_field {
  char *name;           /* also its zh label */
  char *en;
  int fk;               /* enum field_kind */
  int vt;               /* enum lschema_vt */
  bool required;
  bool has_min;
  int64_t min;          /* integer, money, counter sum */
  lschema_code *codes;  /* LSV_ENUM */
  uint32_t ncodes;
} lschema_field;

enum lschema_agg { LSA_COUNT, LSA_COUNT_BY, LSA_SUM };

typedef struct lschema_aggregate {
  int what;                    /* enum lschema_agg */
  const lschema_field *field;  /* NULL for LSA_COUNT */
} lschema_aggregate;

typedef struct lschema_type {
  char *name;                  /* zh: 户 */
  char *en;
  char *collection;            /* hh */
  lschema_field *fields;       /* in the order of the schema text */
  uint32_t nfields;
  const lschema_field *month;  /* a date field aggregates are kept by, or NULL */
  lschema_aggregate *aggs;
  uint32_t naggs;
} lschema_type;

typedef struct lschema {
  char *name;
  int64_t version;
  lschema_type *types;
  uint32_t ntypes;
  uint32_t refs; /* holders besides the first (schema_ref) */
} lschema;

/* Parses schema text.  Errors (LINLI_EINVAL) name the line and column of a
 * JSON syntax error, or the path of a wrong member
 * ("types.户.fields.电话: unknown type 'phon'").  *out is the caller's
 * (schema_destroy). */
int schema_parse(lschema **out, const char *text, size_t n, lerr *e);
/* Drops the caller's hold on *s (and sets *s NULL): the last holder frees. */
void schema_destroy(lschema **s);
/* One more holder of s (returned), for a cache that hands out what it
 * keeps: every holder calls schema_destroy, and no holder changes it.
 * Not atomic: a schema and its holders live on one thread at a time. */
lschema *schema_ref(lschema *s);

/* The type whose collection is the next-to-last component of key, or NULL.
 * *ns_len gets the length of the namespace before the collection. */
const lschema_type *schema_type_of_key(const lschema *s, const char *key, size_t n,
                                       size_t *ns_len);
/* A type by zh name, en name or collection, or NULL. */
const lschema_type *schema_type(const lschema *s, const char *name);
const lschema_field *schema_field(const lschema_type *t, const char *name, size_t n);
const char *schema_vt_name(int vt);
/* An example of a valid value of the field, for messages and forms. */
const char *schema_example(const lschema_field *f);

/* Why a value or a write was refused: the rule that failed and its parts,
 * from which each front end says it in its own words (schema_reason_text
 * is the English line the command line prints). */
enum lschema_rule {
  LSR_NONE = 0,      /* not a refusal of the schema's */
  LSR_UNKNOWN_FIELD, /* the type has no field `given`; `suggest` a near one, or NULL */
  LSR_KIND,          /* written as another kind than the field's (put on a counter) */
  LSR_FORMAT,        /* not a value of the field's type; `form` says which check */
  LSR_EMPTY,         /* a required text field given empty */
  LSR_CHOICE,        /* not one of an enum's codes */
  LSR_TOO_LONG,      /* too long to be a value of the field's type */
  LSR_MIN,           /* a number below the field's min (`bound`) */
  LSR_COUNTER_MIN,   /* a counter taken from `now` to `result`, below `bound` */
  LSR_REQUIRED,      /* a new record without the required `field` */
  LSR_NOT_CANONICAL, /* a value not in its canonical form (`canonical`) */
  LSR_COUNT_
};

/* LSR_FORMAT: the check a value failed. */
enum lschema_form {
  LSF_NONE = 0,
  LSF_INTEGER,      /* not an integer */
  LSF_MONEY,        /* not a whole number of fen */
  LSF_DATE,         /* not a date YYYY-MM-DD */
  LSF_PHONE,        /* not a phone number */
  LSF_ID_LENGTH,    /* a resident ID not 17 digits and a digit or X */
  LSF_ID_BIRTH,     /* a resident ID without a valid birth date */
  LSF_ID_CHECK,     /* a resident ID with a wrong check character */
};

typedef struct lschema_reason {
  int rule;                     /* enum lschema_rule */
  int form;                     /* enum lschema_form, for LSR_FORMAT */
  const lschema_type *type;     /* NULL when only a value was checked */
  const lschema_field *field;   /* the field at fault; NULL for LSR_UNKNOWN_FIELD */
  const lschema_field *suggest; /* LSR_UNKNOWN_FIELD: the field probably meant */
  char given[LINLI_FIELD_MAX + 1];  /* LSR_UNKNOWN_FIELD: the name as written */
  char value[64];               /* the value as written, its first 60 bytes */
  char canonical[128];          /* LSR_NOT_CANONICAL: the form it must have */
  int64_t bound;                /* LSR_MIN, LSR_COUNTER_MIN: the field's min */
  int64_t result, now;          /* LSR_COUNTER_MIN: the sum it would have, and has */
} lschema_reason;

/* The rule's name in the API ("unknown_field", "kind", "format", "empty",
 * "choice", "too_long", "min", "counter_min", "required", "not_canonical"). */
const char *schema_rule_name(int rule);
/* The rule named `name` (schema_rule_name), or LSR_NONE. */
int schema_rule_of(const char *name);
/* The check's name ("integer", "money", "date", "phone", "id_length",
 * "id_birth", "id_check"; "none"), and the check of a name, or LSF_NONE. */
const char *schema_form_name(int form);
int schema_form_of(const char *name);
/* The English line of a refusal (what lerr carries). */
void schema_reason_text(const lschema_reason *why, char *out, size_t cap);
/* schema_field, or LINLI_EINVAL naming the type, with "did you mean" or
 * the list of its fields; `why` (may be NULL) gets the reason
 * (LSR_UNKNOWN_FIELD). */
int schema_field_named(const lschema_type *t, const char *name, size_t n,
                       const lschema_field **out, lschema_reason *why, lerr *e);

/* Checks one value of field f and writes its canonical form to out (cap
 * bytes, NUL-terminated): full-width digits folded, an enum code replaced
 * by its zh label, an ID's check letter upper-cased.  A text value is
 * copied unchanged when it fits, else *out_len is set and out is untouched
 * (the caller keeps the value as typed).  LINLI_EINVAL names the field,
 * the expected type and an example; `why` (may be NULL) gets the reason. */
int schema_value(const lschema_field *f, const char *v, size_t n, char *out, size_t cap,
                 size_t *out_len, lschema_reason *why, lerr *e);

/* Checks ops[0..n), all on one key of type t, against t and the record's
 * current state r (NULL when absent): each field known (else "did you
 * mean"), of its kind, its value valid (values must already be canonical:
 * run schema_value first), a counter not taken below its bound, and a new
 * record given every required field.  A `del` op passes; ops after it are
 * checked as writing a new record.  A refusal is LINLI_EINVAL with its
 * English line in e and its parts in `why` (may be NULL). */
int schema_check_ops(const lschema_type *t, const rec *r, const op *ops, uint32_t n,
                     lschema_reason *why, lerr *e);

/* Checks a stored record's visible state against t (for a schema change:
 * the new schema must accept what is stored). */
int schema_check_record(const lschema_type *t, const rec *r, lerr *e);

/* What record r (of type t) adds to the aggregates t declares: cb is
 * called once per (month, item, value), month "" for all time and, when t
 * has a month field holding a date, "YYYY-MM" too.  Items: "count" (1),
 * "by:FIELD=VALUE" (1 per register value or set element), "sum:FIELD" (a
 * counter's sum, or a register's integer value).  An absent record adds
 * nothing.  A non-zero return from cb stops and is returned. */
typedef int (*lschema_agg_cb)(void *ctx, const char *month, const char *item, size_t ilen,
                              int64_t v);
int schema_contrib(const lschema_type *t, const rec *r, lschema_agg_cb cb, void *ctx);

/* A filter of a query: FIELD OP VALUE. */
enum lschema_cmp { LSC_EQ, LSC_NE, LSC_LT, LSC_LE, LSC_GT, LSC_GE };

typedef struct lschema_where {
  const lschema_field *field;
  int cmp;            /* enum lschema_cmp */
  bool numeric;       /* integer and money: compare n; else value's bytes */
  int64_t n;
  char value[128];    /* canonical (schema_value) */
  size_t value_len;
} lschema_where;

/* Parses "FIELD=VALUE", also with !=, <, <=, >, >= (the IME's full-width
 * forms too): the field must be one of t's (else "did you mean"), the
 * value valid for its type; it is made canonical, so an enum's code
 * matches its label. */
int schema_where_parse(const lschema_type *t, const char *s, lschema_where *w, lerr *e);

/* Whether record r passes w: a register's value, a counter's sum, any
 * element of a set, any entry of a log (which contains VALUE, for =).
 * Numbers compare as numbers, anything else by bytes (so dates compare in
 * time order).  A record without the field passes only !=. */
bool schema_where_match(const lschema_where *w, const rec *r);

#endif
