/* Address table and name registry. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/handle.h"
#include "sky/alloc.h"
#include "sky/error.h"

typedef struct table {
    size_t mask;
    struct table *older; /* retired tables, freed with the registry */
    _Atomic(sky__service *) slot[];
} table;

typedef struct name {
    char *name;
    sky_addr_t addr;
} name;

struct sky__handles {
    _Atomic(table *) cur;
    pthread_mutex_t mu; /* writers: add, remove, names */
    uint16_t node_id;
    uint64_t next_serial;
    size_t count, max;
    name *names;
    size_t nnames, capnames;
    atomic_uint_fast64_t names_gen; /* bumped (under mu) by every change of names */
};

#define SERIAL_END (UINT64_C(1) << 47) /* above: name addresses (cluster) */

static table *table_new(size_t cap)
{
    table *t = sky_calloc(1, sizeof *t + cap * sizeof t->slot[0]);
    t->mask = cap - 1;
    return t;
}

sky__handles *sky__handles_new(uint16_t node_id, size_t max, uint64_t first_serial)
{
    sky__handles *h = sky_calloc(1, sizeof *h);
    atomic_init(&h->cur, table_new(64));
    pthread_mutex_init(&h->mu, NULL);
    h->node_id = node_id;
    h->next_serial = first_serial ? first_serial : 1;
    h->max = max;
    return h;
}

void sky__handles_free(sky__handles *h)
{
    if (!h) return;
    table *t = atomic_load(&h->cur);
    while (t) {
        table *o = t->older;
        sky_free(t);
        t = o;
    }
    for (size_t i = 0; i < h->nnames; i++) sky_free(h->names[i].name);
    sky_free(h->names);
    pthread_mutex_destroy(&h->mu);
    sky_free(h);
}

static void grow(sky__handles *h)
{
    table *old = atomic_load_explicit(&h->cur, memory_order_relaxed);
    table *t = table_new((old->mask + 1) * 2);
    for (size_t i = 0; i <= old->mask; i++) {
        sky__service *s = atomic_load_explicit(&old->slot[i], memory_order_relaxed);
        if (s) {
            sky_addr_t a = atomic_load_explicit(&s->addr, memory_order_relaxed);
            atomic_store_explicit(&t->slot[SKY_ADDR_SERIAL(a) & t->mask], s, memory_order_relaxed);
        }
    }
    t->older = old;
    atomic_store_explicit(&h->cur, t, memory_order_release);
}

int sky__handles_add(sky__handles *h, sky__service *s, sky_addr_t *out)
{
    pthread_mutex_lock(&h->mu);
    if (h->count >= h->max || h->next_serial >= SERIAL_END) {
        pthread_mutex_unlock(&h->mu);
        return SKY_ELIMIT;
    }
    table *t = atomic_load_explicit(&h->cur, memory_order_relaxed);
    if ((h->count + 1) * 4 > (t->mask + 1) * 3) {
        grow(h);
        t = atomic_load_explicit(&h->cur, memory_order_relaxed);
    }
    /* skip serials whose slot is taken: they are simply never used */
    uint64_t serial = h->next_serial;
    while (atomic_load_explicit(&t->slot[serial & t->mask], memory_order_relaxed)) serial++;
    h->next_serial = serial + 1;
    sky_addr_t a = SKY_ADDR(h->node_id, serial);
    atomic_store_explicit(&s->addr, a, memory_order_relaxed);
    atomic_store_explicit(&t->slot[serial & t->mask], s, memory_order_release);
    h->count++;
    pthread_mutex_unlock(&h->mu);
    *out = a;
    return 0;
}

sky__service *sky__handles_get(sky__handles *h, sky_addr_t a)
{
    if (SKY_ADDR_NODE(a) != h->node_id || a == SKY_ADDR_NONE) return NULL;
    table *t = atomic_load_explicit(&h->cur, memory_order_acquire);
    sky__service *s = atomic_load_explicit(&t->slot[SKY_ADDR_SERIAL(a) & t->mask], memory_order_acquire);
    return s && sky__service_tryref(s, a) ? s : NULL;
}

