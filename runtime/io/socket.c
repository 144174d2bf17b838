/* Sockets: TCP and UDP owned by services, driven by the loop thread.
 *
 * The table (id -> sock) is shared: a service's thread creates the file
 * descriptor and the entry (so errors like EADDRINUSE come back at once),
 * checks ownership and the write queue's size under the table lock, and
 * posts the rest to the loop thread (sky__loop_post), which alone starts
 * watchers, reads, writes and frees entries. A worker touches an entry
 * only under the lock; the loop thread reads its own fields freely.
 *
 * One exception saves the loop thread a wake-up per answer: a TCP write
 * into an empty queue is tried at once by the writer. It finds the entry
 * under the table lock and takes the entry's own send lock before letting
 * go of it; the loop thread unlinks an entry under the table lock, then
 * takes the send lock to close the descriptor, so a direct send never
 * meets a closed (or reused) descriptor, and the table lock is not held
 * during the system call. Only what the kernel does not take is queued
 * and posted, so the bytes keep their order. */
#define _GNU_SOURCE
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#ifdef __linux__
#include <linux/sockios.h> /* SIOCOUTQ */
#endif
#include "core/deliver.h"
#include "core/node.h"
#include "core/service.h"
#include "io/loop.h"
#include "io/socket.h"
#include "sky/alloc.h"

enum { T_LISTEN = 1, T_CONNECTING, T_TCP, T_UDP };

#define BUCKETS 1024
#define READ_CHUNK 65536
#define ACCEPT_BATCH 64
#define EMFILE_PAUSE_S 0.1
#define LINGER_S 5.0
#define UDP_MAX 65507

typedef struct wbuf {
    struct wbuf *next;
    size_t size, off;
    struct sockaddr_storage to; /* UDP */
    socklen_t tolen;
    char data[];
} wbuf;

typedef struct sock {
    struct sock *next; /* hash chain; then in the graveyard */
    struct sky__sockets *ss;
    uint32_t id;
    int fd;
    int type;        /* loop thread: T_CONNECTING turns T_TCP */
    int udp, listen; /* fixed at creation: what workers check */
    sky_addr_t owner;
    /* under the table lock */
    size_t queued;
    size_t unread;
    uint8_t want_writable;
    uint8_t read_blocked;
    uint8_t closed; /* the owner closed it: no more writes */
    uint8_t direct; /* a connected TCP stream: writers may send themselves */
    atomic_int sending; /* the send lock: a direct send is using fd */
    /* loop thread only */
    ev_io r, w;
    ev_timer t;
    wbuf *head, *tail;
    uint8_t started, paused, closing, dead;
    int conn_err; /* an error connect() gave at once */
    double timeout_s;
} sock;

struct sky__sockets {
    sky_node *node;
    pthread_mutex_t mu;
    sock *b[BUCKETS];
    atomic_uint next_id;
    size_t high, low, read_limit;
    /* loop thread only */
    int spare;       /* a descriptor to give up when accept hits EMFILE */
    ev_check reap;   /* frees the dead after the callback that killed them */
    sock *graveyard;
};

static sky__sockets *table(sky_node *node) { return sky__node_sockets(node); }

/* The send lock: held for one send() by a writer, or by the loop thread
 * closing the descriptor; either waits microseconds at most. */
