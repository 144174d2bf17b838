/* The `sky` Lua module (see skylib.h). Failures raise error objects
 * (sky__lua_raise): tables with .code ("ENOSVC") and .message. */
#include "lua/skylib.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua/codec.h"
#include "lua/host.h"
#include "sky/alloc.h"
#include "sky/typed.h"

/* Registry keys (their addresses): light, no string to look up per message. */
static const char start_key, dispatch_key;
static const char served_key; /* method id -> impl table */

static sky_ctx *ctx_of(lua_State *L) { return sky__lua_ctx(L); }

sky_addr_t sky__lua_check_addr(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *name = lua_tostring(L, idx);
        sky_addr_t a = sky_whereis(ctx_of(L), name);
        if (a == SKY_ADDR_NONE) sky__lua_raise(L, SKY_ENOSVC, "no service named '%s'", name);
        return a;
    }
    int ok;
    lua_Integer a = lua_tointegerx(L, idx, &ok);
    if (!ok || a == 0) sky__lua_raise(L, SKY_EINVAL, "bad address (argument %d): an integer or a name", idx);
    return (sky_addr_t)a;
}

static void check_yieldable(lua_State *L, const char *what)
{
    if (!sky__lua_yieldable(L))
        sky__lua_raise(L, SKY_EINVAL, "%s waits, so it must run in a message handler, a sky.start or "
                       "sky.timeout function, or a coroutine they resume (not at load time nor where "
                       "yields are not allowed)", what);
}

static int l_start(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &start_key);
    return 0;
}

static int l_dispatch(lua_State *L)
{
    if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &dispatch_key);
    return 0;
}

static int l_self(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sky_self(ctx_of(L)));
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sky_now(ctx_of(L)));
    return 1;
}

