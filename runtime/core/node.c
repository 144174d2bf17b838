/* The node's core: configuration, tables, counters, calls from outside,
 * waiting and shutdown. The layers above (io, schema, Lua) are created and
 * hooked in by the assembly, runtime/node.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/ctx.h"
#include "core/deliver.h"
#include "core/handle.h"
#include "core/module.h"
#include "core/node.h"
#include "core/sched.h"
#include "core/service.h"
#include "sky/alloc.h"

struct sky_node {
    sky__node_head head; /* first: see core/node.h */
    sky_config cfg;
    sky__handles *handles;
    sky__sched *sched;
    sky__pool *pool;
    sky__modules *modules;
    _Atomic sky_addr_t logger;
    atomic_int stopping;
    int started;
    pthread_mutex_t wait_mu;
    pthread_cond_t wait_cv;
    struct port *ports; /* outside callers blocked in sky_node_call (wait_mu) */
    atomic_int_fast64_t counters[SKY__C_MAX];
};

static const sky_module port_module;

static const char *dup_or(const char *s, const char *dflt) { return sky_strdup(s ? s : dflt); }

sky_node *sky__node_new(const sky_config *cfg, uint64_t first_serial)
{
    sky_node *n = sky_calloc(1, sizeof *n);
    n->head.t0_ns = sky__mono_ns();
    n->cfg = *cfg;
    n->cfg.node_name = dup_or(cfg->node_name, "sky");
    n->cfg.module_path = dup_or(cfg->module_path, "");
    n->cfg.service_path = dup_or(cfg->service_path, "");
    n->cfg.log_path = cfg->log_path ? sky_strdup(cfg->log_path) : NULL;
    /* the cluster wing keeps its own copy of the membership and secret */
    n->cfg.cluster = NULL;
    n->cfg.cluster_secret = NULL;
    n->cfg.cluster_secret_len = 0;
    n->head.node_id = cfg->node_id;
    if (n->cfg.threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n->cfg.threads = cores > 0 ? (int)cores : 1;
    }
    if (n->cfg.overload_warn == 0) n->cfg.overload_warn = n->cfg.mailbox_limit;
    pthread_mutex_init(&n->wait_mu, NULL);
    pthread_cond_init(&n->wait_cv, NULL);
    n->pool = sky__pool_new();
    n->handles = sky__handles_new(n->cfg.node_id, n->cfg.max_services, first_serial);
    n->modules = sky__modules_new(n->cfg.module_path);
    n->sched = sky__sched_new(n, n->cfg.threads, (uint32_t)n->cfg.batch);
    return n;
}

void sky__node_set_hooks(sky_node *n, const sky__hooks *hooks) { n->head.hooks = *hooks; }

int sky_node_register_module(sky_node *n, const sky_module *mod) { return sky__modules_add(n->modules, mod); }

int sky__node_start(sky_node *n, const sky_module *logger_module)
{
    if (n->started) return SKY_EINVAL;
    n->started = 1;
    if (sky__sched_start(n->sched) != 0) return SKY_EINVAL;
    sky_addr_t logger;
    int rc = sky__service_spawn(n, logger_module, NULL, n->cfg.log_path ? n->cfg.log_path : "", SKY_ADDR_NONE,
                                &logger);
    if (rc == 0) {
        if (sky__handles_register(n->handles, "logger", logger) == 0) {
            sky__service *s = sky__handles_get(n->handles, logger);
            if (s) {
                s->named = 1; /* set before anyone can kill it: it only just started */
                sky__service_unref(s);
            }
        }
        atomic_store(&n->logger, logger);
    }
    return rc;
}

/* A spawn from outside the node's services, observed by on_down if not
 * NULL; err says why it failed. */
