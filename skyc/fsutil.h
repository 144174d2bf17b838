/* File-system helpers for skyc's driver: outputs are written to a
 * temporary directory and moved into place only when all succeeded. */
#ifndef SKYC_FSUTIL_H
#define SKYC_FSUTIL_H

#include "buf.h"

/* Creates dir and its missing parents. Returns 0 or -1 (errno set). */
int skyc_mkdir_p(const char *dir);

/* Removes path and everything under it; a missing path is fine. */
void skyc_rm_rf(const char *path);

/* Appends the paths of the regular files under dir, relative to it,
 * sorted, each followed by '\0', to list; returns how many. */
size_t skyc_list_files(const char *dir, skyc_buf *list);

/* Moves file `from` to `to` (replacing it), creating to's directory;
 * copies when they are on different file systems. Returns 0 or -1 with a
 * line in errs. */
int skyc_move_file(const char *from, const char *to, skyc_buf *errs);

/* Whether path is an existing directory / regular file. */
int skyc_is_dir(const char *path);
int skyc_is_file(const char *path);

#endif
