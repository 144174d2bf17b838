/* The cluster link's frames (runtime/cluster/README.md, "Frames"): the
 * fixed 48-byte little-endian header, a stream decoder that checks every
 * header before it reserves room for the payload, the fragmenter that cuts
 * a large message into fragments, and the reassembler that puts them
 * together under a memory cap. Pure: no sockets, no threads, no services.
 *
 *     sky__wire_dec d;
 *     sky__wire_dec_init(&d, &limits);
 *     long used = sky__wire_dec_feed(&d, buf, n, on_frame, link, &why);
 *     if (used < 0) drop the link, logging why;
 */
#ifndef SKY__WIRE_H
#define SKY__WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "sky/error.h"

#define SKY__WIRE_HEAD 48                        /* header bytes */
#define SKY__WIRE_HANDSHAKE_MAX 512              /* a handshake frame's payload */
#define SKY__WIRE_FRAG_DEFAULT (64u * 1024)      /* a fragment's payload */
#define SKY__WIRE_MAX_DEFAULT (64u * 1024 * 1024) /* cluster_max_message */

/* Frame kinds (byte 0). */
enum {
    SKY__W_HANDSHAKE = 1, /* payload: one handshake message (handshake.h) */
    SKY__W_TICK = 2,      /* no payload: the link is alive */
    SKY__W_MESSAGE = 3,   /* a whole message */
    SKY__W_FRAGMENT = 4,  /* a piece of a message larger than a fragment */
    SKY__W_SIGNAL = 5     /* a process-model signal between two services */
};

/* Flags (byte 1). */
#define SKY__WF_NAMED 1 /* MESSAGE, FRAGMENT: the message starts with the name it is for */

/* The mail kind of a TEXT message (the others are enum sky_kind's 1..4). */
#define SKY__W_TEXT 5

/* Signal operations (the `mail` field of a SIGNAL frame): the runtime's
 * signal kinds in order (core/mail.h, SKY__KILL + op - 1). */
enum {
    SKY__SIG_KILL = 1,
    SKY__SIG_LINK = 2,
    SKY__SIG_UNLINK = 3,
    SKY__SIG_MONITOR = 4,
    SKY__SIG_DEMONITOR = 5,
    SKY__SIG_EXIT = 6,
    SKY__SIG_DOWN = 7,
    SKY__SIG_EXIT_TO = 8
};

/* Decoder errors: negative, below the SKY_E* codes so the two never mix. */
enum {
    SKY__W_EKIND = -100,     /* unknown frame kind */
    SKY__W_ERESERVED = -101, /* a reserved bit, byte or unused field not zero */
    SKY__W_ELENGTH = -102,   /* a length over its limit, or wrong for the kind */
    SKY__W_EFIELD = -103,    /* a field out of range (mail kind, offsets) */
    SKY__W_ESEQ = -104,      /* fragments out of sequence or interleaved wrongly */
    SKY__W_ECAP = -105       /* reassembly would pass the link's memory cap */
};

/* A header, decoded. Fields a kind does not use are 0. */
typedef struct sky__wire_head {
    uint8_t kind;
    uint8_t flags;     /* SKY__WF_NAMED on a MESSAGE or FRAGMENT, else 0 */
    uint16_t mail;     /* MESSAGE, FRAGMENT: a sky_kind 1..4; SIGNAL: SKY__SIG_* */
    uint32_t length;   /* payload bytes after the header */
    uint64_t source;   /* sky_addr_t */
    uint64_t dest;     /* sky_addr_t */
    uint32_t session;
    uint32_t type_id;
    uint32_t msg_id;   /* FRAGMENT: the message's id for its source->dest pair */
    uint32_t offset;   /* FRAGMENT: where this piece goes in the message */
    uint32_t total;    /* FRAGMENT: the whole message's size */
} sky__wire_head;

typedef struct sky__wire_limits {
    size_t max_message; /* cluster_max_message: a MESSAGE, or a FRAGMENT's total */
    size_t frag_size;   /* a FRAGMENT's and a SIGNAL's payload */
} sky__wire_limits;

/* Writes h as 48 bytes. */
void sky__wire_head_encode(const sky__wire_head *h, uint8_t out[SKY__WIRE_HEAD]);