static void send_lock(sock *s)
{
    while (atomic_exchange_explicit(&s->sending, 1, memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static void send_unlock(sock *s) { atomic_store_explicit(&s->sending, 0, memory_order_release); }

/* ---- the table (callers hold mu) ---------------------------------------- */

static sock **slot(sky__sockets *ss, uint32_t id)
{
    sock **p = &ss->b[id % BUCKETS];
    while (*p && (*p)->id != id) p = &(*p)->next;
    return p;
}

static sock *find(sky__sockets *ss, uint32_t id) { return *slot(ss, id); }

static void insert(sky__sockets *ss, sock *s)
{
    do {
        s->id = atomic_fetch_add(&ss->next_id, 1);
    } while (s->id == 0 || find(ss, s->id));
    s->next = ss->b[s->id % BUCKETS];
    ss->b[s->id % BUCKETS] = s;
}

static void unlink_sock(sky__sockets *ss, sock *s)
{
    sock **p = slot(ss, s->id);
    if (*p == s) *p = s->next;
}

/* ---- addresses ---------------------------------------------------------- */

static int resolve(const char *host, int port, int passive, struct sockaddr_storage *sa, socklen_t *len)
{
    struct addrinfo hints = {0}, *res = NULL;
    char pbuf[16];
    if (port < 0 || port > 65535) return SKY_EINVAL;
    if (!host || !*host) host = passive ? "0.0.0.0" : "127.0.0.1";
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(pbuf, sizeof pbuf, "%d", port);
    if (getaddrinfo(host, pbuf, &hints, &res) != 0 || !res) return SKY_EINVAL;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN], serv[8];
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static int errno_code(int e)
{
    switch (e) {
    case EADDRINUSE: return SKY_EEXIST;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: return SKY_ELIMIT;
    case EACCES:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
    case EINVAL: return SKY_EINVAL;
    default: return SKY_EFAIL;
    }
}

/* ---- events to the owner (loop thread) ---------------------------------- */

static void destroy(sky__sockets *ss, struct ev_loop *ev, sock *s);

/* Delivers an event; an owner that is gone takes its socket with it. */
static void emit(sky__sockets *ss, struct ev_loop *ev, sock *s, int type, void *data, size_t size)
{
    sky__mail m;
    sky__mail_own(&m, SKY_SOCKET, (uint32_t)type, data, size);
    m.session = s->id;
    if (sky__deliver(ss->node, s->owner, &m) == SKY_ENOSVC && type != SKY_SOCK_CLOSE && type != SKY_SOCK_ERROR)
        destroy(ss, ev, s);
}

static void emit_text(sky__sockets *ss, struct ev_loop *ev, sock *s, int type, const char *text)
{
    size_t n = strlen(text);
    emit(ss, ev, s, type, memcpy(sky_malloc(n + 1), text, n + 1), n);
}

/* Ends a socket: watchers, descriptor, queue, entry. */
static void destroy(sky__sockets *ss, struct ev_loop *ev, sock *s)
{
    if (s->dead) return;
    s->dead = 1;
    pthread_mutex_lock(&ss->mu);
    unlink_sock(ss, s);
    pthread_mutex_unlock(&ss->mu);
    if (ev) {
        ev_io_stop(ev, &s->r);
        ev_io_stop(ev, &s->w);
        ev_timer_stop(ev, &s->t);
    }
    send_lock(s); /* a direct send that found s before the unlink ends first */
    close(s->fd);
    s->fd = -1;
    send_unlock(s);
    while (s->head) {
        wbuf *b = s->head;
        s->head = b->next;
        free(b);
    }
    /* the callback that got here may still look at s->dead: free it after */
    s->next = ss->graveyard;
    ss->graveyard = s;
    if (ev && !ev_is_active(&ss->reap)) ev_check_start(ev, &ss->reap);
}

static void bury(sky__sockets *ss)
{
    while (ss->graveyard) {
        sock *s = ss->graveyard;
        ss->graveyard = s->next;
        free(s);
    }
}

static void on_reap(struct ev_loop *ev, ev_check *w, int revents)
{
    sky__sockets *ss = (sky__sockets *)((char *)w - offsetof(sky__sockets, reap));
    (void)revents;
    bury(ss);
    ev_check_stop(ev, w);
}

static void fail(sky__sockets *ss, struct ev_loop *ev, sock *s, const char *what, int err)
{
    char text[160];
    snprintf(text, sizeof text, "%s: %s", what, strerror(err));
    if (!s->closing) emit_text(ss, ev, s, SKY_SOCK_ERROR, text);
    destroy(ss, ev, s);
}

/* Reading runs while nobody holds it back. */
static void update_read(struct ev_loop *ev, sock *s, int blocked)
{
    int on = s->started && !s->paused && !s->closing && !blocked && (s->type != T_CONNECTING);
    if (on && !ev_is_active(&s->r)) ev_io_start(ev, &s->r);
    if (!on && ev_is_active(&s->r)) ev_io_stop(ev, &s->r);
}

/* ---- writing (loop thread) ---------------------------------------------- */

static void wrote(sky__sockets *ss, struct ev_loop *ev, sock *s, size_t n)
{
    int tell = 0;
    pthread_mutex_lock(&ss->mu);
    s->queued -= n;
    if (s->want_writable && s->queued <= ss->low) {
        s->want_writable = 0;
        tell = 1;
    }
    pthread_mutex_unlock(&ss->mu);
    if (tell && !s->closing) emit(ss, ev, s, SKY_SOCK_WRITABLE, NULL, 0);
}

/* Writes what the queue holds until the kernel takes no more. Returns 0,
 * or -1 if s was destroyed. */
static int flush(sky__sockets *ss, struct ev_loop *ev, sock *s)
{
    while (s->head) {
        wbuf *b = s->head;
        ssize_t n;
        if (s->type == T_UDP)
            n = sendto(s->fd, b->data, b->size, MSG_NOSIGNAL, (struct sockaddr *)&b->to, b->tolen);
        else
            n = send(s->fd, b->data + b->off, b->size - b->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            if (s->type == T_UDP) { /* a datagram that cannot go is dropped, not fatal */
                n = (ssize_t)(b->size - b->off);
            } else {
                fail(ss, ev, s, "write", errno);
                return -1;
            }
        }
        b->off += (size_t)n;
        if (s->type == T_UDP) b->off = b->size;
        if (b->off == b->size) {
            s->head = b->next;
            if (!s->head) s->tail = NULL;
            size_t size = b->size;
            free(b);
            wrote(ss, ev, s, size);
            if (s->dead) return -1;
        } else {
            wrote(ss, ev, s, (size_t)n);
            b->size -= b->off;
            memmove(b->data, b->data + b->off, b->size);
            b->off = 0;
        }
    }
    if (s->head && !ev_is_active(&s->w)) ev_io_start(ev, &s->w);
    if (!s->head && ev_is_active(&s->w)) ev_io_stop(ev, &s->w);
    if (!s->head && s->closing) {
        destroy(ss, ev, s);
        return -1;
    }
    return 0;
}

/* ---- watchers (loop thread) --------------------------------------------- */

static sock *of_io(ev_io *w, size_t off) { return (sock *)((char *)w - off); }

static void on_read(struct ev_loop *ev, ev_io *w, int revents);
static void on_write(struct ev_loop *ev, ev_io *w, int revents);
static void on_timer(struct ev_loop *ev, ev_timer *w, int revents);

static void watch(sock *s)
{
    ev_io_init(&s->r, on_read, s->fd, EV_READ);
    ev_io_init(&s->w, on_write, s->fd, EV_WRITE);
    ev_timer_init(&s->t, on_timer, 0., 0.);
}

static void connected(sky__sockets *ss, struct ev_loop *ev, sock *s)
{
    int one = 1;
    ev_timer_stop(ev, &s->t);
    (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->type = T_TCP;
    pthread_mutex_lock(&ss->mu);
    s->direct = 1;
    pthread_mutex_unlock(&ss->mu);
    if (!s->closing) emit(ss, ev, s, SKY_SOCK_CONNECT, NULL, 0);
    if (s->dead) return;
    update_read(ev, s, 0);
    (void)flush(ss, ev, s);
}

static void on_accept(sky__sockets *ss, struct ev_loop *ev, sock *l)
{
    for (int i = 0; i < ACCEPT_BATCH && !l->dead; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED) return;
            if (e == EMFILE || e == ENFILE) {
                /* the connection would wait in the backlog forever and wake
                 * us in a loop: take it with the spare and drop it */
                if (ss->spare >= 0) {
                    close(ss->spare);
                    int c = accept(l->fd, NULL, NULL);
                    if (c >= 0) close(c);
                    ss->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
                sky__log(ss->node, SKY_ADDR_NONE, SKY_LOG_WARN,
                         "socket %u: accept: %s; dropping a connection, pausing accepts for %d ms", l->id,
                         strerror(e), (int)(EMFILE_PAUSE_S * 1000));
            }
            char text[128];
            snprintf(text, sizeof text, "accept: %s", strerror(e));
            emit_text(ss, ev, l, SKY_SOCK_ERROR, text);
            if (l->dead) return;
            ev_io_stop(ev, &l->r);
            ev_timer_set(&l->t, EMFILE_PAUSE_S, 0.);
            ev_timer_start(ev, &l->t);
            return;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sock *c = sky_calloc(1, sizeof *c);
        c->fd = fd;
        c->type = T_TCP;
        c->owner = l->owner;
        c->started = 1;
        c->direct = 1;
        c->ss = ss;
        pthread_mutex_lock(&ss->mu);
        insert(ss, c);
        pthread_mutex_unlock(&ss->mu);
        watch(c);
        char peer[64];
        addr_text((struct sockaddr *)&sa, len, peer, sizeof peer);
        size_t n = strlen(peer);
        unsigned char *p = sky_malloc(4 + n);
        memcpy(p, &l->id, 4);
        memcpy(p + 4, peer, n);
        emit(ss, ev, c, SKY_SOCK_ACCEPT, p, 4 + n);
        if (!c->dead) update_read(ev, c, 0);
    }
}

static void on_read(struct ev_loop *ev, ev_io *w, int revents)
{
    sock *s = of_io(w, offsetof(sock, r));
    sky__sockets *ss = s->ss;
    (void)revents;
    if (s->type == T_LISTEN) {
        on_accept(ss, ev, s);
        return;
    }
    char *buf = sky_malloc(READ_CHUNK);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    ssize_t n = s->type == T_UDP ? recvfrom(s->fd, buf, READ_CHUNK, 0, (struct sockaddr *)&sa, &len)
                                 : recv(s->fd, buf, READ_CHUNK, 0);
    if (n < 0) {
        free(buf);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        if (s->type == T_UDP) return; /* an ICMP error of an earlier sendto */
        fail(ss, ev, s, "read", errno);
        return;
    }
    if (n == 0 && s->type == T_TCP) {
        free(buf);
        if (!s->closing) emit(ss, ev, s, SKY_SOCK_CLOSE, NULL, 0);
        destroy(ss, ev, s);
        return;
    }
    int blocked;
    pthread_mutex_lock(&ss->mu);
    s->unread += (size_t)n;
    blocked = s->read_blocked = s->unread >= ss->read_limit;
    pthread_mutex_unlock(&ss->mu);
    if (s->type == T_UDP) {
        char from[64];
        addr_text((struct sockaddr *)&sa, len, from, sizeof from);
        size_t fl = strlen(from);
        char *p = sky_malloc(1 + fl + (size_t)n);
        p[0] = (char)fl;
        memcpy(p + 1, from, fl);
        memcpy(p + 1 + fl, buf, (size_t)n);
        free(buf);
        emit(ss, ev, s, SKY_SOCK_UDP, p, 1 + fl + (size_t)n);
    } else {
        emit(ss, ev, s, SKY_SOCK_DATA, sky_realloc(buf, (size_t)n), (size_t)n);
    }
    if (!s->dead) update_read(ev, s, blocked);
}

static void on_write(struct ev_loop *ev, ev_io *w, int revents)
{
    sock *s = of_io(w, offsetof(sock, w));
    (void)revents;
    if (s->type == T_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err) {
            fail(s->ss, ev, s, "connect", err);
            return;
        }
        ev_io_stop(ev, w);
        connected(s->ss, ev, s);
        return;
    }
    (void)flush(s->ss, ev, s);
}

/* The one timer: a connect's deadline, a listener's pause after EMFILE,
 * or a closing socket's linger. */
static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    sock *s = (sock *)((char *)w - offsetof(sock, t));
    (void)revents;
    if (s->type == T_CONNECTING) {
        fail(s->ss, ev, s, "connect", ETIMEDOUT);
    } else if (s->closing) {
        destroy(s->ss, ev, s);
    } else if (s->type == T_LISTEN) {
        update_read(ev, s, 0);
    }
}

/* ---- operations posted by services (loop thread) ------------------------ */

enum { OP_START = 1, OP_WRITE, OP_CLOSE, OP_PAUSE, OP_RESUME, OP_OWNER_EXIT };

typedef struct op {
    int kind;
    sky__sockets *ss;
    uint32_t id;
    int on;
    sky_addr_t owner;
    wbuf *buf;
} op;

static void start(sky__sockets *ss, struct ev_loop *ev, sock *s)
{
    watch(s);
    s->started = 1;
    if (s->type == T_CONNECTING) {
        if (s->conn_err) {
            fail(ss, ev, s, "connect", s->conn_err);
            return;
        }
        ev_io_start(ev, &s->w);
        ev_timer_set(&s->t, s->timeout_s, 0.);
        ev_timer_start(ev, &s->t);
        return;
    }
    update_read(ev, s, 0);
}

static void owner_exit(sky__sockets *ss, struct ev_loop *ev, sky_addr_t owner)
{
    sock *doomed = NULL;
    pthread_mutex_lock(&ss->mu);
    for (int i = 0; i < BUCKETS; i++)
        for (sock *s = ss->b[i]; s; s = s->next)
            if (s->owner == owner) s->closed = 1;
    pthread_mutex_unlock(&ss->mu);
    /* destroy() takes the lock itself: walk again, one at a time */
    do {
        doomed = NULL;
        pthread_mutex_lock(&ss->mu);
        for (int i = 0; i < BUCKETS && !doomed; i++)
            for (sock *s = ss->b[i]; s && !doomed; s = s->next)
                if (s->owner == owner && s->closed) doomed = s;
        pthread_mutex_unlock(&ss->mu);
        if (doomed) {
            doomed->closing = 1;
            destroy(ss, ev, doomed);
        }
    } while (doomed);
}

static void run_op(struct ev_loop *ev, void *arg)
{
    op *o = arg;
    sky__sockets *ss = o->ss;
    if (!ev) { /* the loop stopped: sky__sockets_free closes what is left */
        free(o->buf);
        free(o);
        return;
    }
    if (o->kind == OP_OWNER_EXIT) {
        owner_exit(ss, ev, o->owner);
        free(o);
        return;
    }
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, o->id);
    pthread_mutex_unlock(&ss->mu);
    if (!s || s->dead) {
        free(o->buf);
        free(o);
        return;
    }
    switch (o->kind) {
    case OP_START:
        start(ss, ev, s);
        break;
    case OP_WRITE:
        o->buf->next = NULL;
        if (s->tail) s->tail->next = o->buf;
        else s->head = o->buf;
        s->tail = o->buf;
        o->buf = NULL;
        if (s->type != T_CONNECTING && s->started) (void)flush(ss, ev, s);
        break;
    case OP_CLOSE:
        s->closing = 1;
        update_read(ev, s, 1);
        if (!s->head || s->type == T_LISTEN) {
            destroy(ss, ev, s);
        } else {
            ev_timer_stop(ev, &s->t);
            ev_timer_set(&s->t, LINGER_S, 0.);
            ev_timer_start(ev, &s->t);
        }
        break;
    case OP_PAUSE:
        s->paused = (uint8_t)o->on;
        if (s->type == T_LISTEN && !o->on && ev_is_active(&s->t)) break; /* EMFILE pause ends by itself */
        pthread_mutex_lock(&ss->mu);
        int blocked = s->read_blocked;
        pthread_mutex_unlock(&ss->mu);
        update_read(ev, s, blocked);
        break;
    case OP_RESUME:
        update_read(ev, s, 0);
        break;
    }
    free(o->buf);
    free(o);
}

static int post(sky__sockets *ss, op *o)
{
    o->ss = ss;
    int rc = sky__loop_post(sky__node_loop(ss->node), run_op, o);
    if (rc < 0) {
        free(o->buf);
        free(o);
    }
    return rc;
}

static int post_op(sky__sockets *ss, int kind, uint32_t id, int on)
{
    op *o = sky_calloc(1, sizeof *o);
    o->kind = kind;
    o->id = id;
    o->on = on;
    return post(ss, o);
}

/* ---- the services' API -------------------------------------------------- */

static sky_addr_t self(sky_ctx *ctx) { return sky_self(ctx); }

/* Enters a new socket of this service and starts it on the loop thread. */
static int enter(sky_ctx *ctx, int fd, int type, double timeout_s, int conn_err, uint32_t *id)
{
    sky__sockets *ss = table(sky_ctx_node(ctx));
    sock *s = sky_calloc(1, sizeof *s);
    s->ss = ss;
    s->fd = fd;
    s->type = type;
    s->udp = type == T_UDP;
    s->listen = type == T_LISTEN;
    s->owner = self(ctx);
    s->timeout_s = timeout_s;
    s->conn_err = conn_err;
    sky__svc(ctx)->sockets = 1;
    pthread_mutex_lock(&ss->mu);
    insert(ss, s);
    uint32_t sid = s->id;
    pthread_mutex_unlock(&ss->mu);
    int rc = post_op(ss, OP_START, sid, 0);
    if (rc < 0) { /* the loop is gone: nobody else saw s */
        pthread_mutex_lock(&ss->mu);
        unlink_sock(ss, s);
        pthread_mutex_unlock(&ss->mu);
        close(fd);
        free(s);
        return rc;
    }
    *id = sid;
    return 0;
}

static int open_bound(const char *host, int port, int type, int *fdp)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int rc = resolve(host, port, 1, &sa, &len), one = 1;
    if (rc < 0) return rc;
    int fd = socket(sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_code(errno);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, len) != 0 || (type == SOCK_STREAM && listen(fd, 511) != 0)) {
        rc = errno_code(errno);
        close(fd);
        return rc;
    }
    *fdp = fd;
    return 0;
}

