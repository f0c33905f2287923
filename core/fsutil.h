/* Small file-system helpers shared by modules. */
#ifndef ROLLWATCH_FSUTIL_H
#define ROLLWATCH_FSUTIL_H

#include <stddef.h>

/* mkdir -p with mode 0700. Returns 0 or -1 (errno). */
int fs_mkdir_p(const char *path);

/* Writes data to dir/name atomically and durably: temp file, fsync, rename, fsync of dir.
 * Returns 0 or -1 (errno). */
int fs_write_durable(const char *dir, const char *name, const char *data, size_t len);

#endif
