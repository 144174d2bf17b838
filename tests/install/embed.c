/* Built by `make installcheck` (and so by distcheck) against the installed
 * headers and library through pkg-config: a program that embeds a node,
 * registers a C service, calls it from outside and shuts down. Exit 0
 * only if the answer came back intact. */
#include <sky/sky.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    return m->kind == SKY_REQUEST ? sky_reply_copy(ctx, m, m->type_id, m->data, m->size) : 0;
}

static const sky_module echo_module = {"echo", NULL, NULL, echo, NULL};

int main(void)
{
    sky_config cfg;
    char err[256];
    sky_addr_t addr;
    sky_config_init(&cfg);
    cfg.threads = 2;
    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    if (!node) {
        fprintf(stderr, "embed: %s\n", err);
        return 1;
    }
    if (sky_node_register_module(node, &echo_module) != 0 || sky_node_start(node) != 0 ||
        sky_node_spawn(node, "echo", "", &addr, err, sizeof err) != 0) {
        fprintf(stderr, "embed: cannot start: %s\n", err);
        sky_node_free(node);
        return 1;
    }
    sky_msg req = {.data = strdup("installed"), .size = 9}, reply = {0};
    int rc = sky_node_call(node, addr, &req, 2000, &reply, err, sizeof err);
    int ok = rc == 0 && reply.size == 9 && memcmp(reply.data, "installed", 9) == 0;
    printf("embed: call -> %s%s\n", rc == 0 ? "ok" : sky_errname(rc), ok ? "" : " (wrong answer)");
    free(reply.data);
    sky_node_free(node);
    return ok ? 0 : 1;
}
