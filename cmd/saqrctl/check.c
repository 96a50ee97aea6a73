/* `saqrctl check`: see lib/cli/check.h. */
#include <stdio.h>

#include "cli/check.h"
#include "saqrctl.h"

int saqrctl_check(int argc, char **argv)
{
	return cli_check_main(argc, argv, stdin, stdout, stderr);
}
