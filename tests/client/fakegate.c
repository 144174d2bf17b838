/* A gate from docs/protocol.md for the client tests (see fakegate.h).
 * Written from the specification alone, not from the client's code, so
 * that the two can disagree. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "fakegate.h"

struct fakegate {
    int lfd, port;
    fakegate_opts o;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    fakegate_seen seen;
};

static const uint8_t preface[4] = {0x53, 0x4b, 0x59, 0x01};

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Reads n bytes, polling so that a stop request is seen; -1 on EOF,
 * error or stop. */
static int read_n(fakegate *g, int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (atomic_load(&g->stop))
            return -1;
        if (poll(&pf, 1, 20) <= 0)
            continue;
        r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void write_n(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        p = (const uint8_t *)p + w;
        n -= (size_t)w;
    }
}

/* Writes a frame with the given length field and payload. */
static void answer(int fd, uint32_t length, uint8_t kind, uint32_t session, uint32_t method, const void *payload,
                   size_t n, int trickle)
{
    uint8_t f[16 + 256];

    put32(f, length);
    f[4] = kind;
    f[5] = f[6] = f[7] = 0;
    put32(f + 8, session);
    put32(f + 12, method);
    if (n > sizeof f - 16)
        n = sizeof f - 16;
    if (n)
        memcpy(f + 16, payload, n);
    if (!trickle) {
        write_n(fd, f, 16 + n);
        return;
    }
    for (size_t i = 0; i < 16 + n; i++) {
        write_n(fd, f + i, 1);
        sleep_ms(2);
    }
}

/* Serves one connection until it closes, breaks the protocol or a
 * FAKE_CLOSE; returns when done. */
