/* Arenas for Lua states: a block of SKY_LUA_ARENA_BLOCK bytes per state,
 * carved from the front, never searched. A Lua state's start-up is a few
 * hundred small allocations (strings, tables, functions of the libraries)
 * that live as long as the state: from an arena they cost a pointer bump
 * each instead of a malloc, and no malloc header. Memory given back is
 * reused only if it is the last block carved (a stack); anything else stays
 * carved until the state closes.
 *
 * The blocks come from a process-wide pool of memory mapped in chunks with
 * its pages populated up front: one system call maps the pages of many
 * states, where touching fresh heap pages takes a page fault per page (on
 * a virtual machine, 10-20 us each: most of a spawn). A block given back
 * is kept for the next state; past SKY_LUA_ARENA_WARM kept blocks, their pages
 * go back to the system (and are populated again when the block is reused).
 *
 *   void *blk = sky__lua_arena_block_get();      -- NULL: no arena, use malloc
 *   sky__lua_arena a;
 *   sky__lua_arena_init(&a, blk, blk ? SKY_LUA_ARENA_BLOCK : 0);
 *   void *p = sky__lua_arena_alloc(&a, 40);     -- NULL once full: use malloc
 *   if (sky__lua_arena_owns(&a, p)) sky__lua_arena_release(&a, p, 40);
 *   sky__lua_arena_block_put(blk);
 *
 * ASan builds have no pool (sky__lua_arena_block_get returns NULL), so ASan
 * sees every allocation on its own; so does a run with the environment
 * variable SKY_LUA_ARENA=0 (for Valgrind). */
#ifndef SKY__LUA_ARENA_H
#define SKY__LUA_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Blocks are aligned as malloc's are. */
#define SKY_LUA_ARENA_ALIGN 16
/* An idle Lua service's state (its libraries, a small script) fits. */
#define SKY_LUA_ARENA_BLOCK ((size_t)12 << 10)
/* Blocks kept populated for reuse when their states have closed. */
#define SKY_LUA_ARENA_WARM 256

typedef struct sky__lua_arena {
    unsigned char *base;
    size_t used, size;
} sky__lua_arena;

/* A block of SKY_LUA_ARENA_BLOCK bytes from the pool, or NULL (no pool in
 * this build or run, or no memory). Give it back with sky__lua_arena_block_put
 * (NULL: nothing). Thread-safe. */
void *sky__lua_arena_block_get(void);
void sky__lua_arena_block_put(void *block);

/* Carves blocks from buf[0..size) (aligned to SKY_LUA_ARENA_ALIGN); the
 * caller owns buf and keeps it as long as the blocks are used. */
void sky__lua_arena_init(sky__lua_arena *a, void *buf, size_t size);

/* A block of n bytes (n > 0), or NULL if it does not fit. */
void *sky__lua_arena_alloc(sky__lua_arena *a, size_t n);

/* 1 if p is a block of the arena. */
static inline int sky__lua_arena_owns(const sky__lua_arena *a, const void *p)
{
    return (uintptr_t)p - (uintptr_t)a->base < a->size; /* no pointer arithmetic: base may be NULL */
}

/* Resizes block p (of osize bytes) to n bytes in place: always when it
 * shrinks, when it grows only if it is the last block and n fits.
 * Returns p, or NULL (p unchanged). */
void *sky__lua_arena_resize(sky__lua_arena *a, void *p, size_t osize, size_t n);

/* Gives block p (of n bytes) back: reused if it is the last block. */
void sky__lua_arena_release(sky__lua_arena *a, void *p, size_t n);

#endif
