/*
 * json.h - a streaming JSON writer for the output of `linli --json`.
 *
 * The writer prints straight to a FILE and keeps only a small stack of
 * "is this the first member" flags, so commands emit their results as they
 * walk the store instead of building a document in memory.  Commas and the
 * closing newline are placed by the writer; a caller only opens and closes
 * containers and writes keys and values in order.
 *
 * Strings are written byte for byte when they are valid UTF-8, so Chinese
 * keys and values round-trip exactly; '"', '\\' and control characters are
 * escaped, and a byte that is not part of a well-formed UTF-8 sequence
 * becomes U+FFFD, so the output is valid JSON whatever the input.
 */
#ifndef LINLI_CLI_JSON_H
#define LINLI_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 16

typedef struct jw {
  FILE *f;
  int depth;
  bool first[JW_MAX_DEPTH]; /* no member written yet at this level */
  bool after_key;           /* the next value completes "key": */
} jw;

void jw_init(jw *w, FILE *f);

void jw_obj_begin(jw *w);
void jw_obj_end(jw *w);
void jw_arr_begin(jw *w);
void jw_arr_end(jw *w);

/* A member name inside an object; the next call writes its value. */
void jw_key(jw *w, const char *k);
void jw_keyn(jw *w, const char *k, size_t n);

void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_uint(jw *w, uint64_t v);
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
/* Bytes as a string of lowercase hex digits. */
void jw_hex(jw *w, const uint8_t *p, size_t n);

/* Ends the document with a newline (call after the outermost container). */
void jw_finish(jw *w);

/* Writes s[0..n) as a JSON string body (no quotes) to f; exposed so the
 * human output can share the UTF-8 handling. */
void json_escape(FILE *f, const char *s, size_t n);

#endif
