/* The cluster's sockets, on the loop thread: the listener, dialling with
 * backoff, each connection's handshake, reading frames into
 * sky__peer_input, writing what the peers queued, and the tick that sends
 * keep-alives and finds silent peers. See docs/cluster.md, "Links". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>
#include "cluster/members.h"
#include "cluster/peer.h"
#include "core/node.h"
#include "io/loop.h"
#include "sky/alloc.h"

#define READS_PER_EVENT 8
#define BACKOFF_MAX_MS 10000
#define LOG_EVERY_MS 60000 /* one line per peer (or address) and minute */

static void conn_read(struct ev_loop *ev, ev_io *w, int revents);
static void conn_write(struct ev_loop *ev, ev_io *w, int revents);
static void on_retry(struct ev_loop *ev, ev_timer *w, int revents);
static void flush(sky__peer *p);

/* ---- the log, once a minute per key ------------------------------------- */

/* Refusals come in storms (a peer with a wrong secret redials every few
 * seconds; a port scanner): one line per key (who, and which kind of
 * trouble) and minute says it. */
void sky__link_log(sky__cluster *c, const char *who, const char *kind, const char *fmt, ...)
{
    uint64_t now = sky__cluster_now(c) + LOG_EVERY_MS; /* so 0 means never */
    char key[sizeof c->logged[0].key];
    snprintf(key, sizeof key, "%s|%s", who, kind);
    size_t slot = 0, oldest = 0;
    for (; slot < SKY__LOG_KEYS && strcmp(c->logged[slot].key, key) != 0; slot++)
        if (c->logged[slot].at < c->logged[oldest].at) oldest = slot;
    if (slot < SKY__LOG_KEYS && now - c->logged[slot].at < LOG_EVERY_MS) return;
    if (slot == SKY__LOG_KEYS) slot = oldest;
    snprintf(c->logged[slot].key, sizeof c->logged[slot].key, "%s", key);
    c->logged[slot].at = now;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sky__log(c->node, SKY_ADDR_NONE, SKY_LOG_WARN, "cluster: %s", line);
}

/* ---- connections --------------------------------------------------------- */

static int nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void describe(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[64], port[16];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, size, "?");
    else
        snprintf(out, size, "%s:%s", host, port);
}

static int lookup_member(void *ud, const char *name)
{
    sky__peer *p = sky__cluster_peer_named(ud, name, strlen(name));
    return p ? p->id : -1;
}

static sky__conn *conn_new(sky__cluster *c, int fd, int outbound, sky__peer *p)
{
    sky__conn *k = sky_calloc(1, sizeof *k);
    k->c = c;
    k->fd = fd;
    k->outbound = outbound;
    k->peer = p;
    k->born_ms = sky__cluster_now(c);
    sky__wire_dec_init(&k->dec, &c->lim);
    sky__hs_config hc = {.name = c->self_name, .id = c->self_id, .incarnation = c->incarnation,
                         .secret = c->secret, .secret_len = c->secret_len, .lookup = lookup_member, .ud = c};
    if (p) {
        hc.peer_name = p->name;
        hc.peer_id = p->id;
    }
    const char *why;
    k->hs = sky__hs_new(&hc, &why); /* the config is ours and good: it cannot fail but for libsodium */
    ev_io_init(&k->rio, conn_read, fd, EV_READ);
    ev_io_init(&k->wio, conn_write, fd, EV_WRITE);
    ev_timer_init(&k->retry, on_retry, 0.0, 0.0);
    k->rio.data = k->wio.data = k->retry.data = k;
    k->next = c->conns;
    c->conns = k;
    return k;
}

/* The peer retries after a pause that doubles up to 10 s, +-25% jitter. */
static void backoff(sky__peer *p)
{
    uint32_t r = randombytes_uniform(p->backoff_ms / 2 + 1);
    p->next_dial_ms = sky__cluster_now(p->c) + p->backoff_ms - p->backoff_ms / 4 + r;
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/* The kind of a reason, for the log's once-a-minute keys: its first word
 * (handshake refusals, dial errors, protocol errors are told apart). */
static const char *kind_of(const char *why)
{
    static _Thread_local char word[32];
    size_t n = strcspn(why, " :");
    snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word ? n : sizeof word - 1), why);
    return word;
}

