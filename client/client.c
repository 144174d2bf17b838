/* libsky-client: a blocking client for the gate (include/sky/client.h).
 *
 * The socket is non-blocking and every wait is a poll() bounded by the
 * operation's deadline. Incoming bytes collect in rbuf, which survives a
 * call's deadline: a frame half read when a call timed out is finished by
 * the next call, and an answer whose session is not the awaited one (the
 * late answer of a timed-out call) is dropped there. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "sky/client.h"
#include "wire.h"

struct sky_client {
    char *host;
    char port[8];
    int fd; /* -1: not connected */
    uint32_t session;
    size_t max_payload;
    uint8_t *rbuf; /* rlen bytes received and not consumed yet */
    size_t rlen, rcap;
    uint8_t *wbuf; /* wlen bytes of oneways queued by sky_client_send_later */
    size_t wlen;
    char err[256];
    char app_code[SKY_APP_CODE_MAX + 1]; /* of the last SKY_EAPP answer, else "" */
    uint8_t *details;                    /* its details: details_len bytes */
    size_t details_len, details_cap;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, at least 0. */
static int left(int64_t deadline)
{
    int64_t d = deadline - now_ms();

    return d < 0 ? 0 : d > 1000000000 ? 1000000000 : (int)d;
}

static int fail(sky_client *c, int code, const char *fmt, ...) SKY_PRINTF(3, 4);

/* Forgets the last error. */
static void no_error(sky_client *c)
{
    c->err[0] = '\0';
    c->app_code[0] = '\0';
    c->details_len = 0;
}

/* Records why, returns code. */
static int fail(sky_client *c, int code, const char *fmt, ...)
{
    va_list ap;

    no_error(c);
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return code;
}

/* Closes the connection because of a protocol or socket failure. */
static int broken(sky_client *c, int code, const char *why)
{
    sky_client_close(c);
    return fail(c, code, "%s (connection closed)", why);
}

sky_client *sky_client_new(const char *host, int port)
{
    sky_client *c;

    if (!host || !*host || port <= 0 || port > 65535)
        return NULL;
    c = calloc(1, sizeof *c);
    if (!c || !(c->host = strdup(host))) {
        free(c);
        return NULL;
    }
    snprintf(c->port, sizeof c->port, "%d", port);
    c->fd = -1;
    c->max_payload = SKY_CLIENT_MAX_FRAME_DEFAULT;
    return c;
}

void sky_client_free(sky_client *c)
{
    if (!c)
        return;
    sky_client_close(c);
    free(c->rbuf);
    free(c->wbuf);
    free(c->details);
    free(c->host);
    free(c);
}

void sky_client_close(sky_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rlen = 0;
    c->wlen = 0;
}

int sky_client_connected(const sky_client *c)
{
    return c->fd >= 0;
}

void sky_client_set_max_frame(sky_client *c, size_t bytes)
{
    c->max_payload = bytes;
}

const char *sky_client_error(const sky_client *c)
{
    return c->err;
}

const char *sky_client_error_app_code(const sky_client *c)
{
    return c->app_code;
}

const void *sky_client_error_details(const sky_client *c, size_t *len)
{
    *len = c->details_len;
    return c->details_len ? c->details : NULL;
}

/* Fails the call with the error answer st, keeping its application code
 * and details. */
static int fail_status(sky_client *c, const sky__wire_status_t *st)
{
    size_t n = st->app_code_len < sizeof c->app_code ? st->app_code_len : sizeof c->app_code - 1;
    int rc = fail(c, st->code, "%.*s", (int)(st->msg_len < sizeof c->err ? st->msg_len : sizeof c->err - 1),
                  (const char *)st->msg);

    memcpy(c->app_code, st->app_code, n);
    c->app_code[n] = '\0';
    if (st->details_len > c->details_cap) {
        uint8_t *d = realloc(c->details, st->details_len);

        if (!d)
            return fail(c, SKY_ENOMEM, "out of memory for a %zu-byte error answer", st->details_len);
        c->details = d;
        c->details_cap = st->details_len;
    }
    if (st->details_len)
        memcpy(c->details, st->details, st->details_len);
    c->details_len = st->details_len;
    return rc;
}

