/* For the programs of test_realworld.sh: a node in this process running
 * one C service, and one typed call to it from outside. */
#ifndef REALWORLD_SERVE_ONCE_H
#define REALWORLD_SERVE_ONCE_H

#include <sky/sky.h>
#include <sky/typed.h>
#include <stdio.h>
#include <stdlib.h>

/* Starts a node, spawns `module` on it, calls method `id` with req and
 * decodes the answer as `out` into *resp (the caller frees it with
 * protobuf_c_message_free_unpacked). Returns 0 or a SKY_E* code, having
 * printed why. */
static int call_once(const sky_module *module, uint32_t id, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp)
{
    sky_config cfg;
    sky_addr_t addr;
    sky_msg m = {.type_id = id}, reply = {0};
    char err[256] = "";
    int rc;

    sky_config_init(&cfg);
    cfg.threads = 1;
    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    if (!node) {
        fprintf(stderr, "cannot make a node: %s\n", err);
        return SKY_EINVAL;
    }
    if ((rc = sky_node_register_module(node, module)) != 0 || (rc = sky_node_start(node)) != 0 ||
        (rc = sky_node_spawn(node, module->name, "", &addr, err, sizeof err)) != 0) {
        fprintf(stderr, "cannot start %s: %s %s\n", module->name, sky_errname(rc), err);
        sky_node_free(node);
        return rc;
    }
    m.size = protobuf_c_message_get_packed_size(req);
    m.data = malloc(m.size ? m.size : 1);
    protobuf_c_message_pack(req, m.data);
    rc = sky_node_call(node, addr, &m, 5000, &reply, err, sizeof err);
    if (rc == 0 && !(*resp = protobuf_c_message_unpack(out, NULL, reply.size, reply.data)))
        rc = SKY_EBADMSG;
    if (rc != 0)
        fprintf(stderr, "call to %s: %s %s\n", module->name, sky_errname(rc), err);
    free(reply.data);
    sky_node_free(node);
    return rc;
}

/* Defines `static const sky_module var`, named `name`, whose init serves
 * a service's stubs: serve(ctx, &handlers, NULL). */
#define SERVING_MODULE(var, name, serve, handlers)                      \
    static int var##_init(void *state, sky_ctx *ctx, const char *args) \
    {                                                                  \
        (void)state;                                                   \
        (void)args;                                                    \
        return serve(ctx, &handlers, NULL);                            \
    }                                                                  \
    static const sky_module var = {name, NULL, var##_init, NULL, NULL}

#endif
