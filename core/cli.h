/* Command-line helpers shared by the subcommands in core/. */
#ifndef ROLLWATCH_CLI_H
#define ROLLWATCH_CLI_H

#include <stddef.h>

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Parses a decimal size in [min, max] (suffixes k/K, m/M allowed). Returns 0 or -1. */
int cli_parse_size(const char *s, size_t min, size_t max, size_t *out);

int cmd_parse(int argc, char **argv);

#endif
