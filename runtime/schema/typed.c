/* Typed messages: serving a service's methods, typed replies, typed calls
 * and sends. Payloads are protobuf bytes packed and unpacked with
 * protobuf-c against the method's descriptors; the generated stubs
 * (templates/c/) are thin wrappers over the public functions here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/ctx.h"
#include "core/node.h"
#include "schema/pbdepth.h"
#include "schema/typed.h"
#include "sky/alloc.h"
#include "sky/node.h"
#include "sky/typed.h"

/* A method this service serves. */
typedef struct route {
    uint32_t id;
    uint32_t index; /* in svc->methods */
    const sky_service_desc *svc;
    const void *impl;
    void *ud;
} route;

/* The context of one typed call in flight, passed as sky_call's ud. */
typedef struct tcall {
    const sky_method_desc *m;
    sky_typed_invoke_fn *invoke;
    sky_any_fn *cb;
    void *ud;
    struct tcall *next; /* on the free list */
} tcall;

#define TCALL_CHUNK 16

/* Contexts live in chunks freed only with the service: a call dropped
 * when the service dies (its callback never runs) leaks nothing, and a
 * busy caller allocates nothing per call. */
typedef struct tchunk {
    struct tchunk *next;
    tcall c[TCALL_CHUNK];
} tchunk;

struct sky__typed {
    route *routes; /* sorted by id */
    uint32_t nroutes, caproutes;
    tcall *free_calls;
    tchunk *chunks;
};

static sky__typed *typed_of(sky__service *s)
{
    if (!s->typed) s->typed = sky_calloc(1, sizeof *s->typed);
    return s->typed;
}

void sky__typed_free(sky__service *s)
{
    sky__typed *t = s->typed;
    if (!t) return;
    for (tchunk *c = t->chunks, *next; c; c = next) {
        next = c->next;
        sky_free(c);
    }
    sky_free(t->routes);
    sky_free(t);
    s->typed = NULL;
}