int sky_socket_listen(sky_ctx *ctx, const char *host, int port, uint32_t *id)
{
    int fd, rc = open_bound(host, port, SOCK_STREAM, &fd);
    return rc < 0 ? rc : enter(ctx, fd, T_LISTEN, 0, 0, id);
}

int sky_socket_udp(sky_ctx *ctx, const char *host, int port, uint32_t *id)
{
    int fd, rc = open_bound(host, port, SOCK_DGRAM, &fd);
    return rc < 0 ? rc : enter(ctx, fd, T_UDP, 0, 0, id);
}

int sky_socket_connect(sky_ctx *ctx, const char *host, int port, int timeout_ms, uint32_t *id)
{
    struct sockaddr_storage sa;
    socklen_t len;
    if (!host || port <= 0) return SKY_EINVAL;
    int rc = resolve(host, port, 0, &sa, &len);
    if (rc < 0) return rc;
    if (timeout_ms <= 0) timeout_ms = sky__node_config(sky_ctx_node(ctx))->call_timeout_ms;
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_code(errno);
    int err = connect(fd, (struct sockaddr *)&sa, len) == 0 || errno == EINPROGRESS ? 0 : errno;
    return enter(ctx, fd, T_CONNECTING, timeout_ms / 1000.0, err, id);
}

