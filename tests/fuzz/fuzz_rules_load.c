/* Fuzz target: arbitrary bytes as a rule file; when they load, run a few records through them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_alert(void *arg, const struct alert *a)
{
    (void)arg;
    (void)a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const lines[] = {
        "2026-03-18T14:30:51Z system/k8s/web-745f845dc Created pod: web-745f845dc-rzl2q",
        "2026-03-18T14:30:52Z system/k8s/web-745f845dc-rzl2q Back-off restarting failed container",
        "2026-03-18T14:40:52Z service/web/web-745f845dc-rzl2q JavaScript heap out of memory",
        "2026-03-18T14:50:52Z system/k8s/atom/app Status: Updating => Deadline",
        "ERROR: rollback",
    };
    struct rule_set *set = rules_load_text("fuzz.json", (const char *)data, size, NULL, NULL);
    struct rules_engine *eng;
    struct parser p;

    if (set == NULL) {
        return 0;
    }
    eng = rules_engine_new(set, NULL, ignore_alert, NULL);
    parse_init(&p);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct record r;

        parse_line(&p, NULL, lines[i], strlen(lines[i]), 0, &r);
        rules_eval(eng, &r);
    }
    rules_advance(eng, INT64_MAX / 2);
    rules_engine_free(eng);
    return 0;
}
