/* sky — typed messages: protobuf schemas, method ids, and typed calls.
 *
 * This is what skyc's generated C stubs (X.sky.h / X.sky.c) are thin
 * wrappers over; you rarely call it directly. Messages are protobuf-c
 * structs; they travel as protobuf bytes and are checked against their
 * descriptor when they arrive: a request that does not decode is answered
 * SKY_EBADMSG (and counted) before any handler sees it, and a response
 * that does not decode reaches the caller as SKY_EBADMSG.
 *
 * Server side, from a service's init:
 *
 *   static const acme_Store_handlers impl = { .Get = store_get };
 *   return acme_Store_serve(ctx, &impl, state);
 *
 * Client side, from any service:
 *
 *   Acme__GetRequest req = ACME__GET_REQUEST__INIT;
 *   req.id = (char *)"x";
 *   rc = acme_Store_Get_call(ctx, store, &req, 0, on_get, NULL);
 *
 * See docs/guide.md, "Typed services".
 */
#ifndef SKY_TYPED_H
#define SKY_TYPED_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>
#include "sky/service.h"

/* One rpc of a service. */
typedef struct sky_method_desc {
    const char *name;      /* "Get" */
    const char *full_name; /* "acme.store.v1.Store.Get" */
    uint32_t id;           /* sky_method_id(full_name) */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    int oneway;     /* (sky.oneway) = true: meant to be sent (see sky_serve) */
    int timeout_ms; /* (sky.timeout_ms), 0 = the node default */
} sky_method_desc;

/* A request being handled by a typed handler, for replying. */
typedef struct sky_request {
    const sky_msg *msg;
    const sky_method_desc *method;
} sky_request;

/* Generated per service: calls the handler of method `index` with the
 * decoded request. `impl` is the user's handler table. */
typedef int sky_dispatch_fn(sky_ctx *ctx, size_t index, const ProtobufCMessage *req, const sky_request *r,
                            const void *impl, void *ud);

typedef struct sky_service_desc {
    const char *name;         /* "Store" */
    const char *full_name;    /* "acme.store.v1.Store" */
    const char *default_name; /* (sky.default_name), or NULL */
    size_t n_methods;
    const sky_method_desc *methods;
    sky_dispatch_fn *dispatch;
} sky_service_desc;

/* What one .proto file contributes, registered by its generated code. */
typedef struct sky_file_desc {
    const char *name; /* "acme/store/v1/store.proto" */
    size_t n_messages;
    const ProtobufCMessageDescriptor *const *messages; /* nested ones too */
    size_t n_enums;
    const ProtobufCEnumDescriptor *const *enums;
    size_t n_services;
    const sky_service_desc *const *services;
} sky_file_desc;

/* The method id of "package.Service.Method": 32-bit FNV-1a of the name.
 * Stable across builds, languages and nodes. */
uint32_t sky_method_id(const char *full_name);

/* ---- the schema registry (process-wide) -------------------------------- */

/* Registers a file's messages, enums, services and methods so they can be
 * found by name and id (the Lua codec and the gate use this). Registering
 * the same file twice is a no-op; a name already registered by another
 * file (the same schema linked twice) keeps its first entry. Returns 0,
 * SKY_EINVAL (a NULL table, a message or enum without a name, as
 * protoc-c makes them under `optimize_for = CODE_SIZE`, or a method whose
 * id is not sky_method_id(full_name)), or SKY_EEXIST if a method id collides with a
 * different method, registered before or in this file (the file is then
 * not registered). Thread-safe; the registry lives as long as the process
 * and keeps pointers to the descriptors, which must too. */
SKY_MUST_CHECK int sky_schema_register(const sky_file_desc *file);

