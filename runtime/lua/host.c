/* The Lua service host (see host.h): the state, its limits, the service
 * file, coroutines (fibers) and the dispatch of mail to Lua.
 *
 * Every touch of the Lua state from C runs inside lua_pcall: with a memory
 * limit any allocation may fail, and an unprotected failure would abort
 * the whole node. */
#include "lua/host.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "core/node.h"
#include "core/service.h"
#include "lua/arena.h"
#include "lua/args.h"
#include "lua/coro.h"
#include "lua/libs.h"
#include "lua/skylib.h"
#include "sky/alloc.h"
#include "sky/typed.h"

/* Longest service file read. */
#define FILE_MAX ((size_t)16 << 20)
/* Idle coroutines kept for reuse. */
#define POOL_MAX 16
#define NAME_MAX_ 128
/* Instructions between two calls of the budget hook: the budget is
 * counted in steps of this many (or of the budget, if smaller). */
#define BUDGET_STEP 1000
/* Methods remembered per state (a power of two). */
#define METHOD_CACHE 16

typedef struct lhost lhost;

/* A coroutine that runs messages; a userdata owned by the registry (ref),
 * its thread in its user value. Its address is in the thread's extra
 * space, so a yielding C function finds it. */
typedef struct fiber {
    lua_State *co;
    int ref;
    int has_tok;      /* answers a request when done */
    sky_token tok;
    uint32_t type_id; /* of the request */
    const void *method; /* a typed request's method (skylib) */
    int64_t used;       /* instructions run for the current job */
    int start;          /* the job is the service's sky.start function */
} fiber;

struct lhost {
    lua_State *L;
    sky_ctx *ctx;
    size_t mem, mem_limit;
    int64_t budget;    /* instructions per job */
    int step;          /* the budget hook's count */
    int64_t init_used; /* instructions run outside fibers (the load) */
    fiber *running;    /* the fiber resumed now, NULL outside fibers */
    int waits_ref; /* session -> fiber (waiting) or function (a timeout) */
    uint32_t session;
    uint32_t start_session; /* the wait that runs sky.start (0: none, or begun) */
    int starting;           /* the next job is sky.start's */
    fiber *pool[POOL_MAX];
    int npool;
    char name[NAME_MAX_];
    struct {
        uint32_t id;
        const sky_method_desc *desc;
    } methods[METHOD_CACHE]; /* sky__lua_method's */
    void *block;             /* the arena's memory (arena.h), or NULL */
    sky__lua_arena arena; /* allocations of the state, while it has room */
};

/* The last init failure on this thread, for sky.spawn's error message:
 * init runs on the spawner's thread, right inside sky_spawn(). */
static _Thread_local char last_error[512];

static char done_key; /* yielded by the coroutine body when its job is done */
static char wait_key; /* yielded by a sky wait (sky__lua_yield) */

/* The owner of a user coroutine that waits in a sky call: the resumes on
 * the way down to it are the host's, not the script's. */
static fiber waiting_mark;

static lhost *host_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static fiber *fiber_of(lua_State *co) { return *(fiber **)lua_getextraspace(co); }

sky_ctx *sky__lua_ctx(lua_State *L)
{
    lhost *h = host_of(L);
    if (!h->ctx) sky__lua_raise(L, SKY_EEXIT, "the service has exited");
    return h->ctx;
}

/* ---- limits ------------------------------------------------------------ */

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lhost *h = ud;
    if (!ptr) osize = 0;
    if (nsize == 0) {
        if (sky__lua_arena_owns(&h->arena, ptr)) sky__lua_arena_release(&h->arena, ptr, osize);
        else free(ptr);
        h->mem -= osize;
        return NULL;
    }
    if (nsize > osize && h->mem + (nsize - osize) > h->mem_limit) return NULL;
    void *p;
    if (!ptr) {
        p = sky__lua_arena_alloc(&h->arena, nsize);
        if (!p) p = malloc(nsize);
    } else if (sky__lua_arena_owns(&h->arena, ptr)) {
        p = sky__lua_arena_resize(&h->arena, ptr, osize, nsize);
        if (!p) { /* moves out: to a new block of the arena, or the heap */
            p = sky__lua_arena_alloc(&h->arena, nsize);
            if (!p) p = malloc(nsize);
            if (p) {
                memcpy(p, ptr, osize < nsize ? osize : nsize);
                sky__lua_arena_release(&h->arena, ptr, osize);
            }
        }
    } else {
        p = realloc(ptr, nsize);
    }
    if (!p) return NULL;
    h->mem = h->mem - osize + nsize;
    return p;
}

