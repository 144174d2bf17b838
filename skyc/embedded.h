/* skyc's embedded files: the templates (named "c/sky.h.tmpl", ...) and
 * the template engine ("skyc/template.lua"), compiled in at build time by
 * skyc/embed. */
#ifndef SKYC_EMBEDDED_H
#define SKYC_EMBEDDED_H

#include <stddef.h>

typedef struct skyc_embedded_file {
    const char *name;
    const char *data; /* NUL-terminated, `len` bytes before the NUL */
    size_t len;
} skyc_embedded_file;

/* Ends with an entry whose name is NULL. */
extern const skyc_embedded_file skyc_embedded[];

#endif
