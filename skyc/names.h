/* Names: the C identifiers protobuf-c 1.4.1's generator gives messages and
 * enums (its c_helpers.cc rules, reproduced exactly), keyword-safe member
 * names, and method ids. */
#ifndef SKYC_NAMES_H
#define SKYC_NAMES_H

#include <stdint.h>
#include "buf.h"

/* Appends protobuf-c's struct/enum type name for a full proto name
 * ("acme.v1.Outer.Inner" -> "Acme__V1__Outer__Inner"). */
void skyc_name_c_type(skyc_buf *b, const char *full_name);

/* Appends protobuf-c's lower-case name ("acme.v1.Item" -> "acme__v1__item");
 * the descriptor is this plus "__descriptor". */
void skyc_name_c_lower(skyc_buf *b, const char *full_name);

/* Appends protobuf-c's upper-case name ("acme.v1.Item" -> "ACME__V1__ITEM");
 * the initializer macro is this plus "__INIT". */
void skyc_name_c_upper(skyc_buf *b, const char *full_name);

/* Appends `name` made safe as a C struct member or identifier part: C
 * keywords and the macros a C11 program sees everywhere ("int", "errno",
 * "linux", ...) get a "_" appended. */
void skyc_name_c_safe(skyc_buf *b, const char *name);

/* Appends `name` made safe as a Lua field name used with `.` ("end" ->
 * "end_"). */
void skyc_name_lua_safe(skyc_buf *b, const char *name);

/* 32-bit FNV-1a of s: the method id of "package.Service.Method". Must
 * match sky_method_id() in the runtime. */
uint32_t skyc_fnv1a(const char *s);

#endif