/* Looks id up for its owner and runs the queue check; on 0 the caller
 * posts. Frees b on failure. */
static int admit(sky_ctx *ctx, uint32_t id, wbuf *b, int udp)
{
    sky__sockets *ss = table(sky_ctx_node(ctx));
    int rc = 0;
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, id);
    if (!s || s->closed || s->owner != self(ctx)) {
        rc = SKY_ENOENT;
    } else if (s->listen || s->udp != udp) {
        rc = SKY_EINVAL;
    } else if (s->queued >= ss->high) {
        s->want_writable = 1;
        rc = SKY_EBUSY;
    } else {
        s->queued += b->size;
    }
    pthread_mutex_unlock(&ss->mu);
    if (rc < 0) {
        free(b);
        return rc;
    }
    op *o = sky_calloc(1, sizeof *o);
    o->kind = OP_WRITE;
    o->id = id;
    o->buf = b;
    return post(ss, o);
}

static wbuf *wbuf_new(const void *data, size_t size)
{
    wbuf *b = sky_malloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->off = 0;
    b->tolen = 0;
    if (size) memcpy(b->data, data, size);
    return b;
}

/* The direct write (see the top): sends what the kernel takes of data
 * now, if socket id is a connected TCP stream of this service with
 * nothing queued. Returns the bytes sent (0: nothing could be, queue
 * it all). An error other than EAGAIN sends nothing: the loop thread's
 * own write meets it and reports it. */
