/* Sockets (sky/socket.h): TCP and UDP echo, refused connects, resets,
 * pushback and descriptor exhaustion, over real sockets on 127.0.0.1. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

/* What the services saw, for the test thread. */
static struct {
    pthread_mutex_t mu;
    atomic_int port;       /* the server's bound port */
    atomic_int accepts, connects, closes, errors, writables, busy;
    atomic_long written;   /* bytes the pusher got queued */
    char got[4096];        /* data a client received */
    size_t ngot;
    char error[256];       /* the last error event's text */
} sk;

static void sk_reset(void)
{
    memset(&sk, 0, sizeof sk);
    pthread_mutex_init(&sk.mu, NULL);
}

static void note_error(const sky_msg *m)
{
    pthread_mutex_lock(&sk.mu);
    snprintf(sk.error, sizeof sk.error, "%.*s", (int)m->size, (const char *)m->data);
    pthread_mutex_unlock(&sk.mu);
    atomic_fetch_add(&sk.errors, 1);
}

static int has_error(const char *what)
{
    pthread_mutex_lock(&sk.mu);
    int yes = strstr(sk.error, what) != NULL;
    pthread_mutex_unlock(&sk.mu);
    return yes;
}

static void *dup_bytes(const void *p, size_t n) { return memcpy(malloc(n ? n : 1), p, n); }

/* ---- a server: "tcp" echoes what it reads, "udp" echoes datagrams,
 * "push" writes to each new connection until refused, then once more
 * when told it is writable ------------------------------------------------ */

typedef struct server {
    int mode;
    uint32_t listener;
} server;

enum { M_TCP = 1, M_UDP, M_PUSH, M_SEQ };

/* "seq": a stream of SEQ_TOTAL bytes, byte i being i % 251, written in
 * writes of varying sizes (small ones, which go straight to the kernel,
 * between big ones that fill it), resumed when writable. */
#define SEQ_TOTAL (16L << 20)
static long seq_at; /* bytes queued; only the server's thread touches it */

static void seq_write(sky_ctx *ctx, uint32_t id)
{
    static const size_t sizes[] = {1, 70000, 13, 200000, 4096, 5, 131072, 999};
    for (int i = 0; seq_at < SEQ_TOTAL; i++) {
        size_t n = sizes[(seq_at / 7 + i) % (sizeof sizes / sizeof sizes[0])];
        if (n > (size_t)(SEQ_TOTAL - seq_at)) n = (size_t)(SEQ_TOTAL - seq_at);
        unsigned char *b = malloc(n);
        for (size_t k = 0; k < n; k++) b[k] = (unsigned char)((seq_at + (long)k) % 251);
        int rc = sky_socket_write(ctx, id, b, n);
        if (rc == SKY_EBUSY) { /* again when writable */
            atomic_fetch_add(&sk.busy, 1);
            return;
        }
        if (rc != 0) return;
        seq_at += (long)n;
        atomic_store(&sk.written, seq_at);
    }
}

static void *server_create(void) { return calloc(1, sizeof(server)); }
static void server_release(void *st) { free(st); }

static void push(sky_ctx *ctx, uint32_t id)
{
    for (;;) {
        size_t n = 65536;
        int rc = sky_socket_write(ctx, id, calloc(1, n), n);
        if (rc == SKY_EBUSY) {
            atomic_fetch_add(&sk.busy, 1);
            return;
        }
        if (rc != 0) return;
        atomic_fetch_add(&sk.written, (long)n);
    }
}

static int server_init(void *st, sky_ctx *ctx, const char *args)
{
    server *s = st;
    int rc;
    s->mode = strcmp(args, "udp") == 0    ? M_UDP
              : strcmp(args, "push") == 0 ? M_PUSH
              : strcmp(args, "seq") == 0  ? M_SEQ
                                          : M_TCP;
    if (s->mode == M_UDP) rc = sky_socket_udp(ctx, "127.0.0.1", 0, &s->listener);
    else rc = sky_socket_listen(ctx, "127.0.0.1", 0, &s->listener);
    if (rc != 0) return rc;
    atomic_store(&sk.port, sky_socket_port(ctx, s->listener));
    return 0;
}

