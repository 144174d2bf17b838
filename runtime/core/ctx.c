/* What a running service can do: the public sky_ctx API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/call.h"
#include "core/ctx.h"
#include "core/deliver.h"
#include "core/handle.h"
#include "core/node.h"
#include "core/status.h"
#include "sky/alloc.h"

/* Stamps the source and delivers; the payload is always consumed. */
static int post(sky__service *s, sky_addr_t to, sky__mail *m)
{
    m->source = sky__self(s);
    SKY__BUMP(s->sent);
    return sky__deliver(s->node, to, m);
}

/* Answers never fail for the answerer: a caller that is gone (or whose
 * node stopped) just does not get it. */
static int post_answer(sky__service *s, sky_addr_t to, sky__mail *m)
{
    (void)post(s, to, m);
    return 0;
}

/* Sends the error reply st from s to `to` for `session`. */
static int post_status(sky__service *s, sky_addr_t to, uint32_t session, const sky__status *st)
{
    size_t size;
    void *data = sky__status_encode_full(st, &size);
    sky__mail m;
    sky__mail_own(&m, SKY_ERROR, 0, data, size);
    m.session = session;
    return post_answer(s, to, &m);
}

int sky__post_error(sky__service *s, sky_addr_t to, uint32_t session, int code, const char *text)
{
    sky__status st = {.code = code, .text = text, .textlen = text ? strlen(text) : 0};
    return post_status(s, to, session, &st);
}

int sky__reply_status(const sky_msg *reply)
{
    sky__status st;
    if (sky__status_decode(reply->data, reply->size, &st) != 0 || st.code >= 0) return SKY_EFAIL;
    return st.code;
}

/* ---- identity, spawn, exit --------------------------------------------- */

sky_addr_t sky_self(sky_ctx *ctx) { return sky__self(sky__svc(ctx)); }

sky_addr_t sky_parent(sky_ctx *ctx) { return sky__svc(ctx)->parent; }

sky_node *sky_ctx_node(sky_ctx *ctx) { return sky__svc(ctx)->node; }

const sky_module *sky__spawn_module(sky__service *s, const char *module)
{
    char err[512];
    const sky_module *mod = sky__node_module(s->node, module, err, sizeof err);
    if (!mod) sky__log(s->node, sky__self(s), SKY_LOG_WARN, "spawn: %s", err);
    return mod;
}

int sky_spawn(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out)
{
    sky__service *s = sky__svc(ctx);
    const sky_module *mod = sky__spawn_module(s, module);
    if (!mod) return SKY_ENOENT;
    return sky__service_spawn(s->node, mod, NULL, args, sky__self(s), out);
}

void sky_exit(sky_ctx *ctx) { sky_exit_with(ctx, SKY_REASON_NORMAL, NULL); }

int sky_kill(sky_ctx *ctx, sky_addr_t who) { return sky_kill_with(ctx, who, SKY_REASON_KILLED, NULL); }

void sky_shutdown(sky_ctx *ctx) { sky_node_shutdown(sky__svc(ctx)->node); }

/* ---- names ------------------------------------------------------------- */

/* The last name sky_register refused on this thread, and to whom: a spawn
 * whose init then fails with SKY_EEXIST names it (sky__spawn_error). */
static _Thread_local struct {
    sky_addr_t who;
    char name[64];
} refused;

int sky_register(sky_ctx *ctx, const char *name)
{
    sky__service *s = sky__svc(ctx);
    char local[64];
    const char *at = name ? strchr(name, '@') : NULL;
    if (at) { /* "name@this-node" is "name"; another node's name is not ours to take */
        size_t len = (size_t)(at - name);
        if (strcmp(at + 1, sky__node_config(s->node)->node_name) != 0 || len == 0 || len >= sizeof local)
            return SKY_EINVAL;
        memcpy(local, name, len);
        local[len] = '\0';
        name = local;
    }
    s->named = 1;
    int rc = sky__handles_register(sky__node_handles(s->node), name, sky__self(s));
    if (rc == SKY_EEXIST) {
        refused.who = sky__self(s);
        snprintf(refused.name, sizeof refused.name, "%s", name);
    }
    return rc;
}

const char *sky__refused_name(sky_addr_t who)
{
    return who != SKY_ADDR_NONE && refused.who == who ? refused.name : NULL;
}

sky_addr_t sky_whereis(sky_ctx *ctx, const char *name)
{
    return sky__node_whereis(sky__svc(ctx)->node, name, NULL);
}

/* ---- sending ----------------------------------------------------------- */

