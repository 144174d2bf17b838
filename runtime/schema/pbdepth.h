/* Guards for protobuf bytes, run before protobuf-c unpacks them. Nesting:
 * protobuf-c's unpacker recurses once per nested message with no limit, so
 * with a recursive schema (message Node { Node child = 1; }) a few hundred
 * kilobytes of crafted bytes could overflow a worker's stack. NUL bytes in
 * strings: see sky__pb_check. */
#ifndef SKY__PBDEPTH_H
#define SKY__PBDEPTH_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

/* Messages nested deeper than this are refused (Google's parsers' default). */
#define SKY_PB_MAX_DEPTH 100

/* 0 if the `len` bytes at `data`, read as a message of type d, nest
 * messages more than `max_depth` levels below it; 1 otherwise. Bytes that
 * are not well-formed protobuf are left to the unpacker to refuse (1). */
int sky__pb_depth_ok(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth);

/* A string field holding a NUL byte: field of message type msg. */
typedef struct sky__pb_bad {
    const ProtobufCMessageDescriptor *msg;
    const ProtobufCFieldDescriptor *field;
} sky__pb_bad;

/* sky__pb_depth_ok, and also 0 if a string field, at any depth, holds a
 * NUL byte (protobuf-c would unpack it into a C string cut short, where
 * Lua's codec refuses it): then, if bad is not NULL, *bad names the field
 * (bad->field is NULL for a nesting too deep). Types that neither nest
 * deep nor reach a string field cost no walk, nor do bytes without a 0
 * byte (one memchr) of types that do not nest deep. */
int sky__pb_check(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth, sky__pb_bad *bad);

#endif
