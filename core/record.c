/* Names of record and object kinds as they appear in the JSON output, and slice helpers. */
#include <string.h>

#include "record.h"

static const char *const kind_names[RECORD_KIND_COUNT] = {
    [RECORD_UNKNOWN] = "unknown", [RECORD_K8S] = "k8s", [RECORD_ATOM] = "atom",
    [RECORD_STATE] = "state",     [RECORD_APP] = "app", [RECORD_CLI] = "cli",
};

static const char *const object_names[OBJECT_KIND_COUNT] = {
    [OBJECT_UNKNOWN] = "unknown",       [OBJECT_ATOM] = "atom", [OBJECT_DEPLOYMENT] = "deployment",
    [OBJECT_REPLICASET] = "replicaset", [OBJECT_POD] = "pod",   [OBJECT_STATE] = "state",
};

const char *record_kind_name(enum record_kind k)
{
    return (unsigned)k < RECORD_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *object_kind_name(enum object_kind k)
{
    return (unsigned)k < OBJECT_KIND_COUNT ? object_names[k] : "unknown";
}

int slice_eq(struct slice s, const char *str)
{
    size_t n = strlen(str);
    return s.p != NULL && s.len == n && memcmp(s.p, str, n) == 0;
}
