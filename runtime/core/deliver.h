/* The one way mail enters a mailbox. */
#ifndef SKY__DELIVER_H
#define SKY__DELIVER_H

#include "core/mail.h"
#include "sky/node.h"

/* From any thread: pushes *m to service `to` and schedules it. Always takes
 * ownership of m's payload. REQUEST, ONEWAY and TEXT mail obeys the
 * receiver's mailbox bound (SKY_EBUSY, counted as a drop); responses,
 * errors, timers and signals are never refused while the receiver lives.
 * Returns 0, SKY_ENOSVC or SKY_EBUSY. */
int sky__deliver(sky_node *node, sky_addr_t to, sky__mail *m);

/* sky__deliver for mail that came from another node to a service of this
 * one, which its sender's link will hold if it must: a full mailbox
 * returns SKY_EBUSY with m left to the caller (its payload too), not
 * counted as a drop. Anything else as sky__deliver (m consumed). */
int sky__deliver_local_or_keep(sky_node *node, sky_addr_t to, sky__mail *m);

/* Convenience for the loop thread: deliver an empty message of `kind`
 * with `session` from SKY_ADDR_NONE. */
int sky__deliver_event(sky_node *node, sky_addr_t to, int kind, uint32_t session);

#endif
