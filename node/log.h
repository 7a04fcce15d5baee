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
 * 7 debug), which journald takes as the line's priority.
 */
#ifndef LINLI_LOG_H
#define LINLI_LOG_H

#include <stdbool.h>

enum llog_level { LLOG_ERROR = 0, LLOG_WARN = 1, LLOG_INFO = 2, LLOG_DEBUG = 3 };

/* Sets the name shown in brackets (copied; NULL: none) and the most verbose
 * level that is written, and looks whether stderr is the journal.  Until it
 * is called, "linli-node", INFO and plain lines apply. */
void log_init(const char *name, int level);

/* True when a line of `level` would be written: lets a caller skip
 * preparing a costly debug message. */
bool log_enabled(int level);

/* Writes one line (a trailing newline in fmt is not needed). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LLOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LLOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LLOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LLOG_DEBUG, __VA_ARGS__)

/* "error", "warn", "info", "debug" -> LLOG_*, or -1. */
int log_level_parse(const char *s);

#endif
