/* Cluster links between two nodes in this process, on 127.0.0.1: calls
 * by address and by "name@node", a node that goes away (its callers fail
 * with SKY_ENODEDOWN at once, and new calls too), a wrong secret, and the
 * membership as sky_node_nodes() shows it. The three-process tests are
 * tests/cluster/. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cluster/handshake.h"
#include "cluster/wire.h"
#include "core/status.h"
#include "testutil.h"

/* A port that was free a moment ago. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* "named": registers its args as its name, answers requests with their
 * bytes (as echo does); type 2 is never answered (deferred forever). */
static int named_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state;
    return args && *args ? sky_register(ctx, args) : 0;
}

static int named_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_REQUEST) return 0;
    if (m->type_id == 2) {
        (void)sky_defer(ctx, m);
        return 0;
    }
    return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
}

static const sky_module named_module = {"named", NULL, named_init, named_handle, NULL};

/* "slowpoke": a mailbox of 4, a millisecond per message */
static int slow_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state, (void)args;
    sky_set_mailbox_limit(ctx, 4);
    return 0;
}

static atomic_int slow_hold; /* set: slowpoke holds its first message until it is cleared (5 s at most) */
static atomic_int slow_ms = 1; /* then each message takes this long */

static int slow_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)ctx, (void)m;
    for (int i = 0; i < 5000 && atomic_load(&slow_hold); i++) tu_sleep_ms(1);
    if (atomic_load(&slow_ms)) tu_sleep_ms(atomic_load(&slow_ms));
    return 0;
}

static const sky_module slow_module = {"slowpoke", NULL, slow_init, slow_handle, NULL};

typedef struct pair {
    char addr[2][32];
    sky_cluster_member members[2];
    sky_node *node[2];
} pair;

static const char secret[] = "a test secret";
static size_t high_water, low_water; /* 0: the defaults */
static char log_path[64];            /* set: the nodes log warnings there */

static sky_node *start_member(pair *p, int i, const char *sec)
{
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.node_name = p->members[i].name;
    cfg.node_id = p->members[i].id;
    cfg.cluster = p->members;
    cfg.cluster_size = 2;
    cfg.cluster_secret = sec;
    cfg.cluster_secret_len = strlen(sec);
    cfg.cluster_tick_ms = 100;
    cfg.cluster_down_ms = 500;
    if (log_path[0]) {
        cfg.log_path = log_path;
        cfg.log_level = SKY_LOG_WARN;
    }
    if (high_water) {
        cfg.cluster_high_water = high_water;
        cfg.cluster_low_water = low_water;
    }
    return p->node[i] = tu_start(&cfg, &named_module, NULL);
}

static void pair_init(pair *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 2; i++) {
        snprintf(p->addr[i], sizeof p->addr[i], "127.0.0.1:%d", free_port());
        p->members[i] = (sky_cluster_member){i == 0 ? "a" : "b", (uint16_t)(i + 1), p->addr[i]};
    }
}

/* Both members started, with the test secret. */
static void pair_up(pair *p)
{
    pair_init(p);
    start_member(p, 0, secret);
    start_member(p, 1, secret);
}

static void pair_free(pair *p)
{
    for (int i = 0; i < 2; i++) sky_node_free(p->node[i]);
}

static int is_up(sky_node *n, const char *name)
{
    sky_node_info info[4];
    size_t k = sky_node_nodes(n, info, 4);
    for (size_t i = 0; i < k && i < 4; i++)
        if (strcmp(info[i].name, name) == 0) return info[i].up;
    return -1;
}