/* Charges the instructions since its last call to the job that runs: the
 * running fiber's (across all its resumes and the user coroutines it
 * resumes), or the load's. Past the budget it raises ELIMIT, and once a
 * kill is queued for the service (an endless loop being killed) EEXIT;
 * then it fires at every instruction, so a pcall in the script cannot
 * swallow the error and go on. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lhost *h = host_of(L);
    int64_t *used = h->running ? &h->running->used : &h->init_used;
    *used += lua_gethookcount(L);
    int killed = h->ctx && sky__service_killing(sky__svc(h->ctx));
    if (*used <= h->budget && !killed) return;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    if (killed) sky__lua_raise(L, SKY_EEXIT, "killed while handling a message");
    sky__lua_raise(L, SKY_ELIMIT, "instruction budget exceeded (%lld instructions per message)", (long long)h->budget);
}

/* ---- the service file -------------------------------------------------- */

static int valid_name(const char *name, const char **why)
{
    size_t n = strlen(name);
    if (n == 0) return *why = "empty", 0;
    if (n >= NAME_MAX_) return *why = "too long", 0;
    if (strstr(name, "..")) return *why = "contains '..'", 0;
    if (strchr(name, '/')) return *why = "contains '/'", 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
            return *why = "not made of [A-Za-z0-9_.]", 0;
    return 1;
}

