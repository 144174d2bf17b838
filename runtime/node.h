/* Node internals shared by the runtime's modules. */
#ifndef SKY__NODE_H
#define SKY__NODE_H

#include <stdarg.h>
#include "sky/node.h"
#include "loop.h"

struct sky__handles;
struct sky__sched;
struct sky__pool;

const sky_config *sky__node_config(sky_node *node);
sky__loop *sky__node_loop(sky_node *node);

/* The logger service's address (SKY_ADDR_NONE before it runs and after it
 * stopped: logging then goes straight to stderr). */
sky_addr_t sky__node_logger(sky_node *node);

/* Called on the loop thread after sky__loop_wake(): if shutdown was
 * requested, wakes sky_node_wait(). */
void sky__node_notify_shutdown(sky_node *node);

/* 1 once sky_node_shutdown() or sky_shutdown() was called. */
int sky__node_stopping(sky_node *node);

/* Logs a line as if from service `source` (SKY_ADDR_NONE = the runtime). */
void sky__log(sky_node *node, sky_addr_t source, int level, const char *fmt, ...) SKY_PRINTF(4, 5);
void sky__vlog(sky_node *node, sky_addr_t source, int level, const char *fmt, va_list ap);

/* Parts of the node, for the runtime's modules. */
struct sky__handles *sky__node_handles(sky_node *node);
struct sky__sched *sky__node_sched(sky_node *node);
struct sky__pool *sky__node_pool(sky_node *node);
struct sky__sockets *sky__node_sockets(sky_node *node);

/* Node-wide counters bumped by the runtime. */
enum { SKY__C_SPAWNED, SKY__C_SERVICES, SKY__C_DROPPED, SKY__C_LATE, SKY__C_OVERRUNS, SKY__C_MAX };
void sky__node_count(sky_node *node, int which, int64_t delta);

/* Finds a module by name: registered ones, then the module path. On
 * failure writes why (naming the paths searched) to err. */
const sky_module *sky__node_module(sky_node *node, const char *name, char *err, size_t errsize);

#endif