static int server_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    server *s = st;
    if (m->kind != SKY_SOCKET) return 0;
    switch (m->type_id) {
    case SKY_SOCK_ACCEPT: {
        uint32_t l;
        char peer[64];
        if (sky_socket_accepted(m, &l, peer, sizeof peer) == 0 && l == s->listener &&
            strncmp(peer, "127.0.0.1:", 10) == 0)
            atomic_fetch_add(&sk.accepts, 1);
        if (s->mode == M_PUSH) push(ctx, m->session);
        if (s->mode == M_SEQ) seq_write(ctx, m->session);
        return 0;
    }
    case SKY_SOCK_DATA:
        if (s->mode == M_TCP) return sky_socket_write(ctx, m->session, sky_take_data(ctx, m), m->size);
        return 0;
    case SKY_SOCK_UDP: {
        char from[64], host[64];
        const void *d;
        size_t n;
        int port;
        if (sky_socket_datagram(m, from, sizeof from, &d, &n) != 0) return SKY_EINVAL;
        if (sky_socket_split(from, host, sizeof host, &port) != 0) return SKY_EINVAL;
        return sky_socket_sendto(ctx, m->session, host, port, d, n);
    }
    case SKY_SOCK_WRITABLE:
        atomic_fetch_add(&sk.writables, 1);
        if (s->mode == M_PUSH) push(ctx, m->session);
        if (s->mode == M_SEQ) seq_write(ctx, m->session);
        return 0;
    case SKY_SOCK_CLOSE:
        atomic_fetch_add(&sk.closes, 1);
        return 0;
    case SKY_SOCK_ERROR:
        note_error(m);
        return 0;
    }
    return 0;
}

static const sky_module server_module = {"sserver", server_create, server_init, server_handle, server_release};

/* ---- a client: "tcp PORT" connects and writes "hello"; "udp PORT" sends
 * a datagram; what comes back goes to sk.got --------------------------- */

static int client_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    char mode[8];
    int port;
    uint32_t id;
    if (sscanf(args, "%7s %d", mode, &port) != 2) return SKY_EINVAL;
    if (strcmp(mode, "udp") == 0) {
        int rc = sky_socket_udp(ctx, "127.0.0.1", 0, &id);
        return rc ? rc : sky_socket_sendto(ctx, id, "127.0.0.1", port, "ping", 4);
    }
    int rc = sky_socket_connect(ctx, "127.0.0.1", port, 2000, &id);
    if (rc) return rc;
    /* queued before the connection is up: goes out once it is (or fails
     * with SKY_ENOENT if the connect failed already: the event says why) */
    TU_IGNORE(sky_socket_write(ctx, id, dup_bytes("hello", 5), 5));
    return 0;
}

static int client_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)ctx;
    if (m->kind != SKY_SOCKET) return 0;
    const void *d = m->data;
    size_t n = m->size;
    char from[64];
    switch (m->type_id) {
    case SKY_SOCK_CONNECT:
        atomic_fetch_add(&sk.connects, 1);
        return 0;
    case SKY_SOCK_UDP:
        if (sky_socket_datagram(m, from, sizeof from, &d, &n) != 0) return 0;
        /* fall through */
    case SKY_SOCK_DATA:
        pthread_mutex_lock(&sk.mu);
        if (sk.ngot + n <= sizeof sk.got) {
            memcpy(sk.got + sk.ngot, d, n);
            sk.ngot += n;
        }
        pthread_mutex_unlock(&sk.mu);
        return 0;
    case SKY_SOCK_ERROR:
        note_error(m);
        return 0;
    case SKY_SOCK_CLOSE:
        atomic_fetch_add(&sk.closes, 1);
        return 0;
    }
    return 0;
}

static const sky_module client_module = {"sclient", NULL, client_init, client_handle, NULL};

static int got_is(const char *want)
{
    pthread_mutex_lock(&sk.mu);
    int yes = sk.ngot == strlen(want) && memcmp(sk.got, want, sk.ngot) == 0;
    pthread_mutex_unlock(&sk.mu);
    return yes;
}

static char *args_port(char *buf, size_t size, const char *mode, int port)
{
    snprintf(buf, size, "%s %d", mode, port);
    return buf;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_socket_tcp_echo)
{
    char a[32];
    sk_reset();
    sky_node *node = tu_node(2, &server_module, &client_module, NULL);
    tu_spawn(node, "sserver", "tcp");
    ck_assert_int_gt(atomic_load(&sk.port), 0);
    tu_spawn(node, "sclient", args_port(a, sizeof a, "tcp", atomic_load(&sk.port)));
    ck_assert_msg(TU_WAIT(got_is("hello"), 3000), "echo came back: %.*s", (int)sk.ngot, sk.got);
    ck_assert_int_eq(atomic_load(&sk.connects), 1);
    ck_assert_int_eq(atomic_load(&sk.accepts), 1);
    sky_node_free(node);
}
END_TEST

