/* Source positions and comments of one .proto file, from the
 * source_code_info protoc sends for the files it asks us to generate. A
 * declaration is named by its path of field numbers and indexes, as in
 * descriptor.proto: {6, s, 2, m} is method m of service s. */
#ifndef SKYC_SRCINFO_H
#define SKYC_SRCINFO_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "google/protobuf/descriptor.pb-c.h"

/* Path heads, from descriptor.proto's field numbers. */
enum {
    SKYC_PATH_PACKAGE = 2,
    SKYC_PATH_MESSAGE = 4,      /* FileDescriptorProto.message_type */
    SKYC_PATH_ENUM = 5,         /* FileDescriptorProto.enum_type */
    SKYC_PATH_SERVICE = 6,      /* FileDescriptorProto.service */
    SKYC_PATH_SYNTAX = 12,      /* FileDescriptorProto.syntax */
    SKYC_PATH_FIELD = 2,        /* DescriptorProto.field */
    SKYC_PATH_NESTED = 3,       /* DescriptorProto.nested_type */
    SKYC_PATH_ONEOF = 8,        /* DescriptorProto.oneof_decl */
    SKYC_PATH_NESTED_ENUM = 4,  /* DescriptorProto.enum_type */
    SKYC_PATH_METHOD = 2,       /* ServiceDescriptorProto.method */
};

typedef struct skyc_srcinfo skyc_srcinfo;

/* Indexes f's locations (f must outlive the result). Never NULL. */
skyc_srcinfo *skyc_srcinfo_new(const Google__Protobuf__FileDescriptorProto *f);
void skyc_srcinfo_free(skyc_srcinfo *si);

/* The leading comment of the declaration at path, "" if none. Owned by f. */
const char *skyc_srcinfo_comment(const skyc_srcinfo *si, const int32_t *path, size_t n);

/* Appends "file:line:col: <message>\n" to errs, the position (1-based) being
 * where the declaration at path starts, or 1:1 when protoc sent none. */
__attribute__((format(printf, 5, 6))) void skyc_srcinfo_error(const skyc_srcinfo *si, skyc_buf *errs,
                                                              const int32_t *path, size_t n,
                                                              const char *fmt, ...);

/* Appends "file:line:col" for the declaration at path. */
void skyc_srcinfo_where(const skyc_srcinfo *si, skyc_buf *b, const int32_t *path, size_t n);

#endif
