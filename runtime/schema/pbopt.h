/* sky's custom options (idl/sky/options.proto) as protobuf-c decodes
 * them: code for descriptor.proto knows nothing of sky's extensions, so
 * they arrive as unknown fields of the options messages. Shared by the
 * runtime (sky_schema_load) and skyc's plugin, which link this file. */
#ifndef SKY__PBOPT_H
#define SKY__PBOPT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Field numbers: must match idl/sky/options.proto. */
#define SKY__OPT_ONEWAY 50501       /* MethodOptions: bool oneway */
#define SKY__OPT_TIMEOUT_MS 50502   /* MethodOptions: uint32 timeout_ms */
#define SKY__OPT_DEFAULT_NAME 50511 /* ServiceOptions: string default_name */

/* Reads varint field `number` of opts (NULL allowed) into *out, the last
 * occurrence winning as in protobuf. Returns 1 if found, 0 if not. */
int sky__option_varint(const ProtobufCMessage *opts, uint32_t number, uint64_t *out);

/* Finds length-delimited field `number`: *data and *len are its bytes,
 * inside opts (not NUL-terminated). Returns 1 if found and well-formed. */
int sky__option_bytes(const ProtobufCMessage *opts, uint32_t number, const uint8_t **data, size_t *len);

#endif
