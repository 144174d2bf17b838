/* Cluster link frames: header codec and stream decoder (wire.h). */
#include "cluster/wire.h"
#include <stdlib.h>
#include <string.h>
#include "sky/alloc.h"
#include "sky/msg.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

void sky__wire_head_encode(const sky__wire_head *h, uint8_t out[SKY__WIRE_HEAD])
{
    out[0] = h->kind;
    out[1] = h->flags;
    put16(out + 2, h->mail);
    put32(out + 4, h->length);
    put64(out + 8, h->source);
    put64(out + 16, h->dest);
    put32(out + 24, h->session);
    put32(out + 28, h->type_id);
    put32(out + 32, h->msg_id);
    put32(out + 36, h->offset);
    put32(out + 40, h->total);
    put32(out + 44, 0);
}

static int fail(const char **why, const char *reason, int code)
{
    *why = reason;
    return code;
}

/* HANDSHAKE and TICK frames are the link's own: no addresses, no mail. */
static int check_control(const sky__wire_head *h, size_t max_len, size_t min_len, const char **why)
{
    if (h->mail || h->source || h->dest || h->session || h->type_id)
        return fail(why, "a handshake or tick frame with message fields set", SKY__W_ERESERVED);
    if (h->length > max_len || h->length < min_len)
        return fail(why, "a handshake or tick frame of the wrong length", SKY__W_ELENGTH);
    return 0;
}

static int check_fragment(const sky__wire_head *h, const sky__wire_limits *lim, const char **why)
{
    if (h->length == 0 || h->length > lim->frag_size)
        return fail(why, "a fragment's length is 0 or over the fragment size", SKY__W_ELENGTH);
    if (h->total > lim->max_message)
        return fail(why, "a fragmented message's total is over cluster_max_message", SKY__W_ELENGTH);
    if (h->total <= lim->frag_size)
        return fail(why, "a fragmented message no larger than one fragment", SKY__W_ELENGTH);
    if (h->offset >= h->total || h->length > h->total - h->offset)
        return fail(why, "a fragment past its message's total", SKY__W_EFIELD);
    return 0;
}

int sky__wire_head_decode(const uint8_t in[SKY__WIRE_HEAD], const sky__wire_limits *lim, sky__wire_head *h,
                          const char **why)
{
    h->kind = in[0];
    h->flags = in[1];
    h->mail = le16(in + 2);
    h->length = le32(in + 4);
    h->source = le64(in + 8);
    h->dest = le64(in + 16);
    h->session = le32(in + 24);
    h->type_id = le32(in + 28);
    h->msg_id = le32(in + 32);
    h->offset = le32(in + 36);
    h->total = le32(in + 40);
    if (h->kind < SKY__W_HANDSHAKE || h->kind > SKY__W_SIGNAL) return fail(why, "unknown frame kind", SKY__W_EKIND);
    if (h->flags & ~SKY__WF_NAMED || ((h->flags & SKY__WF_NAMED) && h->kind != SKY__W_MESSAGE &&
                                       h->kind != SKY__W_FRAGMENT))
        return fail(why, "reserved flag bits set", SKY__W_ERESERVED);
    if (le32(in + 44)) return fail(why, "reserved header bytes not zero", SKY__W_ERESERVED);
    if (h->kind != SKY__W_FRAGMENT && (h->msg_id || h->offset || h->total))
        return fail(why, "fragment fields set on a frame that is no fragment", SKY__W_ERESERVED);
    switch (h->kind) {
    case SKY__W_HANDSHAKE:
        return check_control(h, SKY__WIRE_HANDSHAKE_MAX, 1, why);
    case SKY__W_TICK:
        return check_control(h, 0, 0, why);
    case SKY__W_SIGNAL:
        if (h->mail < SKY__SIG_KILL || h->mail > SKY__SIG_EXIT_TO)
            return fail(why, "unknown signal operation", SKY__W_EFIELD);
        if (h->length > lim->frag_size) return fail(why, "a signal over the fragment size", SKY__W_ELENGTH);
        return 0;
    default: /* MESSAGE, FRAGMENT */
        if (h->mail < SKY_REQUEST || h->mail > SKY__W_TEXT)
            return fail(why, "a message's mail kind is not request, response, error, oneway or text", SKY__W_EFIELD);
        if (h->kind == SKY__W_FRAGMENT) return check_fragment(h, lim, why);
        if (h->length > lim->max_message)
            return fail(why, "a message over cluster_max_message", SKY__W_ELENGTH);
        return 0;
    }
}

/* ---- the stream decoder ------------------------------------------------ */

void sky__wire_dec_init(sky__wire_dec *d, const sky__wire_limits *lim)
{
    memset(d, 0, sizeof *d);
    d->lim = *lim;
}