uint32_t sky_client_method_id(const char *full_name)
{
    return sky__wire_method_id(full_name);
}

/* Waits until fd is ready for `events` or the deadline passes: 0 or
 * SKY_ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;

    do {
        r = poll(&p, 1, left(deadline));
    } while (r < 0 && errno == EINTR);
    return r > 0 ? 0 : SKY_ETIMEDOUT;
}

/* Writes iov[0..n) whole by the deadline. *sent counts bytes written, so a
 * caller can tell a frame not started from a frame cut short. Returns 0,
 * SKY_ETIMEDOUT or SKY_ENODEDOWN (errno says why). */
static int write_all(sky_client *c, struct iovec *iov, int n, int64_t deadline, size_t *sent)
{
    *sent = 0;
    while (n > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(c->fd, POLLOUT, deadline) < 0)
                return SKY_ETIMEDOUT;
            continue;
        }
        if (w < 0)
            return SKY_ENODEDOWN;
        *sent += (size_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads until rbuf holds at least `need` bytes (need <= rcap), or the
 * deadline. Returns 0, SKY_ETIMEDOUT, or SKY_ENODEDOWN with the
 * connection closed. */
static int fill(sky_client *c, size_t need, int64_t deadline)
{
    while (c->rlen < need) {
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);

        if (r > 0) {
            c->rlen += (size_t)r;
        } else if (r == 0) {
            return broken(c, SKY_ENODEDOWN, "the gate closed the connection");
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(c->fd, POLLIN, deadline) < 0)
                return fail(c, SKY_ETIMEDOUT, "deadline passed waiting for the gate");
        } else if (errno != EINTR) {
            return broken(c, SKY_ENODEDOWN, strerror(errno));
        }
    }
    return 0;
}

