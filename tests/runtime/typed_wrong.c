/* Compiled by test_typed_types.sh: with -DWRONG=0 every call passes the
 * method's own types and compiles; with WRONG=1..5 one passes a wrong
 * message type (or uses a wrapper the method does not have) and must not
 * compile with -Werror. */
#include "typed_test.sky.h"

static void on_payload(sky_ctx *ctx, int status, const Skytest__Payload *resp, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)status, (void)resp, (void)reply, (void)ud;
}

static void on_ack(sky_ctx *ctx, int status, const Skytest__Ack *resp, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)status, (void)resp, (void)reply, (void)ud;
}

int use(sky_ctx *ctx, sky_addr_t to, const sky_request *r);

int use(sky_ctx *ctx, sky_addr_t to, const sky_request *r)
{
    Skytest__Payload p = SKYTEST__PAYLOAD__INIT;
    Skytest__Ack ack = SKYTEST__ACK__INIT;
    int rc = 0;
#if WRONG == 1 /* an Ack where a Payload goes */
    rc |= skytest_Echo_Bump_call(ctx, to, &ack, 0, on_payload, NULL);
#elif WRONG == 2 /* a callback for another output type */
    rc |= skytest_Echo_Bump_call(ctx, to, &p, 0, on_ack, NULL);
#elif WRONG == 3 /* a reply of the wrong type */
    rc |= skytest_Echo_Bump_reply(ctx, r, &ack);
#elif WRONG == 4 /* a oneway send of the wrong type */
    rc |= skytest_Echo_Note_send(ctx, to, &ack);
#elif WRONG == 5 /* Bump is not oneway: it has no _send */
    rc |= skytest_Echo_Bump_send(ctx, to, &p);
#else
    rc |= skytest_Echo_Bump_call(ctx, to, &p, 0, on_payload, NULL);
    rc |= skytest_Echo_Note_call(ctx, to, &p, 0, on_ack, NULL);
    rc |= skytest_Echo_Note_send(ctx, to, &p);
    rc |= skytest_Echo_Bump_reply(ctx, r, &p);
    rc |= skytest_Echo_Fail_reply(ctx, r, &ack);
#endif
    (void)p, (void)ack;
    return rc;
}
