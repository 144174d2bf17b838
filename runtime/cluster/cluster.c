/* The cluster's peers: what a sender on any thread does to reach another
 * node (sky__cluster_deliver), what arrives from a link (sky__peer_input),
 * and what a link going down owes the services here (sky__peer_down).
 * The sockets are link.c's. */
#include <netdb.h>
#include <sched.h>
#include <sys/socket.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "cluster/members.h"
#include "cluster/peer.h"
#include "core/ctx.h"
#include "core/deliver.h"
#include "core/handle.h"
#include "core/node.h"
#include "core/status.h"
#include "io/loop.h"
#include "sky/alloc.h"

#define NAMES_MAX (1u << 20) /* distinct "name@node" names a node resolves */
#define NAME_MAX_LEN 63      /* sky_register's limit */

uint64_t sky__cluster_now(sky__cluster *c) { return sky__node_now_ms(c->node); }

/* ---- creating ------------------------------------------------------------ */

static int resolve(const char *address, struct sockaddr_storage *sa, socklen_t *salen, int passive, char *err,
                   size_t errsize)
{
    char host[256], port[8];
    if (sky__member_split(address, host, sizeof host, port, sizeof port) != 0) {
        snprintf(err, errsize, "cluster: address '%s' is not \"host:port\"", address);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errsize, "cluster: address '%s': %s", address, gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static sky__peer *peer_new(sky__cluster *c, const sky_cluster_member *m, const struct sockaddr_storage *sa,
                           socklen_t salen)
{
    sky__peer *p = sky_calloc(1, sizeof *p);
    p->c = c;
    snprintf(p->name, sizeof p->name, "%s", m->name);
    snprintf(p->address, sizeof p->address, "%s", m->address);
    p->id = m->id;
    p->sa = *sa;
    p->salen = salen;
    pthread_mutex_init(&p->mu, NULL);
    atomic_init(&p->state, P_NEW);
    atomic_init(&p->dirty, 0);
    p->wfd = -1;
    p->backoff_ms = 100;
    return p;
}

static void add_peer(sky__cluster *c, sky__peer *p)
{
    pthread_mutex_lock(&c->mu);
    if (c->npeers == c->cappeers) {
        c->cappeers = c->cappeers ? c->cappeers * 2 : 8;
        c->peers = sky_realloc(c->peers, c->cappeers * sizeof *c->peers);
    }
    c->peers[c->npeers++] = p;
    atomic_store_explicit(&c->by_id[p->id], p, memory_order_release);
    pthread_mutex_unlock(&c->mu);
}

sky__cluster *sky__cluster_new(sky_node *node, const sky_config *cfg, char *err, size_t errsize)
{
    if (sodium_init() < 0) {
        snprintf(err, errsize, "cluster: libsodium cannot start");
        return NULL;
    }
    static atomic_uint_fast64_t serials;
    sky__cluster *c = sky_calloc(1, sizeof *c);
    c->node = node;
    c->serial = atomic_fetch_add(&serials, 1) + 1;
    c->lfd = -1;
    snprintf(c->self_name, sizeof c->self_name, "%s", cfg->node_name ? cfg->node_name : "sky");
    c->self_id = cfg->node_id;
    do randombytes_buf(&c->incarnation, sizeof c->incarnation);
    while (c->incarnation == 0);
    c->secret = sky_malloc(cfg->cluster_secret_len);
    memcpy(c->secret, cfg->cluster_secret, cfg->cluster_secret_len);
    c->secret_len = cfg->cluster_secret_len;
    c->tick_ms = cfg->cluster_tick_ms;
    c->down_ms = cfg->cluster_down_ms;
    c->high = cfg->cluster_high_water;
    c->low = cfg->cluster_low_water;
    c->lim = (sky__wire_limits){.max_message = cfg->cluster_max_message, .frag_size = SKY__WIRE_FRAG_DEFAULT};
    pthread_mutex_init(&c->mu, NULL);
    c->by_id = sky_calloc(65536, sizeof *c->by_id);
    c->rbuf = sky_malloc(256 * 1024);
    ev_async_init(&c->async, NULL); /* its callback is link.c's, set when it starts */
    c->ev = sky__loop_ev(sky__node_loop(node));
    for (size_t i = 0; i < cfg->cluster_size; i++) {
        const sky_cluster_member *m = &cfg->cluster[i];
        if (strcmp(m->name, c->self_name) == 0) {
            snprintf(c->self_address, sizeof c->self_address, "%s", m->address);
            continue;
        }
        struct sockaddr_storage sa;
        socklen_t salen;
        if (resolve(m->address, &sa, &salen, 0, err, errsize) != 0) goto fail;
        add_peer(c, peer_new(c, m, &sa, salen));
    }
    if (sky__link_listen(c, err, errsize) != 0) goto fail;
    return c;
fail:
    sky__cluster_free(c);
    return NULL;
}

int sky__cluster_start(sky__cluster *c)
{
    return sky__loop_post(sky__node_loop(c->node), sky__link_start, c) == 0 ? 0 : SKY_ESTOPPED;
}

void sky__cluster_stop(sky__cluster *c)
{
    if (sky__loop_post(sky__node_loop(c->node), sky__link_stop, c) != 0) sky__link_stop(NULL, c);
}

static void big_free(sky__big *b)
{
    free(b->data);
    sky_free(b->after);
    sky_free(b);
}

/* Empties p's lanes (under p->mu); returns the bytes dropped. */
static size_t drop_queue(sky__peer *p)
{
    size_t n = p->queued;
    p->out_len = 0;
    while (p->big_head) {
        sky__big *b = p->big_head;
        p->big_head = b->next;
        big_free(b);
    }
    p->big_tail = NULL;
    p->queued = 0;
    return n;
}

void sky__cluster_free(sky__cluster *c)
{
    if (!c) return;
    while (c->conns) sky__link_close(c->conns, NULL);
    sky__link_reap(c);
    if (c->lfd >= 0) close(c->lfd);
    for (size_t i = 0; i < c->npeers; i++) {
        sky__peer *p = c->peers[i];
        drop_queue(p);
        sky_free(p->out);
        sky_free(p->wbuf);
        sky_free(p->pend);
        sky_free(p->recs);
        sky_free(p->watchers);
        sky_free(p->refused);
        pthread_mutex_destroy(&p->mu);
        sky_free(p);
    }
    for (size_t i = 0; i < c->nnames; i++) sky_free(c->names[i]);
    sky_free(c->names);
    sky_free(c->peers);
    sky_free((void *)c->by_id);
    sky_free(c->rbuf);
    if (c->secret) sodium_memzero(c->secret, c->secret_len);
    sky_free(c->secret);
    pthread_mutex_destroy(&c->mu);
    sky_free(c);
}

/* ---- names: "name@node" ------------------------------------------------- */

sky__peer *sky__cluster_peer_named(sky__cluster *c, const char *name, size_t len)
{
    sky__peer *found = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npeers && !found; i++)
        if (strlen(c->peers[i]->name) == len && memcmp(c->peers[i]->name, name, len) == 0 &&
            atomic_load(&c->peers[i]->state) != P_GONE)
            found = c->peers[i];
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* The last "name@node" answers this thread gave: stubs resolve their
 * default name on every call, and the answer never changes while the
 * membership does not (c->gen). */
#define WHERE_CACHE 4
static _Thread_local struct {
    uint64_t serial, gen; /* the cluster's (not its address: one may be freed and another made there) */
    sky_addr_t a;
    char full[NAME_MAX_LEN + 1 + 256];
} where_cache[WHERE_CACHE];
static _Thread_local unsigned where_next;

static sky_addr_t resolve_name(sky__cluster *c, const char *name, size_t namelen, const char *at, int *rc);

sky_addr_t sky__cluster_whereis(sky_node *node, const char *name, size_t namelen, const char *at, int *rc)
{
    sky__cluster *c = sky__node_hooks(node)->cluster;
    uint64_t gen = atomic_load_explicit(&c->gen, memory_order_acquire);
    for (unsigned i = 0; i < WHERE_CACHE; i++)
        if (where_cache[i].serial == c->serial && where_cache[i].gen == gen && strcmp(where_cache[i].full, name) == 0) {
            *rc = 0;
            return where_cache[i].a;
        }
    sky_addr_t a = resolve_name(c, name, namelen, at, rc);
    if (a != SKY_ADDR_NONE && strlen(name) < sizeof where_cache[0].full) {
        unsigned i = where_next++ % WHERE_CACHE;
        where_cache[i].serial = c->serial;
        where_cache[i].gen = gen;
        where_cache[i].a = a;
        strcpy(where_cache[i].full, name);
    }
    return a;
}

static sky_addr_t resolve_name(sky__cluster *c, const char *name, size_t namelen, const char *at, int *rc)
{
    sky__peer *p = sky__cluster_peer_named(c, at, strlen(at));
    if (!p) {
        *rc = SKY_ENOENT;
        return SKY_ADDR_NONE;
    }
    if (namelen == 0 || namelen > NAME_MAX_LEN) {
        *rc = SKY_EINVAL;
        return SKY_ADDR_NONE;
    }
    sky_addr_t a = SKY_ADDR_NONE;
    pthread_mutex_lock(&c->mu);
    size_t i = 0;
    while (i < c->nnames && !(strlen(c->names[i]) == namelen && memcmp(c->names[i], name, namelen) == 0)) i++;
    if (i == c->nnames && c->nnames < NAMES_MAX) {
        if (c->nnames == c->capnames) {
            c->capnames = c->capnames ? c->capnames * 2 : 16;
            c->names = sky_realloc(c->names, c->capnames * sizeof *c->names);
        }
        c->names[c->nnames] = sky_malloc(namelen + 1);
        memcpy(c->names[c->nnames], name, namelen);
        c->names[c->nnames++][namelen] = '\0';
    }
    if (i < c->nnames) a = SKY_ADDR(p->id, SKY__NAME_SERIAL | i);
    pthread_mutex_unlock(&c->mu);
    *rc = a ? 0 : SKY_ELIMIT;
    return a;
}

/* The name a name address stands for (stable: names are never freed). */
static const char *name_of(sky__cluster *c, sky_addr_t a)
{
    uint64_t i = SKY_ADDR_SERIAL(a) & ~SKY__NAME_SERIAL;
    const char *n = NULL;
    pthread_mutex_lock(&c->mu);
    if (i < c->nnames) n = c->names[i];
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- the records: calls waiting, links and monitors across ----------------- */

static size_t pend_hash(sky_addr_t a, uint32_t s, size_t mask)
{
    uint64_t h = (a ^ ((uint64_t)s << 32) ^ s) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 20) & mask;
}

static void pend_put(sky__peer *p, sky_addr_t caller, uint32_t session, uint64_t now);

static void pend_grow(sky__peer *p)
{
    sky__pend *old = p->pend;
    size_t oldcap = p->cappend;
    p->cappend = oldcap ? oldcap * 2 : 64;
    p->pend = sky_calloc(p->cappend, sizeof *p->pend);
    p->npend = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].caller) pend_put(p, old[i].caller, old[i].session, old[i].at_ms);
    sky_free(old);
}

