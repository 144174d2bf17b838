/* sky — the nanopb client core: calls a node's gate from a device.
 *
 * Static memory: no malloc anywhere. The caller supplies the frame buffer
 * and the transport (a read and a write function over whatever carries the
 * bytes: a TCP socket, a UART bridged to TCP, ...); messages are nanopb
 * structs, encoded and decoded with nanopb's pb_encode()/pb_decode(). The
 * stubs of `skyc --nanopb_out` (X.sky-nano.h) are one call each over it.
 *
 *     static uint8_t frame[16 + 256];    16 + the largest payload either way
 *     static sky_nano nc;
 *     sky_nano_io io = {my_read, my_write, my_now_ms, &my_socket};
 *
 *     sky_nano_init(&nc, &io, frame, sizeof frame);
 *     if (sky_nano_handshake(&nc, 1000) != 0) ...;   after each new connection
 *     echo_Words req = {"hi", 1}, resp;
 *     int rc = echo_Echo_Say_nano_call(&nc, &req, &resp, 500);
 *     if (rc != 0) printf("%d %s\n", rc, nc.message);
 *
 * Codes are those of <sky/error.h> (docs/client.md): SKY_ETIMEDOUT,
 * SKY_ENODEDOWN (the transport failed or the stream is out of step: make
 * a new connection and call sky_nano_handshake() again), SKY_EBADMSG (an
 * answer that does not decode, or a gate breaking the protocol: the
 * latter also needs a new connection), SKY_ENOMEM (a message does not fit
 * the buffer), SKY_EINVAL, or the service's error answer with its message
 * in n->message (SKY_EAPP, the service's own error: its application code
 * in n->app_code and its details, if any, at n->details). One sky_nano
 * serves one caller at a time. */
#ifndef SKY_NANOCLIENT_H
#define SKY_NANOCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <pb.h>
#include <sky/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The transport. read and write move at most len bytes, waiting at most
 * timeout_ms, and return how many they moved (> 0), 0 when none could be
 * moved in time, or a negative number when the connection is gone.
 * now_ms (may be NULL) is any millisecond clock: with it a call's
 * timeout bounds the whole call, without it each read and write. */
typedef struct sky_nano_io {
    int (*read)(void *ctx, uint8_t *buf, size_t len, int timeout_ms);
    int (*write)(void *ctx, const uint8_t *buf, size_t len, int timeout_ms);
    uint32_t (*now_ms)(void *ctx);
    void *ctx;
} sky_nano_io;

#define SKY_NANO_HEADER 16 /* a frame's header: the buffer needs it too */
#define SKY_NANO_MESSAGE_MAX 64

typedef struct sky_nano {
    sky_nano_io io;
    uint8_t *buf; /* the caller's: requests are encoded and answers read here */
    size_t cap;
    uint32_t session;
    int broken;             /* out of step: SKY_ENODEDOWN until a handshake */
    uint8_t rhdr[SKY_NANO_HEADER];
    uint8_t rhdr_len;       /* bytes of an answer's header read so far */
    uint32_t skip;          /* bytes of an unwanted answer still to drop */
    int32_t code;           /* the last error answer's code, else 0 */
    char message[SKY_NANO_MESSAGE_MAX]; /* and its message, cut to fit */
    char app_code[SKY_APP_CODE_MAX + 1]; /* SKY_EAPP's application code, else "" */
    const uint8_t *details; /* its details, in buf (until the next call), else NULL */
    size_t details_len;
} sky_nano;

/* Sets n up over io with the frame buffer buf[0..cap) (cap > 16: 16 +
 * the largest request or answer payload). */
void sky_nano_init(sky_nano *n, const sky_nano_io *io, uint8_t *buf, size_t cap);

/* Exchanges the protocol preface on a new connection and resets n's
 * stream state. Returns 0, SKY_ETIMEDOUT, SKY_ENODEDOWN or SKY_EBADMSG
 * (not a sky gate). */
int sky_nano_handshake(sky_nano *n, int timeout_ms);

/* Calls method_id with *req (encoded with req_fields) and decodes the
 * answer into *resp (with resp_fields). Returns 0 or a code above. */
int sky_nano_call(sky_nano *n, uint32_t method_id, const pb_msgdesc_t *req_fields, const void *req,
                  const pb_msgdesc_t *resp_fields, void *resp, int timeout_ms);

/* Sends *req as a oneway to method_id; returns once it is written. */
int sky_nano_send(sky_nano *n, uint32_t method_id, const pb_msgdesc_t *req_fields, const void *req,
                  int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
