/* The `sky` module's sockets (docs/lua.md): sky.connect, sky.listen,
 * sky.udp and the socket objects, over sky/socket.h.
 *
 * A socket object is a userdata; the service's registry table `socks`
 * maps socket ids to them until they close, so events find them. The
 * table's values are weak: an object the script no longer reaches is
 * collected, and its __gc closes the socket; events still on the way for
 * it find no object and are dropped. What an event brings waits in the
 * object (user value 1: a string of unread bytes, or for UDP a queue of
 * datagrams) until a read takes it; a fiber waiting in read is remembered
 * by its session (sky__lua_wait), those waiting in connect, write or
 * sendto by a list of sessions (user value 3), and the event wakes them
 * (sky__lua_wake). */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua/args.h"
#include "lua/host.h"
#include "lua/skylib.h"
#include "sky/alloc.h"
#include "sky/socket.h"

#define SOCKET_MT "sky.socket"

enum { K_TCP = 1, K_LISTEN, K_UDP };

/* The object's user values. */
enum { UV_DATA = 1, UV_EXTRA, UV_WRITERS };

typedef struct lsock {
    uint32_t id;
    int kind;
    int gone;        /* closed by us, the peer or an error; or collected */
    uint32_t rwait;  /* a fiber in read/recv */
    size_t rwant;    /* read(n): n; read(): 0 */
} lsock;

static const char socks_key = 0;

/* Pushes the registry's id -> socket table (weak values). */
static void push_socks(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &socks_key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &socks_key);
}