const char *sky__lua_join_args(lua_State *L, int first, const char *lead)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, lead);
    for (int i = first; i <= n; i++) {
        if (i > first) luaL_addchar(&b, ' ');
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (len == 0 || strpbrk(s, " \t\n"))
            sky__lua_raise(L, SKY_EINVAL, "spawn argument %d is empty or has blanks", i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

const char *sky__lua_spawn_arg(lua_State *L)
{
    char opts[64] = "";
    if (lua_type(L, 1) == LUA_TTABLE) sky__lua_spawn_opts(L, 1, opts, sizeof opts);
    luaL_checkstring(L, 1);
    return sky__lua_join_args(L, 1, opts);
}

static int l_spawn(lua_State *L)
{
    sky_ctx *ctx = ctx_of(L);
    const char *args = sky__lua_spawn_arg(L);
    sky_addr_t addr;
    int rc = sky_spawn(ctx, "lua", args, &addr);
    if (rc < 0) {
        const char *why = sky__lua_last_error();
        return sky__lua_raise(L, rc, "spawn %s: %s", lua_tostring(L, 1), why[0] ? why : sky_strerror(rc));
    }
    lua_pushinteger(L, (lua_Integer)addr);
    return 1;
}

/* sky.launch(module, ...): spawns a service of a C module (the spawn
 * argument: the other arguments joined by blanks) -> address. */
static int l_launch(lua_State *L)
{
    sky_ctx *ctx = ctx_of(L);
    const char *module = luaL_checkstring(L, 1);
    const char *args = sky__lua_join_args(L, 2, "");
    sky_addr_t addr;
    int rc = sky_spawn(ctx, module, args, &addr);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.launch %s: %s", module, sky__lua_spawn_error(rc));
    lua_pushinteger(L, (lua_Integer)addr);
    return 1;
}

/* sky.shutdown(): stops the node (its services exit, the launcher ends). */
static int l_shutdown(lua_State *L)
{
    sky_shutdown(ctx_of(L));
    return 0;
}

static int l_sleep(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    if (ms < 0 || ms > INT32_MAX) return sky__lua_raise(L, SKY_EINVAL, "sky.sleep: bad time %f ms", (double)ms);
    check_yieldable(L, "sky.sleep");
    uint32_t session = sky__lua_wait(L, 0);
    int rc = sky_timeout(ctx_of(L), (int)ms, session);
    if (rc < 0) {
        sky__lua_unwait(L, session);
        return sky__lua_raise(L, rc, "sky.sleep: %s", sky_strerror(rc));
    }
    return sky__lua_yield(L, 0, NULL);
}

static int l_timeout(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (ms < 0 || ms > INT32_MAX) return sky__lua_raise(L, SKY_EINVAL, "sky.timeout: bad time %f ms", (double)ms);
    uint32_t session = sky__lua_wait(L, 2);
    int rc = sky_timeout(ctx_of(L), (int)ms, session);
    if (rc < 0) {
        sky__lua_unwait(L, session);
        return sky__lua_raise(L, rc, "sky.timeout: %s", sky_strerror(rc));
    }
    return 0;
}

static int l_register(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int rc = sky_register(ctx_of(L), name);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.register '%s': %s", name, sky_strerror(rc));
    return 0;
}

static int l_whereis(lua_State *L)
{
    sky_addr_t a = sky_whereis(ctx_of(L), luaL_checkstring(L, 1));
    if (a == SKY_ADDR_NONE) lua_pushnil(L);
    else lua_pushinteger(L, (lua_Integer)a);
    return 1;
}

static int l_log(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    sky_log(ctx_of(L), SKY_LOG_INFO, "%s", lua_tostring(L, -1));
    return 0;
}

/* ---- raw messages: bytes and a type id, no schema ----------------------- */

static int l_rawsend(lua_State *L)
{
    sky_addr_t to = sky__lua_check_addr(L, 1);
    lua_Integer type = luaL_checkinteger(L, 2);
    size_t len;
    const char *data = luaL_optlstring(L, 3, "", &len);
    int rc = sky_send_copy(ctx_of(L), to, (uint32_t)type, data, len);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.rawsend: %s", sky_strerror(rc));
    return 0;
}

typedef struct reply_args {
    uint32_t session;
    int status;
    int typed; /* the answer as (light userdata, length): decoded at once */
    const sky_msg *reply;
} reply_args;

/* Wakes the caller with (true, answer) or (false, error object). A typed
 * call's answer is its bytes as a light userdata and a length, which the
 * continuation decodes while the reply is alive: the wake-up resumes it
 * within this call. */
static int reply_protected(lua_State *L)
{
    reply_args *r = lua_touserdata(L, 1);
    lua_settop(L, 0);
    if (r->status == 0) {
        const char *data = r->reply->data ? r->reply->data : "";
        lua_pushboolean(L, 1);
        if (r->typed) {
            lua_pushlightuserdata(L, (void *)data);
            lua_pushinteger(L, (lua_Integer)r->reply->size);
        } else {
            lua_pushlstring(L, data, r->reply->size);
        }
    } else {
        lua_pushboolean(L, 0);
        sky__lua_pushstatus(L, r->status, r->reply);
    }
    sky__lua_wake(L, r->session, lua_gettop(L));
    return 0;
}

static void on_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    reply_args r = {(uint32_t)(uintptr_t)ud, status, 0, reply};
    (void)sky__lua_protect(sky__lua_state(ctx), reply_protected, &r);
}

static void on_typed_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    reply_args r = {(uint32_t)(uintptr_t)ud, status, 1, reply};
    (void)sky__lua_protect(sky__lua_state(ctx), reply_protected, &r);
}

/* Resumed with (true, answer) or (false, error object). */
static int call_k(lua_State *L, int status, lua_KContext kctx)
{
    (void)status;
    (void)kctx;
    if (!lua_toboolean(L, -2)) return lua_error(L);
    return 1;
}

