/* gate_bench: the client side of the gate benchmarks (issue 6), over
 * libsky-client and, for 64 calls in flight on one connection, raw frames
 * (client/wire.c). Prints `key value` lines, each key followed by SUFFIX
 * (-s, default none), for the modes chosen with -m (a comma list, default
 * all):
 *
 *   seq     gate_call_rt_us        mean sequential round trip
 *           gate_call_p99_us       its 99th percentile
 *   c64     gate_calls_per_s_c64   calls per second with 64 in flight
 *   send    gate_send_msgs_per_s   oneways per second (ended by a call, so
 *                                  that they have all been taken by the gate)
 *   batch   gate_send_msgs_per_s_batched  the same flood through
 *                                  sky_client_send_later (many oneways per
 *                                  write, like gRPC's buffer hint)
 *   accept  gate_accept_per_s      connect + preface + close per second
 *   floor   gate_floor_rt_us       the same sequential round trip with no
 *           gate_floor_p99_us      sky in it: blocking frames of the same
 *                                  sizes to an echo thread of this process
 *                                  on 127.0.0.1 (answers the preface and
 *                                  each request with the gate's answer)
 *           gate_floor_client_rt_us  the same through libsky-client
 *
 *   gate_bench [-m MODES] [-s SUFFIX] HOST PORT METHOD [CALLS [REQUEST_HEX]]
 *
 * METHOD is the full name of an echo-like method; REQUEST_HEX its request
 * in hex (default 0a026869: `{text: "hi"}` of echo.Echo.Say). Exit
 * status 1 on any failed call, 2 on bad arguments. Every wait is bounded
 * (5 s per call or socket read). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "sky/client.h"
#include "wire.h"

#define IN_FLIGHT 64
#define FRAME_MAX 4096 /* the floor's frames: a header and a small payload */

enum { SEQ = 1, C64 = 2, SEND = 4, ACCEPT = 8, FLOOR = 16, BATCH = 32 };

static uint8_t request[64] = {0x0a, 0x02, 'h', 'i'};
static size_t request_len = 4;
static const char *suffix = "";

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int die(const char *what, sky_client *c, int rc)
{
    fprintf(stderr, "gate_bench: %s: %s %s\n", what, sky_errname(rc), c ? sky_client_error(c) : "");
    exit(1);
}

/* Prints `key<suffix> value`. */
static void put(const char *key, const char *fmt, double v)
{
    printf("%s%s ", key, suffix);
    printf(fmt, v);
    putchar('\n');
}

/* One round trip of a sequential measurement. */
typedef void round_trip(void *arg);

/* Times `calls` round trips; prints their mean as key_rt and, when
 * key_p99 is not NULL, their 99th percentile. */
static void measure(round_trip *rt, void *arg, int calls, const char *key_rt, const char *key_p99)
{
    double *lat = malloc((size_t)calls * sizeof *lat), sum = 0;

    if (!lat)
        die("out of memory", NULL, SKY_ENOMEM);
    for (int i = 0; i < calls; i++) {
        double t0 = now_us();

        rt(arg);
        lat[i] = now_us() - t0;
        sum += lat[i];
    }
    qsort(lat, (size_t)calls, sizeof *lat, cmp_double);
    put(key_rt, "%.1f", sum / calls);
    if (key_p99)
        put(key_p99, "%.1f", lat[(size_t)calls * 99 / 100]);
    free(lat);
}

struct client_rt {
    sky_client *c;
    uint32_t id;
};

static void client_call(void *arg)
{
    struct client_rt *a = arg;
    void *resp;
    size_t len;
    int rc = sky_client_call(a->c, a->id, request, request_len, &resp, &len, 5000);

    if (rc != 0)
        die("call", a->c, rc);
    free(resp);
}

