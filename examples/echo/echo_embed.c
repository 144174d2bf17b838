/* echo_embed — the echo example as one program, without the launcher.
 *
 * It embeds a node (<sky/node.h>), registers the services of
 * echo_server.c and echo_client.c as static modules (no dlopen), and spawns
 * the client with the C server, as `sky node.lua` does: the same output.
 * It is built from the same sources and the same generated stubs as the
 * modules echo_server.so and echo_client.so (Makefile.am shows how).
 *
 * Exit status 0 once the client has shut the node down, 1 if the node did
 * not start or did not stop within 20 seconds. */
#include <stdio.h>
#include <sky/sky.h>

/* Defined by echo_server.c and echo_client.c, as for the modules. */
extern const sky_module sky_module_echo_server;
extern const sky_module sky_module_echo_client;

int main(void)
{
    sky_config cfg;
    char err[256] = "";
    sky_config_init(&cfg);
    cfg.threads = 2;
    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    if (!node) {
        fprintf(stderr, "echo_embed: %s\n", err);
        return 1;
    }
    int rc = sky_node_register_module(node, &sky_module_echo_server);
    if (rc == 0) rc = sky_node_register_module(node, &sky_module_echo_client);
    if (rc == 0) rc = sky_node_start(node);
    /* The client's argument, as node.lua's bootstrap_args: the server's
     * language, then the words to say. */
    if (rc == 0) rc = sky_node_spawn(node, "echo_client", "c hello sky", NULL, err, sizeof err);
    if (rc == 0) rc = sky_node_wait(node, 20000);
    if (rc != 0) fprintf(stderr, "echo_embed: %s%s%s\n", sky_errname(rc), *err ? ": " : "", err);
    sky_node_free(node);
    return rc == 0 ? 0 : 1;
}