static const route *find_route(const sky__typed *t, uint32_t id)
{
    uint32_t lo = 0, hi = t->nroutes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->routes[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < t->nroutes && t->routes[lo].id == id ? &t->routes[lo] : NULL;
}

/* Packs msg (n bytes packed) into a new heap buffer (NULL when empty). */
static sky_msg pack_n(const ProtobufCMessage *msg, size_t n, uint32_t type_id)
{
    void *buf = NULL;
    if (n) {
        buf = sky_malloc(n);
        protobuf_c_message_pack(msg, buf);
    }
    return (sky_msg){.type_id = type_id, .size = n, .data = buf};
}

static sky_msg pack(const ProtobufCMessage *msg, uint32_t type_id)
{
    return pack_n(msg, protobuf_c_message_get_packed_size(msg), type_id);
}

/* Unpacking into a buffer on the stack: a small message (the common case)
 * costs no malloc and no free; what does not fit spills to the heap. */
#define ARENA_SIZE 768

typedef struct arena {
    _Alignas(16) unsigned char buf[ARENA_SIZE];
    size_t used;
    unsigned spilled; /* pieces that went to the heap */
    ProtobufCAllocator alloc;
} arena;

static void *arena_alloc(void *data, size_t size)
{
    arena *a = data;
    size_t need = (size + 15) & ~(size_t)15;
    if (need >= size && need <= ARENA_SIZE - a->used) {
        void *p = a->buf + a->used;
        a->used += need;
        return p;
    }
    a->spilled++;
    return malloc(size); /* NULL fails the unpack: SKY_EBADMSG */
}

static void arena_free(void *data, void *p)
{
    arena *a = data;
    uintptr_t at = (uintptr_t)p, buf = (uintptr_t)a->buf;
    if (at < buf || at >= buf + ARENA_SIZE) free(p);
}

/* NULL if the bytes do not decode, nest too deep or hold a NUL byte in a
 * string field (named in *bad, which may be NULL). */
static ProtobufCMessage *unpack(arena *a, const ProtobufCMessageDescriptor *d, const sky_msg *msg, sky__pb_bad *bad)
{
    a->used = 0;
    a->spilled = 0;
    a->alloc = (ProtobufCAllocator){arena_alloc, arena_free, a};
    if (!sky__pb_check(d, msg->data, msg->size, SKY_PB_MAX_DEPTH, bad)) return NULL;
    return protobuf_c_message_unpack(d, &a->alloc, msg->size, msg->data);
}

static void unpacked_free(arena *a, ProtobufCMessage *m)
{
    if (m && a->spilled) protobuf_c_message_free_unpacked(m, &a->alloc);
}

/* ---- serving ----------------------------------------------------------- */

static int lists(const sky_file_desc *file, const sky_service_desc *svc)
{
    for (size_t i = 0; i < file->n_services; i++)
        if (file->services[i] == svc) return 1;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    uint32_t x = ((const route *)a)->id, y = ((const route *)b)->id;
    return x < y ? -1 : x > y;
}

int sky_serve(sky_ctx *ctx, const sky_file_desc *file, const sky_service_desc *svc, const void *impl, void *ud)
{
    if (!ctx || !file || !svc || !impl || !svc->dispatch || !lists(file, svc) || svc->n_methods > UINT32_MAX)
        return SKY_EINVAL;
    int rc = sky_schema_register(file);
    if (rc < 0) return rc;
    sky__service *s = sky__svc(ctx);
    sky__typed *t = typed_of(s);
    for (size_t i = 0; i < svc->n_methods; i++)
        if (find_route(t, svc->methods[i].id)) return SKY_EEXIST;
    if (svc->default_name && (rc = sky_register(ctx, svc->default_name)) < 0) return rc;
    if (t->nroutes + svc->n_methods > t->caproutes) {
        t->caproutes = t->nroutes + (uint32_t)svc->n_methods;
        t->routes = sky_realloc(t->routes, t->caproutes * sizeof *t->routes);
    }
    for (size_t i = 0; i < svc->n_methods; i++)
        t->routes[t->nroutes++] = (route){svc->methods[i].id, (uint32_t)i, svc, impl, ud};
    qsort(t->routes, t->nroutes, sizeof *t->routes, by_id);
    return 0;
}

/* Counts and logs a payload that does not decode, and answers a request
 * with SKY_EBADMSG. Logged at the 1st, 2nd, 4th, 8th... one, so a peer
 * that floods bad payloads cannot flood the log. */
static void bad_payload(sky__service *s, const sky_msg *msg, const sky_method_desc *m, const sky__pb_bad *bad)
{
    uint64_t n = atomic_load_explicit(&s->bad, memory_order_relaxed) + 1;
    SKY__BUMP(s->bad);
    char text[256];
    int len = snprintf(text, sizeof text, "%s: the %s does not decode as %s", m->full_name,
                       msg->kind == SKY_REQUEST ? "request" : "message", m->input->name);
    if (bad->field && len > 0 && (size_t)len < sizeof text) /* as Lua's codec says it */
        snprintf(text + len, sizeof text - (size_t)len, ": %s.%s: string contains a NUL byte (use bytes)",
                 bad->msg->short_name, bad->field->name);
    if ((n & (n - 1)) == 0)
        sky__log(s->node, msg->dest, SKY_LOG_WARN, "%s (from %04x:%08llx, %zu bytes; %llu bad so far)", text,
                 SKY_ADDR_NODE(msg->source), (unsigned long long)SKY_ADDR_SERIAL(msg->source), msg->size,
                 (unsigned long long)n);
    if (msg->kind == SKY_REQUEST) {
        s->answered = 1;
        sky__post_error(s, msg->source, msg->session, SKY_EBADMSG, text);
    }
}

int sky__typed_handle(sky__service *s, const sky_msg *msg, int *rc)
{
    const route *r = find_route(s->typed, msg->type_id);
    if (!r) return 0;
    /* copied out: the handler may serve more and move the routes */
    const sky_service_desc *svc = r->svc;
    const void *impl = r->impl;
    void *ud = r->ud;
    size_t index = r->index;
    const sky_method_desc *m = &svc->methods[index];
    arena a;
    sky__pb_bad bad;
    ProtobufCMessage *req = unpack(&a, m->input, msg, &bad);
    if (!req) {
        bad_payload(s, msg, m, &bad);
        *rc = 0;
        return 1;
    }
    sky_request request = {msg, m};
    sky_ctx *ctx = sky__ctx(s);
    *rc = svc->dispatch(ctx, index, req, &request, impl, ud);
    unpacked_free(&a, req);
    /* a oneway method that was called: the caller learns it was handled */
    if (*rc == 0 && m->oneway && msg->kind == SKY_REQUEST && !s->answered) {
        sky_msg empty = {.type_id = m->id};
        sky_reply(ctx, msg, &empty);
    }
    return 1;
}

int sky_typed_reply(sky_ctx *ctx, const sky_request *r, const ProtobufCMessage *resp)
{
    if (!ctx || !r || !resp || resp->descriptor != r->method->output) return SKY_EINVAL;
    if (r->msg->kind != SKY_REQUEST) return 0; /* sent as a oneway: nobody waits */
    sky_msg out = pack(resp, r->method->id);
    return sky_reply(ctx, r->msg, &out);
}

int sky_typed_respond(sky_ctx *ctx, sky_token tok, const sky_method_desc *m, const ProtobufCMessage *resp)
{
    if (!ctx || !m || !resp || resp->descriptor != m->output) return SKY_EINVAL;
    if (tok.session == 0) return 0; /* the token of a oneway */
    sky_msg out = pack(resp, m->id);
    return sky_respond(ctx, tok, &out);
}

/* ---- calling ----------------------------------------------------------- */

static tcall *tcall_get(sky__service *s)
{
    sky__typed *t = typed_of(s);
    if (!t->free_calls) {
        tchunk *c = sky_malloc(sizeof *c);
        c->next = t->chunks;
        t->chunks = c;
        for (int i = TCALL_CHUNK - 1; i >= 0; i--) {
            c->c[i].next = t->free_calls;
            t->free_calls = &c->c[i];
        }
    }
    tcall *c = t->free_calls;
    t->free_calls = c->next;
    return c;
}

static void tcall_put(sky__service *s, tcall *c)
{
    c->next = s->typed->free_calls;
    s->typed->free_calls = c;
}

static void on_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    sky__service *s = sky__svc(ctx);
    tcall c = *(tcall *)ud;
    tcall_put(s, ud); /* first: the callback may call again */
    arena a;
    ProtobufCMessage *resp = NULL;
    if (status == 0) {
        resp = unpack(&a, c.m->output, reply, NULL);
        if (!resp) {
            SKY__BUMP(s->bad);
            status = SKY_EBADMSG;
        }
    }
    c.invoke(c.cb, ctx, status, resp, reply, c.ud);
    unpacked_free(&a, resp);
}

