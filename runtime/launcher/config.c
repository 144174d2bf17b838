/* The launcher's config file: run in the sandbox (sandbox.c), then every
 * key checked, so a typo ends in a message instead of a half-configured
 * node. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "launcher/config.h"
#include "launcher/sandbox.h"
#include "launcher/secret.h"

#if SIZE_MAX >= LLONG_MAX
#define SIZE_LIMIT LLONG_MAX
#else
#define SIZE_LIMIT ((long long)SIZE_MAX)
#endif

enum kind { K_INT, K_STR, K_LEVEL, K_TABLE };

struct key {
    const char *name;
    enum kind kind;
    size_t off;              /* of the field in sky_launcher_config */
    long long min, max;      /* K_INT */
    int flags;
};

#define REQUIRED 1
#define MAY_BE_EMPTY 2

#define OFF(f) offsetof(struct sky_launcher_config, f)

/* Checked in this order, so the first bad key in it is the one reported. */
static const struct key keys[] = {
    {"threads", K_INT, OFF(threads), 1, 1024, 0},
    {"node_id", K_INT, OFF(node_id), 0, 65535, 0},
    {"node_name", K_STR, OFF(node_name), 0, 0, 0},
    {"module_path", K_STR, OFF(module_path), 0, 0, 0},
    {"service_path", K_STR, OFF(service_path), 0, 0, 0},
    {"bootstrap", K_STR, OFF(bootstrap), 0, 0, REQUIRED},
    {"bootstrap_args", K_STR, OFF(bootstrap_args), 0, 0, MAY_BE_EMPTY},
    {"log", K_STR, OFF(log_path), 0, 0, 0},
    {"log_level", K_LEVEL, OFF(log_level), 0, 0, 0},
    {"mailbox_limit", K_INT, OFF(mailbox_limit), 1, SIZE_LIMIT, 0},
    {"overload_warn", K_INT, OFF(overload_warn), 1, SIZE_LIMIT, 0},
    {"call_timeout_ms", K_INT, OFF(call_timeout_ms), 1, INT_MAX, 0},
    {"batch", K_INT, OFF(batch), 1, INT_MAX, 0},
    {"max_services", K_INT, OFF(max_services), 1, SIZE_LIMIT, 0},
    {"lua_mem_limit", K_INT, OFF(lua_mem_limit), 65536, SIZE_LIMIT, 0},
    {"lua_budget", K_INT, OFF(lua_budget), 1, SIZE_LIMIT, 0},
    {"socket_high_water", K_INT, OFF(socket_high_water), 1, SIZE_LIMIT, 0},
    {"socket_low_water", K_INT, OFF(socket_low_water), 0, SIZE_LIMIT, 0},
    {"socket_read_limit", K_INT, OFF(socket_read_limit), 1, SIZE_LIMIT, 0},
    {"gate_port", K_INT, OFF(gate_port), 0, 65535, 0},
    {"gate_host", K_STR, OFF(gate_host), 0, 0, 0},
    {"gate_max_frame", K_INT, OFF(gate_max_frame), 12, INT_MAX, 0},
    {"gate_max_connections", K_INT, OFF(gate_max_connections), 1, INT_MAX, 0},
    {"gate_idle_timeout_ms", K_INT, OFF(gate_idle_timeout_ms), 1, INT_MAX, 0},
    {"gate_max_inflight", K_INT, OFF(gate_max_inflight), 1, INT_MAX, 0},
    {"loop_warn_ms", K_INT, OFF(loop_warn_ms), 0, INT_MAX, 0},
    {"cluster", K_TABLE, OFF(cluster), 0, 0, 0},
    {"cluster_file", K_STR, OFF(cluster_file), 0, 0, 0},
    {"cluster_secret", K_STR, OFF(cluster_secret), 0, 0, 0},
    {"cluster_secret_file", K_STR, OFF(cluster_secret_file), 0, 0, 0},
    {"cluster_tick_ms", K_INT, OFF(cluster_tick_ms), 1, INT_MAX, 0},
    {"cluster_down_ms", K_INT, OFF(cluster_down_ms), 1, INT_MAX, 0},
    {"cluster_max_message", K_INT, OFF(cluster_max_message), 1024, 4294967295LL, 0},
    {"cluster_high_water", K_INT, OFF(cluster_high_water), 1, SIZE_LIMIT, 0},
    {"cluster_low_water", K_INT, OFF(cluster_low_water), 0, SIZE_LIMIT, 0},
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const levels[] = {"error", "warn", "info", "debug"}; /* SKY_LOG_* order */

struct load {
    const char *path;
    struct sky_launcher_config *out;
};

static void reset(struct sky_launcher_config *lc)
{
    memset(lc, 0, sizeof *lc);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind == K_INT || keys[i].kind == K_LEVEL)
            *(long long *)((char *)lc + keys[i].off) = -1;
}

