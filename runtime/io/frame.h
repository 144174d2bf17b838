/* The client protocol's frames (docs/protocol.md, "The client protocol"):
 * a stream parser that checks each frame's length before it allocates
 * anything, and the header encoder. Shared by the gate and its fuzz
 * harness; knows nothing of sockets or services. */
#ifndef SKY__FRAME_H
#define SKY__FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SKY__PREFACE "SKY\x01"
#define SKY__PREFACE_LEN 4
#define SKY__FRAME_HEAD 16 /* length field + the 12 bytes it counts first */
#define SKY__FRAME_MIN 12

enum { SKY__F_REQUEST = 1, SKY__F_RESPONSE = 2, SKY__F_ERROR = 3, SKY__F_ONEWAY = 4 };

typedef struct sky__frame {
    int kind;
    int flags;
    uint32_t session;
    uint32_t method;
    const uint8_t *payload; /* into the framer's buffer: valid during the callback */
    size_t size;
} sky__frame;

/* Gets one complete frame; returns 0 to go on, non-zero to stop feeding
 * (the framer keeps its state; the rest of the chunk is not consumed). */
typedef int sky__frame_fn(void *ud, const sky__frame *f);

typedef struct sky__framer {
    size_t max_frame;  /* the largest length field allowed */
    int greeted;       /* the preface came */
    int server;        /* 1: expects the preface first */
    uint8_t *buf;
    size_t len, cap;
    size_t want;       /* this frame's bytes in all, once its length is known */
} sky__framer;

/* server: the gate's side (the client's preface comes first). */
void sky__framer_init(sky__framer *fr, size_t max_frame, int server);
void sky__framer_deinit(sky__framer *fr);

/* Feeds `n` bytes. Calls fn for every complete frame. Returns the bytes
 * consumed (n unless fn stopped), or -1 on malformed input with *why set
 * to a constant reason (bad preface, length under 12 or over max_frame,
 * unknown kind); the framer is then unusable. */
long sky__framer_feed(sky__framer *fr, const uint8_t *p, size_t n, sky__frame_fn *fn, void *ud, const char **why);

/* Writes a frame's 16-byte header for a payload of `size` bytes. */
void sky__frame_header(uint8_t out[SKY__FRAME_HEAD], int kind, uint32_t session, uint32_t method, size_t size);

#endif
