/*
 * Following files like tail -F: a uv_fs_event on each file's directory wakes us at once, a
 * stat poll catches what inotify misses. Rename rotation: the old file is read to its end,
 * then the new one from 0. Shrinking (truncation, copytruncate): read from 0. Deletion: read
 * to the end, then wait for the path to come back. Offsets persist in the state dir with a
 * hash of the bytes before them, so a restart resumes exactly where lines were processed.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fsutil.h"
#include "hash.h"
#include "ingest.h"
#include "ingest_int.h"
#include "log.h"
#include "xmalloc.h"

#define POLL_MS 250
#define TURN_BUDGET (1024 * 1024) /* bytes a file may read per turn: no file starves others */
#define MARK_LEN 64               /* bytes before an offset hashed into its fingerprint */
#define SAVE_EVERY_MS 200
#define STATE_FILE "offsets.json"
#define ROTATE_WAIT_MS 5000 /* a rotated file is still read this long: late writers finish it */

struct ingest_follow;

struct followed {
    struct ingest_follow *owner;
    char *path; /* owned */
    char *app;  /* owned, may be NULL */
    int fd;     /* -1 when not open */
    dev_t dev;
    ino_t ino;
    off_t pos; /* next byte to read */
    uint64_t mark; /* hash of the bytes before pos: if they change, the file was rewritten */
    struct ingest__linebuf buf;
    struct source src;
    int start_at_end; /* first open at start-up, no saved offset: like tail -F */
    int from_glob;
    int draining;         /* a rotated or removed file, read until drain_until, then closed */
    uint64_t drain_until; /* uv_now ms */
    uint64_t saved_mark; /* restart: the fingerprint that must match to resume */
    off_t saved_off;
    int have_saved;
};

struct dir_watch {
    char *dir;
    uv_fs_event_t ev;
};

struct ingest_follow {
    uv_loop_t *loop;
    struct ingest_follow_opts opts;
    ingest_line_cb on_line;
    void *arg;
    char **patterns; /* owned: globs to rescan */
    char **pattern_apps;
    size_t npatterns;
    struct followed **files;
    size_t nfiles;
    struct dir_watch **dirs;
    size_t ndirs;
    uv_timer_t poll;
    uv_idle_t more; /* another turn right away: some file had more than its budget */
    int dirty;      /* offsets changed since the last save */
    uint64_t last_save_ms;
    int closing;
    size_t pending_closes;
    struct ingest_follow_stats stats;
};

/* ---- offsets ---------------------------------------------------------------------------------- */

/* Hash of the MARK_LEN bytes before off in fd (fewer at the start of the file). */
static uint64_t mark_at(int fd, off_t off)
{
    unsigned char b[MARK_LEN];
    off_t from = off > MARK_LEN ? off - MARK_LEN : 0;
    ssize_t n = pread(fd, b, (size_t)(off - from), from);

    return n < 0 ? 0 : hash_fnv1a(b, (size_t)n);
}

/* Where the lines handed out so far end: the read position less the partial line held back. */
static off_t committed(const struct followed *f)
{
    return f->pos - (off_t)(f->buf.skipping ? 0 : f->buf.end - f->buf.start);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s);
        } else if ((unsigned char)*s < 0x20) {
            fprintf(out, "\\u%04x", (unsigned char)*s);
        } else {
            fputc(*s, out);
        }
    }
    fputc('"', out);
}

static void save_state(struct ingest_follow *in)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    if (in->opts.state_dir == NULL || !in->dirty) {
        return;
    }
    out = open_memstream(&text, &len);
    if (out == NULL) {
        return;
    }
    fputs("{\"files\":[", out);
    for (size_t i = 0, k = 0; i < in->nfiles; i++) {
        struct followed *f = in->files[i];
        off_t off;

        if (f->fd < 0 || f->draining) {
            continue;
        }
        off = committed(f);
        fputs(k++ ? ",{\"path\":" : "{\"path\":", out);
        json_str(out, f->path);
        fprintf(out, ",\"dev\":%llu,\"ino\":%llu,\"offset\":%lld,\"mark\":\"%016llx\"}",
                (unsigned long long)f->dev, (unsigned long long)f->ino, (long long)off,
                (unsigned long long)mark_at(f->fd, off));
    }
    fputs("]}\n", out);
    fclose(out);
    if (fs_write_durable(in->opts.state_dir, STATE_FILE, text, len) != 0) {
        log_at(LOG_ERROR, "ingest", "cannot save offsets: %s dir=%s", strerror(errno),
               in->opts.state_dir);
    } else {
        in->dirty = 0;
        in->last_save_ms = uv_now(in->loop);
    }
    free(text);
}

