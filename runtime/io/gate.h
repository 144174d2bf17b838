/* The gate: the built-in C module "gate" that outside clients call
 * services through (docs/protocol.md, "The client protocol"). Every node
 * registers it; the launcher spawns it when the config has gate_port.
 *
 *   sky_node_spawn(node, "gate", "port=7000 max_inflight=16", &addr, err, sizeof err);
 *
 * Spawn arguments: blank-separated key=value words, each optional: host
 * (default 0.0.0.0), port (7000; 0 = any free port), max_frame (1048576
 * bytes), max_connections (1024), idle_timeout_ms (60000), max_inflight
 * (64). The gate registers as "gate" and answers any raw request with
 * the port it listens on, as decimal text. */
#ifndef SKY__GATE_H
#define SKY__GATE_H

#include <stddef.h>
#include "sky/service.h"

typedef struct sky__gate_config {
    char host[64];
    int port;
    size_t max_frame;
    size_t max_connections;
    int idle_timeout_ms;
    int max_inflight;
} sky__gate_config;

extern const sky_module sky__gate_module;

/* The defaults above. */
void sky__gate_config_init(sky__gate_config *c);

/* Applies spawn arguments to *c. Returns 0, or SKY_EINVAL with a line
 * naming the bad key in err. */
int sky__gate_config_parse(sky__gate_config *c, const char *args, char *err, size_t errsize);

#endif