static void pend_put(sky__peer *p, sky_addr_t caller, uint32_t session, uint64_t now)
{
    if ((p->npend + 1) * 4 > p->cappend * 3) pend_grow(p);
    size_t mask = p->cappend - 1, i = pend_hash(caller, session, mask);
    while (p->pend[i].caller && !(p->pend[i].caller == caller && p->pend[i].session == session)) i = (i + 1) & mask;
    if (!p->pend[i].caller) p->npend++;
    p->pend[i] = (sky__pend){caller, session, now};
}

/* Removes slot i, shifting back the entries after it (no tombstones). */
static void pend_del_at(sky__peer *p, size_t i)
{
    size_t mask = p->cappend - 1;
    p->pend[i].caller = 0;
    p->npend--;
    for (size_t j = (i + 1) & mask; p->pend[j].caller; j = (j + 1) & mask) {
        size_t home = pend_hash(p->pend[j].caller, p->pend[j].session, mask);
        /* j's entry may move to i if i lies between its home and j */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            p->pend[i] = p->pend[j];
            p->pend[j].caller = 0;
            i = j;
        }
    }
}

static void pend_del(sky__peer *p, sky_addr_t caller, uint32_t session)
{
    if (!p->cappend) return;
    size_t mask = p->cappend - 1, i = pend_hash(caller, session, mask);
    for (; p->pend[i].caller; i = (i + 1) & mask)
        if (p->pend[i].caller == caller && p->pend[i].session == session) {
            pend_del_at(p, i);
            return;
        }
}