void sky__link_close(sky__conn *k, const char *why)
{
    sky__cluster *c = k->c;
    if (k->closing) return;
    k->closing = 1;
    sky__peer *p = k->peer;
    if (k->up && p) sky__peer_set_fd(p, -1); /* no worker writes to it from now on */
    if (p && p->conn == k) {
        p->conn = NULL;
        if (k->up && why) {
            sky__peer_down(p, atomic_load(&p->state) == P_GONE ? P_GONE : P_DOWN, why); /* logs */
        } else if (why && atomic_load(&p->state) != P_NEW) {
            /* a member not reached yet is likely still starting: its dial
             * errors wait until it is down ("not reached since ...") */
            sky__link_log(c, p->name, kind_of(why), "link to node '%s' (%s): %s", p->name, k->who, why);
        }
        backoff(p);
    } else if (why) {
        char key[320];
        /* an unknown caller by its host: each connection has a port of its own */
        const char *colon = strrchr(k->who, ':');
        snprintf(key, sizeof key, "%.*s", p ? (int)strlen(p->name) : colon ? (int)(colon - k->who) : (int)strlen(k->who),
                 p ? p->name : k->who);
        sky__link_log(c, key, kind_of(why), "connection from %s: %s", k->who, why);
    }
    ev_io_stop(c->ev, &k->rio);
    ev_io_stop(c->ev, &k->wio);
    ev_timer_stop(c->ev, &k->retry);
    sky__peer_drop_parked(k);
    close(k->fd);
    k->fd = -1;
    for (sky__conn **pp = &c->conns; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    /* freed later: a caller up the stack (a read, a frame) may still hold k */
    k->next = c->dead;
    c->dead = k;
}

void sky__link_reap(sky__cluster *c)
{
    while (c->dead) {
        sky__conn *k = c->dead;
        c->dead = k->next;
        sky__wire_dec_deinit(&k->dec);
        sky__hs_free(k->hs);
        sky__reasm_free(k->reasm);
        sky_free(k->stash);
        sky_free(k);
    }
}

/* Why a handshake frame could not be written: nothing to log when the
 * other side closed first (of two crossing dials, it gave this one up). */
static const char *hs_send_why(void)
{
    return errno == EPIPE || errno == ECONNRESET ? NULL : "cannot send the handshake";
}

/* Writes a handshake frame whole: a fresh socket has room for 600 bytes. */
static int send_hs(sky__conn *k, const uint8_t *msg, size_t n)
{
    uint8_t buf[SKY__WIRE_HEAD + SKY__HS_MSG_MAX];
    sky__wire_head h = {.kind = SKY__W_HANDSHAKE, .length = (uint32_t)n};
    sky__wire_head_encode(&h, buf);
    memcpy(buf + SKY__WIRE_HEAD, msg, n);
    ssize_t w = send(k->fd, buf, SKY__WIRE_HEAD + n, MSG_NOSIGNAL);
    return w == (ssize_t)(SKY__WIRE_HEAD + n) ? 0 : -1;
}

static int start_hs(sky__conn *k)
{
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n;
    if (!k->hs || sky__hs_start(k->hs, out, &n) != 0) return -1;
    return send_hs(k, out, n);
}

static void dial(sky__peer *p)
{
    sky__cluster *c = p->c;
    int fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || nonblock(fd) != 0) {
        if (fd >= 0) close(fd);
        sky__link_log(c, p->name, "socket", "cannot make a socket for node '%s': %s", p->name, strerror(errno));
        backoff(p);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sky__conn *k = conn_new(c, fd, 1, p);
    snprintf(k->who, sizeof k->who, "%s", p->address);
    p->conn = k;
    if (connect(fd, (struct sockaddr *)&p->sa, p->salen) != 0 && errno != EINPROGRESS) {
        sky__link_close(k, strerror(errno));
        return;
    }
    k->connecting = 1;
    ev_io_start(c->ev, &k->wio); /* writable: connected, or failed */
}

/* ---- the handshake ------------------------------------------------------ */

/* The peer a HELLO names (unproven yet): which of two connections to one
 * peer stays is settled here, before either carries mail. The one dialled
 * by the node with the lower id wins, on both sides alike. Returns 0 to go
 * on with k, -1 if k lost. */
static int settle(sky__conn *k, const uint8_t *hello, size_t len)
{
    if (k->outbound || k->peer) return 0;
    if (len < SKY__HS_HELLO_FIXED || len < (size_t)SKY__HS_HELLO_FIXED + hello[48]) return 0; /* the hs says why */
    sky__peer *p = sky__cluster_peer_named(k->c, (const char *)hello + SKY__HS_HELLO_FIXED, hello[48]);
    if (!p) return 0; /* unknown: the handshake refuses it */
    sky__conn *d = p->conn;
    k->peer = p;
    if (!d || d == k) {
        p->conn = k;
    } else if (!d->up) {
        if (d->outbound && k->c->self_id < p->id) {
            k->peer = NULL; /* not p's: closing it must not touch p */
            sky__link_close(k, NULL);
            return -1;
        }
        sky__link_close(d, NULL);
        p->conn = k;
    }
    /* d up: the peer dialled again, so its side of d is gone; k takes
     * over once proven (done()) */
    return 0;
}

static void done(sky__conn *k)
{
    const char *name;
    uint16_t id;
    uint64_t inc;
    if (sky__hs_peer(k->hs, &name, &id, &inc) != 0 || !k->peer || k->peer->id != id) {
        sky__link_close(k, "handshake ended without a known peer");
        return;
    }
    sky__peer *p = k->peer;
    if (atomic_load(&p->state) == P_GONE) {
        sky__link_close(k, "the node was removed from the cluster");
        return;
    }
    if (p->conn && p->conn != k) {
        if (p->conn->up) sky__link_close(p->conn, inc == p->incarnation ? "the peer connected again"
                                                                         : "the peer restarted");
        else sky__link_close(p->conn, NULL);
    }
    p->conn = k;
    k->up = 1;
    k->reasm = sky__reasm_new(k->c->high + k->c->lim.max_message, &k->c->lim);
    sky__hs_free(k->hs);
    k->hs = NULL;
    sky__peer_set_fd(p, k->fd);
    sky__peer_up(p, inc);
}

/* 0 to go on, -1 when k was closed. */
static int handshake_in(sky__conn *k, const sky__wire_head *h, const uint8_t *payload)
{
    if (h->kind != SKY__W_HANDSHAKE) {
        sky__link_close(k, "mail before the handshake finished");
        return -1;
    }
    if (settle(k, payload, h->length) != 0) return -1;
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n = 0;
    int rc = sky__hs_input(k->hs, payload, h->length, out, &n);
    if (rc < 0) {
        char why[300];
        snprintf(why, sizeof why, "handshake refused: %s", sky__hs_why(k->hs));
        sky__link_close(k, why);
        return -1;
    }
    if (n && send_hs(k, out, n) != 0) {
        sky__link_close(k, hs_send_why());
        return -1;
    }
    if (rc == SKY__HS_DONE) done(k);
    return 0;
}

/* ---- reading -------------------------------------------------------------- */

static int on_frame(void *ud, const sky__wire_head *h, const uint8_t *payload)
{
    sky__conn *k = ud;
    if (!k->up) return handshake_in(k, h, payload) == 0 ? 0 : 1;
    const char *why = NULL;
    int rc = sky__peer_input(k->peer, k, h, payload, &why);
    if (rc < 0) sky__link_close(k, why);
    return rc != 0; /* closed, or parked: stop here */
}

/* k parked a oneway with bytes [used, n) of the read still to go: keep
 * them, stop reading, and retry the mail soon. */
static void pause_reading(sky__conn *k, const uint8_t *rest, size_t n)
{
    if (n) {
        uint8_t *s = sky_malloc(n);
        memcpy(s, rest, n);
        sky_free(k->stash);
        k->stash = s;
    }
    k->stash_len = n;
    k->stash_off = 0;
    ev_io_stop(k->c->ev, &k->rio);
    k->retry_ms = 1;
    ev_timer_set(&k->retry, 0.001, 0.0);
    ev_timer_start(k->c->ev, &k->retry);
}

/* The parked mail again; once it is in, what was read after it, then the
 * socket again. The peer is not held silent meanwhile: we chose not to
 * read. */
static void on_retry(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)revents;
    sky__conn *k = w->data;
    sky__cluster *c = k->c;
    if (k->closing) return;
    if (sky__peer_unpark(k)) {
        k->retry_ms = k->retry_ms * 2 > 50 ? 50 : k->retry_ms * 2;
        ev_timer_set(&k->retry, k->retry_ms / 1000.0, 0.0);
        ev_timer_start(ev, &k->retry);
        return;
    }
    while (k->stash_off < k->stash_len) {
        const char *why = NULL;
        size_t left = k->stash_len - k->stash_off;
        long used = sky__wire_dec_feed(&k->dec, k->stash + k->stash_off, left, on_frame, k, &why);
        if (used < 0) sky__link_close(k, why);
        if (k->closing) return;
        k->stash_off += (size_t)used;
        if (k->paused) { /* parked again: the rest waits */
            k->retry_ms = 1;
            ev_timer_set(&k->retry, 0.001, 0.0);
            ev_timer_start(ev, &k->retry);
            return;
        }
    }
    k->stash_len = k->stash_off = 0;
    k->peer->last_rx_ms = sky__cluster_now(c);
    ev_io_start(ev, &k->rio);
}

