/* The cluster's membership as the launcher reads it. The table is checked
 * member by member in name order, so the member a message names does not
 * depend on Lua's table order; the runtime checks it once more when the
 * node is created or the membership replaced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "launcher/members.h"
#include "launcher/sandbox.h"

#define FORMAT "{id = N, address = \"host:port\"}"

static int by_name(const void *a, const void *b)
{
    return strcmp(((const sky_cluster_member *)a)->name, ((const sky_cluster_member *)b)->name);
}

/* 1..255 bytes of printable ASCII, no space, no '@' (which "name@node"
 * uses): what the runtime accepts as a node name. */
static int name_ok(const char *name, size_t len)
{
    if (len < 1 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e || name[i] == '@')
            return 0;
    return 1;
}

/* "host:port", "[v6]:port": a host before the last ':', a port 1..65535
 * after it. Whether the host resolves is the runtime's to find out. */
static int address_ok(const char *a)
{
    const char *colon = strrchr(a, ':');
    long port = 0;

    if (!colon || colon == a || !colon[1] || strlen(colon + 1) > 5)
        return 0;
    if (a[0] == '[' && (colon[-1] != ']' || colon - a < 3))
        return 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

static char *copy(lua_State *L, const char *where, const char *s)
{
    char *c = strdup(s);
    if (!c)
        luaL_error(L, "%s: out of memory", where);
    return c;
}

/* Refuses a field of the entry at the top of the stack that is neither
 * id nor address (the one that sorts first). */
static void check_fields(lua_State *L, const char *where, const char *name)
{
    const char *first = NULL;

    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: cluster: member '%s': unknown field of type %s (an entry is " FORMAT ")", where,
                       name, luaL_typename(L, -1));
        const char *k = lua_tostring(L, -1);
        if (strcmp(k, "id") != 0 && strcmp(k, "address") != 0 && (!first || strcmp(k, first) < 0))
            first = k; /* stays valid: the entry anchors it */
    }
    if (first)
        luaL_error(L, "%s: cluster: member '%s': unknown field '%s' (an entry is " FORMAT ")", where, name, first);
}

/* Pushes field `key` of the table at `t`, without metamethods. */
static int raw_field(lua_State *L, int t, const char *key)
{
    lua_pushstring(L, key);
    return lua_rawget(L, t);
}

/* Checks the entry of member `name`, at the top of the stack, into *m. */
static void check_entry(lua_State *L, const char *where, const char *name, sky_cluster_member *m)
{
    int entry = lua_gettop(L), isint = 0;

    if (!lua_istable(L, entry))
        luaL_error(L, "%s: cluster: member '%s': expected a table " FORMAT ", got %s", where, name,
                   luaL_typename(L, entry));
    check_fields(L, where, name);
    int type = raw_field(L, entry, "id");
    if (type == LUA_TNIL)
        luaL_error(L, "%s: cluster: member '%s': missing id", where, name);
    if (type != LUA_TNUMBER)
        luaL_error(L, "%s: cluster: member '%s': id: expected integer, got %s", where, name, lua_typename(L, type));
    lua_Integer id = lua_tointegerx(L, -1, &isint);
    if (!isint)
        luaL_error(L, "%s: cluster: member '%s': id: expected integer, got %f", where, name, lua_tonumber(L, -1));
    if (id < 0 || id > 65535)
        luaL_error(L, "%s: cluster: member '%s': id: expected integer in 0..65535, got %I", where, name, id);
    m->id = (uint16_t)id;

    size_t len;
    type = raw_field(L, entry, "address");
    if (type == LUA_TNIL)
        luaL_error(L, "%s: cluster: member '%s': missing address", where, name);
    if (type != LUA_TSTRING)
        luaL_error(L, "%s: cluster: member '%s': address: expected string, got %s", where, name,
                   lua_typename(L, type));
    const char *address = lua_tolstring(L, -1, &len);
    if (strlen(address) != len || !address_ok(address))
        luaL_error(L, "%s: cluster: member '%s': address '%s' is not \"host:port\" (port 1..65535)", where, name,
                   address);
    m->address = copy(L, where, address);
    lua_settop(L, entry - 1);
}

void sky_launcher_members_check(lua_State *L, int idx, const char *where, struct sky_launcher_members *out)
{
    size_t n = 0;

    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: cluster: member names are strings, got a %s key (write NAME = " FORMAT ")", where,
                       luaL_typename(L, -1));
        n++;
    }
    out->member = calloc(n ? n : 1, sizeof *out->member);
    if (!out->member)
        luaL_error(L, "%s: out of memory", where);
    const char *bad = NULL;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t len;
        lua_pop(L, 1);
        const char *name = lua_tolstring(L, -1, &len);
        if (!name_ok(name, len) && (!bad || strcmp(name, bad) < 0))
            bad = name; /* stays valid: the table anchors it */
        else if (!bad)
            out->member[out->count++].name = copy(L, where, name);
    }
    if (bad)
        luaL_error(L, "%s: cluster: member '%s': a name is 1..255 printable characters, no space, no '@'", where,
                   bad);
    qsort(out->member, n, sizeof *out->member, by_name);

    /* the member that first took each id, + 1 */
    uint32_t *owner = lua_newuserdatauv(L, sizeof(uint32_t) * 65536, 0);
    memset(owner, 0, sizeof(uint32_t) * 65536);
    for (size_t i = 0; i < n; i++) {
        sky_cluster_member *m = &out->member[i];
        raw_field(L, idx, m->name);
        check_entry(L, where, m->name, m);
        if (owner[m->id])
            luaL_error(L, "%s: cluster: members '%s' and '%s' have the same id %d", where,
                       out->member[owner[m->id] - 1].name, m->name, (int)m->id);
        owner[m->id] = (uint32_t)i + 1;
    }
    lua_pop(L, 1);
}

struct file {
    const char *path;
    struct sky_launcher_members *out;
};

static int check_returned(lua_State *L)
{
    struct file *f = lua_touserdata(L, 1);

    if (!lua_istable(L, 3))
        return luaL_error(L, "%s: must return the member table {NAME = " FORMAT ", ...}, got %s", f->path,
                          luaL_typename(L, 3));
    sky_launcher_members_check(L, 3, f->path, f->out);
    return 0;
}

int sky_launcher_members_load(const char *path, struct sky_launcher_members *out, char *err, size_t errsize)
{
    struct file f = {path, out};

    if (sky_launcher_sandbox_run(path, 1, check_returned, &f, err, errsize) == 0)
        return 0;
    sky_launcher_members_free(out);
    return -1;
}

const sky_cluster_member *sky_launcher_members_find(const struct sky_launcher_members *m, const char *name)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->member[i].name, name) == 0)
            return &m->member[i];
    return NULL;
}

void sky_launcher_members_free(struct sky_launcher_members *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free((char *)m->member[i].name);
        free((char *)m->member[i].address);
    }
    free(m->member);
    m->member = NULL;
    m->count = 0;
}
