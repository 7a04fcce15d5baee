/* linli.c - the entry point of the `linli` program; everything else lives
 * in the files beside it, which linli-node links too (cli_exec). */
#include "tools/linli/cli.h"

int
main(int argc, char **argv)
{
  return cli_main(argc, argv);
}