static void conn_read(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev, (void)revents;
    sky__conn *k = w->data;
    sky__cluster *c = k->c;
    sky__peer *p = k->peer;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        ssize_t n = recv(k->fd, c->rbuf, 256 * 1024, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            sky__link_close(k, n == 0 ? "the connection closed" : strerror(errno));
            return;
        }
        if (k->up) p->last_rx_ms = sky__cluster_now(c);
        const char *why = NULL;
        if (!k->heard && c->rbuf[0] != SKY__W_HANDSHAKE) { /* not a sky node: say so now, not at the timeout */
            sky__link_close(k, "not a sky cluster peer (its first byte is no handshake frame)");
            return;
        }
        k->heard = 1;
        long used = sky__wire_dec_feed(&k->dec, c->rbuf, (size_t)n, on_frame, k, &why);
        if (used < 0) sky__link_close(k, why);
        if (k->closing) return; /* a frame or the decoder ended it */
        p = k->peer;
        if (k->paused) {
            pause_reading(k, c->rbuf + used, (size_t)n - (size_t)used);
            break;
        }
        if ((size_t)n < 256 * 1024) break;
    }
    if (k->up && atomic_load(&p->dirty)) flush(p);
}

/* ---- writing ------------------------------------------------------------- */

/* Writes what p's lanes hold, as the writer (see peer.h); a worker that
 * writes now wakes the loop again if it leaves anything. On EAGAIN the
 * loop keeps the role until the socket is writable. */
