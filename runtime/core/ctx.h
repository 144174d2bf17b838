/* Helpers shared by service.c and ctx.c. */
#ifndef SKY__CTX_H
#define SKY__CTX_H

#include <stdatomic.h>
#include "core/service.h"

/* Bumps a counter that only its owner writes: a plain load and store
 * (no locked instruction), yet safe for other threads to read. */
#define SKY__BUMP(c) \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + 1, memory_order_relaxed)

/* Sends an error reply {code, text} from s to `to` for `session`. Returns
 * 0: a caller that is gone just does not get it. */
int sky__post_error(sky__service *s, sky_addr_t to, uint32_t session, int code, const char *text);

/* Fills m from what sky_send() or sky_node_send() was given (oneway or
 * text), taking msg->data. Returns 0, or SKY_EINVAL with msg->data freed. */
int sky__mail_from_send(sky__mail *m, sky_msg *msg);

/* The status code of an error reply: its sky.Status code, or SKY_EFAIL
 * when the payload carries none. */
int sky__reply_status(const sky_msg *reply);

/* The name sky_register last refused (SKY_EEXIST) to service `who` on
 * this thread, or NULL. */
const char *sky__refused_name(sky_addr_t who);

/* The module `module` for a spawn by s, or NULL (logged as a warning). */
const sky_module *sky__spawn_module(sky__service *s, const char *module);

#endif
