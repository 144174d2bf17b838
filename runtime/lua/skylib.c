/* The `sky` Lua module (see skylib.h). Failures raise error objects
 * (sky__lua_raise): tables with .code ("ENOSVC") and .message. */
#include "lua/skylib.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "core/node.h"
#include "lua/args.h"
#include "lua/codec.h"
#include "lua/host.h"
#include "lua/luaerr.h"
#include "sky/alloc.h"
#include "sky/typed.h"

/* Registry keys (their addresses): light, no string to look up per message. */
static const char start_key, dispatch_key;
static const char served_key; /* method id -> impl table */

static sky_ctx *ctx_of(lua_State *L) { return sky__lua_ctx(L); }

sky_addr_t sky__lua_check_addr(lua_State *L, const char *fn, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *name = lua_tostring(L, idx);
        int rc;
        sky_addr_t a = sky__node_whereis(sky_ctx_node(ctx_of(L)), name, &rc);
        if (a != SKY_ADDR_NONE) return a;
        const char *at = strchr(name, '@');
        if (rc == SKY_ENOENT && at) sky__lua_raise(L, SKY_ENOENT, "%s: '%s': no node named '%s' in the cluster", fn, name, at + 1);
        sky__lua_raise(L, rc == SKY_EINVAL ? SKY_EINVAL : SKY_ENOSVC, "%s: no service named '%s'", fn, name);
    }
    int ok = 0;
    lua_Integer a = lua_type(L, idx) == LUA_TNUMBER ? lua_tointegerx(L, idx, &ok) : 0;
    if (!ok || a == 0) sky__lua_typeerror(L, fn, idx, "addr", "an address (an integer) or a registered name");
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
    sky__lua_checktype(L, "sky.start", 1, "fn", LUA_TFUNCTION, 0);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &start_key);
    return 0;
}

static int l_dispatch(lua_State *L)
{
    sky__lua_checktype(L, "sky.dispatch", 1, "fn", LUA_TFUNCTION, 1);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &dispatch_key);
    return 0;
}

static int l_self(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sky_self(ctx_of(L)));
    return 1;
}

/* sky.node() -> this node's name */
static int l_node(lua_State *L)
{
    lua_pushstring(L, sky_node_name(sky_ctx_node(ctx_of(L))));
    return 1;
}

/* sky.nodes() -> { [name] = { id = N, up = bool }, ... }, this node too */
static int l_nodes(lua_State *L)
{
    sky_node *node = sky_ctx_node(ctx_of(L));
    size_t n = sky_node_nodes(node, NULL, 0);
    sky_node_info *v = sky_malloc((n ? n : 1) * sizeof *v);
    n = sky_node_nodes(node, v, n); /* may have grown meanwhile: take what fits */
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, v[i].id);
        lua_setfield(L, -2, "id");
        lua_pushboolean(L, v[i].up);
        lua_setfield(L, -2, "up");
        lua_setfield(L, -2, v[i].name);
    }
    sky_free(v);
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sky_now(ctx_of(L)));
    return 1;
}

