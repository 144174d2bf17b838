/* Links, monitors and exit signals: see link.h. */
#include "core/link.h"
#include <stdlib.h>
#include <string.h>
#include "core/ctx.h"
#include "core/deliver.h"
#include "core/node.h"
#include "sky/alloc.h"

/* Sends signal `kind` from `source` to `to`, with reason and text. */
static int signal_to(sky__service *s, sky_addr_t to, sky_addr_t source, int kind, uint32_t session, int reason,
                     const char *text)
{
    sky__mail m;
    sky__mail_copy(&m, kind, (uint32_t)reason, text, text ? strlen(text) : 0);
    m.source = source;
    m.session = session;
    return sky__deliver(s->node, to, &m);
}

/* ---- the records ------------------------------------------------------- */

static int find_link(const sky__service *s, sky_addr_t peer)
{
    for (uint32_t i = 0; i < s->nlinks; i++)
        if (s->links[i] == peer) return (int)i;
    return -1;
}

static void add_link(sky__service *s, sky_addr_t peer)
{
    if (find_link(s, peer) >= 0) return;
    if (s->nlinks == s->caplinks) {
        s->caplinks = s->caplinks ? s->caplinks * 2 : 4;
        s->links = sky_realloc(s->links, s->caplinks * sizeof *s->links);
    }
    s->links[s->nlinks++] = peer;
}

/* 1 if peer was linked (and is not any more). */
static int drop_link(sky__service *s, sky_addr_t peer)
{
    int i = find_link(s, peer);
    if (i < 0) return 0;
    s->links[i] = s->links[--s->nlinks];
    return 1;
}

static void add_watch(struct sky__watch **v, uint32_t *n, uint32_t *cap, sky_addr_t who, uint32_t ref)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *v = sky_realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = (struct sky__watch){who, ref};
}

/* Removes the entry with ref (and who, unless SKY_ADDR_NONE); stores its
 * address in *who_out. 1 if there was one. */
static int drop_watch(struct sky__watch *v, uint32_t *n, sky_addr_t who, uint32_t ref, sky_addr_t *who_out)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (v[i].ref == ref && (who == SKY_ADDR_NONE || v[i].who == who)) {
            if (who_out) *who_out = v[i].who;
            v[i] = v[--*n];
            return 1;
        }
    }
    return 0;
}

void sky__link_free(sky__service *s)
{
    sky_free(s->links);
    sky_free(s->watchers);
    sky_free(s->monitors);
    sky_free(s->exit_text);
    s->links = NULL;
    s->watchers = s->monitors = NULL;
    s->exit_text = NULL;
    s->nlinks = s->caplinks = s->nwatchers = s->capwatchers = s->nmonitors = s->capmonitors = 0;
}

void sky__link_preset(sky__service *s, sky_addr_t parent, uint32_t ref)
{
    if (ref) add_watch(&s->watchers, &s->nwatchers, &s->capwatchers, parent, ref);
    else add_link(s, parent);
}

/* ---- signals arriving -------------------------------------------------- */

static void set_reason(sky__service *s, int reason, const char *text, size_t len)
{
    sky_free(s->exit_text);
    s->exit_text = NULL;
    if (text && len) {
        s->exit_text = sky_malloc(len + 1);
        memcpy(s->exit_text, text, len);
        s->exit_text[len] = '\0';
    }
    s->exit_reason = reason;
    s->has_reason = 1;
}

void sky__link_signal(sky__service *s, sky__mail *m, void (*deliver)(sky__service *, sky__mail *))
{
    switch (m->kind) {
    case SKY__KILL:
        set_reason(s, (int)m->type_id, sky__mail_data(m), m->size);
        s->exiting = 1;
        break;
    case SKY__LINK:
        add_link(s, m->source);
        break;
    case SKY__UNLINK:
        drop_link(s, m->source);
        break;
    case SKY__MONITOR:
        add_watch(&s->watchers, &s->nwatchers, &s->capwatchers, m->source, m->session);
        break;
    case SKY__DEMONITOR:
        drop_watch(s->watchers, &s->nwatchers, m->source, m->session, NULL);
        break;
    case SKY__EXITSIG:
    case SKY__EXITTO:
        if (m->kind == SKY__EXITSIG && !drop_link(s, m->source)) break; /* unlinked meanwhile */
        if (s->trap_exit) {
            m->kind = SKY_EXIT;
            deliver(s, m);
        } else if (m->type_id != SKY_REASON_NORMAL) {
            set_reason(s, (int)m->type_id, sky__mail_data(m), m->size);
            s->exiting = 1;
        }
        break;
    case SKY__DOWNSIG:
        if (!drop_watch(s->monitors, &s->nmonitors, m->source, m->session, NULL)) break; /* demonitored */
        m->kind = SKY_DOWN;
        deliver(s, m);
        break;
    default:
        break;
    }
}

void sky__link_bounced(sky__service *s, const sky__mail *m)
{
    if (m->kind == SKY__LINK)
        (void)signal_to(s, m->source, sky__self(s), SKY__EXITSIG, 0, SKY_REASON_NOPROC, NULL);
    else if (m->kind == SKY__MONITOR)
        (void)signal_to(s, m->source, sky__self(s), SKY__DOWNSIG, m->session, SKY_REASON_NOPROC, NULL);
}

