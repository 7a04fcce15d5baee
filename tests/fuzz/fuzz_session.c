/* fuzz_session.c - every sync message type through a session: arbitrary
 * bytes as the peer's messages, before any HELLO or after a valid HELLO
 * exchange (fuzz.h has the input's layout).  After each message the
 * session's own output is drained, so what a message changed is also sent
 * from. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  uint8_t flags = data[0];
  fx_sess *s = fx_sess_open(flags);
  size_t at = 1;
  while (at < size) {
    size_t n = at + 2 <= size ? (size_t)data[at] << 8 | data[at + 1] : 0;
    at += 2;
    if (at > size)
      break;
    if (n & FX_SESS_PAUSE) {
      n &= ~(size_t)FX_SESS_PAUSE;
      s->now += 6 * 60 * 1000;
      session_local_change(s->t);
      session_tick(s->t, s->now);
    }
    if (n > size - at)
      n = size - at;
    lerr e = {0};
    int rc = session_recv(s->t, data + at, n, s->now, &e);
    at += n;
    if (rc < 0 && e.msg[0] == 0)
      abort(); /* a refusal always says why */
    for (int i = 0; i < 32; i++) {
      int out = session_next_out(s->t, &s->msg, s->now, NULL);
      if (out != 1)
        break;
      /* the peer takes every other message; the rest it could not */
      if (i % 2 && (flags & FX_SESS_UNSENT))
        session_unsent(s->t);
    }
    if (rc < 0)
      break; /* the node drops the peer */
    s->now += 700;
    session_tick(s->t, s->now);
  }
  fx_sess_close(&s);
  return 0;
}