static void rec_add(sky__peer *p, int type, sky_addr_t local, sky_addr_t remote, uint32_t ref)
{
    for (size_t i = 0; i < p->nrecs; i++)
        if (p->recs[i].type == type && p->recs[i].local == local && p->recs[i].remote == remote &&
            p->recs[i].ref == ref)
            return;
    if (p->nrecs == p->caprecs) {
        p->caprecs = p->caprecs ? p->caprecs * 2 : 8;
        p->recs = sky_realloc(p->recs, p->caprecs * sizeof *p->recs);
    }
    p->recs[p->nrecs++] = (sky__rec){type, local, remote, ref};
}

static void rec_del(sky__peer *p, int type, sky_addr_t local, sky_addr_t remote, uint32_t ref)
{
    for (size_t i = 0; i < p->nrecs; i++)
        if (p->recs[i].type == type && p->recs[i].local == local && p->recs[i].remote == remote &&
            p->recs[i].ref == ref) {
            p->recs[i] = p->recs[--p->nrecs];
            return;
        }
}

/* A signal between `local` (here) and `remote` (p's node) changes what a
 * node down owes; `out`: it goes out from local, else it came in. */
static void rec_signal(sky__peer *p, int kind, sky_addr_t local, sky_addr_t remote, uint32_t ref, int out)
{
    switch (kind) {
    case SKY__LINK: rec_add(p, REC_LINK, local, remote, 0); break;
    case SKY__UNLINK:
    case SKY__EXITSIG: rec_del(p, REC_LINK, local, remote, 0); break;
    case SKY__MONITOR: rec_add(p, out ? REC_MONITOR : REC_WATCHED, local, remote, ref); break;
    case SKY__DEMONITOR: rec_del(p, out ? REC_MONITOR : REC_WATCHED, local, remote, ref); break;
    case SKY__DOWNSIG: rec_del(p, out ? REC_WATCHED : REC_MONITOR, local, remote, ref); break;
    default: break;
    }
}

/* ---- sending ------------------------------------------------------------- */

static int bounded(int kind) { return kind == SKY_REQUEST || kind == SKY_ONEWAY || kind == SKY_TEXT; }

static void append(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n) c *= 2;
        *buf = sky_realloc(*buf, c);
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

/* The pending big message of pair src->dst, newest, or NULL. */
static sky__big *big_of(sky__peer *p, sky_addr_t src, sky_addr_t dst)
{
    sky__big *found = NULL;
    for (sky__big *b = p->big_head; b; b = b->next)
        if (b->src == src && b->dst == dst) found = b;
    return found;
}

/* Queues one frame (under p->mu): head h, then `pre` (a name prefix) and
 * `data`. A message over a fragment goes to the big lane; anything of a
 * pair whose big message is not all out waits behind it. */
static void enqueue(sky__peer *p, sky__wire_head *h, const uint8_t *pre, size_t prelen, const void *data,
                    size_t size)
{
    size_t total = prelen + size;
    h->length = (uint32_t)total;
    if (h->kind == SKY__W_MESSAGE && sky__wire_needs_frag(total, &p->c->lim)) {
        sky__big *b = sky_calloc(1, sizeof *b);
        b->data = sky_malloc(total);
        if (prelen) memcpy(b->data, pre, prelen);
        if (size) memcpy(b->data + prelen, data, size);
        b->src = h->source;
        b->dst = h->dest;
        b->ready_at = p->out_takes + (p->out_len > 0);
        sky__frag_init(&b->f, h, b->data, ++p->next_msg_id, &p->c->lim);
        if (p->big_tail) p->big_tail->next = b;
        else p->big_head = b;
        p->big_tail = b;
        size_t frag = p->c->lim.frag_size;
        p->queued += total + SKY__WIRE_HEAD * ((total + frag - 1) / frag); /* exactly what will be written */
        return;
    }
    uint8_t head[SKY__WIRE_HEAD];
    sky__wire_head_encode(h, head);
    sky__big *b = h->kind == SKY__W_MESSAGE && p->big_head ? big_of(p, h->source, h->dest) : NULL;
    uint8_t **buf = b ? &b->after : &p->out;
    size_t *len = b ? &b->after_len : &p->out_len, *cap = b ? &b->after_cap : &p->out_cap;
    append(buf, len, cap, head, sizeof head);
    if (prelen) append(buf, len, cap, pre, prelen);
    if (size) append(buf, len, cap, data, size);
    p->queued += SKY__WIRE_HEAD + total;
}