void sky__link_died(sky__service *s)
{
    sky_addr_t self = sky__self(s);
    int reason = s->has_reason ? s->exit_reason : SKY_REASON_NORMAL;
    for (uint32_t i = 0; i < s->nlinks; i++)
        (void)signal_to(s, s->links[i], self, SKY__EXITSIG, 0, reason, s->exit_text);
    for (uint32_t i = 0; i < s->nwatchers; i++)
        (void)signal_to(s, s->watchers[i].who, self, SKY__DOWNSIG, s->watchers[i].ref, reason, s->exit_text);
    /* the other halves: the peers drop theirs when the signals come */
    for (uint32_t i = 0; i < s->nmonitors; i++)
        (void)signal_to(s, s->monitors[i].who, self, SKY__DEMONITOR, s->monitors[i].ref, 0, NULL);
    sky__link_free(s);
}

/* ---- the public API ---------------------------------------------------- */

void sky_exit_with(sky_ctx *ctx, int reason, const char *text)
{
    sky__service *s = sky__svc(ctx);
    set_reason(s, reason, text, text ? strlen(text) : 0);
    s->exiting = 1;
}

int sky_kill_with(sky_ctx *ctx, sky_addr_t who, int reason, const char *text)
{
    sky__service *s = sky__svc(ctx);
    if (who == sky__self(s)) {
        sky_exit_with(ctx, reason, text);
        return 0;
    }
    return signal_to(s, who, sky__self(s), SKY__KILL, 0, reason, text);
}

int sky_send_exit(sky_ctx *ctx, sky_addr_t who, int reason, const char *text)
{
    sky__service *s = sky__svc(ctx);
    if (who == SKY_ADDR_NONE) return SKY_EINVAL;
    return signal_to(s, who, sky__self(s), SKY__EXITTO, 0, reason, text);
}

int sky_link(sky_ctx *ctx, sky_addr_t peer)
{
    sky__service *s = sky__svc(ctx);
    sky_addr_t self = sky__self(s);
    if (peer == SKY_ADDR_NONE) return SKY_EINVAL;
    if (peer == self || find_link(s, peer) >= 0) return 0;
    add_link(s, peer);
    if (signal_to(s, peer, self, SKY__LINK, 0, 0, NULL) < 0) /* dead already: noproc, as if it had answered */
        (void)signal_to(s, self, peer, SKY__EXITSIG, 0, SKY_REASON_NOPROC, NULL);
    return 0;
}

int sky_unlink(sky_ctx *ctx, sky_addr_t peer)
{
    sky__service *s = sky__svc(ctx);
    if (drop_link(s, peer)) (void)signal_to(s, peer, sky__self(s), SKY__UNLINK, 0, 0, NULL);
    return 0;
}

int sky_monitor(sky_ctx *ctx, sky_addr_t who, uint32_t *ref)
{
    sky__service *s = sky__svc(ctx);
    sky_addr_t self = sky__self(s);
    if (who == SKY_ADDR_NONE || !ref) return SKY_EINVAL;
    if (++s->next_ref == 0) s->next_ref = 1;
    *ref = s->next_ref;
    add_watch(&s->monitors, &s->nmonitors, &s->capmonitors, who, *ref);
    if (signal_to(s, who, self, SKY__MONITOR, *ref, 0, NULL) < 0)
        (void)signal_to(s, self, who, SKY__DOWNSIG, *ref, SKY_REASON_NOPROC, NULL);
    return 0;
}

int sky_demonitor(sky_ctx *ctx, uint32_t ref)
{
    sky__service *s = sky__svc(ctx);
    sky_addr_t who;
    if (!drop_watch(s->monitors, &s->nmonitors, SKY_ADDR_NONE, ref, &who)) return SKY_ENOENT;
    (void)signal_to(s, who, sky__self(s), SKY__DEMONITOR, ref, 0, NULL);
    return 0;
}

int sky_trap_exit(sky_ctx *ctx, int on)
{
    sky__service *s = sky__svc(ctx);
    int was = s->trap_exit;
    s->trap_exit = on != 0;
    return was;
}

static int spawn_watched(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out, uint32_t *ref)
{
    sky__service *s = sky__svc(ctx);
    const sky_module *mod = sky__spawn_module(s, module);
    if (!mod) return SKY_ENOENT;
    uint32_t r = 0;
    if (ref) {
        if (++s->next_ref == 0) s->next_ref = 1;
        r = s->next_ref;
    }
    sky_addr_t child;
    int rc = sky__service_spawn_watched(s->node, mod, args, sky__self(s), r, &child);
    if (rc < 0) return rc;
    /* our half: an exit signal the child sent meanwhile is still queued
     * behind this handler, and finds the record */
    if (ref) {
        add_watch(&s->monitors, &s->nmonitors, &s->capmonitors, child, r);
        *ref = r;
    } else {
        add_link(s, child);
    }
    if (out) *out = child;
    return 0;
}

int sky_spawn_link(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out)
{
    return spawn_watched(ctx, module, args, out, NULL);
}

int sky_spawn_monitor(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out, uint32_t *ref)
{
    if (!ref) return SKY_EINVAL;
    return spawn_watched(ctx, module, args, out, ref);
}
