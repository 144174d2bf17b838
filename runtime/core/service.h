/* A running service. The public sky_ctx is the service itself.
 *
 * Lifetime: a service is reference counted. The address table holds one
 * reference while it lives; the scheduler holds one while it is scheduled;
 * a sender holds one for the length of a push. Service memory comes from a
 * per-node pool and is never returned to malloc while the node lives, so a
 * lookup can race with the service's death safely: it takes a reference
 * only if the count is not zero and then checks the address (a recycled
 * service has a new one). */
#ifndef SKY__SERVICE_H
#define SKY__SERVICE_H

#include <stdatomic.h>
#include "core/mailbox.h"
#include "sky/node.h"
#include "sky/service.h"

typedef struct sky__calls sky__calls;
typedef struct sky__typed sky__typed;

typedef struct sky__service {
    atomic_int ref;
    _Atomic sky_addr_t addr;
    /* its own cache line: senders on other cores write here, and should
     * not pull the line that holds the reference count with it */
    _Alignas(64) sky__mailbox mb;
    sky_node *node;
    const sky_module *mod;
    void *state;
    sky__calls *calls;       /* pending outgoing calls (lazy) */
    sky_token *deferred;     /* requests answered later (lazy array) */
    uint32_t ndeferred, capdeferred;
    uint32_t next_session;
    uint8_t exiting;         /* sky_exit() or a kill: dies after this message */
    uint8_t dead;            /* mailbox closed, state released */
    uint8_t named;           /* has registered names */
    uint8_t answered;        /* the current request was answered or deferred */
    uint8_t sockets;         /* opened a socket once: close them at exit */
    atomic_uchar killing;    /* a kill is queued: set by its sender (sky__deliver) */
    char tag[32];            /* set at init: a Lua service's name, in reports */
    sky__mail *cur;          /* the mail being handled */
    sky__typed *typed;       /* served methods, typed calls (lazy; schema/typed.c) */
    sky_addr_t parent;       /* the service that spawned it (SKY_ADDR_NONE: none) */
    /* links and monitors (link.c): touched only by the service's own thread */
    sky_addr_t *links;       /* linked peers */
    uint32_t nlinks, caplinks;
    struct sky__watch *watchers; /* who monitors this service, with their refs */
    uint32_t nwatchers, capwatchers;
    struct sky__watch *monitors; /* whom this service monitors */
    uint32_t nmonitors, capmonitors;
    uint32_t next_ref;
    uint8_t trap_exit;
    uint8_t has_reason;      /* exit_reason was set (else: normal, or shutdown) */
    int exit_reason;         /* enum sky_reason, told to links and monitors */
    char *exit_text;
    sky_down_fn on_down;     /* sky_node_spawn_monitor's, called as it dies */
    void *on_down_ud;
    /* counters, read by anyone (stats): written by the owner only, but
     * `dropped`, which the refused senders bump */
    atomic_uint_fast64_t received, sent, bad, errors, dropped;
    /* the last overload warning (when, at what length), by any pusher */
    atomic_uint_fast64_t warned_ms;
    atomic_uint warned_len;
    struct sky__service *pool_next;
} sky__service;

struct sky_ctx {
    sky__service s;
};

static inline sky__service *sky__svc(sky_ctx *ctx) { return &ctx->s; }
static inline sky_ctx *sky__ctx(sky__service *s) { return (sky_ctx *)s; }

/* The address of s, read by the thread that runs it. */
static inline sky_addr_t sky__self(sky__service *s) { return atomic_load_explicit(&s->addr, memory_order_relaxed); }

static inline void sky__service_ref(sky__service *s) { atomic_fetch_add_explicit(&s->ref, 1, memory_order_relaxed); }

/* Takes a reference if s is alive and still has address a. */
int sky__service_tryref(sky__service *s, sky_addr_t a);

/* Drops a reference; the last one returns the service to the pool. */
void sky__service_unref(sky__service *s);

/* Creates a service of `mod`, adds it to the table and runs init on the
 * calling thread. `state` (if not NULL) is used instead of mod->create().
 * `parent`: the spawning service (sky_parent), SKY_ADDR_NONE from outside
 * the node's services. Returns 0 (address in *out) or an error; on error
 * state is released. */
int sky__service_spawn(sky_node *node, const sky_module *mod, void *state, const char *args, sky_addr_t parent,
                       sky_addr_t *out);

/* sky__service_spawn of a module's new service spawned by `parent` and
 * linked to it (ref 0) or monitored by it with `ref`, its half of the
 * record set before init. */
int sky__service_spawn_watched(sky_node *node, const sky_module *mod, const char *args, sky_addr_t parent,
                               uint32_t ref, sky_addr_t *out);

/* sky__service_spawn from outside the node's services (no parent), with
 * on_down(ud, address, reason, text) called once when the service dies,
 * on the thread where it dies (set before init: an exit in init is seen;
 * not called if the spawn fails, nor once the node stops). */
int sky__service_spawn_observed(sky_node *node, const sky_module *mod, const char *args, sky_down_fn on_down,
                                void *ud, sky_addr_t *out);

/* Why the spawn that just failed on this thread with rc failed: the text
 * its service's init gave (sky_exit_with before returning an error), or
 * "the name 'NAME' is taken" when it failed with SKY_EEXIST after
 * sky_register refused it NAME, else sky_strerror(rc). */
const char *sky__spawn_error(int rc);

/* Runs one turn of s on the calling thread: up to `batch` messages, adding
 * the number handled to *handled and publishing each in `busy` (a
 * worker's slot, overrun.h; NULL: none). Returns 1 if s must be scheduled
 * again, 0 if it went idle or died. Either way the scheduler's reference
 * is the caller's to keep or drop. */
struct sky__busy;
int sky__service_run(sky__service *s, uint32_t batch, uint64_t *handled, struct sky__busy *busy);

/* 1 once a kill for s is queued: a long handler may stop early (the Lua
 * host's instruction hook does). */
static inline int sky__service_killing(sky__service *s)
{
    return atomic_load_explicit(&s->killing, memory_order_acquire);
}

/* Names the service in the endless-loop monitor's reports (after its
 * module's name), e.g. a Lua service's script. From its init. */
void sky__service_tag(sky_ctx *ctx, const char *tag);

/* After mail for `to` went into s's mailbox (push result r, queue length
 * len): logs an overload warning, schedules s if it was idle. `own`: the
 * caller's reference to s is handed over (to the scheduler or the send
 * cache); else a new one is taken when needed. */
void sky__service_pushed(sky__service *s, sky_addr_t to, int r, uint32_t len, int own);

/* Answers mail that s will never handle (a request gets an error reply
 * with `code`, from s) and frees it. */
void sky__service_bounce(sky__service *s, sky__mail *m, int code);

/* Ends s: unpublishes it, closes its mailbox, answers queued and deferred
 * requests with `code`, releases its state. Runs on the thread that runs s
 * (or on any thread once no worker runs). Idempotent. */
void sky__service_die(sky__service *s, int code);

/* Frees the pool (node teardown). */
typedef struct sky__pool sky__pool;
sky__pool *sky__pool_new(void);
void sky__pool_free(sky__pool *pool);

#endif
