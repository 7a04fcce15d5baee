/*
 * failpoint.h - named points between the writes of a multi-write operation,
 * for the crash tests only (tests/cli_crash.sh, tests/test_store.c).
 *
 * LINLI_FAILPOINT=NAME[@N][:err] in the environment (read once) arms one
 * point: its N-th hit (default 1st) kills the process with SIGKILL, as a
 * power cut would, or with ":err" makes lfail() return true so that the
 * caller takes its error path.  Unset, lfail() is a compare against NULL.
 * The names are listed in ARCHITECTURE.md ("Crash model").  Never set it
 * on a real node.
 */
#ifndef LINLI_FAILPOINT_H
#define LINLI_FAILPOINT_H

#include <stdbool.h>

bool lfail(const char *name);

#endif