/* Marks p as having bytes to write; the first mark wakes the loop. */
static void mark_dirty(sky__peer *p)
{
    if (!atomic_exchange_explicit(&p->dirty, 1, memory_order_acq_rel)) sky__link_wake(p->c);
}

static void take_small(sky__peer *p);
static void write_direct(sky__peer *p, int fd);

#define REFUSED_MAX 4096    /* senders told when a link drains; more are not */
#define DIRECT_GAP_NS 20000 /* a sender writes itself only after this long with nothing queued */

/* Remembers a sender refused for a full queue (under p->mu). */
static void note_refused(sky__peer *p, sky_addr_t who)
{
    if (!who || p->nrefused >= REFUSED_MAX) return;
    for (size_t i = 0; i < p->nrefused; i++)
        if (p->refused[i] == who) return;
    if (p->nrefused == p->caprefused) {
        p->caprefused = p->caprefused ? p->caprefused * 2 : 8;
        p->refused = sky_realloc(p->refused, p->caprefused * sizeof *p->refused);
    }
    p->refused[p->nrefused++] = who;
}

/* The frame header for mail m to `to` on p's link, and the name prefix
 * of a name address (pre, *prelen); *size the payload bytes that go.
 * Returns 0 or the send's error. */
static int frame_of(sky__cluster *c, sky__peer *p, sky_addr_t to, const sky__mail *m, sky__wire_head *h,
                    uint8_t pre[1 + NAME_MAX_LEN], size_t *prelen, size_t *size)
{
    int kind = m->kind;
    /* from outside any service (sky_node_send, sky_node_kill): this node's
     * serial 0, so the frame still says which node it is from */
    *h = (sky__wire_head){.source = m->source ? m->source : SKY_ADDR(c->self_id, 0), .dest = to,
                          .session = m->session, .type_id = m->type_id};
    *prelen = 0;
    *size = m->size;
    if (kind >= SKY_REQUEST && kind <= SKY_ONEWAY) {
        h->kind = SKY__W_MESSAGE;
        h->mail = (uint16_t)kind;
    } else if (kind == SKY_TEXT) {
        h->kind = SKY__W_MESSAGE;
        h->mail = SKY__W_TEXT;
    } else if (sky__is_signal(kind) && kind <= SKY__EXITTO) {
        h->kind = SKY__W_SIGNAL;
        h->mail = (uint16_t)(kind - SKY__KILL + 1);
        if (*size > c->lim.frag_size) *size = c->lim.frag_size; /* an exit's text */
    } else {
        return SKY_EINVAL; /* timers, socket events: never for another node */
    }
    if (!p) return SKY_ENOSVC;
    if (SKY_ADDR_SERIAL(to) & SKY__NAME_SERIAL) {
        const char *name = h->kind == SKY__W_MESSAGE ? name_of(c, to) : NULL; /* links and monitors want an address */
        if (!name) return SKY_ENOSVC;
        *prelen = 1 + strlen(name);
        pre[0] = (uint8_t)(*prelen - 1);
        memcpy(pre + 1, name, *prelen - 1);
        h->flags = SKY__WF_NAMED;
        h->dest = SKY_ADDR(p->id, 0);
    }
    return *prelen + *size > c->lim.max_message ? SKY_ELIMIT : 0;
}

int sky__cluster_deliver(sky_node *node, sky_addr_t to, sky__mail *m)
{
    sky__cluster *c = sky__node_hooks(node)->cluster;
    sky__peer *p = atomic_load_explicit(&c->by_id[SKY_ADDR_NODE(to)], memory_order_acquire);
    sky__wire_head h;
    uint8_t pre[1 + NAME_MAX_LEN];
    size_t prelen, size;
    int kind = m->kind, rc = frame_of(c, p, to, m, &h, pre, &prelen, &size);
    if (rc < 0) {
        sky__mail_free(m);
        return rc;
    }
    pthread_mutex_lock(&p->mu);
    int st = atomic_load_explicit(&p->state, memory_order_relaxed), direct = 0, fd = -1;
    if (st == P_DOWN || st == P_GONE) {
        rc = SKY_ENODEDOWN;
    } else if (bounded(kind) && p->queued >= c->high) {
        rc = SKY_EBUSY;
        p->busy++;
        note_refused(p, m->source);
    } else {
        /* an idle link: nothing queued, nobody writing, no flush pending,
         * and nothing queued for a while: a lone call or answer goes at
         * once, a stream of them through the loop thread, many a write */
        uint64_t now_ns = sky__mono_ns();
        direct = st == P_UP && p->wfd >= 0 && p->writer == W_NONE && p->out_len == 0 && !p->big_head &&
                 !atomic_load_explicit(&p->dirty, memory_order_relaxed) && now_ns - p->last_enq_ns >= DIRECT_GAP_NS;
        p->last_enq_ns = now_ns;
        enqueue(p, &h, pre, prelen, sky__mail_data(m), size);
        if (kind == SKY_REQUEST && m->source) pend_put(p, m->source, m->session, sky__cluster_now(c));
        if (h.kind == SKY__W_SIGNAL) rec_signal(p, kind, m->source, to, m->session, 1);
        if (direct && p->out_len && !p->big_head) {
            p->writer = W_WORKER;
            fd = p->wfd;
            take_small(p);
        } else {
            direct = 0;
        }
    }
    pthread_mutex_unlock(&p->mu);
    sky__mail_free(m);
    if (direct) write_direct(p, fd);
    else if (rc == 0) mark_dirty(p);
    return rc;
}

/* ---- the writer's side (loop thread) --------------------------------------- */

