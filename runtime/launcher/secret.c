/* The cluster's shared secret from a file. Like ssh with a private key, a
 * file others may read is refused rather than used: a secret that leaked
 * lets anyone who reaches a node's port join the cluster. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/secret.h"

static int fail(char *err, size_t errsize, const char *path, const char *why, int fd)
{
    snprintf(err, errsize, "cluster_secret_file '%s': %s", path, why);
    if (fd >= 0)
        close(fd);
    return -1;
}

int sky_launcher_secret_read(const char *path, char **out, size_t *len, char *err, size_t errsize)
{
    char why[128];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    *out = NULL;
    *len = 0;
    if (fd < 0 || fstat(fd, &st) != 0)
        return fail(err, errsize, path, strerror(errno), fd);
    if (!S_ISREG(st.st_mode))
        return fail(err, errsize, path, "not a regular file", fd);
    if (st.st_mode & 077) {
        snprintf(why, sizeof why, "permissions %04o are too open: it must be readable by its owner only (chmod 600)",
                 (unsigned)(st.st_mode & 07777));
        return fail(err, errsize, path, why, fd);
    }
    char *buf = malloc(SKY_LAUNCHER_SECRET_MAX + 2);
    if (!buf)
        return fail(err, errsize, path, "out of memory", fd);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, SKY_LAUNCHER_SECRET_MAX + 2 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, sizeof why, "%s", strerror(errno));
            sky_launcher_secret_free(buf, n);
            return fail(err, errsize, path, why, fd);
        }
        if (r == 0 || (n += (size_t)r) == SKY_LAUNCHER_SECRET_MAX + 2)
            break;
    }
    close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n == 0) {
        free(buf);
        return fail(err, errsize, path, "the secret is empty", -1);
    }
    if (n > SKY_LAUNCHER_SECRET_MAX) {
        snprintf(why, sizeof why, "longer than %d bytes", SKY_LAUNCHER_SECRET_MAX);
        sky_launcher_secret_free(buf, n);
        return fail(err, errsize, path, why, -1);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

void sky_launcher_secret_free(char *secret, size_t len)
{
    if (!secret)
        return;
    volatile char *p = secret; /* a plain memset before free() may be dropped */
    for (size_t i = 0; i < len; i++)
        p[i] = 0;
    free(secret);
}
