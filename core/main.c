/* rollwatch: main() and subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef ROLLWATCH_VERSION
#define ROLLWATCH_VERSION "0.0.0-dev"
#endif

static const char usage_text[] =
    "rollwatch - watch Convox and Kubernetes rollouts in their logs\n"
    "\n"
    "Usage:\n"
    "  rollwatch parse [OPTIONS] [FILE...]   print every line as a JSON record (no rules)\n"
    "  rollwatch version                     print the version\n"
    "  rollwatch COMMAND --help              help for one command\n"
    "\n"
    "Planned (see DESIGN.md; not in this build yet): run, replay, check-rules, test-rules.\n"
    "\n"
    "Examples:\n"
    "  convox logs -a myapp | rollwatch parse\n"
    "  rollwatch parse examples/deploy-rollback.log | jq -c 'select(.kind==\"atom\")'\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 usage error.\n";

static int not_yet(const char *cmd)
{
    fprintf(stderr,
            "rollwatch: '%s' is not implemented in this build yet; 'rollwatch parse' is.\n"
            "Run 'rollwatch --help' for what is available.\n",
            cmd);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
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
        printf("rollwatch %s\n", ROLLWATCH_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "parse") == 0) {
        return cmd_parse(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "replay") == 0 ||
        strcmp(cmd, "check-rules") == 0 || strcmp(cmd, "test-rules") == 0) {
        return not_yet(cmd);
    }
    fprintf(stderr, "rollwatch: unknown command '%s'\n\n%s", cmd, usage_text);
    return EXIT_USAGE;
}
