/* A sky_nano_io transport over a POSIX TCP socket (posix_io.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "posix_io.h"

/* Waits for `events` on fd: 1 ready, 0 timed out. */
static int ready(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;

    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

int posix_io_connect(const char *host, int port, int timeout_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd, one = 1, err = 0;
    socklen_t len = sizeof err;

    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 &&
        (errno != EINPROGRESS || !ready(fd, POLLOUT, timeout_ms) ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int io_read(void *ctx, uint8_t *buf, size_t len, int timeout_ms)
{
    int fd = *(int *)ctx;
    ssize_t r;

    if (!ready(fd, POLLIN, timeout_ms))
        return 0;
    r = recv(fd, buf, len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return r > 0 ? (int)r : -1; /* 0: the peer closed */
}

static int io_write(void *ctx, const uint8_t *buf, size_t len, int timeout_ms)
{
    int fd = *(int *)ctx;
    ssize_t w;

    if (!ready(fd, POLLOUT, timeout_ms))
        return 0;
    w = send(fd, buf, len, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return w > 0 ? (int)w : -1;
}

static uint32_t io_now_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

sky_nano_io posix_io(int *fd)
{
    sky_nano_io io = {io_read, io_write, io_now_ms, fd};

    return io;
}
