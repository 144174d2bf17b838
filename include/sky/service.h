/* sky — services: the module API and what a running service can do.
 *
 * A service is an actor: private state, one mailbox, and a handler that sees
 * one message at a time. At most one worker runs a given service at once, so
 * service code needs no locks. Every function here takes the service's own
 * context and must be called from that service's init or handler (or from a
 * reply callback, which runs as a handler too).
 *
 *   static int echo_handle(void *st, sky_ctx *ctx, const sky_msg *m) {
 *       if (m->kind == SKY_REQUEST)
 *           return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
 *       return 0;
 *   }
 *   const sky_module sky_module_echo = { "echo", NULL, NULL, echo_handle, NULL };
 */
#ifndef SKY_SERVICE_H
#define SKY_SERVICE_H

#include <stdarg.h>
#include <stdint.h>
#include "sky/error.h"
#include "sky/msg.h"

typedef struct sky_ctx sky_ctx;
typedef struct sky_node sky_node;

/* A C service type. Every member but `name` may be NULL, but a module
 * needs `handle` or `init` (a purely typed service serves its methods
 * from init with sky_serve(), see sky/typed.h, and has no handle).
 *
 * create()  allocates the instance state (NULL state is allowed).
 * init()    runs once, before any message, on the spawner's thread; `args`
 *           is the spawn argument string (never NULL). A non-zero return
 *           fails the spawn with that code and the instance is released.
 *           To say why, call sky_exit_with(ctx, SKY_REASON_ERROR, text)
 *           before returning: the text is the spawn's error message
 *           (sky_node_spawn()'s err, sky.launch's error). Failing with
 *           SKY_EEXIST after sky_register() refused a name, the message
 *           names it.
 * handle()  handles one message (but those of methods served with
 *           sky_serve()). A negative return is logged and, for a request
 *           that was not answered, sent back as an error reply. NULL:
 *           requests other than served methods get SKY_ENOTSUP, other
 *           mail is dropped.
 * release() frees the instance state after the service has exited.
 *
 * A module built as a shared object exports it as
 * `const sky_module sky_module_<name>`; a program that embeds the runtime
 * may instead register it with sky_node_register_module(). */
typedef struct sky_module {
    const char *name;
    void *(*create)(void);
    int (*init)(void *state, sky_ctx *ctx, const char *args);
    int (*handle)(void *state, sky_ctx *ctx, const sky_msg *msg);
    void (*release)(void *state);
} sky_module;

/* ---- identity ---------------------------------------------------------- */

/* This service's address. */
sky_addr_t sky_self(sky_ctx *ctx);

/* The address of the service that spawned this one (sky_spawn,
 * sky_spawn_link, sky_spawn_monitor, or their Lua forms), kept for its
 * life even after that service exits; SKY_ADDR_NONE if it was spawned
 * from outside the node's services (sky_node_spawn, the launcher's
 * bootstrap). Erlang's supervisors obey only their parent's exit signal. */
sky_addr_t sky_parent(sky_ctx *ctx);

/* The node this service runs on. */
sky_node *sky_ctx_node(sky_ctx *ctx);

/* ---- spawning and exiting ---------------------------------------------- */

/* Starts a service of `module` (loaded if needed) and runs its init with
 * `args` (NULL = ""). On success stores the new address in *out (if not
 * NULL) and returns 0; else SKY_ENOENT (no such module), SKY_ESTOPPED, or
 * the code init returned. */
SKY_MUST_CHECK int sky_spawn(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out);

/* Ends this service once the current handler returns: its name is removed,
 * requests still in its mailbox and deferred requests get SKY_EEXIT error
 * replies, its own pending calls are dropped, and its state is released. */
void sky_exit(sky_ctx *ctx);

/* Asks service `who` to exit. The kill is a signal: it goes ahead of the
 * target's ordinary mail, and the target exits when a worker next runs it
 * (asynchronously, as in Erlang), answering its queued requests with
 * SKY_EEXIT. Returns 0 or SKY_ENOSVC. */
SKY_MUST_CHECK int sky_kill(sky_ctx *ctx, sky_addr_t who);