static int l_rawcall(lua_State *L)
{
    sky_addr_t to = sky__lua_check_addr(L, 1);
    lua_Integer type = luaL_checkinteger(L, 2);
    size_t len;
    const char *data = luaL_optlstring(L, 3, "", &len);
    lua_Integer timeout = luaL_optinteger(L, 4, 0);
    if (timeout < 0 || timeout > INT32_MAX) return sky__lua_raise(L, SKY_EINVAL, "sky.rawcall: bad timeout");
    check_yieldable(L, "sky.rawcall");
    sky_msg req = {0};
    req.type_id = (uint32_t)type;
    req.size = len;
    if (len) {
        req.data = sky_malloc(len);
        memcpy(req.data, data, len);
    }
    uint32_t session = sky__lua_wait(L, 0);
    int rc = sky_call(ctx_of(L), to, &req, (int)timeout, on_reply, (void *)(uintptr_t)session);
    if (rc < 0) {
        sky__lua_unwait(L, session);
        return sky__lua_raise(L, rc, "sky.rawcall: %s", sky_strerror(rc));
    }
    return sky__lua_yield(L, 0, call_k);
}


/* ---- typed messages: tables <-> protobuf through the schema registry ---- */

/* A method argument: its full name, or its id (what the stubs pass). */
static const sky_method_desc *check_method(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Integer id = luaL_checkinteger(L, idx);
        const sky_method_desc *m = id >= 0 && id <= UINT32_MAX ? sky__lua_method(L, (uint32_t)id) : NULL;
        if (!m) sky__lua_raise(L, SKY_ENOENT, "unknown method id 0x%08llx (is its schema registered?)", (unsigned long long)id);
        return m;
    }
    const char *name = luaL_checkstring(L, idx);
    const sky_method_desc *m = sky__lua_method(L, sky_method_id(name));
    if (!m || strcmp(m->full_name, name) != 0)
        sky__lua_raise(L, SKY_ENOENT, "unknown method '%s' (is its schema registered?)", name);
    return m;
}

/* Encodes the table at idx as d; raises EINVAL naming the bad field. */
static void encode(lua_State *L, int idx, const ProtobufCMessageDescriptor *d, const char *what, sky_msg *out)
{
    void *buf = NULL;
    size_t len = 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    if (sky__lua_encode(L, idx, d, &buf, &len) != 0)
        sky__lua_raise(L, SKY_EINVAL, "%s: %s", what, lua_tostring(L, -1));
    out->data = buf;
    out->size = len;
}

static int l_send(lua_State *L)
{
    sky_addr_t to = sky__lua_check_addr(L, 1);
    const sky_method_desc *m = check_method(L, 2);
    sky_msg msg = {0};
    encode(L, 3, m->input, m->full_name, &msg);
    msg.kind = SKY_ONEWAY;
    msg.type_id = m->id;
    int rc = sky_send(ctx_of(L), to, &msg);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.send %s: %s", m->full_name, sky_strerror(rc));
    return 0;
}

/* Resumed with (true, bytes as light userdata, length) or (false, error
 * object). */
static int typed_call_k(lua_State *L, int status, lua_KContext kctx)
{
    (void)status;
    const sky_method_desc *m = (const sky_method_desc *)kctx;
    if (lua_type(L, -1) != LUA_TNUMBER) return lua_error(L); /* the error object */
    const char *data = lua_touserdata(L, -2);
    size_t len = (size_t)lua_tointeger(L, -1);
    if (sky__lua_decode(L, m->output, data, len) != 0)
        return sky__lua_raise(L, SKY_EBADMSG, "%s: bad response: %s", m->full_name, lua_tostring(L, -1));
    return 1;
}

