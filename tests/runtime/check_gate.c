/* The gate (runtime/gate.c), driven by a raw-socket client written from
 * docs/protocol.md ("The client protocol"), against skytest.Echo served
 * in C (check_typed.c's tserver). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"
#include "typed_test.sky.h"

extern const sky_module typed_server_module;

#define BUMP 0x1b66e1cdu /* sky_method_id("skytest.Echo.Bump") */

/* ---- the client, from the spec ------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Reads exactly n bytes within ms. Returns n, 0 at end of stream, -1 on
 * timeout or error. */
static int read_full(int fd, void *buf, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = tu_now_ms() + (uint64_t)tu_ms(ms);
    while (got < n) {
        uint64_t now = tu_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0) return -1;
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r == 0) return 0;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return errno == ECONNRESET ? 0 : -1;
        }
        got += (size_t)r;
    }
    return (int)n;
}

static void write_all(int fd, const void *buf, size_t n)
{
    ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
}

/* Connects and exchanges the preface. */
static int gc_open(int port)
{
    int fd = tu_tcp_connect(port);
    uint8_t hello[4];
    write_all(fd, "SKY\x01", 4);
    ck_assert_int_eq(read_full(fd, hello, 4, 3000), 4);
    ck_assert(memcmp(hello, "SKY\x01", 4) == 0);
    return fd;
}

static size_t frame(uint8_t *out, int kind, uint32_t session, uint32_t method, const void *payload, size_t n)
{
    put32(out, (uint32_t)(12 + n));
    out[4] = (uint8_t)kind;
    out[5] = out[6] = out[7] = 0;
    put32(out + 8, session);
    put32(out + 12, method);
    if (n) memcpy(out + 16, payload, n);
    return 16 + n;
}

static void gc_send(int fd, int kind, uint32_t session, uint32_t method, const void *payload, size_t n)
{
    uint8_t buf[65536];
    ck_assert(n + 16 <= sizeof buf);
    write_all(fd, buf, frame(buf, kind, session, method, payload, n));
}

typedef struct answer {
    int kind;
    uint32_t session, method;
    uint8_t payload[8192];
    size_t size;
} answer;

/* Reads one frame within ms; 1, 0 at end of stream, -1 on timeout. */
static int gc_recv(int fd, answer *a, int ms)
{
    uint8_t head[16];
    int r = read_full(fd, head, 16, ms);
    if (r <= 0) return r;
    uint32_t len = get32(head);
    ck_assert(len >= 12 && len - 12 <= sizeof a->payload);
    a->kind = head[4];
    a->session = get32(head + 8);
    a->method = get32(head + 12);
    a->size = len - 12;
    if (a->size && read_full(fd, a->payload, a->size, ms) != (int)a->size) return -1;
    return 1;
}

/* A Payload {id, body} encoded (protobuf-c). */
static size_t payload(uint8_t *out, int32_t id, const char *body)
{
    Skytest__Payload p = SKYTEST__PAYLOAD__INIT;
    p.id = id;
    p.body = (char *)body;
    return skytest__payload__pack(&p, out);
}

static int32_t answer_id(const answer *a)
{
    Skytest__Payload *p = skytest__payload__unpack(NULL, a->size, a->payload);
    ck_assert_ptr_nonnull(p);
    int32_t id = p->id;
    skytest__payload__free_unpacked(p, NULL);
    return id;
}

/* The error code of an error answer (its sky.Status). */
static int answer_code(const answer *a)
{
    ck_assert_int_eq(a->kind, 3);
    ck_assert(a->size >= 2 && a->payload[0] == 0x08);
    uint64_t v = 0;
    int shift = 0;
    for (size_t i = 1; i < a->size && shift < 64; i++, shift += 7) {
        v |= (uint64_t)(a->payload[i] & 0x7f) << shift;
        if (!(a->payload[i] & 0x80)) break;
    }
    return (int)(int32_t)(uint32_t)v; /* a negative int32, sign-extended to 64 bits */
}