START_TEST(link_calls)
{
    pair p;
    pair_up(&p);
    sky_addr_t svc = tu_spawn(p.node[1], "named", "svc");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1 && is_up(p.node[1], "a") == 1, 3000));

    char out[128];
    ck_assert_int_eq(tu_call_text(p.node[0], svc, 1, "by address", out, sizeof out), 0);
    ck_assert_str_eq(out, "by address");
    sky_addr_t named = sky_node_whereis(p.node[0], "svc@b");
    ck_assert(named != SKY_ADDR_NONE);
    ck_assert_uint_eq(SKY_ADDR_NODE(named), 2);
    ck_assert_int_eq(tu_call_text(p.node[0], named, 1, "by name", out, sizeof out), 0);
    ck_assert_str_eq(out, "by name");
    /* a name nobody registered there: an error reply naming it */
    sky_addr_t nobody = sky_node_whereis(p.node[0], "nobody@b");
    ck_assert_int_eq(tu_call_text(p.node[0], nobody, 1, "x", out, sizeof out), SKY_ENOSVC);
    ck_assert_ptr_nonnull(strstr(out, "nobody"));
    /* a node not in the cluster; this node's own name */
    ck_assert(sky_node_whereis(p.node[0], "svc@nowhere") == SKY_ADDR_NONE);
    ck_assert(sky_node_whereis(p.node[1], "svc@b") == svc);
    /* "name@node" as a name to register: this node's own only */
    sky_addr_t pinned = tu_spawn(p.node[1], "named", "pinned@b");
    ck_assert(sky_node_whereis(p.node[1], "pinned") == pinned);
    ck_assert_int_eq(tu_call_text(p.node[0], sky_node_whereis(p.node[0], "pinned@b"), 1, "pin", out, sizeof out), 0);
    sky_addr_t refused;
    ck_assert_int_eq(sky_node_spawn(p.node[1], "named", "pinned@a", &refused, NULL, 0), SKY_EINVAL);
    /* a large message goes in fragments and comes back whole */
    size_t big = 3 * 65536 + 17;
    char *buf = malloc(big + 1);
    for (size_t i = 0; i < big; i++) buf[i] = (char)('a' + i % 26);
    buf[big] = '\0';
    sky_msg req = {.type_id = 1, .data = buf, .size = big}, reply;
    ck_assert_int_eq(sky_node_call(p.node[0], svc, &req, tu_ms(5000), &reply, NULL, 0), 0);
    ck_assert_uint_eq(reply.size, big);
    for (size_t i = 0; i < big; i++) ck_assert_int_eq(((char *)reply.data)[i], (char)('a' + i % 26));
    free(reply.data);
    pair_free(&p);
}
END_TEST

typedef struct waiter {
    sky_node *node;
    sky_addr_t to;
    atomic_int rc; /* 1 until the call returned */
    char text[256];
} waiter;

static void *call_and_wait(void *arg)
{
    waiter *w = arg;
    sky_msg req = {.type_id = 2, .data = strdup("never"), .size = 5}, reply;
    int rc = sky_node_call(w->node, w->to, &req, tu_ms(8000), &reply, w->text, sizeof w->text);
    if (rc == 0) free(reply.data);
    atomic_store(&w->rc, rc);
    return NULL;
}

START_TEST(link_node_down)
{
    pair p;
    pair_up(&p);
    sky_addr_t svc = tu_spawn(p.node[1], "named", "svc");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    waiter w = {.node = p.node[0], .to = svc};
    atomic_init(&w.rc, 1);
    pthread_t t;
    pthread_create(&t, NULL, call_and_wait, &w);
    tu_sleep_ms(100); /* the request is there, deferred */
    uint64_t t0 = tu_now_ms();
    sky_node_free(p.node[1]); /* its sockets close: node down at once */
    ck_assert(TU_WAIT(atomic_load(&w.rc) != 1, 3000));
    ck_assert_int_eq(atomic_load(&w.rc), SKY_ENODEDOWN);
    ck_assert_msg(tu_now_ms() - t0 < (uint64_t)tu_ms(400), "ENODEDOWN took %llu ms",
                  (unsigned long long)(tu_now_ms() - t0));
    ck_assert_ptr_nonnull(strstr(w.text, "'b'"));
    pthread_join(t, NULL);
    ck_assert_int_eq(is_up(p.node[0], "b"), 0);
    /* new calls fail at once */
    char out[128];
    t0 = tu_now_ms();
    ck_assert_int_eq(tu_call_text(p.node[0], svc, 1, "x", out, sizeof out), SKY_ENODEDOWN);
    ck_assert(tu_now_ms() - t0 < (uint64_t)tu_ms(200));
    /* b comes back (a new run): calls work again, its old addresses are gone */
    start_member(&p, 1, secret);
    sky_addr_t svc2 = tu_spawn(p.node[1], "named", "svc");
    ck_assert(svc2 != svc);
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    ck_assert_int_eq(tu_call_text(p.node[0], sky_node_whereis(p.node[0], "svc@b"), 1, "back", out, sizeof out), 0);
    ck_assert_int_eq(tu_call_text(p.node[0], svc, 1, "old", out, sizeof out), SKY_ENOSVC);
    pair_free(&p);
}
END_TEST