static lsock *new_sock(lua_State *L, uint32_t id, int kind)
{
    lsock *s = lua_newuserdatauv(L, sizeof *s, 3);
    memset(s, 0, sizeof *s);
    s->id = id;
    s->kind = kind;
    luaL_setmetatable(L, SOCKET_MT);
    if (kind == K_UDP) {
        lua_newtable(L);
    } else {
        lua_pushliteral(L, "");
    }
    lua_setiuservalue(L, -2, UV_DATA);
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

static const char *const kind_names[] = {"?", "a TCP socket", "a listener", "a UDP socket"};

/* The socket object that method `what` ("s:read") is called on, of kind
 * `kind` (0: any). */
static lsock *check_sock(lua_State *L, int kind, const char *what)
{
    lsock *s = luaL_testudata(L, 1, SOCKET_MT);
    if (!s) sky__lua_typeerror(L, what, 1, NULL, kind ? kind_names[kind] : "a socket");
    if (kind && s->kind != kind)
        sky__lua_argerror(L, what, 1, NULL, "%s expected, got %s", kind_names[kind], kind_names[s->kind]);
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

/* ---- fibers waiting to write -------------------------------------------- */

/* The running fiber waits for the socket at idx to connect or take a
 * write, behind those waiting already (so that writes go out in the order
 * they were made). The list's slot is made before the session, so that a
 * memory error leaves no session behind. */
static void wait_writable(lua_State *L, int idx)
{
    if (lua_getiuservalue(L, idx, UV_WRITERS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, idx, UV_WRITERS);
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1) + 1;
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, n);
    lua_pushinteger(L, sky__lua_wait(L, 0));
    lua_rawseti(L, -2, n);
    lua_pop(L, 1);
}

static int has_writers(lua_State *L, int idx)
{
    int yes = lua_getiuservalue(L, idx, UV_WRITERS) == LUA_TTABLE && lua_rawlen(L, -1) > 0;
    lua_pop(L, 1);
    return yes;
}

/* Pushes the list of waiting writers' sessions (or nil) and empties it. */
static int take_writers(lua_State *L, int idx)
{
    int t = lua_getiuservalue(L, idx, UV_WRITERS);
    lua_pushnil(L);
    lua_setiuservalue(L, idx, UV_WRITERS);
    return t == LUA_TTABLE;
}

/* The i-th session of the list on top, or 0 (a slot a memory error left). */
static uint32_t writer_at(lua_State *L, lua_Integer i)
{
    lua_rawgeti(L, -1, i);
    uint32_t w = (uint32_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return w;
}

static int push_end(lua_State *L, int idx);

/* Wakes every fiber waiting to connect or write to the socket at idx:
 * with true (try again) if ok, else with nil and why (it is gone). A
 * woken fiber that must wait again joins a new list. */
static void wake_writers(lua_State *L, int idx, int ok)
{
    if (!take_writers(L, idx)) {
        lua_pop(L, 1);
        return;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        uint32_t w = writer_at(L, i);
        if (!w) continue;
        int nargs = 1;
        if (ok) lua_pushboolean(L, 1);
        else nargs = push_end(L, idx);
        sky__lua_wake(L, w, nargs);
    }
    lua_pop(L, 1);
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
    const char *host = sky__lua_checkstr(L, "sky.connect", 1, "host", NULL);
    lua_Integer port = sky__lua_checkint(L, "sky.connect", 2, "port", 1, 65535);
    lua_Integer ms = sky__lua_optint(L, "sky.connect", 3, "timeout_ms", 0, INT32_MAX, 0);
    need_yield(L, "sky.connect");
    uint32_t id;
    int rc = sky_socket_connect(sky__lua_ctx(L), host, (int)port, (int)ms, &id);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.connect %s:%d: %s", host, (int)port, sky_strerror(rc));
    lua_settop(L, 3);
    new_sock(L, id, K_TCP);
    wait_writable(L, 4);
    return sky__lua_yield(L, 0, connect_k);
}

/* ---- listen ------------------------------------------------------------ */

/* sky.listen(port, function(conn, peer) ... end [, host]) -> listener.
 * Each accepted connection runs the function in a fiber of its own. */
static int l_listen(lua_State *L)
{
    lua_Integer port = sky__lua_checkint(L, "sky.listen", 1, "port", 0, 65535);
    sky__lua_checktype(L, "sky.listen", 2, "fn", LUA_TFUNCTION, 0);
    const char *host = sky__lua_optstr(L, "sky.listen", 3, "host", NULL, NULL);
    uint32_t id;
    int rc = sky_socket_listen(sky__lua_ctx(L), host, (int)port, &id);
    if (rc < 0) return sky__lua_raise(L, rc, "sky.listen %s:%d: %s", host ? host : "0.0.0.0", (int)port,
                                      sky_strerror(rc));
    new_sock(L, id, K_LISTEN);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, UV_EXTRA);
    return 1;
}

/* sky.udp([host, port]) -> UDP socket, bound to host:port (any if none). */
static int l_udp(lua_State *L)
{
    const char *host = sky__lua_optstr(L, "sky.udp", 1, "host", NULL, NULL);
    lua_Integer port = sky__lua_optint(L, "sky.udp", 2, "port", 0, 65535, 0);
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
    lua_getiuservalue(L, idx, UV_DATA);
    const char *buf = lua_tolstring(L, -1, &len);
    if (len == 0 || (want && len < want && !eof)) {
        lua_pop(L, 1);
        return 0;
    }
    size_t n = want && want < len ? want : len;
    lua_pushlstring(L, buf + n, len - n);
    lua_setiuservalue(L, idx, UV_DATA);
    lua_pushlstring(L, buf, n);
    lua_remove(L, -2);
    return 1;
}

/* What a read of a socket that is gone gets: nil and why (the error's
 * text, or "closed"). Returns 2, the values pushed. */
static int push_end(lua_State *L, int idx)
{
    lua_pushnil(L);
    lua_getiuservalue(L, idx, UV_EXTRA);
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
    lsock *s = check_sock(L, K_TCP, "s:read");
    lua_Integer n = sky__lua_optint(L, "s:read", 2, "n", 0, LUA_MAXINTEGER, 0);
    lua_settop(L, 2);
    if (take(L, 1, (size_t)n, s->gone)) return 1;
    if (s->gone) return push_end(L, 1);
    if (s->rwait) return sky__lua_raise(L, SKY_EINVAL, "s:read: another fiber reads this socket");
    need_yield(L, "s:read");
    s->rwant = (size_t)n;
    s->rwait = sky__lua_wait(L, 0);
    return sky__lua_yield(L, 0, read_k);
}

/* u:recv() -> data, host, port: the next datagram (waits for one). */
static int l_recv(lua_State *L)
{
    lsock *s = check_sock(L, K_UDP, "u:recv");
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_DATA);
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
    if (s->rwait) return sky__lua_raise(L, SKY_EINVAL, "u:recv: another fiber reads this socket");
    need_yield(L, "u:recv");
    lua_settop(L, 2);
    s->rwait = sky__lua_wait(L, 0);
    return sky__lua_yield(L, 0, read_k);
}

/* ---- writing ----------------------------------------------------------- */

static int send_k(lua_State *L, int status, lua_KContext udp);

/* Queues s:write's data (index 2) or u:sendto's datagram (host, port,
 * data at 2..4). While the socket's queue is past the high-water mark, or
 * other fibers wait to write, waits for the writable event and tries
 * again; raises once the socket is gone. */
static int send_try(lua_State *L, lua_KContext udp)
{
    lsock *s = lua_touserdata(L, 1);
    const char *what = udp ? "u:sendto" : "s:write";
    size_t len;
    const char *data = lua_tolstring(L, udp ? 4 : 2, &len);
    if (s->gone) return sky__lua_raise(L, SKY_ENOENT, "%s: the socket is closed", what);
    int rc = SKY_EBUSY;
    if (!has_writers(L, 1)) {
        sky_ctx *ctx = sky__lua_ctx(L);
        rc = udp ? sky_socket_sendto(ctx, s->id, lua_tostring(L, 2), (int)lua_tointeger(L, 3), data, len)
                 : sky_socket_write(ctx, s->id, len ? memcpy(sky_malloc(len), data, len) : NULL, len);
    }
    if (rc == 0) {
        if (udp) lua_pushboolean(L, 1);
        else lua_settop(L, 1);
        return 1;
    }
    if (rc != SKY_EBUSY) return raise_rc(L, rc, what);
    need_yield(L, what);
    lua_settop(L, udp ? 4 : 2);
    wait_writable(L, 1);
    return sky__lua_yield(L, udp, send_k);
}