static size_t try_direct(sky_ctx *ctx, uint32_t id, const void *data, size_t size)
{
    sky__sockets *ss = table(sky_ctx_node(ctx));
    ssize_t n = 0;
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, id);
    if (!s || !s->direct || s->closed || s->queued != 0 || s->owner != self(ctx)) {
        pthread_mutex_unlock(&ss->mu);
        return 0;
    }
    send_lock(s); /* before the table lock goes: s cannot be closed now */
    pthread_mutex_unlock(&ss->mu);
    do n = send(s->fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    send_unlock(s);
    return n > 0 ? (size_t)n : 0;
}

int sky__socket_write_copy(sky_ctx *ctx, uint32_t id, const void *data, size_t size)
{
    if (size == 0) return 0;
    size_t sent = try_direct(ctx, id, data, size);
    if (sent == size) return 0;
    return admit(ctx, id, wbuf_new((const char *)data + sent, size - sent), 0);
}

int sky_socket_write(sky_ctx *ctx, uint32_t id, void *data, size_t size)
{
    int rc = sky__socket_write_copy(ctx, id, data, size);
    free(data);
    return rc;
}

int sky_socket_sendto(sky_ctx *ctx, uint32_t id, const char *host, int port, const void *data, size_t size)
{
    struct sockaddr_storage sa;
    socklen_t len;
    if (size > UDP_MAX || resolve(host, port, 0, &sa, &len) < 0 || port == 0) return SKY_EINVAL;
    wbuf *b = wbuf_new(data, size);
    b->to = sa;
    b->tolen = len;
    return admit(ctx, id, b, 1);
}

