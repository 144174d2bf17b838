/* Links, monitors and exit signals (Erlang's process model; see
 * docs/process-model.md).
 *
 * Every link and monitor is recorded on both sides, and each side's record
 * is touched only by the thread that runs that service: a service asks the
 * other to record its half with a signal (SKY__LINK, SKY__MONITOR), which
 * goes ahead of ordinary mail. A signal that meets a dead mailbox comes
 * back as the answer the dead service would have given: an exit signal or
 * a down message with SKY_REASON_NOPROC. So there is no window in which a
 * peer dies unobserved: either it recorded the link before dying, and
 * tells it when it dies, or the signal bounced. */
#ifndef SKY__LINK_H
#define SKY__LINK_H

#include "core/mail.h"
#include "core/service.h"

struct sky__watch {
    sky_addr_t who;
    uint32_t ref;
};

/* Handles a link signal (SKY__LINK .. SKY__DOWNSIG) for s. May make s
 * exit (an exit signal it does not trap) or deliver a SKY_EXIT or SKY_DOWN
 * message to its handler through `deliver`. */
void sky__link_signal(sky__service *s, sky__mail *m, void (*deliver)(sky__service *, sky__mail *));

/* Mail that reached s after it died, or was queued when it died: a link or
 * monitor request is answered with noproc. */
void sky__link_bounced(sky__service *s, const sky__mail *m);

/* s is dying: tells its links and watchers why, drops its records. */
void sky__link_died(sky__service *s);

/* Frees the records (when the service's memory is recycled). */
void sky__link_free(sky__service *s);

/* Sets up s (not running yet) linked to, or monitored by, `parent` with
 * monitor ref `ref` (0: a link), before its init runs. */
void sky__link_preset(sky__service *s, sky_addr_t parent, uint32_t ref);

#endif