/* Woken with true (try again), nil and why (the peer closed or failed),
 * or nothing (closed here: the retry raises). */
static int send_k(lua_State *L, int status, lua_KContext udp)
{
    int top = udp ? 4 : 2;
    (void)status;
    if (lua_gettop(L) > top && !lua_toboolean(L, top + 1)) {
        return sky__lua_raise(L, SKY_EFAIL, "%s: %s", udp ? "u:sendto" : "s:write",
                              lua_isstring(L, top + 2) ? lua_tostring(L, top + 2) : "closed");
    }
    lua_settop(L, top);
    return send_try(L, udp);
}

/* s:write(data) -> s; waits while the socket's queue is past its
 * high-water mark. Raises if the socket is closed. */
static int l_write(lua_State *L)
{
    check_sock(L, K_TCP, "s:write");
    sky__lua_checkstr(L, "s:write", 2, "data", NULL);
    lua_settop(L, 2);
    return send_try(L, 0);
}

/* u:sendto(host, port, data) -> true once queued; waits as write does. */
static int l_sendto(lua_State *L)
{
    check_sock(L, K_UDP, "u:sendto");
    sky__lua_checkstr(L, "u:sendto", 2, "host", NULL);
    sky__lua_checkint(L, "u:sendto", 3, "port", 1, 65535);
    sky__lua_checkstr(L, "u:sendto", 4, "data", NULL);
    lua_settop(L, 4);
    return send_try(L, 1);
}

/* ---- the rest ---------------------------------------------------------- */

/* A fiber waiting on a socket that closes under it is woken (with no
 * values) by a timer: not from here, inside another fiber. */
static void release_waiter(lua_State *L, sky_ctx *ctx, uint32_t session)
{
    if (session && sky_timeout(ctx, 0, session) < 0) sky__lua_unwait(L, session);
}

/* s:close(), and __close: queued data still goes out; no-op when closed
 * already. A read waiting on s returns nil; a write or sendto raises. Once
 * the service has exited (a __close as its state closes), the node has
 * closed its sockets and woken nothing: only the object is marked. */
static int l_close(lua_State *L)
{
    lsock *s = check_sock(L, 0, "s:close");
    if (s->gone) return 0;
    forget(L, s);
    sky_ctx *ctx = sky__lua_ctx_if_alive(L);
    if (!ctx) return 0;
    (void)sky_socket_close(ctx, s->id);
    release_waiter(L, ctx, s->rwait);
    s->rwait = 0;
    if (take_writers(L, 1)) {
        for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, -1); i <= n; i++)
            release_waiter(L, ctx, writer_at(L, i));
    }
    return 0;
}

/* __gc: a socket the script no longer reaches closes, once (close, or the
 * event that ended it, marked it gone before). Its table entry has gone
 * already (weak), and no fiber can wait on it. At the state's close the
 * service has exited and the node closes its sockets itself. */
static int l_gc(lua_State *L)
{
    lsock *s = luaL_testudata(L, 1, SOCKET_MT); /* NULL: a script calling __gc itself */
    sky_ctx *ctx = sky__lua_ctx_if_alive(L);
    if (!s) return 0;
    if (!s->gone && ctx) (void)sky_socket_close(ctx, s->id);
    s->gone = 1;
    return 0;
}

/* s:port() -> the local port (what sky.listen(0, ...) got). */
static int l_port(lua_State *L)
{
    lsock *s = check_sock(L, 0, "s:port");
    int port = s->gone ? SKY_ENOENT : sky_socket_port(sky__lua_ctx(L), s->id);
    if (port < 0) return raise_rc(L, port, "s:port");
    lua_pushinteger(L, port);
    return 1;
}

/* s:pause(on): stop (true) or go on (false) reading or accepting. */
static int l_pause(lua_State *L)
{
    lsock *s = check_sock(L, 0, "s:pause");
    int on = sky__lua_checkbool(L, "s:pause", 2, "on");
    int rc = s->gone ? SKY_ENOENT : sky_socket_pause(sky__lua_ctx(L), s->id, on);
    if (rc < 0) return raise_rc(L, rc, "s:pause");
    return 0;
}

static int l_tostring(lua_State *L)
{
    lsock *s = check_sock(L, 0, "s:__tostring");
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
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
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
    lua_getiuservalue(L, -1, UV_EXTRA);
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
        lua_getiuservalue(L, idx, UV_DATA);
        lua_pushlstring(L, m->data, m->size);
        lua_concat(L, 2);
        lua_setiuservalue(L, idx, UV_DATA);
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
        lua_getiuservalue(L, idx, UV_DATA);
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
        wake_writers(L, idx, 1);
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
            lua_setiuservalue(L, idx, UV_EXTRA);
        }
        wake_writers(L, idx, 0);
        feed_reader(L, idx, s);
        break;
    }
    lua_settop(L, idx - 1);
}