START_TEST(link_wrong_secret)
{
    pair p;
    pair_init(&p);
    start_member(&p, 0, secret);
    start_member(&p, 1, "another secret");
    sky_addr_t svc = tu_spawn(p.node[1], "named", "svc");
    tu_sleep_ms(tu_ms(300));
    ck_assert_int_eq(is_up(p.node[0], "b"), 0);
    ck_assert_int_eq(is_up(p.node[1], "a"), 0);
    char out[128];
    /* not reached since it started: down once cluster_down_ms passed */
    ck_assert(TU_WAIT(tu_call_text(p.node[0], svc, 1, "x", out, sizeof out) == SKY_ENODEDOWN, 3000));
    pair_free(&p);
}
END_TEST

START_TEST(link_config_refused)
{
    pair p;
    pair_init(&p);
    sky_config cfg;
    char err[256];
    tu_config(&cfg, 1);
    cfg.node_name = "a";
    cfg.node_id = 1;
    cfg.cluster = p.members;
    cfg.cluster_size = 2;
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err)); /* no secret */
    ck_assert_ptr_nonnull(strstr(err, "cluster_secret"));
    cfg.cluster_secret = secret;
    cfg.cluster_secret_len = strlen(secret);
    cfg.node_id = 7;
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "node_id"));
    cfg.node_id = 1;
    cfg.node_name = "c";
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "'c'"));
    cfg.node_name = "a";
    p.members[1].id = 1;
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "same id"));
    p.members[1].id = 2;
    p.members[1].address = "127.0.0.1";
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "host:port"));
    p.members[1].address = p.addr[1];
    cfg.cluster_down_ms = cfg.cluster_tick_ms;
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cluster_down_ms"));
}
END_TEST

/* "watcher": does what its oneways say and records what comes back. */
typedef struct watch_rec {
    atomic_int node_up, node_down; /* SKY_NODE messages about "b" */
    atomic_int exits, downs;       /* SKY_EXIT, SKY_DOWN */
    atomic_int last_reason;
    atomic_int writable;           /* SKY_NODE_WRITABLE about "b" */
    atomic_int sent, busy;         /* of a flood */
    atomic_int rc; /* of the last command */
} watch_rec;

enum { W_MONITOR_NODE = 1, W_LINK = 2, W_MONITOR = 3, W_KILL = 4, W_FLOOD = 5, W_TRICKLE = 6 };

static int watcher_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state, (void)args;
    (void)sky_trap_exit(ctx, 1);
    return 0;
}

static watch_rec *wrec;

