/* A message as it sits in a mailbox (40 bytes). Payloads of up to
 * SKY__INLINE bytes live inside the entry, so small messages cost no
 * allocation; larger ones point at a heap buffer the entry owns. */
#ifndef SKY__MAIL_H
#define SKY__MAIL_H

#include <stdint.h>
#include "sky/msg.h"

#define SKY__INLINE 16

/* Internal kinds: handled by the runtime, never shown to handlers. From
 * SKY__KILL on they are signals: queued ahead of ordinary mail, never
 * refused for a full mailbox (link.c). */
enum {
    SKY__DEADLINE = 64, /* the loop thread says: check call deadlines */
    SKY__KILL = 65,     /* exit now: type_id = reason, payload = text */
    SKY__LINK = 66,     /* the source linked itself to this service */
    SKY__UNLINK = 67,   /* the source removed its link */
    SKY__MONITOR = 68,  /* the source monitors this service: session = ref */
    SKY__DEMONITOR = 69, /* the source stopped monitor `session` */
    SKY__EXITSIG = 70,  /* a linked service exited: type_id = reason, payload = text */
    SKY__DOWNSIG = 71,  /* a monitored service exited: session = ref, type_id = reason */
    SKY__EXITTO = 72    /* sky_send_exit: an exit signal with no link behind it */
};

static inline int sky__is_signal(int kind) { return kind >= SKY__KILL; }

typedef struct sky__mail {
    sky_addr_t source;
    uint32_t session;
    uint32_t type_id;
    uint32_t size;
    uint8_t kind;
    uint8_t inl; /* 1: payload in p.buf */
    union {
        void *ptr;
        unsigned char buf[SKY__INLINE];
    } p;
} sky__mail;

/* Fills m taking ownership of data (freed if it fits inline). */
void sky__mail_own(sky__mail *m, int kind, uint32_t type_id, void *data, size_t size);
/* Fills m with a copy of data. */
void sky__mail_copy(sky__mail *m, int kind, uint32_t type_id, const void *data, size_t size);
/* Pointer to the payload bytes (NULL when size is 0). */
static inline void *sky__mail_data(sky__mail *m) { return m->size == 0 ? NULL : m->inl ? m->p.buf : m->p.ptr; }
/* Frees the payload. */
void sky__mail_free(sky__mail *m);
/* Moves the payload out as a heap buffer the caller owns. */
void *sky__mail_take(sky__mail *m);

#endif