void sky_launcher_deinit(struct sky_launcher_config *lc)
{
    sky_launcher_secret_free(lc->cluster_secret, lc->cluster_secret_len);
    lc->cluster_secret = NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].kind == K_STR)
            free(*(char **)((char *)lc + keys[i].off));
    sky_launcher_members_free(&lc->cluster);
    reset(lc);
}

void sky_launcher_apply(const struct sky_launcher_config *lc, sky_config *cfg)
{
    if (lc->threads >= 0)
        cfg->threads = (int)lc->threads;
    if (lc->node_id >= 0)
        cfg->node_id = (uint16_t)lc->node_id;
    if (lc->node_name)
        cfg->node_name = lc->node_name;
    if (lc->module_path)
        cfg->module_path = lc->module_path;
    if (lc->service_path)
        cfg->service_path = lc->service_path;
    if (lc->log_path)
        cfg->log_path = lc->log_path;
    if (lc->log_level >= 0)
        cfg->log_level = (int)lc->log_level;
    if (lc->mailbox_limit >= 0)
        cfg->mailbox_limit = (size_t)lc->mailbox_limit;
    if (lc->overload_warn >= 0)
        cfg->overload_warn = (size_t)lc->overload_warn;
    if (lc->call_timeout_ms >= 0)
        cfg->call_timeout_ms = (int)lc->call_timeout_ms;
    if (lc->batch >= 0)
        cfg->batch = (int)lc->batch;
    if (lc->max_services >= 0)
        cfg->max_services = (size_t)lc->max_services;
    if (lc->lua_mem_limit >= 0)
        cfg->lua_mem_limit = (size_t)lc->lua_mem_limit;
    if (lc->lua_budget >= 0)
        cfg->lua_budget = (int64_t)lc->lua_budget;
    if (lc->socket_high_water >= 0)
        cfg->socket_high_water = (size_t)lc->socket_high_water;
    if (lc->socket_low_water >= 0)
        cfg->socket_low_water = (size_t)lc->socket_low_water;
    if (lc->socket_read_limit >= 0)
        cfg->socket_read_limit = (size_t)lc->socket_read_limit;
    if (lc->loop_warn_ms >= 0)
        cfg->loop_warn_ms = (int)lc->loop_warn_ms;
    cfg->cluster = lc->cluster.member;
    cfg->cluster_size = lc->cluster.count;
    if (lc->cluster_secret) {
        cfg->cluster_secret = lc->cluster_secret;
        cfg->cluster_secret_len = lc->cluster_secret_len;
    }
    if (lc->cluster_tick_ms >= 0)
        cfg->cluster_tick_ms = (int)lc->cluster_tick_ms;
    if (lc->cluster_down_ms >= 0)
        cfg->cluster_down_ms = (int)lc->cluster_down_ms;
    if (lc->cluster_max_message >= 0)
        cfg->cluster_max_message = (size_t)lc->cluster_max_message;
    if (lc->cluster_high_water >= 0)
        cfg->cluster_high_water = (size_t)lc->cluster_high_water;
    if (lc->cluster_low_water >= 0)
        cfg->cluster_low_water = (size_t)lc->cluster_low_water;
}