/* Bounds every blocking read and write on fd to 5 s. */
static void bound_io(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    int one = 1;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A blocking socket to host:port with the preface exchanged. */
static int raw_connect(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    uint8_t pre[SKY_WIRE_PREFACE_LEN];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("raw connect", NULL, SKY_ENODEDOWN);
    bound_io(fd);
    if (write(fd, sky__wire_preface, sizeof pre) != sizeof pre || recv(fd, pre, sizeof pre, MSG_WAITALL) != sizeof pre ||
        memcmp(pre, sky__wire_preface, sizeof pre) != 0)
        die("raw connect: the preface", NULL, SKY_ENODEDOWN);
    return fd;
}

/* Requests gathered to go out in one write, as a pipelining client does
 * with the requests it makes while handling one read's answers. */
static uint8_t out_buf[IN_FLIGHT * (SKY_WIRE_HEADER_LEN + sizeof request)];
static size_t out_len;

static void add_request(uint32_t id, uint32_t session)
{
    sky__wire_put_header(out_buf + out_len, SKY_WIRE_REQUEST, session, id, (uint32_t)request_len);
    memcpy(out_buf + out_len + SKY_WIRE_HEADER_LEN, request, request_len);
    out_len += SKY_WIRE_HEADER_LEN + request_len;
}

static void send_requests(int fd)
{
    if (out_len && write(fd, out_buf, out_len) != (ssize_t)out_len)
        die("write", NULL, SKY_ENODEDOWN);
    out_len = 0;
}

/* 64 requests in flight on one connection: a new one for each answer,
 * those of one read's answers written together. */
static void pipelined(const char *host, int port, uint32_t id, int calls)
{
    static uint8_t buf[1 << 16];
    size_t have = 0;
    int fd = raw_connect(host, port), sent = 0, done = 0;
    double t0 = now_us();

    while (sent < IN_FLIGHT && sent < calls)
        add_request(id, (uint32_t)++sent);
    send_requests(fd);
    while (done < calls) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        size_t off = 0;

        if (r <= 0)
            die("read", NULL, SKY_ENODEDOWN);
        have += (size_t)r;
        while (have - off >= SKY_WIRE_HEADER_LEN) {
            sky__wire_header h;
            const char *why;

            sky__wire_get_header(buf + off, &h);
            if (sky__wire_check_answer(&h, sizeof buf - SKY_WIRE_HEADER_LEN, &why) != 0)
                die(why, NULL, SKY_EBADMSG);
            if (h.kind != SKY_WIRE_RESPONSE)
                die("an error answer", NULL, SKY_EFAIL);
            if (have - off < 4 + (size_t)h.length)
                break;
            off += 4 + h.length;
            done++;
            if (sent < calls)
                add_request(id, (uint32_t)++sent);
        }
        send_requests(fd);
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    put("gate_calls_per_s_c64", "%.0f", calls / ((now_us() - t0) / 1e6));
    close(fd);
}

/* A flood of n oneways, one write each or (batched) gathered by
 * sky_client_send_later, ended by a call so that all have been taken. */
static void oneways(sky_client *c, uint32_t id, int n, int batched)
{
    double t0 = now_us();
    void *resp;
    size_t len;
    int rc;

    for (int i = 0; i < n; i++) {
        rc = batched ? sky_client_send_later(c, id, request, request_len, 5000)
                     : sky_client_send(c, id, request, request_len, 5000);
        if (rc != 0)
            die(batched ? "send_later" : "send", c, rc);
    }
    if ((rc = sky_client_call(c, id, request, request_len, &resp, &len, 30000)) != 0)
        die("call after the oneways", c, rc);
    free(resp);
    put(batched ? "gate_send_msgs_per_s_batched" : "gate_send_msgs_per_s", "%.0f", n / ((now_us() - t0) / 1e6));
}

static void accepts(sky_client *c, int n)
{
    double t0 = now_us();
    int rc;

    for (int i = 0; i < n; i++) {
        if ((rc = sky_client_connect(c, 5000)) != 0)
            die("connect", c, rc);
        sky_client_close(c);
    }
    put("gate_accept_per_s", "%.0f", n / ((now_us() - t0) / 1e6));
}

/* The floor: an echo thread that stands in for the gate and the service
 * at no cost beyond the kernel's, answering every request frame with a
 * response frame carrying the gate's answer (the same sizes both ways). */
struct floor {
    int listen_fd, port, conns;
    uint8_t answer[FRAME_MAX - SKY_WIRE_HEADER_LEN];
    size_t answer_len;
};

/* Reads frames from fd until it closes, answering each request. */
static void echo_conn(const struct floor *f, int fd)
{
    uint8_t buf[FRAME_MAX], out[FRAME_MAX], pre[SKY_WIRE_PREFACE_LEN];
    size_t have = 0;

    bound_io(fd);
    if (recv(fd, pre, sizeof pre, MSG_WAITALL) != sizeof pre || write(fd, pre, sizeof pre) != sizeof pre)
        return;
    memcpy(out + SKY_WIRE_HEADER_LEN, f->answer, f->answer_len);
    for (;;) {
        ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
        size_t off = 0;

        if (r <= 0)
            return;
        have += (size_t)r;
        while (have - off >= SKY_WIRE_HEADER_LEN) {
            sky__wire_header h;

            sky__wire_get_header(buf + off, &h);
            if (h.length < SKY_WIRE_MIN_LENGTH || h.length > sizeof buf - 4)
                return;
            if (have - off < 4 + (size_t)h.length)
                break;
            off += 4 + h.length;
            if (h.kind != SKY_WIRE_REQUEST)
                continue;
            sky__wire_put_header(out, SKY_WIRE_RESPONSE, h.session, h.method, (uint32_t)f->answer_len);
            if (write(fd, out, SKY_WIRE_HEADER_LEN + f->answer_len) != (ssize_t)(SKY_WIRE_HEADER_LEN + f->answer_len))
                return;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
}

static void *echo_thread(void *arg)
{
    struct floor *f = arg;

    for (int i = 0; i < f->conns; i++) {
        int fd = accept(f->listen_fd, NULL, NULL);

        if (fd < 0)
            break;
        echo_conn(f, fd);
        close(fd);
    }
    return NULL;
}

/* A listening socket on 127.0.0.1, any port: f->listen_fd and f->port. */
static void floor_listen(struct floor *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;

    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(f->listen_fd, 4) < 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) < 0)
        die("the floor's listening socket", NULL, SKY_EFAIL);
    f->port = ntohs(a.sin_port);
}

struct raw_rt {
    int fd;
    uint32_t id;
    size_t frame_len; /* of the answer */
};

/* One blocking request frame out, one answer frame in. */
static void raw_call(void *arg)
{
    struct raw_rt *a = arg;
    uint8_t buf[FRAME_MAX];
    size_t have = 0;

    add_request(a->id, 1);
    send_requests(a->fd);
    while (have < a->frame_len) {
        ssize_t r = recv(a->fd, buf + have, a->frame_len - have, 0);

        if (r <= 0)
            die("the floor's echo thread: read", NULL, SKY_ENODEDOWN);
        have += (size_t)r;
    }
}

/* gate_floor_*: the gate's answer to one call (through c), then `calls`
 * round trips of the same frames to the echo thread, raw and through
 * libsky-client. */
static void floor_rt(sky_client *c, uint32_t id, int calls)
{
    static struct floor f = {.conns = 2};
    struct raw_rt raw = {.id = id};
    struct client_rt cl = {.id = id};
    pthread_t t;
    void *resp;
    size_t len;
    int rc;

    if ((rc = sky_client_call(c, id, request, request_len, &resp, &len, 5000)) != 0)
        die("call", c, rc);
    if (len > sizeof f.answer)
        die("the answer is too large for the floor", NULL, SKY_ELIMIT);
    memcpy(f.answer, resp, len);
    f.answer_len = len;
    free(resp);
    floor_listen(&f);
    if (pthread_create(&t, NULL, echo_thread, &f) != 0)
        die("pthread_create", NULL, SKY_EFAIL);

    raw.fd = raw_connect("127.0.0.1", f.port);
    raw.frame_len = SKY_WIRE_HEADER_LEN + f.answer_len;
    measure(raw_call, &raw, calls, "gate_floor_rt_us", "gate_floor_p99_us");
    close(raw.fd);

    if (!(cl.c = sky_client_new("127.0.0.1", f.port)) || (rc = sky_client_connect(cl.c, 5000)) != 0)
        die("connect to the floor's echo thread", cl.c, cl.c ? rc : SKY_ENOMEM);
    measure(client_call, &cl, calls, "gate_floor_client_rt_us", NULL);
    sky_client_free(cl.c);

    pthread_join(t, NULL);
    close(f.listen_fd);
}

/* Parses -m's comma list into a mask; 0 for an unknown name. */
static int parse_modes(const char *s)
{
    static const struct {
        const char *name;
        int bit;
    } names[] = {{"seq", SEQ}, {"c64", C64}, {"send", SEND}, {"accept", ACCEPT}, {"floor", FLOOR}, {"batch", BATCH}};
    int mask = 0;

    while (*s) {
        size_t n = strcspn(s, ","), i;

        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && strncmp(s, names[i].name, n) == 0)
                break;
        if (i == sizeof names / sizeof names[0])
            return 0;
        mask |= names[i].bit;
        s += n + (s[n] == ',');
    }
    return mask;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "gate_bench: %s\nusage: gate_bench [-m seq,c64,send,batch,accept,floor] [-s SUFFIX] HOST PORT METHOD "
            "[CALLS [REQUEST_HEX]]\n",
            why);
    return 2;
}

