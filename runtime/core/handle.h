/* The address table: serial -> service, and names -> address.
 *
 * Serials are handed out in increasing order and never reused. A service
 * lives in slot (serial & mask); the table doubles when 3/4 full, and
 * since two live serials that differ modulo the old size also differ
 * modulo the new one, growing never collides. Lookups take no lock: they
 * read the current table and take a reference with sky__service_tryref;
 * old tables are kept until the node ends so a reader never touches freed
 * memory. */
#ifndef SKY__HANDLE_H
#define SKY__HANDLE_H

#include <stddef.h>
#include "core/service.h"

typedef struct sky__handles sky__handles;

/* Serials start at first_serial (1 for a node alone; see
 * sky__cluster_first_serial) and stay below 2^47. */
sky__handles *sky__handles_new(uint16_t node_id, size_t max, uint64_t first_serial);
void sky__handles_free(sky__handles *h);

/* Assigns s a new address (stored in s->addr and *out) and publishes it.
 * The table takes over the caller's reference. Returns 0 or SKY_ELIMIT. */
int sky__handles_add(sky__handles *h, sky__service *s, sky_addr_t *out);

/* Returns the service at `a` with a reference taken, or NULL. */
sky__service *sky__handles_get(sky__handles *h, sky_addr_t a);

/* Unpublishes `a` and drops its names. Returns the service (the table's
 * reference passes to the caller) or NULL if it was not there. */
sky__service *sky__handles_remove(sky__handles *h, sky_addr_t a);

/* Names. */
int sky__handles_register(sky__handles *h, const char *name, sky_addr_t a);
sky_addr_t sky__handles_whereis(sky__handles *h, const char *name);

/* Changes with every change of names: a whereis answer read while it had
 * a value is still right while it has the same one (read it first). */
uint64_t sky__handles_names_gen(sky__handles *h);

/* Number of services in the table. */
size_t sky__handles_count(sky__handles *h);

/* Empties the table: returns every service, newest first, each with the
 * table's reference, in a heap array (*n entries; free it). Node shutdown
 * kills newest first, so the logger, spawned first, goes last. */
sky__service **sky__handles_take_all(sky__handles *h, size_t *n);

#endif