/* The whole file in one buffer sized by fstat (no stdio: a spawn reads
 * one every time); NULL if it cannot be read or is FILE_MAX or more. */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size >= FILE_MAX) {
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, n = 0;
    char *buf = sky_malloc(size + 1);
    while (n <= size) { /* one byte more: a file whose size changed is refused */
        ssize_t r = read(fd, buf + n, size + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (n != size) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Finds `name` through the ';'-separated patterns of `path` ('?' = name,
 * dots in the name as given). Returns the file's text (the caller frees
 * it) and its path in found, or NULL with the paths tried in tried. */
static char *find_file(const char *path, const char *name, size_t *len, char *found, size_t fsize, char *tried,
                       size_t tsize)
{
    tried[0] = '\0';
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        char file[1024];
        size_t o = 0;
        for (size_t i = 0; i < plen && o + 1 < sizeof file; i++) {
            if (p[i] == '?') {
                size_t nl = strlen(name);
                if (o + nl + 1 >= sizeof file) break;
                memcpy(file + o, name, nl);
                o += nl;
            } else {
                file[o++] = p[i];
            }
        }
        file[o] = '\0';
        if (o) {
            char *text = read_file(file, len);
            if (text) {
                snprintf(found, fsize, "%s", file);
                return text;
            }
            size_t t = strlen(tried);
            snprintf(tried + t, tsize - t, "%s%s", t ? "; " : "", file);
        }
        p += plen;
        if (*p == ';') p++;
    }
    return NULL;
}

int sky__lua_search_module(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    char file[NAME_MAX_], found[1024], tried[2048];
    const char *why;
    if (!valid_name(name, &why)) {
        lua_pushfstring(L, "\n\tbad module name '%s': %s", name, why);
        return 1;
    }
    snprintf(file, sizeof file, "%s", name);
    for (char *c = file; *c; c++)
        if (*c == '.') *c = '/';
    size_t len;
    char *text = find_file(sky__node_config(sky_ctx_node(sky__lua_ctx(L)))->service_path, file, &len, found,
                           sizeof found, tried, sizeof tried);
    if (!text) {
        lua_pushfstring(L, "\n\tno file in the service path (tried %s)", tried);
        return 1;
    }
    char chunk[1100];
    snprintf(chunk, sizeof chunk, "@%s", found);
    int st = luaL_loadbufferx(L, text, len, chunk, "t");
    free(text);
    if (st != LUA_OK) return lua_error(L);
    lua_pushstring(L, found);
    return 2;
}

/* ---- fibers ------------------------------------------------------------ */

/* The coroutine body, a C function (nothing to compile at spawn, and no
 * vararg Lua frame per job): calls the job's function with its arguments
 * (the whole stack), yields done_key and the job's results, and is resumed
 * with the next job's function and arguments. lua_callk lets the job
 * yield for its sky waits. */
static int body_run(lua_State *co, int status, lua_KContext kctx);

static int body_done(lua_State *co, int status, lua_KContext kctx)
{
    (void)status;
    (void)kctx;
    int n = lua_gettop(co);
    luaL_checkstack(co, 1, "too many results");
    lua_pushlightuserdata(co, &done_key);
    lua_insert(co, 1);
    return lua_yieldk(co, n + 1, 0, body_run);
}

static int body_run(lua_State *co, int status, lua_KContext kctx)
{
    (void)status;
    lua_callk(co, lua_gettop(co) - 1, LUA_MULTRET, kctx, body_done);
    return body_done(co, LUA_OK, kctx);
}

static int fiber_body(lua_State *co) { return body_run(co, LUA_OK, 0); }

static fiber *fiber_get(lhost *h)
{
    lua_State *L = h->L;
    if (h->npool) return h->pool[--h->npool];
    fiber *f = lua_newuserdatauv(L, sizeof *f, 1);
    memset(f, 0, sizeof *f);
    f->co = lua_newthread(L);
    lua_setiuservalue(L, -2, 1);
    f->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    *(fiber **)lua_getextraspace(f->co) = f;
    lua_pushcfunction(f->co, fiber_body);
    return f;
}

static void fiber_drop(lhost *h, fiber *f)
{
    luaL_unref(h->L, LUA_REGISTRYINDEX, f->ref);
}

static void fiber_put(lhost *h, fiber *f)
{
    f->has_tok = 0;
    f->method = NULL;
    if (h->npool < POOL_MAX) h->pool[h->npool++] = f;
    else fiber_drop(h, f);
}

/* 1 if the error value at idx is a handler's answer: a table the script
 * made itself, error({ code = "ENOENT", message = ... }), as opposed to a
 * string (a bug) or an error object a sky function raised (a failure the
 * handler did not catch). Such answers are not logged as errors. */
static int is_answer(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    if (!lua_getmetatable(L, idx)) return 1;
    lua_pop(L, 1);
    return 0;
}

static void fiber_fail(lhost *h, fiber *f, int st)
{
    char msg[512];
    int code = SKY_ENOMEM;
    lua_xmove(f->co, h->L, 1);
    int answer = f->has_tok && st != LUA_ERRMEM && is_answer(h->L, -1);
    if (st == LUA_ERRMEM) {
        snprintf(msg, sizeof msg, "not enough memory (limit %zu bytes)", h->mem_limit);
        if (f->has_tok) (void)sky_respond_error(h->ctx, f->tok, code, msg);
    } else if (f->has_tok) {
        code = sky__lua_respond_error(h->L, -1, h->ctx, f->tok, msg, sizeof msg);
    } else {
        code = sky__lua_errcode(h->L, -1, msg, sizeof msg);
    }
    lua_pop(h->L, 1);
    f->has_tok = 0;
    if (answer) {
        sky_log(h->ctx, SKY_LOG_DEBUG, "lua %s: answered %s: %s", h->name, sky_errname(code), msg);
    } else if (st == LUA_ERRMEM) {
        sky_log(h->ctx, SKY_LOG_ERROR, "lua %s: %s", h->name, msg);
    } else {
        luaL_traceback(h->L, f->co, msg, 0);
        sky_log(h->ctx, SKY_LOG_ERROR, "lua %s: %s", h->name, lua_tostring(h->L, -1));
        lua_pop(h->L, 1);
    }
    /* a service that could not start fails, unless it is on its way out */
    if (f->start && !sky__svc(h->ctx)->exiting && !sky__service_killing(sky__svc(h->ctx))) {
        char text[700];
        snprintf(text, sizeof text, "Lua service %s: sky.start failed: %s", h->name, msg);
        sky_exit_with(h->ctx, SKY_REASON_ERROR, text);
    }
    fiber_drop(h, f);
    if (st == LUA_ERRMEM) lua_gc(h->L, LUA_GCCOLLECT);
}

static void resume_fiber(lua_State *L, lua_State *co, int nargs)
{
    lhost *h = host_of(L);
    fiber *f = fiber_of(co);
    fiber *outer = h->running;
    int nres;
    h->running = f;
    int st = lua_resume(co, L, nargs, &nres);
    h->running = outer;
    if (st != LUA_YIELD) {
        if (st == LUA_OK) lua_pushliteral(co, "the coroutine body returned");
        fiber_fail(h, f, st == LUA_OK ? LUA_ERRRUN : st);
        return;
    }
    int base = lua_gettop(co) - nres + 1;
    if (nres < 1 || lua_touserdata(co, base) != &done_key) {
        if (sky__lua_waited(co, nres)) return; /* a timer or a reply resumes it */
        lua_pop(co, nres); /* coroutine.yield refuses this: a bug in the host */
        lua_pushliteral(co, "a service fiber yielded outside a sky wait");
        fiber_fail(h, f, LUA_ERRRUN);
        return;
    }
    if (f->has_tok) {
        f->has_tok = 0;
        luaL_checkstack(L, nres, "too many results");
        lua_xmove(co, L, nres - 1);
        int rc = sky__lua_answer(L, h->ctx, f->tok, f->type_id, f->method, nres - 1);
        if (rc < 0) {
            char msg[512];
            (void)sky__lua_respond_error(L, -1, h->ctx, f->tok, msg, sizeof msg);
            sky_log(h->ctx, SKY_LOG_ERROR, "lua %s: bad answer: %s", h->name, msg);
            lua_pop(L, 1);
        }
    }
    lua_settop(co, base - 1);
    fiber_put(h, f);
}

void sky__lua_run(lua_State *L, int nargs, const sky_msg *req, const void *method)
{
    lhost *h = host_of(L);
    fiber *f = fiber_get(h);
    if (!lua_checkstack(f->co, nargs + 2)) {
        fiber_put(h, f);
        luaL_error(L, "stack overflow");
    }
    /* deferred last: nothing above can leave the request unanswered */
    if (req && req->kind == SKY_REQUEST) {
        f->has_tok = 1;
        f->tok = sky_defer(h->ctx, req);
        f->type_id = req->type_id;
    }
    f->method = method;
    f->used = 0;
    f->start = h->starting;
    h->starting = 0;
    lua_sethook(f->co, budget_hook, LUA_MASKCOUNT, h->step);
    lua_xmove(L, f->co, nargs + 1);
    resume_fiber(L, f->co, nargs + 1);
}

int sky__lua_take_request(lua_State *L, sky_token *tok, uint32_t *type_id, const void **method)
{
    fiber *f = fiber_of(L);
    if (!f || f->co != L || !f->has_tok) return 0;
    f->has_tok = 0;
    *tok = f->tok;
    *type_id = f->type_id;
    *method = f->method;
    return 1;
}

sky_ctx *sky__lua_ctx_if_alive(lua_State *L) { return host_of(L)->ctx; }

int sky__lua_yieldable(lua_State *L)
{
    fiber *f = fiber_of(L);
    return f && f != &waiting_mark && lua_isyieldable(L);
}

int sky__lua_yield(lua_State *L, lua_KContext kctx, lua_KFunction k)
{
    lua_pushlightuserdata(L, &wait_key);
    return lua_yieldk(L, 1, kctx, k);
}

int sky__lua_waited(lua_State *co, int nres)
{
    if (nres != 1 || lua_touserdata(co, -1) != &wait_key) return 0;
    lua_pop(co, 1);
    return 1;
}

int sky__lua_is_fiber(lua_State *L)
{
    fiber *f = fiber_of(L);
    return f && f->co == L;
}

/* A coroutine resumed from a thread that may wait (yieldable, run for a
 * fiber) waits for that fiber too; from anywhere else it may not wait. A
 * coroutine made where no hook was set gets one, so the budget counts it. */
void sky__lua_adopt(lua_State *L, lua_State *co)
{
    lhost *h = host_of(L);
    *(fiber **)lua_getextraspace(co) = sky__lua_yieldable(L) ? fiber_of(L) : NULL;
    if (lua_gethook(co) != budget_hook) lua_sethook(co, budget_hook, LUA_MASKCOUNT, h->step);
}

void sky__lua_mark_waiting(lua_State *co) { *(fiber **)lua_getextraspace(co) = &waiting_mark; }

int sky__lua_is_waiting(lua_State *co) { return fiber_of(co) == &waiting_mark; }

uint32_t sky__lua_wait(lua_State *L, int fn)
{
    lhost *h = host_of(L);
    if (++h->session == 0) h->session = 1;
    fn = fn ? lua_absindex(L, fn) : 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->waits_ref);
    if (fn) lua_pushvalue(L, fn);
    else lua_rawgeti(L, LUA_REGISTRYINDEX, fiber_of(L)->ref);
    lua_rawseti(L, -2, h->session);
    lua_pop(L, 1);
    return h->session;
}