START_TEST(test_socket_udp_echo)
{
    char a[32];
    sk_reset();
    sky_node *node = tu_node(2, &server_module, &client_module, NULL);
    tu_spawn(node, "sserver", "udp");
    tu_spawn(node, "sclient", args_port(a, sizeof a, "udp", atomic_load(&sk.port)));
    ck_assert_msg(TU_WAIT(got_is("ping"), 3000), "datagram came back");
    sky_node_free(node);
}
END_TEST

/* A port nobody listens on: bound once, then closed. */
static int dead_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

START_TEST(test_socket_connect_refused)
{
    char a[32];
    sk_reset();
    sky_node *node = tu_node(2, &client_module, NULL);
    tu_spawn(node, "sclient", args_port(a, sizeof a, "tcp", dead_port()));
    ck_assert_msg(TU_WAIT(atomic_load(&sk.errors) == 1, 3000), "an error event");
    ck_assert_msg(has_error("refused"), "error text: %s", sk.error);
    ck_assert_int_eq(atomic_load(&sk.connects), 0);
    sky_node_free(node);
}
END_TEST

/* "sbad PORT": init tries what must fail, recording each code. */
static tu_rec codes;

static int bad_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    uint32_t id, udp;
    int port = atoi(args);
    tu_rec_add(&codes, sky_socket_listen(ctx, "127.0.0.1", port, &id));  /* in use */
    tu_rec_add(&codes, sky_socket_listen(ctx, "not-an-ip", 0, &id));     /* bad host */
    tu_rec_add(&codes, sky_socket_listen(ctx, NULL, 70000, &id));        /* bad port */
    tu_rec_add(&codes, sky_socket_connect(ctx, "127.0.0.1", 0, 100, &id));
    tu_rec_add(&codes, sky_socket_write(ctx, 999999, dup_bytes("x", 1), 1)); /* no such socket */
    if (sky_socket_udp(ctx, "127.0.0.1", 0, &udp) != 0) return SKY_EFAIL;
    tu_rec_add(&codes, sky_socket_write(ctx, udp, dup_bytes("x", 1), 1));    /* not TCP */
    tu_rec_add(&codes, sky_socket_sendto(ctx, udp, "127.0.0.1", 9, "x", 70000)); /* too big */
    tu_rec_add(&codes, sky_socket_close(ctx, udp));
    tu_rec_add(&codes, sky_socket_close(ctx, udp)); /* twice */
    return 0;
}

static const sky_module bad_module = {"sbad", NULL, bad_init, NULL, NULL};

START_TEST(test_socket_bad_arguments)
{
    char a[16];
    sk_reset();
    tu_rec_init(&codes);
    sky_node *node = tu_node(1, &server_module, &bad_module, NULL);
    tu_spawn(node, "sserver", "tcp");
    snprintf(a, sizeof a, "%d", atomic_load(&sk.port));
    tu_spawn(node, "sbad", a);
    static const int want[] = {SKY_EEXIST, SKY_EINVAL, SKY_EINVAL, SKY_EINVAL, SKY_ENOENT,
                               SKY_EINVAL, SKY_EINVAL, 0,          SKY_ENOENT};
    ck_assert_uint_eq(tu_rec_count(&codes), 9);
    for (size_t i = 0; i < 9; i++)
        ck_assert_msg(tu_rec_get(&codes, i) == want[i], "call %zu: %lld, expected %d", i,
                      (long long)tu_rec_get(&codes, i), want[i]);
    sky_node_free(node);
}
END_TEST

START_TEST(test_socket_peer_reset)
{
    sk_reset();
    sky_node *node = tu_node(2, &server_module, NULL);
    tu_spawn(node, "sserver", "tcp");
    int fd = tu_tcp_connect(atomic_load(&sk.port));
    ck_assert(TU_WAIT(atomic_load(&sk.accepts) == 1, 3000));
    struct linger lg = {1, 0}; /* close with a reset */
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd);
    ck_assert_msg(TU_WAIT(atomic_load(&sk.errors) + atomic_load(&sk.closes) == 1, 3000), "reset seen");
    ck_assert_msg(atomic_load(&sk.errors) == 1 && has_error("reset"), "error: %s", sk.error);
    sky_node_free(node);
}
END_TEST

