/*
 * csv.h - a streaming reader of RFC 4180 CSV, as Excel saves it.
 *
 * Bytes go in (lcsv_feed, any chunk size), whole rows come out through a
 * callback: quoted cells with "" for a quote and line breaks inside,
 * CRLF or LF row ends, a last row without a line end.  Memory is bounded
 * by one row (at most LCSV_ROW_MAX bytes and LCSV_CELLS_MAX cells), however
 * long the file.  Encoding is the caller's: the cells are the bytes given
 * (UTF-8 once the caller has converted it).
 */
#ifndef LINLI_CSV_H
#define LINLI_CSV_H

#include "crdt/err.h"
#include "crdt/mp.h"

#include <stdint.h>

#define LCSV_ROW_MAX (1u << 20)
#define LCSV_CELLS_MAX 256u

/* One row: cells[i] (NUL-terminated, len[i] bytes) for i < n; `row` counts
 * from 1 (the header is row 1, as Excel numbers it).  Valid only during the
 * call; a non-zero return stops the reader and is returned by lcsv_feed. */
typedef int (*lcsv_row_cb)(void *ctx, uint64_t row, char **cells, const size_t *len, uint32_t n);

/* What made the reader refuse the input (lcsv.fault). */
enum lcsv_fault {
  LCSV_OK = 0,
  LCSV_ROW_LONG,     /* a row over LCSV_ROW_MAX bytes */
  LCSV_CELLS,        /* a row over LCSV_CELLS_MAX cells */
  LCSV_QUOTE_INSIDE, /* a quote in the middle of an unquoted cell */
  LCSV_AFTER_QUOTE,  /* text after a closing quote */
  LCSV_OPEN_QUOTE,   /* a quote never closed */
};

typedef struct lcsv {
  lcsv_row_cb cb;
  void *ctx;
  lbuf row;                    /* the cells of the row being read, each NUL-ended */
  size_t start[LCSV_CELLS_MAX + 1]; /* where each cell begins; one more for the cell that overflows */
  uint32_t ncells;
  int state;
  uint64_t rows;
  int fault;                   /* enum lcsv_fault: why LINLI_EMALFORMED was returned */
  uint64_t fault_row;          /* ... in which row (from 1) */
  uint32_t fault_cell;         /* ... and cell (from 1; 0 for the row as a whole) */
} lcsv;

void lcsv_init(lcsv *p, lcsv_row_cb cb, void *ctx);
/* Reads buf[0..n).  LINLI_EMALFORMED for a quote in the middle of an
 * unquoted cell, text after a closing quote, a row over the limits; the
 * message names the row, and p->fault, fault_row and fault_cell say it. */
int lcsv_feed(lcsv *p, const char *buf, size_t n, lerr *e);
/* The end of the input: emits a last row without a line end; an open
 * quote is LINLI_EMALFORMED. */
int lcsv_finish(lcsv *p, lerr *e);
void lcsv_free(lcsv *p);

#endif