static void drop_names(sky__handles *h, sky_addr_t a)
{
    size_t j = 0;
    for (size_t i = 0; i < h->nnames; i++) {
        if (h->names[i].addr == a) {
            sky_free(h->names[i].name);
        } else {
            h->names[j++] = h->names[i];
        }
    }
    if (j != h->nnames) atomic_fetch_add_explicit(&h->names_gen, 1, memory_order_release);
    h->nnames = j;
}

static sky__service *remove_locked(sky__handles *h, sky_addr_t a)
{
    table *t = atomic_load_explicit(&h->cur, memory_order_relaxed);
    _Atomic(sky__service *) *slot = &t->slot[SKY_ADDR_SERIAL(a) & t->mask];
    sky__service *s = atomic_load_explicit(slot, memory_order_relaxed);
    if (!s || atomic_load_explicit(&s->addr, memory_order_relaxed) != a) return NULL;
    atomic_store_explicit(slot, NULL, memory_order_release);
    h->count--;
    if (s->named) drop_names(h, a);
    return s;
}

sky__service *sky__handles_remove(sky__handles *h, sky_addr_t a)
{
    pthread_mutex_lock(&h->mu);
    sky__service *s = remove_locked(h, a);
    pthread_mutex_unlock(&h->mu);
    return s;
}

static int newest_first(const void *a, const void *b)
{
    sky_addr_t x = atomic_load_explicit(&(*(sky__service *const *)a)->addr, memory_order_relaxed);
    sky_addr_t y = atomic_load_explicit(&(*(sky__service *const *)b)->addr, memory_order_relaxed);
    return x < y ? 1 : x > y ? -1 : 0;
}

sky__service **sky__handles_take_all(sky__handles *h, size_t *n)
{
    pthread_mutex_lock(&h->mu);
    table *t = atomic_load_explicit(&h->cur, memory_order_relaxed);
    sky__service **all = sky_malloc((h->count ? h->count : 1) * sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i <= t->mask; i++) {
        sky__service *s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (s) {
            all[k++] = s;
            atomic_store_explicit(&t->slot[i], NULL, memory_order_release);
        }
    }
    h->count = 0;
    for (size_t i = 0; i < h->nnames; i++) sky_free(h->names[i].name);
    h->nnames = 0;
    atomic_fetch_add_explicit(&h->names_gen, 1, memory_order_release);
    pthread_mutex_unlock(&h->mu);
    qsort(all, k, sizeof *all, newest_first);
    *n = k;
    return all;
}

int sky__handles_register(sky__handles *h, const char *nm, sky_addr_t a)
{
    size_t len = nm ? strlen(nm) : 0;
    if (len == 0 || len > 63 || strchr(nm, '@')) return SKY_EINVAL; /* '@': "name@node" */
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->nnames; i++) {
        if (strcmp(h->names[i].name, nm) == 0) {
            pthread_mutex_unlock(&h->mu);
            return SKY_EEXIST;
        }
    }
    if (h->nnames == h->capnames) {
        h->capnames = h->capnames ? h->capnames * 2 : 16;
        h->names = sky_realloc(h->names, h->capnames * sizeof *h->names);
    }
    h->names[h->nnames++] = (name){sky_strdup(nm), a};
    atomic_fetch_add_explicit(&h->names_gen, 1, memory_order_release);
    pthread_mutex_unlock(&h->mu);
    return 0;
}

uint64_t sky__handles_names_gen(sky__handles *h)
{
    return atomic_load_explicit(&h->names_gen, memory_order_acquire);
}

sky_addr_t sky__handles_whereis(sky__handles *h, const char *nm)
{
    sky_addr_t a = SKY_ADDR_NONE;
    if (!nm) return a;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->nnames; i++) {
        if (strcmp(h->names[i].name, nm) == 0) {
            a = h->names[i].addr;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return a;
}

size_t sky__handles_count(sky__handles *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->count;
    pthread_mutex_unlock(&h->mu);
    return n;
}
