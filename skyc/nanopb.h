/* nanopb's message code: what skyc hides from nanopb's generator
 * (protoc-gen-nanopb) and what it reports instead of letting that
 * generator, or the C compiler after it, fail on. */
#ifndef SKYC_NANOPB_H
#define SKYC_NANOPB_H

#include "buf.h"
#include "google/protobuf/compiler/plugin.pb-c.h"

/* Whether f declares nothing but custom options (extensions of
 * google.protobuf.*Options, such as google/api/annotations.proto or
 * gogoproto/gogo.proto): it then has no nanopb output at all. */
int skyc_nanopb_options_only(const Google__Protobuf__FileDescriptorProto *f);

/* Rewrites req in place for nanopb's generator (before
 * skyc_protocc_rewrite, which it shares with protoc-gen-c):
 *  - extensions of google.protobuf.*Options are dropped: options never
 *    travel on the wire, and their field numbers (72295728 for
 *    google.api.http) do not fit nanopb's field tables;
 *  - imports of options-only files are dropped, and so is an import of
 *    google/protobuf/descriptor.proto whose types the file does not use,
 *    so no .pb.h includes a header nobody generates;
 *  - options-only files are no longer files to generate. */
void skyc_nanopb_rewrite(Google__Protobuf__Compiler__CodeGeneratorRequest *req);

/* Checks what nanopb's C cannot express in the files req asks to
 * generate: a field or oneof named like a C keyword or reserved macro
 * (skyc_name_c_reserved: nanopb uses the names as they are), and, in a
 * file without a package, a top-level message or enum so named. Appends
 * one "file:line:col: message" line per problem to errs; returns their
 * number. */
int skyc_nanopb_check(const Google__Protobuf__Compiler__CodeGeneratorRequest *req, skyc_buf *errs);

#endif
