/* The schema registry: what the linked and loaded .proto files define,
 * by full name (messages, enums, services) and by method id.
 *
 * One per process, like the descriptors it points at (static data of the
 * program and of its modules; modules are never unmapped, see module.c).
 * Written rarely (once per file), read by codecs and the gate: one
 * read-write lock. Its memory lives as long as the process and stays
 * reachable through `reg`, so leak checkers do not call it lost. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "sky/alloc.h"
#include "sky/typed.h"

uint32_t sky_method_id(const char *full_name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)full_name; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

/* ---- a small open-addressing map: string or id -> pointer --------------- */

typedef struct slot {
    uint32_t hash; /* sky_method_id of the key, or the id itself */
    const char *key; /* NULL for id maps; a full name otherwise */
    const void *val; /* NULL: empty */
} slot;

typedef struct map {
    slot *s;
    size_t mask, n;
} map;

static int same(const slot *e, uint32_t hash, const char *key)
{
    return e->hash == hash && (!key || strcmp(e->key, key) == 0);
}

static const void *map_get(const map *m, uint32_t hash, const char *key)
{
    if (!m->s) return NULL;
    for (size_t i = hash & m->mask; m->s[i].val; i = (i + 1) & m->mask)
        if (same(&m->s[i], hash, key)) return m->s[i].val;
    return NULL;
}

static void map_grow(map *m)
{
    size_t oldcap = m->s ? m->mask + 1 : 0, cap = oldcap ? oldcap * 2 : 64;
    slot *old = m->s;
    m->s = sky_calloc(cap, sizeof *m->s);
    m->mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].val) continue;
        size_t j = old[i].hash & m->mask;
        while (m->s[j].val) j = (j + 1) & m->mask;
        m->s[j] = old[i];
    }
    sky_free(old);
}

static void map_add(map *m, uint32_t hash, const char *key, const void *val)
{
    if (!m->s || (m->n + 1) * 4 > (m->mask + 1) * 3) map_grow(m);
    size_t i = hash & m->mask;
    while (m->s[i].val) i = (i + 1) & m->mask;
    m->s[i] = (slot){hash, key, val};
    m->n++;
}

/* Adds key -> val unless the key is there already (the first one stays:
 * the same type linked into two modules is one type). */
static void map_put(map *m, uint32_t hash, const char *key, const void *val)
{
    if (!map_get(m, hash, key)) map_add(m, hash, key, val);
}

/* ---- the registry ------------------------------------------------------- */

static struct {
    pthread_rwlock_t lock;
    map files; /* value = the file, hash = ptr_hash(file); no key */
    map file_names; /* the first file registered under each name */
    map messages, enums, services, methods;
} reg = {.lock = PTHREAD_RWLOCK_INITIALIZER};

static uint32_t ptr_hash(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    return (uint32_t)((v >> 4) ^ (v >> 32)) * 2654435761u;
}

static int file_known(const sky_file_desc *f)
{
    uint32_t h = ptr_hash(f);
    if (!reg.files.s) return 0;
    for (size_t i = h & reg.files.mask; reg.files.s[i].val; i = (i + 1) & reg.files.mask)
        if (reg.files.s[i].val == f) return 1;
    return 0;
}

/* The method registered (or about to be) under m's id: a clash if it has
 * another name. Checks the file against itself too. */
static int clashes(const sky_file_desc *f, size_t si, size_t mi)
{
    const sky_method_desc *m = &f->services[si]->methods[mi];
    const sky_method_desc *old = map_get(&reg.methods, m->id, NULL);
    if (old && strcmp(old->full_name, m->full_name) != 0) return 1;
    for (size_t i = 0; i <= si; i++) {
        const sky_service_desc *s = f->services[i];
        for (size_t j = 0; j < (i < si ? s->n_methods : mi); j++)
            if (s->methods[j].id == m->id && strcmp(s->methods[j].full_name, m->full_name) != 0) return 1;
    }
    return 0;
}

static int check_locked(const sky_file_desc *f)
{
    if ((f->n_messages && !f->messages) || (f->n_enums && !f->enums) || (f->n_services && !f->services))
        return SKY_EINVAL;
    /* protoc-c leaves the names out under optimize_for = CODE_SIZE */
    for (size_t i = 0; i < f->n_messages; i++)
        if (!f->messages[i] || !f->messages[i]->name) return SKY_EINVAL;
    for (size_t i = 0; i < f->n_enums; i++)
        if (!f->enums[i] || !f->enums[i]->name) return SKY_EINVAL;
    for (size_t i = 0; i < f->n_services; i++) {
        const sky_service_desc *s = f->services[i];
        if (!s || !s->full_name || (s->n_methods && !s->methods)) return SKY_EINVAL;
        for (size_t j = 0; j < s->n_methods; j++) {
            const sky_method_desc *m = &s->methods[j];
            if (!m->full_name || !m->input || !m->output || m->id != sky_method_id(m->full_name)) return SKY_EINVAL;
            if (clashes(f, i, j)) return SKY_EEXIST;
        }
    }
    return 0;
}

int sky_schema_register(const sky_file_desc *f)
{
    if (!f || !f->name) return SKY_EINVAL;
    pthread_rwlock_rdlock(&reg.lock);
    int known = file_known(f);
    pthread_rwlock_unlock(&reg.lock);
    if (known) return 0;

    pthread_rwlock_wrlock(&reg.lock);
    int rc = file_known(f) ? 1 : check_locked(f);
    if (rc == 0) {
        for (size_t i = 0; i < f->n_messages; i++) {
            const char *name = f->messages[i]->name; /* protobuf-c: the full name */
            map_put(&reg.messages, sky_method_id(name), name, f->messages[i]);
        }
        for (size_t i = 0; i < f->n_enums; i++) {
            const char *name = f->enums[i]->name;
            map_put(&reg.enums, sky_method_id(name), name, f->enums[i]);
        }
        for (size_t i = 0; i < f->n_services; i++) {
            const sky_service_desc *s = f->services[i];
            map_put(&reg.services, sky_method_id(s->full_name), s->full_name, s);
            for (size_t j = 0; j < s->n_methods; j++) map_put(&reg.methods, s->methods[j].id, NULL, &s->methods[j]);
        }
        map_add(&reg.files, ptr_hash(f), NULL, f);
        map_put(&reg.file_names, sky_method_id(f->name), f->name, f);
    }
    pthread_rwlock_unlock(&reg.lock);
    return rc < 0 ? rc : 0;
}

static const void *lookup(const map *m, uint32_t hash, const char *key)
{
    pthread_rwlock_rdlock(&reg.lock);
    const void *v = map_get(m, hash, key);
    pthread_rwlock_unlock(&reg.lock);
    return v;
}

const ProtobufCMessageDescriptor *sky_schema_message(const char *full_name)
{
    return full_name ? lookup(&reg.messages, sky_method_id(full_name), full_name) : NULL;
}

const ProtobufCEnumDescriptor *sky_schema_enum(const char *full_name)
{
    return full_name ? lookup(&reg.enums, sky_method_id(full_name), full_name) : NULL;
}

const sky_service_desc *sky_schema_service(const char *full_name)
{
    return full_name ? lookup(&reg.services, sky_method_id(full_name), full_name) : NULL;
}

const sky_file_desc *sky_schema_file(const char *name)
{
    return name ? lookup(&reg.file_names, sky_method_id(name), name) : NULL;
}

const sky_method_desc *sky_schema_method(uint32_t id) { return lookup(&reg.methods, id, NULL); }
