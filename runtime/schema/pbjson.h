/* The standard protobuf JSON mapping (protobuf.dev, "JSON Mapping") over
 * protobuf-c descriptors, compiled or loaded at run time: protobuf wire
 * bytes <-> JSON text, for the admin service, skyctl and the web console.
 *
 *     char *json, err[256];
 *     size_t n;
 *     if (sky__pbjson_from_pb(&skycodec__item__descriptor, bytes, len, &json, &n,
 *                             err, sizeof err) == 0) { use(json); sky_free(json); }
 *
 * Mapping: fields by their lowerCamelCase name (protoc's json_name rule:
 * drop '_' and upper-case the letter after it; protobuf-c keeps no custom
 * json_name), in field-number order; 64-bit integers as strings; enums by
 * name (a number no value has: the number); bytes as base64 with padding;
 * NaN and the infinities as "NaN", "Infinity", "-Infinity"; maps as objects
 * keyed by strings. Fields without presence at their default are left out;
 * a set oneof member or a proto2 optional field is written even at its
 * default. Unknown fields are dropped. Well-known types (Timestamp,
 * Duration, Struct, wrappers, Any...) are plain messages here, not their
 * special JSON forms. The limits (docs/architecture.md, "The JSON
 * mapping"): SKY_PB_MAX_DEPTH nested messages, SKY_PBJSON_MAX_TEXT bytes
 * of JSON text. */
#ifndef SKY__PBJSON_H
#define SKY__PBJSON_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "sky/error.h"

/* JSON text longer than this is refused before it is parsed. */
#define SKY_PBJSON_MAX_TEXT ((size_t)16 << 20)

/* The `len` bytes at `data`, a message of type d, as JSON text: on 0,
 * *json holds it NUL-terminated (*jsonlen bytes before the NUL), which the
 * caller frees with sky_free(). Returns 0, or SKY_EBADMSG (bytes that do
 * not decode as d, nest messages deeper than SKY_PB_MAX_DEPTH, or hold a
 * string that is not UTF-8 or has a NUL byte), with a one-line reason in
 * err (errsize bytes, may be 0). */
SKY_MUST_CHECK int sky__pbjson_from_pb(const ProtobufCMessageDescriptor *d, const void *data, size_t len,
                                       char **json, size_t *jsonlen, char *err, size_t errsize);

/* The JSON text `json` (`len` bytes, no NUL needed), an object for a
 * message of type d, as protobuf wire bytes: on 0, *data (*datalen bytes;
 * never NULL, even for 0 bytes) is the caller's to sky_free(). Accepted
 * beyond the mapping's output: the original field names, 64-bit integers
 * as numbers, integers as strings, enums by number, URL-safe base64 and
 * base64 without padding, null for a field's default. Refused, with
 * SKY_EINVAL and a one-line reason in err naming the field
 * ("field 'a.b[2].c': expected integer, got string \"x\"", or the line and
 * column of a syntax error): text that is not JSON or longer than
 * SKY_PBJSON_MAX_TEXT, unknown field names, a field given twice (by both
 * of its names), two members of one oneof, values of the wrong type or
 * out of range, unknown enum names, a proto2 required field missing,
 * messages nested deeper than SKY_PB_MAX_DEPTH. */
SKY_MUST_CHECK int sky__pbjson_to_pb(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                                     uint8_t **data, size_t *datalen, char *err, size_t errsize);

#endif