static void serve(fakegate *g, int fd)
{
    /* The protocol's own example Status: {code: -2, message: "no such service"}. */
    static const uint8_t status[] = {0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                     0x12, 0x0f, 'n', 'o', ' ', 's', 'u', 'c', 'h', ' ',
                                     's', 'e', 'r', 'v', 'i', 'c', 'e'};
    /* {code: -16, message: "only 3 left", app_code: "EOUTOFSTOCK",
     * details: "\0\1det", 9: 1} */
    static const uint8_t app_status[] = {0x48, 0x01, 0x08, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                         0x12, 0x0b, 'o', 'n', 'l', 'y', ' ', '3', ' ', 'l', 'e', 'f', 't',
                                         0x1a, 0x0b, 'E', 'O', 'U', 'T', 'O', 'F', 'S', 'T', 'O', 'C', 'K',
                                         0x22, 0x05, 0, 1, 'd', 'e', 't'};
    uint8_t pre[4], hdr[16], payload[40960];
    int ok;

    if (read_n(g, fd, pre, 4) < 0)
        return;
    ok = memcmp(pre, preface, 4) == 0;
    pthread_mutex_lock(&g->mu);
    g->seen.bad_prefaces += !ok;
    pthread_mutex_unlock(&g->mu);
    if (!ok)
        return;
    write_n(fd, g->o.bad_preface ? (const void *)"HTTP" : preface, 4);
    for (;;) {
        uint32_t len, session, method, n;

        if (read_n(g, fd, hdr, 16) < 0)
            return;
        len = get32(hdr);
        session = get32(hdr + 8);
        method = get32(hdr + 12);
        if (len < 12 || len - 12 > sizeof payload || (hdr[4] != 1 && hdr[4] != 4))
            return; /* malformed: a gate closes the connection */
        n = len - 12;
        if (read_n(g, fd, payload, n) < 0)
            return;
        pthread_mutex_lock(&g->mu);
        memcpy(g->seen.last_header, hdr, 16);
        g->seen.last_payload_len = n < sizeof g->seen.last_payload ? n : sizeof g->seen.last_payload;
        memcpy(g->seen.last_payload, payload, g->seen.last_payload_len);
        g->seen.oneways += hdr[4] == 4;
        pthread_mutex_unlock(&g->mu);
        if (hdr[4] == 4)
            continue;

        if (method == fnv(FAKE_ECHO)) {
            answer(fd, 12 + n, 2, session, method, payload, n, 0);
        } else if (method == fnv(FAKE_FAIL)) {
            answer(fd, 12 + sizeof status, 3, session, method, status, sizeof status, 0);
        } else if (method == fnv(FAKE_APPFAIL)) {
            answer(fd, 12 + sizeof app_status, 3, session, method, app_status, sizeof app_status, 0);
        } else if (method == fnv(FAKE_SLOW)) {
            sleep_ms(300);
            answer(fd, 12 + n, 2, session, method, payload, n, 0);
        } else if (method == fnv(FAKE_SHORT)) {
            answer(fd, 5, 2, session, method, NULL, 0, 0);
        } else if (method == fnv(FAKE_HUGE)) {
            answer(fd, 0x80000000u, 2, session, method, NULL, 0, 0);
        } else if (method == fnv(FAKE_BADKIND)) {
            answer(fd, 12, 1, session, method, NULL, 0, 0);
        } else if (method == fnv(FAKE_BADSTATUS)) {
            answer(fd, 13, 3, session, method, "\xff", 1, 0);
        } else if (method == fnv(FAKE_GARBAGE)) {
            answer(fd, 14, 2, session, method, "\xff\xff", 2, 0);
        } else if (method == fnv(FAKE_CLOSE)) {
            return;
        } else if (method == fnv(FAKE_TRICKLE)) {
            answer(fd, 12 + n, 2, session, method, payload, n, 1);
        } else if (method == fnv(FAKE_OTHER)) {
            answer(fd, 12 + 3, 2, session + 1000, method, "odd", 3, 0);
            answer(fd, 12 + n, 2, session, method, payload, n, 0);
        } else {
            /* ENOENT, as the gate answers an unknown method id */
            static const uint8_t enoent[] = {0x08, 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
            answer(fd, 12 + sizeof enoent, 3, session, method, enoent, sizeof enoent, 0);
        }
    }
}

static void *run(void *arg)
{
    fakegate *g = arg;

    while (!atomic_load(&g->stop)) {
        struct pollfd pf = {.fd = g->lfd, .events = POLLIN};
        int fd;

        if (poll(&pf, 1, 20) <= 0)
            continue;
        if ((fd = accept(g->lfd, NULL, NULL)) < 0)
            continue;
        pthread_mutex_lock(&g->mu);
        g->seen.connections++;
        pthread_mutex_unlock(&g->mu);
        serve(g, fd);
        close(fd);
    }
    return NULL;
}

/* A TCP socket listening on 127.0.0.1:port (0: any) with the given
 * backlog; -1 on failure. *bound gets the port. */
static int listen_on(int port, int backlog, int *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

fakegate *fakegate_start(const fakegate_opts *o)
{
    fakegate *g = calloc(1, sizeof *g);

    if (!g)
        return NULL;
    g->o = *o;
    if ((g->lfd = listen_on(o->port, 16, &g->port)) < 0) {
        free(g);
        return NULL;
    }
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->thread, NULL, run, g) != 0) {
        close(g->lfd);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    return g;
}

void fakegate_stop(fakegate *g)
{
    if (!g)
        return;
    atomic_store(&g->stop, 1);
    pthread_join(g->thread, NULL);
    close(g->lfd);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

int fakegate_port(const fakegate *g)
{
    return g->port;
}

void fakegate_seen_get(fakegate *g, fakegate_seen *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->seen;
    pthread_mutex_unlock(&g->mu);
}

int fakegate_wait_oneways(fakegate *g, int n, int timeout_ms)
{
    fakegate_seen s;

    for (int waited = 0;; waited += 5) {
        fakegate_seen_get(g, &s);
        if (s.oneways >= n || waited >= timeout_ms)
            return s.oneways;
        sleep_ms(5);
    }
}

int blackhole_open(int *fds, int *nfds, int max)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int port, lfd = listen_on(0, 0, &port);

    *nfds = 0;
    if (lfd < 0)
        return -1;
    fds[(*nfds)++] = lfd;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    /* Fill the accept queue: connections nobody accepts. Past it, the
     * kernel drops the SYNs, and a new connect waits. */
    while (*nfds < max) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0)
            break;
        fds[(*nfds)++] = fd;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
            break;
        sleep_ms(20);
    }
    return port;
}
