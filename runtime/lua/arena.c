/* Arenas for Lua states and their pool (see arena.h). */
#include "lua/arena.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ASan checks each block only if it comes from malloc (TSan keeps the
 * pool: its lock is what it checks). */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define POOL_OFF 1
#endif
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it: pages fault in on use */
#endif

/* Blocks mapped at once. */
#define CHUNK_BLOCKS 32

/* A block in the pool: its first bytes link it. */
typedef struct free_block {
    struct free_block *next;
} free_block;

static struct {
    pthread_mutex_t lock;
    free_block *warm; /* pages populated */
    free_block *cold; /* pages given back to the system */
    size_t nwarm;
    int off; /* -1 unknown, 0 on, 1 off */
} pool = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, -1};

/* Locked. */
static int pool_off(void)
{
#ifdef POOL_OFF
    return 1;
#else
    if (pool.off < 0) {
        const char *e = getenv("SKY_LUA_ARENA");
        pool.off = e && strcmp(e, "0") == 0;
    }
    return pool.off;
#endif
}

/* Maps a chunk, links all its blocks but the first into the warm list
 * and returns the first; NULL if the system has no memory. Locked. */
static void *map_chunk(void)
{
    size_t size = SKY_LUA_ARENA_BLOCK * CHUNK_BLOCKS;
    unsigned char *c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (c == MAP_FAILED) return NULL;
    for (size_t i = CHUNK_BLOCKS - 1; i > 0; i--) {
        free_block *b = (free_block *)(c + i * SKY_LUA_ARENA_BLOCK);
        b->next = pool.warm;
        pool.warm = b;
        pool.nwarm++;
    }
    return c;
}

void *sky__lua_arena_block_get(void)
{
    pthread_mutex_lock(&pool.lock);
    free_block *b = pool.warm;
    int cold = 0;
    if (pool_off()) {
        b = NULL;
    } else if (b) {
        pool.warm = b->next;
        pool.nwarm--;
    } else if ((b = pool.cold)) {
        pool.cold = b->next;
        cold = 1;
    } else {
        b = map_chunk();
    }
    pthread_mutex_unlock(&pool.lock);
    if (cold) /* fails on kernels before 5.14: the pages fault in as used */
        (void)madvise(b, SKY_LUA_ARENA_BLOCK, MADV_POPULATE_WRITE);
    return b;
}

void sky__lua_arena_block_put(void *block)
{
    if (!block) return;
    free_block *b = block;
    pthread_mutex_lock(&pool.lock);
    int warm = pool.nwarm < SKY_LUA_ARENA_WARM;
    pthread_mutex_unlock(&pool.lock);
    /* outside the lock: a system call */
    if (!warm) (void)madvise(b, SKY_LUA_ARENA_BLOCK, MADV_DONTNEED);
    pthread_mutex_lock(&pool.lock);
    if (warm) {
        b->next = pool.warm;
        pool.warm = b;
        pool.nwarm++;
    } else {
        b->next = pool.cold;
        pool.cold = b;
    }
    pthread_mutex_unlock(&pool.lock);
}

static size_t round_up(size_t n) { return (n + SKY_LUA_ARENA_ALIGN - 1) & ~(size_t)(SKY_LUA_ARENA_ALIGN - 1); }

void sky__lua_arena_init(sky__lua_arena *a, void *buf, size_t size)
{
    uintptr_t p = (uintptr_t)buf, aligned = round_up(p);
    a->base = buf;
    a->used = aligned - p;
    a->size = size < a->used ? a->used : size;
}

void *sky__lua_arena_alloc(sky__lua_arena *a, size_t n)
{
    size_t need = round_up(n);
    if (need < n || need > a->size - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

static int is_last(const sky__lua_arena *a, const void *p, size_t n)
{
    return (const unsigned char *)p + round_up(n) == a->base + a->used;
}

void *sky__lua_arena_resize(sky__lua_arena *a, void *p, size_t osize, size_t n)
{
    if (is_last(a, p, osize)) {
        size_t start = (size_t)((unsigned char *)p - a->base), need = round_up(n);
        if (need < n || need > a->size - start) return NULL;
        a->used = start + need;
        return p;
    }
    return n <= osize ? p : NULL;
}

void sky__lua_arena_release(sky__lua_arena *a, void *p, size_t n)
{
    if (is_last(a, p, n)) a->used = (size_t)((unsigned char *)p - a->base);
}