static int node_spawn(sky_node *n, const char *module, const char *args, sky_addr_t *out, char *err,
                      size_t errsize, sky_down_fn on_down, void *ud)
{
    const sky_module *mod = sky__modules_get(n->modules, module, err, errsize);
    if (!mod) return SKY_ENOENT;
    int rc = sky__service_spawn_observed(n, mod, args, on_down, ud, out);
    if (rc < 0 && err) snprintf(err, errsize, "spawn %s: %s", module, sky__spawn_error(rc));
    return rc;
}

int sky_node_spawn(sky_node *n, const char *module, const char *args, sky_addr_t *out, char *err,
                   size_t errsize)
{
    return node_spawn(n, module, args, out, err, errsize, NULL, NULL);
}

int sky_node_spawn_monitor(sky_node *n, const char *module, const char *args, sky_addr_t *out, char *err,
                           size_t errsize, sky_down_fn on_down, void *ud)
{
    if (!on_down) return SKY_EINVAL;
    return node_spawn(n, module, args, out, err, errsize, on_down, ud);
}

int sky_node_send(sky_node *n, sky_addr_t to, sky_msg *msg)
{
    sky__mail m;
    int rc = sky__mail_from_send(&m, msg);
    return rc < 0 ? rc : sky__deliver(n, to, &m);
}

sky_addr_t sky__node_whereis(sky_node *n, const char *name, int *rc)
{
    int dummy;
    if (!rc) rc = &dummy;
    *rc = SKY_ENOSVC;
    const char *at = name ? strchr(name, '@') : NULL;
    sky_addr_t a;
    if (!at) {
        a = sky__handles_whereis(n->handles, name);
    } else if (strcmp(at + 1, n->cfg.node_name) == 0) { /* name@this-node */
        char local[256];
        size_t len = (size_t)(at - name);
        if (len == 0 || len >= sizeof local) {
            *rc = SKY_EINVAL;
            return SKY_ADDR_NONE;
        }
        memcpy(local, name, len);
        local[len] = '\0';
        a = sky__handles_whereis(n->handles, local);
    } else {
        return n->head.hooks.remote_whereis(n, name, (size_t)(at - name), at + 1, rc);
    }
    if (a != SKY_ADDR_NONE) *rc = 0;
    return a;
}

sky_addr_t sky_node_whereis(sky_node *n, const char *name) { return sky__node_whereis(n, name, NULL); }

int sky_node_kill(sky_node *n, sky_addr_t who)
{
    sky__mail m;
    sky__mail_copy(&m, SKY__KILL, SKY_REASON_KILLED, NULL, 0);
    return sky__deliver(n, who, &m);
}

/* ---- blocking calls from outside: a short-lived port service ------------ */

typedef struct port {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the waiting thread and the port service */
    struct port *next; /* in the node's list of waiting ports */
    int done, status;
    sky_msg reply;
    char err[256];
} port;

static void port_unref(port *p)
{
    pthread_mutex_lock(&p->mu);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (!last) return;
    free(p->reply.data);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    sky_free(p);
}

static int port_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    (void)state, (void)ctx, (void)msg;
    return 0; /* a port only ever gets its one reply, through port_reply */
}

static void port_release(void *state) { port_unref(state); }

static const sky_module port_module = {"sky_port", NULL, NULL, port_handle, port_release};

static void port_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    port *p = ud;
    pthread_mutex_lock(&p->mu);
    p->status = status;
    if (reply) {
        p->reply = *reply;
        p->reply.data = sky_take_data(ctx, reply);
        if (status != 0) sky_error_text(&p->reply, status, p->err, sizeof p->err);
    } else {
        snprintf(p->err, sizeof p->err, "%s", sky_strerror(status));
    }
    p->done = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    sky_exit(ctx);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* sky_node_call_reply; with `all` 0 only a response goes to *reply. */
