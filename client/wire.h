/* The client protocol's bytes (docs/protocol.md, "The client protocol"):
 * the preface, the 16-byte frame header and sky.Status decoding. Shared by
 * libsky-client and the nanopb client core; no allocation, no I/O, no
 * dependency beyond the C library, so a device build can compile it. */
#ifndef SKY_CLIENT_WIRE_H
#define SKY_CLIENT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define SKY_WIRE_PREFACE_LEN 4
#define SKY_WIRE_HEADER_LEN 16 /* the length field and the 12 bytes it counts */
#define SKY_WIRE_MIN_LENGTH 12 /* a frame's length field is at least this */

/* Frame kinds. */
enum { SKY_WIRE_REQUEST = 1, SKY_WIRE_RESPONSE = 2, SKY_WIRE_ERROR = 3, SKY_WIRE_ONEWAY = 4 };

/* "SKY" and protocol version 1: sent by the client, echoed by the gate. */
extern const uint8_t sky__wire_preface[SKY_WIRE_PREFACE_LEN];

typedef struct sky__wire_header {
    uint32_t length; /* bytes after the length field: 12 + payload */
    uint8_t kind;
    uint32_t session;
    uint32_t method;
} sky__wire_header;

/* Writes the header of a frame carrying `payload_len` bytes into out. */
void sky__wire_put_header(uint8_t out[SKY_WIRE_HEADER_LEN], uint8_t kind, uint32_t session, uint32_t method,
                          uint32_t payload_len);

/* Reads a header from in (no checks: see sky__wire_check_answer). */
void sky__wire_get_header(const uint8_t in[SKY_WIRE_HEADER_LEN], sky__wire_header *h);

/* Whether h is a well-formed answer (response or error) whose payload is
 * at most max_payload bytes. Returns 0, or SKY_EBADMSG with *why set to a
 * constant reason. */
int sky__wire_check_answer(const sky__wire_header *h, size_t max_payload, const char **why);

/* A sky.Status's fields; pointers point into the decoded bytes. */
typedef struct sky__wire_status_t {
    int32_t code;             /* field 1: SKY_EFAIL when absent or not negative */
    const uint8_t *msg;       /* field 2 (empty when absent) */
    size_t msg_len;
    const uint8_t *app_code;  /* field 3 (empty when absent, or code is not SKY_EAPP) */
    size_t app_code_len;
    const uint8_t *details;   /* field 4 (empty when absent) */
    size_t details_len;
} sky__wire_status_t;

/* Decodes a sky.Status into *st. Unknown fields are skipped. Returns 0,
 * or SKY_EBADMSG when the bytes are not a protobuf message. */
int sky__wire_status(const uint8_t *p, size_t n, sky__wire_status_t *st);

/* sky_method_id(): 32-bit FNV-1a of a method's full name. */
uint32_t sky__wire_method_id(const char *full_name);

#endif