/* Saved offsets of an earlier run, attached to the files of the same path. */
static void load_state(struct ingest_follow *in)
{
    char path[4096], err[256], *text;
    FILE *f;
    long n;
    yajl_val root, files;
    const char *p_files[] = {"files", NULL};

    snprintf(path, sizeof(path), "%s/%s", in->opts.state_dir, STATE_FILE);
    f = fopen(path, "rb");
    if (f == NULL) {
        return;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    if (n <= 0 || n > 16 * 1024 * 1024) {
        fclose(f);
        return;
    }
    text = xmalloc((size_t)n + 1);
    text[fread(text, 1, (size_t)n, f)] = '\0';
    fclose(f);
    root = yajl_tree_parse(text, err, sizeof(err));
    free(text);
    files = root ? yajl_tree_get(root, p_files, yajl_t_array) : NULL;
    if (files == NULL) {
        log_at(LOG_WARN, "ingest", "ignoring an unreadable offsets file path=%s", path);
        yajl_tree_free(root);
        return;
    }
    for (size_t i = 0; i < files->u.array.len; i++) {
        yajl_val e = files->u.array.values[i], v;
        const char *k_path[] = {"path", NULL}, *k_off[] = {"offset", NULL},
                   *k_mark[] = {"mark", NULL}, *k_ino[] = {"ino", NULL}, *k_dev[] = {"dev", NULL};

        const char *vpath;

        v = yajl_tree_get(e, k_path, yajl_t_string);
        vpath = v ? YAJL_GET_STRING(v) : NULL;
        for (size_t j = 0; vpath && j < in->nfiles; j++) {
            struct followed *fl = in->files[j];
            yajl_val off = yajl_tree_get(e, k_off, yajl_t_number);
            yajl_val mark = yajl_tree_get(e, k_mark, yajl_t_string);
            yajl_val ino = yajl_tree_get(e, k_ino, yajl_t_number);
            yajl_val dev = yajl_tree_get(e, k_dev, yajl_t_number);

            const char *vmark = mark ? YAJL_GET_STRING(mark) : NULL;

            if (strcmp(fl->path, vpath) != 0 || !off || !YAJL_IS_INTEGER(off) || !vmark || !ino ||
                !dev) {
                continue;
            }
            fl->have_saved = 1;
            fl->saved_off = (off_t)YAJL_GET_INTEGER(off);
            fl->saved_mark = strtoull(vmark, NULL, 16);
            fl->dev = (dev_t)YAJL_GET_INTEGER(dev);
            fl->ino = (ino_t)YAJL_GET_INTEGER(ino);
        }
    }
    yajl_tree_free(root);
}

/* ---- reading ----------------------------------------------------------------------------------- */

static void emit(void *arg, const char *line, size_t len, unsigned flags)
{
    struct followed *f = arg;
    struct ingest_follow *in = f->owner;

    f->src.lineno++;
    in->stats.lines++;
    in->on_line(in->arg, &f->src, line, len, flags);
}

static void close_fd(struct followed *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
}

static int read_some_raw(struct ingest_follow *in, struct followed *f);

/*
 * Reads what f has, up to the turn budget, and remembers the hash of the bytes before the new
 * position (every read path must: a stale hash looks like a rewritten file). Returns 1 if it
 * stopped with more to read.
 */
static int read_some(struct ingest_follow *in, struct followed *f)
{
    int more = read_some_raw(in, f);

    f->mark = mark_at(f->fd, f->pos);
    return more;
}

static int read_some_raw(struct ingest_follow *in, struct followed *f)
{
    size_t done = 0;

    while (done < TURN_BUDGET) {
        size_t avail;
        char *space = ingest__linebuf_space(&f->buf, &avail);
        ssize_t n = pread(f->fd, space, avail, f->pos);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            log_at(LOG_ERROR, "ingest", "read failed: %s path=%s", strerror(errno), f->path);
            return 0;
        }
        if (n == 0) {
            return 0;
        }
        f->pos += n;
        done += (size_t)n;
        in->stats.bytes += (uint64_t)n;
        in->dirty = 1;
        ingest__linebuf_commit(&f->buf, (size_t)n, emit, f);
    }
    return 1;
}