void sky__lua_unwait(lua_State *L, uint32_t session)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, host_of(L)->waits_ref);
    lua_pushnil(L);
    lua_rawseti(L, -2, session);
    lua_pop(L, 1);
}

/* Pushes what waits on `session` and forgets it: the fiber's thread, a
 * function, or nil. */
static int take_wait(lhost *h, uint32_t session)
{
    lua_State *L = h->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->waits_ref);
    int t = lua_rawgeti(L, -1, session);
    lua_pushnil(L);
    lua_rawseti(L, -3, session);
    lua_remove(L, -2);
    if (t == LUA_TUSERDATA) {
        fiber *f = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (!lua_checkstack(f->co, 1)) luaL_error(L, "stack overflow");
        lua_pushthread(f->co);
        lua_xmove(f->co, L, 1);
        return LUA_TTHREAD;
    }
    return t;
}

void sky__lua_wake(lua_State *L, uint32_t session, int nargs)
{
    lhost *h = host_of(L);
    int t = take_wait(h, session);
    lua_insert(L, -nargs - 1);
    if (t == LUA_TTHREAD) {
        lua_State *co = lua_tothread(L, -nargs - 1);
        if (!lua_checkstack(co, nargs)) luaL_error(L, "stack overflow");
        lua_xmove(L, co, nargs);
        lua_pop(L, 1);
        resume_fiber(L, co, nargs);
    } else if (t == LUA_TFUNCTION) {
        h->starting = session == h->start_session;
        if (h->starting) h->start_session = 0;
        sky__lua_run(L, nargs, NULL, NULL);
    } else {
        lua_pop(L, nargs + 1); /* gone: the service is exiting */
    }
}

