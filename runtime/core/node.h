/* The node as the core sees it: its configuration, tables, counters and
 * clock, and the hooks through which the core calls up into the layers
 * above it. runtime/node.c (the assembly) creates the layers and installs
 * the hooks; nothing in core/ includes a header from above. */
#ifndef SKY__NODE_H
#define SKY__NODE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "sky/node.h"

struct sky__handles;
struct sky__sched;
struct sky__pool;
struct sky__service;
struct sky__loop;
struct sky__sockets;
struct sky__mail;
struct sky__cluster;

/* What the core needs from above, one table per node, filled by the
 * assembly before the node starts and read-only afterwards. Every hook is
 * set: a node always has its io and schema layers. */
typedef struct sky__hooks {
    /* io: the loop thread and the socket table, kept here for the layer
     * that made them (the core never looks inside) */
    struct sky__loop *loop;
    struct sky__sockets *sockets;
    /* cluster: the node's links, NULL for a node alone */
    struct sky__cluster *cluster;
    /* io, from any thread: in `ms` milliseconds deliver an empty message
     * of `kind` (SKY_TIMER, or SKY__DEADLINE for call deadlines) with
     * `session` to `to`. Returns 0 or SKY_ESTOPPED. */
    int (*timeout)(sky_node *node, sky_addr_t to, uint64_t ms, int kind, uint32_t session);
    /* io, from any thread and async-signal-safe: the shutdown flag is set;
     * wake whoever waits (the loop thread calls sky__node_notify_shutdown) */
    void (*wake)(sky_node *node);
    /* io: the owner's worker handled a SKY_SOCKET message (`event`, its
     * type id) for socket `id` that carried `size` bytes */
    void (*socket_handled)(sky_node *node, uint32_t event, uint32_t id, size_t size);
    /* io: service `owner` died: close every socket it had */
    void (*socket_owner_exit)(sky_node *node, sky_addr_t owner);
    /* schema: handle a request or oneway for a method s serves (s->typed
     * is set); returns 1 and the handler's result in *rc if it did */
    int (*typed_handle)(struct sky__service *s, const sky_msg *msg, int *rc);
    /* schema: free s->typed (called only when it is set) */
    void (*typed_free)(struct sky__service *s);
    /* cluster, from any thread: deliver mail m (source stamped) to `to`,
     * an address of another node; takes m's payload. Returns as
     * sky__deliver, or SKY_ENODEDOWN (sky__cluster_deliver) */
    int (*remote)(sky_node *node, sky_addr_t to, struct sky__mail *m);
    /* cluster: "name@node" for a node not this one: the address to send
     * to, or SKY_ADDR_NONE with *rc (SKY_ENOENT: no such node) */
    sky_addr_t (*remote_whereis)(sky_node *node, const char *name, size_t namelen, const char *at, int *rc);
} sky__hooks;

/* The front of struct sky_node, public to the core so that its hot paths
 * read a hook or the clock without a call; the rest is private to
 * core/node.c. */
typedef struct sky__node_head {
    sky__hooks hooks;
    uint64_t t0_ns;   /* CLOCK_MONOTONIC at creation: the node's clock starts here */
    uint16_t node_id; /* an address of another node goes to hooks.remote */
    _Atomic int max_timeout_ms; /* the longest deadline a call was given */
} sky__node_head;

static inline uint16_t sky__node_id(sky_node *node) { return ((sky__node_head *)node)->node_id; }

/* The longest call deadline so far: the cluster forgets a remote call's
 * record past it. sky_call notes every deadline. */
static inline int sky__node_max_timeout_ms(sky_node *node)
{
    return atomic_load_explicit(&((sky__node_head *)node)->max_timeout_ms, memory_order_relaxed);
}

static inline void sky__node_note_timeout(sky_node *node, int ms)
{
    _Atomic int *max = &((sky__node_head *)node)->max_timeout_ms;
    if (ms > atomic_load_explicit(max, memory_order_relaxed)) atomic_store_explicit(max, ms, memory_order_relaxed);
}

