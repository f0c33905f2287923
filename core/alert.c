/* Names of alert statuses and severities. */
#include <string.h>

#include "alert.h"
#include "rollout.h"

const char *alert_status_name(enum alert_status s)
{
    return s == ALERT_RESOLVED ? "resolved" : "firing";
}

const char *alert_severity_name(enum alert_severity s)
{
    switch (s) {
    case SEVERITY_CRITICAL:
        return "critical";
    case SEVERITY_WARNING:
        return "warning";
    default:
        return "info";
    }
}

int alert_severity_parse(const char *s, size_t len, enum alert_severity *out)
{
    static const struct {
        const char *name;
        enum alert_severity sev;
    } map[] = {{"critical", SEVERITY_CRITICAL}, {"warning", SEVERITY_WARNING}, {"info", SEVERITY_INFO}};

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].name) == len && memcmp(map[i].name, s, len) == 0) {
            *out = map[i].sev;
            return 0;
        }
    }
    return -1;
}

const char *rollout_status_name(enum rollout_status s)
{
    static const char *const names[ROLLOUT_STATUS_COUNT] = {
        "started", "succeeded", "stuck", "failed", "rolled_back", "rollback_failed"};

    return (unsigned)s < ROLLOUT_STATUS_COUNT ? names[s] : "unknown";
}
