/* Names of record and object kinds as they appear in the JSON output, and slice helpers. */
#include <stddef.h>
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

static const char *const field_names[FIELD_COUNT] = {
    [FIELD_KIND] = "kind",
    [FIELD_OBJECT_KIND] = "object_kind",
    [FIELD_STREAM] = "stream",
    [FIELD_OBJECT] = "object",
    [FIELD_SERVICE] = "service",
    [FIELD_REPLICASET] = "replicaset",
    [FIELD_POD] = "pod",
    [FIELD_CONTAINER] = "container",
    [FIELD_MESSAGE] = "message",
    [FIELD_STATUS_FROM] = "status_from",
    [FIELD_STATUS_TO] = "status_to",
    [FIELD_RELEASE] = "release",
    [FIELD_BUILD] = "build",
    [FIELD_APP] = "app",
    [FIELD_CLI] = "cli",
    [FIELD_POD_STATUS] = "pod_status",
    [FIELD_LINE] = "line",
    [FIELD_EVENT] = "event",
    [FIELD_CLASS] = "class",
};

int record_field_id(const char *name, size_t len)
{
    for (int i = 0; i < FIELD_COUNT; i++) {
        if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0) {
            return i;
        }
    }
    return -1;
}

const char *record_field_name(int id)
{
    return id >= 0 && id < FIELD_COUNT ? field_names[id] : NULL;
}

#define SLOT(f) ((unsigned short)offsetof(struct record, f))

const unsigned short record_slice_offset[FIELD_COUNT] = {
    [FIELD_STREAM] = SLOT(stream),         [FIELD_OBJECT] = SLOT(object),
    [FIELD_SERVICE] = SLOT(service),       [FIELD_REPLICASET] = SLOT(replicaset),
    [FIELD_POD] = SLOT(pod),               [FIELD_CONTAINER] = SLOT(container),
    [FIELD_MESSAGE] = SLOT(message),       [FIELD_STATUS_FROM] = SLOT(status_from),
    [FIELD_STATUS_TO] = SLOT(status_to),   [FIELD_RELEASE] = SLOT(release),
    [FIELD_BUILD] = SLOT(build),           [FIELD_APP] = SLOT(app),
    [FIELD_CLI] = SLOT(cli),               [FIELD_POD_STATUS] = SLOT(pod_status),
    [FIELD_LINE] = SLOT(line),             [FIELD_EVENT] = SLOT(event),
    [FIELD_CLASS] = SLOT(class_name),
};

struct slice record_field_get_other(const struct record *r, int id)
{
    if (id == FIELD_KIND) {
        const char *k = record_kind_name(r->kind);
        return (struct slice){k, strlen(k)};
    }
    if (id == FIELD_OBJECT_KIND) {
        const char *k = object_kind_name(r->object_kind);
        return (struct slice){k, strlen(k)};
    }
    for (size_t i = 0; id >= FIELD_COUNT && i < r->nextra; i++) {
        if (r->extra[i].field == id) {
            return r->extra[i].val;
        }
    }
    return SLICE_NONE;
}

void record_field_set(struct record *r, int id, const char *name, struct slice v)
{
    if (id >= FIELD_COUNT) {
        for (size_t i = 0; i < r->nextra; i++) {
            if (r->extra[i].field == id) {
                r->extra[i].val = v;
                return;
            }
        }
        if (r->nextra < RECORD_MAX_EXTRA) {
            r->extra[r->nextra].field = id;
            r->extra[r->nextra].name = name;
            r->extra[r->nextra].val = v;
            r->nextra++;
        }
        return;
    }
    if (id >= 0 && record_slice_offset[id] != 0) {
        *(struct slice *)(void *)((char *)r + record_slice_offset[id]) = v;
    }
}