/* Opens f->path if it exists; where to start depends on how we met the file. */
static void try_open(struct ingest_follow *in, struct followed *f)
{
    struct stat st;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    f->pos = 0;
    if (f->have_saved) {
        /* the same file (device, inode), at least as long, the same bytes before the offset */
        if (st.st_dev == f->dev && st.st_ino == f->ino && st.st_size >= f->saved_off &&
            mark_at(fd, f->saved_off) == f->saved_mark) {
            f->pos = f->saved_off;
            log_at(LOG_INFO, "ingest", "resuming at the saved offset offset=%lld path=%s",
                   (long long)f->pos, f->path);
        } else {
            log_at(LOG_WARN, "ingest", "saved offset does not fit this file (replaced or "
                   "truncated while stopped), reading from the start path=%s", f->path);
        }
        f->have_saved = 0;
    } else if (f->start_at_end) {
        f->pos = st.st_size;
        if (f->pos > 0) {
            log_at(LOG_INFO, "ingest", "following from the end, like tail -F (--from-start "
                   "reads what is there; replay reads stored logs) path=%s", f->path);
        }
    }
    f->start_at_end = 0;
    f->mark = mark_at(fd, f->pos);
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->src.lineno = 0;
    in->dirty = 1;
    in->stats.opened++;
    log_at(LOG_INFO, "ingest", "following inode=%llu offset=%lld path=%s",
           (unsigned long long)st.st_ino, (long long)f->pos, f->path);
}

static void add_followed(struct ingest_follow *in, struct followed *f)
{
    in->files = xrealloc(in->files, (in->nfiles + 1) * sizeof(*in->files));
    in->files[in->nfiles++] = f;
}

/*
 * f's path no longer names f's file: the open file moves to a draining entry (writers may
 * still finish lines in it) and f starts afresh for the path.
 */
static void drain_old(struct ingest_follow *in, struct followed *f)
{
    struct followed *old = xcalloc(1, sizeof(*old));

    *old = *f;
    old->path = xstrdup(f->path);
    old->app = f->app ? xstrdup(f->app) : NULL;
    old->src.name = old->path;
    old->src.app = old->app;
    old->draining = 1;
    old->drain_until = uv_now(in->loop) + ROTATE_WAIT_MS;
    add_followed(in, old);
    f->fd = -1;
    f->pos = 0;
    ingest__linebuf_init(&f->buf, f->buf.max_line, f->buf.chunk);
}

static void free_followed(struct followed *f)
{
    close_fd(f);
    ingest__linebuf_free(&f->buf);
    free(f->path);
    free(f->app);
    free(f);
}

/* A draining file's turn: read what late writers added; at the end of the wait, finish it. */
static int drain_turn(struct ingest_follow *in, size_t idx)
{
    struct followed *f = in->files[idx];
    int more = read_some(in, f);

    if (!more && uv_now(in->loop) >= f->drain_until) {
        ingest__linebuf_finish(&f->buf, emit, f); /* its last line, even without a newline */
        free_followed(f);
        memmove(&in->files[idx], &in->files[idx + 1], (in->nfiles - idx - 1) * sizeof(*in->files));
        in->nfiles--;
        return -1; /* removed */
    }
    return more;
}

/* The file's bytes before our offset are gone: read it again from 0, dropping a partial line. */
static void from_start(struct ingest_follow *in, struct followed *f, const char *how,
                       const struct stat *st)
{
    log_at(LOG_WARN, "ingest", "file %s, reading from the start inode=%llu path=%s", how,
           (unsigned long long)st->st_ino, f->path);
    in->stats.truncated++;
    f->pos = 0;
    f->buf.start = f->buf.scan = f->buf.end = 0;
    f->buf.skipping = 0;
    in->dirty = 1;
}