int sky_typed_call_via(sky_ctx *ctx, sky_addr_t to, const sky_method_desc *m, const ProtobufCMessage *req,
                       int timeout_ms, sky_typed_invoke_fn *invoke, sky_any_fn *cb, void *ud)
{
    if (!ctx || !m || !req || !invoke || !cb || req->descriptor != m->input) return SKY_EINVAL;
    sky__service *s = sky__svc(ctx);
    tcall *c = tcall_get(s);
    *c = (tcall){m, invoke, cb, ud, NULL};
    sky_msg msg = pack(req, m->id);
    int rc = sky_call(ctx, to, &msg, timeout_ms > 0 ? timeout_ms : m->timeout_ms, on_answer, c);
    if (rc < 0) tcall_put(s, c);
    return rc;
}

static void invoke_plain(sky_any_fn *cb, sky_ctx *ctx, int status, const ProtobufCMessage *resp,
                         const sky_msg *reply, void *ud)
{
    ((sky_typed_reply_fn *)cb)(ctx, status, resp, reply, ud);
}

int sky_typed_call(sky_ctx *ctx, sky_addr_t to, const sky_method_desc *m, const ProtobufCMessage *req,
                   int timeout_ms, sky_typed_reply_fn *cb, void *ud)
{
    return sky_typed_call_via(ctx, to, m, req, timeout_ms, invoke_plain, (sky_any_fn *)cb, ud);
}

int sky_typed_send(sky_ctx *ctx, sky_addr_t to, const sky_method_desc *m, const ProtobufCMessage *req)
{
    if (!ctx || !m || !req || req->descriptor != m->input) return SKY_EINVAL;
    size_t n = protobuf_c_message_get_packed_size(req);
    unsigned char small[64];
    if (n <= sizeof small) { /* no buffer to allocate, and none for small mail */
        protobuf_c_message_pack(req, small);
        return sky_send_copy(ctx, to, m->id, small, n);
    }
    sky_msg msg = pack_n(req, n, m->id);
    return sky_send(ctx, to, &msg);
}

/* ---- calling from outside any service ----------------------------------- */

int sky_typed_node_call(sky_node *node, sky_addr_t to, const sky_service_desc *svc, const sky_method_desc *m,
                        const ProtobufCMessage *req, int timeout_ms, ProtobufCMessage **resp, sky_msg *error)
{
    sky_msg reply = {0};
    if (error) *error = reply;
    if (resp) *resp = NULL;
    if (!node || !m || !req || !resp || req->descriptor != m->input || (to == SKY_ADDR_NONE && !svc))
        return SKY_EINVAL;
    if (to == SKY_ADDR_NONE) {
        to = svc->default_name ? sky_node_whereis(node, svc->default_name) : SKY_ADDR_NONE;
        if (to == SKY_ADDR_NONE) return SKY_ENOSVC;
    }
    sky_msg msg = pack(req, m->id);
    int rc = sky_node_call_reply(node, to, &msg, timeout_ms > 0 ? timeout_ms : m->timeout_ms, &reply);
    if (rc == 0 && (!sky__pb_check(m->output, reply.data, reply.size, SKY_PB_MAX_DEPTH, NULL) ||
                    !(*resp = protobuf_c_message_unpack(m->output, NULL, reply.size, reply.data))))
        rc = SKY_EBADMSG;
    if (rc < 0 && error && reply.kind == SKY_ERROR) *error = reply;
    else free(reply.data);
    return rc;
}
