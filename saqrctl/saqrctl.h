/* saqrctl's subcommands. Each takes the arguments from its own name on and returns the exit
 * status. */
#ifndef SAQR_CMD_SAQRCTL_H
#define SAQR_CMD_SAQRCTL_H

int saqrctl_check(int argc, char **argv);

#endif