/* The writer takes the small lane, whole: swaps buffers (under p->mu). */
static void take_small(sky__peer *p)
{
    uint8_t *b = p->wbuf;
    size_t cap = p->wcap;
    p->wbuf = p->out;
    p->wcap = p->out_cap;
    p->wlen = p->out_len;
    p->woff = 0;
    p->out = b;
    p->out_cap = cap;
    p->out_len = 0;
    p->out_takes++;
    p->next_big = 1;
}

int sky__peer_take(sky__peer *p)
{
    p->wlen = p->woff = 0;
    pthread_mutex_lock(&p->mu);
    /* alternate the lanes, but a big message whose turn it is not yet
     * (the small lane still holds frames queued before it) waits */
    int frag = p->big_head && (p->out_len == 0 || (p->next_big && p->out_takes >= p->big_head->ready_at));
    if (!frag && p->out_len) {
        take_small(p);
    } else if (frag) { /* one fragment of the oldest big message */
        sky__big *b = p->big_head;
        uint8_t head[SKY__WIRE_HEAD];
        const uint8_t *data;
        size_t n;
        if (sky__frag_next(&b->f, head, &data, &n)) {
            append(&p->wbuf, &p->wlen, &p->wcap, head, sizeof head);
            append(&p->wbuf, &p->wlen, &p->wcap, data, n);
        }
        if (b->f.off >= b->f.size) { /* all out: what waited behind it goes next */
            if (b->after_len) append(&p->wbuf, &p->wlen, &p->wcap, b->after, b->after_len);
            p->big_head = b->next;
            if (!p->big_head) p->big_tail = NULL;
            big_free(b);
        }
        p->next_big = 0;
    }
    if (p->wlen == 0) atomic_store_explicit(&p->dirty, 0, memory_order_release);
    pthread_mutex_unlock(&p->mu);
    return p->wlen > 0;
}

/* n bytes of wbuf were written (under p->mu): counts them off; a drained
 * queue owes its refused senders a word, returned in *tell (free it). */
static size_t count_written(sky__peer *p, size_t n, sky_addr_t **tell)
{
    size_t ntell = 0;
    *tell = NULL;
    p->queued = p->queued > n ? p->queued - n : 0;
    if (p->nrefused && p->queued <= p->c->low) {
        *tell = p->refused;
        ntell = p->nrefused;
        p->refused = NULL;
        p->nrefused = p->caprefused = 0;
    }
    atomic_store_explicit(&p->last_tx_ms, sky__cluster_now(p->c), memory_order_relaxed);
    return ntell;
}

static void tell_writable(sky__peer *p, sky_addr_t *tell, size_t ntell)
{
    for (size_t i = 0; i < ntell; i++) {
        sky__mail m;
        sky__mail_copy(&m, SKY_NODE, SKY_NODE_WRITABLE, p->name, strlen(p->name));
        (void)sky__deliver(p->c->node, tell[i], &m);
    }
    sky_free(tell);
}

void sky__peer_written(sky__peer *p, size_t n)
{
    sky_addr_t *tell;
    pthread_mutex_lock(&p->mu);
    size_t ntell = count_written(p, n, &tell);
    pthread_mutex_unlock(&p->mu);
    tell_writable(p, tell, ntell);
}

int sky__peer_write_begin(sky__peer *p)
{
    pthread_mutex_lock(&p->mu);
    int ok = p->writer != W_WORKER;
    if (ok) p->writer = W_LOOP;
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -1;
}

void sky__peer_write_end(sky__peer *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->writer == W_LOOP) p->writer = W_NONE;
    pthread_mutex_unlock(&p->mu);
}

void sky__peer_set_fd(sky__peer *p, int fd)
{
    pthread_mutex_lock(&p->mu);
    while (p->writer == W_WORKER) { /* a send with MSG_DONTWAIT: it is quick */
        pthread_mutex_unlock(&p->mu);
        sched_yield();
        pthread_mutex_lock(&p->mu);
    }
    p->wfd = fd;
    p->writer = W_NONE;
    p->wlen = p->woff = 0;
    p->next_big = 0;
    pthread_mutex_unlock(&p->mu);
}

/* The sender writes its frame itself (see peer.h, `writer`): wbuf holds
 * the small lane it took under p->mu, fd the link. What it cannot write,
 * and what came meanwhile, the loop thread writes. */