/* One file's turn: notice rotation, truncation and deletion, then read. */
static int turn(struct ingest_follow *in, struct followed *f)
{
    struct stat by_path, by_fd;
    int more;

    if (f->fd < 0) {
        try_open(in, f);
        if (f->fd < 0) {
            return 0;
        }
    }
    if (fstat(f->fd, &by_fd) == 0 && by_fd.st_size < f->pos) {
        from_start(in, f, "truncated", &by_fd);
    } else if (f->pos > 0 && f->pos <= by_fd.st_size && mark_at(f->fd, f->pos) != f->mark) {
        /* truncated and written again past our offset before we looked (copytruncate) */
        from_start(in, f, "rewritten", &by_fd);
    }
    more = read_some(in, f);
    if (more) {
        return 1;
    }
    /* at the end of what the open file holds: is the path still this file? */
    if (stat(f->path, &by_path) != 0 || by_path.st_ino != f->ino || by_path.st_dev != f->dev) {
        int gone = stat(f->path, &by_path) != 0;

        log_at(LOG_INFO, "ingest", "%s, draining the old file for %d ms inode=%llu path=%s",
               gone ? "file removed or renamed" : "file rotated", ROTATE_WAIT_MS,
               (unsigned long long)f->ino, f->path);
        drain_old(in, f);
        in->stats.rotated++;
        in->dirty = 1;
        if (!gone) {
            try_open(in, f); /* the new file at the old path, from its start */
            return f->fd >= 0 ? read_some(in, f) : 0;
        }
    }
    return 0;
}

static void add_file(struct ingest_follow *in, const char *path, const char *app, int at_end,
                     int from_glob)
{
    struct followed *f;

    for (size_t i = 0; i < in->nfiles; i++) {
        if (!in->files[i]->draining && strcmp(in->files[i]->path, path) == 0) {
            return;
        }
    }
    f = xcalloc(1, sizeof(*f));
    f->owner = in;
    f->path = xstrdup(path);
    f->app = app ? xstrdup(app) : NULL;
    f->fd = -1;
    f->start_at_end = at_end;
    f->from_glob = from_glob;
    f->src.name = f->path;
    f->src.app = f->app;
    ingest__linebuf_init(&f->buf, in->opts.max_line ? in->opts.max_line : INGEST_DEFAULT_MAX_LINE,
                         INGEST_READ_CHUNK);
    add_followed(in, f);
}

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Files matching the globs that we do not follow yet: they appeared, read them from 0. */
static void rescan(struct ingest_follow *in, int at_start)
{
    for (size_t i = 0; i < in->npatterns; i++) {
        glob_t g;

        if (!has_glob(in->patterns[i])) {
            continue;
        }
        if (glob(in->patterns[i], 0, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++) {
                add_file(in, g.gl_pathv[k], in->pattern_apps[i],
                         at_start && !in->opts.from_start, 1);
            }
        }
        globfree(&g);
    }
}

static void on_more(uv_idle_t *h);

static void pump(struct ingest_follow *in)
{
    int more = 0;

    if (in->closing) {
        return;
    }
    rescan(in, 0);
    for (size_t i = 0; i < in->nfiles; i++) {
        if (in->files[i]->draining) {
            int r = drain_turn(in, i);

            if (r < 0) {
                i--; /* the next file moved into this slot */
                continue;
            }
            more |= r;
        } else {
            more |= turn(in, in->files[i]);
        }
    }
    if (more) {
        uv_idle_start(&in->more, on_more); /* the rest next turn, after other I/O */
    }
    if (in->dirty && uv_now(in->loop) - in->last_save_ms >= SAVE_EVERY_MS) {
        save_state(in);
    }
}

static void on_more(uv_idle_t *h)
{
    struct ingest_follow *in = h->data;

    uv_idle_stop(h);
    pump(in);
}

static void on_poll(uv_timer_t *t)
{
    pump(t->data);
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)name;
    (void)events;
    (void)status;
    pump(h->data);
}

/* A uv_fs_event on the directory of path (once per directory): survives renames. */
static void watch_dir(struct ingest_follow *in, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct dir_watch *w;

    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
    }
    for (size_t i = 0; i < in->ndirs; i++) {
        if (strcmp(in->dirs[i]->dir, dir) == 0) {
            return;
        }
    }
    w = xcalloc(1, sizeof(*w));
    w->dir = xstrdup(dir);
    uv_fs_event_init(in->loop, &w->ev);
    w->ev.data = in;
    if (uv_fs_event_start(&w->ev, on_fs_event, dir, 0) != 0) {
        /* the poll timer still catches everything, a little later */
        log_at(LOG_WARN, "ingest", "cannot watch directory, polling only dir=%s", dir);
    }
    in->dirs = xrealloc(in->dirs, (in->ndirs + 1) * sizeof(*in->dirs));
    in->dirs[in->ndirs++] = w;
}

