/* The schema a generated Lua stub carries: a serialized
 * google.protobuf.FileDescriptorSet that the runtime loads with
 * sky_schema_load(), so a Lua-only application needs no compiled C. */
#ifndef SKYC_DESCSET_H
#define SKYC_DESCSET_H

#include <stddef.h>
#include <stdint.h>
#include "google/protobuf/compiler/plugin.pb-c.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest skyc_request;

/* The FileDescriptorSet of f (one of req's files) and of the files whose
 * types it uses, directly or through them, imports first. Imports that
 * contribute no type (sky/options.proto, descriptor.proto for options)
 * are left out and dropped from the files' dependency lists; source code
 * info is left out. Returns the packed bytes (free() them) and their
 * length in *len. */
uint8_t *skyc_descriptor_set(const skyc_request *req, const Google__Protobuf__FileDescriptorProto *f, size_t *len);

/* The index in req of the file declaring the message or enum `name`
 * (".pkg.Msg", as type references are written), or -1. */
int skyc_file_of_type(const skyc_request *req, const char *name);

#endif