/* ---- spawn options ----------------------------------------------------- */

void sky__lua_spawn_opts(lua_State *L, const char *fn, int idx, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    static const char *const keys[] = {"mem_limit", "budget", NULL};
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (strcmp(k, "name") != 0 && strcmp(k, "mem_limit") != 0 && strcmp(k, "budget") != 0)
            sky__lua_argerror(L, fn, idx, "name", "unknown option '%s' (name, mem_limit, budget)",
                              luaL_tolstring(L, -1, NULL));
    }
    for (int i = 0; keys[i]; i++) {
        int t = lua_getfield(L, idx, keys[i]);
        if (t != LUA_TNIL) {
            if (!lua_isinteger(L, -1))
                sky__lua_argerror(L, fn, idx, "name", "option %s must be an integer, not a %s", keys[i],
                                  luaL_typename(L, -1));
            int w = snprintf(out + o, size - o, "%s=%lld ", keys[i], (long long)lua_tointeger(L, -1));
            if (w > 0 && (size_t)w < size - o) o += (size_t)w;
        }
        lua_pop(L, 1);
    }
    if (lua_getfield(L, idx, "name") != LUA_TSTRING)
        sky__lua_argerror(L, fn, idx, "name", "the options need a name (a string)");
    lua_replace(L, idx);
}

/* ---- the module ------------------------------------------------------- */

static void *host_create(void)
{
    lhost *h = sky_calloc(1, sizeof *h);
    h->waits_ref = LUA_NOREF;
    return h;
}

typedef struct init_args {
    const char *text;
    size_t len;
    const char *chunkname;
    const char *args; /* after the name */
    int rc;
    char err[256];
} init_args;

