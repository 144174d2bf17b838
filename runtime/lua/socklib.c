/* The `sky` module's sockets (docs/lua.md): sky.connect, sky.listen,
 * sky.udp and the socket objects, over sky/socket.h.
 *
 * A socket object is a userdata; the service's registry table `socks`
 * maps socket ids to them until they close, so events find them. What an
 * event brings waits in the object (user value 1: a string of unread
 * bytes, or for UDP a queue of datagrams) until a read takes it; a fiber
 * waiting in read, write or connect is remembered by its session
 * (sky__lua_wait) and woken by the event (sky__lua_wake). */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "host.h"
#include "skylib.h"
#include "sky/socket.h"

#define SOCKET_MT "sky.socket"

enum { K_TCP = 1, K_LISTEN, K_UDP };

typedef struct lsock {
    uint32_t id;
    int kind;
    int gone;        /* closed by us, the peer or an error */
    uint32_t rwait;  /* a fiber in read/recv */
    size_t rwant;    /* read(n): n; read(): 0 */
    uint32_t wwait;  /* a fiber in write or connect */
} lsock;

static const char socks_key = 0;

/* Pushes the registry's id -> socket table. */
static void push_socks(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &socks_key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &socks_key);
}

static lsock *new_sock(lua_State *L, uint32_t id, int kind)
{
    lsock *s = lua_newuserdatauv(L, sizeof *s, 2);
    memset(s, 0, sizeof *s);
    s->id = id;
    s->kind = kind;
    luaL_setmetatable(L, SOCKET_MT);
    if (kind == K_UDP) {
        lua_newtable(L);
    } else {
        lua_pushliteral(L, "");
    }
    lua_setiuservalue(L, -2, 1);
    push_socks(L);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
    return s;
}

static void forget(lua_State *L, lsock *s)
{
    s->gone = 1;
    push_socks(L);
    lua_pushnil(L);
    lua_rawseti(L, -2, s->id);
    lua_pop(L, 1);
}

static lsock *check_sock(lua_State *L, int kind, const char *what)
{
    lsock *s = luaL_checkudata(L, 1, SOCKET_MT);
    if (kind && s->kind != kind) sky__lua_raise(L, SKY_EINVAL, "%s: not a %s socket", what,
                                                kind == K_UDP ? "UDP" : "TCP");
    return s;
}

static void need_yield(lua_State *L, const char *what)
{
    if (!sky__lua_yieldable(L))
        sky__lua_raise(L, SKY_EINVAL, "%s waits, so it must run in a message handler, a sky.start or "
                       "sky.timeout function, a sky.listen function, or a coroutine they resume", what);
}

static int raise_rc(lua_State *L, int rc, const char *what)
{
    return sky__lua_raise(L, rc, "%s: %s", what, sky_strerror(rc));
}

/* ---- connect ----------------------------------------------------------- */

/* Woken with (true) or (nil, why). */
static int connect_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status, (void)ctx;
    if (lua_toboolean(L, 5)) {
        lua_pushvalue(L, 4); /* the socket */
        return 1;
    }
    return sky__lua_raise(L, SKY_EFAIL, "sky.connect %s:%d: %s", lua_tostring(L, 1), (int)lua_tointeger(L, 2),
                          lua_isstring(L, 6) ? lua_tostring(L, 6) : "closed");
}

/* sky.connect(host, port [, timeout_ms]) -> socket; waits until connected. */
static int l_connect(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    lua_Integer port = luaL_checkinteger(L, 2);
    lua_Integer ms = luaL_optinteger(L, 3, 0);
    need_yield(L, "sky.connect");
    if (port <= 0 || port > 65535 || ms < 0 || ms > INT32_MAX)
        return sky__lua_raise(L, SKY_EINVAL, "sky.connect: bad port or timeout");
    uint32_t id;
    int rc = sky_socket_connect(sky__lua_ctx(L), host, (int)port, (int)ms, &id);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.connect %s:%d: %s", host, (int)port, sky_strerror(rc));
    lua_settop(L, 3);
    lsock *s = new_sock(L, id, K_TCP);
    s->wwait = sky__lua_wait(L, 0);
    return sky__lua_yield(L, 0, connect_k);
}

/* ---- listen ------------------------------------------------------------ */

/* sky.listen(port, function(conn, peer) ... end [, host]) -> listener.
 * Each accepted connection runs the function in a fiber of its own. */