/* Registers the files of a serialized google.protobuf.FileDescriptorSet
 * (what `protoc --include_imports --descriptor_set_out=F` writes), for
 * programs with no compiled schema (Lua services): protobuf-c descriptors
 * are built at run time, laid out as protoc-c lays out its structs, so
 * the codec, sky_serve's checks and the gate work with them as with
 * compiled ones. A file already registered under the same name (by its
 * compiled code, or an earlier load) is skipped. Field types resolve
 * among the set's own types, then through the registry by full name; a
 * file's imports need only be in the set or registered. Services get
 * their methods, ids and (sky.*) options, with dispatch NULL. proto2
 * groups, streaming rpcs and editions are refused; `extend` blocks and
 * extension ranges are ignored; a proto3 `optional` is a one-member oneof
 * (`_x_case`), as in sky's compiled code. Nothing is registered unless
 * the whole set builds.
 *
 * Returns 0, or SKY_EBADMSG (not a FileDescriptorSet, or one lacking
 * names or numbers), SKY_EINVAL (an unresolved type, an unsupported
 * construct, a bad default) or SKY_EEXIST (a method id clash), with a
 * one-line reason in err ("store.proto: acme.Item.price: unknown type
 * .acme.Money"; err may be NULL if errsize is 0). Thread-safe; what it
 * builds lives as long as the process. */
SKY_MUST_CHECK int sky_schema_load(const void *data, size_t len, char *err, size_t errsize);

/* The registered file named `name` ("acme/store/v1/store.proto"),
 * compiled or loaded; NULL if none. */
const sky_file_desc *sky_schema_file(const char *name);

/* Lookups; NULL if unknown. */
const ProtobufCMessageDescriptor *sky_schema_message(const char *full_name);
const ProtobufCEnumDescriptor *sky_schema_enum(const char *full_name);
const sky_method_desc *sky_schema_method(uint32_t id);
const sky_service_desc *sky_schema_service(const char *full_name);

/* ---- serving ----------------------------------------------------------- */

/* Makes this service answer the methods of `svc` (registering the schema
 * of `file`, which must list svc, first): requests and oneways whose
 * type_id is one of its method ids are decoded with the method's input
 * descriptor and passed to svc->dispatch(impl, ud); everything else still
 * goes to the module's handle (which may be NULL for a purely typed
 * service: other requests then get SKY_ENOTSUP). A service may serve
 * several services. If svc has a default_name, the service registers
 * under it. `impl` and `ud` must live as long as the service.
 *
 * A handler answers with sky_typed_reply() (or defers with
 * sky_defer(ctx, r->msg) and answers later with sky_typed_respond());
 * returning a negative code answers that error, returning 0 without
 * answering answers SKY_ENOREPLY. A payload that does not decode is
 * answered SKY_EBADMSG and counted in the service's `bad` stat; the
 * handler never sees it.
 *
 * Kinds and methods mix as a caller would expect: a oneway method that
 * is *called* answers with an empty response once its handler returned 0
 * (the caller learns it was handled, or its error); a method sent as a
 * oneway runs its handler as usual and the answer goes nowhere
 * (sky_typed_reply() returns 0 and sends nothing).
 *
 * Returns 0, SKY_EINVAL (NULL argument, no dispatch, svc not in file, a
 * malformed descriptor), or SKY_EEXIST (a method id clash in the registry,
 * svc or one of its ids already served here, or default_name taken). */
SKY_MUST_CHECK int sky_serve(sky_ctx *ctx, const sky_file_desc *file, const sky_service_desc *svc,
                             const void *impl, void *ud);

/* Answers request r with `resp`, which must be of the method's output
 * type (else SKY_EINVAL). For a request that came as a oneway there is
 * nobody to answer: returns 0 and sends nothing. Returns 0 or SKY_EINVAL. */
int sky_typed_reply(sky_ctx *ctx, const sky_request *r, const ProtobufCMessage *resp);

/* Answers a deferred typed request (tok from sky_defer(ctx, r->msg)) with
 * resp, of m's output type. A token of a oneway (session 0) answers
 * nobody: 0. Returns 0 or SKY_EINVAL (wrong type, unknown token). */
int sky_typed_respond(sky_ctx *ctx, sky_token tok, const sky_method_desc *m, const ProtobufCMessage *resp);

/* ---- calling ----------------------------------------------------------- */

