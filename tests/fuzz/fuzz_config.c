/* fuzz_config.c - the linli-node configuration parser. */
#include "fuzz.h"
#include "node/config.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lconfig *c = NULL;
  lerr e = {0};
  int rc = config_parse(&c, "/etc/linli/node.conf", (const char *)data, size, &e);
  if (rc == 0) {
    /* what it accepts is complete and bounded */
    if (c == NULL || c->name[0] == 0 || c->data[0] == 0 || c->control[0] == 0 ||
        strlen(c->name) > LCONFIG_NAME_MAX || config_role_name(c->role) == NULL)
      abort();
  } else if (e.msg[0] == 0 || strchr(e.msg, '\n') != NULL) {
    abort(); /* every refusal is one line that says what is wrong */
  }
  config_destroy(&c);
  return 0;
}
