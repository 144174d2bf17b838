/* What skyc rejects in input protoc accepted: streaming rpcs (not
 * supported yet), proto2 groups, two methods with the same id, and two
 * files whose stubs would define the same C name. */
#ifndef SKYC_CHECK_H
#define SKYC_CHECK_H

#include "buf.h"
#include "google/protobuf/compiler/plugin.pb-c.h"

/* Checks the files req asks to generate; appends one "file:line:col:
 * message" line per problem to errs. Method ids are compared across every
 * file of the request, imports included. Returns the number of problems. */
int skyc_check(const Google__Protobuf__Compiler__CodeGeneratorRequest *req, skyc_buf *errs);

/* Whether req asks to generate the file named `name`. */
int skyc_is_generated(const Google__Protobuf__Compiler__CodeGeneratorRequest *req, const char *name);

/* Whether `name` is one of the files whose code skyc provides itself
 * (Google's well-known types, sky's schemas), never stubs. */
int skyc_is_bundled(const char *name);

#endif