static inline const sky__hooks *sky__node_hooks(sky_node *node) { return &((sky__node_head *)node)->hooks; }

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t sky__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds and milliseconds on the node's clock (monotonic, from the
 * node's creation), from any thread. Timers, deadlines and sky_now() all
 * read this one clock. */
static inline uint64_t sky__node_now_ns(sky_node *node) { return sky__mono_ns() - ((sky__node_head *)node)->t0_ns; }
static inline uint64_t sky__node_now_ms(sky_node *node) { return sky__node_now_ns(node) / 1000000u; }

/* Creates the node's core from a checked configuration (copied, but not
 * its cluster members and secret: the cluster wing keeps those): the
 * pool, the address table (serials from first_serial), an empty module
 * registry and the scheduler (not started). Hooks are all NULL until
 * sky__node_set_hooks. */
sky_node *sky__node_new(const sky_config *cfg, uint64_t first_serial);

/* sky_whereis for every caller: a local name, or "name@node" (this node:
 * the local name; another: hooks.remote_whereis). On SKY_ADDR_NONE, *rc
 * (if rc is not NULL) says why: SKY_ENOSVC (no such name here), SKY_ENOENT
 * (no such node), SKY_EINVAL (not a name). */
sky_addr_t sky__node_whereis(sky_node *node, const char *name, int *rc);

/* Installs the hooks (copied). Before sky__node_start. */
void sky__node_set_hooks(sky_node *node, const sky__hooks *hooks);

/* Starts the workers and spawns the logger, a service of `logger_module`
 * (given the config's log_path) registered as "logger", through which
 * sky__log() writes from then on. Returns 0 or a SKY_E* code. */
int sky__node_start(sky_node *node, const sky_module *logger_module);

/* Teardown in three steps, so the assembly can stop its layers between
 * them: sky__node_halt stops and joins the workers; sky__node_takedown
 * flushes the logger and takes every service down (queued requests are
 * answered SKY_ESTOPPED; the hooks still run); sky__node_release frees
 * the rest and the node. Each tolerates a node that never started. */
void sky__node_halt(sky_node *node);
void sky__node_takedown(sky_node *node);
void sky__node_release(sky_node *node);

const sky_config *sky__node_config(sky_node *node);

/* The logger service's address (SKY_ADDR_NONE before it runs and after it
 * stopped: logging then goes straight to stderr). */
sky_addr_t sky__node_logger(sky_node *node);

/* Called on the loop thread after the wake hook: if shutdown was
 * requested, wakes sky_node_wait() and outside callers. */
void sky__node_notify_shutdown(sky_node *node);

/* 1 once sky_node_shutdown() or sky_shutdown() was called. */
int sky__node_stopping(sky_node *node);

/* Logs a line as if from service `source` (SKY_ADDR_NONE = the runtime). */
void sky__log(sky_node *node, sky_addr_t source, int level, const char *fmt, ...) SKY_PRINTF(4, 5);
void sky__vlog(sky_node *node, sky_addr_t source, int level, const char *fmt, va_list ap);

/* Parts of the node, for the core's modules. */
struct sky__handles *sky__node_handles(sky_node *node);
struct sky__sched *sky__node_sched(sky_node *node);
struct sky__pool *sky__node_pool(sky_node *node);

/* Node-wide counters bumped by the runtime. */
enum { SKY__C_SPAWNED, SKY__C_SERVICES, SKY__C_DROPPED, SKY__C_LATE, SKY__C_OVERRUNS, SKY__C_MAX };
void sky__node_count(sky_node *node, int which, int64_t delta);

/* Finds a module by name: registered ones, then the module path. On
 * failure writes why (naming the paths searched) to err. */
const sky_module *sky__node_module(sky_node *node, const char *name, char *err, size_t errsize);

#endif