const char *sky__lua_join_args(lua_State *L, const char *fn, int first, const char *lead)
{
    int n = lua_gettop(L);
    for (int i = first; i <= n; i++) { /* checked first: the buffer takes a stack slot */
        int t = lua_type(L, i);
        if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
            sky__lua_typeerror(L, fn, i, NULL, "a string, number or boolean");
        if (t == LUA_TSTRING && (lua_rawlen(L, i) == 0 || strpbrk(lua_tostring(L, i), " \t\n")))
            sky__lua_typeerror(L, fn, i, NULL, "a string without blanks");
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, lead);
    for (int i = first; i <= n; i++) {
        if (i > first) luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

const char *sky__lua_spawn_arg(lua_State *L, const char *fn)
{
    char opts[64] = "";
    if (lua_type(L, 1) == LUA_TTABLE) sky__lua_spawn_opts(L, fn, 1, opts, sizeof opts);
    sky__lua_checkstr(L, fn, 1, "name", NULL);
    return sky__lua_join_args(L, fn, 1, opts);
}

static int l_spawn(lua_State *L)
{
    sky_ctx *ctx = ctx_of(L);
    const char *args = sky__lua_spawn_arg(L, "sky.spawn");
    sky_addr_t addr;
    int rc = sky_spawn(ctx, "lua", args, &addr);
    if (rc < 0) {
        const char *why = sky__lua_last_error();
        return sky__lua_raise(L, rc, "sky.spawn %s: %s", lua_tostring(L, 1), why[0] ? why : sky_strerror(rc));
    }
    lua_pushinteger(L, (lua_Integer)addr);
    return 1;
}

void sky__lua_find_module(lua_State *L, const char *fn, const char *module)
{
    char err[1024] = "", line[1024];
    if (sky__node_module(sky_ctx_node(ctx_of(L)), module, err, sizeof err)) return;
    /* one line: "...; searched: FILE (why); FILE (why)" */
    size_t o = 0;
    for (const char *p = err; *p && o + 3 < sizeof line; p++) {
        if (*p != '\n') {
            line[o++] = *p;
            continue;
        }
        if (o && line[o - 1] != ':') line[o++] = ';';
        line[o++] = ' ';
        while (p[1] == ' ') p++;
    }
    line[o] = '\0';
    sky__lua_raise(L, SKY_ENOENT, "%s %s: %s", fn, module, line);
}

/* sky.launch(module, ...): spawns a service of a C module (the spawn
 * argument: the other arguments joined by blanks) -> address. */
static int l_launch(lua_State *L)
{
    sky_ctx *ctx = ctx_of(L);
    const char *module = sky__lua_checkstr(L, "sky.launch", 1, "module", NULL);
    const char *args = sky__lua_join_args(L, "sky.launch", 2, "");
    sky__lua_find_module(L, "sky.launch", module);
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
    lua_Integer ms = sky__lua_checkint(L, "sky.sleep", 1, "ms", 0, INT32_MAX);
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
    lua_Integer ms = sky__lua_checkint(L, "sky.timeout", 1, "ms", 0, INT32_MAX);
    sky__lua_checktype(L, "sky.timeout", 2, "fn", LUA_TFUNCTION, 0);
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
    const char *name = sky__lua_checkstr(L, "sky.register", 1, "name", NULL);
    int rc = sky_register(ctx_of(L), name);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.register '%s': %s", name, sky_strerror(rc));
    return 0;
}

static int l_whereis(lua_State *L)
{
    sky_addr_t a = sky_whereis(ctx_of(L), sky__lua_checkstr(L, "sky.whereis", 1, "name", NULL));
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
        sky__lua_tostring(L, "sky.log", i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    sky_log(ctx_of(L), SKY_LOG_INFO, "%s", lua_tostring(L, -1));
    return 0;
}

/* ---- raw messages: bytes and a type id, no schema ----------------------- */

/* Why a send or call to `to` failed at once: for a node that is down or
 * busy, which node ("node 'beta' is down"). */
static const char *send_why(lua_State *L, int rc, sky_addr_t to, char *buf, size_t size)
{
    if (rc != SKY_ENODEDOWN && rc != SKY_EBUSY) return sky_strerror(rc);
    sky_node *node = sky_ctx_node(ctx_of(L));
    if (SKY_ADDR_NODE(to) == sky_node_id(node)) return sky_strerror(rc);
    sky_node_info info[64];
    size_t n = sky_node_nodes(node, info, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (info[i].id == SKY_ADDR_NODE(to)) {
            snprintf(buf, size, rc == SKY_ENODEDOWN ? "node '%s' is down" : "the link to node '%s' is full",
                     info[i].name);
            return buf;
        }
    return sky_strerror(rc);
}

static int l_rawsend(lua_State *L)
{
    sky_addr_t to = sky__lua_check_addr(L, "sky.rawsend", 1);
    lua_Integer type = sky__lua_checkint(L, "sky.rawsend", 2, "type", 0, UINT32_MAX);
    size_t len;
    const char *data = sky__lua_optstr(L, "sky.rawsend", 3, "bytes", "", &len);
    int rc = sky_send_copy(ctx_of(L), to, (uint32_t)type, data, len);
    char why[300];
    if (rc < 0) return sky__lua_raise(L, rc, "sky.rawsend: %s", send_why(L, rc, to, why, sizeof why));
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
    sky_addr_t to = sky__lua_check_addr(L, "sky.rawcall", 1);
    lua_Integer type = sky__lua_checkint(L, "sky.rawcall", 2, "type", 0, UINT32_MAX);
    size_t len;
    const char *data = sky__lua_optstr(L, "sky.rawcall", 3, "bytes", "", &len);
    lua_Integer timeout = sky__lua_optint(L, "sky.rawcall", 4, "timeout_ms", 0, INT32_MAX, 0);
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
        char why[300];
        return sky__lua_raise(L, rc, "sky.rawcall: %s", send_why(L, rc, to, why, sizeof why));
    }
    return sky__lua_yield(L, 0, call_k);
}


/* ---- typed messages: tables <-> protobuf through the schema registry ---- */

/* A method argument: its full name, or its id (what the stubs pass). */
static const sky_method_desc *check_method(lua_State *L, const char *fn, int idx)
{
    const sky_method_desc *m;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Integer id = sky__lua_checkint(L, fn, idx, "method", 0, UINT32_MAX);
        if (!(m = sky__lua_method(L, (uint32_t)id)))
            sky__lua_raise(L, SKY_ENOENT, "%s: unknown method id 0x%08llx (is its schema registered?)", fn,
                           (unsigned long long)id);
        return m;
    }
    if (lua_type(L, idx) != LUA_TSTRING) sky__lua_typeerror(L, fn, idx, "method", "a method's full name or id");
    const char *name = lua_tostring(L, idx);
    m = sky__lua_method(L, sky_method_id(name));
    if (!m || strcmp(m->full_name, name) != 0)
        sky__lua_raise(L, SKY_ENOENT, "%s: unknown method '%s' (is its schema registered?)", fn, name);
    return m;
}

/* Encodes the message at idx (a table; nil: an empty message) as m's
 * input; raises EINVAL naming the method, and the field if one is bad. */
static void encode(lua_State *L, const char *fn, int idx, const sky_method_desc *m, sky_msg *out)
{
    void *buf = NULL;
    size_t len = 0;
    int t = lua_type(L, idx);
    if (t != LUA_TTABLE) {
        if (t > LUA_TNIL) {
            char want[160];
            snprintf(want, sizeof want, "%s's request (a table, or nil for an empty one)", m->full_name);
            sky__lua_typeerror(L, fn, idx, "msg", want);
        }
        lua_newtable(L);
        lua_replace(L, idx);
    }
    if (sky__lua_encode(L, idx, m->input, &buf, &len) != 0)
        sky__lua_argerror(L, fn, idx, "msg", "%s: %s", m->full_name, lua_tostring(L, -1));
    out->data = buf;
    out->size = len;
}

static int l_send(lua_State *L)
{
    sky_addr_t to = sky__lua_check_addr(L, "sky.send", 1);
    const sky_method_desc *m = check_method(L, "sky.send", 2);
    sky_msg msg = {0};
    encode(L, "sky.send", 3, m, &msg);
    msg.kind = SKY_ONEWAY;
    msg.type_id = m->id;
    int rc = sky_send(ctx_of(L), to, &msg);
    char why[300];
    if (rc < 0) return sky__lua_raise(L, rc, "sky.send %s: %s", m->full_name, send_why(L, rc, to, why, sizeof why));
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
    sky_addr_t to = sky__lua_check_addr(L, "sky.call", 1);
    const sky_method_desc *m = check_method(L, "sky.call", 2);
    lua_Integer timeout = sky__lua_optint(L, "sky.call", 4, "timeout_ms", 0, INT32_MAX, 0);
    check_yieldable(L, "sky.call");
    sky_msg req = {0};
    encode(L, "sky.call", 3, m, &req);
    req.type_id = m->id;
    uint32_t session = sky__lua_wait(L, 0);
    int rc = sky_call(ctx_of(L), to, &req, timeout ? (int)timeout : m->timeout_ms, on_typed_reply,
                      (void *)(uintptr_t)session);
    if (rc < 0) {
        sky__lua_unwait(L, session);
        char why[300];
        return sky__lua_raise(L, rc, "sky.call %s: %s", m->full_name, send_why(L, rc, to, why, sizeof why));
    }
    return sky__lua_yield(L, (lua_KContext)m, typed_call_k);
}

/* The method of sd named `name`, or NULL. */
static const sky_method_desc *method_named(const sky_service_desc *sd, const char *name)
{
    for (size_t i = 0; i < sd->n_methods; i++)
        if (strcmp(sd->methods[i].name, name) == 0) return &sd->methods[i];
    return NULL;
}

/* Raises EINVAL for impl's key `name`, which is no method of sd: with a
 * method of a close spelling, or the list of them. */
static void no_such_method(lua_State *L, const sky_service_desc *sd, const char *name)
{
    const char *best = NULL;
    size_t best_d = 3, len = strlen(name);
    char list[200] = "";
    for (size_t i = 0, o = 0; i < sd->n_methods; i++) {
        size_t d = sky__lua_distance(name, sd->methods[i].name);
        if (d < best_d && d < len) best = sd->methods[i].name, best_d = d;
        int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", sd->methods[i].name);
        if (w > 0) o = o + (size_t)w < sizeof list ? o + (size_t)w : sizeof list - 1;
    }
    if (best)
        sky__lua_argerror(L, "sky.serve", 2, "impl", "%s has no method '%s' (did you mean '%s'?)", sd->full_name,
                          name, best);
    sky__lua_argerror(L, "sky.serve", 2, "impl", "%s has no method '%s' (its methods: %s)", sd->full_name, name,
                      list);
}

/* Every key of impl (at 2) names a method of sd, and its value is a
 * function: a misspelt name would otherwise answer ENOTSUP at each call. */
static void check_impl(lua_State *L, const sky_service_desc *sd)
{
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            sky__lua_argerror(L, "sky.serve", 2, "impl", "its keys are method names, not %ss",
                              luaL_typename(L, -2));
        const char *name = lua_tostring(L, -2);
        if (!method_named(sd, name)) no_such_method(L, sd, name);
        if (lua_type(L, -1) != LUA_TFUNCTION)
            sky__lua_argerror(L, "sky.serve", 2, "impl", "%s must be a function, not a %s", name,
                              luaL_typename(L, -1));
        lua_pop(L, 1);
    }
}

static int l_serve(lua_State *L)
{
    const char *name = sky__lua_checkstr(L, "sky.serve", 1, "service", NULL);
    sky__lua_checktype(L, "sky.serve", 2, "impl", LUA_TTABLE, 0);
    const sky_service_desc *sd = sky_schema_service(name);
    if (!sd) return sky__lua_raise(L, SKY_ENOENT, "sky.serve: unknown service '%s' (is its schema registered?)", name);
    check_impl(L, sd);
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
    const char *name = sky__lua_checkstr(L, "sky.schema", 1, "file_name", NULL);
    size_t len;
    const char *data = sky__lua_checkstr(L, "sky.schema", 2, "descriptor_set", &len);
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
    deferred *d = luaL_testudata(L, 1, REPLY_MT);
    if (!d) return sky__lua_typeerror(L, "reply", 1, NULL, "a reply function (sky.defer)");
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
    deferred *d = luaL_testudata(L, 1, REPLY_MT); /* NULL: a script calling __gc itself */
    sky_ctx *ctx = sky__lua_ctx_if_alive(L);
    if (d && !d->done && ctx) {
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
        {"node", l_node},         {"nodes", l_nodes},
        {"start", l_start},       {"self", l_self},       {"now", l_now},         {"spawn", l_spawn},
        {"sleep", l_sleep},       {"timeout", l_timeout}, {"register", l_register}, {"whereis", l_whereis},
        {"log", l_log},         {"dispatch", l_dispatch}, {"rawsend", l_rawsend},
        {"rawcall", l_rawcall},   {"send", l_send},       {"call", l_call},       {"serve", l_serve},
        {"defer", l_defer},       {"schema", l_schema},   {"launch", l_launch},   {"shutdown", l_shutdown},
        {"error", sky__lua_l_error}, {NULL, NULL}};
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
    if (m->kind == SKY_EXIT || m->kind == SKY_DOWN || m->kind == SKY_NODE) {
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
