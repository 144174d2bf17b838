/* Template sets: the templates of one language ("c", "lua", "nanopb"),
 * each `NAME.tmpl` rendering to `<base>.NAME`. They come from the copies
 * compiled into skyc or, with --templates=DIR, from DIR/<lang>/ when that
 * directory exists. */
#ifndef SKYC_TEMPLATES_H
#define SKYC_TEMPLATES_H

#include <stddef.h>
#include "buf.h"

typedef struct skyc_template {
    char *name;   /* "c/sky.h.tmpl": how errors name it */
    char *suffix; /* "sky.h": the output is <base>.<suffix> */
    char *src;
    size_t len;
} skyc_template;

/* Whether language `lang` has any template, in DIR/<lang>/ (dir may be
 * NULL) or compiled in. */
int skyc_templates_exist(const char *dir, const char *lang);

/* Loads the templates of `lang`, sorted by name, into a new array *out of
 * *n entries (free with skyc_templates_free). Returns 0, or -1 with a line
 * in errs (an unreadable file or directory). */
int skyc_templates_load(const char *dir, const char *lang, skyc_template **out, size_t *n, skyc_buf *errs);
void skyc_templates_free(skyc_template *t, size_t n);

/* The compiled-in file `name` ("skyc/template.lua"), or NULL. */
const char *skyc_embedded_get(const char *name, size_t *len);

#endif
