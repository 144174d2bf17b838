/* The cluster's shared secret, read from the file cluster_secret_file
 * names (docs/launcher.md, "Cluster").
 *
 *   char *secret; size_t len; char err[512];
 *   if (sky_launcher_secret_read("/etc/sky/secret", &secret, &len, err, sizeof err) != 0)
 *       fprintf(stderr, "sky: node.lua: %s\n", err);
 *   ...
 *   sky_launcher_secret_free(secret, len);
 */
#ifndef SKY_LAUNCHER_SECRET_H
#define SKY_LAUNCHER_SECRET_H

#include <stddef.h>

/* The most bytes a secret file may hold. */
#define SKY_LAUNCHER_SECRET_MAX 65536

/* Reads the secret at `path`: the file's bytes, one trailing newline
 * dropped. The file must be a regular file that only its owner may read or
 * write (mode & 077 == 0, as ssh wants of a private key), of at most
 * SKY_LAUNCHER_SECRET_MAX bytes, and the secret at least one byte. Returns
 * 0 with *out (malloc'd, *len bytes, NUL after them) the caller's, or -1
 * with one line in err naming the file: "cluster_secret_file 'PATH':
 * permissions 0644 are too open: it must be readable by its owner only
 * (chmod 600)". */
int sky_launcher_secret_read(const char *path, char **out, size_t *len, char *err, size_t errsize);

/* Wipes the secret's bytes and frees it. NULL is a no-op. */
void sky_launcher_secret_free(char *secret, size_t len);

#endif