static void write_direct(sky__peer *p, int fd)
{
    ssize_t n = send(fd, p->wbuf, p->wlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    sky_addr_t *tell = NULL;
    size_t ntell = 0;
    pthread_mutex_lock(&p->mu);
    if (n > 0) {
        p->woff = (size_t)n;
        ntell = count_written(p, (size_t)n, &tell);
    }
    if (p->woff == p->wlen) p->wlen = p->woff = 0;
    int more = p->wlen || p->out_len || p->big_head;
    p->writer = W_NONE;
    if (more) atomic_store_explicit(&p->dirty, 1, memory_order_release);
    pthread_mutex_unlock(&p->mu);
    tell_writable(p, tell, ntell);
    if (more) sky__link_wake(p->c); /* the loop may have looked while we wrote */
}

/* ---- arriving (loop thread) ------------------------------------------------ */

/* Answers a request that arrived from p with an error from `from`. */
static void answer_error(sky__peer *p, sky_addr_t from, sky_addr_t to, uint32_t session, int code, const char *text)
{
    size_t size;
    void *data = sky__status_encode(code, text, &size);
    sky__mail m;
    sky__mail_own(&m, SKY_ERROR, 0, data, size);
    m.source = from;
    m.session = session;
    (void)sky__cluster_deliver(p->c->node, to, &m);
}

/* Sends signal `kind` from local `from` back to remote `to` (a link or a
 * monitor of a service that is not here: noproc). */
static void answer_signal(sky__peer *p, sky_addr_t from, sky_addr_t to, int kind, uint32_t ref, int reason)
{
    sky__mail m;
    sky__mail_copy(&m, kind, (uint32_t)reason, NULL, 0);
    m.source = from;
    m.session = ref;
    (void)sky__cluster_deliver(p->c->node, to, &m);
}

/* A oneway refused for a full mailbox waits in k (see peer.h), in the
 * mail sky__deliver_local_or_keep gave back. */
int sky__peer_unpark(sky__conn *k)
{
    if (!k->paused) return 0;
    if (sky__deliver_local_or_keep(k->c->node, k->parked_to, &k->parked) == SKY_EBUSY) return 1;
    k->paused = 0; /* in, or its receiver died meanwhile */
    return 0;
}

void sky__peer_drop_parked(sky__conn *k)
{
    if (k->paused) sky__mail_free(&k->parked);
    k->paused = 0;
}

/* Returns 0, or 1 if the mail was parked. */
static int message_in(sky__peer *p, sky__conn *k, const sky__wire_head *h, const uint8_t *data, size_t len,
                      uint8_t *owned)
{
    sky__cluster *c = p->c;
    sky_addr_t dest = h->dest;
    int kind = h->mail == SKY__W_TEXT ? SKY_TEXT : h->mail;
    char name[NAME_MAX_LEN + 1] = "";
    if (h->flags & SKY__WF_NAMED) { /* checked by the caller: a length byte and the name fit */
        size_t n = data[0];
        memcpy(name, data + 1, n);
        name[n] = '\0';
        data += 1 + n;
        len -= 1 + n;
        dest = sky__handles_whereis(sky__node_handles(c->node), name);
    }
    if (kind == SKY_RESPONSE || kind == SKY_ERROR) {
        pthread_mutex_lock(&p->mu);
        pend_del(p, dest, h->session);
        pthread_mutex_unlock(&p->mu);
    }
    int rc = SKY_ENOSVC;
    if (dest != SKY_ADDR_NONE) {
        sky__mail m;
        if (owned && !(h->flags & SKY__WF_NAMED)) sky__mail_own(&m, kind, h->type_id, owned, len), owned = NULL;
        else sky__mail_copy(&m, kind, h->type_id, data, len);
        m.source = h->source;
        m.session = h->session;
        rc = kind == SKY_ONEWAY || kind == SKY_TEXT ? sky__deliver_local_or_keep(c->node, dest, &m)
                                                     : sky__deliver(c->node, dest, &m);
        if (rc == SKY_EBUSY && (kind == SKY_ONEWAY || kind == SKY_TEXT)) {
            k->parked = m; /* given back whole */
            k->parked_to = dest;
            k->paused = 1;
            free(owned);
            return 1;
        }
    }
    free(owned);
    if (rc < 0 && kind == SKY_REQUEST) {
        char text[400];
        if (name[0]) snprintf(text, sizeof text, "no service named '%s' on node '%s'", name, c->self_name);
        else snprintf(text, sizeof text, "%s (on node '%s')", sky_strerror(rc), c->self_name);
        answer_error(p, dest ? dest : h->dest, h->source, h->session, rc, text);
    }
    return 0;
}

static void signal_in(sky__peer *p, const sky__wire_head *h, const uint8_t *data, size_t len)
{
    int kind = SKY__KILL + h->mail - 1;
    sky__mail m;
    sky__mail_copy(&m, kind, h->type_id, data, len);
    m.source = h->source;
    m.session = h->session;
    int rc = sky__deliver(p->c->node, h->dest, &m);
    if (rc == 0) {
        pthread_mutex_lock(&p->mu);
        rec_signal(p, kind, h->dest, h->source, h->session, 0);
        pthread_mutex_unlock(&p->mu);
    } else if (kind == SKY__LINK) {
        answer_signal(p, h->dest, h->source, SKY__EXITSIG, 0, SKY_REASON_NOPROC);
    } else if (kind == SKY__MONITOR) {
        answer_signal(p, h->dest, h->source, SKY__DOWNSIG, h->session, SKY_REASON_NOPROC);
    }
}

int sky__peer_input(sky__peer *p, sky__conn *k, const sky__wire_head *h, const uint8_t *payload, const char **why)
{
    if (h->kind == SKY__W_TICK) return 0;
    if (h->kind == SKY__W_HANDSHAKE) {
        *why = "a handshake frame on a link that is up";
        return -1;
    }
    if (SKY_ADDR_NODE(h->source) != p->id) {
        *why = "a frame whose source is not the peer's (forged)";
        return -1;
    }
    if (SKY_ADDR_NODE(h->dest) != p->c->self_id) {
        *why = "a frame for another node";
        return -1;
    }
    if (h->kind == SKY__W_SIGNAL) {
        signal_in(p, h, payload, h->length);
        return 0;
    }
    const uint8_t *data = payload;
    uint8_t *owned = NULL;
    sky__wire_head whole = *h;
    if (h->kind == SKY__W_FRAGMENT) {
        int rc = sky__reasm_add(k->reasm, h, payload, &whole, &owned, why);
        if (rc < 0) return -1;
        if (rc == 0) return 0;
        data = owned;
    } else if (sky__reasm_check_message(k->reasm, h, why) != 0) {
        return -1;
    }
    if (whole.flags & SKY__WF_NAMED) {
        size_t n = whole.length ? data[0] : 0;
        if (whole.length == 0 || n == 0 || n > NAME_MAX_LEN || 1 + n > whole.length) {
            free(owned);
            *why = "a named message without a valid name";
            return -1;
        }
    }
    return message_in(p, k, &whole, data, whole.length, owned);
}

/* ---- up and down (loop thread) ---------------------------------------------- */

static void tell_watchers(sky__peer *p, int up);

void sky__peer_up(sky__peer *p, uint64_t incarnation)
{
    uint64_t now = sky__cluster_now(p->c);
    p->incarnation = incarnation;
    p->last_rx_ms = p->since_ms = now;
    atomic_store(&p->last_tx_ms, now);
    p->backoff_ms = 100;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->state, P_UP);
    pthread_mutex_unlock(&p->mu);
    sky__log(p->c->node, SKY_ADDR_NONE, SKY_LOG_INFO, "cluster: node '%s' (id %u) is up", p->name, (unsigned)p->id);
    mark_dirty(p);
    tell_watchers(p, 1);
}

