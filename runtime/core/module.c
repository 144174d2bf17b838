/* The module registry. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "core/module.h"
#include "sky/alloc.h"
#include "sky/error.h"

#define NAME_MAX_LEN 63

typedef struct entry {
    const sky_module *mod;
    void *dl; /* NULL for registered modules */
} entry;

struct sky__modules {
    pthread_mutex_t mu;
    char *path;
    entry *e;
    size_t n, cap;
};

sky__modules *sky__modules_new(const char *path)
{
    sky__modules *m = sky_calloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->path = sky_strdup(path ? path : "");
    return m;
}

void sky__modules_free(sky__modules *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].dl) dlclose(m->e[i].dl);
    sky_free(m->e);
    sky_free(m->path);
    pthread_mutex_destroy(&m->mu);
    sky_free(m);
}

/* Module names become file and symbol names: letters, digits, '_' only. */
static int valid_name(const char *name)
{
    size_t n = 0;
    if (!name) return 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return n > 0 && n <= NAME_MAX_LEN;
}

/* A module needs a handle, or an init that can sky_serve() typed methods. */
static int usable(const sky_module *mod) { return mod->handle || mod->init; }

static const sky_module *find_locked(sky__modules *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].mod->name, name) == 0) return m->e[i].mod;
    return NULL;
}

static void add_locked(sky__modules *m, const sky_module *mod, void *dl)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->e = sky_realloc(m->e, m->cap * sizeof *m->e);
    }
    m->e[m->n++] = (entry){mod, dl};
}

int sky__modules_add(sky__modules *m, const sky_module *mod)
{
    /* a name that sky__modules_get would refuse could never be spawned */
    if (!mod || !usable(mod) || !valid_name(mod->name)) return SKY_EINVAL;
    pthread_mutex_lock(&m->mu);
    int rc = find_locked(m, mod->name) ? SKY_EEXIST : 0;
    if (rc == 0) add_locked(m, mod, NULL);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* Appends to err as far as it has room. */
static void note(char *err, size_t size, size_t *used, const char *fmt, const char *a, const char *b)
{
    if (!err || *used >= size) return;
    int n = snprintf(err + *used, size - *used, fmt, a, b);
    if (n > 0) *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

/* Tries every pattern of the path; the first file that exists decides. */
static const sky_module *load_locked(sky__modules *m, const char *name, char *err, size_t errsize)
{
    size_t used = 0;
    char file[4096], sym[NAME_MAX_LEN + 16];
    snprintf(sym, sizeof sym, "sky_module_%s", name);
    note(err, errsize, &used, "module '%s' not found; searched:%s", name, "");
    for (const char *p = m->path; *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t k = 0;
        for (size_t i = 0; i < len && k + NAME_MAX_LEN + 1 < sizeof file; i++) {
            if (p[i] == '?') {
                k += (size_t)snprintf(file + k, sizeof file - k, "%s", name);
            } else {
                file[k++] = p[i];
            }
        }
        file[k] = 0;
        p += len + (end ? 1 : 0);
        if (k == 0) continue;
        /* never unmapped: the schema registry (process-wide) may point
         * at descriptors the module registered */
        void *dl = dlopen(file, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl) {
            const char *why = dlerror();
            note(err, errsize, &used, "\n  %s (%s)", file,
                 why && !strstr(why, "No such file") ? why : "no such file");
            continue;
        }
        const sky_module *mod = dlsym(dl, sym);
        if (!mod || !usable(mod) || !mod->name || strcmp(mod->name, name) != 0) {
            note(err, errsize, &used, "\n  %s (no valid symbol %s)", file, sym);
            dlclose(dl);
            continue;
        }
        add_locked(m, mod, dl);
        return mod;
    }
    if (!*m->path) note(err, errsize, &used, " (the module path is empty)%s%s", "", "");
    return NULL;
}

const sky_module *sky__modules_get(sky__modules *m, const char *name, char *err, size_t errsize)
{
    if (!valid_name(name)) {
        if (err) snprintf(err, errsize, "bad module name '%s': use letters, digits and '_'", name ? name : "(null)");
        return NULL;
    }
    pthread_mutex_lock(&m->mu);
    const sky_module *mod = find_locked(m, name);
    if (!mod) mod = load_locked(m, name, err, errsize);
    pthread_mutex_unlock(&m->mu);
    return mod;
}
