/*
 * csv.c - the RFC 4180 reader of csv.h: a byte-at-a-time state machine,
 * so that a chunk boundary may fall anywhere (inside a quote, between CR
 * and LF).
 */
#include "crdt/csv.h"

#include <string.h>

enum { S_START, S_PLAIN, S_QUOTED, S_QUOTE, S_CR };

void
lcsv_init(lcsv *p, lcsv_row_cb cb, void *ctx)
{
  memset(p, 0, sizeof *p);
  p->cb = cb;
  p->ctx = ctx;
  lbuf_init(&p->row);
}

/* Notes why the input is refused: `fault` in the row being read, cell from
 * 1 (0: the row as a whole); the caller sets the message. */
static void
s_fault(lcsv *p, int fault, uint32_t cell)
{
  p->fault = fault;
  p->fault_row = p->rows + 1;
  p->fault_cell = cell;
}

void
lcsv_free(lcsv *p)
{
  lbuf_free(&p->row);
}

static int
s_byte(lcsv *p, char c, lerr *e)
{
  if (p->row.len >= LCSV_ROW_MAX) {
    s_fault(p, LCSV_ROW_LONG, 0);
    return lerr_set(e, LINLI_EMALFORMED, "row %llu is longer than %u bytes",
                    (unsigned long long)p->rows + 1, LCSV_ROW_MAX);
  }
  return lbuf_put(&p->row, &c, 1) == 0 ? 0 : lerr_set(e, LINLI_ENOMEM, "out of memory");
}

static int
s_end_cell(lcsv *p, lerr *e)
{
  int rc = s_byte(p, '\0', e);
  if (rc != 0)
    return rc;
  if (p->ncells == LCSV_CELLS_MAX) {
    s_fault(p, LCSV_CELLS, 0);
    return lerr_set(e, LINLI_EMALFORMED, "row %llu has more than %u cells",
                    (unsigned long long)p->rows + 1, LCSV_CELLS_MAX);
  }
  p->ncells++;
  return 0;
}

static int s_end_row(lcsv *p, lerr *e);

/* A ',' ends a cell: the next one starts where the row's bytes end. */
static int
s_next_cell(lcsv *p, lerr *e)
{
  int rc = s_end_cell(p, e);
  if (rc == 0)
    p->start[p->ncells] = p->row.len;
  p->state = S_START;
  return rc;
}

/* A line break ends the row (CR: a LF may follow, and belongs to it). */
static int
s_line_end(lcsv *p, char c, lerr *e)
{
  int rc = s_end_row(p, e);
  p->state = c == '\r' ? S_CR : S_START;
  return rc;
}

static int
s_end_row(lcsv *p, lerr *e)
{
  int rc = s_end_cell(p, e);
  if (rc != 0)
    return rc;
  char *cells[LCSV_CELLS_MAX];
  size_t len[LCSV_CELLS_MAX];
  for (uint32_t i = 0; i < p->ncells; i++) {
    size_t end = i + 1 < p->ncells ? p->start[i + 1] - 1 : p->row.len - 1;
    cells[i] = (char *)p->row.p + p->start[i];
    len[i] = end - p->start[i];
  }
  p->rows++;
  rc = p->cb(p->ctx, p->rows, cells, len, p->ncells);
  lbuf_reset(&p->row);
  p->ncells = 0;
  p->start[0] = 0;
  p->state = S_START;
  return rc;
}

int
lcsv_feed(lcsv *p, const char *buf, size_t n, lerr *e)
{
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    char c = buf[i];
    if (p->state == S_CR) {
      p->state = S_START;
      if (c == '\n')
        continue;
    }
    switch (p->state) {
    case S_START:
    case S_PLAIN:
      if (c == '"' && p->state == S_START) {
        p->state = S_QUOTED;
      } else if (c == '"') {
        s_fault(p, LCSV_QUOTE_INSIDE, p->ncells + 1);
        rc = lerr_set(e, LINLI_EMALFORMED, "row %llu cell %u: a quote inside an unquoted cell "
                      "(quote the whole cell and double the quote)",
                      (unsigned long long)p->rows + 1, p->ncells + 1);
      } else if (c == ',') {
        rc = s_next_cell(p, e);
      } else if (c == '\r' || c == '\n') {
        rc = s_line_end(p, c, e);
      } else {
        rc = s_byte(p, c, e);
        p->state = S_PLAIN;
      }
      break;
    case S_QUOTED:
      if (c == '"')
        p->state = S_QUOTE;
      else
        rc = s_byte(p, c, e);
      break;
    case S_QUOTE:
      if (c == '"') {
        rc = s_byte(p, c, e);
        p->state = S_QUOTED;
      } else if (c == ',') {
        rc = s_next_cell(p, e);
      } else if (c == '\r' || c == '\n') {
        rc = s_line_end(p, c, e);
      } else {
        s_fault(p, LCSV_AFTER_QUOTE, p->ncells + 1);
        rc = lerr_set(e, LINLI_EMALFORMED, "row %llu cell %u: text after the closing quote",
                      (unsigned long long)p->rows + 1, p->ncells + 1);
      }
      break;
    }
  }
  return rc;
}

int
lcsv_finish(lcsv *p, lerr *e)
{
  if (p->state == S_QUOTED) {
    s_fault(p, LCSV_OPEN_QUOTE, p->ncells + 1);
    return lerr_set(e, LINLI_EMALFORMED, "row %llu: a quote is never closed",
                    (unsigned long long)p->rows + 1);
  }
  if (p->state == S_CR || (p->state == S_START && p->row.len == 0 && p->ncells == 0))
    return 0;
  return s_end_row(p, e);
}
