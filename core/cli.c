/* Small command-line helpers. */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "xmalloc.h"

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

int cli_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *cli_rules_path(const char *opt, char *buf, size_t cap)
{
    ssize_t n;
    char *slash;

    if (opt != NULL) {
        return opt;
    }
    if (cli_is_dir("rules.d")) {
        return "rules.d";
    }
    if (cli_is_dir(ROLLWATCH_RULES_DIR)) {
        return ROLLWATCH_RULES_DIR;
    }
    /* not installed: a binary run from its build tree (build/rollwatch) finds the rules of the
     * source tree it was built in, whatever the working directory */
    n = readlink("/proc/self/exe", buf, cap - 1);
    if (n > 0) {
        buf[n] = '\0';
        slash = strrchr(buf, '/');
        if (slash != NULL && (size_t)(slash - buf) + sizeof("/../rules.d") <= cap) {
            strcpy(slash, "/../rules.d");
            if (cli_is_dir(buf)) {
                return buf;
            }
        }
    }
    return NULL;
}

void cli_no_rules(const char *cmd)
{
    fprintf(stderr,
            "rollwatch %s: no rules: there is no ./rules.d here and none installed in %s; "
            "name them with --rules DIR\n",
            cmd, ROLLWATCH_RULES_DIR);
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

int cli_split_args(const char *s, char ***argv_out, const char **why)
{
    char **argv = NULL, *cur;
    size_t argc = 0, n = 0, cap = strlen(s) + 1;
    int in_word = 0;

    cur = malloc(cap);
    if (cur == NULL) {
        abort();
    }
    for (;; s++) {
        if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n') {
            if (in_word) {
                argv = realloc(argv, (argc + 2) * sizeof(*argv));
                if (argv == NULL) {
                    abort();
                }
                cur[n] = '\0';
                argv[argc++] = xstrdup(cur);
                argv[argc] = NULL;
                n = 0;
                in_word = 0;
            }
            if (*s == '\0') {
                break;
            }
            continue;
        }
        in_word = 1;
        if (*s == '\'') {
            /* single quotes: everything literal up to the next one */
            for (s++; *s && *s != '\''; s++) {
                cur[n++] = *s;
            }
            if (*s == '\0') {
                *why = "unterminated single quote";
                goto fail;
            }
        } else if (*s == '"') {
            /* double quotes: backslash escapes only \\ \" \$ \` */
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && (s[1] == '\\' || s[1] == '"' || s[1] == '$' || s[1] == '`')) {
                    s++;
                }
                cur[n++] = *s;
            }
            if (*s == '\0') {
                *why = "unterminated double quote";
                goto fail;
            }
        } else if (*s == '\\') {
            if (s[1] == '\0') {
                *why = "a backslash at the end";
                goto fail;
            }
            cur[n++] = *++s;
        } else {
            cur[n++] = *s;
        }
    }
    free(cur);
    if (argc == 0) {
        *why = "empty command";
        free(argv);
        return -1;
    }
    *argv_out = argv;
    return 0;
fail:
    free(cur);
    cli_free_args(argv);
    return -1;
}

void cli_free_args(char **argv)
{
    for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
        free(argv[i]);
    }
    free(argv);
}
