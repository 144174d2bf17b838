/* The process model in the `sky` Lua module (docs/process-model.md):
 * sky.link, unlink, monitor, demonitor, kill, trap_exit, parent, spawn_link,
 * spawn_monitor, launch_link, launch_monitor, exit with a reason, and
 * on_exit / on_down, the functions that get trapped exits and downs.
 * Reasons are their names ("killed"). */
#include <string.h>
#include <lauxlib.h>
#include "lua/args.h"
#include "lua/host.h"
#include "lua/skylib.h"

#define ON_EXIT_KEY "sky.on_exit"
#define ON_DOWN_KEY "sky.on_down"
#define ON_NODE_KEY "sky.on_node"

/* A reason name at idx of function fn; if none or nil, `def`, or an
 * error if def < 0 (a reason is required). */
static int check_reason(lua_State *L, const char *fn, int idx, int def)
{
    if (def >= 0 && lua_isnoneornil(L, idx)) return def;
    const char *name = sky__lua_checkstr(L, fn, idx, "reason", NULL);
    int r = sky_reason_of(name);
    if (r < 0)
        sky__lua_argerror(L, fn, idx, "reason", "unknown exit reason '%s' (normal, error, killed, noproc, timeout, "
                          "noconnection, shutdown)", name);
    return r;
}

static int l_link(lua_State *L)
{
    int rc = sky_link(sky__lua_ctx(L), sky__lua_check_addr(L, "sky.link", 1));
    if (rc < 0) return sky__lua_raise(L, rc, "sky.link: %s", sky_strerror(rc));
    return 0;
}

static int l_unlink(lua_State *L)
{
    (void)sky_unlink(sky__lua_ctx(L), sky__lua_check_addr(L, "sky.unlink", 1));
    return 0;
}

static int l_monitor(lua_State *L)
{
    uint32_t ref;
    int rc = sky_monitor(sky__lua_ctx(L), sky__lua_check_addr(L, "sky.monitor", 1), &ref);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.monitor: %s", sky_strerror(rc));
    lua_pushinteger(L, ref);
    return 1;
}

static int l_demonitor(lua_State *L)
{
    lua_Integer ref = sky__lua_checkint(L, "sky.demonitor", 1, "ref", LUA_MININTEGER, LUA_MAXINTEGER);
    lua_pushboolean(L, ref > 0 && ref <= UINT32_MAX && sky_demonitor(sky__lua_ctx(L), (uint32_t)ref) == 0);
    return 1;
}

/* sky.kill(addr [, reason [, text]]) */
static int l_kill(lua_State *L)
{
    sky_addr_t who = sky__lua_check_addr(L, "sky.kill", 1);
    int reason = check_reason(L, "sky.kill", 2, SKY_REASON_KILLED);
    const char *text = sky__lua_optstr(L, "sky.kill", 3, "text", NULL, NULL);
    int rc = sky_kill_with(sky__lua_ctx(L), who, reason, text);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.kill: %s", sky_strerror(rc));
    return 0;
}

/* sky.send_exit(addr, reason [, text]): a trappable exit signal. */
static int l_send_exit(lua_State *L)
{
    sky_addr_t who = sky__lua_check_addr(L, "sky.send_exit", 1);
    int reason = check_reason(L, "sky.send_exit", 2, -1);
    const char *text = sky__lua_optstr(L, "sky.send_exit", 3, "text", NULL, NULL);
    int rc = sky_send_exit(sky__lua_ctx(L), who, reason, text);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.send_exit: %s", sky_strerror(rc));
    return 0;
}

/* sky.exit([reason [, text]]): ends this service after the current job. */
static int l_exit(lua_State *L)
{
    int reason = check_reason(L, "sky.exit", 1, SKY_REASON_NORMAL);
    sky_exit_with(sky__lua_ctx(L), reason, sky__lua_optstr(L, "sky.exit", 2, "text", NULL, NULL));
    return 0;
}

/* sky.parent() -> the address of the service that spawned this one, or
 * nil (spawned from outside the node's services). */
static int l_parent(lua_State *L)
{
    sky_addr_t p = sky_parent(sky__lua_ctx(L));
    if (p == SKY_ADDR_NONE) lua_pushnil(L);
    else lua_pushinteger(L, (lua_Integer)p);
    return 1;
}

static int l_trap_exit(lua_State *L)
{
    lua_pushboolean(L, sky_trap_exit(sky__lua_ctx(L), sky__lua_checkbool(L, "sky.trap_exit", 1, "on")));
    return 1;
}

/* Spawns a service of `module` with `args`, linked to this one or
 * monitored by it: pushes addr (and the ref). `what` names the function
 * in errors; a Lua service's init failure says why. */
static int spawn_watched(lua_State *L, const char *what, const char *module, const char *args, int monitor)
{
    sky_ctx *ctx = sky__lua_ctx(L);
    sky_addr_t addr;
    uint32_t ref = 0;
    int rc = monitor ? sky_spawn_monitor(ctx, module, args, &addr, &ref) : sky_spawn_link(ctx, module, args, &addr);
    if (rc < 0) {
        const char *why = strcmp(module, "lua") == 0 ? sky__lua_last_error() : "";
        return sky__lua_raise(L, rc, "%s %s%s%s: %s", what, module, args[0] ? " " : "", args,
                              why[0] ? why : sky__lua_spawn_error(rc));
    }
    lua_pushinteger(L, (lua_Integer)addr);
    if (!monitor) return 1;
    lua_pushinteger(L, ref);
    return 2;
}