/* Makes room for `need` bytes in rbuf. */
static int reserve(sky_client *c, size_t need)
{
    uint8_t *p;
    size_t cap = c->rcap ? c->rcap : 4096;

    if (need <= c->rcap)
        return 0;
    while (cap < need)
        cap *= 2;
    if (!(p = realloc(c->rbuf, cap)))
        return fail(c, SKY_ENOMEM, "out of memory for a %zu-byte frame", need);
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

/* Drops the first n bytes of rbuf. */
static void consume(sky_client *c, size_t n)
{
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

static int try_connect(sky_client *c, const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int one = 1, soerr = 0;
    socklen_t len = sizeof soerr;

    if (fd < 0)
        return fail(c, SKY_ENODEDOWN, "socket: %s", strerror(errno));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            soerr = errno;
        } else if (wait_fd(fd, POLLOUT, deadline) < 0) {
            close(fd);
            return fail(c, SKY_ETIMEDOUT, "connect to %s:%s timed out", c->host, c->port);
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
            soerr = errno;
        }
    }
    if (soerr) {
        close(fd);
        return fail(c, SKY_ENODEDOWN, "connect to %s:%s: %s", c->host, c->port, strerror(soerr));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    return 0;
}

int sky_client_connect(sky_client *c, int timeout_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    int64_t deadline = now_ms() + timeout_ms;
    struct iovec iov = {(void *)sky__wire_preface, SKY_WIRE_PREFACE_LEN};
    size_t sent;
    int rc;

    if (!c || timeout_ms <= 0)
        return c ? fail(c, SKY_EINVAL, "timeout_ms must be > 0") : SKY_EINVAL;
    sky_client_close(c);
    if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
        return fail(c, SKY_ENODEDOWN, "%s: %s", c->host, gai_strerror(rc));
    rc = SKY_ENODEDOWN;
    for (ai = res; ai && rc != 0 && rc != SKY_ETIMEDOUT; ai = ai->ai_next)
        rc = try_connect(c, ai, deadline);
    freeaddrinfo(res);
    if (rc != 0)
        return rc;

    if ((rc = write_all(c, &iov, 1, deadline, &sent)) != 0)
        return broken(c, rc, rc == SKY_ETIMEDOUT ? "timed out sending the preface" : "cannot send the preface");
    if ((rc = reserve(c, SKY_WIRE_PREFACE_LEN)) != 0 || (rc = fill(c, SKY_WIRE_PREFACE_LEN, deadline)) != 0) {
        sky_client_close(c);
        return rc;
    }
    if (memcmp(c->rbuf, sky__wire_preface, SKY_WIRE_PREFACE_LEN) != 0)
        return broken(c, SKY_EBADMSG, "the peer answered another preface (not a sky gate?)");
    consume(c, SKY_WIRE_PREFACE_LEN);
    no_error(c);
    return 0;
}

/* Writes what send_later queued, then one frame (kind 0: none), in one
 * sendmsg when the kernel takes it. A frame cut short closes the
 * connection; nothing written at all leaves the queue as it was. */
static int write_frame(sky_client *c, uint8_t kind, uint32_t session, uint32_t method, const void *p, size_t n,
                       int64_t deadline)
{
    uint8_t hdr[SKY_WIRE_HEADER_LEN];
    struct iovec iov[3];
    int k = 0;
    size_t sent;
    int rc;

    if (c->fd < 0)
        return fail(c, SKY_ENODEDOWN, "not connected");
    if (n > UINT32_MAX - SKY_WIRE_MIN_LENGTH)
        return fail(c, SKY_EINVAL, "a %zu-byte payload does not fit a frame", n);
    if (c->wlen)
        iov[k++] = (struct iovec){c->wbuf, c->wlen};
    if (kind) {
        sky__wire_put_header(hdr, kind, session, method, (uint32_t)n);
        iov[k++] = (struct iovec){hdr, sizeof hdr};
        if (n)
            iov[k++] = (struct iovec){(void *)p, n};
    }
    if (k == 0)
        return 0;
    rc = write_all(c, iov, k, deadline, &sent);
    if (rc == SKY_ETIMEDOUT && sent == 0)
        return fail(c, rc, "deadline passed before the request could be written");
    if (rc == SKY_ETIMEDOUT)
        return broken(c, rc, "deadline passed with the request half written");
    if (rc != 0)
        return broken(c, rc, strerror(errno));
    c->wlen = 0;
    return 0;
}

/* Reads answers until the one for `session`; drops others (late answers).
 * On 0, the answer's header is in *h and its payload at rbuf+16. */
static int read_answer(sky_client *c, uint32_t session, sky__wire_header *h, int64_t deadline)
{
    const char *why;
    int rc;

    for (;;) {
        if ((rc = reserve(c, SKY_WIRE_HEADER_LEN)) != 0 || (rc = fill(c, SKY_WIRE_HEADER_LEN, deadline)) != 0)
            return rc;
        sky__wire_get_header(c->rbuf, h);
        if (sky__wire_check_answer(h, c->max_payload, &why) != 0)
            return broken(c, SKY_EBADMSG, why);
        if ((rc = reserve(c, 4 + (size_t)h->length)) != 0 || (rc = fill(c, 4 + (size_t)h->length, deadline)) != 0)
            return rc;
        if (h->session == session)
            return 0;
        consume(c, 4 + (size_t)h->length);
    }
}

int sky_client_call(sky_client *c, uint32_t method_id, const void *req, size_t req_len, void **resp,
                    size_t *resp_len, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    sky__wire_header h;
    sky__wire_status_t st;
    size_t n;
    int rc;

    if (resp)
        *resp = NULL;
    if (resp_len)
        *resp_len = 0;
    if (!c || !resp || !resp_len || (!req && req_len) || timeout_ms <= 0)
        return c ? fail(c, SKY_EINVAL, "bad argument") : SKY_EINVAL;
    if (++c->session == 0)
        c->session = 1;
    if ((rc = write_frame(c, SKY_WIRE_REQUEST, c->session, method_id, req, req_len, deadline)) != 0)
        return rc;
    /* the answer cannot have come yet: wait for it rather than try a
     * read that could only fail (one syscall fewer per call) */
    if (wait_fd(c->fd, POLLIN, deadline) != 0)
        return fail(c, SKY_ETIMEDOUT, "deadline passed waiting for the gate");
    if ((rc = read_answer(c, c->session, &h, deadline)) != 0)
        return rc;
    n = h.length - SKY_WIRE_MIN_LENGTH;
    if (h.kind == SKY_WIRE_ERROR) {
        if (sky__wire_status(c->rbuf + SKY_WIRE_HEADER_LEN, n, &st) != 0)
            return broken(c, SKY_EBADMSG, "an error answer that is not a sky.Status");
        rc = fail_status(c, &st);
    } else if (!(*resp = malloc(n ? n : 1))) {
        rc = fail(c, SKY_ENOMEM, "out of memory for a %zu-byte answer", n);
    } else {
        memcpy(*resp, c->rbuf + SKY_WIRE_HEADER_LEN, n);
        *resp_len = n;
        no_error(c);
    }
    consume(c, 4 + (size_t)h.length);
    return rc;
}

int sky_client_call_name(sky_client *c, const char *full_name, const void *req, size_t req_len, void **resp,
                         size_t *resp_len, int timeout_ms)
{
    if (!full_name) {
        if (resp)
            *resp = NULL;
        return c ? fail(c, SKY_EINVAL, "no method name") : SKY_EINVAL;
    }
    return sky_client_call(c, sky__wire_method_id(full_name), req, req_len, resp, resp_len, timeout_ms);
}

int sky_client_send(sky_client *c, uint32_t method_id, const void *req, size_t req_len, int timeout_ms)
{
    int rc;

    if (!c || (!req && req_len) || timeout_ms <= 0)
        return c ? fail(c, SKY_EINVAL, "bad argument") : SKY_EINVAL;
    rc = write_frame(c, SKY_WIRE_ONEWAY, 0, method_id, req, req_len, now_ms() + timeout_ms);
    if (rc == 0)
        no_error(c);
    return rc;
}

int sky_client_send_later(sky_client *c, uint32_t method_id, const void *req, size_t req_len, int timeout_ms)
{
    int rc;

    if (!c || (!req && req_len) || timeout_ms <= 0)
        return c ? fail(c, SKY_EINVAL, "bad argument") : SKY_EINVAL;
    if (c->fd < 0)
        return fail(c, SKY_ENODEDOWN, "not connected");
    if (c->wlen + SKY_WIRE_HEADER_LEN + req_len > SKY_CLIENT_SEND_BUFFER) {
        /* full: what is queued goes, with this one if it is big */
        int big = SKY_WIRE_HEADER_LEN + req_len > SKY_CLIENT_SEND_BUFFER / 2;
        rc = write_frame(c, big ? SKY_WIRE_ONEWAY : 0, 0, method_id, req, req_len, now_ms() + timeout_ms);
        if (rc != 0 || big) {
            if (rc == 0)
                no_error(c);
            return rc;
        }
    }
    if (!c->wbuf && !(c->wbuf = malloc(SKY_CLIENT_SEND_BUFFER)))
        return fail(c, SKY_ENOMEM, "out of memory for the send buffer");
    sky__wire_put_header(c->wbuf + c->wlen, SKY_WIRE_ONEWAY, 0, method_id, (uint32_t)req_len);
    if (req_len)
        memcpy(c->wbuf + c->wlen + SKY_WIRE_HEADER_LEN, req, req_len);
    c->wlen += SKY_WIRE_HEADER_LEN + req_len;
    no_error(c);
    return 0;
}

int sky_client_flush(sky_client *c, int timeout_ms)
{
    int rc;

    if (!c || timeout_ms <= 0)
        return c ? fail(c, SKY_EINVAL, "bad argument") : SKY_EINVAL;
    if (!c->wlen)
        return 0;
    rc = write_frame(c, 0, 0, 0, NULL, 0, now_ms() + timeout_ms);
    if (rc == 0)
        no_error(c);
    return rc;
}