static int l_call(lua_State *L)
{
    sky_addr_t to = sky__lua_check_addr(L, 1);
    const sky_method_desc *m = check_method(L, 2);
    lua_Integer timeout = luaL_optinteger(L, 4, 0);
    if (timeout < 0 || timeout > INT32_MAX) return sky__lua_raise(L, SKY_EINVAL, "sky.call: bad timeout");
    check_yieldable(L, "sky.call");
    sky_msg req = {0};
    encode(L, 3, m->input, m->full_name, &req);
    req.type_id = m->id;
    uint32_t session = sky__lua_wait(L, 0);
    int rc = sky_call(ctx_of(L), to, &req, timeout ? (int)timeout : m->timeout_ms, on_typed_reply,
                      (void *)(uintptr_t)session);
    if (rc < 0) {
        sky__lua_unwait(L, session);
        return sky__lua_raise(L, rc, "sky.call %s: %s", m->full_name, sky_strerror(rc));
    }
    return sky__lua_yield(L, (lua_KContext)m, typed_call_k);
}

static int l_serve(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const sky_service_desc *sd = sky_schema_service(name);
    if (!sd) return sky__lua_raise(L, SKY_ENOENT, "unknown service '%s' (is its schema registered?)", name);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &served_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &served_key);
    }
    for (size_t i = 0; i < sd->n_methods; i++)
        if (lua_rawgeti(L, -1 - (int)i, sd->methods[i].id) != LUA_TNIL)
            return sky__lua_raise(L, SKY_EEXIST, "sky.serve: %s is served already", sd->methods[i].full_name);
    lua_pop(L, (int)sd->n_methods);
    for (size_t i = 0; i < sd->n_methods; i++) {
        lua_pushvalue(L, 2);
        lua_rawseti(L, -2, sd->methods[i].id);
    }
    if (sd->default_name) {
        int rc = sky_register(ctx_of(L), sd->default_name);
        if (rc < 0) return sky__lua_raise(L, rc, "sky.serve: register '%s': %s", sd->default_name, sky_strerror(rc));
    }
    return 0;
}

/* 1 if the handler at idx can see a second argument: it declares two
 * parameters or more, or takes `...` (so does a C function). A handler
 * that cannot is spared the context table: function(req) is the common
 * case. */
static int sees_ctx(lua_State *L, int idx)
{
    lua_Debug ar;
    lua_pushvalue(L, idx);
    if (!lua_getinfo(L, ">u", &ar)) return 1;
    return ar.nparams >= 2 || ar.isvararg;
}

/* A request or oneway for a served method: 1 if it was one (handled). */
static int dispatch_typed(lua_State *L, sky_ctx *ctx, const sky_msg *m)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &served_key) != LUA_TTABLE || lua_rawgeti(L, -1, m->type_id) != LUA_TTABLE) {
        lua_settop(L, 0);
        return 0;
    }
    const sky_method_desc *md = sky__lua_method(L, m->type_id);
    if (!md) {
        lua_settop(L, 0);
        return 0;
    }
    if (lua_getfield(L, -1, md->name) != LUA_TFUNCTION) {
        lua_settop(L, 0);
        if (m->kind == SKY_REQUEST) {
            char text[256];
            snprintf(text, sizeof text, "%s has no handler in the served table", md->full_name);
            (void)sky_reply_error(ctx, m, SKY_ENOTSUP, text);
        }
        return 1;
    }
    lua_replace(L, 1);
    lua_settop(L, 1);
    if (sky__lua_decode(L, md->input, m->data, m->size) != 0) {
        char text[300];
        snprintf(text, sizeof text, "%s: %s", md->full_name, lua_tostring(L, -1));
        lua_settop(L, 0);
        if (m->kind == SKY_REQUEST) (void)sky_reply_error(ctx, m, SKY_EBADMSG, text);
        sky_log(ctx, SKY_LOG_WARN, "lua %s: bad payload: %s", sky__lua_name(L), text);
        return 1;
    }
    if (!sees_ctx(L, 1)) {
        sky__lua_run(L, 1, m, md);
        return 1;
    }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)m->source);
    lua_setfield(L, -2, "source");
    lua_pushstring(L, md->full_name);
    lua_setfield(L, -2, "method");
    sky__lua_run(L, 2, m, md);
    return 1;
}

/* sky.schema(file_name, descriptor_set): registers a .proto file's schema
 * (what generated stubs do when required), unless it is registered. */
