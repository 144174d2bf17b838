/* protobuf-c's message code: runs protobuf-c's own plugin (protoc-gen-c) on
 * a copy of the request rewritten so that it accepts what protoc-gen-c
 * 1.4.1 refuses or mishandles. */
#ifndef SKYC_PROTOCC_H
#define SKYC_PROTOCC_H

#include "buf.h"
#include "google/protobuf/compiler/plugin.pb-c.h"

/* Rewrites req in place for protoc-gen-c:
 *  - proto3 `optional` fields lose their proto3_optional flag but keep
 *    their one-field oneof: protoc-gen-c then emits a oneof, whose case
 *    member gives presence, and the wire format is the same;
 *  - `option optimize_for = CODE_SIZE` is dropped: protoc-gen-c would
 *    then leave the names out of the descriptors, which sky's registry,
 *    codecs and gate look things up by;
 *  - imports of sky/options.proto are dropped: its extensions only
 *    annotate options, and the include protoc-gen-c would emit for it
 *    (of a sky/options.pb-c.h nobody builds) would break the build;
 *  - services are dropped: sky's stubs replace protobuf-c's RPC code,
 *    which would not compile for a method named like a C keyword;
 *  - Google's well-known types and sky's schemas that the files import
 *    are generated too, so that one skyc run yields all the C a service
 *    needs (a user project has no other source for them);
 *  - the parameter (ours) is cleared. */
void skyc_protocc_rewrite(Google__Protobuf__Compiler__CodeGeneratorRequest *req);

/* Removes import i of f (an unpacked request's file), with its entries
 * in the public and weak import lists. */
void skyc_protocc_drop_import(Google__Protobuf__FileDescriptorProto *f, size_t i);

/* Runs protoc-gen-c (program `exe`, looked up in PATH when it has no
 * slash) with the serialized request; on success *out is its decoded
 * response (free it with ..._free_unpacked) and 0 is returned. On failure
 * appends a line to errs and returns -1. */
int skyc_protocc_run(const char *exe, const void *req, size_t len,
                     Google__Protobuf__Compiler__CodeGeneratorResponse **out, skyc_buf *errs);

/* Fixes protoc-gen-c 1.4.1's output for req (the request it was run on):
 * the initializer macro of a oneof whose first member is `bytes` (a
 * struct) zeroes the union with {0}, which GCC's -Wall rejects as missing
 * braces; it becomes {{0}}. */
void skyc_protocc_fix(const Google__Protobuf__Compiler__CodeGeneratorRequest *req,
                      Google__Protobuf__Compiler__CodeGeneratorResponse *resp);

#endif