static int l_listen(lua_State *L)
{
    lua_Integer port = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    const char *host = luaL_optstring(L, 3, NULL);
    if (port < 0 || port > 65535) return sky__lua_raise(L, SKY_EINVAL, "sky.listen: bad port (0..65535)");
    uint32_t id;
    int rc = sky_socket_listen(sky__lua_ctx(L), host, (int)port, &id);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.listen %s:%d: %s", host ? host : "0.0.0.0", (int)port,
                                      sky_strerror(rc));
    new_sock(L, id, K_LISTEN);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 2);
    return 1;
}

/* sky.udp([host, port]) -> UDP socket, bound to host:port (any if none). */
static int l_udp(lua_State *L)
{
    const char *host = luaL_optstring(L, 1, NULL);
    lua_Integer port = luaL_optinteger(L, 2, 0);
    if (port < 0 || port > 65535) return sky__lua_raise(L, SKY_EINVAL, "sky.udp: bad port (0..65535)");
    uint32_t id;
    int rc = sky_socket_udp(sky__lua_ctx(L), host, (int)port, &id);
    if (rc < 0) return raise_rc(L, rc, "sky.udp");
    new_sock(L, id, K_UDP);
    return 1;
}

/* ---- reading ----------------------------------------------------------- */

/* Takes what a read of `want` bytes (0: any) gets from the buffer, pushing
 * it; returns 0 (nothing pushed) if it must wait. */
static int take(lua_State *L, int idx, size_t want, int eof)
{
    size_t len;
    lua_getiuservalue(L, idx, 1);
    const char *buf = lua_tolstring(L, -1, &len);
    if (len == 0 || (want && len < want && !eof)) {
        lua_pop(L, 1);
        return 0;
    }
    size_t n = want && want < len ? want : len;
    lua_pushlstring(L, buf + n, len - n);
    lua_setiuservalue(L, idx, 1);
    lua_pushlstring(L, buf, n);
    lua_remove(L, -2);
    return 1;
}

/* What a read of a socket that is gone gets: nil and why (the error's
 * text, or "closed"). Returns 2, the values pushed. */
static int push_end(lua_State *L, int idx)
{
    lua_pushnil(L);
    lua_getiuservalue(L, idx, 2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "closed");
    }
    return 2;
}

static int read_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status, (void)ctx;
    return lua_gettop(L) - 2; /* what the event woke it with, above (socket, n) */
}

/* s:read([n]) -> string: n bytes (fewer only at the end), or whatever
 * came (any amount). nil, "closed" at the end; nil, why after an error. */
static int l_read(lua_State *L)
{
    lsock *s = check_sock(L, K_TCP, "read");
    lua_Integer n = luaL_optinteger(L, 2, 0);
    if (n < 0) return sky__lua_raise(L, SKY_EINVAL, "read: bad size (>= 0)");
    lua_settop(L, 2);
    if (take(L, 1, (size_t)n, s->gone)) return 1;
    if (s->gone) return push_end(L, 1);
    if (s->rwait) return sky__lua_raise(L, SKY_EINVAL, "read: another fiber reads this socket");
    need_yield(L, "read");
    s->rwant = (size_t)n;
    s->rwait = sky__lua_wait(L, 0);
    return sky__lua_yield(L, 0, read_k);
}

/* u:recv() -> data, host, port: the next datagram (waits for one). */
static int l_recv(lua_State *L)
{
    lsock *s = check_sock(L, K_UDP, "recv");
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, 1);
    if (lua_rawlen(L, 2) > 0) {
        lua_rawgeti(L, 2, 1);
        /* shift the queue: short, a datagram at a time */
        lua_Integer len = (lua_Integer)lua_rawlen(L, 2);
        for (lua_Integer i = 1; i < len; i++) {
            lua_rawgeti(L, 2, i + 1);
            lua_rawseti(L, 2, i);
        }
        lua_pushnil(L);
        lua_rawseti(L, 2, len);
        lua_rawgeti(L, 3, 1);
        lua_rawgeti(L, 3, 2);
        lua_rawgeti(L, 3, 3);
        return 3;
    }
    if (s->gone) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    if (s->rwait) return sky__lua_raise(L, SKY_EINVAL, "recv: another fiber reads this socket");
    need_yield(L, "recv");
    lua_settop(L, 2);
    s->rwait = sky__lua_wait(L, 0);
    return sky__lua_yield(L, 0, read_k);
}

/* ---- writing ----------------------------------------------------------- */