static void deliver_signal(sky_node *node, sky_addr_t to, sky_addr_t from, int kind, uint32_t ref, int reason,
                           const char *text)
{
    sky__mail m;
    sky__mail_copy(&m, kind, (uint32_t)reason, text, text ? strlen(text) : 0);
    m.source = from;
    m.session = ref;
    (void)sky__deliver(node, to, &m);
}

void sky__peer_down(sky__peer *p, int state, const char *why)
{
    sky__cluster *c = p->c;
    pthread_mutex_lock(&p->mu);
    int was = atomic_load(&p->state);
    atomic_store(&p->state, state);
    size_t lost = drop_queue(p);
    sky__pend *pend = p->pend;
    size_t cappend = p->cappend;
    sky__rec *recs = p->recs;
    size_t nrecs = p->nrecs;
    p->pend = NULL;
    p->npend = p->cappend = 0;
    p->recs = NULL;
    p->nrecs = p->caprecs = 0;
    if (lost) p->lost++;
    pthread_mutex_unlock(&p->mu);
    p->since_ms = sky__cluster_now(c);
    if (p->conn) sky__link_close(p->conn, NULL);
    char text[400];
    snprintf(text, sizeof text, "node '%s' is down: %s", p->name, why);
    int code = state == P_GONE && atomic_load(&c->closed) ? SKY_ESTOPPED : SKY_ENODEDOWN;
    for (size_t i = 0; i < cappend; i++)
        if (pend[i].caller) {
            size_t size;
            void *data = sky__status_encode(code, text, &size);
            sky__mail m;
            sky__mail_own(&m, SKY_ERROR, 0, data, size);
            m.source = SKY_ADDR(p->id, 0);
            m.session = pend[i].session;
            (void)sky__deliver(c->node, pend[i].caller, &m);
        }
    for (size_t i = 0; i < nrecs; i++) {
        sky__rec *r = &recs[i];
        if (r->type == REC_LINK)
            deliver_signal(c->node, r->local, r->remote, SKY__EXITSIG, 0, SKY_REASON_NOCONNECTION, text);
        else if (r->type == REC_MONITOR)
            deliver_signal(c->node, r->local, r->remote, SKY__DOWNSIG, r->ref, SKY_REASON_NOCONNECTION, text);
        else
            deliver_signal(c->node, r->local, r->remote, SKY__DEMONITOR, r->ref, 0, NULL);
    }
    sky_free(pend);
    sky_free(recs);
    if (was != state && !atomic_load(&c->closed)) {
        sky__log(c->node, SKY_ADDR_NONE, SKY_LOG_WARN, "cluster: %s%s", text,
                 lost ? " (queued mail dropped)" : "");
        if (was != P_DOWN) tell_watchers(p, 0);
    }
}

/* Requests whose answer has not come by the longest deadline a call may
 * have are forgotten: their callers gave up long ago. */
void sky__peer_prune(sky__peer *p, uint64_t now)
{
    uint64_t horizon = (uint64_t)sky__node_max_timeout_ms(p->c->node) + (uint64_t)p->c->down_ms;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->cappend;) {
        if (p->pend[i].caller && now - p->pend[i].at_ms > horizon) {
            pend_del_at(p, i); /* may move a later entry here: look again */
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&p->mu);
}

void sky__peer_tick(sky__peer *p, uint64_t now)
{
    if (now - atomic_load_explicit(&p->last_tx_ms, memory_order_relaxed) < (uint64_t)p->c->tick_ms) return;
    sky__wire_head h = {.kind = SKY__W_TICK};
    pthread_mutex_lock(&p->mu);
    if (p->out_len == 0) enqueue(p, &h, NULL, 0, NULL, 0);
    pthread_mutex_unlock(&p->mu);
    mark_dirty(p);
}

/* ---- watching nodes ------------------------------------------------------- */

