/* The gate: a C service that lets outside clients call services over TCP,
 * speaking the client protocol of docs/protocol.md.
 *
 * Each connection has a framer (frame.c) fed by the socket's data events.
 * A request frame becomes a sky_call to the service registered under its
 * method's service's default_name; the answer (or error) is written back
 * as a frame with the client's session. A oneway frame becomes a send.
 * Answers gather in the connection's output buffer and go out in one
 * write once the gate has handled what its mailbox holds (the gate sends
 * itself a flush mark, which comes after the answers already waiting):
 * with many calls in flight that is one send() for many answers.
 * A frame for a service whose mailbox is full is parked, with every
 * frame after it on that connection, and the connection stops being read;
 * a 1 ms timer tries the parked frames again, in order, so a client
 * flooding a slow service is slowed down through TCP and nothing it sent
 * is dropped.
 * Answers the socket refuses (past its high-water mark) wait in the
 * connection's backlog while the gate stops reading it; since every
 * answer belongs to a request read before, the backlog is bounded by what
 * was read.
 * A connection is idle while its client sends no complete frame and the
 * gate owes it nothing: no call in flight, no frame held back or not read
 * yet, no answer its client has not received (in the gate, the socket's
 * queue or the kernel's send buffer). Only idle time counts toward
 * idle_timeout_ms, so the timeout never cuts what the gate holds back
 * itself, a call within its deadline, or answers a slow reader has not
 * taken yet. */
#include "io/gate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/handle.h"
#include "core/node.h"
#include "core/status.h"
#include "io/frame.h"
#include "io/socket.h"
#include "sky/alloc.h"
#include "sky/socket.h"
#include "sky/typed.h"

#define BUCKETS 256
#define IDLE_TICKS 4 /* idle checks per idle_timeout */
#define ROUTES 64 /* cached routes (method id -> address) */
#define OBUF_MAX 65536 /* an output buffer this full is written at once */
#define FLUSH_MARK 1   /* type_id of the oneway the gate sends itself */
#define RETRY_MS 1     /* how soon parked frames are tried again */
enum { T_IDLE, T_RETRY }; /* the gate's timer sessions */

typedef struct pending_out {
    struct pending_out *next;
    size_t size;
    uint8_t data[];
} pending_out;

/* A frame waiting for room in its service's mailbox. */
typedef struct parked {
    struct parked *next;
    int oneway;
    uint32_t session, method;
    size_t size;
    uint8_t data[];
} parked;

typedef struct conn {
    struct conn *next;
    uint32_t id;
    char peer[64];
    sky__framer fr;
    uint32_t inflight;
    uint64_t last_ms; /* the idle clock's start: the last frame, or the end of a wait */
    int owing;        /* its idle time was up, but the gate still owed it (idle_check) */
    pending_out *backlog, *tail;
    int paused;
    parked *parked, *ptail; /* frames not routed yet, oldest first */
    uint8_t *obuf; /* answers not yet written */
    size_t olen, ocap;
    int dirty; /* in the gate's dirty list */
} conn;

typedef struct gate {
    sky__gate_config cfg;
    uint32_t listener;
    int port;
    size_t nconns;
    conn *b[BUCKETS];
    struct call *calls;
    uint32_t *dirty; /* connections with answers buffered */
    size_t ndirty, capdirty;
    int flush_pending; /* a flush mark is on its way */
    int retry_armed;   /* the retry timer is set */
    struct route {     /* what route() found, good while names_gen is unchanged */
        uint32_t id;
        uint64_t gen;
        const sky_method_desc *md;
        sky_addr_t to;
    } routes[ROUTES];
    sky_ctx *ctx;      /* set while handling */
} gate;

/* What a call in flight needs to answer its client. Connection ids are
 * socket ids, never reused, so a stale one finds nothing. */
typedef struct call {
    struct call *prev, *next; /* the gate's calls in flight, freed with it */
    gate *g;
    uint32_t conn;
    uint32_t session;
    uint32_t method;
} call;

void sky__gate_config_init(sky__gate_config *c)
{
    snprintf(c->host, sizeof c->host, "0.0.0.0");
    c->port = 7000;
    c->max_frame = 1048576;
    c->max_connections = 1024;
    c->idle_timeout_ms = 60000;
    c->max_inflight = 64;
}

