/* sky's custom options (idl/sky/options.proto), read from the unknown
 * fields of the options messages protobuf-c decoded: skyc's descriptor.proto
 * knows nothing of sky's extensions, so they arrive as unknown fields. */
#ifndef SKYC_OPTIONS_H
#define SKYC_OPTIONS_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

/* Field numbers: must match idl/sky/options.proto. */
#define SKYC_OPT_ONEWAY 50501       /* MethodOptions: bool oneway */
#define SKYC_OPT_TIMEOUT_MS 50502   /* MethodOptions: uint32 timeout_ms */
#define SKYC_OPT_DEFAULT_NAME 50511 /* ServiceOptions: string default_name */

/* Reads varint field `number` of opts (NULL allowed) into *out, the last
 * occurrence winning as in protobuf. Returns 1 if found, 0 if not. */
int skyc_option_varint(const ProtobufCMessage *opts, uint32_t number, uint64_t *out);

/* Reads string field `number`: a new NUL-terminated copy (free() it), or
 * NULL if absent or malformed. */
char *skyc_option_string(const ProtobufCMessage *opts, uint32_t number);

#endif