static int node_call(sky_node *n, sky_addr_t to, sky_msg *req, int timeout_ms, sky_msg *reply, int all,
                     char *errbuf, size_t errsize)
{
    if (timeout_ms <= 0) timeout_ms = n->cfg.call_timeout_ms;
    port *p = sky_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->refs = 2;
    sky_addr_t addr;
    int rc = sky__service_spawn(n, &port_module, p, "", SKY_ADDR_NONE, &addr);
    if (rc < 0) { /* the spawn released the port's share */
        free(req->data);
        port_unref(p);
        return rc;
    }
    /* The port is idle and nobody else knows its address, so this thread
     * may act as the port until the request is out. */
    sky__service *s = sky__handles_get(n->handles, addr);
    rc = s ? sky_call(sky__ctx(s), to, req, timeout_ms, port_reply, p) : SKY_ESTOPPED;
    if (s) sky__service_unref(s);
    pthread_mutex_lock(&n->wait_mu);
    p->next = n->ports;
    n->ports = p;
    pthread_mutex_unlock(&n->wait_mu);
    pthread_mutex_lock(&p->mu);
    if (rc == 0) {
        /* the call's own deadline answers first; the slack covers a node
         * that stops and can no longer fire it */
        struct timespec until;
        deadline_in(&until, timeout_ms + 1000);
        while (!p->done && !atomic_load(&n->stopping))
            if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT) break;
        rc = p->done ? p->status : atomic_load(&n->stopping) ? SKY_ESTOPPED : SKY_ETIMEDOUT;
    }
    if (reply && (rc == 0 || (all && p->done))) {
        *reply = p->reply;
        p->reply.data = NULL;
    }
    if (rc < 0 && errbuf && errsize) snprintf(errbuf, errsize, "%s", p->done ? p->err : sky_strerror(rc));
    int answered = p->done;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&n->wait_mu);
    for (port **pp = &n->ports; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&n->wait_mu);
    if (!answered && sky_node_kill(n, addr) != 0) {
        /* already gone: its release dropped its share */
    }
    port_unref(p);
    return rc;
}

int sky_node_call(sky_node *n, sky_addr_t to, sky_msg *req, int timeout_ms, sky_msg *reply, char *errbuf,
                  size_t errsize)
{
    return node_call(n, to, req, timeout_ms, reply, 0, errbuf, errsize);
}

int sky_node_call_reply(sky_node *n, sky_addr_t to, sky_msg *req, int timeout_ms, sky_msg *reply)
{
    *reply = (sky_msg){0};
    return node_call(n, to, req, timeout_ms, reply, 1, NULL, 0);
}

/* ---- shutdown ---------------------------------------------------------- */

void sky_node_shutdown(sky_node *n)
{
    atomic_store(&n->stopping, 1);
    n->head.hooks.wake(n);
}

int sky__node_stopping(sky_node *n) { return atomic_load_explicit(&n->stopping, memory_order_relaxed); }

void sky__node_notify_shutdown(sky_node *n)
{
    pthread_mutex_lock(&n->wait_mu);
    pthread_cond_broadcast(&n->wait_cv);
    for (port *p = n->ports; p; p = p->next) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&n->wait_mu);
}

int sky_node_wait(sky_node *n, int timeout_ms)
{
    struct timespec until;
    if (timeout_ms >= 0) deadline_in(&until, timeout_ms);
    pthread_mutex_lock(&n->wait_mu);
    while (!atomic_load(&n->stopping)) {
        /* woken by the loop thread; the slice only covers a shutdown asked
         * from a signal handler while the loop does not run */
        struct timespec slice;
        deadline_in(&slice, 200);
        if (timeout_ms >= 0 &&
            (slice.tv_sec > until.tv_sec || (slice.tv_sec == until.tv_sec && slice.tv_nsec > until.tv_nsec)))
            slice = until;
        if (pthread_cond_timedwait(&n->wait_cv, &n->wait_mu, &slice) == ETIMEDOUT && timeout_ms >= 0 &&
            slice.tv_sec == until.tv_sec && slice.tv_nsec == until.tv_nsec)
            break;
    }
    int rc = atomic_load(&n->stopping) ? 0 : SKY_ETIMEDOUT;
    pthread_mutex_unlock(&n->wait_mu);
    return rc;
}