/* ---- the connection table ---------------------------------------------- */

static conn **slot(gate *g, uint32_t id)
{
    conn **p = &g->b[id % BUCKETS];
    while (*p && (*p)->id != id) p = &(*p)->next;
    return p;
}

static conn *find(gate *g, uint32_t id) { return *slot(g, id); }

static void conn_free(conn *c)
{
    while (c->backlog) {
        pending_out *o = c->backlog;
        c->backlog = o->next;
        free(o);
    }
    while (c->parked) {
        parked *k = c->parked;
        c->parked = k->next;
        free(k);
    }
    sky__framer_deinit(&c->fr);
    free(c->obuf);
    free(c);
}

static void flush_conn(gate *g, conn *c);

static void drop(gate *g, conn *c, const char *why)
{
    conn **p = slot(g, c->id);
    *p = c->next;
    g->nconns--;
    if (why) sky_log(g->ctx, SKY_LOG_WARN, "gate: closing %s: %s", c->peer, why);
    flush_conn(g, c); /* error answers already given still go out */
    (void)sky_socket_close(g->ctx, c->id);
    conn_free(c);
}

/* Something the connection waited for ended (an answer, frames held
 * back gone, the backlog written): idle time counts from now. */
static void touch(gate *g, conn *c) { c->last_ms = sky_now(g->ctx); }

/* ---- writing ------------------------------------------------------------ */

/* Reading a connection stops while answers wait for its socket or its
 * frames wait for a mailbox. */
static void set_paused(gate *g, conn *c)
{
    int want = c->backlog || c->parked;
    if (want != c->paused) {
        c->paused = want;
        (void)sky_socket_pause(g->ctx, c->id, want);
    }
}

/* Keeps a frame the socket refused in the backlog, and stops reading
 * the connection until the backlog is written. */
static void keep(gate *g, conn *c, const void *data, size_t size)
{
    pending_out *o = sky_malloc(sizeof *o + size);
    o->next = NULL;
    o->size = size;
    memcpy(o->data, data, size);
    if (c->tail) c->tail->next = o;
    else c->backlog = o;
    c->tail = o;
    set_paused(g, c);
}

/* Writes what is buffered for c, keeping what the socket refuses. */
static void flush_conn(gate *g, conn *c)
{
    c->dirty = 0;
    if (!c->olen) return;
    int rc = c->backlog ? SKY_EBUSY : sky__socket_write_copy(g->ctx, c->id, c->obuf, c->olen);
    /* another error: the socket is going, and its close event cleans up */
    if (rc == SKY_EBUSY) keep(g, c, c->obuf, c->olen);
    c->olen = 0;
}

static void flush_all(gate *g)
{
    g->flush_pending = 0;
    for (size_t i = 0; i < g->ndirty; i++) {
        conn *c = find(g, g->dirty[i]);
        if (c) flush_conn(g, c);
    }
    g->ndirty = 0;
}

/* Buffers a frame for c; a flush follows the mail already waiting. */
static void out(gate *g, conn *c, const void *data, size_t size)
{
    if (c->backlog) { /* the socket pushes back: behind what waits */
        keep(g, c, data, size);
        return;
    }
    if (c->olen + size > c->ocap) {
        c->ocap = c->olen + size > 2 * c->ocap ? c->olen + size : 2 * c->ocap;
        c->obuf = sky_realloc(c->obuf, c->ocap);
    }
    memcpy(c->obuf + c->olen, data, size);
    c->olen += size;
    if (c->olen >= OBUF_MAX) {
        flush_conn(g, c);
        return;
    }
    if (!c->dirty) {
        c->dirty = 1;
        if (g->ndirty == g->capdirty) {
            g->capdirty = g->capdirty ? 2 * g->capdirty : 16;
            g->dirty = sky_realloc(g->dirty, g->capdirty * sizeof *g->dirty);
        }
        g->dirty[g->ndirty++] = c->id;
    }
    if (!g->flush_pending) {
        sky_msg m = {.kind = SKY_ONEWAY, .type_id = FLUSH_MARK};
        if (sky_send(g->ctx, sky_self(g->ctx), &m) == 0) g->flush_pending = 1;
        else flush_all(g); /* the gate's own mailbox is full: no mark, flush now */
    }
}