int sky_launcher_check_pairs(const sky_config *cfg, char *err, size_t errsize)
{
    if (cfg->socket_low_water >= cfg->socket_high_water)
        snprintf(err, errsize, "socket_low_water: must be below socket_high_water");
    else if (cfg->cluster_size > 0 && cfg->cluster_down_ms <= cfg->cluster_tick_ms)
        snprintf(err, errsize, "cluster_down_ms: must be above cluster_tick_ms (%d)", cfg->cluster_tick_ms);
    else if (cfg->cluster_size > 0 && cfg->cluster_low_water >= cfg->cluster_high_water)
        snprintf(err, errsize, "cluster_low_water: must be below cluster_high_water");
    else
        return 0;
    return -1;
}

int sky_launcher_gate_args(const struct sky_launcher_config *lc, char *out, size_t size)
{
    static const struct {
        const char *word;
        size_t off;
    } words[] = {
        {"port", OFF(gate_port)},
        {"max_frame", OFF(gate_max_frame)},
        {"max_connections", OFF(gate_max_connections)},
        {"idle_timeout_ms", OFF(gate_idle_timeout_ms)},
        {"max_inflight", OFF(gate_max_inflight)},
    };
    size_t n = 0;
    int given = lc->gate_port >= 0;
    out[0] = '\0';
    if (lc->gate_host) n += (size_t)snprintf(out + n, size - n, "host=%s ", lc->gate_host);
    for (size_t i = 0; i < sizeof words / sizeof words[0] && n < size; i++) {
        long long v = *(const long long *)((const char *)lc + words[i].off);
        if (v >= 0) n += (size_t)snprintf(out + n, size - n, "%s=%lld ", words[i].word, v);
    }
    return given;
}

/* ---- checking the keys ------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (lb >= sizeof row / sizeof row[0] || la >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* A close spelling, else a key that contains the name or is contained in
 * it ("logfile" -> "log", "timeout" -> "call_timeout_ms"). */
static const char *suggest(const char *name)
{
    size_t best_d = 3, len = strlen(name);
    const char *best = NULL;

    for (size_t i = 0; i < NKEYS; i++) {
        size_t d = edit_distance(name, keys[i].name);
        if (d < best_d && d < len) {
            best = keys[i].name;
            best_d = d;
        }
    }
    for (size_t i = 0; !best && i < NKEYS && len >= 3; i++)
        if (strlen(keys[i].name) >= 3 && (strstr(keys[i].name, name) || strstr(name, keys[i].name)))
            best = keys[i].name;
    return best;
}

static int unknown_key(lua_State *L, const char *path, const char *name, int type)
{
    const char *best = suggest(name);

    if (best)
        return luaL_error(L, "%s: unknown key '%s' (did you mean '%s'?)", path, name, best);
    if (type == LUA_TFUNCTION)
        return luaL_error(L, "%s: unknown key '%s' (declare helper functions 'local')", path, name);
    return luaL_error(L, "%s: unknown key '%s'", path, name);
}

/* Reports the unknown key that sorts first, so the message does not depend
 * on table order. */
static void check_unknown(lua_State *L, int env, const char *path)
{
    const char *first = NULL;
    int first_type = LUA_TNIL;

    lua_pushnil(L);
    while (lua_next(L, env)) {
        int type = lua_type(L, -1);
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: unknown key of type %s (settings are names)", path, luaL_typename(L, -1));
        const char *k = lua_tostring(L, -1);
        if (!find_key(k) && (!first || strcmp(k, first) < 0)) {
            first = k;     /* stays valid: the table anchors it */
            first_type = type;
        }
    }
    if (first)
        unknown_key(L, path, first, first_type);
}

