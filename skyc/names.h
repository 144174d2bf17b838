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

/* Whether `name` is one of those: a C keyword or a macro every C11
 * program may see. */
int skyc_name_c_reserved(const char *name);

/* Appends `name` made safe as a Lua field name used with `.` ("end" ->
 * "end_"). */
void skyc_name_lua_safe(skyc_buf *b, const char *name);

/* Appends the prefix of a file's C names: the package with dots made
 * underscores and a "_" after it ("acme.v1" -> "acme_v1_"), "" for none. */
void skyc_name_c_prefix(skyc_buf *b, const char *package);

/* Appends the C name of a service, the prefix of its stubs' names: the
 * package prefix and the service name ("acme_v1_Store"). In a file
 * without a package or in package "sky", a name in sky's own namespace
 * ("sky", "sky_..." or "SKY_...") gets "proto_" before it, so that the
 * stubs never clash with sky's API. */
void skyc_name_c_service(skyc_buf *b, const char *package, const char *service);

/* Appends the C name of a file, the prefix of its `<name>_file`: the
 * package prefix and the file's path without ".proto", every character
 * that cannot be in a C name made "_" (and "proto_" before a leading
 * digit). The directories are left out when they spell the package
 * (acme/v1/store.proto in package acme.v1: "acme_v1_store"), so files of
 * the same name in other directories get other names (client/msg.proto:
 * "client_msg"). sky's namespace is avoided as for services. */
void skyc_name_c_file(skyc_buf *b, const char *file_name, const char *package);

/* 32-bit FNV-1a of s: the method id of "package.Service.Method". Must
 * match sky_method_id() in the runtime. */
uint32_t skyc_fnv1a(const char *s);

#endif