/* Checks that id is this service's; marks it closed if `close`. */
static int mine(sky_ctx *ctx, uint32_t id, int close)
{
    sky__sockets *ss = table(sky_ctx_node(ctx));
    int rc = 0;
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, id);
    if (!s || s->closed || s->owner != self(ctx)) rc = SKY_ENOENT;
    else if (close) s->closed = 1;
    pthread_mutex_unlock(&ss->mu);
    return rc;
}

int sky_socket_close(sky_ctx *ctx, uint32_t id)
{
    int rc = mine(ctx, id, 1);
    if (rc == 0) (void)post_op(table(sky_ctx_node(ctx)), OP_CLOSE, id, 0);
    return rc;
}

void sky__socket_in_transit(sky_ctx *ctx, uint32_t id, size_t *unsent, size_t *unread)
{
    sky__sockets *ss = table(sky_ctx_node(ctx));
    *unsent = *unread = 0;
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, id);
    if (!s || s->owner != self(ctx)) {
        pthread_mutex_unlock(&ss->mu);
        return;
    }
    *unsent = s->queued;
    *unread = s->unread;
    int tcp = !s->udp && !s->listen;
    if (tcp) send_lock(s); /* as for a direct send: the descriptor stays open */
    pthread_mutex_unlock(&ss->mu);
    if (!tcp) return;
