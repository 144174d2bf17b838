/* sky — libsky-client: a small blocking client for a node's gate.
 *
 * Ordinary C programs call sky services through the gate with it, speaking
 * the client protocol of docs/protocol.md over TCP. It needs neither libsky
 * nor libev: link with `pkg-config --libs sky-client`.
 *
 *     sky_client *c = sky_client_new("127.0.0.1", 7000);
 *     void *resp;
 *     size_t len;
 *     int rc;
 *
 *     if (!c || sky_client_connect(c, 1000) != 0)
 *         ...;
 *     rc = sky_client_call_name(c, "echo.Echo.Say", req, req_len, &resp, &len, 500);
 *     if (rc == 0)
 *         ... use resp, then free(resp);
 *     else
 *         fprintf(stderr, "%s: %s\n", sky_errname(rc), sky_client_error(c));
 *     sky_client_free(c);
 *
 * Errors are the negative SKY_E* codes of <sky/error.h>, the same numbers
 * the gate sends in its sky.Status answers (libsky-client has its own
 * sky_strerror() and sky_errname() of <sky/error.h>):
 *   SKY_ETIMEDOUT  a connect or a call did not finish by its deadline;
 *   SKY_ENODEDOWN  no connection: the gate could not be reached, closed
 *                  the connection, or the client was never connected or
 *                  closed it after a malformed answer. sky_client_connect()
 *                  connects again (after a node restart, say);
 *   SKY_EBADMSG    the gate's bytes broke the protocol (a bad preface, a
 *                  malformed or oversized frame): the connection is closed;
 *   SKY_EINVAL     a bad argument;
 *   SKY_ENOMEM     out of memory;
 *   SKY_EAPP       the service's own error: sky_client_error_app_code()
 *                  names it, sky_client_error_details() has its details;
 *   any other      the service's or the gate's own error answer.
 * After any failure sky_client_error() says why in words: the sky.Status
 * message of an error answer, or the client's own reason.
 *
 * Threads: a sky_client is not locked. Use one per thread, or hold a mutex
 * around each call on a shared one. Different clients are independent.
 * Signals: writes use MSG_NOSIGNAL, so a closed connection gives
 * SKY_ENODEDOWN, never SIGPIPE. Host names are resolved with
 * getaddrinfo(), which the connect timeout does not bound: give numeric
 * addresses where that matters. */
#ifndef SKY_CLIENT_H
#define SKY_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sky/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sky_client sky_client;

/* The largest answer payload a new client accepts (sky_client_set_max_frame). */
#define SKY_CLIENT_MAX_FRAME_DEFAULT (1u << 20)

/* A client for the gate at host:port, not connected yet. Returns NULL when
 * host is NULL or empty, port is not 1..65535, or memory runs out. */
sky_client *sky_client_new(const char *host, int port);

/* Closes the connection (if any) and frees c. NULL is a no-op. */
void sky_client_free(sky_client *c);

/* Connects (again: any current connection is closed first) and exchanges
 * the protocol preface, all within timeout_ms (> 0). Returns 0,
 * SKY_ETIMEDOUT, SKY_ENODEDOWN (refused, unreachable, unknown host),
 * SKY_EBADMSG (the peer answered another preface) or SKY_EINVAL. */
SKY_MUST_CHECK int sky_client_connect(sky_client *c, int timeout_ms);

/* Closes the connection; c stays usable for sky_client_connect(). */
void sky_client_close(sky_client *c);

/* Whether c has a connection (as far as it knows: a connection the gate
 * closed is noticed at the next call). */
int sky_client_connected(const sky_client *c);

/* Calls method `method_id` (sky_client_method_id() of its full name) with
 * the protobuf bytes req[0..req_len) and waits at most timeout_ms (> 0)
 * for the answer. On 0, *resp is a malloc'ed copy of the response bytes
 * (free() it; never NULL, even for 0 bytes) and *resp_len their count.
 * On failure *resp is NULL and the code is one of those above; an answer
 * that comes after its call's deadline is dropped by a later call. A
 * deadline that passes while a request is half written closes the
 * connection, as the frame stream cannot be resumed. */
SKY_MUST_CHECK int sky_client_call(sky_client *c, uint32_t method_id, const void *req, size_t req_len,
                                   void **resp, size_t *resp_len, int timeout_ms);

/* sky_client_call() with the method named by its full name ("pkg.Svc.M"). */
SKY_MUST_CHECK int sky_client_call_name(sky_client *c, const char *full_name, const void *req, size_t req_len,
                                        void **resp, size_t *resp_len, int timeout_ms);

/* Sends a oneway request (nothing comes back, not even an error) and
 * returns once it is written, within timeout_ms (> 0). Returns 0,
 * SKY_ETIMEDOUT, SKY_ENODEDOWN or SKY_EINVAL. */
SKY_MUST_CHECK int sky_client_send(sky_client *c, uint32_t method_id, const void *req, size_t req_len,
                                   int timeout_ms);

/* Bytes of oneways sky_client_send_later() gathers before it writes them. */
#define SKY_CLIENT_SEND_BUFFER 65536

/* Queues a oneway in c's send buffer instead of writing it at once, so
 * that many oneways go out in one write (a flood of small ones is several
 * times faster this way). The buffer is written, before anything else,
 * by the next sky_client_call(), sky_client_send() or sky_client_flush(),
 * and by this function when it would pass SKY_CLIENT_SEND_BUFFER bytes
 * (within timeout_ms, > 0; a oneway bigger than half the buffer is written
 * at once, after what is queued). sky_client_close(), a failed write and
 * a reconnect drop what is still queued: flush before closing. Returns 0,
 * SKY_ETIMEDOUT, SKY_ENODEDOWN, SKY_ENOMEM or SKY_EINVAL. */
SKY_MUST_CHECK int sky_client_send_later(sky_client *c, uint32_t method_id, const void *req, size_t req_len,
                                         int timeout_ms);

/* Writes what sky_client_send_later() queued, within timeout_ms (> 0).
 * Returns 0 (also when nothing was queued), SKY_ETIMEDOUT (nothing was
 * written, the queue stays; or the connection closed if the deadline came
 * halfway), SKY_ENODEDOWN or SKY_EINVAL. */
SKY_MUST_CHECK int sky_client_flush(sky_client *c, int timeout_ms);

/* Sets the largest answer payload accepted (default
 * SKY_CLIENT_MAX_FRAME_DEFAULT); a bigger answer is SKY_EBADMSG. */
void sky_client_set_max_frame(sky_client *c, size_t bytes);

/* Why the last failing call on c failed, in words; "" after a success. The
 * string belongs to c and changes with its next call. */
const char *sky_client_error(const sky_client *c);

/* After a call that failed with SKY_EAPP (the service's own error, see
 * docs/protocol.md): its application code ("EOUTOFSTOCK"); "" after any
 * other outcome. The string belongs to c and changes with its next call. */
const char *sky_client_error_app_code(const sky_client *c);

/* After a call whose error answer carried details: those bytes (they
 * belong to c and change with its next call) and their count in *len;
 * NULL and 0 otherwise. */
const void *sky_client_error_details(const sky_client *c, size_t *len);

/* The method id of "package.Service.Method": 32-bit FNV-1a of the name,
 * the same number as libsky's sky_method_id(). */
uint32_t sky_client_method_id(const char *full_name);

#ifdef __cplusplus
}
#endif

#endif
