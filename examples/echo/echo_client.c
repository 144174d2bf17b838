/* echo_client — calls the echo server through the stubs skyc generated.
 *
 * The launcher spawns it (node.lua's bootstrap) with the argument
 * "SERVER WORD...". Its init spawns the server, SERVER being "c" (the
 * module echo_server.so) or "lua" (echo_server.lua, run by the node's Lua
 * host), then it runs a short script: a Say call for each WORD, a oneway
 * Note, one more Say (whose reply shows that the note arrived first: mail
 * from one sender to one receiver keeps its order), and a Say the server
 * refuses. Then it shuts the node down.
 *
 * A service must not block, so a call returns at once and its answer comes
 * to a callback later: each callback starts the next step. */
#include <stdio.h>
#include <string.h>
#include <sky/sky.h>
#include "echo.sky.h"

#define MAX_WORDS 8

typedef struct client {
    sky_addr_t echo;
    char words[256];
    const char *word[MAX_WORDS];
    int nwords;
    int step;
    int calls, answered, failed;
} client;

static void next(client *c, sky_ctx *ctx);

/* The answer to a Say call: status 0 and the decoded reply, or an error
 * code (the server's, SKY_ETIMEDOUT, ...) and reply NULL. `raw` is the
 * message as it came, for sky_error_text(). */
static void on_say(sky_ctx *ctx, int status, const Echo__SayReply *reply, const sky_msg *raw, void *ud)
{
    client *c = ud;
    if (status == 0) {
        c->answered++;
        printf("[client] Say -> \"%s\" (call %u, notes %u)\n", reply->text, reply->count, reply->notes);
    } else {
        c->failed++;
        char why[128];
        printf("[client] Say -> %s (%s)\n", sky_errname(status), sky_error_text(raw, status, why, sizeof why));
    }
    fflush(stdout);
    next(c, ctx);
}

static void say(client *c, sky_ctx *ctx, const char *text)
{
    Echo__SayRequest req = ECHO__SAY_REQUEST__INIT;
    req.text = (char *)text; /* protobuf-c's structs are not const-correct */
    printf("[client] Say(\"%s\")\n", text);
    fflush(stdout);
    c->calls++;
    /* timeout 0: the method's (sky.timeout_ms), 1000 ms */
    int rc = echo_Echo_Say_call(ctx, c->echo, &req, 0, on_say, c);
    if (rc != 0) { /* refused at once: no callback will come */
        c->failed++;
        printf("[client] Say failed at once: %s\n", sky_errname(rc));
        fflush(stdout);
        next(c, ctx);
    }
}

static void next(client *c, sky_ctx *ctx)
{
    int step = c->step++;
    if (step < c->nwords) {
        say(c, ctx, c->word[step]);
    } else if (step == c->nwords) {
        Echo__SayRequest note = ECHO__SAY_REQUEST__INIT;
        note.text = (char *)"a note before the next call";
        int rc = echo_Echo_Note_send(ctx, c->echo, &note);
        printf("[client] Note(\"%s\") -> %s\n", note.text, rc == 0 ? "sent" : sky_errname(rc));
        fflush(stdout);
        say(c, ctx, "after the note");
    } else if (step == c->nwords + 1) {
        say(c, ctx, ""); /* the server refuses an empty text */
    } else {
        printf("[client] done: %d calls, %d answered, %d failed\n", c->calls, c->answered, c->failed);
        fflush(stdout);
        sky_shutdown(ctx); /* the launcher exits 0 */
    }
}

static int client_init(void *state, sky_ctx *ctx, const char *args)
{
    client *c = state;
    /* The server and the words to say: the spawn argument (node.lua's
     * bootstrap_args). */
    snprintf(c->words, sizeof c->words, "%s", args);
    char *save;
    const char *server = strtok_r(c->words, " ", &save);
    for (char *w = strtok_r(NULL, " ", &save); w && c->nwords < MAX_WORDS; w = strtok_r(NULL, " ", &save))
        c->word[c->nwords++] = w;
    if (c->nwords == 0) c->word[c->nwords++] = "hello";

    /* The server registers "echo" in its init, which has run when
     * sky_spawn returns. A Lua service is spawned from the module "lua",
     * its name (found on service_path) the argument. */
    int lua = server && strcmp(server, "lua") == 0;
    int rc = lua ? sky_spawn(ctx, "lua", "echo_server", NULL) : sky_spawn(ctx, "echo_server", "", NULL);
    if (rc != 0) {
        sky_log(ctx, SKY_LOG_ERROR, "cannot spawn echo_server: %s", sky_strerror(rc));
        return rc; /* fails the bootstrap: the launcher exits 2 */
    }
    c->echo = sky_whereis(ctx, "echo");
    next(c, ctx); /* calls may start in init */
    return 0;
}

/* Answers to calls go to their callbacks, not here. */
static int client_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    (void)state;
    (void)ctx;
    (void)msg;
    return 0;
}

static void *client_create(void) { return sky_calloc(1, sizeof(client)); }
static void client_release(void *state) { sky_free(state); }

const sky_module sky_module_echo_client = {"echo_client", client_create, client_init, client_handle,
                                           client_release};