static int l_schema(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    if (sky_schema_file(name)) return 0;
    char err[256];
    int rc = sky_schema_load(data, len, err, sizeof err);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.schema %s: %s", name, err);
    if (!sky_schema_file(name))
        return sky__lua_raise(L, SKY_EINVAL, "sky.schema %s: the descriptor set has no such file", name);
    return 0;
}

/* ---- deferred replies: sky.defer() -> reply(resp) / reply(nil, err) ----- */

#define REPLY_MT "sky.reply"

typedef struct deferred {
    sky_token tok;
    uint32_t type_id;
    const void *method;
    int done;
} deferred;

/* reply(resp): answers with resp (a table for a typed request, a string
 * for a raw one; nil: empty); reply(nil, err): answers with the error
 * err (an error object or a string, as a handler raising it would). */
static int reply_call(lua_State *L)
{
    deferred *d = luaL_checkudata(L, 1, REPLY_MT);
    sky_ctx *ctx = ctx_of(L);
    if (d->done) return sky__lua_raise(L, SKY_EINVAL, "this request was answered already");
    d->done = 1;
    lua_settop(L, 3);
    if (lua_isnil(L, 2) && !lua_isnil(L, 3)) {
        char text[512];
        (void)sky__lua_respond_error(L, 3, ctx, d->tok, text, sizeof text);
        return 0;
    }
    lua_settop(L, 2);
    if (sky__lua_answer(L, ctx, d->tok, d->type_id, d->method, 1) < 0) {
        char text[512];
        (void)sky__lua_respond_error(L, -1, ctx, d->tok, text, sizeof text);
        return lua_error(L);
    }
    return 0;
}

/* A reply function dropped unanswered: the caller learns it now rather
 * than at its deadline. */
static int reply_gc(lua_State *L)
{
    deferred *d = lua_touserdata(L, 1);
    sky_ctx *ctx = sky__lua_ctx_if_alive(L);
    if (!d->done && ctx) {
        d->done = 1;
        (void)sky_respond_error(ctx, d->tok, SKY_ENOREPLY, "the handler deferred its reply and dropped it");
    }
    return 0;
}

static int l_defer(lua_State *L)
{
    sky_token tok;
    uint32_t type_id;
    const void *method;
    luaL_checkstack(L, 3, NULL);
    deferred *d = lua_newuserdatauv(L, sizeof *d, 0);
    memset(d, 0, sizeof *d);
    d->done = 1; /* until it holds a request */
    if (luaL_newmetatable(L, REPLY_MT)) {
        lua_pushcfunction(L, reply_call);
        lua_setfield(L, -2, "__call");
        lua_pushcfunction(L, reply_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    if (!sky__lua_take_request(L, &tok, &type_id, &method))
        return sky__lua_raise(L, SKY_EINVAL, "sky.defer: no request to take over (only a request's handler "
                              "may defer, once)");
    d->tok = tok;
    d->type_id = type_id;
    d->method = method;
    d->done = 0;
    return 1;
}

/* ---- the host's side ---------------------------------------------------- */

void sky__lua_openlib(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"start", l_start},       {"self", l_self},       {"now", l_now},         {"spawn", l_spawn},
        {"sleep", l_sleep},       {"timeout", l_timeout}, {"register", l_register}, {"whereis", l_whereis},
        {"log", l_log},         {"dispatch", l_dispatch}, {"rawsend", l_rawsend},
        {"rawcall", l_rawcall},   {"send", l_send},       {"call", l_call},       {"serve", l_serve},
        {"defer", l_defer},       {"schema", l_schema},   {"launch", l_launch},   {"shutdown", l_shutdown},
        {NULL, NULL}};
    luaL_newlib(L, fns);
    sky__lua_openproc(L); /* links and monitors (proclib.c); its sky.exit takes a reason */
    sky__lua_opensock(L); /* sockets (socklib.c) */
}

