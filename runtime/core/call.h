/* A service's pending outgoing calls: session -> callback and deadline.
 *
 * Deadlines cost the loop thread almost nothing: a service asks for one
 * SKY__DEADLINE wake-up at its earliest deadline, and only again when a new
 * call has an earlier deadline than the one already asked for (with one
 * default timeout, new calls never do). When it fires, every expired call
 * gets SKY_ETIMEDOUT and the next wake-up is armed. */
#ifndef SKY__CALL_H
#define SKY__CALL_H

#include <stdint.h>
#include "core/service.h"

typedef struct sky__pending {
    uint32_t session;
    uint64_t deadline; /* ms on the node clock */
    sky_reply_fn *cb;
    void *ud;
} sky__pending;

/* Records a call. Arms a deadline wake-up if needed. */
void sky__calls_add(sky__service *s, uint32_t session, uint64_t deadline, sky_reply_fn *cb, void *ud);

/* Removes the call with `session`; returns 1 and fills *out, or 0. */
int sky__calls_take(sky__service *s, uint32_t session, sky__pending *out);

/* 1 if a call with `session` is pending. */
int sky__calls_has(sky__service *s, uint32_t session);

/* Handles a SKY__DEADLINE wake-up: fails every expired call. */
void sky__calls_expire(sky__service *s);

/* Number of pending calls. */
uint32_t sky__calls_count(sky__service *s);

/* Frees the table without calling anything (the service is dead). */
void sky__calls_free(sky__service *s);

#endif