static int init_protected(lua_State *L)
{
    init_args *a = lua_touserdata(L, 1);
    lhost *h = host_of(L);
    lua_gc(L, LUA_GCSTOP);
    sky__lua_openlibs(L);
    sky__lua_openlib(L); /* the global sky, and require "sky" */
    lua_pushvalue(L, -1);
    lua_setglobal(L, "sky");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_insert(L, -2);
    lua_setfield(L, -2, "sky");
    lua_pop(L, 1);
    lua_newtable(L);
    h->waits_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    if (a->len && a->text[0] == LUA_SIGNATURE[0]) {
        a->rc = SKY_EINVAL;
        snprintf(a->err, sizeof a->err, "%s is a bytecode chunk: only source text is loaded", a->chunkname + 1);
        return 0;
    }
    if (luaL_loadbufferx(L, a->text, a->len, a->chunkname, "t") != LUA_OK) {
        a->rc = SKY_EINVAL;
        snprintf(a->err, sizeof a->err, "%s", lua_tostring(L, -1));
        return 0;
    }
    int n = 0;
    for (const char *p = a->args; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (p > s) {
            luaL_checkstack(L, 1, "too many arguments");
            lua_pushlstring(L, s, (size_t)(p - s));
            n++;
        }
    }
    lua_gc(L, LUA_GCRESTART);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, h->step);
    int st = lua_pcall(L, n, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    if (st != LUA_OK) {
        a->rc = st == LUA_ERRMEM ? SKY_ENOMEM : sky__lua_errcode(L, -1, a->err, sizeof a->err);
        if (st == LUA_ERRMEM) snprintf(a->err, sizeof a->err, "not enough memory");
        return 0;
    }
    uint32_t before = h->session;
    a->rc = sky__lua_started(L);
    if (h->session != before) h->start_session = h->session; /* its sky__lua_wait */
    if (a->rc < 0) snprintf(a->err, sizeof a->err, "cannot start: %s", sky_strerror(a->rc));
    return 0;
}

/* A decimal number in [min, max], the whole of s[0..n). */
static int parse_count(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < min || v > max) return 0;
    *out = v;
    return 1;
}

/* The leading KEY=VALUE words of the spawn args (a service name has no
 * '='): limits of this service instead of the node's. Advances *args past
 * them; on a bad one, sets last_error and returns SKY_EINVAL. */
static int parse_options(lhost *h, const char **args)
{
    for (;;) {
        const char *p = *args;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, " \t");
        const char *eq = memchr(p, '=', n);
        if (!eq) {
            *args = p;
            return 0;
        }
        size_t kl = (size_t)(eq - p), vl = n - kl - 1;
        uint64_t v;
        if (kl == 9 && memcmp(p, "mem_limit", 9) == 0) {
            if (!parse_count(eq + 1, vl, SKY_LUA_MEM_MIN, SIZE_MAX, &v)) goto bad_value;
            h->mem_limit = (size_t)v;
        } else if (kl == 6 && memcmp(p, "budget", 6) == 0) {
            if (!parse_count(eq + 1, vl, 1, INT64_MAX, &v)) goto bad_value;
            h->budget = (int64_t)v;
        } else {
            snprintf(last_error, sizeof last_error, "unknown spawn option \"%.*s\" (mem_limit=BYTES, budget=COUNT)",
                     (int)(kl > 64 ? 64 : kl), p);
            return SKY_EINVAL;
        }
        *args = p + n;
        continue;
    bad_value:
        snprintf(last_error, sizeof last_error, "spawn option %.*s: \"%.*s\" is not an integer %s", (int)kl, p,
                 (int)(vl > 64 ? 64 : vl), eq + 1, kl == 6 ? ">= 1" : ">= 65536 (bytes)");
        return SKY_EINVAL;
    }
}