#ifdef SIOCOUTQ
    int k = 0;
    if (ioctl(s->fd, SIOCOUTQ, &k) == 0 && k > 0) *unsent += (size_t)k;
#endif
    send_unlock(s);
}

int sky_socket_pause(sky_ctx *ctx, uint32_t id, int paused)
{
    int rc = mine(ctx, id, 0);
    if (rc == 0) rc = post_op(table(sky_ctx_node(ctx)), OP_PAUSE, id, paused != 0);
    return rc;
}

int sky_socket_port(sky_ctx *ctx, uint32_t id)
{
    sky__sockets *ss = table(sky_ctx_node(ctx));
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int port = SKY_ENOENT;
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, id);
    if (s && !s->closed && s->owner == self(ctx) && getsockname(s->fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                              : ((struct sockaddr_in *)&sa)->sin_port);
    pthread_mutex_unlock(&ss->mu);
    return port;
}

int sky_socket_accepted(const sky_msg *m, uint32_t *listener, char *peer, size_t peersize)
{
    if (m->kind != SKY_SOCKET || m->type_id != SKY_SOCK_ACCEPT || m->size < 4) return SKY_EINVAL;
    memcpy(listener, m->data, 4);
    if (peersize) snprintf(peer, peersize, "%.*s", (int)(m->size - 4), (const char *)m->data + 4);
    return 0;
}