static long long check_int(lua_State *L, const char *path, const struct key *k)
{
    int isint = 0;

    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "%s: key '%s': expected integer, got %s", path, k->name, luaL_typename(L, -1));
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint)
        luaL_error(L, "%s: key '%s': expected integer, got %f", path, k->name, lua_tonumber(L, -1));
    if (v < k->min || v > k->max) {
        if (k->max == SIZE_LIMIT)
            luaL_error(L, "%s: key '%s': expected integer >= %I, got %I", path, k->name,
                       (lua_Integer)k->min, v);
        luaL_error(L, "%s: key '%s': expected integer in %I..%I, got %I", path, k->name,
                   (lua_Integer)k->min, (lua_Integer)k->max, v);
    }
    return v;
}

static const char *check_str(lua_State *L, const char *path, const struct key *k)
{
    size_t len;

    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s: key '%s': expected string, got %s", path, k->name, luaL_typename(L, -1));
    const char *s = lua_tolstring(L, -1, &len);
    if (len == 0 && !(k->flags & MAY_BE_EMPTY))
        luaL_error(L, "%s: key '%s': expected non-empty string, got \"\"", path, k->name);
    if (strlen(s) != len)
        luaL_error(L, "%s: key '%s': string contains a NUL byte", path, k->name);
    return s;
}

/* The logger opens `log` for append, creating it: what it would refuse at
 * start is refused here, --check included, without creating anything. */
static void check_log(lua_State *L, const char *path, const char *log)
{
    struct stat st;

    if (stat(log, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            luaL_error(L, "%s: key 'log': %s is a directory", path, log);
        if (access(log, W_OK) != 0)
            luaL_error(L, "%s: key 'log': cannot write %s: %s", path, log, strerror(errno));
        return;
    }
    if (errno != ENOENT)
        luaL_error(L, "%s: key 'log': cannot open %s: %s", path, log, strerror(errno));
    const char *slash = strrchr(log, '/');
    if (!slash)
        lua_pushliteral(L, ".");
    else
        lua_pushlstring(L, log, slash == log ? 1 : (size_t)(slash - log));
    if (access(lua_tostring(L, -1), W_OK | X_OK) != 0)
        luaL_error(L, "%s: key 'log': cannot create %s: %s", path, log, strerror(errno));
    lua_pop(L, 1);
}

static void check_known(lua_State *L, int env, struct load *ld)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        void *field = (char *)ld->out + k->off;

        lua_pushstring(L, k->name);
        if (lua_rawget(L, env) == LUA_TNIL) {
            if (k->flags & REQUIRED)
                luaL_error(L, "%s: missing required key '%s'", ld->path, k->name);
            lua_pop(L, 1);
            continue;
        }
        if (k->kind == K_INT) {
            *(long long *)field = check_int(L, ld->path, k);
        } else if (k->kind == K_TABLE) {
            if (!lua_istable(L, -1))
                luaL_error(L, "%s: key '%s': expected table, got %s", ld->path, k->name, luaL_typename(L, -1));
        } else if (k->kind == K_STR) {
            char *copy = strdup(check_str(L, ld->path, k));
            if (!copy)
                luaL_error(L, "%s: out of memory", ld->path);
            *(char **)field = copy;
            if (k->off == OFF(log_path))
                check_log(L, ld->path, copy);
        } else {
            const char *s = check_str(L, ld->path, k);
            long long level = -1;
            for (size_t j = 0; j < sizeof levels / sizeof levels[0]; j++)
                if (strcmp(s, levels[j]) == 0)
                    level = (long long)j;
            if (level < 0)
                luaL_error(L, "%s: key '%s': expected \"error\", \"warn\", \"info\" or \"debug\", got \"%s\"",
                           ld->path, k->name, s);
            *(long long *)field = level;
        }
        lua_pop(L, 1);
    }
    if (!ld->out->bootstrap_args) {
        ld->out->bootstrap_args = strdup("");
        if (!ld->out->bootstrap_args)
            luaL_error(L, "%s: out of memory", ld->path);
    }
}


