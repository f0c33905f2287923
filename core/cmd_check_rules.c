/* rollwatch check-rules: load the rules, print every error as FILE:LINE:COL, exit 2 if any. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "rules.h"

static const char check_help[] =
    "Usage: rollwatch check-rules [--rules DIR|FILE]\n"
    "\n"
    "Loads and validates the rule files (JSON syntax, keys, fields, classes, regexes,\n"
    "templates) and prints every error as FILE:LINE:COL: message.\n"
    "\n"
    "Examples:\n"
    "  rollwatch check-rules\n"
    "  rollwatch check-rules --rules /etc/rollwatch/rules.d\n"
    "\n"
    "Exit codes: 0 valid, 2 errors found or usage error.\n";

static void count_error(void *arg, const struct err *e)
{
    (*(int *)arg)++;
    cli_print_rule_error(NULL, e);
}

int cmd_check_rules(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char rules_buf[CLI_PATH_MAX];
    const char *rules_opt = NULL, *path;
    struct rule_set *set;
    int c, errors = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules_opt = optarg;
            break;
        case 'h':
            fputs(check_help, stdout);
            return EXIT_OK;
        default:
            fputs("Run 'rollwatch check-rules --help' for usage.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        rules_opt = argv[optind];
    }
    path = cli_rules_path(rules_opt, rules_buf, sizeof(rules_buf));
    if (path == NULL) {
        cli_no_rules("check-rules");
        return EXIT_USAGE;
    }
    set = rules_load(path, count_error, &errors);
    if (set == NULL) {
        fprintf(stderr, "rollwatch check-rules: %d error%s in %s\n", errors,
                errors == 1 ? "" : "s", path);
        return EXIT_USAGE;
    }
    printf("%s: %zu rules, %zu classes, OK\n", path, rules_set_count(set),
           rules_set_class_count(set));
    rules_set_free(set);
    return EXIT_OK;
}
