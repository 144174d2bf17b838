/* sky — a node: one process running services on worker threads.
 *
 * Embedding the runtime in a C program:
 *
 *   sky_config cfg;
 *   sky_config_init(&cfg);
 *   cfg.threads = 2;
 *   sky_node *node = sky_node_new(&cfg, err, sizeof err);
 *   sky_node_register_module(node, &my_module);
 *   sky_node_start(node);
 *   sky_node_spawn(node, "my", "args", &addr);
 *   sky_node_wait(node, -1);      // until a service calls sky_shutdown()
 *   sky_node_free(node);          // stops, joins every thread, frees all
 */
#ifndef SKY_NODE_H
#define SKY_NODE_H

#include <stddef.h>
#include <stdint.h>
#include "sky/error.h"
#include "sky/msg.h"
#include "sky/service.h"

/* One node of a cluster, as the membership names it (docs/cluster.md). */
typedef struct sky_cluster_member {
    const char *name;    /* its node_name: 1..255 bytes of printable ASCII, no space */
    uint16_t id;         /* its node_id: the high 16 bits of its addresses */
    const char *address; /* "host:port" where it listens for links */
} sky_cluster_member;

typedef struct sky_config {
    int threads;               /* worker threads; 0 = number of cores */
    uint16_t node_id;          /* 0..65535: the high 16 bits of addresses */
    const char *node_name;     /* for logs; default "sky" */
    const char *module_path;   /* ';'-separated patterns, '?' = module name */
    const char *service_path;  /* ';'-separated patterns for Lua services */
    const char *log_path;      /* NULL = stderr */
    int log_level;             /* SKY_LOG_*: lines above it are dropped */
    size_t mailbox_limit;      /* default bound per service (messages) */
    size_t overload_warn;      /* first queue length that logs a warning */
    int call_timeout_ms;       /* default call deadline */
    int batch;                 /* messages a service handles per turn */
    size_t max_services;       /* services alive at once */
    size_t lua_mem_limit;      /* bytes per Lua service state (>= 65536) */
    int64_t lua_budget;        /* Lua instructions per message (>= 1) */
    size_t socket_high_water;  /* bytes a socket's write queue takes (sky/socket.h) */
    size_t socket_low_water;   /* a refused writer hears "writable" at this (< high) */
    size_t socket_read_limit;  /* unhandled bytes of a socket's data events */
    int loop_warn_ms;          /* a handler running longer is reported; 0 = off */
    /* The cluster (docs/cluster.md): off while cluster_size is 0. Then
     * node_name must name a member and node_id be that member's id; the
     * node listens on its member's address. */
    const sky_cluster_member *cluster; /* every member, this node included */
    size_t cluster_size;
    const void *cluster_secret; /* the shared secret, cluster_secret_len bytes (> 0) */
    size_t cluster_secret_len;
    int cluster_tick_ms;        /* a tick on an idle link this often */
    int cluster_down_ms;        /* a link silent this long is down (> tick) */
    size_t cluster_max_message; /* the largest message a link carries */
    size_t cluster_high_water;  /* bytes a link's send queue takes */
    size_t cluster_low_water;   /* a link drained to this is writable again (< high) */
} sky_config;

/* Fills *cfg with the defaults: threads 0, node_id 1, module_path
 * "./?.so", mailbox_limit 65536, overload_warn 1024, call_timeout_ms 5000,
 * batch 32, max_services 1<<22, lua_mem_limit 32 MiB, lua_budget 10^7,
 * socket_high_water 1 MiB, socket_low_water 256 KiB, socket_read_limit
 * 1 MiB, loop_warn_ms 1000; no cluster, cluster_tick_ms 1000,
 * cluster_down_ms 5000, cluster_max_message 64 MiB, cluster_high_water
 * 8 MiB, cluster_low_water 2 MiB.
 * A Lua service may override the two Lua limits when spawned (see
 * docs/lua.md, "Memory and instructions"). */
void sky_config_init(sky_config *cfg);

/* Creates a node (no threads yet). On error returns NULL and writes a
 * message naming the bad setting to err (if not NULL). The config's strings
 * are copied. */
sky_node *sky_node_new(const sky_config *cfg, char *err, size_t errsize);

/* Makes `mod` spawnable by name without dlopen. `mod` must outlive the
 * node. Returns 0, SKY_EINVAL or SKY_EEXIST. */
SKY_MUST_CHECK int sky_node_register_module(sky_node *node, const sky_module *mod);

/* Starts the loop thread, the workers and the logger service. Returns 0 or
 * SKY_EINVAL (already started). */
SKY_MUST_CHECK int sky_node_start(sky_node *node);

/* Spawns a service from outside any service (see sky_spawn()). On failure
 * err (if not NULL) says why: for a missing module, the paths searched;
 * for an init that failed, the reason it gave (sky_exit_with() before
 * returning its error; a Lua service's load error, as "Lua service NAME:
 * FILE:LINE: ..."), or the name its sky_register() was refused
 * ("the name 'NAME' is taken"), else the code's sky_strerror(). */
SKY_MUST_CHECK int sky_node_spawn(sky_node *node, const char *module, const char *args, sky_addr_t *out,
                                  char *err, size_t errsize);

/* What sky_node_spawn_monitor() calls once its service exits: `reason` is
 * a SKY_REASON_* (sky/service.h), `text` the exit's text (NULL: none;
 * valid during the call only). It runs on the thread where the service
 * ends (a worker's, or the spawner's inside the spawn if the service ends
 * in its init), so it must not block; it may call sky_node_shutdown(). */