/* Reads and checks 48 header bytes against `lim` (kind, reserved bits,
 * each kind's fields and length limit). Returns 0, or a SKY__W_E* code
 * with *why set to a constant reason. */
SKY_MUST_CHECK int sky__wire_head_decode(const uint8_t in[SKY__WIRE_HEAD], const sky__wire_limits *lim,
                                         sky__wire_head *h, const char **why);

/* ---- the stream decoder ------------------------------------------------ */

/* Gets one complete frame; the payload lives in the decoder's buffer and
 * is valid during the call only. Returns 0 to go on, non-zero to stop
 * feeding (the rest of the chunk is not consumed). */
typedef int sky__wire_frame_fn(void *ud, const sky__wire_head *h, const uint8_t *payload);

typedef struct sky__wire_dec {
    sky__wire_limits lim;
    uint8_t head[SKY__WIRE_HEAD];
    size_t head_len;    /* header bytes so far */
    sky__wire_head h;   /* valid once head_len == SKY__WIRE_HEAD */
    uint8_t *buf;       /* this frame's payload */
    size_t len, cap;
    int err;            /* sticky: once malformed, always malformed */
} sky__wire_dec;

void sky__wire_dec_init(sky__wire_dec *d, const sky__wire_limits *lim);
void sky__wire_dec_deinit(sky__wire_dec *d);

/* Feeds n bytes, in any cutting. Calls fn for every complete frame.
 * Returns the bytes consumed (n unless fn stopped), or a SKY__W_E* code
 * with *why set on malformed input; no room is reserved for a payload
 * before its header passed sky__wire_head_decode(). The decoder then
 * stays failed. */
long sky__wire_dec_feed(sky__wire_dec *d, const uint8_t *p, size_t n, sky__wire_frame_fn *fn, void *ud,
                        const char **why);

/* ---- fragments --------------------------------------------------------- */

/* Cuts one message into FRAGMENT frames. `msg` is the message's header
 * (kind MESSAGE, length = size); data stays the caller's and must live
 * until the last fragment is sent. msg_id: unique among the link's
 * unfinished fragmented messages (a counter per link will do). */
typedef struct sky__frag {
    sky__wire_head h;
    const uint8_t *data;
    size_t size, off, frag_size;
} sky__frag;

/* 1 if a message of `size` bytes must be sent as fragments. */
int sky__wire_needs_frag(size_t size, const sky__wire_limits *lim);

void sky__frag_init(sky__frag *f, const sky__wire_head *msg, const uint8_t *data, uint32_t msg_id,
                    const sky__wire_limits *lim);

/* The next fragment: writes its header to out, points *payload at its
 * bytes and *len at their count. Returns 1, or 0 when all were given. */
int sky__frag_next(sky__frag *f, uint8_t out[SKY__WIRE_HEAD], const uint8_t **payload, size_t *len);

/* The reassembler: one unfinished message at most per source->dest pair,
 * their sizes and bookkeeping counted against `cap` bytes. */
typedef struct sky__reasm sky__reasm;

sky__reasm *sky__reasm_new(size_t cap, const sky__wire_limits *lim);
void sky__reasm_free(sky__reasm *r);

/* Takes a FRAGMENT frame (as the decoder checked it). Returns 0 (more to
 * come), 1 when its message is complete: *out is the message's header
 * (kind MESSAGE, length = total) and *data the message, the caller's to
 * free(). Or SKY__W_ESEQ (out of sequence, another message id before the
 * last finished, fields that differ from the first fragment's, a total
 * not above one fragment) or SKY__W_ECAP (over the cap), with *why set:
 * both mean the link must be dropped. */
SKY_MUST_CHECK int sky__reasm_add(sky__reasm *r, const sky__wire_head *h, const uint8_t *payload,
                                  sky__wire_head *out, uint8_t **data, const char **why);

/* Checks that a MESSAGE frame does not overtake an unfinished fragmented
 * message of its pair (the sender keeps each pair's order). Returns 0 or
 * SKY__W_ESEQ with *why set. */
SKY_MUST_CHECK int sky__reasm_check_message(const sky__reasm *r, const sky__wire_head *h, const char **why);

/* Bytes the unfinished messages hold now (as counted against the cap). */
size_t sky__reasm_used(const sky__reasm *r);

#endif
