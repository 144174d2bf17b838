/* A service's mailbox: a FIFO ring of mail entries plus a separate queue
 * for signals (handled first), both under one spinlock that is held only
 * for a few stores. The `scheduled` flag says the service is somewhere in
 * the scheduler (a run queue, a worker's next slot, or running); it is set
 * by the push that finds it clear and cleared only by sky__mailbox_done()
 * when the mailbox is empty, so a service is never queued twice and never
 * forgotten. */
#ifndef SKY__MAILBOX_H
#define SKY__MAILBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "core/mail.h"

typedef struct sky__ring {
    sky__mail *buf;
    uint32_t head, count, cap;
} sky__ring;

typedef struct sky__mailbox {
    atomic_int lock;
    uint8_t scheduled;
    uint8_t closed;
    uint32_t limit;   /* bound for REQUEST/ONEWAY/TEXT mail */
    uint32_t reserved; /* places promised to senders' outboxes */
    uint32_t warn_at;   /* next queue length that logs an overload warning */
    uint32_t warn_base; /* the first such length */
    sky__ring mail;
    sky__ring sig;
} sky__mailbox;

void sky__mailbox_init(sky__mailbox *mb, uint32_t limit, uint32_t warn_at);

/* Frees the rings and every payload still queued. */
void sky__mailbox_deinit(sky__mailbox *mb);

enum { SKY__PUSH_SCHEDULE = 1, SKY__PUSH_WARN = 2 };

/* Appends a copy of *m. `bounded`: refuse with SKY_EBUSY at the limit.
 * Signals (SKY__KILL) go to the signal queue. On success returns a mask:
 * SKY__PUSH_SCHEDULE if the caller must schedule the service (it was idle),
 * SKY__PUSH_WARN if the queue length crossed a warning threshold (its
 * length is then stored in *len). Returns SKY_ENOSVC if closed. The caller
 * still owns m's payload when an error is returned. */
int sky__mailbox_push(sky__mailbox *mb, const sky__mail *m, int bounded, uint32_t *len);

/* Promises up to `want` places for bounded mail to come (see
 * sky__mailbox_push_reserved). Returns how many (> 0), SKY_EBUSY (full) or
 * SKY_ENOSVC (closed). */
int sky__mailbox_reserve(sky__mailbox *mb, uint32_t want);

/* Appends n bounded entries that had places reserved, and gives back the
 * `promised` places (n of them used). Returns the mask of
 * sky__mailbox_push, or SKY_ENOSVC if closed (the caller keeps m). */
int sky__mailbox_push_reserved(sky__mailbox *mb, const sky__mail *m, uint32_t n, uint32_t promised, uint32_t *len);

/* Moves up to `max` entries into out, signals first. Returns how many. */
uint32_t sky__mailbox_take(sky__mailbox *mb, sky__mail *out, uint32_t max);

/* Moves up to `max` signals into out (mail stays). Returns how many. */
uint32_t sky__mailbox_take_signals(sky__mailbox *mb, sky__mail *out, uint32_t max);

/* After a turn: returns 1 if mail is waiting (the service stays
 * scheduled), else clears `scheduled` and returns 0. */
int sky__mailbox_done(sky__mailbox *mb);

/* Closes the mailbox (later pushes get SKY_ENOSVC) and moves every queued
 * entry into *out (a heap array the caller frees) and its length into
 * *n. */
void sky__mailbox_close(sky__mailbox *mb, sky__mail **out, uint32_t *n);

/* Current queue length (both queues). */
uint32_t sky__mailbox_length(sky__mailbox *mb);

void sky__mailbox_set_limit(sky__mailbox *mb, uint32_t limit);
uint32_t sky__mailbox_limit(sky__mailbox *mb);

#endif
