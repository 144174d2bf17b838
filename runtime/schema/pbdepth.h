/* A nesting guard for protobuf bytes, run before protobuf-c unpacks them:
 * protobuf-c's unpacker recurses once per nested message with no limit, so
 * with a recursive schema (message Node { Node child = 1; }) a few hundred
 * kilobytes of crafted bytes could overflow a worker's stack. */
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

#endif
