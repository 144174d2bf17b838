/* The cluster's insides, shared by cluster.c (the peers, their send
 * queues and records, what any thread calls) and link.c (the sockets, on
 * the loop thread). */
#ifndef SKY__PEER_H
#define SKY__PEER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include "cluster/cluster.h"
#include "cluster/handshake.h"
#include "cluster/wire.h"
#include "core/mail.h"
#include "sky/node.h"

/* A peer's state, as senders see it. */
enum {
    P_NEW,  /* never up since this node started (or was added): mail waits, bounded */
    P_UP,   /* its link is up */
    P_DOWN, /* its link went down: mail fails at once with SKY_ENODEDOWN */
    P_GONE  /* removed from the membership (or the node is stopping) */
};

/* What a link outlives: a call waiting for its answer, a link or a
 * monitor between a service here and one there. On node down each gets
 * its SKY_ENODEDOWN error or noconnection signal. */
typedef struct sky__pend {
    sky_addr_t caller; /* 0: empty slot */
    uint32_t session;
    uint64_t at_ms;    /* when the request was queued */
} sky__pend;

enum { REC_LINK = 1, REC_MONITOR, REC_WATCHED };

typedef struct sky__rec {
    int type;
    sky_addr_t local, remote;
    uint32_t ref; /* REC_MONITOR: the local monitor's ref; REC_WATCHED: the remote's */
} sky__rec;

/* A message larger than a fragment, waiting to be sent in pieces; frames
 * of its pair queued after it wait in `after` (per-pair order). Frames
 * queued before it in the small lane (of its pair among them) go out
 * first: its first fragment waits until the writer has taken the small
 * lane `ready_at` times. */
typedef struct sky__big {
    struct sky__big *next;
    sky__frag f;
    uint8_t *data;
    sky_addr_t src, dst;
    uint8_t *after;
    size_t after_len, after_cap;
    uint64_t ready_at;
} sky__big;

typedef struct sky__conn sky__conn;

typedef struct sky__peer {
    struct sky__cluster *c;
    char name[256];
    uint16_t id;
    struct sockaddr_storage sa;
    socklen_t salen;
    char address[300];

    pthread_mutex_t mu; /* guards everything down to `dirty` */
    _Atomic int state;
    uint8_t *out; /* frames of the small lane, in order */
    size_t out_len, out_cap;
    uint64_t out_takes; /* times the writer took the small lane */
    sky__big *big_head, *big_tail;
    size_t queued; /* bytes not yet written: lanes, bigs and the writer's */
    sky__pend *pend; /* open addressing, cap a power of 2 */
    size_t npend, cappend;
    sky__rec *recs;
    size_t nrecs, caprecs;
    uint32_t next_msg_id;
    sky_addr_t *watchers; /* services here that sky_monitor_node()'d it */
    size_t nwatchers, capwatchers;
    sky_addr_t *refused; /* senders refused with SKY_EBUSY since the queue was last below low water */
    size_t nrefused, caprefused;
    uint64_t busy, lost; /* refused for a full queue; dropped at node down */
    _Atomic int dirty;   /* something to write: the loop thread looks */

    /* the loop thread's alone */
    sky__conn *conn; /* the link's connection: dialling, in handshake or up */
    uint8_t *wbuf;   /* what is being written now */
    size_t wlen, woff, wcap;
    int next_big;    /* the writer takes a fragment next */
    uint64_t incarnation;
    uint64_t since_ms, last_rx_ms, last_tx_ms, next_dial_ms;
    unsigned backoff_ms;
} sky__peer;

