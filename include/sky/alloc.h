/* sky — memory. Out-of-memory is fatal: these abort with the size asked for,
 * so callers never check for NULL. Message payloads handed to sky_send()
 * and friends may come from these or from plain malloc(). */
#ifndef SKY_ALLOC_H
#define SKY_ALLOC_H

#include <stddef.h>

void *sky_malloc(size_t size);
void *sky_calloc(size_t n, size_t size);
void *sky_realloc(void *p, size_t size);
char *sky_strdup(const char *s);
void sky_free(void *p);

#endif
