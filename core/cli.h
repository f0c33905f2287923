/* Command-line helpers shared by the subcommands in core/. */
#ifndef ROLLWATCH_CLI_H
#define ROLLWATCH_CLI_H

#include <stddef.h>

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Parses a decimal size in [min, max] (suffixes k/K, m/M allowed). Returns 0 or -1. */
int cli_parse_size(const char *s, size_t min, size_t max, size_t *out);

#ifndef ROLLWATCH_RULES_DIR
#define ROLLWATCH_RULES_DIR "/usr/local/share/rollwatch/rules.d"
#endif

struct err;

#define CLI_PATH_MAX 4096 /* cli_rules_path's buffer */

/*
 * The rules path: the --rules value, else ./rules.d when it exists, else the installed one,
 * else the rules.d of the source tree a build tree's binary sits in (written to buf, of cap
 * bytes). NULL: none of them exists (cli_no_rules says so).
 */
const char *cli_rules_path(const char *opt, char *buf, size_t cap);

/* Is path a directory (following links)? */
int cli_is_dir(const char *path);

/* The error for cli_rules_path's NULL, on stderr. */
void cli_no_rules(const char *cmd);

/* Prints a rule error as FILE:LINE:COL: message (or FILE: message) on stderr. */
void cli_print_rule_error(void *arg, const struct err *e);

/*
 * Splits a command line the way a shell splits words, without running a shell: whitespace
 * separates, '...' is literal, "..." allows \\ \" \$ \`, a backslash escapes the next
 * character. No expansion of any kind. Returns 0 with a NULL-terminated malloc'd argv (free with
 * cli_free_args), or -1 with why set.
 */
int cli_split_args(const char *s, char ***argv_out, const char **why);
void cli_free_args(char **argv);

int cmd_parse(int argc, char **argv);
int cmd_run(int argc, char **argv, int replay);
int cmd_check_rules(int argc, char **argv);
int cmd_test_rules(int argc, char **argv);

#endif