/* 1 if the gate closed fd within ms (end of stream or a reset). */
static int closed_within(int fd, int ms)
{
    uint8_t b[256];
    uint64_t end = tu_now_ms() + (uint64_t)tu_ms(ms);
    while (tu_now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        ssize_t r = read(fd, b, sizeof b);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) return 1;
    }
    return 0;
}

/* ---- the node ------------------------------------------------------------ */

typedef struct world {
    sky_node *node;
    int port;
} world;

/* A node with cfg and module mod (besides the gate), the gate started
 * with args; w.port is where it listens. */
static world start_gate_with(const char *args, const sky_config *cfg, const sky_module *mod)
{
    world w;
    w.node = tu_start(cfg, mod, NULL);
    sky_addr_t g = tu_spawn(w.node, "gate", args);
    sky_msg req = {.type_id = 1};
    sky_msg rep = {0};
    ck_assert_int_eq(sky_node_call(w.node, g, &req, 2000, &rep, NULL, 0), 0);
    char text[16] = "";
    memcpy(text, rep.data, rep.size < 15 ? rep.size : 15);
    free(rep.data);
    w.port = atoi(text);
    ck_assert_int_gt(w.port, 0);
    return w;
}

static world start_gate(const char *args, size_t high_water, int with_server)
{
    sky_config cfg;
    tu_config(&cfg, 2);
    if (high_water) {
        cfg.socket_high_water = high_water;
        cfg.socket_low_water = high_water / 4;
    }
    world w = start_gate_with(args, &cfg, &typed_server_module);
    if (with_server) tu_spawn(w.node, "tserver", "");
    return w;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_gate_round_trip)
{
    uint8_t p[256];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1", 0, 1);
    int fd = gc_open(w.port);
    /* the spec's own example shape: request, response with the session */
    gc_send(fd, 1, 7, BUMP, p, payload(p, 41, "hi"));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(a.kind, 2);
    ck_assert_uint_eq(a.session, 7);
    ck_assert_uint_eq(a.method, BUMP);
    ck_assert_int_eq(answer_id(&a), 42);
    /* pipelined in one write, answered by session */
    uint8_t many[1024];
    size_t n = 0;
    for (uint32_t s = 100; s < 105; s++) {
        uint8_t q[64];
        n += frame(many + n, 1, s, BUMP, q, payload(q, (int32_t)s, ""));
    }
    write_all(fd, many, n);
    int seen = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
        ck_assert_int_eq(a.kind, 2);
        ck_assert_int_eq(answer_id(&a), (int32_t)a.session + 1);
        seen |= 1 << (a.session - 100);
    }
    ck_assert_int_eq(seen, 0x1f);
    /* a handler's error comes back as a sky.Status with its code */
    gc_send(fd, 1, 8, skytest_Echo_Fail_ID, p, payload(p, SKY_EEXIST, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_uint_eq(a.session, 8);
    ck_assert_int_eq(answer_code(&a), SKY_EEXIST);
    /* no such method */
    gc_send(fd, 1, 9, 0x12345678u, NULL, 0);
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(answer_code(&a), SKY_ENOENT);
    /* a payload that is not the method's input */
    gc_send(fd, 1, 10, BUMP, "\xff\xff\xff", 3);
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(answer_code(&a), SKY_EBADMSG);
    /* the method's deadline (Hold: 100 ms, never answered) */
    uint64_t t0 = tu_now_ms();
    gc_send(fd, 1, 11, skytest_Echo_Hold_ID, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(answer_code(&a), SKY_ETIMEDOUT);
    ck_assert_uint_ge(tu_now_ms() - t0, 90);
    /* a oneway gets nothing back: the next answer is the next request's */
    gc_send(fd, 4, 0, BUMP, p, payload(p, 1, ""));
    gc_send(fd, 4, 0, 0x12345678u, NULL, 0);
    gc_send(fd, 1, 12, BUMP, p, payload(p, 500, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_uint_eq(a.session, 12);
    ck_assert_int_eq(answer_id(&a), 501);
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* The gate follows the name: once the served service dies, a call gets
 * ENOSVC; once another registers the name, calls reach that one. */
START_TEST(test_gate_service_restart)
{
    uint8_t p[64];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1", 0, 0);
    sky_addr_t first = tu_spawn(w.node, "tserver", "");
    int fd = gc_open(w.port);
    gc_send(fd, 1, 1, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(answer_id(&a), 2);
    ck_assert_int_eq(sky_node_kill(w.node, first), 0);
    int code = 0;
    for (uint32_t s = 2; s < 200 && code != SKY_ENOSVC; s++) { /* the kill lands soon */
        gc_send(fd, 1, s, BUMP, p, payload(p, 1, ""));
        ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
        code = a.kind == 3 ? answer_code(&a) : 0;
        if (code != SKY_ENOSVC) tu_sleep_ms(10);
    }
    ck_assert_int_eq(code, SKY_ENOSVC);
    tu_spawn(w.node, "tserver", "");
    gc_send(fd, 1, 300, BUMP, p, payload(p, 9, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(a.kind, 2);
    ck_assert_int_eq(answer_id(&a), 10);
    close(fd);
    sky_node_free(w.node);
}
END_TEST

START_TEST(test_gate_no_service)
{
    uint8_t p[64];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1", 0, 0); /* nobody is typed_echo */
    int fd = gc_open(w.port);
    gc_send(fd, 1, 3, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(answer_code(&a), SKY_ENOSVC);
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* Each malformed input closes its connection; a healthy one stays. */
START_TEST(test_gate_malformed)
{
    uint8_t p[64], b[64];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1 max_frame=1024", 0, 1);
    int good = gc_open(w.port);

    int fd = tu_tcp_connect(w.port); /* wrong preface */
    write_all(fd, "GET / HTTP/1.1\r\n\r\n", 18);
    ck_assert_msg(closed_within(fd, 3000), "bad preface");
    close(fd);

    fd = gc_open(w.port); /* length under 12 */
    put32(b, 5);
    write_all(fd, b, 4);
    ck_assert_msg(closed_within(fd, 3000), "short length");
    close(fd);

    fd = gc_open(w.port); /* unknown kind */
    write_all(fd, b, frame(b, 9, 1, BUMP, NULL, 0));
    ck_assert_msg(closed_within(fd, 3000), "unknown kind");
    close(fd);

    fd = gc_open(w.port); /* a response from a client */
    write_all(fd, b, frame(b, 2, 1, BUMP, NULL, 0));
    ck_assert_msg(closed_within(fd, 3000), "response from client");
    close(fd);

    /* oversized: refused on the length alone, the payload never sent */
    fd = gc_open(w.port);
    put32(b, 1025);
    write_all(fd, b, 4);
    ck_assert_msg(closed_within(fd, 3000), "over max_frame");
    close(fd);
    fd = gc_open(w.port);
    put32(b, 0xffffffffu);
    write_all(fd, b, 4);
    ck_assert_msg(closed_within(fd, 3000), "length 2^32-1");
    close(fd);

    /* an answer given before the bad frame still goes out, then the close */
    fd = gc_open(w.port);
    size_t k = frame(b, 1, 5, 0x12345678u, NULL, 0); /* no such method */
    k += frame(b + k, 9, 6, BUMP, NULL, 0);
    write_all(fd, b, k);
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_uint_eq(a.session, 5);
    ck_assert_int_eq(answer_code(&a), SKY_ENOENT);
    ck_assert_msg(closed_within(fd, 3000), "unknown kind after an error answer");
    close(fd);

    /* exactly max_frame is fine */
    fd = gc_open(w.port);
    static uint8_t body[1024 - 12];
    Skytest__Payload big = SKYTEST__PAYLOAD__INIT;
    char text[1024];
    memset(text, 'x', sizeof text);
    text[1024 - 12 - 3] = 0; /* tag 0x22, a 2-byte length, then the text */
    big.body = text;
    size_t n = skytest__payload__pack(&big, body);
    ck_assert_uint_eq(n, sizeof body);
    gc_send(fd, 1, 1, BUMP, body, n);
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(a.kind, 2);
    close(fd);

    /* nothing else was affected */
    gc_send(good, 1, 77, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(good, &a, 3000), 1);
    ck_assert_uint_eq(a.session, 77);
    close(good);
    sky_node_free(w.node);
}
END_TEST

START_TEST(test_gate_max_connections)
{
    uint8_t p[64];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1 max_connections=2", 0, 1);
    int c1 = gc_open(w.port), c2 = gc_open(w.port);
    int c3 = tu_tcp_connect(w.port);
    ck_assert_msg(closed_within(c3, 3000), "the third connection is closed");
    close(c3);
    gc_send(c2, 1, 2, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(c2, &a, 3000), 1);
    /* a place frees up when one leaves */
    close(c1);
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {
        int c = tu_tcp_connect(w.port);
        uint8_t hello[4];
        write_all(c, "SKY\x01", 4);
        ok = read_full(c, hello, 4, 200) == 4;
        close(c);
        if (!ok) tu_sleep_ms(20);
    }
    ck_assert_msg(ok, "a connection after one left");
    close(c2);
    sky_node_free(w.node);
}
END_TEST

START_TEST(test_gate_idle_timeout)
{
    uint8_t p[64];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1 idle_timeout_ms=300", 0, 1);
    int idle = gc_open(w.port), busy = gc_open(w.port);
    uint64_t t0 = tu_now_ms();
    /* busy sends a frame every 100 ms and stays */
    for (uint32_t i = 0; i < 8; i++) {
        gc_send(busy, 1, i, BUMP, p, payload(p, 1, ""));
        ck_assert_int_eq(gc_recv(busy, &a, 3000), 1);
        tu_sleep_ms(100);
    }
    ck_assert_msg(closed_within(idle, 3000), "the idle connection is closed");
    ck_assert_uint_ge(tu_now_ms() - t0, 300);
    gc_send(busy, 1, 99, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(busy, &a, 3000), 1);
    close(idle);
    close(busy);
    sky_node_free(w.node);
}
END_TEST

START_TEST(test_gate_inflight_limit)
{
    uint8_t p[64];
    answer a;
    world w = start_gate("port=0 host=127.0.0.1 max_inflight=2", 0, 1);
    int fd = gc_open(w.port);
    gc_send(fd, 1, 1, skytest_Echo_Hold_ID, p, payload(p, 1, ""));
    gc_send(fd, 1, 2, skytest_Echo_Hold_ID, p, payload(p, 1, ""));
    gc_send(fd, 1, 3, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_uint_eq(a.session, 3); /* at once, before the holds time out */
    ck_assert_int_eq(answer_code(&a), SKY_ELIMIT);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
        ck_assert_int_eq(answer_code(&a), SKY_ETIMEDOUT);
    }
    /* room again */
    gc_send(fd, 1, 4, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(gc_recv(fd, &a, 3000), 1);
    ck_assert_int_eq(a.kind, 2);
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* Counts the complete answer frames in what came (ok: responses; other:
 * errors, which must be ELIMIT); keeps a partial one for later. */
typedef struct tally {
    uint8_t buf[1 << 16];
    size_t len;
    uint32_t ok, limited, bad;
} tally;

/* Returns 0 once the gate has closed the connection, else 1. */
static int tally_read(tally *t, int fd)
{
    ssize_t r = read(fd, t->buf + t->len, sizeof t->buf - t->len);
    if (r <= 0) return r < 0 && errno != ECONNRESET;
    t->len += (size_t)r;
    size_t off = 0;
    while (t->len - off >= 16) {
        uint32_t flen = get32(t->buf + off);
        if (t->len - off < 4 + (size_t)flen) break;
        answer a;
        a.kind = t->buf[off + 4];
        a.size = flen - 12;
        memcpy(a.payload, t->buf + off + 16, a.size < sizeof a.payload ? a.size : sizeof a.payload);
        if (a.kind == 2) t->ok++;
        else if (a.kind == 3 && answer_code(&a) == SKY_ELIMIT) t->limited++;
        else t->bad++;
        off += 4 + flen;
    }
    memmove(t->buf, t->buf + off, t->len - off);
    t->len -= off;
    return 1;
}

/* A client that writes requests and reads no answer: the gate stops
 * reading it (the client's writes block), and every request sent is
 * answered, none lost, once it reads, even after pause_ms of not
 * reading (the gate started with args). */
static void slow_reader(const char *args, int pause_ms)
{
    static uint8_t p[8192];
    static tally t;
    memset(&t, 0, sizeof t);
    char body[4000];
    memset(body, 'b', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    world w = start_gate(args, 64 * 1024, 1);
    int fd = gc_open(w.port);
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    uint8_t buf[4200];
    size_t n = frame(buf, 1, 0, BUMP, p, payload(p, 1, body));
    uint32_t sent = 0;
    uint64_t stuck_since = 0, end = tu_now_ms() + (uint64_t)tu_ms(10000);
    size_t off = 0;
    while (tu_now_ms() < end) {
        ssize_t r = send(fd, buf + off, n - off, MSG_NOSIGNAL);
        if (r > 0) {
            off += (size_t)r;
            if (off == n) {
                off = 0;
                sent++;
            }
            stuck_since = 0;
            continue;
        }
        ck_assert_msg(errno == EAGAIN, "after %u requests: %s", sent, strerror(errno));
        if (!stuck_since) stuck_since = tu_now_ms();
        if (tu_now_ms() - stuck_since > 300) break; /* the gate stopped reading */
        tu_sleep_ms(5);
    }
    ck_assert_msg(stuck_since != 0, "the gate kept reading (%u requests)", sent);
    tu_sleep_ms(pause_ms); /* reading nothing */
    /* now read: the rest of the frame in hand goes out, every request is
     * answered */
    end = tu_now_ms() + (uint64_t)tu_ms(10000);
    int alive = 1;
    while (alive && t.ok + t.limited + t.bad < sent + (off != 0) && tu_now_ms() < end) {
        struct pollfd q = {fd, (short)(POLLIN | (off ? POLLOUT : 0)), 0};
        if (poll(&q, 1, 100) <= 0) continue;
        if (q.revents & (POLLIN | POLLHUP | POLLERR)) alive = tally_read(&t, fd);
        if (off && (q.revents & POLLOUT)) {
            ssize_t r = send(fd, buf + off, n - off, MSG_NOSIGNAL);
            if (r > 0) off += (size_t)r;
            if (off == n) {
                off = 0;
                sent++;
            }
        }
    }
    ck_assert_msg(alive, "the gate closed the connection: %u answers for %u requests", t.ok + t.limited, sent);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(t.bad, 0);
    ck_assert_msg(t.ok + t.limited == sent, "%u + %u answers for %u requests", t.ok, t.limited, sent);
    ck_assert_uint_ge(t.ok, 64); /* past max_inflight (64): ELIMIT at once */
    close(fd);
    sky_node_free(w.node);
}

START_TEST(test_gate_slow_reader) { slow_reader("port=0 host=127.0.0.1", 0); }
END_TEST

/* Answers owed are never cut by the idle timeout: a client that reads
 * nothing for three idle periods still gets every answer. */
START_TEST(test_gate_idle_slow_reader) { slow_reader("port=0 host=127.0.0.1 idle_timeout_ms=200", 600); }
END_TEST

/* Answers on their way are owed too, even when the kernel's send buffer
 * takes them all (the socket's high-water mark is far: the gate keeps no
 * backlog and goes on reading). A client with a small receive buffer
 * sends N calls with large answers and reads nothing for three idle
 * periods; then it gets every answer, and the connection still takes a
 * call (once closed as idle, that call met a reset, which threw away the
 * answers still in the gate's kernel buffer). */
START_TEST(test_gate_idle_queued_answers)
{
    enum { N = 60, BODY = 8000 };
    static uint8_t buf[N * (BODY + 32)], p[BODY + 16];
    static tally t;
    memset(&t, 0, sizeof t);
    static char body[BODY];
    memset(body, 'q', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    world w = start_gate("port=0 host=127.0.0.1 idle_timeout_ms=200", 16 << 20, 1);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 16384;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    memcpy(buf, "SKY\x01", 4); /* the preface, then N calls in one write */
    size_t n = 4;
    for (uint32_t i = 0; i < N; i++) n += frame(buf + n, 1, i, BUMP, p, payload(p, 1, body));
    write_all(fd, buf, n);
    tu_sleep_ms(600); /* reading nothing */
    uint8_t hello[4];
    ck_assert_int_eq(read_full(fd, hello, 4, 3000), 4);
    gc_send(fd, 1, N, BUMP, p, payload(p, 1, ""));
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    uint64_t end = tu_now_ms() + (uint64_t)tu_ms(5000);
    int alive = 1;
    while (alive && t.ok + t.limited + t.bad < N + 1 && tu_now_ms() < end) {
        struct pollfd q = {fd, POLLIN, 0};
        if (poll(&q, 1, 100) > 0) alive = tally_read(&t, fd);
    }
    ck_assert_msg(t.ok == N + 1, "%u answers for %d calls (%s)", t.ok, N + 1, alive ? "open" : "closed");
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* A slow service with a small mailbox, serving skytest.Echo as
 * typed_echo: counts Notes (raw), sleeping 1 ms every slow_every of
 * them, and answers Bumps with an empty reply after slow_reply_ms. */
static atomic_int slow_notes, slow_every, slow_reply_ms;

static int slow_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)args;
    return sky_register(ctx, "typed_echo");
}

static int slow_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_ONEWAY && m->type_id == skytest_Echo_Note_ID) {
        int n = atomic_fetch_add(&slow_notes, 1) + 1;
        tu_sleep_ms(n % atomic_load(&slow_every) == 0); /* slower than the flood */
    }
    if (m->kind == SKY_REQUEST) {
        tu_sleep_ms(atomic_load(&slow_reply_ms));
        return sky_reply_copy(ctx, m, m->type_id, NULL, 0);
    }
    return 0;
}

static const sky_module slow_module = {"slownote", NULL, slow_init, slow_handle, NULL};

/* A node with the slow service (mailbox 32) and a gate with args. */
static world start_slow(const char *args, int every, int reply_ms)
{
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.mailbox_limit = 32;
    atomic_store(&slow_notes, 0);
    atomic_store(&slow_every, every);
    atomic_store(&slow_reply_ms, reply_ms);
    world w = start_gate_with(args, &cfg, &slow_module);
    tu_spawn(w.node, "slownote", "");
    return w;
}

/* Writes n Notes then a Bump (session 9) in one write, and checks that
 * the Bump is answered within ms and every Note arrived. */
static void flood_then_call(int fd, int n, int ms)
{
    static uint8_t buf[20000 * 20 + 64];
    uint8_t p[16];
    size_t len = 0, k = payload(p, 1, "");
    ck_assert((size_t)n * 20 + 64 <= sizeof buf);
    for (int i = 0; i < n; i++) len += frame(buf + len, 4, 0, skytest_Echo_Note_ID, p, k);
    len += frame(buf + len, 1, 9, BUMP, p, k);
    write_all(fd, buf, len);
    answer a;
    int r = gc_recv(fd, &a, ms);
    ck_assert_msg(r == 1, "no answer to the call after %d notes (%s); %d notes arrived", n,
                  r == 0 ? "the gate closed the connection" : "timed out", atomic_load(&slow_notes));
    ck_assert_uint_eq(a.session, 9);
    ck_assert_int_eq(a.kind, 2);
    ck_assert_int_eq(atomic_load(&slow_notes), n);
}

/* A flood of oneways at a service whose mailbox (32) is full most of the
 * time: the gate holds frames back (and stops reading) instead of
 * dropping them, so every one arrives, and a call after them is
 * answered. */
START_TEST(test_gate_full_mailbox)
{
    world w = start_slow("port=0 host=127.0.0.1", 64, 0);
    int fd = gc_open(w.port);
    flood_then_call(fd, 20000, 20000);
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* Frames the gate holds back are never cut by the idle timeout: the
 * flood takes three idle periods or more to get through the slow
 * service, while the client sends nothing more. */
START_TEST(test_gate_idle_held_back)
{
    world w = start_slow("port=0 host=127.0.0.1 idle_timeout_ms=250", 4, 0);
    int fd = gc_open(w.port);
    uint64_t t0 = tu_now_ms();
    flood_then_call(fd, 3000, 20000);
    ck_assert_uint_ge(tu_now_ms() - t0, 750); /* 1 ms per 4 notes: the test means something */
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* A call in flight is not idle: a quiet connection waiting for an answer
 * slower than the idle timeout (within its deadline) gets it; idle time
 * counts from the answer, so the connection closes one idle period
 * after it. */
START_TEST(test_gate_idle_call_in_flight)
{
    uint8_t p[16];
    answer a;
    world w = start_slow("port=0 host=127.0.0.1 idle_timeout_ms=200", 64, 700);
    int fd = gc_open(w.port);
    uint64_t t0 = tu_now_ms();
    gc_send(fd, 1, 5, BUMP, p, payload(p, 1, ""));
    int r = gc_recv(fd, &a, 5000);
    ck_assert_msg(r == 1, "no answer (%s) after %llu ms", r == 0 ? "closed" : "timed out",
                  (unsigned long long)(tu_now_ms() - t0));
    ck_assert_uint_ge(tu_now_ms() - t0, 700);
    ck_assert_uint_eq(a.session, 5);
    ck_assert_int_eq(a.kind, 2);
    ck_assert_msg(closed_within(fd, 3000), "idle after its answer, the connection is closed");
    ck_assert_uint_ge(tu_now_ms() - t0, 700 + 200); /* answered after 700 ms, then idle */
    close(fd);
    sky_node_free(w.node);
}
END_TEST

/* Bad spawn arguments fail the spawn, naming the key; the port of a
 * running gate cannot be taken twice. */
START_TEST(test_gate_bad_args)
{
    world w = start_gate("port=0 host=127.0.0.1", 0, 0);
    static const char *const bad[] = {"port=0 bogus=1", "port=70000", "port=abc", "max_inflight=0",
                                      "port=0 max_frame=11", "port", "port=0 host=not-an-ip"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sky_addr_t a;
        int rc = sky_node_spawn(w.node, "gate", bad[i], &a, NULL, 0);
        ck_assert_msg(rc == SKY_EINVAL, "'%s': %s", bad[i], sky_strerror(rc));
    }
    char args[64];
    snprintf(args, sizeof args, "host=127.0.0.1 port=%d", w.port);
    sky_addr_t a;
    ck_assert_int_eq(sky_node_spawn(w.node, "gate", args, &a, NULL, 0), SKY_EEXIST);
    sky_node_free(w.node);
}
END_TEST

Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tu_tcase("gate");
    tcase_add_test(tc, test_gate_round_trip);
    tcase_add_test(tc, test_gate_no_service);
    tcase_add_test(tc, test_gate_service_restart);
    tcase_add_test(tc, test_gate_full_mailbox);
    tcase_add_test(tc, test_gate_malformed);
    tcase_add_test(tc, test_gate_max_connections);
    tcase_add_test(tc, test_gate_idle_timeout);
    tcase_add_test(tc, test_gate_inflight_limit);
    tcase_add_test(tc, test_gate_slow_reader);
    tcase_add_test(tc, test_gate_idle_slow_reader);
    tcase_add_test(tc, test_gate_idle_queued_answers);
    tcase_add_test(tc, test_gate_idle_held_back);
    tcase_add_test(tc, test_gate_idle_call_in_flight);
    tcase_add_test(tc, test_gate_bad_args);
    suite_add_tcase(s, tc);
    return s;
}
