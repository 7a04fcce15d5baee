/*
 * text.h - what a person types, made into what the records mean.
 *
 * Clerks type with a Chinese input method, which gives full-width forms of
 * ASCII ("＝", "５", "－", "Ａ": U+FF01..U+FF5E) and the ideographic space
 * (U+3000) where a program expects "=", "5", "-", "A" and " ".  These
 * functions accept both wherever the input is syntax (the '=' of
 * FIELD=VALUE), a number or a field name, and leave text values as typed:
 * full-width punctuation is correct Chinese text.  Pure functions of their
 * arguments; the command line and any other front end call the same ones.
 */
#ifndef LINLI_TEXT_H
#define LINLI_TEXT_H

#include "crdt/err.h"

#include <stddef.h>
#include <stdint.h>

/* Copies s[0..n) to out with every full-width ASCII form (U+FF01..U+FF5E)
 * replaced by its ASCII character and U+3000 by ' '.  The result is never
 * longer than the input (3 bytes become 1), so `out` needs n + 1 bytes; it
 * is NUL-terminated.  Returns the length written. */
size_t text_fold_ascii(const char *s, size_t n, char *out);

/* Narrows [*s, *s + *n) to drop leading and trailing white space: ASCII
 * space, tab, CR, LF and U+3000. */
void text_trim(const char **s, size_t *n);

/* Finds the separator of "FIELD=VALUE": the first '=' or '＝' (U+FF1D).
 * Returns the separator's offset and sets *sep_len to its length (1 or 3),
 * or returns -1 when there is none. */
long text_find_assign(const char *s, size_t n, size_t *sep_len);

/* Parses a decimal int64 as a person types it: optional sign ('+', '-',
 * '＋', '－'), digits in ASCII or full width, white space around it.
 * Returns 0, LINLI_EINVAL (not a number: e->msg says what was given) or
 * LINLI_ETOOBIG (does not fit). */
int text_parse_i64(const char *s, size_t n, int64_t *out, lerr *e);

/* A record key or key prefix as typed, made absolute against the station's
 * namespace `ns` ("" or ending in '/', e.g. "gusu/jinchang/shilu/"):
 *   "/gusu/x/hh/1"  a leading '/' means absolute: "gusu/x/hh/1"
 *   "hh/0012"       relative: ns + "hh/0012"
 *   ns + "hh/0012"  a key already inside the namespace is taken as written
 * out gets the result, NUL-terminated, in at most cap bytes; LINLI_ETOOBIG
 * when it does not fit.  Syntax is the caller's to check (key_check). */
int text_key_resolve(const char *ns, const char *arg, size_t n, char *out, size_t cap, lerr *e);

/* Levenshtein distance between two UTF-8 strings counted in code points
 * (each at most 64 code points; longer strings give UINT_MAX).  For "did
 * you mean" suggestions. */
unsigned text_distance(const char *a, size_t an, const char *b, size_t bn);

#endif