static int watcher_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    sky_addr_t a = 0;
    if (m->size == sizeof a) memcpy(&a, m->data, sizeof a);
    uint32_t ref;
    switch (m->kind) {
    case SKY_NODE:
        if (m->size == 1 && memcmp(m->data, "b", 1) == 0)
            atomic_fetch_add(m->type_id == SKY_NODE_UP          ? &wrec->node_up
                             : m->type_id == SKY_NODE_WRITABLE ? &wrec->writable
                                                               : &wrec->node_down,
                             1);
        return 0;
    case SKY_EXIT:
        atomic_store(&wrec->last_reason, (int)m->type_id);
        atomic_fetch_add(&wrec->exits, 1);
        return 0;
    case SKY_DOWN:
        atomic_store(&wrec->last_reason, (int)m->type_id);
        atomic_fetch_add(&wrec->downs, 1);
        return 0;
    case SKY_ONEWAY:
        if (m->type_id == W_MONITOR_NODE) atomic_store(&wrec->rc, sky_monitor_node(ctx, "b"));
        if (m->type_id == W_LINK) atomic_store(&wrec->rc, sky_link(ctx, a));
        if (m->type_id == W_MONITOR) atomic_store(&wrec->rc, sky_monitor(ctx, a, &ref));
        if (m->type_id == W_KILL) atomic_store(&wrec->rc, sky_kill(ctx, a));
        if (m->type_id == W_FLOOD) { /* 2 KiB oneways until the link refuses some */
            static char chunk[2048];
            int busy = 0, sent = 0;
            for (int i = 0; i < 200000 && busy < 50; i++) {
                int rc = sky_send_copy(ctx, a, 1, chunk, sizeof chunk);
                if (rc == SKY_EBUSY) busy++;
                else if (rc == 0) sent++;
            }
            atomic_store(&wrec->sent, sent);
            atomic_store(&wrec->busy, busy);
            atomic_store(&wrec->rc, 0);
        }
        if (m->type_id == W_TRICKLE) { /* 300 small oneways, all taken */
            int sent = 0;
            for (int i = 0; i < 300; i++) sent += sky_send_copy(ctx, a, 1, "0123456789", 10) == 0;
            atomic_store(&wrec->sent, sent);
            atomic_store(&wrec->rc, 0);
        }
        return 0;
    default:
        return 0;
    }
}

static const sky_module watcher_module = {"watcher", NULL, watcher_init, watcher_handle, NULL};

static void command(sky_node *n, sky_addr_t w, int op, sky_addr_t a)
{
    atomic_store(&wrec->rc, 1);
    ck_assert_int_eq(tu_send(n, w, (uint32_t)op, &a, sizeof a), 0);
    ck_assert(TU_WAIT(atomic_load(&wrec->rc) != 1, 2000));
    ck_assert_int_eq(atomic_load(&wrec->rc), 0);
}

START_TEST(link_process_model)
{
    static watch_rec rec;
    wrec = &rec;
    pair p;
    pair_up(&p);
    ck_assert_int_eq(sky_node_register_module(p.node[0], &watcher_module), 0);
    sky_addr_t w = tu_spawn(p.node[0], "watcher", "");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    command(p.node[0], w, W_MONITOR_NODE, 0);

    /* a monitor across: the service exits, the DOWN comes over the link */
    sky_addr_t s1 = tu_spawn(p.node[1], "named", "");
    command(p.node[0], w, W_MONITOR, s1);
    command(p.node[0], w, W_KILL, s1); /* a kill across */
    ck_assert(TU_WAIT(atomic_load(&rec.downs) == 1, 2000));
    ck_assert_int_eq(atomic_load(&rec.last_reason), SKY_REASON_KILLED);
    /* a link to an address that is dead there: noproc */
    command(p.node[0], w, W_LINK, s1);
    ck_assert(TU_WAIT(atomic_load(&rec.exits) == 1, 2000));
    ck_assert_int_eq(atomic_load(&rec.last_reason), SKY_REASON_NOPROC);
    /* a link and a monitor to live services; then the node goes */
    sky_addr_t s2 = tu_spawn(p.node[1], "named", ""), s3 = tu_spawn(p.node[1], "named", "");
    command(p.node[0], w, W_LINK, s2);
    command(p.node[0], w, W_MONITOR, s3);
    tu_sleep_ms(100);
    sky_node_free(p.node[1]);
    ck_assert(TU_WAIT(atomic_load(&rec.exits) == 2 && atomic_load(&rec.downs) == 2, 2000));
    ck_assert_int_eq(atomic_load(&rec.last_reason), SKY_REASON_NOCONNECTION);
    ck_assert(TU_WAIT(atomic_load(&rec.node_down) == 1, 2000));
    ck_assert_int_eq(atomic_load(&rec.node_up), 0); /* it was up before the monitor */
    start_member(&p, 1, secret);
    ck_assert(TU_WAIT(atomic_load(&rec.node_up) == 1, 3000));
    pair_free(&p);
}
END_TEST