static void send_frame(gate *g, conn *c, int kind, uint32_t session, uint32_t method, const void *payload,
                       size_t size)
{
    uint8_t small[512], *f = SKY__FRAME_HEAD + size <= sizeof small ? small : sky_malloc(SKY__FRAME_HEAD + size);
    sky__frame_header(f, kind, session, method, size);
    if (size) memcpy(f + SKY__FRAME_HEAD, payload, size);
    out(g, c, f, SKY__FRAME_HEAD + size);
    if (f != small) free(f);
}

static void send_error(gate *g, conn *c, uint32_t session, uint32_t method, int code, const char *text)
{
    size_t size;
    void *st = sky__status_encode(code, text, &size);
    send_frame(g, c, SKY__F_ERROR, session, method, st, size);
    free(st);
}

/* The socket drained: the backlog goes out, then reading resumes. */
static void writable(gate *g, conn *c)
{
    while (c->backlog) {
        pending_out *o = c->backlog;
        int rc = sky__socket_write_copy(g->ctx, c->id, o->data, o->size);
        if (rc == SKY_EBUSY) return; /* another writable event comes */
        c->backlog = o->next;
        if (!c->backlog) c->tail = NULL;
        free(o);
        if (rc != 0) return;
    }
    touch(g, c);
    set_paused(g, c);
}

/* ---- routing ------------------------------------------------------------ */

static void answered(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    call *k = ud;
    gate *g = k->g;
    conn *c = find(g, k->conn);
    g->ctx = ctx;
    if (k->prev) k->prev->next = k->next;
    else g->calls = k->next;
    if (k->next) k->next->prev = k->prev;
    if (c) {
        c->inflight--;
        touch(g, c);
        if (reply && reply->size > UINT32_MAX - (SKY__FRAME_HEAD - 4)) {
            /* the length field, which counts the 12 header bytes after it
             * too, would not hold it */
            send_error(g, c, k->session, k->method, SKY_ELIMIT, "the answer is too large for a frame");
        } else if (status == 0) {
            send_frame(g, c, SKY__F_RESPONSE, k->session, k->method, reply->data, reply->size);
        } else if (reply && reply->kind == SKY_ERROR) {
            send_frame(g, c, SKY__F_ERROR, k->session, k->method, reply->data, reply->size);
        } else {
            send_error(g, c, k->session, k->method, status, sky_strerror(status));
        }
    }
    free(k);
}

/* The address serving method md: its service's default_name. */
static int route(gate *g, const sky_method_desc *md, sky_addr_t *to, char *why, size_t size)
{
    char svc[128];
    const char *dot = strrchr(md->full_name, '.');
    size_t n = dot ? (size_t)(dot - md->full_name) : 0;
    if (n == 0 || n >= sizeof svc) {
        snprintf(why, size, "%s: no service", md->full_name);
        return SKY_ENOSVC;
    }
    memcpy(svc, md->full_name, n);
    svc[n] = '\0';
    const sky_service_desc *sd = sky_schema_service(svc);
    if (!sd || !sd->default_name) {
        snprintf(why, size, "%s has no default_name", svc);
        return SKY_ENOSVC;
    }
    *to = sky_whereis(g->ctx, sd->default_name);
    if (*to == SKY_ADDR_NONE) {
        snprintf(why, size, "no service registered as '%s'", sd->default_name);
        return SKY_ENOSVC;
    }
    return 0;
}

/* route() through the cache: the schema only grows, so a method found
 * stays; an address holds while no name has changed since it was read. */
static int route_cached(gate *g, uint32_t id, const sky_method_desc **md, sky_addr_t *to, char *why, size_t size)
{
    struct route *r = &g->routes[id % ROUTES];
    uint64_t gen = sky__handles_names_gen(sky__node_handles(sky_ctx_node(g->ctx)));
    if (r->md && r->id == id && r->gen == gen) {
        *md = r->md;
        *to = r->to;
        return 0;
    }
    if (!(*md = sky_schema_method(id))) {
        snprintf(why, size, "no method with id %08x", id);
        return SKY_ENOENT;
    }
    int rc = route(g, *md, to, why, size);
    if (rc == 0) *r = (struct route){id, gen, *md, *to};
    return rc;
}