int sky_socket_datagram(const sky_msg *m, char *from, size_t fromsize, const void **data, size_t *size)
{
    const unsigned char *p = m->data;
    if (m->kind != SKY_SOCKET || m->type_id != SKY_SOCK_UDP || m->size < 1 || m->size < 1u + p[0])
        return SKY_EINVAL;
    if (fromsize) snprintf(from, fromsize, "%.*s", (int)p[0], (const char *)p + 1);
    *data = p + 1 + p[0];
    *size = m->size - 1 - p[0];
    return 0;
}

int sky_socket_split(const char *addr, char *host, size_t hostsize, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr) return SKY_EINVAL;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535 || hl + 1 > hostsize) return SKY_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

/* ---- the node's side ---------------------------------------------------- */

sky__sockets *sky__sockets_new(sky_node *node)
{
    const sky_config *cfg = sky__node_config(node);
    sky__sockets *ss = sky_calloc(1, sizeof *ss);
    ss->node = node;
    pthread_mutex_init(&ss->mu, NULL);
    atomic_init(&ss->next_id, 1);
    ss->high = cfg->socket_high_water;
    ss->low = cfg->socket_low_water;
    ss->read_limit = cfg->socket_read_limit;
    ss->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ev_check_init(&ss->reap, on_reap);
    return ss;
}

void sky__sockets_free(sky__sockets *ss)
{
    if (!ss) return;
    struct ev_loop *ev = sky__loop_ev(sky__node_loop(ss->node));
    for (int i = 0; i < BUCKETS; i++)
        while (ss->b[i]) destroy(ss, ev, ss->b[i]);
    if (ev_is_active(&ss->reap)) ev_check_stop(ev, &ss->reap);
    bury(ss);
    if (ss->spare >= 0) close(ss->spare);
    pthread_mutex_destroy(&ss->mu);
    free(ss);
}

void sky__socket_handled(sky_node *node, uint32_t event, uint32_t id, size_t size)
{
    if (event != SKY_SOCK_DATA && event != SKY_SOCK_UDP) return; /* only data counts as unread */
    sky__sockets *ss = table(node);
    int resume = 0;
    pthread_mutex_lock(&ss->mu);
    sock *s = find(ss, id);
    if (s) {
        s->unread = s->unread > size ? s->unread - size : 0;
        if (s->read_blocked && s->unread < ss->read_limit) {
            s->read_blocked = 0;
            resume = 1;
        }
    }
    pthread_mutex_unlock(&ss->mu);
    if (resume) (void)post_op(ss, OP_RESUME, id, 0);
}

void sky__socket_owner_exit(sky_node *node, sky_addr_t owner)
{
    op *o = sky_calloc(1, sizeof *o);
    o->kind = OP_OWNER_EXIT;
    o->owner = owner;
    (void)post(table(node), o);
}
