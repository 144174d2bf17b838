/* ping — the demo's bootstrap service (see README.md).
 *
 * The launcher spawns ping; ping spawns the pongs and runs a short script
 * against them. A service must never block, so it cannot wait for an
 * answer: sky_call() returns at once and the callback runs later, as part
 * of ping's own handling. The script is therefore a state machine: a step
 * starts some calls, each callback counts `waiting` down, and the last one
 * starts the next step. The spawn argument is the number of pongs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sky/sky.h"

enum { HELLO = 1, ECHO, SLOW, NEVER, FAIL }; /* the protocol, as in pong.c */
static const char *const type_name[] = {"?", "HELLO", "ECHO", "SLOW", "NEVER", "FAIL"};

#define MAX_PONG 8
#define KILL_POLL 1 /* our timer's session: "is the killed pong gone yet?" */
#define SERIAL(a) ((unsigned long long)SKY_ADDR_SERIAL(a))

typedef struct ping ping;

typedef struct call { /* a call in flight; its address is the callback's ud */
    ping *p;
    int type;
    sky_addr_t to;
    struct timespec t0;
} call;

struct ping {
    sky_addr_t pong[MAX_PONG], named, victim;
    int npong, step, turn;
    int waiting; /* answers (or timers) the current step still waits for */
    int calls, answered, failed, oneways;
    call slot[8]; /* reused in turn: at most two calls are in flight */
    unsigned nslot;
};

static void script(ping *p, sky_ctx *ctx);

static void say(const char *fmt, ...) SKY_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("[ping] %s\n", line); /* one printf: whole lines, whatever the threads */
    fflush(stdout);              /* stdout may be a pipe: show it now */
}

static const char *since(const struct timespec *t0, char *buf, size_t size)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double us = (double)(t.tv_sec - t0->tv_sec) * 1e6 + (double)(t.tv_nsec - t0->tv_nsec) / 1e3;
    snprintf(buf, size, us < 1000 ? "%.0f us" : "%.0f ms", us < 1000 ? us : us / 1000);
    return buf;
}

/* Every answer comes here: a response (status 0), an error reply (status <
 * 0, reply->kind == SKY_ERROR) or a timeout (status < 0, reply == NULL). */
static void on_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    call *c = ud;
    char text[128], took[32];
    since(&c->t0, took, sizeof took);
    if (status == 0) {
        c->p->answered++;
        int len = reply->size < 128 ? (int)reply->size : 128; /* a payload has no NUL */
        say("call %-5s to pong %llu -> ok after %s: %.*s", type_name[c->type], SERIAL(c->to), took, len,
            len ? (const char *)reply->data : "");
    } else {
        c->p->failed++;
        say("call %-5s to pong %llu -> %s after %s: %s", type_name[c->type], SERIAL(c->to), sky_errname(status),
            took, sky_error_text(reply, status, text, sizeof text));
    }
    if (--c->p->waiting == 0) script(c->p, ctx);
}

static void start_call(ping *p, sky_ctx *ctx, sky_addr_t to, int type, const char *text, int timeout_ms)
{
    call *c = &p->slot[p->nslot++ % 8];
    *c = (call){.p = p, .type = type, .to = to};
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    /* A send takes ownership of the payload, so it must be malloc'ed. */
    sky_msg req = {.type_id = (uint32_t)type, .size = strlen(text), .data = sky_strdup(text)};
    p->calls++;
    int rc = sky_call(ctx, to, &req, timeout_ms, on_reply, c); /* timeout 0: the node's default */
    if (rc == 0) {
        p->waiting++;
    } else { /* refused at once, and no callback will come */
        p->failed++;
        say("call %-5s to pong %llu -> %s at once: %s", type_name[type], SERIAL(to), sky_errname(rc),
            sky_strerror(rc));
    }
}

