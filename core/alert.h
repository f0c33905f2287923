/* The alert object: produced by rules, serialised by sinks (DESIGN §6). */
#ifndef ROLLWATCH_ALERT_H
#define ROLLWATCH_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define ALERT_MAX_EVIDENCE 5

enum alert_status { ALERT_FIRING = 0, ALERT_RESOLVED };
enum alert_severity { SEVERITY_INFO = 0, SEVERITY_WARNING, SEVERITY_CRITICAL };

/* Every pointer is borrowed and valid only while the alert callback runs. */
struct alert {
    enum alert_status status;
    enum alert_severity severity;
    const char *rule;       /* the alert name: the rule id unless the rule names it */
    const char *class_name; /* may be NULL */
    struct slice app, service, pod, release;
    const char *summary;
    const char *hint;
    /* the lengths of rule, class_name (0 when NULL), summary and hint, which are also
     * NUL-terminated: the sinks write them without measuring them again */
    size_t rule_len, class_len, summary_len, hint_len;
    int64_t starts_at; /* event time, ns */
    int64_t ends_at;   /* 0 while firing */
    char fingerprint[17];
    uint64_t count;
    size_t nevidence;
    struct slice evidence[ALERT_MAX_EVIDENCE]; /* raw lines */
};

const char *alert_status_name(enum alert_status s);
const char *alert_severity_name(enum alert_severity s);
/* Returns 0 and the severity for "critical", "warning" or "info", else -1. */
int alert_severity_parse(const char *s, size_t len, enum alert_severity *out);

#endif