static int write_k(lua_State *L, int status, lua_KContext ctx);

/* Queues the string at index 2; past the high-water mark, waits for the
 * writable event and tries again. */
static int write_try(lua_State *L)
{
    lsock *s = lua_touserdata(L, 1);
    size_t len;
    const char *data = lua_tolstring(L, 2, &len);
    if (s->gone) return sky__lua_raise(L, SKY_ENOENT, "write: the socket is closed");
    int rc = sky_socket_write(sky__lua_ctx(L), s->id, len ? memcpy(malloc(len), data, len) : NULL, len);
    if (rc == 0) {
        lua_settop(L, 1);
        return 1;
    }
    if (rc != SKY_EBUSY) return raise_rc(L, rc, "write");
    need_yield(L, "write");
    lua_settop(L, 2);
    s->wwait = sky__lua_wait(L, 0);
    return sky__lua_yield(L, 0, write_k);
}

static int write_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status, (void)ctx;
    if (!lua_toboolean(L, 3)) {
        return sky__lua_raise(L, SKY_EFAIL, "write: %s", lua_isstring(L, 4) ? lua_tostring(L, 4) : "closed");
    }
    lua_settop(L, 2);
    return write_try(L);
}

/* s:write(data) -> s; waits while the socket's queue is past its
 * high-water mark. Raises if the socket is closed. */
static int l_write(lua_State *L)
{
    check_sock(L, K_TCP, "write");
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    return write_try(L);
}

/* u:sendto(host, port, data) -> true, or false when the queue is full
 * (the datagram is dropped, as UDP may). */
static int l_sendto(lua_State *L)
{
    lsock *s = check_sock(L, K_UDP, "sendto");
    const char *host = luaL_checkstring(L, 2);
    lua_Integer port = luaL_checkinteger(L, 3);
    size_t len;
    const char *data = luaL_checklstring(L, 4, &len);
    if (s->gone) return sky__lua_raise(L, SKY_ENOENT, "sendto: the socket is closed");
    if (port <= 0 || port > 65535) return sky__lua_raise(L, SKY_EINVAL, "sendto: bad port");
    int rc = sky_socket_sendto(sky__lua_ctx(L), s->id, host, (int)port, data, len);
    if (rc == SKY_EBUSY) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc < 0) return raise_rc(L, rc, "sendto");
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- the rest ---------------------------------------------------------- */

/* A fiber waiting on a socket that closes under it is woken (with no
 * values) by a timer: not from here, inside another fiber. */
static void release_waiter(lua_State *L, uint32_t *session)
{
    if (*session && sky_timeout(sky__lua_ctx(L), 0, *session) < 0) sky__lua_unwait(L, *session);
    *session = 0;
}

/* s:close(): queued data still goes out; no-op when closed already. A
 * read waiting on s returns nil; a write or connect raises. */
static int l_close(lua_State *L)
{
    lsock *s = check_sock(L, 0, "close");
    if (!s->gone) {
        (void)sky_socket_close(sky__lua_ctx(L), s->id);
        forget(L, s);
        release_waiter(L, &s->rwait);
        release_waiter(L, &s->wwait);
    }
    return 0;
}

/* s:port() -> the local port (what sky.listen(0, ...) got). */
static int l_port(lua_State *L)
{
    lsock *s = check_sock(L, 0, "port");
    int port = s->gone ? SKY_ENOENT : sky_socket_port(sky__lua_ctx(L), s->id);
    if (port < 0) return raise_rc(L, port, "port");
    lua_pushinteger(L, port);
    return 1;
}

/* s:pause(on): stop (true) or go on (false) reading or accepting. */
static int l_pause(lua_State *L)
{
    lsock *s = check_sock(L, 0, "pause");
    int rc = s->gone ? SKY_ENOENT : sky_socket_pause(sky__lua_ctx(L), s->id, lua_toboolean(L, 2));
    if (rc < 0) return raise_rc(L, rc, "pause");
    return 0;
}

static int l_tostring(lua_State *L)
{
    lsock *s = luaL_checkudata(L, 1, SOCKET_MT);
    static const char *const kinds[] = {"?", "tcp", "listener", "udp"};
    lua_pushfstring(L, "sky.socket(%s %d%s)", kinds[s->kind], (int)s->id, s->gone ? ", closed" : "");
    return 1;
}