/* A relative path in the config names a file beside it: replaces *field
 * (a path the file gave) with the path as it is opened. */
static void beside_config(lua_State *L, const char *path, char **field)
{
    const char *slash = strrchr(path, '/');

    if ((*field)[0] == '/' || !slash)
        return;
    lua_pushlstring(L, path, (size_t)(slash - path) + 1); /* the directory, its '/' included */
    lua_pushstring(L, *field);
    lua_concat(L, 2);
    char *copy = strdup(lua_tostring(L, -1));
    if (!copy)
        luaL_error(L, "%s: out of memory", path);
    free(*field);
    *field = copy;
    lua_pop(L, 1);
}

/* The keys that go together: the membership from one of two keys, this
 * node's own member in it, and the secret from one of two keys. */
static void check_cluster(lua_State *L, int env, struct load *ld)
{
    struct sky_launcher_config *lc = ld->out;
    char err[1024];

    lua_pushliteral(L, "cluster");
    int table = lua_rawget(L, env) == LUA_TTABLE;
    if (table && lc->cluster_file)
        luaL_error(L, "%s: keys 'cluster' and 'cluster_file' are both given: use one", ld->path);
    if (table)
        sky_launcher_members_check(L, -1, ld->path, &lc->cluster);
    lua_pop(L, 1);
    if (lc->cluster_file) {
        beside_config(L, ld->path, &lc->cluster_file);
        if (sky_launcher_members_load(lc->cluster_file, &lc->cluster, err, sizeof err) != 0)
            luaL_error(L, "%s: cluster_file: %s", ld->path, err);
    }
    if (lc->cluster_secret && lc->cluster_secret_file)
        luaL_error(L, "%s: keys 'cluster_secret' and 'cluster_secret_file' are both given: use one", ld->path);
    if (lc->cluster_secret)
        lc->cluster_secret_len = strlen(lc->cluster_secret);
    if (lc->cluster_secret_file) {
        beside_config(L, ld->path, &lc->cluster_secret_file);
        if (sky_launcher_secret_read(lc->cluster_secret_file, &lc->cluster_secret, &lc->cluster_secret_len, err,
                                     sizeof err) != 0)
            luaL_error(L, "%s: %s", ld->path, err);
    }
    if (!table && !lc->cluster_file)
        return;

    const char *self = lc->node_name ? lc->node_name : "sky";
    const sky_cluster_member *me = sky_launcher_members_find(&lc->cluster, self);
    if (!me)
        luaL_error(L, "%s: cluster: no member is named '%s' (node_name)", ld->path, self);
    if (lc->node_id >= 0 && lc->node_id != me->id)
        luaL_error(L, "%s: node_id is %d but cluster member '%s' has id %d", ld->path, (int)lc->node_id, self,
                   (int)me->id);
    lc->node_id = me->id;
    if (!lc->cluster_secret)
        luaL_error(L, "%s: cluster: a cluster needs a shared secret: give cluster_secret or cluster_secret_file",
                   ld->path);
}

/* After the file ran: its environment (its globals) is at index 2. */
static int check_all(lua_State *L)
{
    struct load *ld = lua_touserdata(L, 1);

    check_unknown(L, 2, ld->path);
    check_known(L, 2, ld);
    check_cluster(L, 2, ld);
    return 0;
}

int sky_launcher_load(const char *path, struct sky_launcher_config *out, char *err, size_t errsize)
{
    struct load ld = {path, out};

    reset(out);
    if (sky_launcher_sandbox_run(path, 0, check_all, &ld, err, errsize) == 0)
        return 0;
    sky_launcher_deinit(out);
    return -1;
}