typedef void (*sky_down_fn)(void *ud, sky_addr_t who, int reason, const char *text);

/* sky_node_spawn(), watched from outside: on_down is in place before the
 * service's init runs, so no exit goes unseen, even one right after the
 * spawn. When the service exits, on_down(ud, address, reason, text) runs
 * once; not if the spawn fails, nor once the node is stopping
 * (sky_node_shutdown(), sky_node_free()). The service has no parent
 * (sky_parent()), as with sky_node_spawn(). Returns as sky_node_spawn(),
 * or SKY_EINVAL if on_down is NULL. The launcher watches its bootstrap
 * service this way. */
SKY_MUST_CHECK int sky_node_spawn_monitor(sky_node *node, const char *module, const char *args, sky_addr_t *out,
                                          char *err, size_t errsize, sky_down_fn on_down, void *ud);

/* Sends from outside any service: source is SKY_ADDR_NONE. Same ownership
 * and errors as sky_send(). */
SKY_MUST_CHECK int sky_node_send(sky_node *node, sky_addr_t to, sky_msg *msg);

/* Calls `to` from outside any service and blocks until the answer, the
 * deadline (timeout_ms <= 0: node default) or node shutdown. Takes
 * ownership of req->data. On 0, *reply holds the response and its data is
 * the caller's to free(). On an error reply, returns its code and, if
 * errbuf is given, its text. */
SKY_MUST_CHECK int sky_node_call(sky_node *node, sky_addr_t to, sky_msg *req, int timeout_ms, sky_msg *reply,
                                 char *errbuf, size_t errsize);

/* sky_node_call that hands over an error reply too, for its application
 * code and details: *reply gets the answer whatever it is — on 0 the
 * response; on an error reply its code is returned and reply->kind is
 * SKY_ERROR, its payload a sky.Status (sky_error_text(),
 * sky_error_app_code() and sky_error_details() read it); on any other
 * failure (the deadline, SKY_ENOSVC at once, shutdown) reply->kind is 0
 * and reply->data NULL. reply->data is the caller's to free() in every
 * case. The typed stubs' _node_call functions are built on it. */
SKY_MUST_CHECK int sky_node_call_reply(sky_node *node, sky_addr_t to, sky_msg *req, int timeout_ms, sky_msg *reply);

/* The address registered under `name`, or SKY_ADDR_NONE. */
sky_addr_t sky_node_whereis(sky_node *node, const char *name);

/* Asks service `who` to exit. Returns 0 or SKY_ENOSVC. */
SKY_MUST_CHECK int sky_node_kill(sky_node *node, sky_addr_t who);

/* Requests shutdown; sky_node_wait() then returns. Safe from any thread
 * and from a signal handler. */
void sky_node_shutdown(sky_node *node);

/* Blocks until shutdown is requested (timeout_ms < 0: no limit). Returns 0,
 * or SKY_ETIMEDOUT if the time passed first. */
int sky_node_wait(sky_node *node, int timeout_ms);

/* Stops the node if it runs (workers finish the message in hand; mail still
 * queued is freed and its requests answered with SKY_ESTOPPED), joins every
 * thread, releases every service and frees everything. NULL is a no-op. */
void sky_node_free(sky_node *node);

/* Counters of one service. */
typedef struct sky_service_stat {
    uint64_t received;   /* messages handled */
    uint64_t sent;       /* messages sent */
    uint64_t dropped;    /* sends refused because its mailbox was full */
    uint64_t bad;        /* payloads rejected (SKY_EBADMSG) */
    uint64_t errors;     /* handler failures */
    size_t queued;       /* messages waiting now */
    size_t limit;        /* its mailbox bound */
} sky_service_stat;

/* Node-wide counters. */
typedef struct sky_node_stat {
    uint64_t services;        /* alive now */
    uint64_t spawned;         /* ever */
    uint64_t messages;        /* handled */
    uint64_t dropped;         /* sends refused with SKY_EBUSY */
    uint64_t late_replies;    /* replies that came after their deadline */
    uint64_t wakeups;         /* times a sleeping worker was woken */
    uint64_t overruns;        /* messages whose handler ran past loop_warn_ms */
} sky_node_stat;

/* Returns 0 or SKY_ENOSVC. */
SKY_MUST_CHECK int sky_service_stat_get(sky_node *node, sky_addr_t who, sky_service_stat *out);
void sky_node_stat_get(sky_node *node, sky_node_stat *out);

/* The node's id. */
uint16_t sky_node_id(sky_node *node);

/* The node's name (node_name). */
const char *sky_node_name(sky_node *node);

/* ---- the cluster (docs/cluster.md) --------------------------------------- */

/* A node of the cluster as this node sees it now. */
typedef struct sky_node_info {
    char name[256];
    uint16_t id;
    int up;          /* 1: its link is up (always 1 for this node itself) */
    int self;        /* 1: this node */
} sky_node_info;

/* Fills out[0..max) with the cluster's members, this node first, and
 * returns how many there are (which may be more than max). A node with no
 * cluster lists itself only. */
size_t sky_node_nodes(sky_node *node, sky_node_info *out, size_t max);

/* Replaces the membership while the node runs (the launcher calls it on
 * SIGHUP with cluster_file read again): new members are connected,
 * members no longer listed go down and their links close. This node's own
 * entry must stay as it was (name, id, address). Returns 0, or SKY_EINVAL
 * with err saying why (nothing changed), or SKY_ENOTSUP if the node was
 * not started with a cluster. */
SKY_MUST_CHECK int sky_node_cluster_update(sky_node *node, const sky_cluster_member *members, size_t n, char *err,
                                           size_t errsize);

#endif