void sky__lua_opensock(lua_State *L)
{
    static const luaL_Reg methods[] = {{"read", l_read},     {"write", l_write}, {"close", l_close},
                                       {"port", l_port},     {"pause", l_pause}, {"recv", l_recv},
                                       {"sendto", l_sendto}, {NULL, NULL}};
    static const luaL_Reg fns[] = {{"connect", l_connect}, {"listen", l_listen}, {"udp", l_udp}, {NULL, NULL}};
    if (luaL_newmetatable(L, SOCKET_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
}

/* ---- events ------------------------------------------------------------ */

/* Wakes the fiber waiting in `*session` (if any) with the nargs values on
 * top; pops them either way. */
static void wake(lua_State *L, uint32_t *session, int nargs)
{
    uint32_t w = *session;
    *session = 0;
    if (w) sky__lua_wake(L, w, nargs);
    else lua_pop(L, nargs);
}

static void on_accept(lua_State *L, const sky_msg *m)
{
    uint32_t lid;
    char peer[64];
    if (sky_socket_accepted(m, &lid, peer, sizeof peer) != 0) return;
    push_socks(L);
    int t = lua_rawgeti(L, -1, lid);
    lua_remove(L, -2);
    if (t != LUA_TUSERDATA) { /* the listener closed meanwhile */
        lua_pop(L, 1);
        (void)sky_socket_close(sky__lua_ctx(L), m->session);
        return;
    }
    lua_getiuservalue(L, -1, 2);
    lua_remove(L, -2);
    new_sock(L, m->session, K_TCP);
    lua_pushstring(L, peer);
    sky__lua_run(L, 2, NULL, NULL);
}

/* A TCP read that waits can now be answered: data, or the end. */
static void feed_reader(lua_State *L, int idx, lsock *s)
{
    if (!s->rwait) return;
    if (take(L, idx, s->rwant, s->gone)) {
        wake(L, &s->rwait, 1);
    } else if (s->gone) {
        wake(L, &s->rwait, push_end(L, idx));
    }
}

void sky__lua_socket_event(lua_State *L, const sky_msg *m)
{
    if (m->type_id == SKY_SOCK_ACCEPT) {
        on_accept(L, m);
        return;
    }
    push_socks(L);
    if (lua_rawgeti(L, -1, m->session) != LUA_TUSERDATA) {
        lua_pop(L, 2); /* closed on our side: events after that are moot */
        return;
    }
    lua_remove(L, -2);
    int idx = lua_gettop(L);
    lsock *s = lua_touserdata(L, idx);
    switch (m->type_id) {
    case SKY_SOCK_DATA:
        lua_getiuservalue(L, idx, 1);
        lua_pushlstring(L, m->data, m->size);
        lua_concat(L, 2);
        lua_setiuservalue(L, idx, 1);
        feed_reader(L, idx, s);
        break;
    case SKY_SOCK_UDP: {
        char from[64], host[64];
        const void *d;
        size_t n;
        int port;
        if (sky_socket_datagram(m, from, sizeof from, &d, &n) != 0 ||
            sky_socket_split(from, host, sizeof host, &port) != 0)
            break;
        if (s->rwait) {
            lua_pushlstring(L, d, n);
            lua_pushstring(L, host);
            lua_pushinteger(L, port);
            wake(L, &s->rwait, 3);
            break;
        }
        lua_getiuservalue(L, idx, 1);
        lua_createtable(L, 3, 0);
        lua_pushlstring(L, d, n);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, host);
        lua_rawseti(L, -2, 2);
        lua_pushinteger(L, port);
        lua_rawseti(L, -2, 3);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 1);
        break;
    }
    case SKY_SOCK_CONNECT:
    case SKY_SOCK_WRITABLE:
        lua_pushboolean(L, 1);
        wake(L, &s->wwait, 1);
        break;
    case SKY_SOCK_CLOSE:
    case SKY_SOCK_ERROR:
        if (s->kind == K_LISTEN) { /* an accept error (EMFILE): it keeps listening */
            sky_log(sky__lua_ctx(L), SKY_LOG_WARN, "lua %s: listener %u: %.*s", sky__lua_name(L), s->id,
                    (int)m->size, (const char *)m->data);
            break;
        }
        forget(L, s);
        if (m->type_id == SKY_SOCK_ERROR) {
            lua_pushlstring(L, m->data, m->size);
            lua_setiuservalue(L, idx, 2);
        }
        wake(L, &s->wwait, push_end(L, idx));
        feed_reader(L, idx, s);
        break;
    }
    lua_settop(L, idx - 1);
}
