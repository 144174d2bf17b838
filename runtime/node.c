/* The node's assembly: the configuration, and the layers put together.
 * The core (core/node.c) knows nothing above it; here the io layer (the
 * loop thread, sockets, the gate), the schema layer (typed dispatch) and
 * the Lua host are created, hooked into the core and torn down again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/node.h"
#include "schema/typed.h"
#include "io/gate.h"
#include "io/loop.h"
#include "io/socket.h"
#include "lua/host.h"
#include "sky/alloc.h"

void sky_config_init(sky_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->node_id = 1;
    cfg->node_name = "sky";
    cfg->module_path = "./?.so";
    cfg->service_path = "./?.lua";
    cfg->log_level = SKY_LOG_INFO;
    cfg->mailbox_limit = 65536;
    cfg->overload_warn = 1024;
    cfg->call_timeout_ms = 5000;
    cfg->batch = 32;
    cfg->max_services = (size_t)1 << 22;
    cfg->lua_mem_limit = SKY_LUA_MEM_DEFAULT;
    cfg->lua_budget = SKY_LUA_BUDGET_DEFAULT;
    cfg->socket_high_water = (size_t)1 << 20;
    cfg->socket_low_water = (size_t)256 << 10;
    cfg->socket_read_limit = (size_t)1 << 20;
    cfg->loop_warn_ms = 1000;
}

static int bad(char *err, size_t errsize, const char *what)
{
    if (err) snprintf(err, errsize, "%s", what);
    return -1;
}

static int check_config(const sky_config *c, char *err, size_t errsize)
{
    if (c->threads < 0 || c->threads > 1024) return bad(err, errsize, "threads: must be 0..1024 (0 = cores)");
    if (c->mailbox_limit < 1 || c->mailbox_limit > UINT32_MAX / 2)
        return bad(err, errsize, "mailbox_limit: must be 1..2147483647");
    if (c->call_timeout_ms < 1) return bad(err, errsize, "call_timeout_ms: must be >= 1");
    if (c->batch < 1 || c->batch > 65536) return bad(err, errsize, "batch: must be 1..65536");
    if (c->max_services < 1) return bad(err, errsize, "max_services: must be >= 1");
    if (c->lua_mem_limit < SKY_LUA_MEM_MIN) return bad(err, errsize, "lua_mem_limit: must be >= 65536 (bytes)");
    if (c->lua_budget < 1) return bad(err, errsize, "lua_budget: must be >= 1 (instructions)");
    if (c->loop_warn_ms < 0) return bad(err, errsize, "loop_warn_ms: must be >= 0 (0 = off)");
    if (c->log_level < SKY_LOG_ERROR || c->log_level > SKY_LOG_DEBUG)
        return bad(err, errsize, "log_level: must be SKY_LOG_ERROR..SKY_LOG_DEBUG");
    if (c->socket_high_water < 1) return bad(err, errsize, "socket_high_water: must be >= 1 (bytes)");
    if (c->socket_low_water >= c->socket_high_water)
        return bad(err, errsize, "socket_low_water: must be below socket_high_water");
    if (c->socket_read_limit < 1) return bad(err, errsize, "socket_read_limit: must be >= 1 (bytes)");
    return 0;
}

/* ---- the hooks: how the core reaches the layers above it ------------------ */

static int io_timeout(sky_node *n, sky_addr_t to, uint64_t ms, int kind, uint32_t session)
{
    return sky__loop_timeout(sky__node_loop(n), to, ms, kind, session);
}

static void io_wake(sky_node *n) { sky__loop_wake(sky__node_loop(n)); }

sky_node *sky_node_new(const sky_config *cfg, char *err, size_t errsize)
{
    sky_config dflt;
    if (!cfg) {
        sky_config_init(&dflt);
        cfg = &dflt;
    }
    if (check_config(cfg, err, errsize) != 0) return NULL;
    sky_node *n = sky__node_new(cfg);
    sky__hooks h = {
        .timeout = io_timeout,
        .wake = io_wake,
        .socket_handled = sky__socket_handled,
        .socket_owner_exit = sky__socket_owner_exit,
        .typed_handle = sky__typed_handle,
        .typed_free = sky__typed_free,
    };
    h.loop = sky__loop_new(n);
    if (!h.loop) {
        bad(err, errsize, "cannot create the event loop");
        sky__node_halt(n);
        sky__node_takedown(n);
        sky__node_release(n);
        return NULL;
    }
    h.sockets = sky__sockets_new(n);
    sky__node_set_hooks(n, &h); /* from now on io finds its loop and sockets through them */
    if (sky_node_register_module(n, &sky__logger_module) != 0) abort(); /* a new registry is empty */
    if (sky_node_register_module(n, &sky__lua_module) != 0) abort();
    if (sky_node_register_module(n, &sky__gate_module) != 0) abort();
    return n;
}

int sky_node_start(sky_node *n)
{
    if (sky__loop_start(sky__node_loop(n)) != 0) return SKY_EINVAL;
    return sky__node_start(n, &sky__logger_module);
}

void sky_node_free(sky_node *n)
{
    if (!n) return;
    sky__loop *loop = sky__node_loop(n);
    sky__node_halt(n);
    sky__loop_stop(loop);
    sky__node_takedown(n);
    sky__sockets_free(sky__node_sockets(n));
    sky__loop_free(loop);
    sky__node_release(n);
}
