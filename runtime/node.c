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
#include "cluster/cluster.h"
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
    cfg->cluster_tick_ms = 1000;
    cfg->cluster_down_ms = 5000;
    cfg->cluster_max_message = (size_t)64 << 20;
    cfg->cluster_high_water = (size_t)8 << 20;
    cfg->cluster_low_water = (size_t)2 << 20;
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
    return sky__cluster_check(c, err, errsize);
}

/* ---- the hooks: how the core reaches the layers above it ------------------ */

static int io_timeout(sky_node *n, sky_addr_t to, uint64_t ms, int kind, uint32_t session)
{
    return sky__loop_timeout(sky__node_loop(n), to, ms, kind, session);
}

static void io_wake(sky_node *n) { sky__loop_wake(sky__node_loop(n)); }

/* A node with no cluster: every other node's address is no service, and
 * no "name@node" names one. */
static int alone_remote(sky_node *n, sky_addr_t to, sky__mail *m)
{
    (void)n, (void)to;
    sky__mail_free(m);
    return SKY_ENOSVC;
}

static sky_addr_t alone_whereis(sky_node *n, const char *name, size_t namelen, const char *at, int *rc)
{
    (void)n, (void)name, (void)namelen, (void)at;
    *rc = SKY_ENOENT;
    return SKY_ADDR_NONE;
}

sky_node *sky_node_new(const sky_config *cfg, char *err, size_t errsize)
{
    sky_config dflt;
    if (!cfg) {
        sky_config_init(&dflt);
        cfg = &dflt;
    }
    if (check_config(cfg, err, errsize) != 0) return NULL;
    int clustered = cfg->cluster_size > 0;
    sky_node *n = sky__node_new(cfg, clustered ? sky__cluster_first_serial() : 1);
    sky__hooks h = {
        .timeout = io_timeout,
        .wake = io_wake,
        .socket_handled = sky__socket_handled,
        .socket_owner_exit = sky__socket_owner_exit,
        .typed_handle = sky__typed_handle,
        .typed_free = sky__typed_free,
        .remote = clustered ? sky__cluster_deliver : alone_remote,
        .remote_whereis = clustered ? sky__cluster_whereis : alone_whereis,
    };
    h.loop = sky__loop_new(n);
    if (!h.loop) bad(err, errsize, "cannot create the event loop");
    else h.sockets = sky__sockets_new(n);
    sky__node_set_hooks(n, &h); /* from now on io finds its loop and sockets through them */
    if (h.loop && clustered) {
        h.cluster = sky__cluster_new(n, cfg, err, errsize);
        sky__node_set_hooks(n, &h);
    }
    if (!h.loop || (clustered && !h.cluster)) {
        sky_node_free(n);
        return NULL;
    }
    if (sky_node_register_module(n, &sky__logger_module) != 0) abort(); /* a new registry is empty */
    if (sky_node_register_module(n, &sky__lua_module) != 0) abort();
    if (sky_node_register_module(n, &sky__gate_module) != 0) abort();
    return n;
}

int sky_node_start(sky_node *n)
{
    if (sky__loop_start(sky__node_loop(n)) != 0) return SKY_EINVAL;
    int rc = sky__node_start(n, &sky__logger_module);
    if (rc == 0 && sky__node_hooks(n)->cluster) rc = sky__cluster_start(sky__node_hooks(n)->cluster);
    return rc;
}

void sky_node_free(sky_node *n)
{
    if (!n) return;
    sky__loop *loop = sky__node_loop(n);
    sky__cluster *cluster = sky__node_hooks(n)->cluster;
    sky__node_halt(n);
    if (cluster) sky__cluster_stop(cluster); /* on the loop thread, before it stops */
    if (loop) sky__loop_stop(loop);
    sky__node_takedown(n);
    if (loop) sky__sockets_free(sky__node_sockets(n));
    sky__loop_free(loop);
    sky__cluster_free(cluster);
    sky__node_release(n);
}
