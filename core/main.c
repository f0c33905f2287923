/* rollwatch: main() and subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef ROLLWATCH_VERSION
#define ROLLWATCH_VERSION "0.0.0-dev"
#endif

static const char usage_text[] =
    "rollwatch - watch Convox and Kubernetes rollouts in their logs\n"
    "\n"
    "Usage:\n"
    "  rollwatch [run] [OPTIONS] [FILE...]        classify and alert on logs (stdin by default)\n"
    "  rollwatch replay [OPTIONS] FILE...         the same on stored logs, then exit\n"
    "  rollwatch parse [OPTIONS] [FILE...]        print every line as a JSON record (no rules)\n"
    "  rollwatch check-rules [--rules DIR]        validate rule files (FILE:LINE:COL errors)\n"
    "  rollwatch test-rules [--rules DIR] TESTDIR run rule tests\n"
    "  rollwatch version                          print the version\n"
    "  rollwatch COMMAND --help                   help for one command\n"
    "\n"
    "Examples:\n"
    "  convox logs -a myapp | rollwatch --app myapp\n"
    "  rollwatch replay --app myapp --output text examples/deploy-rollback.log\n"
    "  rollwatch parse examples/deploy-rollback.log | jq -c 'select(.kind==\"atom\")'\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 usage or rule errors.\n";

static int dispatch(int argc, char **argv)
{
    const char *cmd;

    static char run_name[] = "run"; /* getopt's messages name the command, as for the others */

    if (argc < 2) {
        argv[0] = run_name;
        return cmd_run(argc, argv, 0); /* no command: run on standard input */
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            printf("Usage: rollwatch version\n\nPrints the version, e.g.\n  rollwatch version\n");
            return EXIT_OK;
        }
        if (argc > 2) {
            fprintf(stderr, "rollwatch version: unexpected argument '%s' (takes none)\n", argv[2]);
            return EXIT_USAGE;
        }
        printf("rollwatch %s\n", ROLLWATCH_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "parse") == 0) {
        return cmd_parse(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "run") == 0) {
        return cmd_run(argc - 1, argv + 1, 0);
    }
    if (strcmp(cmd, "replay") == 0) {
        return cmd_run(argc - 1, argv + 1, 1);
    }
    if (strcmp(cmd, "check-rules") == 0) {
        return cmd_check_rules(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "test-rules") == 0) {
        return cmd_test_rules(argc - 1, argv + 1);
    }
    /* "rollwatch [run] [OPTIONS] [FILE...]": options or a file name mean run */
    if (cmd[0] == '-' || access(cmd, F_OK) == 0) {
        argv[0] = run_name;
        return cmd_run(argc, argv, 0);
    }
    fprintf(stderr, "rollwatch: unknown command '%s'\n\n%s", cmd, usage_text);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);

    /* what the commands print with stdio (version, help, check-rules, test-rules) must have
     * reached stdout too: `rollwatch version > /dev/full` is a failure */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
        fprintf(stderr, "rollwatch: writing to stdout failed\n");
        rc = EXIT_RUNTIME;
    }
    return rc;
}
