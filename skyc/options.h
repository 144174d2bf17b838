/* sky's custom options (idl/sky/options.proto), read from the unknown
 * fields of the options messages protobuf-c decoded: skyc's descriptor.proto
 * knows nothing of sky's extensions, so they arrive as unknown fields. */
#ifndef SKYC_OPTIONS_H
#define SKYC_OPTIONS_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include "schema/pbopt.h"

/* Field numbers: those of idl/sky/options.proto (runtime/schema/pbopt.h). */
#define SKYC_OPT_ONEWAY SKY__OPT_ONEWAY
#define SKYC_OPT_TIMEOUT_MS SKY__OPT_TIMEOUT_MS
#define SKYC_OPT_DEFAULT_NAME SKY__OPT_DEFAULT_NAME

/* Reads varint field `number` of opts (NULL allowed) into *out, the last
 * occurrence winning as in protobuf. Returns 1 if found, 0 if not. */
int skyc_option_varint(const ProtobufCMessage *opts, uint32_t number, uint64_t *out);

/* Reads string field `number`: a new NUL-terminated copy (free() it), or
 * NULL if absent or malformed. */
char *skyc_option_string(const ProtobufCMessage *opts, uint32_t number);

#endif
