/* gate_bench: the client side of the gate benchmarks (issue 6), over
 * libsky-client and, for 64 calls in flight on one connection, raw frames
 * (client/wire.c). Prints `key value` lines:
 *
 *   gate_call_rt_us        mean sequential round trip
 *   gate_call_p99_us       its 99th percentile
 *   gate_calls_per_s_c64   calls per second with 64 in flight
 *   gate_send_msgs_per_s   oneways per second (ended by a call, so that
 *                          they have all been taken by the gate)
 *   gate_send_msgs_per_s_batched  the same with sky_client_send_later
 *                          (many oneways per write, like gRPC's buffer hint)
 *   gate_accept_per_s      connect + preface + close per second
 *
 *   gate_bench HOST PORT METHOD [CALLS [REQUEST_HEX]]
 *
 * METHOD is the full name of an echo-like method; REQUEST_HEX its request
 * in hex (default 0a026869: `{text: "hi"}` of echo.Echo.Say). Exit
 * status 1 on any failed call. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sky/client.h"
#include "wire.h"

#define IN_FLIGHT 64

static uint8_t request[64] = {0x0a, 0x02, 'h', 'i'};
static size_t request_len = 4;

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

static void sequential(sky_client *c, uint32_t id, int calls)
{
    double *lat = malloc((size_t)calls * sizeof *lat), sum = 0;

    for (int i = 0; i < calls; i++) {
        double t0 = now_us();
        void *resp;
        size_t len;
        int rc = sky_client_call(c, id, request, request_len, &resp, &len, 5000);

        if (rc != 0)
            die("call", c, rc);
        free(resp);
        lat[i] = now_us() - t0;
        sum += lat[i];
    }
    qsort(lat, (size_t)calls, sizeof *lat, cmp_double);
    printf("gate_call_rt_us %.1f\n", sum / calls);
    printf("gate_call_p99_us %.1f\n", lat[(size_t)calls * 99 / 100]);
    free(lat);
}

/* A blocking socket to host:port with the preface exchanged. */
static int raw_connect(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    uint8_t pre[SKY_WIRE_PREFACE_LEN];
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        write(fd, sky__wire_preface, sizeof pre) != sizeof pre || recv(fd, pre, sizeof pre, MSG_WAITALL) != sizeof pre ||
        memcmp(pre, sky__wire_preface, sizeof pre) != 0)
        die("raw connect", NULL, SKY_ENODEDOWN);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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
    printf("gate_calls_per_s_c64 %.0f\n", calls / ((now_us() - t0) / 1e6));
    close(fd);
}

static void oneways(sky_client *c, uint32_t id, int n)
{
    double t0 = now_us();
    void *resp;
    size_t len;
    int rc;

    for (int i = 0; i < n; i++)
        if ((rc = sky_client_send(c, id, request, request_len, 5000)) != 0)
            die("send", c, rc);
    if ((rc = sky_client_call(c, id, request, request_len, &resp, &len, 30000)) != 0)
        die("call after the oneways", c, rc);
    free(resp);
    printf("gate_send_msgs_per_s %.0f\n", n / ((now_us() - t0) / 1e6));
}

static void oneways_batched(sky_client *c, uint32_t id, int n)
{
    double t0 = now_us();
    void *resp;
    size_t len;
    int rc;

    for (int i = 0; i < n; i++)
        if ((rc = sky_client_send_later(c, id, request, request_len, 5000)) != 0)
            die("send_later", c, rc);
    if ((rc = sky_client_call(c, id, request, request_len, &resp, &len, 30000)) != 0)
        die("call after the oneways", c, rc);
    free(resp);
    printf("gate_send_msgs_per_s_batched %.0f\n", n / ((now_us() - t0) / 1e6));
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
    printf("gate_accept_per_s %.0f\n", n / ((now_us() - t0) / 1e6));
}

int main(int argc, char **argv)
{
    sky_client *c;
    uint32_t id;
    int port, calls, rc;

    if (argc < 4 || argc > 6) {
        fputs("usage: gate_bench HOST PORT METHOD [CALLS [REQUEST_HEX]]\n", stderr);
        return 2;
    }
    if (argc > 5) {
        const char *h = argv[5];

        for (request_len = 0; h[0] && h[1] && request_len < sizeof request; h += 2)
            request[request_len++] = (uint8_t)strtoul((char[]){h[0], h[1], 0}, NULL, 16);
        if (*h) {
            fputs("gate_bench: REQUEST_HEX: an even number of hex digits, at most 128\n", stderr);
            return 2;
        }
    }
    port = atoi(argv[2]);
    calls = argc > 4 ? atoi(argv[4]) : 20000;
    if (calls < 100 || !(c = sky_client_new(argv[1], port))) {
        fputs("gate_bench: bad HOST, PORT or CALLS (at least 100)\n", stderr);
        return 2;
    }
    id = sky_client_method_id(argv[3]);
    if ((rc = sky_client_connect(c, 5000)) != 0)
        die("connect", c, rc);
    sequential(c, id, calls);
    pipelined(argv[1], port, id, calls * 5);
    oneways(c, id, calls * 10);
    oneways_batched(c, id, calls * 10);
    accepts(c, calls / 10 > 100 ? calls / 10 : 100);
    sky_client_free(c);
    return 0;
}