int sky__mail_from_send(sky__mail *m, sky_msg *msg)
{
    int kind = msg->kind ? msg->kind : SKY_ONEWAY;
    if ((kind != SKY_ONEWAY && kind != SKY_TEXT) || msg->size > UINT32_MAX) {
        free(msg->data);
        return SKY_EINVAL;
    }
    sky__mail_own(m, kind, msg->type_id, msg->data, msg->size);
    return 0;
}

int sky_send(sky_ctx *ctx, sky_addr_t to, sky_msg *msg)
{
    sky__mail m;
    int rc = sky__mail_from_send(&m, msg);
    return rc < 0 ? rc : post(sky__svc(ctx), to, &m);
}

int sky_send_copy(sky_ctx *ctx, sky_addr_t to, uint32_t type_id, const void *data, size_t size)
{
    if (size > UINT32_MAX) return SKY_EINVAL;
    sky__mail m;
    sky__mail_copy(&m, SKY_ONEWAY, type_id, data, size);
    return post(sky__svc(ctx), to, &m);
}

/* ---- calls ------------------------------------------------------------- */

int sky_call(sky_ctx *ctx, sky_addr_t to, sky_msg *req, int timeout_ms, sky_reply_fn *cb, void *ud)
{
    sky__service *s = sky__svc(ctx);
    if (!cb || req->size > UINT32_MAX) {
        free(req->data);
        return SKY_EINVAL;
    }
    uint32_t session;
    do { /* skip 0 and, after a wrap, sessions still waiting */
        session = ++s->next_session;
    } while (session == 0 || sky__calls_has(s, session));
    if (timeout_ms <= 0) timeout_ms = sky__node_config(s->node)->call_timeout_ms;
    sky__node_note_timeout(s->node, timeout_ms);
    uint64_t deadline = sky__node_now_ms(s->node) + (uint64_t)timeout_ms;
    /* record first: the answer may be handled on another worker before
     * sky__deliver even returns here */
    sky__calls_add(s, session, deadline, cb, ud);
    sky__mail m;
    sky__mail_own(&m, SKY_REQUEST, req->type_id, req->data, req->size);
    m.session = session;
    int rc = post(s, to, &m);
    sky__pending gone;
    if (rc < 0) sky__calls_take(s, session, &gone);
    return rc;
}

/* ---- replying ---------------------------------------------------------- */

static void mark_answered(sky__service *s, const sky_msg *req)
{
    if (s->cur && s->cur->kind == SKY_REQUEST && s->cur->session == req->session && s->cur->source == req->source)
        s->answered = 1;
}

static int answer(sky__service *s, sky_addr_t to, uint32_t session, sky_msg *resp)
{
    if (resp->size > UINT32_MAX) {
        free(resp->data);
        return SKY_EINVAL;
    }
    sky__mail m;
    sky__mail_own(&m, SKY_RESPONSE, resp->type_id, resp->data, resp->size);
    m.session = session;
    return post_answer(s, to, &m);
}

int sky_reply(sky_ctx *ctx, const sky_msg *req, sky_msg *resp)
{
    sky__service *s = sky__svc(ctx);
    if (req->kind != SKY_REQUEST) {
        free(resp->data);
        return SKY_EINVAL;
    }
    mark_answered(s, req);
    return answer(s, req->source, req->session, resp);
}

int sky_reply_copy(sky_ctx *ctx, const sky_msg *req, uint32_t type_id, const void *data, size_t size)
{
    void *copy = NULL;
    if (size) copy = memcpy(sky_malloc(size), data, size);
    sky_msg resp = {.type_id = type_id, .size = size, .data = copy};
    return sky_reply(ctx, req, &resp);
}

int sky_reply_error(sky_ctx *ctx, const sky_msg *req, int code, const char *text)
{
    sky__service *s = sky__svc(ctx);
    if (req->kind != SKY_REQUEST || code >= 0) return SKY_EINVAL;
    mark_answered(s, req);
    return sky__post_error(s, req->source, req->session, code, text ? text : sky_strerror(code));
}

/* The Status of an application error, or SKY_EINVAL for a bad app_code
 * or details without a size. */
static int app_status(sky__status *st, const char *app_code, const char *text, const void *details, size_t size)
{
    if (!app_code || !sky__status_app_code_ok(app_code, strlen(app_code)) || (size && !details)) return SKY_EINVAL;
    *st = (sky__status){SKY_EAPP, text ? text : "", text ? strlen(text) : 0, app_code, strlen(app_code),
                        details, size};
    return 0;
}

int sky_reply_app_error(sky_ctx *ctx, const sky_msg *req, const char *app_code, const char *text,
                        const void *details, size_t size)
{
    sky__service *s = sky__svc(ctx);
    sky__status st;
    if (req->kind != SKY_REQUEST || app_status(&st, app_code, text, details, size) < 0) return SKY_EINVAL;
    mark_answered(s, req);
    return post_status(s, req->source, req->session, &st);
}