/* ---- public ------------------------------------------------------------------------------------ */

struct ingest_follow *ingest_follow_new(uv_loop_t *loop, const struct ingest_follow_opts *opts,
                                        ingest_line_cb on_line, void *arg)
{
    struct ingest_follow *in = xcalloc(1, sizeof(*in));

    in->loop = loop;
    in->opts = *opts;
    in->opts.state_dir = opts->state_dir ? xstrdup(opts->state_dir) : NULL;
    in->on_line = on_line;
    in->arg = arg;
    uv_timer_init(loop, &in->poll);
    in->poll.data = in;
    uv_idle_init(loop, &in->more);
    in->more.data = in;
    return in;
}

int ingest_follow_add(struct ingest_follow *in, const char *pattern, const char *app)
{
    in->patterns = xrealloc(in->patterns, (in->npatterns + 1) * sizeof(char *));
    in->pattern_apps = xrealloc(in->pattern_apps, (in->npatterns + 1) * sizeof(char *));
    in->patterns[in->npatterns] = xstrdup(pattern);
    in->pattern_apps[in->npatterns] = app ? xstrdup(app) : NULL;
    in->npatterns++;
    if (!has_glob(pattern)) {
        /* a plain path is followed even before it exists */
        add_file(in, pattern, app, !in->opts.from_start, 0);
    }
    watch_dir(in, pattern);
    return 0;
}

int ingest_follow_start(struct ingest_follow *in)
{
    if (in->opts.state_dir != NULL) {
        if (fs_mkdir_p(in->opts.state_dir) != 0) {
            log_at(LOG_ERROR, "ingest", "cannot create state dir: %s dir=%s", strerror(errno),
                   in->opts.state_dir);
            return -1;
        }
    }
    rescan(in, 1);
    for (size_t i = 0; i < in->nfiles; i++) {
        struct stat st;

        /* only what exists now is "old content"; a file that appears later is read whole */
        if (stat(in->files[i]->path, &st) != 0) {
            in->files[i]->start_at_end = 0;
            /* like tail -F: said once, then waited for */
            log_at(LOG_WARN, "ingest", "cannot open yet, waiting for it: %s path=%s",
                   strerror(errno), in->files[i]->path);
        }
    }
    if (in->opts.state_dir != NULL) {
        load_state(in);
    }
    uv_timer_start(&in->poll, on_poll, POLL_MS, POLL_MS);
    pump(in);
    return 0;
}

const struct ingest_follow_stats *ingest_follow_stats(const struct ingest_follow *in)
{
    return &in->stats;
}

void ingest_follow_save(struct ingest_follow *in)
{
    save_state(in);
}

static void on_closed(uv_handle_t *h)
{
    struct ingest_follow *in = h->data;

    if (--in->pending_closes > 0) {
        return;
    }
    for (size_t i = 0; i < in->nfiles; i++) {
        free_followed(in->files[i]);
    }
    for (size_t i = 0; i < in->ndirs; i++) {
        free(in->dirs[i]->dir);
        free(in->dirs[i]);
    }
    for (size_t i = 0; i < in->npatterns; i++) {
        free(in->patterns[i]);
        free(in->pattern_apps[i]);
    }
    free(in->patterns);
    free(in->pattern_apps);
    free(in->files);
    free(in->dirs);
    free((char *)in->opts.state_dir);
    free(in);
}

void ingest_follow_close(struct ingest_follow *in)
{
    if (in == NULL || in->closing) {
        return;
    }
    save_state(in); /* what was processed is what the next start skips */
    in->closing = 1;
    in->pending_closes = 2 + in->ndirs;
    uv_timer_stop(&in->poll);
    uv_idle_stop(&in->more);
    uv_close((uv_handle_t *)&in->poll, on_closed);
    uv_close((uv_handle_t *)&in->more, on_closed);
    for (size_t i = 0; i < in->ndirs; i++) {
        uv_fs_event_stop(&in->dirs[i]->ev);
        uv_close((uv_handle_t *)&in->dirs[i]->ev, on_closed);
    }
}