/* Gets the answer of a typed call: status 0 with the decoded response
 * (valid until the callback returns), or a negative code with resp NULL:
 * the callee's error (sky_error_text() is not available here: `reply` has
 * the raw error reply when there was one), SKY_ETIMEDOUT, SKY_EBADMSG (the
 * response did not decode), SKY_EEXIT, ... as for sky_call(). */
typedef void sky_typed_reply_fn(sky_ctx *ctx, int status, const ProtobufCMessage *resp, const sky_msg *reply,
                                void *ud);

/* Calls method m of `to` with req (which must be of m's input type, else
 * SKY_EINVAL). timeout_ms <= 0: the method's (sky.timeout_ms), else the
 * node default. Returns 0 (cb will be called exactly once) or fails at
 * once with SKY_EINVAL, SKY_ENOSVC or SKY_EBUSY (cb not called). */
SKY_MUST_CHECK int sky_typed_call(sky_ctx *ctx, sky_addr_t to, const sky_method_desc *m,
                                  const ProtobufCMessage *req, int timeout_ms, sky_typed_reply_fn *cb, void *ud);

/* A function pointer of any type (C allows converting between function
 * pointer types and back; calling through the wrong type is undefined). */
typedef void sky_any_fn(void);

/* Calls `cb`, which is really of the generated callback type of one
 * method (e.g. acme_Store_Get_cb) stored as a sky_any_fn, with the
 * response cast to that method's output type. Generated, one per method. */
typedef void sky_typed_invoke_fn(sky_any_fn *cb, sky_ctx *ctx, int status, const ProtobufCMessage *resp,
                                 const sky_msg *reply, void *ud);

/* sky_typed_call for generated stubs, whose callbacks take the response
 * as its own type: the answer reaches `cb` through `invoke` (which casts
 * cb back to its real type), so no callback is ever called through a
 * function pointer of another type. Same returns as sky_typed_call(). */
SKY_MUST_CHECK int sky_typed_call_via(sky_ctx *ctx, sky_addr_t to, const sky_method_desc *m,
                                      const ProtobufCMessage *req, int timeout_ms, sky_typed_invoke_fn *invoke,
                                      sky_any_fn *cb, void *ud);

/* Sends req to method m of `to` as a oneway message. m need not be a
 * oneway method: its handler then runs and its answer goes nowhere.
 * Returns 0, SKY_EINVAL (req not of m's input type), SKY_ENOSVC or
 * SKY_EBUSY. */
SKY_MUST_CHECK int sky_typed_send(sky_ctx *ctx, sky_addr_t to, const sky_method_desc *m, const ProtobufCMessage *req);

/* ---- calling from outside any service ----------------------------------- */

/* Calls method m (of service svc) from a thread that is no service — a
 * program that embeds the node, as sky_node_call() — and blocks until
 * the answer, the deadline or shutdown. `to` is an address, or
 * SKY_ADDR_NONE for the service registered under svc->default_name (a
 * name of your own: sky_node_whereis()). req must be of m's input type.
 * timeout_ms <= 0: m's (sky.timeout_ms), else the node default.
 *
 * On 0, *resp is the decoded response, the caller's to free with
 * protobuf_c_message_free_unpacked(*resp, NULL). Else *resp is NULL and
 * the code is the callee's error (SKY_EAPP: its own, see
 * sky_reply_app_error()), SKY_ETIMEDOUT, SKY_ENOSVC, SKY_EBADMSG (the
 * response did not decode), SKY_EINVAL (a NULL argument, req of another
 * type), SKY_ESTOPPED, ... If `error` is not NULL it gets the error reply
 * when one came (error->kind SKY_ERROR: read it with sky_error_text(),
 * sky_error_app_code(), sky_error_details(), then free(error->data)),
 * else error->kind 0 and error->data NULL. The stubs' <svc>_<Method>_
 * node_call functions are this, typed. */
SKY_MUST_CHECK int sky_typed_node_call(sky_node *node, sky_addr_t to, const sky_service_desc *svc,
                                       const sky_method_desc *m, const ProtobufCMessage *req, int timeout_ms,
                                       ProtobufCMessage **resp, sky_msg *error);

#endif
