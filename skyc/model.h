/* The template model (docs/skyc.md, "The template model"): Lua tables
 * describing a .proto file's messages, enums, services and methods, with
 * the C names protobuf-c gives them. */
#ifndef SKYC_MODEL_H
#define SKYC_MODEL_H

#include <lua.h>
#include "google/protobuf/compiler/plugin.pb-c.h"

typedef struct skyc_model skyc_model;

/* Makes the message entries of every file in req (imports included, so a
 * method's input can be an imported message) and keeps them in L. req must
 * outlive the model. Never NULL. */
skyc_model *skyc_model_new(lua_State *L, const Google__Protobuf__Compiler__CodeGeneratorRequest *req);
void skyc_model_free(skyc_model *m);

/* Pushes the `file` table of f (one of req's files) onto L's stack. */
void skyc_model_push_file(skyc_model *m, const Google__Protobuf__FileDescriptorProto *f);

/* The syntax name of f: "proto2" when protoc left it empty. */
const char *skyc_model_syntax(const Google__Protobuf__FileDescriptorProto *f);

/* The full name of a method: "package.Service.Method", or "Service.Method"
 * for a file with no package. A new string: free() it. */
char *skyc_model_method_name(const Google__Protobuf__FileDescriptorProto *f,
                             const Google__Protobuf__ServiceDescriptorProto *s,
                             const Google__Protobuf__MethodDescriptorProto *m);

#endif