sky_token sky_defer(sky_ctx *ctx, const sky_msg *req)
{
    sky__service *s = sky__svc(ctx);
    sky_token tok = {req->source, req->session};
    if (req->kind != SKY_REQUEST) return (sky_token){0, 0};
    mark_answered(s, req);
    if (s->ndeferred == s->capdeferred) {
        s->capdeferred = s->capdeferred ? s->capdeferred * 2 : 4;
        s->deferred = sky_realloc(s->deferred, s->capdeferred * sizeof *s->deferred);
    }
    s->deferred[s->ndeferred++] = tok;
    return tok;
}

/* Removes tok from the deferred list; 0 if it was there. */
static int undefer(sky__service *s, sky_token tok)
{
    for (uint32_t i = 0; i < s->ndeferred; i++) {
        if (s->deferred[i].to == tok.to && s->deferred[i].session == tok.session) {
            s->deferred[i] = s->deferred[--s->ndeferred];
            return 0;
        }
    }
    return SKY_EINVAL;
}

int sky_respond(sky_ctx *ctx, sky_token tok, sky_msg *resp)
{
    sky__service *s = sky__svc(ctx);
    if (undefer(s, tok) != 0) {
        free(resp->data);
        return SKY_EINVAL;
    }
    return answer(s, tok.to, tok.session, resp);
}

int sky_respond_error(sky_ctx *ctx, sky_token tok, int code, const char *text)
{
    sky__service *s = sky__svc(ctx);
    if (code >= 0 || undefer(s, tok) != 0) return SKY_EINVAL;
    return sky__post_error(s, tok.to, tok.session, code, text ? text : sky_strerror(code));
}

int sky_respond_app_error(sky_ctx *ctx, sky_token tok, const char *app_code, const char *text, const void *details,
                          size_t size)
{
    sky__service *s = sky__svc(ctx);
    sky__status st;
    if (app_status(&st, app_code, text, details, size) < 0 || undefer(s, tok) != 0) return SKY_EINVAL;
    return post_status(s, tok.to, tok.session, &st);
}

/* Decodes the Status of an error reply; 0, or -1 if reply is none. */
static int reply_status(const sky_msg *reply, sky__status *st)
{
    if (!reply || reply->kind != SKY_ERROR) return -1;
    return sky__status_decode(reply->data, reply->size, st);
}

/* Copies n bytes at s into buf as a string, cut to fit. */
static const char *copy_out(char *buf, size_t bufsize, const char *s, size_t n)
{
    if (n >= bufsize) n = bufsize - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

const char *sky_error_text(const sky_msg *reply, int code, char *buf, size_t bufsize)
{
    sky__status st;
    if (!bufsize) return "";
    if (reply_status(reply, &st) == 0 && st.textlen > 0) return copy_out(buf, bufsize, st.text, st.textlen);
    snprintf(buf, bufsize, "%s", sky_strerror(code));
    return buf;
}

const char *sky_error_app_code(const sky_msg *reply, char *buf, size_t bufsize)
{
    sky__status st;
    if (!bufsize) return "";
    if (reply_status(reply, &st) != 0 || st.code != SKY_EAPP) return copy_out(buf, bufsize, "", 0);
    return copy_out(buf, bufsize, st.app_code, st.app_codelen);
}

const void *sky_error_details(const sky_msg *reply, size_t *size)
{
    sky__status st;
    *size = 0;
    if (reply_status(reply, &st) != 0 || st.detailslen == 0) return NULL;
    *size = st.detailslen;
    return st.details;
}

void *sky_take_data(sky_ctx *ctx, const sky_msg *msg)
{
    sky__service *s = sky__svc(ctx);
    if (!s->cur || msg->data != sky__mail_data(s->cur)) return NULL;
    return sky__mail_take(s->cur);
}

/* ---- timers, mailbox --------------------------------------------------- */

int sky_timeout(sky_ctx *ctx, int ms, uint32_t session)
{
    sky__service *s = sky__svc(ctx);
    return sky__node_hooks(s->node)->timeout(s->node, sky__self(s), ms > 0 ? (uint64_t)ms : 0, SKY_TIMER, session);
}

uint64_t sky_now(sky_ctx *ctx) { return sky__node_now_ms(sky__svc(ctx)->node); }

void sky_set_mailbox_limit(sky_ctx *ctx, size_t limit)
{
    sky__service *s = sky__svc(ctx);
    if (limit == 0) limit = sky__node_config(s->node)->mailbox_limit;
    sky__mailbox_set_limit(&s->mb, limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit);
}
