/* Lua table <-> protobuf bytes, through the protobuf-c descriptors skyc
 * registered.
 *
 * The mapping: scalars as Lua integers (64-bit exact; uint64 above 2^63 is
 * the Lua integer with the same bits), numbers and booleans; string and
 * bytes as Lua strings; enums by name (encode also takes the number; decode
 * gives the number when it has no name); messages as tables; repeated
 * fields as sequences; maps as tables keyed by the key; at most one member
 * of a oneof. Decode gives proto2 defaults for absent optional fields and
 * nil for unset proto3 `optional`, oneof members and messages. Encode
 * requires every proto2 required field, sorts map entries by key (the same
 * table, the same bytes) and keeps -0.0; decode refuses a string holding a
 * NUL byte. docs/lua.md ("The codec") has the whole contract, checked against
 * Google's protobuf by tests/lua/interop/.
 *
 *     void *buf; size_t len;
 *     if (sky__lua_encode(L, -1, d, &buf, &len) != 0)
 *         return lua_error(L);        -- message on top of the stack
 */
#ifndef SKY_LUA_CODEC_H
#define SKY_LUA_CODEC_H

#include <stddef.h>
#include <lua.h>
#include <protobuf-c/protobuf-c.h>
#include "sky/error.h"

/* Encodes the table at `idx` as a message of type `d`. On success returns
 * 0 and *out (malloc'd, the caller frees it; NULL when *len is 0) and leaves
 * the stack as it was. Otherwise returns SKY_EINVAL and pushes one string,
 * "<path>: <problem>" (e.g. "Item.price.units: expected integer, got
 * string", "Order.id: required field missing"). */
SKY_MUST_CHECK int sky__lua_encode(lua_State *L, int idx,
                                   const ProtobufCMessageDescriptor *d,
                                   void **out, size_t *len);

/* Decodes `len` bytes at `data` as a message of type `d` and pushes it as a
 * table: returns 0. Bytes that do not decode, or a string field holding a
 * NUL byte ("Item.name: string contains a NUL byte (use bytes)"): returns
 * SKY_EBADMSG and pushes a message string instead. A Lua error while building the tables
 * (out of memory) is raised, after freeing what was unpacked. */
SKY_MUST_CHECK int sky__lua_decode(lua_State *L,
                                   const ProtobufCMessageDescriptor *d,
                                   const void *data, size_t len);

/* Pushes a table with encode(full_name, table) -> bytes and
 * decode(full_name, bytes) -> table over sky_schema_message(); both raise
 * their errors ("unknown message type X" for a name not registered). */
int sky__luaopen_codec(lua_State *L);

#endif
