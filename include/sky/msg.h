/* sky — addresses and messages. */
#ifndef SKY_MSG_H
#define SKY_MSG_H

#include <stddef.h>
#include <stdint.h>

/* An address: node id (high 16 bits) | local serial (low 48 bits). Serials
 * are never reused within a node's life, so a stale address never reaches a
 * newer service. 0 is "no address" (the runtime itself, or an outside
 * thread of an embedding program). */
typedef uint64_t sky_addr_t;

#define SKY_ADDR_NONE ((sky_addr_t)0)
#define SKY_SERIAL_BITS 48
#define SKY_SERIAL_MASK ((UINT64_C(1) << SKY_SERIAL_BITS) - 1)
#define SKY_ADDR(node, serial) \
    (((sky_addr_t)(uint16_t)(node) << SKY_SERIAL_BITS) | ((sky_addr_t)(serial) & SKY_SERIAL_MASK))
#define SKY_ADDR_NODE(a) ((uint16_t)((a) >> SKY_SERIAL_BITS))
#define SKY_ADDR_SERIAL(a) ((a) & SKY_SERIAL_MASK)

/* Message kinds. */
enum sky_kind {
    SKY_REQUEST = 1,  /* a call: answer with sky_reply() or sky_defer() */
    SKY_RESPONSE = 2, /* a call's successful answer */
    SKY_ERROR = 3,    /* a call's failed answer: payload is a sky.Status */
    SKY_ONEWAY = 4,   /* a send: no answer expected */
    SKY_EXIT = 5,     /* a linked service exited (to a service trapping exits):
                         source = it, type_id = its sky_reason, data = the text */
    SKY_TIMER = 6,    /* a sky_timeout() fired; session is the caller's */
    SKY_SOCKET = 7,   /* socket events from the loop thread */
    SKY_TEXT = 8,     /* log lines and other plain text */
    SKY_DOWN = 9,     /* a monitored service exited: source = it, session = the
                         monitor's ref, type_id = its sky_reason, data = the text */
    SKY_NODE = 10     /* a node watched with sky_monitor_node() went down or came
                         up: type_id = SKY_NODE_DOWN or SKY_NODE_UP, data = its name */
};

/* What a SKY_NODE message says (its type_id). SKY_NODE_WRITABLE goes to
 * a service whose send or call to that node was refused with SKY_EBUSY
 * (the link's queue was full), once the queue drained to
 * cluster_low_water; no sky_monitor_node() needed. */
enum { SKY_NODE_DOWN = 0, SKY_NODE_UP = 1, SKY_NODE_WRITABLE = 2 };

/* A message as a handler sees it and as a sender fills it in.
 *
 * When sending, set kind (ignored by sky_call/sky_reply, which set their
 * own), type_id, data and size; `source` is always stamped by the runtime
 * and `session` by the call machinery. `data` must come from malloc() or
 * sky_malloc(): a send takes ownership of it, on failure too.
 *
 * A handler's message and its data belong to the runtime and are valid only
 * until the handler returns; copy what you keep, or sky_take_data(). */
typedef struct sky_msg {
    sky_addr_t source;
    sky_addr_t dest;
    uint32_t session;
    uint32_t type_id;
    int kind;
    size_t size;
    void *data;
} sky_msg;

/* Returns the name of a kind ("request"), or "unknown". */
const char *sky_kind_name(int kind);

#endif
