/* Service lifecycle: the pool, references, spawn, delivery, one turn of
 * message handling, and death. The API a handler calls is in ctx.c. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/call.h"
#include "core/ctx.h"
#include "core/deliver.h"
#include "core/handle.h"
#include "core/link.h"
#include "core/node.h"
#include "core/overrun.h"
#include "core/sched.h"
#include "core/service.h"
#include "sky/alloc.h"

#define TURN_MAX 64 /* mail taken from the mailbox at once */
#define CHUNK 64    /* services allocated together */

/* ---- the pool ---------------------------------------------------------- */

struct sky__pool {
    pthread_mutex_t mu;
    sky__service *free;
    void **chunks;
    size_t nchunks, capchunks;
};

sky__pool *sky__pool_new(void)
{
    sky__pool *p = sky_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

void sky__pool_free(sky__pool *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nchunks; i++) sky_free(p->chunks[i]);
    sky_free(p->chunks);
    pthread_mutex_destroy(&p->mu);
    sky_free(p);
}

static sky__service *pool_get(sky__pool *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->free) {
        sky__service *chunk = aligned_alloc(_Alignof(sky__service), CHUNK * sizeof *chunk);
        if (!chunk) chunk = sky_malloc(SIZE_MAX); /* reports the failure and aborts */
        memset(chunk, 0, CHUNK * sizeof *chunk);
        if (p->nchunks == p->capchunks) {
            p->capchunks = p->capchunks ? p->capchunks * 2 : 16;
            p->chunks = sky_realloc(p->chunks, p->capchunks * sizeof *p->chunks);
        }
        p->chunks[p->nchunks++] = chunk;
        for (int i = CHUNK - 1; i >= 0; i--) {
            chunk[i].pool_next = p->free;
            p->free = &chunk[i];
        }
    }
    sky__service *s = p->free;
    p->free = s->pool_next;
    pthread_mutex_unlock(&p->mu);
    /* `ref` and `addr` may be read right now by a stale lookup: they are
     * atomics and are left alone; everything after them is ours. */
    memset(&s->mb, 0, sizeof *s - offsetof(sky__service, mb));
    return s;
}

static void pool_put(sky__pool *p, sky__service *s)
{
    pthread_mutex_lock(&p->mu);
    s->pool_next = p->free;
    p->free = s;
    pthread_mutex_unlock(&p->mu);
}

/* ---- references -------------------------------------------------------- */