void sky__node_halt(sky_node *n)
{
    atomic_store(&n->stopping, 1);
    sky__sched_stop(n->sched);
}

void sky__node_takedown(sky_node *n)
{
    /* nothing runs now: write what the logger still holds, then log
     * straight to stderr while the services are taken down */
    sky_addr_t la = atomic_exchange(&n->logger, SKY_ADDR_NONE);
    sky__service *logger = la ? sky__handles_get(n->handles, la) : NULL;
    if (logger) {
        uint64_t ignored = 0;
        while (sky__service_run(logger, 1024, &ignored, NULL)) {
        }
        sky__service_unref(logger);
    }
    size_t count;
    sky__service **all = sky__handles_take_all(n->handles, &count);
    for (size_t i = 0; i < count; i++) {
        sky__service_die(all[i], SKY_ESTOPPED);
        sky__service_unref(all[i]);
    }
    sky_free(all);
    sky__sched_free(n->sched);
    n->sched = NULL;
}

void sky__node_release(sky_node *n)
{
    sky__modules_free(n->modules);
    sky__handles_free(n->handles);
    sky__pool_free(n->pool);
    pthread_mutex_destroy(&n->wait_mu);
    pthread_cond_destroy(&n->wait_cv);
    sky_free((void *)n->cfg.node_name);
    sky_free((void *)n->cfg.module_path);
    sky_free((void *)n->cfg.service_path);
    sky_free((void *)n->cfg.log_path);
    sky_free(n);
}

/* ---- counters ---------------------------------------------------------- */

void sky__node_count(sky_node *n, int which, int64_t delta)
{
    atomic_fetch_add_explicit(&n->counters[which], delta, memory_order_relaxed);
}

int sky_service_stat_get(sky_node *n, sky_addr_t who, sky_service_stat *out)
{
    sky__service *s = sky__handles_get(n->handles, who);
    if (!s) return SKY_ENOSVC;
    out->received = atomic_load_explicit(&s->received, memory_order_relaxed);
    out->sent = atomic_load_explicit(&s->sent, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    out->bad = atomic_load_explicit(&s->bad, memory_order_relaxed);
    out->errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
    out->queued = sky__mailbox_length(&s->mb);
    out->limit = sky__mailbox_limit(&s->mb);
    sky__service_unref(s);
    return 0;
}

void sky_node_stat_get(sky_node *n, sky_node_stat *out)
{
    out->services = (uint64_t)atomic_load(&n->counters[SKY__C_SERVICES]);
    out->spawned = (uint64_t)atomic_load(&n->counters[SKY__C_SPAWNED]);
    out->dropped = (uint64_t)atomic_load(&n->counters[SKY__C_DROPPED]);
    out->late_replies = (uint64_t)atomic_load(&n->counters[SKY__C_LATE]);
    out->overruns = (uint64_t)atomic_load(&n->counters[SKY__C_OVERRUNS]);
    out->messages = sky__sched_handled(n->sched);
    out->wakeups = sky__sched_wakeups(n->sched);
}

/* ---- accessors --------------------------------------------------------- */

uint16_t sky_node_id(sky_node *n) { return n->cfg.node_id; }

const char *sky_node_name(sky_node *n) { return n->cfg.node_name; }
const sky_config *sky__node_config(sky_node *n) { return &n->cfg; }
sky_addr_t sky__node_logger(sky_node *n) { return atomic_load_explicit(&n->logger, memory_order_relaxed); }
sky__handles *sky__node_handles(sky_node *n) { return n->handles; }
sky__sched *sky__node_sched(sky_node *n) { return n->sched; }
sky__pool *sky__node_pool(sky_node *n) { return n->pool; }

const sky_module *sky__node_module(sky_node *n, const char *name, char *err, size_t errsize)
{
    return sky__modules_get(n->modules, name, err, errsize);
}