/* A node whose sockets queue 256 KiB (writable again at 64 KiB), with
 * the server in `mode`. */
static sky_node *small_queue_node(const char *mode)
{
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.socket_high_water = 256 * 1024;
    cfg.socket_low_water = 64 * 1024;
    sk_reset();
    seq_at = 0;
    sky_node *node = tu_start(&cfg, &server_module, NULL);
    tu_spawn(node, "sserver", mode);
    return node;
}

START_TEST(test_socket_pushback)
{
    sky_node *node = small_queue_node("push");
    int fd = tu_tcp_connect(atomic_load(&sk.port));
    /* the test does not read: once the kernel's buffers are full the
     * writer is refused and stays refused */
    ck_assert_msg(TU_WAIT(atomic_load(&sk.busy) >= 1, 3000), "writer pushed back");
    int busy;
    long queued;
    uint64_t until = tu_now_ms() + (uint64_t)tu_ms(10000);
    do {
        busy = atomic_load(&sk.busy);
        queued = atomic_load(&sk.written);
        tu_sleep_ms(200);
    } while (busy != atomic_load(&sk.busy) && tu_now_ms() < until);
    int writables = atomic_load(&sk.writables);
    ck_assert_int_eq(atomic_load(&sk.written), queued);
    /* reading drains the queue: the writer hears it may write again */
    char buf[65536];
    long total = 0;
    while (atomic_load(&sk.writables) == writables) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, tu_ms(3000)) <= 0) break;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        total += n;
    }
    ck_assert_msg(atomic_load(&sk.writables) > writables, "writable after draining (read %ld)", total);
    /* and writes until refused again */
    ck_assert(TU_WAIT(atomic_load(&sk.busy) > busy, 3000));
    close(fd);
    sky_node_free(node);
}
END_TEST

/* Writes that go straight to the kernel and writes that queue keep their
 * order: the reader, slow at first so that the queue fills, gets every
 * byte of the stream once, in order. */
START_TEST(test_socket_write_order)
{
    sky_node *node = small_queue_node("seq");
    int fd = tu_tcp_connect(atomic_load(&sk.port));
    /* nothing read until the kernel's buffers and the queue are full */
    ck_assert_msg(TU_WAIT(atomic_load(&sk.busy) >= 1, 5000), "writer pushed back");
    static unsigned char buf[65536];
    long got = 0, bad = -1;
    while (got < SEQ_TOTAL) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, tu_ms(5000)) <= 0) break;
        ssize_t n = read(fd, buf, got < SEQ_TOTAL / 16 ? 1000 : sizeof buf);
        if (n <= 0) break;
        for (ssize_t k = 0; k < n && bad < 0; k++)
            if (buf[k] != (unsigned char)((got + k) % 251)) bad = got + k;
        got += n;
        if (bad >= 0) break;
    }
    ck_assert_msg(bad < 0, "byte %ld out of order", bad);
    ck_assert_int_eq(got, SEQ_TOTAL);
    ck_assert_msg(atomic_load(&sk.writables) > 0, "told it was writable again");
    close(fd);
    sky_node_free(node);
}
END_TEST

/* The node in a child process whose descriptors run out: accepts fail with
 * EMFILE, the listener's service hears of it, and once descriptors are
 * free again the node answers as before. */