void sky__wire_dec_deinit(sky__wire_dec *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The payload buffer: exactly this frame's size when it must grow; one
 * larger than a fragment is given back after its frame, so a single large
 * message does not pin its size for the link's life. */
static void reserve(sky__wire_dec *d, size_t need)
{
    if (need <= d->cap) return;
    free(d->buf);
    d->buf = sky_malloc(need);
    d->cap = need;
}

long sky__wire_dec_feed(sky__wire_dec *d, const uint8_t *p, size_t n, sky__wire_frame_fn *fn, void *ud,
                        const char **why)
{
    if (d->err) {
        *why = "the decoder failed before";
        return d->err;
    }
    size_t used = 0;
    while (used < n) {
        if (d->head_len < SKY__WIRE_HEAD) {
            size_t take = min_size(SKY__WIRE_HEAD - d->head_len, n - used);
            memcpy(d->head + d->head_len, p + used, take);
            d->head_len += take;
            used += take;
            if (d->head_len < SKY__WIRE_HEAD) break;
            int rc = sky__wire_head_decode(d->head, &d->lim, &d->h, why);
            if (rc) return d->err = rc;
            reserve(d, d->h.length);
            d->len = 0;
        }
        size_t take = min_size(d->h.length - d->len, n - used);
        if (take) memcpy(d->buf + d->len, p + used, take);
        d->len += take;
        used += take;
        if (d->len < d->h.length) break;
        d->head_len = 0;
        d->len = 0;
        int stop = fn(ud, &d->h, d->buf);
        if (d->cap > d->lim.frag_size) sky__wire_dec_deinit(d);
        if (stop) return (long)used;
    }
    return (long)used;
}

/* ---- the fragmenter ---------------------------------------------------- */

int sky__wire_needs_frag(size_t size, const sky__wire_limits *lim) { return size > lim->frag_size; }

void sky__frag_init(sky__frag *f, const sky__wire_head *msg, const uint8_t *data, uint32_t msg_id,
                    const sky__wire_limits *lim)
{
    f->h = *msg;
    f->h.kind = SKY__W_FRAGMENT;
    f->h.msg_id = msg_id;
    f->h.total = msg->length;
    f->data = data;
    f->size = msg->length;
    f->off = 0;
    f->frag_size = lim->frag_size;
}

int sky__frag_next(sky__frag *f, uint8_t out[SKY__WIRE_HEAD], const uint8_t **payload, size_t *len)
{
    if (f->off >= f->size) return 0;
    size_t n = min_size(f->frag_size, f->size - f->off);
    f->h.offset = (uint32_t)f->off;
    f->h.length = (uint32_t)n;
    sky__wire_head_encode(&f->h, out);
    *payload = f->data + f->off;
    *len = n;
    f->off += n;
    return 1;
}

/* ---- the reassembler --------------------------------------------------- */

/* What one unfinished message costs beyond its bytes, counted against the
 * cap so that many small claims cannot outgrow it either. */
#define PENDING_COST 128

typedef struct pending {
    sky__wire_head first; /* the first fragment's header */
    uint8_t *data;        /* first.total bytes */
    uint32_t got;
} pending;

struct sky__reasm {
    sky__wire_limits lim;
    size_t cap, used;
    pending *v; /* a few at a time: each holds more than a fragment */
    size_t n, alloc;
};

sky__reasm *sky__reasm_new(size_t cap, const sky__wire_limits *lim)
{
    sky__reasm *r = sky_calloc(1, sizeof *r);
    r->lim = *lim;
    r->cap = cap;
    return r;
}

void sky__reasm_free(sky__reasm *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->v[i].data);
    free(r->v);
    free(r);
}

size_t sky__reasm_used(const sky__reasm *r) { return r->used; }

static pending *find(const sky__reasm *r, uint64_t source, uint64_t dest)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].first.source == source && r->v[i].first.dest == dest) return &r->v[i];
    return NULL;
}

int sky__reasm_check_message(const sky__reasm *r, const sky__wire_head *h, const char **why)
{
    if (find(r, h->source, h->dest))
        return fail(why, "a message overtook its pair's unfinished fragmented message", SKY__W_ESEQ);
    return 0;
}

static int begin(sky__reasm *r, const sky__wire_head *h, pending **out, const char **why)
{
    if (h->offset != 0) return fail(why, "a fragment without its message's first fragment", SKY__W_ESEQ);
    if (h->total <= r->lim.frag_size || h->total > r->lim.max_message)
        return fail(why, "a fragmented message's total is out of range", SKY__W_ESEQ);
    if (r->used > r->cap || h->total + (size_t)PENDING_COST > r->cap - r->used)
        return fail(why, "reassembly over the link's memory cap", SKY__W_ECAP);
    if (r->n == r->alloc) {
        r->alloc = r->alloc ? r->alloc * 2 : 4;
        r->v = sky_realloc(r->v, r->alloc * sizeof *r->v);
    }
    pending *p = &r->v[r->n++];
    p->first = *h;
    p->data = sky_malloc(h->total);
    p->got = 0;
    r->used += h->total + PENDING_COST;
    *out = p;
    return 0;
}

int sky__reasm_add(sky__reasm *r, const sky__wire_head *h, const uint8_t *payload, sky__wire_head *out,
                   uint8_t **data, const char **why)
{
    if (h->kind != SKY__W_FRAGMENT || h->length == 0 || h->length > r->lim.frag_size)
        return fail(why, "not a fragment", SKY__W_ESEQ);
    pending *p = find(r, h->source, h->dest);
    if (!p) {
        int rc = begin(r, h, &p, why);
        if (rc) return rc;
    } else if (h->msg_id != p->first.msg_id) {
        return fail(why, "a new message id before its pair's last message finished", SKY__W_ESEQ);
    } else if (h->offset != p->got) {
        return fail(why, "a fragment out of sequence", SKY__W_ESEQ);
    } else if (h->total != p->first.total || h->mail != p->first.mail || h->session != p->first.session ||
               h->type_id != p->first.type_id || h->flags != p->first.flags) {
        return fail(why, "a fragment's fields differ from its message's first", SKY__W_ESEQ);
    }
    if (h->length > p->first.total - p->got) return fail(why, "a fragment past its message's total", SKY__W_ESEQ);
    memcpy(p->data + p->got, payload, h->length);
    p->got += h->length;
    if (p->got < p->first.total) return 0;
    *out = p->first;
    out->kind = SKY__W_MESSAGE;
    out->length = p->first.total;
    out->msg_id = out->offset = out->total = 0;
    *data = p->data;
    r->used -= p->first.total + PENDING_COST;
    *p = r->v[--r->n];
    return 1;
}