/* Asks the node to shut down (the launcher then exits 0). */
void sky_shutdown(sky_ctx *ctx);

/* ---- exit reasons, links and monitors (docs/process-model.md) ---------- */

/* Why a service exited: what links and monitors are told. */
enum sky_reason {
    SKY_REASON_NORMAL = 0,       /* sky_exit(): its job is done */
    SKY_REASON_ERROR = 1,        /* it failed (the text says how) */
    SKY_REASON_KILLED = 2,       /* sky_kill() */
    SKY_REASON_NOPROC = 3,       /* it did not exist (link or monitor of a dead address) */
    SKY_REASON_TIMEOUT = 4,      /* it gave up waiting */
    SKY_REASON_NOCONNECTION = 5, /* its node cannot be reached (cluster) */
    SKY_REASON_SHUTDOWN = 6      /* asked to stop: by the node or a supervisor */
};

/* "normal", "error", "killed", "noproc", "timeout", "noconnection",
 * "shutdown"; "unknown" for anything else. */
const char *sky_reason_name(int reason);

/* The reason named `name` (as sky_reason_name gives it), or -1. */
int sky_reason_of(const char *name);

/* Ends this service once the current handler returns, like sky_exit(),
 * with `reason` and a text (NULL: none; copied) for its links and
 * monitors. sky_exit(ctx) is sky_exit_with(ctx, SKY_REASON_NORMAL, NULL). */
void sky_exit_with(sky_ctx *ctx, int reason, const char *text);

/* sky_kill with a reason (sky_kill's is SKY_REASON_KILLED) and a text
 * (NULL: none). A kill cannot be trapped: `who` exits whatever it does. */
SKY_MUST_CHECK int sky_kill_with(sky_ctx *ctx, sky_addr_t who, int reason, const char *text);

/* Sends `who` an exit signal with `reason` and `text`, as if a linked
 * service had exited (Erlang's exit/2): a service that traps exits gets a
 * SKY_EXIT message from this one; one that does not ignores a normal
 * reason and exits with any other. No link is needed, and this service
 * goes on. (A supervisor asks a child to stop this way, with
 * SKY_REASON_SHUTDOWN, before it kills it.) Returns 0, SKY_EINVAL or
 * SKY_ENOSVC. */
SKY_MUST_CHECK int sky_send_exit(sky_ctx *ctx, sky_addr_t who, int reason, const char *text);

/* Links this service and `peer`, both ways (a no-op if linked already, or
 * peer is this service). When either exits, the other gets an exit signal
 * with the reason: a service that does not trap exits ignores a normal
 * reason and exits with any other (the same reason); one that traps exits
 * gets a SKY_EXIT message instead. Linking an address that is dead
 * already gives this service an exit signal with SKY_REASON_NOPROC at
 * once. Returns 0 or SKY_EINVAL (SKY_ADDR_NONE). */
SKY_MUST_CHECK int sky_link(sky_ctx *ctx, sky_addr_t peer);

/* Removes the link with `peer`, both ways; no exit signal of it arrives
 * afterwards. Returns 0 (also when there was none). */
int sky_unlink(sky_ctx *ctx, sky_addr_t peer);

/* Watches `who`, one way: when it exits, this service gets a SKY_DOWN
 * message with the reason and *ref (a number unique in this service), once.
 * A dead address gives a SKY_DOWN with SKY_REASON_NOPROC at once. Returns
 * 0 or SKY_EINVAL. */
SKY_MUST_CHECK int sky_monitor(sky_ctx *ctx, sky_addr_t who, uint32_t *ref);

/* Stops watching: no SKY_DOWN with `ref` arrives afterwards. Returns 0, or
 * SKY_ENOENT if no monitor has that ref (it fired already, or never was). */
int sky_demonitor(sky_ctx *ctx, uint32_t ref);

/* on != 0: exit signals from links arrive as SKY_EXIT messages instead of
 * ending this service (a kill still ends it). Returns the previous
 * setting. */
int sky_trap_exit(sky_ctx *ctx, int on);

/* sky_spawn, with the new service linked to this one (or monitored by it,
 * the ref in *ref) before its init runs: there is no moment at which it
 * could exit unobserved. */