static int host_start(void *st, sky_ctx *ctx, const char *args)
{
    lhost *h = st;
    const sky_config *cfg = sky__node_config(sky_ctx_node(ctx));
    h->ctx = ctx;
    h->mem_limit = cfg->lua_mem_limit;
    h->budget = cfg->lua_budget;
    last_error[0] = '\0';
    int orc = parse_options(h, &args);
    if (orc < 0) {
        sky_log(ctx, SKY_LOG_ERROR, "lua: %s", last_error);
        return orc;
    }
    h->step = h->budget < BUDGET_STEP ? (int)h->budget : BUDGET_STEP;
    size_t nl = strcspn(args, " \t");
    const char *why = NULL;
    if (nl >= sizeof h->name) why = "too long";
    else {
        memcpy(h->name, args, nl);
        h->name[nl] = '\0';
        valid_name(h->name, &why);
        sky__service_tag(ctx, h->name); /* "lua NAME" in the loop monitor's reports */
    }
    if (why) {
        snprintf(last_error, sizeof last_error, "bad Lua service name \"%.*s\": %s", (int)(nl > 64 ? 64 : nl),
                 args, why);
        sky_log(ctx, SKY_LOG_ERROR, "lua: %s", last_error);
        return SKY_EINVAL;
    }
    char found[1024], tried[2048];
    size_t len = 0;
    char *text = find_file(cfg->service_path, h->name, &len, found,
                           sizeof found, tried, sizeof tried);
    if (!text) {
        snprintf(last_error, sizeof last_error, "Lua service %s not found (tried %.300s)", h->name,
                 tried[0] ? tried : "nothing: service_path is empty");
        sky_log(ctx, SKY_LOG_ERROR, "lua: %s", last_error);
        return SKY_ENOENT;
    }
    h->block = sky__lua_arena_block_get();
    sky__lua_arena_init(&h->arena, h->block, h->block ? SKY_LUA_ARENA_BLOCK : 0);
    h->L = lua_newstate(limited_alloc, h);
    if (!h->L) {
        free(text);
        return SKY_ENOMEM;
    }
    *(fiber **)lua_getextraspace(h->L) = NULL; /* new threads copy it */
    char chunk[1100];
    snprintf(chunk, sizeof chunk, "@%s", found);
    init_args a = {text, len, chunk, args + nl, 0, ""};
    lua_pushcfunction(h->L, init_protected);
    lua_pushlightuserdata(h->L, &a);
    int rc = lua_pcall(h->L, 1, 0, 0);
    free(text);
    if (rc != LUA_OK) {
        a.rc = rc == LUA_ERRMEM ? SKY_ENOMEM : sky__lua_errcode(h->L, -1, a.err, sizeof a.err);
        lua_pop(h->L, 1);
    }
    if (a.rc != 0) {
        snprintf(last_error, sizeof last_error, "Lua service %s: %s", h->name, a.err[0] ? a.err : sky_strerror(a.rc));
        sky_log(ctx, SKY_LOG_ERROR, "lua: %s", last_error);
        return a.rc;
    }
    return 0;
}

/* The reason a spawn failed is the service's exit text: sky_node_spawn
 * (the launcher) reports it. */
static int host_init(void *st, sky_ctx *ctx, const char *args)
{
    int rc = host_start(st, ctx, args);
    if (rc != 0 && last_error[0]) sky_exit_with(ctx, SKY_REASON_ERROR, last_error);
    return rc;
}

static int handle_protected(lua_State *L)
{
    const sky_msg *m = lua_touserdata(L, 1);
    lua_settop(L, 0);
    sky__lua_dispatch(L, m);
    return 0;
}

/* Runs fn(ud) on the main thread, protected; logs a failure. */
static int protected_call(lhost *h, lua_CFunction fn, void *ud)
{
    lua_pushcfunction(h->L, fn);
    lua_pushlightuserdata(h->L, ud);
    int st = lua_pcall(h->L, 1, 0, 0);
    if (st == LUA_OK) return 0;
    char msg[512];
    int code = st == LUA_ERRMEM ? SKY_ENOMEM : sky__lua_errcode(h->L, -1, msg, sizeof msg);
    if (st == LUA_ERRMEM) snprintf(msg, sizeof msg, "not enough memory");
    lua_pop(h->L, 1);
    sky_log(h->ctx, SKY_LOG_ERROR, "lua %s: %s", h->name, msg);
    return code;
}

static int host_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)ctx;
    return protected_call(st, handle_protected, (void *)m);
}

int sky__lua_protect(lua_State *L, lua_CFunction fn, void *ud) { return protected_call(host_of(L), fn, ud); }

static void host_release(void *st)
{
    lhost *h = st;
    if (!h) return;
    h->ctx = NULL;
    if (h->L) lua_close(h->L);
    sky__lua_arena_block_put(h->block);
    free(h);
}

const sky_method_desc *sky__lua_method(lua_State *L, uint32_t id)
{
    lhost *h = host_of(L);
    unsigned slot = (id ^ id >> 16) & (METHOD_CACHE - 1);
    if (h->methods[slot].desc && h->methods[slot].id == id) return h->methods[slot].desc;
    const sky_method_desc *m = sky_schema_method(id);
    if (m) {
        h->methods[slot].id = id;
        h->methods[slot].desc = m;
    }
    return m;
}

const char *sky__lua_last_error(void) { return last_error; }

const char *sky__lua_spawn_error(int rc) { return sky__spawn_error(rc); }

const char *sky__lua_name(lua_State *L) { return host_of(L)->name; }

lua_State *sky__lua_state(sky_ctx *ctx) { return ((lhost *)sky__svc(ctx)->state)->L; }

const sky_module sky__lua_module = {"lua", host_create, host_init, host_handle, host_release};