int sky__service_tryref(sky__service *s, sky_addr_t a)
{
    int r = atomic_load_explicit(&s->ref, memory_order_relaxed);
    do {
        if (r <= 0) return 0;
    } while (!atomic_compare_exchange_weak_explicit(&s->ref, &r, r + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    if (atomic_load_explicit(&s->addr, memory_order_acquire) != a) {
        sky__service_unref(s); /* recycled for someone else meanwhile */
        return 0;
    }
    return 1;
}

void sky__service_unref(sky__service *s)
{
    if (atomic_fetch_sub_explicit(&s->ref, 1, memory_order_acq_rel) != 1) return;
    /* A lookup that read this slot long ago may still try us: with the
     * address cleared it cannot match once the memory serves a new
     * service, even in the moment before that one gets its address. */
    atomic_store_explicit(&s->addr, SKY_ADDR_NONE, memory_order_release);
    sky__mailbox_deinit(&s->mb);
    sky__calls_free(s);
    if (s->typed) sky__node_hooks(s->node)->typed_free(s);
    sky__link_free(s);
    sky_free(s->deferred);
    pool_put(sky__node_pool(s->node), s);
}

/* ---- delivery ---------------------------------------------------------- */

static int bounded(int kind) { return kind == SKY_REQUEST || kind == SKY_ONEWAY || kind == SKY_TEXT; }

/* Whether an overload warning at `len` is worth a line: a queue longer
 * than the last warned, or the first in a second. A queue that drains and
 * fills again and again (a flood held back by the gate) re-arms the
 * mailbox's warnings each time; the same lines over and over say nothing
 * new. Racing pushers may both log: harmless. */
static int overload_news(sky__service *s, uint32_t len)
{
    uint64_t now = sky__node_now_ms(s->node);
    uint64_t last = atomic_load_explicit(&s->warned_ms, memory_order_relaxed);
    unsigned top = atomic_load_explicit(&s->warned_len, memory_order_relaxed);
    if (len <= top && last && now - last < 1000) return 0;
    atomic_store_explicit(&s->warned_ms, now ? now : 1, memory_order_relaxed);
    atomic_store_explicit(&s->warned_len, len, memory_order_relaxed);
    return 1;
}

void sky__service_pushed(sky__service *s, sky_addr_t to, int r, uint32_t len, int own)
{
    sky_node *node = s->node;
    sky__sched *sched = sky__node_sched(node);
    if ((r & SKY__PUSH_WARN) && to != sky__node_logger(node) && overload_news(s, len))
        sky__log(node, SKY_ADDR_NONE, SKY_LOG_WARN, "service %04x:%08llx mailbox overloaded: %u messages queued",
                 SKY_ADDR_NODE(to), (unsigned long long)SKY_ADDR_SERIAL(to), len);
    if (r & SKY__PUSH_SCHEDULE) {
        if (!own) sky__service_ref(s);
        sky__sched_push(sched, s); /* the reference goes with it */
    } else if (own) {
        sky__sched_cache_put(sched, to, s); /* busy: likely to get more */
    }
}

/* keep: a refusal for a full mailbox (SKY_EBUSY) leaves m to the caller,
 * uncounted */
static int deliver(sky_node *node, sky_addr_t to, sky__mail *m, int keep)
{
    sky__sched *sched = sky__node_sched(node);
    int r, own = 0;
    uint32_t len = 0;
    /* a busy receiver this worker sent to before: no reference round trip,
     * and ordinary mail goes through the outbox, one lock per batch */
    sky__service *s = sky__sched_cache_get(sched, to);
    if (s && bounded(m->kind)) {
        r = sky__sched_outbox_put(sched, s, to, m);
        if (r == 0) return 0;
    } else {
        if (!s) {
            if (!(s = sky__handles_get(sky__node_handles(node), to))) {
                sky__mail_free(m);
                return SKY_ENOSVC;
            }
            own = 1;
        }
        sky__sched_outbox_sync(sched, s); /* what this sender buffered goes first */
        int kill = m->kind == SKY__KILL;
        r = sky__mailbox_push(&s->mb, m, bounded(m->kind), &len);
        if (r >= 0) {
            /* seen by a handler that runs long (a Lua one stops): set
             * before the wake-up, after the kill is queued for certain */
            if (kill) atomic_store_explicit(&s->killing, 1, memory_order_release);
            sky__service_pushed(s, to, r, len, own);
            return 0;
        }
    }
    if (r == SKY_EBUSY && keep) {
        if (own) sky__service_unref(s);
        return r;
    }
    if (r == SKY_EBUSY) {
        /* bumped by senders on any thread, not by the owner: a real
         * atomic add, or concurrent refusals are lost */
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
        sky__node_count(node, SKY__C_DROPPED, 1);
    }
    if (own) {
        sky__service_unref(s);
    } else if (r == SKY_ENOSVC) {
        sky__sched_cache_forget(sched, to);
    }
    sky__mail_free(m);
    return r;
}

int sky__deliver(sky_node *node, sky_addr_t to, sky__mail *m)
{
    if (SKY_ADDR_NODE(to) != sky__node_id(node) && to != SKY_ADDR_NONE)
        return sky__node_hooks(node)->remote(node, to, m);
    return deliver(node, to, m, 0);
}

int sky__deliver_local_or_keep(sky_node *node, sky_addr_t to, sky__mail *m)
{
    if (SKY_ADDR_NODE(to) != sky__node_id(node) || to == SKY_ADDR_NONE) {
        sky__mail_free(m);
        return SKY_ENOSVC;
    }
    return deliver(node, to, m, 1);
}

int sky__deliver_event(sky_node *node, sky_addr_t to, int kind, uint32_t session)
{
    sky__mail m;
    sky__mail_copy(&m, kind, 0, NULL, 0);
    m.session = session;
    return sky__deliver(node, to, &m);
}

/* ---- spawn ------------------------------------------------------------- */

/* Why the last spawn on this thread failed in its service's init, for the
 * spawner's message: init runs on the spawner's thread. */
static _Thread_local char spawn_why[512];

const char *sky__spawn_error(int rc) { return spawn_why[0] ? spawn_why : sky_strerror(rc); }

/* The init of s failed with rc: keeps the reason it gave (sky_exit_with),
 * else the name a refused sky_register asked for if rc says so, else none.
 * Written after init returns, so a spawn inside that init does not leave
 * its own reason behind. */
static void note_failure(sky__service *s, int rc)
{
    const char *name = rc == SKY_EEXIST ? sky__refused_name(sky__self(s)) : NULL;
    if (s->has_reason && s->exit_text)
        snprintf(spawn_why, sizeof spawn_why, "%s", s->exit_text);
    else if (name)
        snprintf(spawn_why, sizeof spawn_why, "the name '%s' is taken", name);
    else
        spawn_why[0] = '\0';
}

/* `watched`: linked to `parent` (ref 0) or monitored by it (ref). `on_down`
 * (NULL: none) is set before init too. */
static int spawn(sky_node *node, const sky_module *mod, void *state, const char *args, sky_addr_t parent,
                 int watched, uint32_t ref, sky_down_fn on_down, void *ud, sky_addr_t *out)
{
    const sky_config *cfg = sky__node_config(node);
    spawn_why[0] = '\0';
    if (sky__node_stopping(node)) {
        if (state && mod->release) mod->release(state);
        return SKY_ESTOPPED;
    }
    sky__service *s = pool_get(sky__node_pool(node));
    s->node = node;
    s->mod = mod;
    s->parent = parent;
    sky__mailbox_init(&s->mb, (uint32_t)cfg->mailbox_limit, (uint32_t)cfg->overload_warn);
    /* held as if scheduled: mail sent during init waits until init ends */
    s->mb.scheduled = 1;
    s->state = state ? state : mod->create ? mod->create() : NULL;
    atomic_store_explicit(&s->ref, 1, memory_order_release); /* the table's */
    sky_addr_t addr;
    int rc = sky__handles_add(sky__node_handles(node), s, &addr);
    if (rc < 0) {
        if (mod->release) mod->release(s->state);
        s->dead = 1;
        sky__service_unref(s);
        return rc;
    }
    sky__node_count(node, SKY__C_SPAWNED, 1);
    sky__node_count(node, SKY__C_SERVICES, 1);
    if (watched) sky__link_preset(s, parent, ref);
    s->on_down = on_down;
    s->on_down_ud = ud;
    sky__service_ref(s); /* keep s while init runs, whatever it does */
    rc = mod->init ? mod->init(s->state, sky__ctx(s), args ? args : "") : 0;
    if (rc != 0) {
        note_failure(s, rc);
        s->on_down = NULL; /* no service: nothing to be told */
    }
    if (rc != 0 && !s->has_reason) {
        char text[96];
        snprintf(text, sizeof text, "init failed: %s", sky_strerror(rc > 0 ? SKY_EFAIL : rc));
        sky_exit_with(sky__ctx(s), SKY_REASON_ERROR, text);
    }
    if (rc != 0 || s->exiting) {
        sky__service_die(s, SKY_EEXIT);
        sky__service_unref(s);
        if (rc > 0) rc = SKY_EFAIL;
        if (rc == 0 && out) *out = addr;
        return rc;
    }
    if (sky__mailbox_done(&s->mb)) {
        sky__sched_push(sky__node_sched(node), s);
    } else {
        sky__service_unref(s);
    }
    if (out) *out = addr;
    return 0;
}

int sky__service_spawn(sky_node *node, const sky_module *mod, void *state, const char *args, sky_addr_t parent,
                       sky_addr_t *out)
{
    return spawn(node, mod, state, args, parent, 0, 0, NULL, NULL, out);
}

int sky__service_spawn_watched(sky_node *node, const sky_module *mod, const char *args, sky_addr_t parent,
                               uint32_t ref, sky_addr_t *out)
{
    return spawn(node, mod, NULL, args, parent, 1, ref, NULL, NULL, out);
}

int sky__service_spawn_observed(sky_node *node, const sky_module *mod, const char *args, sky_down_fn on_down,
                                void *ud, sky_addr_t *out)
{
    return spawn(node, mod, NULL, args, SKY_ADDR_NONE, 0, 0, on_down, ud, out);
}

/* ---- handling ---------------------------------------------------------- */

void sky__service_bounce(sky__service *s, sky__mail *m, int code)
{
    if (m->kind == SKY_REQUEST && m->source)
        sky__post_error(s, m->source, m->session, code, sky_strerror(code));
    else if (sky__is_signal(m->kind))
        sky__link_bounced(s, m);
    sky__mail_free(m);
}

static sky_msg view(sky__service *s, sky__mail *m)
{
    sky_msg msg = {m->source, sky__self(s), m->session, m->type_id,
                   m->kind, m->size, sky__mail_data(m)};
    return msg;
}

static void on_reply(sky__service *s, sky__mail *m)
{
    sky__pending p;
    if (!sky__calls_take(s, m->session, &p)) {
        sky__node_count(s->node, SKY__C_LATE, 1);
        return;
    }
    int status = 0;
    if (m->kind == SKY_ERROR) {
        sky_msg e = view(s, m);
        status = sky__reply_status(&e);
    }
    sky_msg msg = view(s, m);
    s->cur = m;
    p.cb(sky__ctx(s), status, &msg, p.ud);
    s->cur = NULL;
}

/* Mail for the service: a method it serves (schema/typed.c, through the
 * typed_handle hook), else the module's handle; a module without one
 * answers requests SKY_ENOTSUP. */
static void on_message(sky__service *s, sky__mail *m)
{
    sky_msg msg = view(s, m);
    s->cur = m;
    s->answered = 0;
    int rc = 0;
    int typed = s->typed && (m->kind == SKY_REQUEST || m->kind == SKY_ONEWAY) &&
                sky__node_hooks(s->node)->typed_handle(s, &msg, &rc);
    if (!typed && s->mod->handle) {
        rc = s->mod->handle(s->state, sky__ctx(s), &msg);
    } else if (!typed && m->kind == SKY_REQUEST) {
        rc = SKY_ENOTSUP;
    }
    s->cur = NULL;
    if (rc == SKY_EBADMSG) SKY__BUMP(s->bad);
    if (rc < 0) {
        SKY__BUMP(s->errors);
        sky__log(s->node, msg.dest, SKY_LOG_WARN, "handler failed on a %s (type %08x): %s", sky_kind_name(m->kind),
                 m->type_id, sky_strerror(rc));
    }
    if (m->kind == SKY_REQUEST && !s->answered && m->source)
        sky__post_error(s, m->source, m->session, rc < 0 ? rc : SKY_ENOREPLY,
                        sky_strerror(rc < 0 ? rc : SKY_ENOREPLY));
}

static void dispatch(sky__service *s, sky__mail *m)
{
    switch (m->kind) {
    case SKY__KILL:
    case SKY__LINK:
    case SKY__UNLINK:
    case SKY__MONITOR:
    case SKY__DEMONITOR:
    case SKY__EXITSIG:
    case SKY__DOWNSIG:
    case SKY__EXITTO:
        sky__link_signal(s, m, on_message);
        break;
    case SKY__DEADLINE:
        sky__calls_expire(s);
        break;
    case SKY_RESPONSE:
    case SKY_ERROR:
        on_reply(s, m);
        break;
    case SKY_SOCKET: {
        uint32_t size = m->size; /* before the handler takes the data */
        on_message(s, m);
        sky__node_hooks(s->node)->socket_handled(s->node, m->type_id, m->session, size);
        break;
    }
    default:
        on_message(s, m);
        break;
    }
    SKY__BUMP(s->received);
    sky__mail_free(m);
}

/* A kill arrived while s handled mail taken earlier in this turn: the
 * signals queued since then go ahead of the rest of that mail. */
static uint32_t signals_now(sky__service *s)
{
    sky__mail sig[16];
    uint32_t done = 0, n;
    while (!s->dead && (n = sky__mailbox_take_signals(&s->mb, sig, 16)) > 0) {
        for (uint32_t i = 0; i < n; i++) {
            if (s->dead) {
                sky__service_bounce(s, &sig[i], SKY_EEXIT);
                continue;
            }
            dispatch(s, &sig[i]);
            if (s->exiting) sky__service_die(s, SKY_EEXIT);
        }
        done += n;
    }
    return done;
}

int sky__service_run(sky__service *s, uint32_t batch, uint64_t *handled, sky__busy *busy)
{
    sky__mail turn[TURN_MAX];
    uint32_t todo = batch, done = 0;
    sky__busy_enter(busy, sky__self(s));
    while (todo > 0 && !s->dead) {
        uint32_t n = sky__mailbox_take(&s->mb, turn, todo < TURN_MAX ? todo : TURN_MAX);
        if (n == 0) break;
        for (uint32_t i = 0; i < n; i++) {
            if (s->dead) {
                sky__service_bounce(s, &turn[i], SKY_EEXIT);
                continue;
            }
            sky__busy_next(busy);
            dispatch(s, &turn[i]);
            if (s->exiting) sky__service_die(s, SKY_EEXIT);
            else if (i + 1 < n && sky__service_killing(s)) done += signals_now(s);
        }
        todo -= n;
        done += n;
    }
    sky__busy_leave(busy);
    *handled += done;
    return s->dead ? 0 : sky__mailbox_done(&s->mb);
}

void sky__service_tag(sky_ctx *ctx, const char *tag)
{
    snprintf(sky__svc(ctx)->tag, sizeof sky__svc(ctx)->tag, "%s", tag);
}

/* ---- death ------------------------------------------------------------- */

void sky__service_die(sky__service *s, int code)
{
    if (s->dead) return;
    s->dead = s->exiting = 1;
    sky_addr_t self = sky__self(s);
    sky__service *table_ref = sky__handles_remove(sky__node_handles(s->node), self);
    sky__mail *left;
    uint32_t n;
    sky__mailbox_close(&s->mb, &left, &n);
    for (uint32_t i = 0; i < n; i++) sky__service_bounce(s, &left[i], code);
    sky_free(left);
    for (uint32_t i = 0; i < s->ndeferred; i++)
        sky__post_error(s, s->deferred[i].to, s->deferred[i].session, code, sky_strerror(code));
    s->ndeferred = 0;
    /* its name is gone already: a watcher may register it again */
    if (!s->has_reason && code == SKY_ESTOPPED) sky_exit_with(sky__ctx(s), SKY_REASON_SHUTDOWN, NULL);
    if (s->on_down && !sky__node_stopping(s->node))
        s->on_down(s->on_down_ud, self, s->has_reason ? s->exit_reason : SKY_REASON_NORMAL, s->exit_text);
    s->on_down = NULL;
    sky__link_died(s);
    if (s->sockets) sky__node_hooks(s->node)->socket_owner_exit(s->node, self);
    if (s->mod->release) s->mod->release(s->state);
    s->state = NULL;
    sky__calls_free(s);
    if (s->typed) sky__node_hooks(s->node)->typed_free(s);
    sky__node_count(s->node, SKY__C_SERVICES, -1);
    if (table_ref) sky__service_unref(table_ref);
}