SKY_MUST_CHECK int sky_spawn_link(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out);
SKY_MUST_CHECK int sky_spawn_monitor(sky_ctx *ctx, const char *module, const char *args, sky_addr_t *out,
                                     uint32_t *ref);

/* ---- names ------------------------------------------------------------- */

/* Registers this service under `name` (node-local). `name@node` with this
 * node's own name registers `name` (a default_name pinned to a node of
 * the cluster, docs/cluster.md). Returns 0, SKY_EINVAL (empty, longer
 * than 63 bytes, or with '@' and another node's name) or SKY_EEXIST. The
 * name is removed when the service exits. */
SKY_MUST_CHECK int sky_register(sky_ctx *ctx, const char *name);

/* Watches node `node` of the cluster (Erlang's monitor_node): from now
 * on this service gets a SKY_NODE message (sky/msg.h) each time that node
 * goes down or comes up, until sky_demonitor_node() or its own exit.
 * Watching twice is watching once. Returns 0, SKY_ENOENT (no such node in
 * the cluster, or no cluster) or SKY_EINVAL. */
SKY_MUST_CHECK int sky_monitor_node(sky_ctx *ctx, const char *node);

/* Stops watching `node`. Returns 0 or SKY_ENOENT (not watched). */
SKY_MUST_CHECK int sky_demonitor_node(sky_ctx *ctx, const char *node);

/* The address registered under `name`, or SKY_ADDR_NONE. */
sky_addr_t sky_whereis(sky_ctx *ctx, const char *name);

/* ---- sending ----------------------------------------------------------- */

/* Queues msg->data (msg->size bytes) for `to` with kind SKY_ONEWAY or
 * SKY_TEXT (msg->kind; 0 means oneway) and msg->type_id. Always takes
 * ownership of msg->data, freeing it on failure too. Returns 0, SKY_ENOSVC
 * (unknown or dead address) or SKY_EBUSY (mailbox full; counted as a drop). */
SKY_MUST_CHECK int sky_send(sky_ctx *ctx, sky_addr_t to, sky_msg *msg);

/* Like sky_send with kind SKY_ONEWAY, but copies `size` bytes from `data`;
 * the caller keeps its buffer. Small payloads need no allocation. */
SKY_MUST_CHECK int sky_send_copy(sky_ctx *ctx, sky_addr_t to, uint32_t type_id, const void *data,
                                 size_t size);

/* ---- calls ------------------------------------------------------------- */

/* Called exactly once per successful sky_call(): status 0 with the response,
 * or a negative code: with an error reply (reply->kind == SKY_ERROR, its
 * payload a sky.Status; see sky_error_text()) — the handler's error, or
 * SKY_EEXIT when the service exited before answering — or with
 * reply == NULL when the deadline passed (SKY_ETIMEDOUT). It runs as part
 * of this service's handling, on its worker. */
typedef void sky_reply_fn(sky_ctx *ctx, int status, const sky_msg *reply, void *ud);

/* Sends req as a request to `to` and arranges for cb(ud) to get the answer.
 * timeout_ms <= 0 means the node default (5 s unless configured). Always
 * takes ownership of req->data. Returns 0 (cb will be called), or fails at
 * once with SKY_ENOSVC or SKY_EBUSY (cb will not be called). A reply that
 * arrives after the deadline is dropped. */
SKY_MUST_CHECK int sky_call(sky_ctx *ctx, sky_addr_t to, sky_msg *req, int timeout_ms, sky_reply_fn *cb,
                            void *ud);

/* ---- replying ---------------------------------------------------------- */

/* A request to answer later: see sky_defer(). */
typedef struct sky_token {
    sky_addr_t to;
    uint32_t session;
} sky_token;

/* Answers request `req` (the message being handled) with resp->data, taking
 * ownership of it. Returns 0, or SKY_EINVAL if req is not a request. A
 * caller that is gone is not an error of this handler: the answer is
 * dropped and 0 returned, so `return sky_reply(...)` is a fine idiom. */
int sky_reply(sky_ctx *ctx, const sky_msg *req, sky_msg *resp);

