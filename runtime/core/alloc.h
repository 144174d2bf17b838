/* Internal allocation helpers (the public ones are in sky/alloc.h). */
#ifndef SKY__ALLOC_H
#define SKY__ALLOC_H

#include "sky/alloc.h"

#define SKY__NEW(type) ((type *)sky_calloc(1, sizeof(type)))

#endif
