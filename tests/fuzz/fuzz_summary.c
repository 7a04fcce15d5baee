/* fuzz_summary.c - the summary reader; what it accepts must encode to
 * bytes that read back the same, and every author it holds is found. */
#include "fuzz.h"
#include "sync/summary.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lsummary s;
  memset(&s, 0, sizeof s);
  if (summary_decode(&s, data, size, NULL) != 0)
    return 0;
  for (uint32_t i = 0; i < s.n; i++)
    if (summary_find(&s, s.heads[i].author) != &s.heads[i])
      abort();
  lbuf again;
  lbuf_init(&again);
  summary_encode(&s, &again);
  lsummary s2;
  memset(&s2, 0, sizeof s2);
  if (again.oom || summary_decode(&s2, again.p, again.len, NULL) != 0 || s2.n != s.n ||
      s2.created_ms != s.created_ms ||
      (s.n && memcmp(s2.heads, s.heads, s.n * sizeof *s.heads) != 0))
    abort();
  summary_free(&s2);
  lbuf_free(&again);
  summary_free(&s);
  return 0;
}