START_TEST(test_socket_emfile)
{
    /* valgrind keeps descriptors of its own at the top of the limit: the
     * limit cannot be lowered under it (the ASan and plain runs cover it) */
    if (tu_under_valgrind()) return;
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    sk_reset();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        sky_config cfg;
        tu_config(&cfg, 2);
        cfg.log_level = SKY_LOG_ERROR;
        char err[128];
        sky_node *node = sky_node_new(&cfg, err, sizeof err);
        if (!node || sky_node_register_module(node, &server_module) || sky_node_start(node)) _exit(3);
        sky_addr_t a;
        if (sky_node_spawn(node, "sserver", "tcp", &a, NULL, 0) != 0) _exit(4);
        /* a few descriptors to spare beyond those open now */
        int probe = dup(0), limit = probe + 4;
        close(probe);
        struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(5);
        int port = atomic_load(&sk.port);
        if (write(pfd[1], &port, sizeof port) != sizeof port) _exit(6);
        /* report the first accept error, then stay up until killed */
        for (int i = 0; i < 1000 && atomic_load(&sk.errors) == 0; i++) tu_sleep_ms(10);
        int e = has_error("Too many open files") ? 1 : 0;
        if (write(pfd[1], &e, sizeof e) != sizeof e) _exit(7);
        tu_sleep_ms(tu_ms(20000));
        _exit(0);
    }
    close(pfd[1]);
    int port = 0, e = -1;
    struct pollfd p = {pfd[0], POLLIN, 0};
    ck_assert(poll(&p, 1, tu_ms(5000)) == 1 && read(pfd[0], &port, sizeof port) == sizeof port);
    int fds[32], n = 0;
    for (; n < 32; n++) fds[n] = tu_tcp_connect(port);
    ck_assert_msg(poll(&p, 1, tu_ms(5000)) == 1 && read(pfd[0], &e, sizeof e) == sizeof e, "child reported");
    ck_assert_msg(e == 1, "the service heard of EMFILE");
    for (int i = 0; i < n; i++) close(fds[i]);
    /* the node frees the closed connections' descriptors and answers again */
    int ok = 0;
    for (int tries = 0; tries < 50 && !ok; tries++) {
        tu_sleep_ms(100);
        int fd = tu_tcp_connect(port);
        char buf[8];
        if (write(fd, "ping", 4) == 4) {
            struct pollfd q = {fd, POLLIN, 0};
            if (poll(&q, 1, 300) == 1 && read(fd, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0) ok = 1;
        }
        close(fd);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pfd[0]);
    ck_assert_msg(ok, "the node answered after EMFILE");
}
END_TEST

/* A service's sockets close when it exits: its listener refuses. */
START_TEST(test_socket_owner_exit)
{
    sk_reset();
    sky_node *node = tu_node(2, &server_module, NULL);
    sky_addr_t s = tu_spawn(node, "sserver", "tcp");
    int port = atomic_load(&sk.port);
    int fd = tu_tcp_connect(port);
    ck_assert(TU_WAIT(atomic_load(&sk.accepts) == 1, 3000));
    ck_assert_int_eq(sky_node_kill(node, s), 0);
    /* the accepted connection is closed by the node */
    char c;
    struct pollfd p = {fd, POLLIN, 0};
    ck_assert(poll(&p, 1, tu_ms(3000)) == 1);
    ck_assert_int_eq(read(fd, &c, 1), 0);
    close(fd);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int refused = 0;
    for (int i = 0; i < 100 && !refused; i++) {
        int f = socket(AF_INET, SOCK_STREAM, 0);
        refused = connect(f, (struct sockaddr *)&sa, sizeof sa) != 0 && errno == ECONNREFUSED;
        close(f);
        if (!refused) tu_sleep_ms(10);
    }
    ck_assert_msg(refused, "the listener closed");
    sky_node_free(node);
}
END_TEST

/* ---- from Lua (tests/lua/socktest.lua) ----------------------------------- */

static sky_node *lua_sock_node_with(size_t high_water, size_t low_water)
{
    sky_config cfg;
    char path[1024];
    const char *src = getenv("SKY_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/lua/?.lua", src ? src : ".");
    tu_config(&cfg, 2);
    cfg.service_path = path;
    cfg.socket_high_water = high_water;
    cfg.socket_low_water = low_water;
    return tu_start(&cfg, NULL);
}

static sky_node *lua_sock_node(void) { return lua_sock_node_with(256 * 1024, 64 * 1024); }

static void lua_expect(sky_node *n, sky_addr_t a, const char *what, const char *want)
{
    size_t len = strlen(what);
    sky_msg req = {.type_id = 1, .size = len, .data = dup_bytes(what, len)};
    sky_msg rep = {0};
    char err[256] = "";
    int rc = sky_node_call(n, a, &req, tu_ms(8000), &rep, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", what, err);
    ck_assert_msg(rep.size == strlen(want) && memcmp(rep.data, want, rep.size) == 0, "%s: got '%.*s', want '%s'",
                  what, (int)rep.size, (char *)rep.data, want);
    free(rep.data);
}

START_TEST(test_socket_lua)
{
    char buf[64], want[128];
    sky_node *n = lua_sock_node();
    sky_addr_t a = tu_spawn(n, "lua", "socktest");
    lua_expect(n, a, "tcp", "hello world");
    lua_expect(n, a, "udp", "PING from server");
    int port = dead_port();
    snprintf(buf, sizeof buf, "refused %d", port);
    snprintf(want, sizeof want, "false sky.connect 127.0.0.1:%d: connect: Connection refused", port);
    lua_expect(n, a, buf, want);
    lua_expect(n, a, "peerclose", "bye nil closed");
    lua_expect(n, a, "pushback", "4194304");
    lua_expect(n, a, "bad", "EINVAL EINVAL ok");
    sky_node_free(n);
}
END_TEST

/* The descriptors the test process has open (the node's among them). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    ck_assert(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the one opendir holds */
}

