/*
 * The delivery spool: every webhook delivery is a file in the state dir, written and fsync'd
 * before it is sent and removed only after a 2xx, so a crash (even kill -9) loses nothing that
 * an alert callback returned from. Without a state dir the queue lives in memory only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "sink_int.h"
#include "xmalloc.h"

#define SPOOL_MAX_FILE (4 * 1024 * 1024)

static int spool_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

static void item_append(struct sink__spool *sp, struct spool_item *it)
{
    it->next = NULL;
    if (sp->tail) {
        sp->tail->next = it;
    } else {
        sp->head = it;
    }
    sp->tail = it;
    sp->count++;
}

int sink__spool_open(struct sink__spool *sp, const char *dir, size_t max, struct err *e)
{
    struct dirent **names = NULL;
    int n;

    memset(sp, 0, sizeof(*sp));
    sp->max = max;
    sp->next_seq = 1;
    if (dir == NULL) {
        return 0;
    }
    if (fs_mkdir_p(dir) != 0) {
        err_set(e, "cannot create spool directory %s: %s", dir, strerror(errno));
        return -1;
    }
    sp->dir = xstrdup(dir);
    n = scandir(dir, &names, spool_name, alphasort);
    if (n < 0) {
        err_set(e, "cannot read spool directory %s: %s", dir, strerror(errno));
        free(sp->dir);
        sp->dir = NULL;
        return -1;
    }
    /* "<seq>-<delivery id>.json": resume the sequence, keep the ids */
    for (int i = 0; i < n; i++) {
        struct spool_item *it = xcalloc(1, sizeof(*it));
        unsigned long long seq = strtoull(names[i]->d_name, NULL, 10);
        const char *dash = strchr(names[i]->d_name, '-');

        it->name = xstrdup(names[i]->d_name);
        snprintf(it->id, sizeof(it->id), "%.*s", dash ? (int)strcspn(dash + 1, ".") : 0,
                 dash ? dash + 1 : "");
        if (seq >= sp->next_seq) {
            sp->next_seq = seq + 1;
        }
        item_append(sp, it);
        free(names[i]);
    }
    free(names);
    sp->recovered = sp->count;
    return 0;
}

static void item_free(struct spool_item *it)
{
    free(it->name);
    free(it->body);
    free(it);
}

/* Removes the head: its file too. */
void sink__spool_pop(struct sink__spool *sp)
{
    struct spool_item *it = sp->head;

    if (it == NULL) {
        return;
    }
    sp->head = it->next;
    if (sp->head == NULL) {
        sp->tail = NULL;
    }
    sp->count--;
    if (it->name != NULL && sp->dir != NULL) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", sp->dir, it->name);
        if (unlink(path) != 0 && errno != ENOENT) {
            log_at(LOG_WARN, "sinks", "cannot remove spooled delivery: %s path=%s", strerror(errno),
                   path);
        }
    }
    item_free(it);
}

int sink__spool_push(struct sink__spool *sp, const char *id, const char *body, size_t len,
                     int durable)
{
    struct spool_item *it;

    if (sp->count >= sp->max && sp->head != NULL) {
        /* full: the oldest goes, so the newest news still gets out */
        log_at(LOG_ERROR, "sinks", "spool full, dropping the oldest delivery id=%s max=%zu",
               sp->head->id, sp->max);
        sp->dropped++;
        sink__spool_pop(sp);
    }
    it = xcalloc(1, sizeof(*it));
    snprintf(it->id, sizeof(it->id), "%s", id);
    it->refresh = !durable;
    if (sp->dir != NULL && durable) {
        char name[128];

        snprintf(name, sizeof(name), "%020llu-%s.json", (unsigned long long)sp->next_seq++, id);
        if (fs_write_durable(sp->dir, name, body, len) != 0) {
            log_at(LOG_ERROR, "sinks", "cannot spool a delivery, keeping it in memory: %s dir=%s",
                   strerror(errno), sp->dir);
        } else {
            it->name = xstrdup(name);
        }
    }
    if (it->name == NULL) {
        it->body = xstrndup(body, len);
        it->len = len;
    }
    item_append(sp, it);
    return 0;
}

int sink__spool_load(struct sink__spool *sp, struct spool_item *it, char **body, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf;
    size_t n;

    if (it->body != NULL) {
        *body = xstrndup(it->body, it->len);
        *len = it->len;
        return 0;
    }
    snprintf(path, sizeof(path), "%s/%s", sp->dir, it->name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    buf = xmalloc(SPOOL_MAX_FILE + 1);
    n = fread(buf, 1, SPOOL_MAX_FILE, f);
    fclose(f);
    buf[n] = '\0';
    *body = buf;
    *len = n;
    return 0;
}

void sink__spool_close(struct sink__spool *sp)
{
    while (sp->head != NULL) {
        struct spool_item *it = sp->head;

        /* close keeps the files: what is left is sent on the next start */
        sp->head = it->next;
        item_free(it);
    }
    sp->tail = NULL;
    sp->count = 0;
    free(sp->dir);
    sp->dir = NULL;
}
