/* File-system helpers: see fsutil.h. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"

int skyc_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int skyc_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int skyc_mkdir_p(const char *dir)
{
    char *p, c;
    int rc = 0;

    if (!*dir)
        return 0;
    p = skyc_xstrdup(dir);
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        c = *s;
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST)
            rc = -1;
        else if (!skyc_is_dir(p)) {
            errno = ENOTDIR;
            rc = -1;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void skyc_rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* nftw has no user pointer: the listing in progress. */
static skyc_buf *listing;
static size_t listing_root, listing_count;

static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F) {
        skyc_buf_puts(listing, path + listing_root);
        skyc_buf_putc(listing, '\0');
        listing_count++;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t skyc_list_files(const char *dir, skyc_buf *list)
{
    skyc_buf raw = SKYC_BUF_INIT;
    char **names;
    const char *p;

    listing = &raw;
    listing_root = strlen(dir) + 1;
    listing_count = 0;
    nftw(dir, list_one, 16, FTW_PHYS);
    names = skyc_xmalloc((listing_count ? listing_count : 1) * sizeof *names);
    p = raw.data;
    for (size_t i = 0; i < listing_count; i++) {
        names[i] = (char *)p;
        p += strlen(p) + 1;
    }
    qsort(names, listing_count, sizeof *names, cmp_str);
    for (size_t i = 0; i < listing_count; i++)
        skyc_buf_put(list, names[i], strlen(names[i]) + 1);
    free(names);
    skyc_buf_deinit(&raw);
    return listing_count;
}

static int copy_file(const char *from, const char *to)
{
    char chunk[65536];
    int in = open(from, O_RDONLY), out;
    ssize_t r = 0;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (out < 0) {
        close(in);
        return -1;
    }
    while ((r = read(in, chunk, sizeof chunk)) > 0) {
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(out, chunk + done, (size_t)(r - done));

            if (w < 0) {
                r = -1;
                break;
            }
            done += w;
        }
        if (r < 0)
            break;
    }
    close(in);
    if (close(out) < 0 || r < 0)
        return -1;
    return unlink(from);
}

int skyc_move_file(const char *from, const char *to, skyc_buf *errs)
{
    char *dir = skyc_xstrdup(to), *slash = strrchr(dir, '/');
    int rc = 0;

    if (slash && slash != dir) {
        *slash = '\0';
        rc = skyc_mkdir_p(dir);
    }
    free(dir);
    if (rc == 0 && rename(from, to) < 0)
        rc = errno == EXDEV ? copy_file(from, to) : -1;
    if (rc < 0)
        skyc_buf_printf(errs, "skyc: cannot write %s: %s\n", to, strerror(errno));
    return rc;
}
