/* Typed messages on a service: the methods it serves (sky_serve) and the
 * contexts of its typed calls. A service that never serves nor makes a
 * typed call pays one NULL pointer (sky__service.typed). */
#ifndef SKY__TYPED_H
#define SKY__TYPED_H

#include "core/service.h"

typedef struct sky__typed sky__typed;

/* Handles the request or oneway `msg` (s->cur, being handled) if its
 * type_id is a method s serves: decodes it, runs the handler and sets *rc
 * to what the handler returned; a payload that does not decode is
 * answered SKY_EBADMSG (requests), counted and logged, and *rc is 0.
 * Returns 1 if it handled msg, 0 if msg is not for a served method. */
int sky__typed_handle(sky__service *s, const sky_msg *msg, int *rc);

/* Frees s->typed (the service died; pending calls were dropped). */
void sky__typed_free(sky__service *s);

#endif