static void flush(sky__peer *p)
{
    sky__conn *k = p->conn;
    if (!k || !k->up || sky__peer_write_begin(p) != 0) return;
    for (;;) {
        if (p->woff == p->wlen && !sky__peer_take(p)) break;
        ssize_t n = send(k->fd, p->wbuf + p->woff, p->wlen - p->woff, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(p->c->ev, &k->wio);
            return;
        }
        if (n < 0) {
            sky__link_close(k, strerror(errno));
            return;
        }
        p->woff += (size_t)n;
        sky__peer_written(p, (size_t)n);
    }
    ev_io_stop(p->c->ev, &k->wio);
    sky__peer_write_end(p);
}

static void conn_write(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    sky__conn *k = w->data;
    if (!k->connecting) {
        flush(k->peer);
        return;
    }
    k->connecting = 0;
    ev_io_stop(ev, &k->wio);
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err) {
        sky__link_close(k, strerror(err));
        return;
    }
    if (start_hs(k) != 0) {
        sky__link_close(k, hs_send_why());
        return;
    }
    ev_io_start(ev, &k->rio);
}

/* ---- the listener, the wake-up and the tick ------------------------------ */

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    sky__cluster *c = w->data;
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(c->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sky__link_log(c, "accept", "accept", "accept: %s", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sky__conn *k = conn_new(c, fd, 0, NULL);
        describe((struct sockaddr *)&sa, len, k->who, sizeof k->who);
        if (start_hs(k) != 0) {
            sky__link_close(k, hs_send_why());
            continue;
        }
        ev_io_start(ev, &k->rio);
    }
}