static void script(ping *p, sky_ctx *ctx)
{
    char text[32];
    while (p->waiting == 0) {
        switch (p->step++) {
        case 0: /* one pong at a time, so the lines come out in a fixed order */
            if (p->turn == 0) say("-- 1. oneway sends, and calls answered at once (sky_reply)");
            snprintf(text, sizeof text, "hello %d", p->turn + 1);
            /* Mail from one sender to one receiver arrives in send order:
             * the pong sees this oneway before the call that follows. */
            if (sky_send_copy(ctx, p->pong[p->turn], HELLO, text, strlen(text)) == 0) p->oneways++;
            start_call(p, ctx, p->pong[p->turn], ECHO, "ping", 0);
            if (++p->turn < p->npong) p->step = 0;
            break;
        case 1: /* pong answers the ECHO while the SLOW one waits for its timer */
            say("-- 2. a deferred answer (sky_defer + sky_timeout + sky_respond)");
            start_call(p, ctx, p->named, SLOW, "150", 0);
            start_call(p, ctx, p->named, ECHO, "ping", 0);
            break;
        case 2:
            say("-- 3. a call that is never answered, with a 200 ms deadline");
            start_call(p, ctx, p->pong[1], NEVER, "", 200);
            break;
        case 3:
            say("-- 4. a call to a dead service");
            p->victim = p->pong[p->npong - 1];
            if (sky_kill(ctx, p->victim) != 0) break;
            say("sky_kill(pong %llu)", SERIAL(p->victim));
            /* sky_kill only asks: the victim exits the next time a worker
             * runs it. Look every millisecond until it has gone. */
            if (sky_timeout(ctx, 1, KILL_POLL) == 0) p->waiting = 1;
            break;
        case 4:
            start_call(p, ctx, p->victim, ECHO, "anyone there?", 0);
            break;
        case 5:
            say("-- 5. a call answered with an error (sky_reply_error)");
            start_call(p, ctx, p->named, FAIL, "", 0);
            break;
        default: {
            sky_node_stat st;
            sky_node_stat_get(sky_ctx_node(ctx), &st);
            say("-- done");
            say("%d calls: %d answered, %d failed (%s); %d oneways sent", p->calls, p->answered, p->failed,
                p->failed == 3 ? "as intended" : "UNEXPECTED", p->oneways);
            say("node: %llu services spawned, %llu messages handled", (unsigned long long)st.spawned,
                (unsigned long long)st.messages);
            /* sky_log lines go to the node's logger: stderr, or the config's `log` file. */
            sky_log(ctx, SKY_LOG_INFO, "demo finished, shutting the node down");
            sky_shutdown(ctx); /* sky_node_wait() returns and the launcher exits 0 */
            return;
        }
        }
    }
}

static int ping_init(void *state, sky_ctx *ctx, const char *args)
{
    ping *p = state;
    p->npong = args[0] ? atoi(args) : 3;
    if (p->npong < 2 || p->npong > MAX_PONG) {
        sky_log(ctx, SKY_LOG_ERROR, "ping: want 2..%d pongs, got '%s'", MAX_PONG, args);
        return SKY_EINVAL; /* fails the spawn: the launcher exits with status 2 */
    }
    say("up as service %llu, spawning %d pongs", SERIAL(sky_self(ctx)), p->npong);
    for (int i = 0; i < p->npong; i++) {
        /* The first pong registers the name "pong"; the others are reached
         * only by the addresses sky_spawn hands back. */
        int rc = sky_spawn(ctx, "pong", i == 0 ? "pong" : "", &p->pong[i]);
        if (rc != 0) return rc;
    }
    p->named = sky_whereis(ctx, "pong");
    say("sky_whereis(\"pong\") -> service %llu", SERIAL(p->named));
    script(p, ctx); /* calls may start in init: their answers wait until it returns */
    return 0;
}

static int ping_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    ping *p = state;
    sky_service_stat st;
    /* Answers to calls never come here: they go to the call's callback. */
    if (m->kind != SKY_TIMER || m->session != KILL_POLL) return 0;
    if (sky_service_stat_get(sky_ctx_node(ctx), p->victim, &st) == 0 && sky_timeout(ctx, 1, KILL_POLL) == 0)
        return 0; /* still there: look again */
    say("pong %llu is gone", SERIAL(p->victim));
    if (--p->waiting == 0) script(p, ctx);
    return 0;
}

static void *ping_create(void) { return sky_calloc(1, sizeof(ping)); }
static void ping_release(void *state) { sky_free(state); }

const sky_module sky_module_ping = {"ping", ping_create, ping_init, ping_handle, ping_release};
