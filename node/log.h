/*
 * log.h - the daemon's log: one line per event on stderr.
 *
 *   2026-11-28T04:55:00.123Z INFO  [金阊街道] synced with 雅鹿村: received 1200 ops
 *
 * UTC wall time with milliseconds, the level padded to five columns, the
 * node's name, the message.  Each line is written with a single write(2) so
 * that lines stay whole when systemd's journal or a pipe collects them, and
 * control characters in a message (which may quote a peer's words) are
 * shown as '?' so that a peer cannot forge extra log lines.
 *
 * Under systemd's journal ($JOURNAL_STREAM names the stream stderr is) the
 * journal adds its own timestamp, so the line is instead
 *
 *   <6>[金阊街道] synced with 雅鹿村: received 1200 ops
 *
 * with the syslog priority in angle brackets (3 error, 4 warn, 6 info,
 * 7 debug), which journald takes as the line's priority.  That is the
 * fallback: under the journal each line is sent to it as an entry of its
 * own (sd_journal_sendv) with the message as MESSAGE (as the line above,
 * without "<6>"), PRIORITY, SYSLOG_IDENTIFIER=linli-node and the
 * structured fields
 *
 *   LINLI_STATION  the node's name (every line)
 *   LINLI_PEER     the peer the line is about, by its configured name
 *   LINLI_AUTHOR   the author the line is about, its key in 64 hex digits
 *   LINLI_SEQ      the seq of that author's op the line is about
 *
 * when the line has them (log_kv, log_peer), so that `journalctl
 * LINLI_PEER=雅鹿村` selects one peer's lines.  When the journal's socket
 * (/run/systemd/journal/socket) is missing at log_init, or a send fails,
 * the line goes to the stream as above.
 */
#ifndef LINLI_LOG_H
#define LINLI_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "crdt/ident.h"

enum llog_level { LLOG_ERROR = 0, LLOG_WARN = 1, LLOG_INFO = 2, LLOG_DEBUG = 3 };

/* What a line is about, for the journal's structured fields.  Every member
 * may be left empty (NULL, 0). */
typedef struct llog_kv {
  const char *peer;           /* LINLI_PEER: a peer's configured name */
  const uint8_t *author;      /* LINLI_AUTHOR: an author's key (LINLI_PK_BYTES) */
  uint64_t seq;               /* LINLI_SEQ: an op's seq (0: none) */
} llog_kv;

/* Sets the name shown in brackets (copied; NULL: none) and the most verbose
 * level that is written, and looks whether stderr is the journal.  Until it
 * is called, "linli-node", INFO and plain lines apply. */
void log_init(const char *name, int level);

/* True when a line of `level` would be written: lets a caller skip
 * preparing a costly debug message. */
bool log_enabled(int level);

/* Writes one line (a trailing newline in fmt is not needed). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same, with what the line is about (NULL: nothing) for the journal;
 * a peer not given there is the one log_peer set. */
void log_kv(int level, const llog_kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The peer the lines that follow are about (copied), until log_peer(NULL):
 * set while a peer's message is handled, so that lines written deep in
 * the store about what it sent carry its name. */
void log_peer(const char *name);

/* The journal entry of one line: MESSAGE (`msg`, `len` bytes), PRIORITY,
 * SYSLOG_IDENTIFIER, LINLI_STATION (`station`, unless empty) and the
 * members of `kv` that are set (NULL: none), as "NAME=value" in `buf`
 * (LOG_FIELDS_BUF bytes), pointed at by iov[0..n-1]; returns n (at most
 * LOG_FIELDS_MAX).  Values are cut to fit and control characters in them
 * shown as '?', as in the line. */
#define LOG_FIELDS_MAX 8
#define LOG_FIELDS_BUF 1536
int log_journal_fields(struct iovec *iov, char *buf, int level, const char *station,
                       const llog_kv *kv, const char *msg, size_t len);

#define log_error(...) log_msg(LLOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LLOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LLOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LLOG_DEBUG, __VA_ARGS__)

/* "error", "warn", "info", "debug" -> LLOG_*, or -1. */
int log_level_parse(const char *s);

#endif