/* Like sky_reply, copying `size` bytes from `data`. */
int sky_reply_copy(sky_ctx *ctx, const sky_msg *req, uint32_t type_id, const void *data, size_t size);

/* Answers request `req` with an error reply carrying `code` (< 0) and `text`. */
int sky_reply_error(sky_ctx *ctx, const sky_msg *req, int code, const char *text);

/* Answers request `req` with the service's own error: code SKY_EAPP with
 * the application code `app_code` (1 to SKY_APP_CODE_MAX letters, digits,
 * '_', '.' or '-', and not a sky code's name: "EOUTOFSTOCK", not
 * "ENOENT"), `text` for people (NULL: none) and `details` (`size` bytes
 * for the caller's program, e.g. an encoded message; NULL, 0: none),
 * copied. The caller gets status SKY_EAPP and reads them back with
 * sky_error_app_code(), sky_error_text() and sky_error_details(); Lua
 * callers get an error object with code = app_code. Returns 0, or
 * SKY_EINVAL (req not a request, a bad app_code, details NULL with a size)
 * and answers nothing. */
int sky_reply_app_error(sky_ctx *ctx, const sky_msg *req, const char *app_code, const char *text,
                        const void *details, size_t size);

/* Takes over the answer to request `req`: the handler may return without
 * replying and answer later with sky_respond() or sky_respond_error(). If
 * the service exits first, the caller gets SKY_EEXIT. */
sky_token sky_defer(sky_ctx *ctx, const sky_msg *req);

/* Answers a deferred request; takes ownership of resp->data. Returns 0 or
 * SKY_EINVAL (unknown or already answered token); a caller that is gone is
 * not an error, as for sky_reply(). */
int sky_respond(sky_ctx *ctx, sky_token tok, sky_msg *resp);
int sky_respond_error(sky_ctx *ctx, sky_token tok, int code, const char *text);
int sky_respond_app_error(sky_ctx *ctx, sky_token tok, const char *app_code, const char *text, const void *details,
                          size_t size);

/* Returns the message of an error reply (the sky.Status text) in buf, or
 * sky_strerror(code) when it has none. Always NUL-terminates buf. */
const char *sky_error_text(const sky_msg *reply, int code, char *buf, size_t bufsize);

/* Returns the application code of an error reply with status SKY_EAPP
 * (see sky_reply_app_error()) in buf, or "" for any other reply or none.
 * Always NUL-terminates buf; SKY_APP_CODE_MAX + 1 bytes hold any code. */
const char *sky_error_app_code(const sky_msg *reply, char *buf, size_t bufsize);

/* Returns the details bytes of an error reply (a pointer into reply->data,
 * valid as long as it is) with their count in *size, or NULL and 0 when
 * it has none. */
const void *sky_error_details(const sky_msg *reply, size_t *size);

/* Moves the current message's payload out of the runtime: returns a buffer
 * the caller now owns (free with free()), or NULL for an empty payload. */
void *sky_take_data(sky_ctx *ctx, const sky_msg *msg);

/* ---- timers ------------------------------------------------------------ */

/* After `ms` milliseconds (0 = as soon as possible) this service gets a
 * SKY_TIMER message carrying `session`. Returns 0 or SKY_ESTOPPED. */
SKY_MUST_CHECK int sky_timeout(sky_ctx *ctx, int ms, uint32_t session);

/* Milliseconds since the node started (monotonic). */
uint64_t sky_now(sky_ctx *ctx);

/* ---- mailbox ----------------------------------------------------------- */

/* Sets this service's mailbox bound (messages). 0 = the node default. */
void sky_set_mailbox_limit(sky_ctx *ctx, size_t limit);

/* ---- logging ----------------------------------------------------------- */

enum sky_log_level { SKY_LOG_ERROR = 0, SKY_LOG_WARN = 1, SKY_LOG_INFO = 2, SKY_LOG_DEBUG = 3 };

/* Sends a line to the node's logger, tagged with this service's address. */
void sky_log(sky_ctx *ctx, int level, const char *fmt, ...) SKY_PRINTF(3, 4);
void sky_vlog(sky_ctx *ctx, int level, const char *fmt, va_list ap);

#endif
