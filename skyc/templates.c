/* Template sets: see templates.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "embedded.h"
#include "templates.h"

static const char ext[] = ".tmpl";

static int has_ext(const char *name)
{
    size_t n = strlen(name);

    return n > sizeof ext - 1 && strcmp(name + n - (sizeof ext - 1), ext) == 0;
}

/* DIR/<lang> if it is a directory, else NULL. */
static char *lang_dir(const char *dir, const char *lang)
{
    skyc_buf b = SKYC_BUF_INIT;
    struct stat st;

    if (!dir)
        return NULL;
    skyc_buf_printf(&b, "%s/%s", dir, lang);
    if (stat(skyc_buf_str(&b), &st) == 0 && S_ISDIR(st.st_mode))
        return skyc_buf_take(&b);
    skyc_buf_deinit(&b);
    return NULL;
}

/* The part of an embedded name after "<lang>/", if it is a template of lang. */
static const char *embedded_in(const char *name, const char *lang)
{
    size_t n = strlen(lang);

    if (strncmp(name, lang, n) != 0 || name[n] != '/' || strchr(name + n + 1, '/') || !has_ext(name))
        return NULL;
    return name + n + 1;
}

int skyc_templates_exist(const char *dir, const char *lang)
{
    char *d = lang_dir(dir, lang);

    if (d) {
        free(d);
        return 1;
    }
    for (const skyc_embedded_file *e = skyc_embedded; e->name; e++)
        if (embedded_in(e->name, lang))
            return 1;
    return 0;
}

const char *skyc_embedded_get(const char *name, size_t *len)
{
    for (const skyc_embedded_file *e = skyc_embedded; e->name; e++) {
        if (strcmp(e->name, name) == 0) {
            *len = e->len;
            return e->data;
        }
    }
    return NULL;
}

static void add(skyc_template **out, size_t *n, const char *lang, const char *file, const char *src, size_t len)
{
    skyc_template *t;
    skyc_buf b = SKYC_BUF_INIT;

    *out = skyc_xrealloc(*out, (*n + 1) * sizeof **out);
    t = &(*out)[(*n)++];
    skyc_buf_printf(&b, "%s/%s", lang, file);
    t->name = skyc_buf_take(&b);
    skyc_buf_put(&b, file, strlen(file) - (sizeof ext - 1));
    t->suffix = skyc_buf_take(&b);
    t->src = skyc_xmalloc(len + 1);
    memcpy(t->src, src, len);
    t->src[len] = '\0';
    t->len = len;
}

static int read_file(const char *path, skyc_buf *b, skyc_buf *errs)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t r;

    if (!f) {
        skyc_buf_printf(errs, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        skyc_buf_put(b, chunk, r);
    if (ferror(f)) {
        skyc_buf_printf(errs, "%s: read error\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int cmp_templates(const void *a, const void *b)
{
    return strcmp(((const skyc_template *)a)->name, ((const skyc_template *)b)->name);
}

static int load_dir(const char *d, const char *lang, skyc_template **out, size_t *n, skyc_buf *errs)
{
    DIR *dir = opendir(d);
    struct dirent *de;
    int rc = 0;

    if (!dir) {
        skyc_buf_printf(errs, "%s: %s\n", d, strerror(errno));
        return -1;
    }
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        skyc_buf path = SKYC_BUF_INIT, src = SKYC_BUF_INIT;

        if (de->d_name[0] == '.' || !has_ext(de->d_name))
            continue;
        skyc_buf_printf(&path, "%s/%s", d, de->d_name);
        rc = read_file(skyc_buf_str(&path), &src, errs);
        if (rc == 0)
            add(out, n, lang, de->d_name, skyc_buf_str(&src), src.len);
        skyc_buf_deinit(&path);
        skyc_buf_deinit(&src);
    }
    closedir(dir);
    return rc;
}

int skyc_templates_load(const char *dir, const char *lang, skyc_template **out, size_t *n, skyc_buf *errs)
{
    char *d = lang_dir(dir, lang);
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (d) {
        rc = load_dir(d, lang, out, n, errs);
        free(d);
    } else {
        for (const skyc_embedded_file *e = skyc_embedded; e->name; e++) {
            const char *file = embedded_in(e->name, lang);

            if (file)
                add(out, n, lang, file, e->data, e->len);
        }
    }
    if (rc < 0) {
        skyc_templates_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    qsort(*out, *n, sizeof **out, cmp_templates);
    return 0;
}

void skyc_templates_free(skyc_template *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].suffix);
        free(t[i].src);
    }
    free(t);
}
