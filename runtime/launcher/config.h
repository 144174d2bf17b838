/* The launcher's config file: a Lua chunk, run in a sandbox, whose global
 * assignments are the settings (see docs/launcher.md).
 *
 *   struct sky_launcher_config lc;
 *   char err[512];
 *   if (sky_launcher_load("node.lua", &lc, err, sizeof err) != 0) {
 *       fprintf(stderr, "sky: %s\n", err);      // names the file and key
 *       return 2;
 *   }
 *   sky_config cfg;
 *   sky_config_init(&cfg);
 *   sky_launcher_apply(&lc, &cfg);              // cfg borrows lc's strings
 *   ...
 *   sky_launcher_deinit(&lc);
 *
 * Parsing needs only Lua, not the runtime, so it can be tested alone. */
#ifndef SKY_LAUNCHER_CONFIG_H
#define SKY_LAUNCHER_CONFIG_H

#include <stddef.h>
#include "launcher/members.h"
#include "sky/node.h"

/* Every setting the file may give. Strings are owned (NULL = not given);
 * integers are -1 when not given, so the runtime's default stands. */
struct sky_launcher_config {
    char *bootstrap;        /* required: module of the first service */
    char *bootstrap_args;   /* "" when not given */
    char *node_name;
    char *module_path;
    char *service_path;
    char *log_path;         /* key `log` */
    long long threads;
    long long node_id;
    long long log_level;    /* SKY_LOG_* */
    long long mailbox_limit;
    long long overload_warn;
    long long call_timeout_ms;
    long long batch;
    long long max_services;
    long long lua_mem_limit;
    long long lua_budget;
    long long socket_high_water;
    long long socket_low_water;
    long long socket_read_limit;
    long long gate_port;            /* given: the launcher spawns the gate */
    char *gate_host;
    long long gate_max_frame;
    long long gate_max_connections;
    long long gate_idle_timeout_ms;
    long long gate_max_inflight;
    long long loop_warn_ms; /* 0 = the endless-loop monitor is off */
    /* The cluster (docs/launcher.md, "Cluster"). node_id is set from this
     * node's member when the file does not give it. */
    struct sky_launcher_members cluster; /* from `cluster` or `cluster_file` */
    char *cluster_file;         /* as opened: relative to the config's directory */
    char *cluster_secret;       /* cluster_secret_len bytes, from either key */
    size_t cluster_secret_len;
    char *cluster_secret_file;  /* as opened */
    long long cluster_tick_ms;
    long long cluster_down_ms;
    long long cluster_max_message;
    long long cluster_high_water;
    long long cluster_low_water;
};

/* Runs the config file at `path` and checks every key. On success fills
 * *out (release with sky_launcher_deinit()) and returns 0. On failure
 * returns -1, leaves *out empty (deinit is then optional), and writes to
 * err one line naming the file and the problem: "node.lua: unknown key
 * 'thread' (did you mean 'threads'?)", or Lua's own "node.lua:3: ..." for
 * a syntax or runtime error in the file (or in the cluster_file, which it
 * runs too). */
int sky_launcher_load(const char *path, struct sky_launcher_config *out, char *err, size_t errsize);

/* Frees the strings of *lc and resets it. Safe to call twice. */
void sky_launcher_deinit(struct sky_launcher_config *lc);

/* Copies the settings that were given into *cfg, which should hold
 * sky_config_init() defaults. cfg's strings point into lc, which must
 * outlive it (sky_node_new() copies them). */
void sky_launcher_apply(const struct sky_launcher_config *lc, sky_config *cfg);

/* Checks the pairs of settings the runtime checks when it creates the node
 * (socket_low_water below socket_high_water, cluster_down_ms above
 * cluster_tick_ms, cluster_low_water below cluster_high_water), for
 * `sky --check`, which creates no node. Returns 0, or -1 with the
 * runtime's message in err ("cluster_down_ms: must be above
 * cluster_tick_ms (1000)"). */
int sky_launcher_check_pairs(const sky_config *cfg, char *err, size_t errsize);

/* Writes the gate's spawn arguments ("port=7000 max_inflight=8 ...", the
 * gate_* keys given) to out. Returns 1 if gate_port was given (the gate
 * is to run), else 0. */
int sky_launcher_gate_args(const struct sky_launcher_config *lc, char *out, size_t size);

#endif
