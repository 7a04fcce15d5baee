/*
 * err.h - the one error convention of linli.
 *
 * Every fallible call returns 0 on success or a negative LINLI_E* code.  A
 * call that can fail for a reason a person must read also takes an optional
 * `lerr *` (NULL is allowed) and fills it with the code and one line of
 * text that names the exact place: "delta v000 seq 57: chain broken".
 * lerr_set() returns the code so that `return lerr_set(e, ...)` reads well.
 */
#ifndef LINLI_ERR_H
#define LINLI_ERR_H

#include <stddef.h>

#define LINLI_ERRORS(X)                                                  \
  X(LINLI_EINVAL,    -1,  "invalid argument")                            \
  X(LINLI_EMALFORMED,-2,  "malformed input")                             \
  X(LINLI_ECHAIN,    -3,  "hash chain broken")                           \
  X(LINLI_ESIG,      -4,  "signature does not verify")                   \
  X(LINLI_EGAP,      -5,  "missing earlier ops")                         \
  X(LINLI_EFORK,     -6,  "conflicting history (fork)")                  \
  X(LINLI_ENOTFOUND, -7,  "not found")                                   \
  X(LINLI_EIO,       -8,  "I/O error")                                   \
  X(LINLI_ESTORE,    -9,  "storage error")                               \
  X(LINLI_ENOMEM,    -10, "out of memory")                               \
  X(LINLI_ETOOBIG,   -11, "too large")                                   \
  X(LINLI_EEXIST,    -12, "already exists")                              \
  X(LINLI_EBUSY,     -13, "in use by another process")                  \
  X(LINLI_EREFUSED,  -14, "refused by the trust rules")                \
  X(LINLI_EPROTO,    -15, "protocol rule broken")                        \
  X(LINLI_EVERSION,  -16, "no common protocol version")                \
  X(LINLI_EFLOODED,  -17, "peer went beyond a session limit")           \
  X(LINLI_ENOSPC,    -18, "not enough free disk space")                 \
  X(LINLI_EFUTURE,   -19, "dated ahead of this clock: held back") \
  X(LINLI_ECLOCK,    -20, "this PC's clock is off from its parent station's")

enum {
  LINLI_OK = 0,
#define LINLI_ERR_ENUM(name, val, text) name = val,
  LINLI_ERRORS(LINLI_ERR_ENUM)
#undef LINLI_ERR_ENUM
};

typedef struct lerr {
  int code;
  char msg[320];
} lerr;

/* Fills `e` (if not NULL) with `code` and a printf-style message; returns
 * `code`.  The message is one line without a trailing newline. */
int lerr_set(lerr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in `e` with more context ("import x.bin: ").
 * Returns e->code (or `code` when e is NULL). */
int lerr_wrap(lerr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Static text for a LINLI_E* code. */
const char *linli_strerror(int code);

/*
 * LINLI_ASSERT(cond): an invariant the code relies on (an array kept
 * sorted, a budget kept, a count in range), as opposed to a property of the
 * input, which is checked and reported through lerr always.  Like SQLite's
 * assert(), it is compiled only into the sanitizer build (CMake
 * LINLI_SANITIZE, which defines LINLI_DEBUG_ASSERTS), where a broken one
 * prints the condition and its place and aborts; elsewhere it costs nothing
 * and `cond` is not evaluated, so it must have no side effects.
 */
#ifdef LINLI_DEBUG_ASSERTS
#define LINLI_ASSERT(cond) \
  ((cond) ? (void)0 : linli_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define LINLI_ASSERT(cond) ((void)sizeof(!(cond)))
#endif
/* Prints "linli: invariant broken: COND (FILE:LINE, FUNC)" and aborts. */
_Noreturn void linli_assert_fail(const char *cond, const char *file, int line,
                                 const char *func);

#endif
