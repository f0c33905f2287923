/* Small command-line helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"

int cli_parse_size(const char *s, size_t min, size_t max, size_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1024 * 1024;
        end++;
    }
    if (*end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

const char *cli_rules_path(const char *opt)
{
    struct stat st;

    if (opt != NULL) {
        return opt;
    }
    if (stat("rules.d", &st) == 0 && S_ISDIR(st.st_mode)) {
        return "rules.d";
    }
    return ROLLWATCH_RULES_DIR;
}

void cli_print_rule_error(void *arg, const struct err *e)
{
    (void)arg;
    if (e->line > 0) {
        fprintf(stderr, "%s:%d:%d: %s\n", e->file, e->line, e->col, e->msg);
    } else if (e->file[0]) {
        fprintf(stderr, "%s: %s\n", e->file, e->msg);
    } else {
        fprintf(stderr, "rollwatch: %s\n", e->msg);
    }
}
