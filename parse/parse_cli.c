/* The convox deploy / releases promote transcript: lines without a timestamp (convox-logs.md §2.4). */
#include <string.h>

#include "parse.h"
#include "parse_int.h"

static int starts(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

static int ends(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(s + n - k, lit, k) == 0;
}

static void set_cli(struct record *out, const char *type)
{
    out->cli = (struct slice){type, strlen(type)};
}

static const char *const pod_states[] = {"pending", "starting", "running", "unhealthy",
                                         "crashed", "failed",   "complete", "unknown"};

/* "  <pod-id %-32s>  <service %-12s>  <status>" */
static int pod_row(const char *s, size_t n, struct record *out)
{
    struct slice f[3];
    size_t i = 2;
    int k;

    if (n < 8 || s[0] != ' ' || s[1] != ' ' || s[2] == ' ') {
        return 0;
    }
    for (k = 0; k < 3; k++) {
        size_t b;

        while (i < n && s[i] == ' ') {
            i++;
        }
        b = i;
        while (i < n && s[i] != ' ' && s[i] != '\t') {
            i++;
        }
        if (i == b) {
            return 0;
        }
        f[k] = (struct slice){s + b, i - b};
    }
    while (i < n && s[i] == ' ') {
        i++;
    }
    if (i != n) {
        return 0;
    }
    for (size_t j = 0; j < sizeof(pod_states) / sizeof(pod_states[0]); j++) {
        if (slice_eq(f[2], pod_states[j])) {
            struct slice svc = f[1];

            parse_object_name(f[0], SLICE_NONE, out);
            out->object_kind = OBJECT_POD;
            out->pod = f[0];
            out->service = svc;
            out->pod_status = f[2];
            set_cli(out, "pod_status");
            return 1;
        }
    }
    return 0;
}

/* BuildKit progress: "#12 [3/5] RUN npm ci", "#12 DONE 0.4s" */
static int buildkit_line(const char *s, size_t n)
{
    size_t i = 1;

    if (n < 3 || s[0] != '#') {
        return 0;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
    }
    return i > 1 && i < n && s[i] == ' ';
}

/* "Step 3/9 : RUN make" */
static int docker_step(const char *s, size_t n)
{
    size_t i = 5;

    if (!starts(s, n, "Step ")) {
        return 0;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
    }
    return i > 5 && i < n && s[i] == '/';
}

/*
 * Colour (SGR: ESC [ digits and semicolons m) that the CLI writes on a terminal, e.g. in CI with
 * a pseudo-TTY: "\e[38;5;46mOK\e[0m". The index after those at i.
 */
static size_t skip_sgr(const char *s, size_t n, size_t i)
{
    while (i + 2 < n && s[i] == '\x1b' && s[i + 1] == '[') {
        size_t j = i + 2;

        while (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')) {
            j++;
        }
        if (j >= n || s[j] != 'm') {
            break;
        }
        i = j + 1;
    }
    return i;
}

/* n without the colour sequences that end s[0..n) */
static size_t trim_sgr(const char *s, size_t n)
{
    while (n >= 3 && s[n - 1] == 'm') {
        size_t j = n - 1;

        while (j > 0 && ((s[j - 1] >= '0' && s[j - 1] <= '9') || s[j - 1] == ';')) {
            j--;
        }
        if (j < 2 || s[j - 1] != '[' || s[j - 2] != '\x1b') {
            break;
        }
        n = j - 2;
    }
    return n;
}

/* The same line with its colour taken out where the fields are read (no copy: the slices
 * still point into the line; colour inside a message stays). */
static int cli_line(const char *s, size_t n, struct record *out);

int parse__cli_line(const char *s, size_t n, struct record *out)
{
    size_t i;

    if (n == 0 || memchr(s, '\x1b', n) == NULL) {
        return cli_line(s, n, out);
    }
    i = skip_sgr(s, n, 0);
    n = trim_sgr(s, n);
    return i < n && cli_line(s + i, n - i, out);
}

static int cli_line(const char *s, size_t n, struct record *out)
{
    size_t k, i;

    out->message = (struct slice){s, n};
    if (n == 2 && memcmp(s, "OK", 2) == 0) {
        set_cli(out, "ok");
        return 1;
    }
    if (starts(s, n, "OK") && (i = skip_sgr(s, n, 2)) + 2 < n && s[i] == ',' && s[i + 1] == ' ' &&
        (i = skip_sgr(s, n, i + 2)) < n && (k = parse__object_id(s + i, n - i, 'R')) > 0 &&
        i + k == n) {
        /* "Rolling back to RBCD..." then the logs, then "OK, RNEW": the release promoted */
        out->release = (struct slice){s + i, k};
        set_cli(out, "ok");
        return 1;
    }
    if (starts(s, n, "ERROR: ")) {
        size_t m = skip_sgr(s, n, 7);

        out->message = (struct slice){s + m, n - m};
        set_cli(out, "error");
        return 1;
    }
    if (starts(s, n, "Promoting still in progress")) {
        set_cli(out, "promote_progress");
        return 1;
    }
    if (starts(s, n, "Promoting ") && (i = skip_sgr(s, n, 10)) < n &&
        (k = parse__object_id(s + i, n - i, 'R')) > 0) {
        out->release = (struct slice){s + i, k};
        set_cli(out, "promoting");
        return 1;
    }
    if (starts(s, n, "Rolling back to ") && (i = skip_sgr(s, n, 16)) < n &&
        (k = parse__object_id(s + i, n - i, 'R')) > 0) {
        /* "Rolling back to RBCD... OK, RNEW": the new release is what gets promoted. */
        const char *comma = memchr(s, ',', n);
        size_t at = comma ? skip_sgr(s, n, (size_t)(comma - s) + 2) : n;
        size_t k2 = at < n ? parse__object_id(s + at, n - at, 'R') : 0;

        out->release = k2 ? (struct slice){s + at, k2} : (struct slice){s + i, k};
        set_cli(out, "rolling_back");
        return 1;
    }
    if (starts(s, n, "Build:") || starts(s, n, "Release:")) {
        char letter = s[0] == 'B' ? 'B' : 'R';

        i = letter == 'B' ? 6 : 8;
        while (i < n && s[i] == ' ') {
            i++;
        }
        if (i > (letter == 'B' ? 6u : 8u) && (i = skip_sgr(s, n, i)) < n &&
            (k = parse__object_id(s + i, n - i, letter)) > 0 && i + k == n) {
            if (letter == 'B') {
                out->build = (struct slice){s + i, k};
                set_cli(out, "build");
            } else {
                out->release = (struct slice){s + i, k};
                set_cli(out, "release");
            }
            return 1;
        }
    }
    if (pod_row(s, n, out)) {
        return 1;
    }
    if (starts(s, n, "Building: ") || starts(s, n, "Running: ") ||
        starts(s, n, "Authenticating ") || starts(s, n, " ---> ") ||
        starts(s, n, "Successfully built ") || starts(s, n, "Successfully tagged ") ||
        docker_step(s, n) || buildkit_line(s, n)) {
        set_cli(out, "build_output");
        return 1;
    }
    /* "Packaging source... OK", "Waiting for app to be ready... OK", "Creating app myapp..." */
    if (n > 3 && ((s[0] >= 'A' && s[0] <= 'Z') && (ends(s, n, "... OK") || ends(s, n, "...")))) {
        set_cli(out, "step");
        return 1;
    }
    out->message = SLICE_NONE;
    return 0;
}