START_TEST(link_flow_control)
{
    static watch_rec rec;
    wrec = &rec;
    high_water = 8192, low_water = 2048;
    pair p;
    pair_up(&p);
    ck_assert_int_eq(sky_node_register_module(p.node[0], &watcher_module), 0);
    ck_assert_int_eq(sky_node_register_module(p.node[1], &slow_module), 0);
    sky_addr_t w = tu_spawn(p.node[0], "watcher", "");
    sky_addr_t s = tu_spawn(p.node[1], "slowpoke", ""); /* its link stops being read: TCP fills up */
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    atomic_store(&slow_hold, 1);
    atomic_store(&slow_ms, 0);
    command(p.node[0], w, W_FLOOD, s);
    atomic_store(&slow_hold, 0);
    /* once the kernel's buffers are full, a queue of 8 KiB takes a few
     * 2 KiB messages: the rest are refused, and the sender hears when it
     * drained */
    ck_assert_int_gt(atomic_load(&rec.busy), 0);
    ck_assert_int_gt(atomic_load(&rec.sent), 0);
    ck_assert(TU_WAIT(atomic_load(&rec.writable) >= 1, 2000));
    /* every accepted send arrives (or is counted as dropped there) */
    ck_assert(TU_WAIT((int)tu_stat(p.node[1], s).received == atomic_load(&rec.sent), 10000));
    ck_assert_uint_eq(tu_stat(p.node[1], s).dropped, 0);
    high_water = low_water = 0;
    pair_free(&p);
}
END_TEST

/* ---- a peer written from docs/cluster.md, "The protocol" ------------------ */