/* A listening TCP socket of the test thread on 127.0.0.1; its port in *port. */
static int test_listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 128), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Lua socket objects dropped without close are closed when collected:
 * connections (the peer reads EOF), listeners, UDP sockets and accepted
 * connections alike (their descriptors go); `<close>` closes at once. */
START_TEST(test_socket_lua_gc)
{
    enum { N = 20 };
    char buf[64];
    int port;
    sky_node *n = lua_sock_node();
    sky_addr_t a = tu_spawn(n, "lua", "socktest");
    int lfd = test_listener(&port);
    int before = count_fds();
    snprintf(buf, sizeof buf, "drop %d %d", N, port);
    lua_expect(n, a, buf, "dropped");
    int eofs = 0;
    uint64_t end = tu_now_ms() + (uint64_t)tu_ms(5000);
    for (int i = 0; i < N; i++) {
        struct pollfd p = {lfd, POLLIN, 0};
        ck_assert_msg(poll(&p, 1, tu_ms(3000)) == 1, "connection %d came", i);
        int c = accept(lfd, NULL, NULL);
        ck_assert_int_ge(c, 0);
        struct pollfd q = {c, POLLIN, 0};
        uint64_t now = tu_now_ms();
        char byte;
        if (poll(&q, 1, now < end ? (int)(end - now) : 0) == 1 && read(c, &byte, 1) == 0) eofs++;
        close(c);
    }
    ck_assert_msg(eofs == N, "%d of %d dropped connections ended", eofs, N);
    ck_assert_msg(TU_WAIT(count_fds() <= before, 3000), "descriptors: %d open, %d before", count_fds(), before);
    snprintf(buf, sizeof buf, "closeattr %d", port);
    lua_expect(n, a, buf, "sky.socket(udp N, closed) sky.socket(tcp N, closed)");
    close(lfd);
    sky_node_free(n);
}
END_TEST

/* Fibers waiting on a socket wake, never hang: a writer and a reader when
 * the peer resets, two writers on one full queue. */
START_TEST(test_socket_lua_waiters)
{
    sky_node *n = lua_sock_node();
    sky_addr_t a = tu_spawn(n, "lua", "socktest");
    lua_expect(n, a, "writereset", "raised nil string");
    lua_expect(n, a, "twowriters", "4194304");
    sky_node_free(n);
}
END_TEST

/* u:sendto past the high-water mark (1 byte here: nearly every datagram
 * finds the last one still queued) waits for the queue to drain rather
 * than dropping the datagram, and raises if the socket closes meanwhile. */
START_TEST(test_socket_lua_sendto_waits)
{
    sky_node *n = lua_sock_node_with(1, 0);
    sky_addr_t a = tu_spawn(n, "lua", "socktest");
    lua_expect(n, a, "udpflood 100", "false 0 got 100 waited true");
    lua_expect(n, a, "udpclosewait", "false ENOENT");
    sky_node_free(n);
}
END_TEST

Suite *socket_suite(void)
{
    Suite *s = suite_create("socket");
    TCase *tc = tu_tcase("socket");
    tcase_add_test(tc, test_socket_tcp_echo);
    tcase_add_test(tc, test_socket_udp_echo);
    tcase_add_test(tc, test_socket_connect_refused);
    tcase_add_test(tc, test_socket_bad_arguments);
    tcase_add_test(tc, test_socket_peer_reset);
    tcase_add_test(tc, test_socket_pushback);
    tcase_add_test(tc, test_socket_write_order);
    tcase_add_test(tc, test_socket_emfile);
    tcase_add_test(tc, test_socket_owner_exit);
    tcase_add_test(tc, test_socket_lua);
    tcase_add_test(tc, test_socket_lua_gc);
    tcase_add_test(tc, test_socket_lua_waiters);
    tcase_add_test(tc, test_socket_lua_sendto_waits);
    suite_add_tcase(s, tc);
    return s;
}
