/* testmod: a module loaded with dlopen by check_module and the launcher
 * tests (built as tests/runtime/.libs/testmod.so, found via
 * $SKY_TEST_MODDIR).
 *
 * init args: "exit" asks the node to shut down at once (so `sky ok.lua`
 * exits 0); "fail" fails the spawn with SKY_EINVAL; "register NAME"
 * registers NAME and fails the spawn with sky_register()'s error if it
 * is refused; anything else gives an echo service that answers each request with the same bytes and type and
 * ignores oneways, staying up until the node stops. */
#include <string.h>
#include "sky/sky.h"

static int testmod_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state;
    if (strcmp(args, "exit") == 0) {
        sky_shutdown(ctx);
        return 0;
    }
    if (strcmp(args, "fail") == 0) return SKY_EINVAL;
    if (strncmp(args, "register ", 9) == 0) return sky_register(ctx, args + 9);
    return 0;
}

static int testmod_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    (void)state;
    if (msg->kind == SKY_REQUEST) return sky_reply_copy(ctx, msg, msg->type_id, msg->data, msg->size);
    return 0;
}

const sky_module sky_module_testmod = {"testmod", NULL, testmod_init, testmod_handle, NULL};