static int dial(const char *addr)
{
    int port = atoi(strrchr(addr, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void put_frame(int fd, sky__wire_head *h, const void *payload, size_t n)
{
    uint8_t buf[SKY__WIRE_HEAD + 1024];
    h->length = (uint32_t)n;
    sky__wire_head_encode(h, buf);
    memcpy(buf + SKY__WIRE_HEAD, payload, n);
    ck_assert_int_eq(send(fd, buf, SKY__WIRE_HEAD + n, MSG_NOSIGNAL), (ssize_t)(SKY__WIRE_HEAD + n));
}

typedef struct got {
    sky__wire_head h;
    uint8_t payload[1024];
    int n;
} got;

static int take(void *ud, const sky__wire_head *h, const uint8_t *payload)
{
    got *g = ud;
    g->h = *h;
    memcpy(g->payload, payload, h->length < sizeof g->payload ? h->length : sizeof g->payload);
    g->n++;
    return 1; /* one frame at a time */
}

/* The next frame that is not a tick; 0, or -1 if the connection closed. */
static int get_frame(int fd, sky__wire_dec *d, got *g)
{
    for (;;) {
        uint8_t byte;
        g->n = 0;
        ssize_t r = recv(fd, &byte, 1, 0); /* a byte at a time: no frame left behind */
        if (r <= 0) return -1;
        const char *why;
        ck_assert_int_ge(sky__wire_dec_feed(d, &byte, 1, take, g, &why), 0);
        if (g->n && g->h.kind != SKY__W_TICK) return 0;
    }
}

/* Connects to node a as member "b" and runs the handshake. */
static int handshake_as_b(pair *p, sky__wire_dec *d, const char *sec)
{
    int fd = dial(p->addr[0]);
    sky__wire_limits lim = {.max_message = 1 << 20, .frag_size = SKY__WIRE_FRAG_DEFAULT};
    sky__wire_dec_init(d, &lim);
    sky__hs_config hc = {.name = "b", .id = 2, .incarnation = 77, .secret = (const uint8_t *)sec,
                         .secret_len = strlen(sec), .peer_name = "a", .peer_id = 1};
    const char *why;
    sky__hs *hs = sky__hs_new(&hc, &why);
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n;
    ck_assert_int_eq(sky__hs_start(hs, out, &n), 0);
    sky__wire_head h = {.kind = SKY__W_HANDSHAKE};
    put_frame(fd, &h, out, n);
    got g;
    int rc = SKY__HS_MORE;
    while (rc == SKY__HS_MORE) {
        if (get_frame(fd, d, &g) != 0) break;
        ck_assert_int_eq(g.h.kind, SKY__W_HANDSHAKE);
        rc = sky__hs_input(hs, g.payload, g.h.length, out, &n);
        if (rc >= 0 && n) {
            h = (sky__wire_head){.kind = SKY__W_HANDSHAKE};
            put_frame(fd, &h, out, n);
        }
    }
    sky__hs_free(hs);
    return rc == SKY__HS_DONE ? fd : (close(fd), -1);
}

START_TEST(link_protocol_by_hand)
{
    snprintf(log_path, sizeof log_path, "/tmp/sky-link-XXXXXX");
    close(mkstemp(log_path));
    pair p;
    pair_init(&p);
    start_member(&p, 0, secret); /* node a; the test plays b */
    sky_addr_t svc = tu_spawn(p.node[0], "named", "svc");

    sky__wire_dec d;
    int fd = handshake_as_b(&p, &d, secret);
    ck_assert_int_ge(fd, 0);
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 2000));
    /* a request by name: the answer comes back with our session */
    uint8_t named[1 + 3 + 5] = {3, 's', 'v', 'c', 'h', 'e', 'l', 'l', 'o'};
    sky__wire_head h = {.kind = SKY__W_MESSAGE, .flags = SKY__WF_NAMED, .mail = SKY_REQUEST,
                        .source = SKY_ADDR(2, 9), .dest = SKY_ADDR(1, 0), .session = 41, .type_id = 1};
    put_frame(fd, &h, named, sizeof named);
    got g;
    ck_assert_int_eq(get_frame(fd, &d, &g), 0);
    ck_assert_int_eq(g.h.kind, SKY__W_MESSAGE);
    ck_assert_int_eq(g.h.mail, SKY_RESPONSE);
    ck_assert_int_eq(g.h.session, 41);
    ck_assert(g.h.source == svc && g.h.dest == SKY_ADDR(2, 9));
    ck_assert_int_eq(g.h.length, 5);
    ck_assert_int_eq(memcmp(g.payload, "hello", 5), 0);
    /* a request for an address that is not there: an error reply, ENOSVC */
    h = (sky__wire_head){.kind = SKY__W_MESSAGE, .mail = SKY_REQUEST, .source = SKY_ADDR(2, 9),
                         .dest = svc + 1000, .session = 42, .type_id = 1};
    put_frame(fd, &h, "x", 1);
    ck_assert_int_eq(get_frame(fd, &d, &g), 0);
    ck_assert_int_eq(g.h.mail, SKY_ERROR);
    ck_assert_int_eq(g.h.session, 42);
    sky__status st;
    ck_assert_int_eq(sky__status_decode(g.payload, g.h.length, &st), 0);
    ck_assert_int_eq(st.code, SKY_ENOSVC);
    /* a forged source: the link is dropped, nothing delivered */
    uint64_t before = tu_stat(p.node[0], svc).received;
    h = (sky__wire_head){.kind = SKY__W_MESSAGE, .mail = SKY_ONEWAY, .source = SKY_ADDR(3, 9), .dest = svc,
                         .type_id = 1};
    put_frame(fd, &h, "forged", 6);
    ck_assert_int_eq(get_frame(fd, &d, &g), -1);
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 0, 2000));
    ck_assert_uint_eq(tu_stat(p.node[0], svc).received, before);
    ck_assert(TU_WAIT(tu_file_count(log_path, "forged") == 1, 2000));
    close(fd);
    sky__wire_dec_deinit(&d);

    /* a wrong secret, three times: refused each time, one log line */
    for (int i = 0; i < 3; i++) {
        sky__wire_dec d2;
        ck_assert_int_lt(handshake_as_b(&p, &d2, "wrong"), 0);
        sky__wire_dec_deinit(&d2);
    }
    /* something that is not sky, three times: refused, one more line */
    for (int i = 0; i < 3; i++) {
        int g2 = dial(p.addr[0]);
        ck_assert_int_eq(send(g2, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL), 18);
        char buf[4096];
        while (recv(g2, buf, sizeof buf, 0) > 0) {
        }
        close(g2);
    }
    tu_sleep_ms(200);
    ck_assert_int_eq(tu_file_count(log_path, "handshake refused"), 1);
    ck_assert_int_eq(tu_file_count(log_path, "connection from 127.0.0.1"), 1);
    ck_assert_int_eq(tu_file_count(log_path, "not a sky cluster peer"), 1);
    ck_assert_uint_eq(tu_stat(p.node[0], svc).received, before);
    sky_node_free(p.node[0]);
    unlink(log_path);
    log_path[0] = '\0';
}
END_TEST

