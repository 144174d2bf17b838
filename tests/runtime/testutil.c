/* Helpers shared by the runtime's Check suites. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TU_HAVE_VALGRIND 1
#endif
#endif

TCase *tu_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, TU_TEST_TIMEOUT);
    return tc;
}

/* ---- time -------------------------------------------------------------- */

uint64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void tu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int tu_ms(int ms)
{
    double mult = 1;
    const char *env = getenv("CK_TIMEOUT_MULTIPLIER");
    if (env && atof(env) > 1) mult = atof(env);
#ifdef TU_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND && mult < 20) mult = 20;
#endif
    return (int)(ms * mult);
}

int tu_under_valgrind(void)
{
#ifdef TU_HAVE_VALGRIND
    return RUNNING_ON_VALGRIND ? 1 : 0;
#else
    return 0;
#endif
}

int tu_wait(int (*pred)(void *), void *arg, int ms)
{
    return TU_WAIT(pred(arg), ms);
}

/* ---- nodes ------------------------------------------------------------- */

void tu_config(sky_config *cfg, int threads)
{
    sky_config_init(cfg);
    cfg->threads = threads;
    cfg->log_level = SKY_LOG_ERROR;
    cfg->call_timeout_ms = 10000;
}

static sky_node *start_v(const sky_config *cfg, va_list ap)
{
    char err[256] = "";
    sky_node *node = sky_node_new(cfg, err, sizeof err);
    ck_assert_msg(node != NULL, "sky_node_new: %s", err);
    const sky_module *mod;
    while ((mod = va_arg(ap, const sky_module *)) != NULL) {
        int rc = sky_node_register_module(node, mod);
        ck_assert_msg(rc == 0, "register %s: %s", mod->name, sky_strerror(rc));
    }
    int rc = sky_node_start(node);
    ck_assert_msg(rc == 0, "sky_node_start: %s", sky_strerror(rc));
    return node;
}

sky_node *tu_start(const sky_config *cfg, ...)
{
    va_list ap;
    va_start(ap, cfg);
    sky_node *node = start_v(cfg, ap);
    va_end(ap);
    return node;
}

sky_node *tu_node(int threads, ...)
{
    sky_config cfg;
    tu_config(&cfg, threads);
    va_list ap;
    va_start(ap, threads);
    sky_node *node = start_v(&cfg, ap);
    va_end(ap);
    return node;
}

sky_addr_t tu_spawn(sky_node *node, const char *mod, const char *args)
{
    char err[512] = "";
    sky_addr_t a = SKY_ADDR_NONE;
    int rc = sky_node_spawn(node, mod, args, &a, err, sizeof err);
    ck_assert_msg(rc == 0, "spawn %s: %s (%s)", mod, sky_strerror(rc), err);
    ck_assert(a != SKY_ADDR_NONE);
    return a;
}

int tu_send(sky_node *node, sky_addr_t to, uint32_t type_id, const void *data, size_t size)
{
    void *copy = NULL;
    if (size) copy = memcpy(malloc(size), data, size);
    sky_msg m = {.kind = SKY_ONEWAY, .type_id = type_id, .size = size, .data = copy};
    return sky_node_send(node, to, &m);
}

int tu_call_text(sky_node *node, sky_addr_t to, uint32_t type_id, const char *text, char *out, size_t size)
{
    return tu_call_text_for(node, to, type_id, text, out, size, 5000);
}

int tu_call_text_for(sky_node *node, sky_addr_t to, uint32_t type_id, const char *text, char *out, size_t size,
                     int ms)
{
    sky_msg req = {0};
    req.type_id = type_id;
    req.size = strlen(text);
    req.data = malloc(req.size + 1);
    memcpy(req.data, text, req.size + 1);
    sky_msg reply = {0};
    out[0] = '\0';
    int rc = sky_node_call(node, to, &req, tu_ms(ms), &reply, out, size);
    if (rc == 0) {
        snprintf(out, size, "%.*s", (int)reply.size, reply.data ? (char *)reply.data : "");
        free(reply.data);
    }
    return rc;
}

int tu_file_count(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int count = 0;
    for (const char *p = buf; (p = strstr(p, text)) != NULL; p += strlen(text)) count++;
    return count;
}

int tu_alive(sky_node *node, sky_addr_t a)
{
    sky_service_stat st;
    return sky_service_stat_get(node, a, &st) == 0;
}

sky_service_stat tu_stat(sky_node *node, sky_addr_t a)
{
    sky_service_stat st;
    int rc = sky_service_stat_get(node, a, &st);
    ck_assert_msg(rc == 0, "stat %llx: %s", (unsigned long long)a, sky_strerror(rc));
    return st;
}

tu_arg tu_ptr_arg(const void *p)
{
    tu_arg a;
    snprintf(a.s, sizeof a.s, "%p", p);
    return a;
}

void *tu_arg_ptr(const char *args)
{
    void *p = NULL;
    if (!args || sscanf(args, "%p", &p) != 1) return NULL;
    return p;
}

/* ---- shared state ------------------------------------------------------ */

void tu_gate_init(tu_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = 0;
    atomic_init(&g->waiting, 0);
}

void tu_gate_deinit(tu_gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

int tu_gate_wait(tu_gate *g, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int scaled = tu_ms(ms);
    until.tv_sec += scaled / 1000;
    until.tv_nsec += (long)(scaled % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->mu);
    atomic_fetch_add(&g->waiting, 1);
    while (!g->open)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT) break;
    int open = g->open;
    atomic_fetch_sub(&g->waiting, 1);
    pthread_mutex_unlock(&g->mu);
    return open;
}

void tu_gate_open(tu_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void tu_rec_init(tu_rec *r)
{
    pthread_mutex_init(&r->mu, NULL);
    r->n = 0;
}

void tu_rec_deinit(tu_rec *r) { pthread_mutex_destroy(&r->mu); }

void tu_rec_add(tu_rec *r, int64_t v)
{
    pthread_mutex_lock(&r->mu);
    if (r->n < TU_REC_MAX) r->v[r->n] = v;
    r->n++; /* counts past the end too, so an overflow shows in the count */
    pthread_mutex_unlock(&r->mu);
}

size_t tu_rec_count(tu_rec *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

int64_t tu_rec_get(tu_rec *r, size_t i)
{
    pthread_mutex_lock(&r->mu);
    int64_t v = i < r->n && i < TU_REC_MAX ? r->v[i] : 0;
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* ---- shared modules ---------------------------------------------------- */

atomic_long tu_echo_oneways;

static int echo_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
    if (m->kind == SKY_ONEWAY) atomic_fetch_add(&tu_echo_oneways, 1);
    return 0;
}

const sky_module tu_echo_module = {"echo", NULL, NULL, echo_handle, NULL};

static int hole_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_REQUEST) (void)sky_defer(ctx, m);
    return 0;
}

const sky_module tu_hole_module = {"hole", NULL, NULL, hole_handle, NULL};

uint32_t tu_seed(sky_addr_t a) { return (uint32_t)(a * 2654435761u) ^ 0x5bd1e995u; }

int tu_tcp_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect to port %d", port);
    return fd;
}
