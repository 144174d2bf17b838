/* sky — a typed-message actor runtime. One include for the whole public API. */
#ifndef SKY_SKY_H
#define SKY_SKY_H

#include "sky/error.h"
#include "sky/msg.h"
#include "sky/alloc.h"
#include "sky/service.h"
#include "sky/node.h"
#include "sky/socket.h"

#endif