/* sky.spawn_link(name, ...) -> addr; sky.spawn_monitor(name, ...) -> addr, ref */
static int l_spawn_link(lua_State *L)
{
    return spawn_watched(L, "sky.spawn_link", "lua", sky__lua_spawn_arg(L, "sky.spawn_link"), 0);
}

static int l_spawn_monitor(lua_State *L)
{
    return spawn_watched(L, "sky.spawn_monitor", "lua", sky__lua_spawn_arg(L, "sky.spawn_monitor"), 1);
}

/* sky.launch_link(module, ...) -> addr; sky.launch_monitor(module, ...) ->
 * addr, ref: sky.launch (a C module's service), linked or monitored. */
static int launch_watched(lua_State *L, const char *what, int monitor)
{
    const char *module = sky__lua_checkstr(L, what, 1, "module", NULL);
    const char *args = sky__lua_join_args(L, what, 2, "");
    sky__lua_find_module(L, what, module);
    return spawn_watched(L, what, module, args, monitor);
}

static int l_launch_link(lua_State *L) { return launch_watched(L, "sky.launch_link", 0); }
static int l_launch_monitor(lua_State *L) { return launch_watched(L, "sky.launch_monitor", 1); }

static int set_handler(lua_State *L, const char *fn, const char *key)
{
    sky__lua_checktype(L, fn, 1, "fn", LUA_TFUNCTION, 1);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
    return 0;
}

static int l_on_exit(lua_State *L) { return set_handler(L, "sky.on_exit", ON_EXIT_KEY); }
static int l_on_node(lua_State *L) { return set_handler(L, "sky.on_node", ON_NODE_KEY); }

/* sky.monitor_node(name): on_node(name, "down"|"up") from now on */
static int l_monitor_node(lua_State *L)
{
    const char *name = sky__lua_checkstr(L, "sky.monitor_node", 1, "node", NULL);
    int rc = sky_monitor_node(sky__lua_ctx(L), name);
    if (rc == SKY_ENOENT) return sky__lua_raise(L, rc, "sky.monitor_node: no node named '%s' in the cluster", name);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.monitor_node '%s': %s", name, sky_strerror(rc));
    return 0;
}

/* sky.demonitor_node(name) -> true, or false if it was not watched */
static int l_demonitor_node(lua_State *L)
{
    const char *name = sky__lua_checkstr(L, "sky.demonitor_node", 1, "node", NULL);
    lua_pushboolean(L, sky_demonitor_node(sky__lua_ctx(L), name) == 0);
    return 1;
}
static int l_on_down(lua_State *L) { return set_handler(L, "sky.on_down", ON_DOWN_KEY); }

void sky__lua_openproc(lua_State *L)
{
    static const luaL_Reg fns[] = {{"link", l_link},
                                   {"unlink", l_unlink},
                                   {"monitor", l_monitor},
                                   {"demonitor", l_demonitor},
                                   {"kill", l_kill},
                                   {"send_exit", l_send_exit},
                                   {"exit", l_exit},
                                   {"trap_exit", l_trap_exit},
                                   {"parent", l_parent},
                                   {"spawn_link", l_spawn_link},
                                   {"spawn_monitor", l_spawn_monitor},
                                   {"launch_link", l_launch_link},
                                   {"launch_monitor", l_launch_monitor},
                                   {"on_exit", l_on_exit},
                                   {"on_down", l_on_down},
                                   {"on_node", l_on_node},
                                   {"monitor_node", l_monitor_node},
                                   {"demonitor_node", l_demonitor_node},
                                   {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}

static void node_event(lua_State *L, const sky_msg *m)
{
    const char *what = m->type_id == SKY_NODE_UP ? "up" : m->type_id == SKY_NODE_WRITABLE ? "writable" : "down";
    if (lua_getfield(L, LUA_REGISTRYINDEX, ON_NODE_KEY) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        sky_log(sky__lua_ctx(L), SKY_LOG_DEBUG, "lua %s: node %.*s is %s and no sky.on_node function",
                sky__lua_name(L), (int)m->size, (const char *)m->data, what);
        return;
    }
    lua_pushlstring(L, m->data ? m->data : "", m->size);
    lua_pushstring(L, what);
    sky__lua_run(L, 2, NULL, NULL);
}

void sky__lua_proc_signal(lua_State *L, const sky_msg *m)
{
    if (m->kind == SKY_NODE) {
        node_event(L, m);
        return;
    }
    int down = m->kind == SKY_DOWN;
    if (lua_getfield(L, LUA_REGISTRYINDEX, down ? ON_DOWN_KEY : ON_EXIT_KEY) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        sky_log(sky__lua_ctx(L), SKY_LOG_DEBUG, "lua %s: a %s of %llx (%s) and no sky.%s function",
                sky__lua_name(L), down ? "down" : "trapped exit", (unsigned long long)m->source,
                sky_reason_name((int)m->type_id), down ? "on_down" : "on_exit");
        return;
    }
    int n = 0;
    if (down) {
        lua_pushinteger(L, m->session);
        n++;
    }
    lua_pushinteger(L, (lua_Integer)m->source);
    lua_pushstring(L, sky_reason_name((int)m->type_id));
    if (m->size) lua_pushlstring(L, m->data, m->size);
    else lua_pushnil(L);
    n += 3;
    sky__lua_run(L, n, NULL, NULL);
}