struct sky__conn {
    struct sky__cluster *c;
    int fd;
    ev_io rio, wio;
    int outbound, connecting, up, closing;
    int heard; /* a first byte came */
    /* a oneway that found its receiver's mailbox full waits here, and
     * the link is not read until it is in (the sender's queue fills and
     * its senders get SKY_EBUSY): nothing is dropped */
    sky__mail parked;
    sky_addr_t parked_to;
    int paused;
    uint8_t *stash; /* bytes read after the parked frame, fed on resuming */
    size_t stash_len, stash_off;
    ev_timer retry;
    unsigned retry_ms;
    sky__peer *peer; /* outbound: from the start; inbound: once its HELLO named it */
    sky__wire_dec dec;
    sky__hs *hs;
    sky__reasm *reasm;
    uint64_t born_ms;
    char who[320];/* host:port of the other end, for the log */
    sky__conn *next;
};

#define SKY__LOG_KEYS 64

struct sky__cluster {
    sky_node *node;
    char self_name[256];
    uint16_t self_id;
    char self_address[300];
    uint64_t incarnation;
    uint8_t *secret;
    size_t secret_len;
    int tick_ms, down_ms;
    size_t high, low;
    sky__wire_limits lim;

    pthread_mutex_t mu;           /* guards the peer list, the names and nodes() */
    _Atomic(sky__peer *) *by_id;  /* 65536 slots, set once per id, never cleared */
    sky__peer **peers;
    size_t npeers, cappeers;
    _Atomic uint64_t gen; /* bumped by every change of the membership */
    uint64_t serial;      /* this cluster among all a process made, from 1 */
    char **names; /* name addresses: index -> name */
    size_t nnames, capnames;

    /* the loop thread's alone */
    struct ev_loop *ev;
    int lfd;
    ev_io lio;
    ev_async async;
    ev_timer tick;
    sky__conn *conns;
    sky__conn *dead; /* closed, freed by sky__link_reap */
    uint8_t *rbuf;
    int started;
    _Atomic int closed;
    struct {
        char key[400];
        uint64_t at;
    } logged[SKY__LOG_KEYS]; /* sky__link_log's once-a-minute lines */
};

/* cluster.c, for link.c */
uint64_t sky__cluster_now(struct sky__cluster *c);
void sky__peer_up(sky__peer *p, uint64_t incarnation);
void sky__peer_down(sky__peer *p, int state, const char *why);
void sky__peer_tick(sky__peer *p, uint64_t now);
void sky__peer_prune(sky__peer *p, uint64_t now);
sky__peer *sky__cluster_peer_named(struct sky__cluster *c, const char *name, size_t len);
/* A frame that arrived on p's link (up), checked by the decoder. Returns 0,
 * 1 when a oneway was parked in k (stop reading, retry with
 * sky__peer_unpark), or -1 with *why set: drop the link. */
int sky__peer_input(sky__peer *p, sky__conn *k, const sky__wire_head *h, const uint8_t *payload, const char **why);
/* Delivers k's parked mail. Returns 0 (delivered or gone: k is free to
 * read again) or 1 (still refused). */
int sky__peer_unpark(sky__conn *k);
void sky__peer_drop_parked(sky__conn *k);

/* The writer's next bytes: fills p->wbuf from the lanes. 0 if nothing. */
int sky__peer_take(sky__peer *p);
/* p->wbuf's bytes were written: count them off. */
void sky__peer_written(sky__peer *p, size_t n);

/* link.c, for cluster.c */
void sky__link_wake(struct sky__cluster *c);
/* Closes k; with `why`, logs it, and if k was p's link up, p goes down.
 * k is freed later, by sky__link_reap. */
void sky__link_close(sky__conn *k, const char *why);
void sky__link_reap(struct sky__cluster *c);
int sky__link_listen(struct sky__cluster *c, char *err, size_t errsize);
void sky__link_start(struct ev_loop *ev, void *arg);
void sky__link_stop(struct ev_loop *ev, void *arg);
/* A warning, at most once a minute for the same `who` and `kind`. */
void sky__link_log(struct sky__cluster *c, const char *who, const char *kind, const char *fmt, ...) SKY_PRINTF(4, 5);

#endif
