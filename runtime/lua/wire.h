/* The codec's fast paths (codec.h): a Lua table straight to protobuf wire
 * bytes and back, driven by the protobuf-c descriptors, with no message
 * struct in between, no allocation per field, and on decode no copy of the
 * bytes before the Lua strings are made.
 *
 * They do the common messages: scalars, enums, strings, bytes, messages
 * and repeated fields of them (packed or not), oneofs. Anything else (a map
 * field, a proto3 -0.0, a message field twice in the bytes, a message with
 * more than SKY_WIRE_MAX_FIELDS fields) and every error make them answer
 * 0, and the caller takes protobuf-c's path, which gives the same result
 * or the error message. So they must give exactly what that path gives:
 * the same bytes (fields in number order, proto3 zero values left out),
 * the same table (fields set in number order, defaults for absent ones).
 *
 *   if (!sky__wire_encode(L, idx, d, &buf, &len)) ... the general path
 */
#ifndef SKY__LUA_WIRE_H
#define SKY__LUA_WIRE_H

#include <stddef.h>
#include <lua.h>
#include <protobuf-c/protobuf-c.h>

/* Messages with more fields go the general path. */
#define SKY_WIRE_MAX_FIELDS 64

/* For tests: non-zero sends every message the general path, to compare
 * the two. Set it before any service runs. */
extern int sky__wire_off;

/* Encodes the table at idx as a message of type d: 1 with *out (malloc'd,
 * NULL when *len is 0; the caller frees it), or 0 (nothing allocated).
 * Leaves the stack as it was. May raise a Lua error (out of memory in
 * the Lua state) with nothing allocated. */
int sky__wire_encode(lua_State *L, int idx, const ProtobufCMessageDescriptor *d, void **out, size_t *len);

/* Decodes len bytes at data as a message of type d: 1 with the table
 * pushed, or 0 with the stack as it was (also for messages nested more
 * than SKY_PB_MAX_DEPTH levels, which codec.c refuses). May raise a Lua
 * error (out of memory). */
int sky__wire_decode(lua_State *L, const ProtobufCMessageDescriptor *d, const void *data, size_t len);

#endif
