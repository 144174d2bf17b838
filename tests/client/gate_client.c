/* gate_client: libsky-client and the stubs of typed_test.proto
 * (typed_test.sky-client.h) against a real node's gate serving
 * skytest.Echo (tests/lua/stub_echo.lua or the C module cecho.c); run by
 * test_gate.sh.
 *
 *   gate_client PORT check c|lua  typed calls, error answers, the gate's
 *                              and the client's deadlines, oneways, an
 *                              unknown method, a flood of 10000
 *                              oneways all counted, against cecho.c or
 *                              stub_echo.lua
 *   gate_client PORT restart   a call; "ready" on stdout; waits for a line
 *                              on stdin (the node restarted meanwhile); a
 *                              call gets SKY_ENODEDOWN; reconnects (within
 *                              10 s) and calls again
 *
 * Prints one line per step; exit status 0 only if every step passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "typed_test.sky-client.h"

static int failures;

static void step(const char *what, int ok, sky_client *c, int rc)
{
    printf("%s  %s", ok ? "ok  " : "FAIL", what);
    if (!ok)
        printf(" (%s: %s)", sky_errname(rc), sky_client_error(c));
    printf("\n");
    fflush(stdout);
    failures += !ok;
}

/* Bump{id} answers id + 1; returns the answer's session (the Notes seen), or -1. */
static int bump(sky_client *c, int id, const char *what)
{
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT, *resp;
    int rc, notes = -1;

    req.id = id;
    req.kind = "k";
    rc = skytest_Echo_Bump_client_call(c, &req, &resp, 2000);
    step(what, rc == 0 && resp->id == id + 1 && strcmp(resp->kind, "k") == 0, c, rc);
    if (rc == 0) {
        notes = resp->session;
        skytest__payload__free_unpacked(resp, NULL);
    }
    return notes;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void check(sky_client *c, int lua)
{
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT, saved, *resp;
    Skytest__Ack *ack;
    void *raw;
    size_t len;
    long t0;
    int rc, notes;

    bump(c, 41, "Bump: a typed call");

    req.id = SKY_EEXIST;
    req.body = "now";
    rc = skytest_Echo_Fail_client_call(c, &req, &ack, 2000);
    step("Fail: the service's error code and message", rc == SKY_EEXIST && strstr(sky_client_error(c), "fail now"),
         c, rc);

    /* the service's own error: its application code and details unchanged */
    saved = req;
    req.id = 1;
    req.kind = "EOUTOFSTOCK";
    req.body = "x";
    rc = skytest_Echo_Fail_client_call(c, &req, &ack, 2000);
    {
        size_t n;
        const void *d = sky_client_error_details(c, &n);

        step("Fail: an application error, its code, message and details unchanged",
             rc == SKY_EAPP && strcmp(sky_client_error_app_code(c), "EOUTOFSTOCK") == 0 &&
                 strcmp(sky_client_error(c), "fail x") == 0 && n == 5 && memcmp(d, "\0\1det", 5) == 0,
             c, rc);
    }
    bump(c, 2, "Bump after it: the application error is forgotten");
    step("no application code after a success",
         sky_client_error_app_code(c)[0] == '\0' && sky_client_error_details(c, &len) == NULL && len == 0, c, 0);
    req = saved;

    rc = sky_client_call_name(c, "skytest.Echo.NoSuchMethod", "", 0, &raw, &len, 2000);
    step("an unknown method: ENOENT from the gate", rc == SKY_ENOENT, c, rc);

    /* Hold never answers: C's passes the method's deadline (100 ms) in the
     * node; Lua's reply function is collected at once: ENOREPLY. */
    t0 = now_ms();
    rc = skytest_Echo_Hold_client_call(c, &req, &resp, 2000);
    if (lua)
        step("Hold: ENOREPLY (the reply function is collected)", rc == SKY_ENOREPLY, c, rc);
    else
        step("Hold: the method's deadline (100 ms) passes in the node: ETIMEDOUT",
             rc == SKY_ETIMEDOUT && now_ms() - t0 >= 90 && now_ms() - t0 < 1500, c, rc);

    /* The client's own deadline first; the answer comes later and is dropped. */
    t0 = now_ms();
    if (lua)
        rc = skytest_Echo_Later_client_call(c, &req, &resp, 3); /* answers after 10 ms */
    else
        rc = skytest_Echo_Hold_client_call(c, &req, &resp, 30);
    step("the client's own deadline passes first: ETIMEDOUT", rc == SKY_ETIMEDOUT && now_ms() - t0 < 80, c, rc);
    struct timespec ts = {0, 150 * 1000000};
    nanosleep(&ts, NULL); /* the late answer (or the gate's error) is in by now */
    bump(c, 1, "Bump after it: the late answer is dropped");

    notes = bump(c, 0, "Bump: count the Notes so far");
    for (int i = 0; i < 10; i++)
        if ((rc = skytest_Echo_Note_client_send(c, &req, 2000)) != 0)
            break;
    step("Note x10: oneways sent", rc == 0, c, rc);
    rc = bump(c, 0, "Bump after the Notes");
    step("the service counted the 10 Notes", rc == notes + 10, c, rc);

    /* a flood past the service's mailbox (4096 in test_gate.sh) and its overload
     * warnings: the gate holds frames back, none is lost. A call behind
     * the flood may meet the node's call deadline (5 s) in a slow
     * (sanitizer) build: ask again until the count is in, for 150 s. */
    {
        uint8_t buf[64];
        size_t n = skytest__payload__pack(&req, buf);
        uint32_t note = sky_client_method_id("skytest.Echo.Note");
        int i, got = -1;

        notes = bump(c, 0, "Bump: count the Notes so far");
        for (i = 0; i < 10000; i++) /* 5 s each: the gate holds frames back */
            if ((rc = sky_client_send_later(c, note, buf, n, 5000)) != 0)
                break;
        step("Note x10000 through send_later", rc == 0, c, rc);
        for (long t0 = now_ms(); now_ms() - t0 < 150000 && got < notes + 10000;) {
            Skytest__Payload *resp;

            req.id = 0;
            if (skytest_Echo_Bump_client_call(c, &req, &resp, 10000) == 0) {
                got = resp->session;
                skytest__payload__free_unpacked(resp, NULL);
            }
        }
        printf("      counted %d of 10000\n", got - notes);
        step("the service counted all 10000 Notes", got == notes + 10000, c, SKY_EFAIL);
    }

    rc = sky_client_call_name(c, "skytest.Echo.Bump", "\xff\xff", 2, &raw, &len, 2000);
    step("Bump with bytes that are no Payload: EBADMSG", rc == SKY_EBADMSG, c, rc);
    bump(c, 5, "Bump: the connection is still fine");
}

static void restart(sky_client *c)
{
    char line[16];
    void *raw;
    size_t len;
    int rc = SKY_ENODEDOWN;

    bump(c, 1, "Bump before the restart");
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        step("a line on stdin", 0, c, SKY_EINVAL);
    rc = sky_client_call_name(c, "skytest.Echo.Bump", "", 0, &raw, &len, 2000);
    step("a call to the old connection: ENODEDOWN", rc == SKY_ENODEDOWN, c, rc);
    for (long t0 = now_ms(); now_ms() - t0 < 10000;) {
        if ((rc = sky_client_connect(c, 1000)) == 0)
            break;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    step("reconnect after the restart", rc == 0, c, rc);
    bump(c, 2, "Bump after the restart");
}

int main(int argc, char **argv)
{
    sky_client *c;
    int rc;

    if (argc < 3 || (strcmp(argv[2], "check") != 0 && strcmp(argv[2], "restart") != 0)) {
        fputs("usage: gate_client PORT check c|lua, gate_client PORT restart\n", stderr);
        return 2;
    }
    c = sky_client_new("127.0.0.1", atoi(argv[1]));
    rc = c ? sky_client_connect(c, 2000) : SKY_EINVAL;
    step("connect", rc == 0, c, rc);
    if (rc == 0 && strcmp(argv[2], "check") == 0)
        check(c, argc > 3 && strcmp(argv[3], "lua") == 0);
    else if (rc == 0)
        restart(c);
    sky_client_free(c);
    return failures != 0;
}