/* Routes one request or oneway. SKY_EBUSY: the service's mailbox is
 * full and nothing was done (the caller parks the frame); else 0, any
 * error having been answered (a oneway gets nothing back). */
static int dispatch(gate *g, conn *c, int oneway, uint32_t session, uint32_t method, const void *payload,
                    size_t size)
{
    char why[160];
    sky_addr_t to;
    const sky_method_desc *md;
    int rc = route_cached(g, method, &md, &to, why, sizeof why);
    if (rc < 0) {
        if (!oneway) send_error(g, c, session, method, rc, why);
        return 0;
    }
    if (!oneway && c->inflight >= (uint32_t)g->cfg.max_inflight) {
        snprintf(why, sizeof why, "%u requests in flight on this connection", c->inflight);
        send_error(g, c, session, method, SKY_ELIMIT, why);
        return 0;
    }
    void *data = size ? memcpy(sky_malloc(size), payload, size) : NULL;
    if (oneway) {
        sky_msg m = {.kind = SKY_ONEWAY, .type_id = method, .data = data, .size = size};
        return sky_send(g->ctx, to, &m) == SKY_EBUSY ? SKY_EBUSY : 0;
    }
    call *k = sky_malloc(sizeof *k);
    *k = (call){NULL, g->calls, g, c->id, session, method};
    sky_msg req = {.type_id = method, .data = data, .size = size};
    rc = sky_call(g->ctx, to, &req, md->timeout_ms, answered, k);
    if (rc < 0) {
        free(k);
        if (rc == SKY_EBUSY) return rc;
        send_error(g, c, session, method, rc, sky_strerror(rc));
        return 0;
    }
    if (g->calls) g->calls->prev = k;
    g->calls = k;
    c->inflight++;
    return 0;
}

static void park(gate *g, conn *c, int oneway, uint32_t session, uint32_t method, const void *payload, size_t size)
{
    parked *k = sky_malloc(sizeof *k + size);
    *k = (parked){NULL, oneway, session, method, size};
    if (size) memcpy(k->data, payload, size);
    if (c->ptail) c->ptail->next = k;
    else c->parked = k;
    c->ptail = k;
    set_paused(g, c);
    if (!g->retry_armed && sky_timeout(g->ctx, RETRY_MS, T_RETRY) == 0) g->retry_armed = 1;
}

/* The retry timer: each connection's parked frames go, in order, until
 * one meets a full mailbox again. */
static void retry(gate *g)
{
    int left = 0;
    g->retry_armed = 0;
    for (int i = 0; i < BUCKETS; i++)
        for (conn *c = g->b[i]; c; c = c->next) {
            if (!c->parked) continue;
            while (c->parked) {
                parked *k = c->parked;
                if (dispatch(g, c, k->oneway, k->session, k->method, k->data, k->size) == SKY_EBUSY) break;
                c->parked = k->next;
                if (!c->parked) c->ptail = NULL;
                free(k);
            }
            if (c->parked) {
                left = 1;
            } else {
                touch(g, c);
                set_paused(g, c);
            }
        }
    if (left && sky_timeout(g->ctx, RETRY_MS, T_RETRY) == 0) g->retry_armed = 1;
}

typedef struct feeding {
    gate *g;
    conn *c;
    const char *why; /* set: the frame is malformed */
} feeding;

static int on_frame(void *ud, const sky__frame *f)
{
    feeding *fd = ud;
    gate *g = fd->g;
    conn *c = fd->c;
    if (f->kind != SKY__F_REQUEST && f->kind != SKY__F_ONEWAY) {
        fd->why = "a response or error frame from a client";
        return 1;
    }
    c->last_ms = sky_now(g->ctx);
    int oneway = f->kind == SKY__F_ONEWAY;
    /* behind parked frames, or parked itself: the order holds */
    if (c->parked || dispatch(g, c, oneway, f->session, f->method, f->payload, f->size) == SKY_EBUSY)
        park(g, c, oneway, f->session, f->method, f->payload, f->size);
    return 0;
}