int sky_monitor_node(sky_ctx *ctx, const char *node)
{
    sky__cluster *c = sky__node_hooks(sky_ctx_node(ctx))->cluster;
    if (!node) return SKY_EINVAL;
    sky__peer *p = c ? sky__cluster_peer_named(c, node, strlen(node)) : NULL;
    if (!p) return SKY_ENOENT;
    sky_addr_t self = sky_self(ctx);
    pthread_mutex_lock(&p->mu);
    size_t i = 0;
    while (i < p->nwatchers && p->watchers[i] != self) i++;
    if (i == p->nwatchers) {
        if (p->nwatchers == p->capwatchers) {
            p->capwatchers = p->capwatchers ? p->capwatchers * 2 : 4;
            p->watchers = sky_realloc(p->watchers, p->capwatchers * sizeof *p->watchers);
        }
        p->watchers[p->nwatchers++] = self;
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sky_demonitor_node(sky_ctx *ctx, const char *node)
{
    sky__cluster *c = sky__node_hooks(sky_ctx_node(ctx))->cluster;
    sky__peer *p = c && node ? sky__cluster_peer_named(c, node, strlen(node)) : NULL;
    if (!p) return SKY_ENOENT;
    sky_addr_t self = sky_self(ctx);
    int rc = SKY_ENOENT;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nwatchers; i++)
        if (p->watchers[i] == self) {
            p->watchers[i] = p->watchers[--p->nwatchers];
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Tells p's watchers it went up or down; forgets those that died. */
static void tell_watchers(sky__peer *p, int up)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->nwatchers;
    sky_addr_t *w = n ? sky_malloc(n * sizeof *w) : NULL;
    if (n) memcpy(w, p->watchers, n * sizeof *w);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++) {
        sky__mail m;
        sky__mail_copy(&m, SKY_NODE, up ? SKY_NODE_UP : SKY_NODE_DOWN, p->name, strlen(p->name));
        if (sky__deliver(p->c->node, w[i], &m) == SKY_ENOSVC) {
            pthread_mutex_lock(&p->mu);
            for (size_t j = 0; j < p->nwatchers; j++)
                if (p->watchers[j] == w[i]) {
                    p->watchers[j] = p->watchers[--p->nwatchers];
                    break;
                }
            pthread_mutex_unlock(&p->mu);
        }
    }
    sky_free(w);
}

/* ---- what anyone may ask ---------------------------------------------------- */

size_t sky_node_nodes(sky_node *node, sky_node_info *out, size_t max)
{
    sky__cluster *c = sky__node_hooks(node)->cluster;
    if (max > 0) {
        memset(&out[0], 0, sizeof out[0]);
        snprintf(out[0].name, sizeof out[0].name, "%s", sky_node_name(node));
        out[0].id = sky_node_id(node);
        out[0].up = out[0].self = 1;
    }
    size_t n = 1;
    if (!c) return n;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npeers; i++) {
        sky__peer *p = c->peers[i];
        int st = atomic_load(&p->state);
        if (st == P_GONE) continue;
        if (n < max) {
            memset(&out[n], 0, sizeof out[n]);
            snprintf(out[n].name, sizeof out[n].name, "%s", p->name);
            out[n].id = p->id;
            out[n].up = st == P_UP;
        }
        n++;
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

typedef struct update {
    sky__cluster *c;
    sky__peer **added;
    size_t nadded;
    sky__peer **removed;
    size_t nremoved;
} update;

static void apply_update(struct ev_loop *ev, void *arg)
{
    update *u = arg;
    atomic_fetch_add_explicit(&u->c->gen, 1, memory_order_release); /* whereis answers may change */
    for (size_t i = 0; ev && i < u->nremoved; i++) sky__peer_down(u->removed[i], P_GONE, "removed from the cluster");
    for (size_t i = 0; i < u->nadded; i++) {
        if (ev) u->added[i]->since_ms = sky__cluster_now(u->c);
        add_peer(u->c, u->added[i]);
    }
    sky_free(u->added);
    sky_free(u->removed);
    sky_free(u);
}

int sky_node_cluster_update(sky_node *node, const sky_cluster_member *m, size_t n, char *err, size_t errsize)
{
    sky__cluster *c = sky__node_hooks(node)->cluster;
    if (!c) {
        snprintf(err, errsize, "the node was not started with a cluster");
        return SKY_ENOTSUP;
    }
    if (sky__members_check(m, n, err, errsize) != 0) return SKY_EINVAL;
    const sky_cluster_member *me = sky__members_find(m, n, c->self_name);
    if (!me || me->id != c->self_id || strcmp(me->address, c->self_address) != 0) {
        snprintf(err, errsize, "cluster: this node's entry ('%s', id %u, %s) must stay as it is", c->self_name,
                 (unsigned)c->self_id, c->self_address);
        return SKY_EINVAL;
    }
    update *u = sky_calloc(1, sizeof *u);
    u->c = c;
    u->added = sky_calloc(n ? n : 1, sizeof *u->added);
    pthread_mutex_lock(&c->mu);
    u->removed = sky_calloc(c->npeers ? c->npeers : 1, sizeof *u->removed);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (&m[i] == me) continue;
        sky__peer *p = atomic_load(&c->by_id[m[i].id]);
        if (p && atomic_load(&p->state) == P_GONE) p = NULL; /* removed before: a new peer takes its id */
        if (p && strcmp(p->name, m[i].name) == 0 && strcmp(p->address, m[i].address) == 0) continue; /* unchanged */
        for (size_t j = 0; !p && j < c->npeers; j++) /* the same name under another id */
            if (strcmp(c->peers[j]->name, m[i].name) == 0 && atomic_load(&c->peers[j]->state) != P_GONE)
                p = c->peers[j];
        if (p) {
            snprintf(err, errsize, "cluster: member '%s' (id %u, %s) was '%s' (id %u, %s): a changed member must be "
                     "removed first", m[i].name, (unsigned)m[i].id, m[i].address, p->name, (unsigned)p->id, p->address);
            rc = SKY_EINVAL;
            break;
        }
        struct sockaddr_storage sa;
        socklen_t salen;
        pthread_mutex_unlock(&c->mu);
        if (resolve(m[i].address, &sa, &salen, 0, err, errsize) != 0) rc = SKY_EINVAL;
        else u->added[u->nadded++] = peer_new(c, &m[i], &sa, salen);
        pthread_mutex_lock(&c->mu);
    }
    for (size_t i = 0; i < c->npeers && rc == 0; i++) {
        sky__peer *p = c->peers[i];
        if (atomic_load(&p->state) != P_GONE && !sky__members_find(m, n, p->name)) u->removed[u->nremoved++] = p;
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == 0 && sky__loop_post(sky__node_loop(c->node), apply_update, u) == 0) return 0;
    for (size_t i = 0; i < u->nadded; i++) {
        pthread_mutex_destroy(&u->added[i]->mu);
        sky_free(u->added[i]);
    }
    sky_free(u->added);
    sky_free(u->removed);
    sky_free(u);
    return rc ? rc : SKY_ESTOPPED;
}