START_TEST(link_slow_receiver)
{
    static watch_rec rec;
    wrec = &rec;
    pair p;
    pair_up(&p);
    ck_assert_int_eq(sky_node_register_module(p.node[0], &watcher_module), 0);
    ck_assert_int_eq(sky_node_register_module(p.node[1], &slow_module), 0);
    sky_addr_t w = tu_spawn(p.node[0], "watcher", "");
    sky_addr_t s = tu_spawn(p.node[1], "slowpoke", "");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    command(p.node[0], w, W_TRICKLE, s);
    ck_assert_int_eq(atomic_load(&rec.sent), 300);
    /* a mailbox of 4 took all 300, a few at a time: the link waited, nothing dropped */
    ck_assert(TU_WAIT(tu_stat(p.node[1], s).received == 300, 5000));
    ck_assert_uint_eq(tu_stat(p.node[1], s).dropped, 0);
    ck_assert_int_eq(is_up(p.node[0], "b"), 1);
    pair_free(&p);
}
END_TEST

static int send_size(sky_node *n, sky_addr_t to, size_t size)
{
    sky_msg m = {.type_id = 1, .data = calloc(1, size), .size = size};
    return sky_node_send(n, to, &m);
}

/* The queue's count goes back to 0 once everything is written, whatever
 * the sizes: with a high water of 40 bytes, one byte left counted would
 * refuse every send after it. */
START_TEST(link_queue_drains_to_zero)
{
    high_water = 40, low_water = 10;
    pair p;
    pair_up(&p);
    sky_addr_t s = tu_spawn(p.node[1], "named", "");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    size_t sizes[] = {2 * 65536, 65536 + 1, 3 * 65536, 100, 65536 * 2 - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ck_assert_msg(TU_WAIT(send_size(p.node[0], s, sizes[i]) == 0, 2000), "send %zu of %zu bytes refused", i,
                      sizes[i]);
        ck_assert_msg(TU_WAIT(tu_stat(p.node[1], s).received == i + 1, 2000), "message %zu (%zu bytes): received %llu", i, sizes[i], (unsigned long long)tu_stat(p.node[1], s).received);
    }
    high_water = low_water = 0;
    pair_free(&p);
}
END_TEST

/* "orderly": counts oneways that come numbered 1, 2, 3... (a uint32 first)
 * and those that come out of turn. */
static atomic_int in_turn, out_of_turn;

static int orderly_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)ctx;
    uint32_t n = 0;
    if (m->kind != SKY_ONEWAY || m->size < sizeof n) return 0;
    memcpy(&n, m->data, sizeof n);
    if (n == (uint32_t)atomic_load(&in_turn) + 1) atomic_fetch_add(&in_turn, 1);
    else atomic_fetch_add(&out_of_turn, 1);
    return 0;
}

static const sky_module orderly_module = {"orderly", NULL, NULL, orderly_handle, NULL};

static int send_numbered(sky_node *n, sky_addr_t to, uint32_t num, size_t size)
{
    sky_msg m = {.type_id = 1, .data = calloc(1, size), .size = size};
    memcpy(m.data, &num, sizeof num);
    return sky_node_send(n, to, &m);
}

/* One pair's small and fragmented messages, mixed, arrive in the order
 * sent: a message over a fragment queued right behind a small one of its
 * pair (still in the small lane) waits for it. The receiver refuses a
 * pair's message that comes between the fragments of its big one by
 * ending the link, so a writer that let the big one go first lost both. */