static void on_data(gate *g, conn *c, const sky_msg *m)
{
    feeding fd = {g, c, NULL};
    const char *why = NULL;
    const uint8_t *p = m->data;
    size_t n = m->size;
    if (!c->fr.greeted) {
        /* the preface alone first: its answer goes before any other */
        size_t head = n < SKY__PREFACE_LEN - c->fr.len ? n : SKY__PREFACE_LEN - c->fr.len;
        if (sky__framer_feed(&c->fr, p, head, on_frame, &fd, &why) < 0) {
            drop(g, c, why);
            return;
        }
        p += head;
        n -= head;
        if (c->fr.greeted)
            out(g, c, SKY__PREFACE, SKY__PREFACE_LEN);
    }
    if (n && (sky__framer_feed(&c->fr, p, n, on_frame, &fd, &why) < 0 || fd.why))
        drop(g, c, fd.why ? fd.why : why);
}

/* ---- events ------------------------------------------------------------- */

static void on_accept(gate *g, const sky_msg *m)
{
    uint32_t l;
    char peer[64];
    if (sky_socket_accepted(m, &l, peer, sizeof peer) != 0) return;
    if (g->nconns >= g->cfg.max_connections) {
        sky_log(g->ctx, SKY_LOG_WARN, "gate: refusing %s: max_connections (%zu) reached", peer,
                g->cfg.max_connections);
        (void)sky_socket_close(g->ctx, m->session);
        return;
    }
    conn *c = sky_calloc(1, sizeof *c);
    c->id = m->session;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    sky__framer_init(&c->fr, g->cfg.max_frame, 1);
    c->last_ms = sky_now(g->ctx);
    conn **p = slot(g, c->id);
    *p = c;
    g->nconns++;
}

/* The gate owes c's client something (an answer, a call in flight), or
 * holds back or has not read yet what it sent. */
static int owes(gate *g, const conn *c)
{
    if (c->inflight || c->parked || c->backlog || c->olen) return 1;
    size_t unsent, unread;
    sky__socket_in_transit(g->ctx, c->id, &unsent, &unread);
    return unsent || unread;
}

/* Closes the connections idle for idle_timeout_ms. One whose time is up
 * but that the gate still owes is looked at again at each check; the
 * socket's queues drain without the gate hearing of it, so once they
 * have, its idle time counts from that check (at most a tick late; the
 * gate's own waits restart the clock themselves when they end). */
static void idle_check(gate *g)
{
    uint64_t now = sky_now(g->ctx);
    for (int i = 0; i < BUCKETS; i++) {
        conn *c = g->b[i];
        while (c) {
            conn *next = c->next;
            if (c->owing && !owes(g, c)) {
                c->owing = 0;
                c->last_ms = now;
            }
            if (!c->owing && now >= c->last_ms + (uint64_t)g->cfg.idle_timeout_ms) {
                if (owes(g, c)) c->owing = 1;
                else drop(g, c, "idle timeout");
            }
            c = next;
        }
    }
}

static int tick_ms(const gate *g)
{
    int t = g->cfg.idle_timeout_ms / IDLE_TICKS;
    return t < 1 ? 1 : t;
}

static int gate_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    gate *g = st;
    g->ctx = ctx;
    if (m->kind == SKY_TIMER) {
        if (m->session == T_RETRY) {
            retry(g);
            return 0;
        }
        idle_check(g);
        return sky_timeout(ctx, tick_ms(g), T_IDLE);
    }
    if (m->kind == SKY_ONEWAY && m->type_id == FLUSH_MARK && m->source == sky_self(ctx)) {
        flush_all(g);
        return 0;
    }
    if (m->kind == SKY_REQUEST) { /* "port": where it listens (port 0 picks one) */
        char text[16];
        int n = snprintf(text, sizeof text, "%d", g->port);
        return sky_reply_copy(ctx, m, m->type_id, text, (size_t)n);
    }
    if (m->kind != SKY_SOCKET) return 0;
    if (m->type_id == SKY_SOCK_ACCEPT) {
        on_accept(g, m);
        return 0;
    }
    conn *c = find(g, m->session);
    if (!c) {
        if (m->session == g->listener && m->type_id == SKY_SOCK_ERROR)
            sky_log(ctx, SKY_LOG_WARN, "gate: %.*s", (int)m->size, (const char *)m->data);
        return 0;
    }
    switch (m->type_id) {
    case SKY_SOCK_DATA:
        on_data(g, c, m);
        break;
    case SKY_SOCK_WRITABLE:
        writable(g, c);
        break;
    case SKY_SOCK_CLOSE:
    case SKY_SOCK_ERROR:
        drop(g, c, NULL);
        break;
    }
    return 0;
}