int main(int argc, char **argv)
{
    sky_client *c;
    uint32_t id;
    int port, calls, rc, modes = SEQ | C64 | SEND | BATCH | ACCEPT | FLOOR, opt;

    while ((opt = getopt(argc, argv, "m:s:")) != -1) {
        switch (opt) {
        case 'm':
            if (!(modes = parse_modes(optarg)))
                return usage("-m: a comma list of seq, c64, send, batch, accept, floor");
            break;
        case 's':
            suffix = optarg;
            break;
        default:
            return usage("unknown option");
        }
    }
    argc -= optind - 1;
    argv += optind - 1;
    if (argc < 4 || argc > 6)
        return usage("HOST, PORT and METHOD are needed");
    if (argc > 5) {
        const char *h = argv[5];

        for (request_len = 0; h[0] && h[1] && request_len < sizeof request; h += 2)
            request[request_len++] = (uint8_t)strtoul((char[]){h[0], h[1], 0}, NULL, 16);
        if (*h)
            return usage("REQUEST_HEX: an even number of hex digits, at most 128");
    }
    port = atoi(argv[2]);
    calls = argc > 4 ? atoi(argv[4]) : 20000;
    if (calls < 100 || !(c = sky_client_new(argv[1], port)))
        return usage("bad HOST, PORT or CALLS (at least 100)");
    id = sky_client_method_id(argv[3]);
    if ((rc = sky_client_connect(c, 5000)) != 0)
        die("connect", c, rc);
    if (modes & FLOOR)
        floor_rt(c, id, calls);
    if (modes & SEQ) {
        struct client_rt a = {c, id};

        measure(client_call, &a, calls, "gate_call_rt_us", "gate_call_p99_us");
    }
    if (modes & C64)
        pipelined(argv[1], port, id, calls * 5);
    if (modes & SEND)
        oneways(c, id, calls * 10, 0);
    if (modes & BATCH)
        oneways(c, id, calls * 10, 1);
    if (modes & ACCEPT)
        accepts(c, calls / 10 > 100 ? calls / 10 : 100);
    sky_client_free(c);
    return 0;
}