START_TEST(link_pair_order_small_then_big)
{
    snprintf(log_path, sizeof log_path, "/tmp/sky-link-XXXXXX");
    close(mkstemp(log_path));
    atomic_store(&in_turn, 0);
    atomic_store(&out_of_turn, 0);
    pair p;
    pair_up(&p);
    ck_assert_int_eq(sky_node_register_module(p.node[1], &orderly_module), 0);
    sky_addr_t s = tu_spawn(p.node[1], "orderly", "");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    uint32_t num = 0;
    for (int i = 0; i < 300; i++) { /* two small, one big: the writer may have taken the first alone */
        for (int k = 0; k < 3; k++) {
            ck_assert(TU_WAIT(send_numbered(p.node[0], s, num + 1, k < 2 ? 10 : 65536 + 100) == 0, 2000));
            num++;
        }
    }
    ck_assert_msg(TU_WAIT(atomic_load(&in_turn) == (int)num, 5000), "%d of %u came in turn, %d out of turn",
                  atomic_load(&in_turn), num, atomic_load(&out_of_turn));
    ck_assert_int_eq(atomic_load(&out_of_turn), 0);
    ck_assert_int_eq(tu_file_count(log_path, "is down"), 0);
    pair_free(&p);
    unlink(log_path);
    log_path[0] = '\0';
}
END_TEST

static size_t count_nodes(sky_node *n) { return sky_node_nodes(n, NULL, 0); }

START_TEST(link_membership_update)
{
    pair p;
    pair_up(&p);
    sky_addr_t svc = tu_spawn(p.node[1], "named", "svc");
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    char err[256];
    sky_cluster_member m[3] = {p.members[0], p.members[1], {"c", 3, "127.0.0.1:1"}};
    ck_assert_int_eq(sky_node_cluster_update(p.node[0], m, 3, err, sizeof err), 0); /* c added */
    ck_assert(TU_WAIT(count_nodes(p.node[0]) == 3, 2000));
    ck_assert_int_eq(is_up(p.node[0], "c"), 0);
    sky_cluster_member without_b[2] = {p.members[0], m[2]};
    ck_assert_int_eq(sky_node_cluster_update(p.node[0], without_b, 2, err, sizeof err), 0); /* b removed */
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == -1, 2000));
    char out[64];
    ck_assert_int_eq(tu_call_text(p.node[0], svc, 1, "x", out, sizeof out), SKY_ENODEDOWN);
    ck_assert(sky_node_whereis(p.node[0], "svc@b") == SKY_ADDR_NONE);
    ck_assert_int_eq(sky_node_cluster_update(p.node[0], m, 3, err, sizeof err), 0); /* b back */
    ck_assert(TU_WAIT(is_up(p.node[0], "b") == 1, 3000));
    ck_assert_int_eq(tu_call_text(p.node[0], svc, 1, "back", out, sizeof out), 0);
    /* refused, nothing changed: b under another id; this node's own entry changed */
    m[1].id = 9;
    ck_assert_int_eq(sky_node_cluster_update(p.node[0], m, 3, err, sizeof err), SKY_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "removed first"));
    m[1].id = 2;
    m[0].address = "127.0.0.1:2";
    ck_assert_int_eq(sky_node_cluster_update(p.node[0], m, 3, err, sizeof err), SKY_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "must stay"));
    ck_assert_uint_eq(count_nodes(p.node[0]), 3);
    ck_assert_int_eq(is_up(p.node[0], "b"), 1);
    pair_free(&p);
}
END_TEST

Suite *link_suite(void)
{
    Suite *s = suite_create("link");
    TCase *tc = tu_tcase("link");
    tcase_add_test(tc, link_calls);
    tcase_add_test(tc, link_node_down);
    tcase_add_test(tc, link_wrong_secret);
    tcase_add_test(tc, link_config_refused);
    tcase_add_test(tc, link_process_model);
    tcase_add_test(tc, link_flow_control);
    tcase_add_test(tc, link_protocol_by_hand);
    tcase_add_test(tc, link_slow_receiver);
    tcase_add_test(tc, link_queue_drains_to_zero);
    tcase_add_test(tc, link_membership_update);
    tcase_add_test(tc, link_pair_order_small_then_big);
    suite_add_tcase(s, tc);
    return s;
}
