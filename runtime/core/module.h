/* Service modules: registered by the program, or loaded with dlopen from
 * the module path (';'-separated patterns where '?' is the name). A
 * loaded object must export `const sky_module sky_module_<name>`. */
#ifndef SKY__MODULE_H
#define SKY__MODULE_H

#include <stddef.h>
#include "sky/service.h"

typedef struct sky__modules sky__modules;

sky__modules *sky__modules_new(const char *path);

/* dlcloses what was loaded. Only after every service is gone. */
void sky__modules_free(sky__modules *m);

/* Returns 0, SKY_EINVAL (bad name, or neither init nor handle) or
 * SKY_EEXIST. */
int sky__modules_add(sky__modules *m, const sky_module *mod);

/* Finds `name`, loading it if needed. NULL with a message in err (naming
 * every path tried and why) if it cannot be had. Thread-safe. */
const sky_module *sky__modules_get(sky__modules *m, const char *name, char *err, size_t errsize);

#endif