int sky__lua_started(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &start_key) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return 0;
    }
    uint32_t session = sky__lua_wait(L, -1);
    lua_pop(L, 1);
    int rc = sky_timeout(ctx_of(L), 0, session);
    if (rc < 0) sky__lua_unwait(L, session);
    return rc;
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case SKY_REQUEST: return "request";
    case SKY_ONEWAY: return "oneway";
    default: return "text";
    }
}

void sky__lua_dispatch(lua_State *L, const sky_msg *m)
{
    sky_ctx *ctx = ctx_of(L);
    if (m->kind == SKY_TIMER) {
        sky__lua_wake(L, m->session, 0);
        return;
    }
    if (m->kind == SKY_SOCKET) {
        sky__lua_socket_event(L, m);
        return;
    }
    if (m->kind == SKY_EXIT || m->kind == SKY_DOWN) {
        sky__lua_proc_signal(L, m);
        return;
    }
    if (m->kind != SKY_REQUEST && m->kind != SKY_ONEWAY && m->kind != SKY_TEXT) return;
    if (m->kind != SKY_TEXT && dispatch_typed(L, ctx, m)) return;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &dispatch_key) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        if (m->kind == SKY_REQUEST)
            (void)sky_reply_error(ctx, m, SKY_ENOTSUP, "this Lua service handles no such message");
        return;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, kind_name(m->kind));
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, (lua_Integer)m->type_id);
    lua_setfield(L, -2, "type");
    lua_pushlstring(L, m->data ? m->data : "", m->size);
    lua_setfield(L, -2, "data");
    lua_pushinteger(L, (lua_Integer)m->source);
    lua_setfield(L, -2, "source");
    sky__lua_run(L, 1, m, NULL);
}

/* The answer of a served method: its return value as the output type (nil:
 * an empty message). */
static int answer_typed(lua_State *L, sky_ctx *ctx, sky_token tok, const sky_method_desc *md, int n)
{
    if (n == 0) {
        lua_pushnil(L);
        n = 1;
    }
    int idx = lua_gettop(L) - n + 1;
    if (lua_isnil(L, idx)) {
        lua_newtable(L);
        lua_replace(L, idx);
    }
    if (lua_type(L, idx) != LUA_TTABLE) {
        const char *got = luaL_typename(L, idx);
        lua_pop(L, n);
        sky__lua_pusherror(L, SKY_EINVAL, "%s answers with a table, not a %s", md->full_name, got);
        return SKY_EINVAL;
    }
    sky_msg resp = {0};
    resp.type_id = md->id;
    void *buf = NULL;
    size_t len = 0;
    if (sky__lua_encode(L, idx, md->output, &buf, &len) != 0) {
        const char *why = lua_tostring(L, -1);
        sky__lua_pusherror(L, SKY_EINVAL, "%s: bad response: %s", md->full_name, why ? why : "?");
        lua_replace(L, idx);
        lua_settop(L, idx);
        return SKY_EINVAL;
    }
    lua_pop(L, n);
    resp.data = buf;
    resp.size = len;
    (void)sky_respond(ctx, tok, &resp);
    return 0;
}

int sky__lua_answer(lua_State *L, sky_ctx *ctx, sky_token tok, uint32_t type_id, const void *method, int n)
{
    if (method) return answer_typed(L, ctx, tok, method, n);
    int idx = lua_gettop(L) - n + 1;
    sky_msg resp = {0};
    resp.type_id = type_id;
    if (n > 0 && !lua_isnil(L, idx)) {
        if (lua_type(L, idx) != LUA_TSTRING) {
            const char *got = luaL_typename(L, idx);
            lua_pop(L, n);
            sky__lua_pusherror(L, SKY_EINVAL, "a raw handler answers with a string, not a %s", got);
            return SKY_EINVAL;
        }
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (len) {
            resp.data = sky_malloc(len);
            memcpy(resp.data, s, len);
            resp.size = len;
        }
    }
    lua_pop(L, n);
    (void)sky_respond(ctx, tok, &resp);
    return 0;
}