/* ---- configuration ------------------------------------------------------ */

int sky__gate_config_parse(sky__gate_config *c, const char *args, char *err, size_t errsize)
{
    const char *p = args;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        char key[32], val[64];
        if (sscanf(p, "%31[^= ]=%63s", key, val) != 2) {
            snprintf(err, errsize, "gate: bad argument near '%.20s' (key=value expected)", p);
            return SKY_EINVAL;
        }
        while (*p && *p != ' ') p++;
        if (strcmp(key, "host") == 0) {
            snprintf(c->host, sizeof c->host, "%s", val);
            continue;
        }
        char *end;
        long long v = strtoll(val, &end, 10);
        long long lo = 1, hi = INT32_MAX;
        int *ip = NULL;
        size_t *zp = NULL;
        if (strcmp(key, "port") == 0) ip = &c->port, lo = 0, hi = 65535;
        else if (strcmp(key, "max_frame") == 0) zp = &c->max_frame, lo = SKY__FRAME_MIN;
        else if (strcmp(key, "max_connections") == 0) zp = &c->max_connections;
        else if (strcmp(key, "idle_timeout_ms") == 0) ip = &c->idle_timeout_ms;
        else if (strcmp(key, "max_inflight") == 0) ip = &c->max_inflight;
        else {
            snprintf(err, errsize, "gate: unknown key '%s'", key);
            return SKY_EINVAL;
        }
        if (*end || v < lo || v > hi) {
            snprintf(err, errsize, "gate: %s: must be an integer in %lld..%lld", key, lo, hi);
            return SKY_EINVAL;
        }
        if (ip) *ip = (int)v;
        else *zp = (size_t)v;
    }
    return 0;
}

static void *gate_create(void) { return sky_calloc(1, sizeof(gate)); }

static int gate_init(void *st, sky_ctx *ctx, const char *args)
{
    gate *g = st;
    char err[160];
    g->ctx = ctx;
    sky__gate_config_init(&g->cfg);
    if (sky__gate_config_parse(&g->cfg, args, err, sizeof err) != 0) {
        sky_log(ctx, SKY_LOG_ERROR, "%s", err);
        return SKY_EINVAL;
    }
    int rc = sky_socket_listen(ctx, g->cfg.host, g->cfg.port, &g->listener);
    if (rc < 0) {
        sky_log(ctx, SKY_LOG_ERROR, "gate: cannot listen on %s:%d: %s", g->cfg.host, g->cfg.port, sky_strerror(rc));
        return rc;
    }
    g->port = sky_socket_port(ctx, g->listener);
    sky_log(ctx, SKY_LOG_INFO, "gate: listening on %s:%d", g->cfg.host, g->port);
    if (sky_register(ctx, "gate") < 0) sky_log(ctx, SKY_LOG_WARN, "gate: the name 'gate' is taken");
    return sky_timeout(ctx, tick_ms(g), T_IDLE);
}

static void gate_release(void *st)
{
    gate *g = st;
    while (g->calls) {
        call *k = g->calls;
        g->calls = k->next;
        free(k);
    }
    free(g->dirty);
    for (int i = 0; i < BUCKETS; i++)
        while (g->b[i]) {
            conn *c = g->b[i];
            g->b[i] = c->next;
            conn_free(c);
        }
    free(g);
}

const sky_module sky__gate_module = {"gate", gate_create, gate_init, gate_handle, gate_release};