static void on_async(struct ev_loop *ev, ev_async *w, int revents)
{
    (void)ev, (void)revents;
    sky__cluster *c = w->data;
    for (size_t i = 0; i < c->npeers; i++) {
        sky__peer *p = c->peers[i];
        if (atomic_load_explicit(&p->dirty, memory_order_acquire) && p->conn && p->conn->up) flush(p);
    }
}

void sky__link_wake(sky__cluster *c) { ev_async_send(c->ev, &c->async); }

static void on_tick(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)ev, (void)revents;
    sky__cluster *c = w->data;
    uint64_t now = sky__cluster_now(c);
    sky__link_reap(c);
    for (size_t i = 0; i < c->npeers; i++) {
        sky__peer *p = c->peers[i];
        int st = atomic_load(&p->state);
        if (st == P_GONE) continue;
        sky__conn *k = p->conn;
        if (k && k->up) {
            if (k->paused) p->last_rx_ms = now; /* not reading is our choice, not its silence */
            if (now - p->last_rx_ms >= (uint64_t)c->down_ms) {
                char why[80];
                snprintf(why, sizeof why, "silent for %llu ms", (unsigned long long)(now - p->last_rx_ms));
                sky__link_close(k, why);
                continue;
            }
            sky__peer_tick(p, now);
            sky__peer_prune(p, now);
            continue;
        }
        if (st == P_NEW && now - p->since_ms >= (uint64_t)c->down_ms)
            sky__peer_down(p, P_DOWN, "not reached since the node started");
        if (k && now - k->born_ms >= (uint64_t)c->down_ms) {
            sky__link_close(k, "no handshake in cluster_down_ms");
            k = NULL;
        }
        if (!p->conn && now >= p->next_dial_ms) dial(p);
    }
    /* connections that never said who they are */
    for (sky__conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        if (!k->peer && now - k->born_ms >= (uint64_t)c->down_ms) sky__link_close(k, "no handshake in time");
    }
}

int sky__link_listen(sky__cluster *c, char *err, size_t errsize)
{
    char host[256], port[8];
    if (sky__member_split(c->self_address, host, sizeof host, port, sizeof port) != 0) {
        snprintf(err, errsize, "cluster: this node's address '%s' is not \"host:port\"", c->self_address);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errsize, "cluster: this node's address '%s': %s", c->self_address, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0 || nonblock(fd) != 0) {
        snprintf(err, errsize, "cluster: cannot listen on %s (this node's address): %s", c->self_address,
                 strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    c->lfd = fd;
    return 0;
}

void sky__link_start(struct ev_loop *ev, void *arg)
{
    sky__cluster *c = arg;
    if (!ev) return;
    uint64_t now = sky__cluster_now(c);
    for (size_t i = 0; i < c->npeers; i++) c->peers[i]->since_ms = now;
    ev_io_init(&c->lio, on_accept, c->lfd, EV_READ);
    c->lio.data = c;
    ev_io_start(ev, &c->lio);
    ev_set_cb(&c->async, on_async);
    c->async.data = c;
    ev_async_start(ev, &c->async);
    double every = c->tick_ms / 4 > 10 ? c->tick_ms / 4 / 1000.0 : 0.01;
    ev_timer_init(&c->tick, on_tick, 0.0, every);
    c->tick.data = c;
    ev_timer_start(ev, &c->tick);
    c->started = 1;
    on_tick(ev, &c->tick, 0); /* dial now */
    on_async(ev, &c->async, 0);
}

void sky__link_stop(struct ev_loop *ev, void *arg)
{
    (void)ev;
    sky__cluster *c = arg;
    atomic_store(&c->closed, 1);
    for (size_t i = 0; i < c->npeers; i++) sky__peer_down(c->peers[i], P_GONE, "the node is stopping");
    while (c->conns) sky__link_close(c->conns, NULL);
    sky__link_reap(c);
    if (c->started) {
        ev_io_stop(c->ev, &c->lio);
        ev_async_stop(c->ev, &c->async);
        ev_timer_stop(c->ev, &c->tick);
    }
    c->started = 0;
    if (c->lfd >= 0) close(c->lfd);
    c->lfd = -1;
}
