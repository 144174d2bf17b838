/* The cluster link's frames and handshake (runtime/cluster/wire.c,
 * handshake.c): header round trips, every way the decoder refuses bytes,
 * fragments interleaved and reassembled under a memory cap, and the
 * handshake proven both ways or refused (wrong secret, wrong peer,
 * replay, reflection, tampering, truncation). Pure code: no node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/handshake.h"
#include "cluster/wire.h"
#include "testutil.h"

static const sky__wire_limits LIM = {SKY__WIRE_MAX_DEFAULT, SKY__WIRE_FRAG_DEFAULT};

/* ---- headers ------------------------------------------------------------ */

static sky__wire_head message_head(uint64_t src, uint64_t dst, uint32_t len)
{
    sky__wire_head h = {0};
    h.kind = SKY__W_MESSAGE;
    h.mail = SKY_REQUEST;
    h.length = len;
    h.source = src;
    h.dest = dst;
    h.session = 0x01020304;
    h.type_id = 0xa1b2c3d4;
    return h;
}

static int head_eq(const sky__wire_head *a, const sky__wire_head *b)
{
    return a->kind == b->kind && a->flags == b->flags && a->mail == b->mail && a->length == b->length &&
           a->source == b->source && a->dest == b->dest && a->session == b->session && a->type_id == b->type_id &&
           a->msg_id == b->msg_id && a->offset == b->offset && a->total == b->total;
}

START_TEST(head_round_trip)
{
    sky__wire_head hs[5] = {{0}};
    hs[0].kind = SKY__W_HANDSHAKE, hs[0].length = 300;
    hs[1].kind = SKY__W_TICK;
    hs[2] = message_head(SKY_ADDR(1, 0x123456789abcULL), SKY_ADDR(65535, 7), 1000);
    hs[3] = message_head(SKY_ADDR(2, 1), SKY_ADDR(3, 2), 65536);
    hs[3].kind = SKY__W_FRAGMENT, hs[3].mail = SKY_ONEWAY, hs[3].msg_id = 0xfffffffe;
    hs[3].offset = 65536, hs[3].total = 200000;
    hs[4].kind = SKY__W_SIGNAL, hs[4].mail = SKY__SIG_DOWN, hs[4].source = 9, hs[4].dest = 10, hs[4].length = 5;
    for (int i = 0; i < 5; i++) {
        uint8_t b[SKY__WIRE_HEAD];
        sky__wire_head back;
        const char *why = NULL;
        sky__wire_head_encode(&hs[i], b);
        ck_assert_int_eq(sky__wire_head_decode(b, &LIM, &back, &why), 0);
        ck_assert_msg(head_eq(&hs[i], &back), "kind %d does not round-trip", hs[i].kind);
    }
    /* the layout, byte by byte (little-endian; README.md's table) */
    uint8_t b[SKY__WIRE_HEAD];
    sky__wire_head_encode(&hs[3], b);
    ck_assert_int_eq(b[0], SKY__W_FRAGMENT);
    ck_assert_int_eq(b[1], 0);
    ck_assert_int_eq(b[2] | b[3] << 8, SKY_ONEWAY);
    ck_assert_int_eq(b[4] | b[5] << 8 | b[6] << 16, 65536);
    ck_assert_int_eq(b[8], 1);
    ck_assert_int_eq(b[14], 2);             /* node id in the source's top 16 bits */
    ck_assert_int_eq(b[22], 3);
    ck_assert_int_eq(b[24], 0x04);          /* session */
    ck_assert_int_eq(b[31], 0xa1);          /* type id's top byte */
    ck_assert_int_eq(b[32], 0xfe);          /* msg id */
    ck_assert_int_eq(b[38], 1);             /* offset 65536 */
    ck_assert_int_eq(b[40] | b[41] << 8 | b[42] << 16, 200000);
    for (int i = 44; i < 48; i++) ck_assert_int_eq(b[i], 0);
}
END_TEST

/* ---- the decoder -------------------------------------------------------- */

typedef struct got {
    int n;
    sky__wire_head h[16];
    uint64_t sum[16];
    int stop_after; /* stop feeding after this many frames (0: never) */
} got;

static int on_frame(void *ud, const sky__wire_head *h, const uint8_t *p)
{
    got *g = ud;
    ck_assert_int_lt(g->n, 16);
    g->h[g->n] = *h;
    g->sum[g->n] = 0;
    for (uint32_t i = 0; i < h->length; i++) g->sum[g->n] = g->sum[g->n] * 31 + p[i];
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

/* A stream of four frames, one of each kind that has no fragment. */
static size_t four_frames(uint8_t *out)
{
    size_t n = 0;
    sky__wire_head h[4] = {{0}};
    h[0].kind = SKY__W_HANDSHAKE, h[0].length = 40;
    h[1].kind = SKY__W_TICK;
    h[2] = message_head(SKY_ADDR(1, 5), SKY_ADDR(2, 6), 1000);
    h[3].kind = SKY__W_SIGNAL, h[3].mail = SKY__SIG_EXIT, h[3].length = 3;
    for (int i = 0; i < 4; i++) {
        sky__wire_head_encode(&h[i], out + n);
        n += SKY__WIRE_HEAD;
        for (uint32_t j = 0; j < h[i].length; j++) out[n++] = (uint8_t)(j * 7 + (uint32_t)i);
    }
    return n;
}

START_TEST(dec_any_cutting)
{
    uint8_t stream[4 * SKY__WIRE_HEAD + 1043];
    size_t size = four_frames(stream);
    ck_assert_uint_eq(size, sizeof stream);
    got whole = {0};
    sky__wire_dec d;
    const char *why = NULL;
    sky__wire_dec_init(&d, &LIM);
    ck_assert_int_eq(sky__wire_dec_feed(&d, stream, size, on_frame, &whole, &why), (long)size);
    sky__wire_dec_deinit(&d);
    ck_assert_int_eq(whole.n, 4);
    ck_assert_int_eq(whole.h[1].kind, SKY__W_TICK);
    ck_assert_int_eq(whole.h[2].length, 1000);
    for (size_t step = 1; step <= 61; step += 6) {
        got cut = {0};
        sky__wire_dec_init(&d, &LIM);
        for (size_t off = 0; off < size; off += step) {
            size_t n = size - off < step ? size - off : step;
            ck_assert_int_eq(sky__wire_dec_feed(&d, stream + off, n, on_frame, &cut, &why), (long)n);
        }
        sky__wire_dec_deinit(&d);
        ck_assert_int_eq(cut.n, 4);
        for (int i = 0; i < 4; i++) {
            ck_assert(head_eq(&whole.h[i], &cut.h[i]));
            ck_assert(whole.sum[i] == cut.sum[i]);
        }
    }
}
END_TEST

START_TEST(dec_stop)
{
    uint8_t stream[4 * SKY__WIRE_HEAD + 1043];
    size_t size = four_frames(stream);
    got g = {0};
    g.stop_after = 2;
    sky__wire_dec d;
    const char *why = NULL;
    sky__wire_dec_init(&d, &LIM);
    long used = sky__wire_dec_feed(&d, stream, size, on_frame, &g, &why);
    ck_assert_int_eq(used, 2 * SKY__WIRE_HEAD + 40); /* the handshake and the tick */
    g.stop_after = 0;
    ck_assert_int_eq(sky__wire_dec_feed(&d, stream + used, size - (size_t)used, on_frame, &g, &why),
                     (long)(size - (size_t)used));
    ck_assert_int_eq(g.n, 4);
    sky__wire_dec_deinit(&d);
}
END_TEST

/* Feeds one header, byte by byte; returns the decoder's verdict on its
 * last byte (and that no earlier byte got one). */
static long feed_head(sky__wire_dec *d, const sky__wire_head *h, const sky__wire_limits *lim, const char **why)
{
    uint8_t b[SKY__WIRE_HEAD];
    got g = {0};
    sky__wire_head_encode(h, b);
    sky__wire_dec_init(d, lim);
    for (int i = 0; i < SKY__WIRE_HEAD - 1; i++) ck_assert_int_eq(sky__wire_dec_feed(d, b + i, 1, on_frame, &g, why), 1);
    long rc = sky__wire_dec_feed(d, b + SKY__WIRE_HEAD - 1, 1, on_frame, &g, why);
    ck_assert_int_eq(g.n, 0);
    return rc;
}

START_TEST(dec_length_refused_before_allocation)
{
    sky__wire_limits lim = {1 << 20, 4096};
    sky__wire_dec d;
    const char *why = NULL;
    sky__wire_head h = message_head(1, 2, (1 << 20) + 1);
    ck_assert_int_eq(feed_head(&d, &h, &lim, &why), SKY__W_ELENGTH);
    ck_assert_ptr_null(d.buf);
    ck_assert_uint_eq(d.cap, 0);
    ck_assert_ptr_nonnull(why);
    h.length = 0xffffffffu;
    ck_assert_int_eq(feed_head(&d, &h, &lim, &why), SKY__W_ELENGTH);
    ck_assert_ptr_null(d.buf);
    /* the decoder stays failed */
    uint8_t more[SKY__WIRE_HEAD] = {SKY__W_TICK};
    got g = {0};
    ck_assert_int_eq(sky__wire_dec_feed(&d, more, sizeof more, on_frame, &g, &why), SKY__W_ELENGTH);
    ck_assert_int_eq(g.n, 0);
    sky__wire_dec_deinit(&d);
    /* at the limit: taken, its room reserved only now, given back after */
    h.length = 1 << 20;
    ck_assert_int_eq(feed_head(&d, &h, &lim, &why), 1);
    ck_assert_uint_eq(d.cap, 1 << 20);
    uint8_t *body = calloc(1, 1 << 20);
    got g2 = {0};
    ck_assert_int_eq(sky__wire_dec_feed(&d, body, 1 << 20, on_frame, &g2, &why), 1 << 20);
    ck_assert_int_eq(g2.n, 1);
    ck_assert_uint_eq(d.cap, 0);
    free(body);
    sky__wire_dec_deinit(&d);
    /* a fragment's own length against the fragment size, its total against the max */
    sky__wire_head f = message_head(1, 2, 4097);
    f.kind = SKY__W_FRAGMENT, f.total = 10000;
    ck_assert_int_eq(feed_head(&d, &f, &lim, &why), SKY__W_ELENGTH);
    ck_assert_ptr_null(d.buf);
    f.length = 4096, f.total = (1 << 20) + 1;
    ck_assert_int_eq(feed_head(&d, &f, &lim, &why), SKY__W_ELENGTH);
    /* a signal is no larger than a fragment; a handshake no larger than 512 */
    sky__wire_head s = {0};
    s.kind = SKY__W_SIGNAL, s.mail = SKY__SIG_EXIT, s.length = 4097;
    ck_assert_int_eq(feed_head(&d, &s, &lim, &why), SKY__W_ELENGTH);
    sky__wire_head hk = {0};
    hk.kind = SKY__W_HANDSHAKE, hk.length = SKY__WIRE_HANDSHAKE_MAX + 1;
    ck_assert_int_eq(feed_head(&d, &hk, &lim, &why), SKY__W_ELENGTH);
    ck_assert_ptr_null(d.buf);
    sky__wire_dec_deinit(&d);
}
END_TEST

/* Decodes 48 bytes; returns the code. */
static int decode(const uint8_t *b)
{
    sky__wire_head h;
    const char *why = NULL;
    int rc = sky__wire_head_decode(b, &LIM, &h, &why);
    if (rc) ck_assert_msg(why && *why, "an error without a reason");
    return rc;
}

/* An encoded header with one byte changed. */
static int decode_with(const sky__wire_head *h, int at, uint8_t v)
{
    uint8_t b[SKY__WIRE_HEAD];
    sky__wire_head_encode(h, b);
    b[at] = v;
    return decode(b);
}

START_TEST(dec_bad_headers)
{
    sky__wire_head m = message_head(1, 2, 10);
    ck_assert_int_eq(decode_with(&m, 0, m.kind), 0);
    ck_assert_int_eq(decode_with(&m, 0, 0), SKY__W_EKIND);
    ck_assert_int_eq(decode_with(&m, 0, 6), SKY__W_EKIND);
    ck_assert_int_eq(decode_with(&m, 0, 255), SKY__W_EKIND);
    ck_assert_int_eq(decode_with(&m, 1, SKY__WF_NAMED), 0); /* a message may be for a name */
    for (int bit = 1; bit < 8; bit++) ck_assert_int_eq(decode_with(&m, 1, (uint8_t)(1 << bit)), SKY__W_ERESERVED);
    for (int i = 44; i < 48; i++) ck_assert_int_eq(decode_with(&m, i, 1), SKY__W_ERESERVED);
    ck_assert_int_eq(decode_with(&m, 2, 0), SKY__W_EFIELD);        /* mail kind 0 */
    ck_assert_int_eq(decode_with(&m, 2, SKY_TIMER), SKY__W_EFIELD); /* not a mail kind for a message */
    ck_assert_int_eq(decode_with(&m, 3, 1), SKY__W_EFIELD);
    ck_assert_int_eq(decode_with(&m, 32, 1), SKY__W_ERESERVED);    /* fragment fields on a message */
    ck_assert_int_eq(decode_with(&m, 36, 1), SKY__W_ERESERVED);
    ck_assert_int_eq(decode_with(&m, 40, 1), SKY__W_ERESERVED);

    sky__wire_head t = {0};
    t.kind = SKY__W_TICK;
    ck_assert_int_eq(decode_with(&t, 0, SKY__W_TICK), 0);
    ck_assert_int_eq(decode_with(&t, 4, 1), SKY__W_ELENGTH);       /* a tick has no payload */
    ck_assert_int_eq(decode_with(&t, 8, 1), SKY__W_ERESERVED);     /* nor addresses */
    ck_assert_int_eq(decode_with(&t, 2, 1), SKY__W_ERESERVED);
    sky__wire_head hk = {0};
    hk.kind = SKY__W_HANDSHAKE;
    ck_assert_int_eq(decode_with(&hk, 4, 0), SKY__W_ELENGTH);      /* an empty handshake frame */
    ck_assert_int_eq(decode_with(&hk, 4, 40), 0);

    sky__wire_head s = {0};
    s.kind = SKY__W_SIGNAL, s.mail = SKY__SIG_LINK;
    ck_assert_int_eq(decode_with(&s, 2, 0), SKY__W_EFIELD);
    ck_assert_int_eq(decode_with(&s, 2, 9), SKY__W_EFIELD);
    ck_assert_int_eq(decode_with(&s, 2, SKY__SIG_EXIT_TO), 0);
    ck_assert_int_eq(decode_with(&s, 1, SKY__WF_NAMED), SKY__W_ERESERVED); /* signals go to addresses */
    ck_assert_int_eq(decode_with(&m, 2, SKY__W_TEXT), 0);
    ck_assert_int_eq(decode_with(&m, 2, SKY__W_TEXT + 1), SKY__W_EFIELD);

    sky__wire_head f = message_head(1, 2, 100);
    f.kind = SKY__W_FRAGMENT, f.total = 100000, f.offset = 0;
    ck_assert_int_eq(decode_with(&f, 0, SKY__W_FRAGMENT), 0);
    f.offset = 99950; /* 50 bytes left, 100 claimed */
    ck_assert_int_eq(decode_with(&f, 0, SKY__W_FRAGMENT), SKY__W_EFIELD);
    f.offset = 100000;
    ck_assert_int_eq(decode_with(&f, 0, SKY__W_FRAGMENT), SKY__W_EFIELD);
    f.offset = 0, f.length = 0;
    ck_assert_int_eq(decode_with(&f, 0, SKY__W_FRAGMENT), SKY__W_ELENGTH);
    f.length = 100, f.total = SKY__WIRE_FRAG_DEFAULT; /* would have fit in one message */
    ck_assert_int_eq(decode_with(&f, 0, SKY__W_FRAGMENT), SKY__W_ELENGTH);
}
END_TEST

/* ---- fragments ---------------------------------------------------------- */

/* One link's receiving side: the decoder feeds the reassembler. */
typedef struct rx {
    sky__reasm *r;
    int n;
    sky__wire_head h[32];
    uint8_t *data[32];
    int ticks;
    const char *why;
    int err;
} rx;

static int rx_frame(void *ud, const sky__wire_head *h, const uint8_t *p)
{
    rx *x = ud;
    if (h->kind == SKY__W_TICK) {
        x->ticks++;
        return 0;
    }
    if (h->kind == SKY__W_MESSAGE) {
        x->err = sky__reasm_check_message(x->r, h, &x->why);
        if (x->err) return 1;
        ck_assert_int_lt(x->n, 32);
        x->h[x->n] = *h;
        x->data[x->n] = malloc(h->length + 1);
        memcpy(x->data[x->n], p, h->length);
        x->n++;
        return 0;
    }
    sky__wire_head out;
    uint8_t *data;
    int rc = sky__reasm_add(x->r, h, p, &out, &data, &x->why);
    if (rc < 0) {
        x->err = rc;
        return 1;
    }
    if (rc == 1) {
        ck_assert_int_lt(x->n, 32);
        x->h[x->n] = out;
        x->data[x->n++] = data;
    }
    return 0;
}

static void rx_free(rx *x)
{
    for (int i = 0; i < x->n; i++) free(x->data[i]);
    sky__reasm_free(x->r);
}

typedef struct stream {
    uint8_t *b;
    size_t len, cap;
} stream;

static void put(stream *s, const void *p, size_t n)
{
    if (n == 0) return;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->b = realloc(s->b, s->cap);
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

static void put_message(stream *s, const sky__wire_head *h, const uint8_t *data)
{
    uint8_t b[SKY__WIRE_HEAD];
    sky__wire_head_encode(h, b);
    put(s, b, sizeof b);
    put(s, data, h->length);
}

static void put_tick(stream *s)
{
    sky__wire_head t = {0};
    t.kind = SKY__W_TICK;
    put_message(s, &t, NULL);
}

/* Sends one fragment of f, if any left; returns 1 if it did. */
static int put_fragment(stream *s, sky__frag *f)
{
    uint8_t b[SKY__WIRE_HEAD];
    const uint8_t *p;
    size_t n;
    if (!sky__frag_next(f, b, &p, &n)) return 0;
    put(s, b, sizeof b);
    put(s, p, n);
    return 1;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 131 + seed + (i >> 9));
    return p;
}

/* Two large messages on two pairs, fragmented and interleaved with each
 * other, with ticks and with a third pair's small messages; the first
 * pair's next small message after its large one. */
START_TEST(frag_interleaved)
{
    const uint64_t a = SKY_ADDR(1, 10), b = SKY_ADDR(2, 20), c = SKY_ADDR(1, 30), d = SKY_ADDR(2, 40);
    size_t big1 = 200000, big2 = 3 * SKY__WIRE_FRAG_DEFAULT; /* ragged, and exact */
    uint8_t *p1 = pattern(big1, 1), *p2 = pattern(big2, 2), small[10] = "0123456789";
    ck_assert(sky__wire_needs_frag(big1, &LIM) && !sky__wire_needs_frag(SKY__WIRE_FRAG_DEFAULT, &LIM));
    sky__wire_head h1 = message_head(a, b, (uint32_t)big1), h2 = message_head(c, d, (uint32_t)big2);
    h2.mail = SKY_ONEWAY, h2.session = 0;
    sky__frag f1, f2;
    sky__frag_init(&f1, &h1, p1, 1, &LIM);
    sky__frag_init(&f2, &h2, p2, 2, &LIM);
    stream s = {0};
    int frags = 0;
    for (int more = 1; more;) {
        more = 0;
        if (put_fragment(&s, &f1)) more = 1, frags++;
        put_tick(&s);
        sky__wire_head sm = message_head(b, a, 10); /* the other direction: not held back */
        sm.mail = SKY_RESPONSE;
        put_message(&s, &sm, small);
        if (put_fragment(&s, &f2)) more = 1, frags++;
    }
    ck_assert_int_eq(frags, 4 + 3);
    sky__wire_head after = message_head(a, b, 10); /* the pair's next: behind its big one */
    after.session = 99;
    put_message(&s, &after, small);

    rx x = {sky__reasm_new(big1 + big2 + 1024, &LIM), 0, {{0}}, {0}, 0, NULL, 0};
    sky__wire_dec dec;
    const char *why = NULL;
    sky__wire_dec_init(&dec, &LIM);
    for (size_t off = 0; off < s.len; off += 7777) {
        size_t n = s.len - off < 7777 ? s.len - off : 7777;
        ck_assert_int_eq(sky__wire_dec_feed(&dec, s.b + off, n, rx_frame, &x, &why), (long)n);
    }
    ck_assert_int_eq(x.err, 0);
    ck_assert_int_eq(x.ticks, 5);      /* one per round, the last round sending no fragment */
    ck_assert_int_eq(x.n, 2 + 5 + 1);
    int seen1 = -1, seen2 = -1, seen_after = -1;
    for (int i = 0; i < x.n; i++) {
        if (x.h[i].source == a && x.h[i].length == big1) {
            ck_assert(memcmp(x.data[i], p1, big1) == 0);
            ck_assert_int_eq(x.h[i].kind, SKY__W_MESSAGE);
            ck_assert_uint_eq(x.h[i].session, h1.session);
            ck_assert_uint_eq(x.h[i].type_id, h1.type_id);
            ck_assert_uint_eq(x.h[i].total, 0);
            seen1 = i;
        } else if (x.h[i].source == c) {
            ck_assert(memcmp(x.data[i], p2, big2) == 0);
            ck_assert_int_eq(x.h[i].mail, SKY_ONEWAY);
            seen2 = i;
        } else if (x.h[i].source == a) {
            ck_assert_uint_eq(x.h[i].session, 99);
            seen_after = i;
        }
    }
    ck_assert(seen1 >= 0 && seen2 >= 0 && seen_after > seen1);
    ck_assert_uint_eq(sky__reasm_used(x.r), 0);
    sky__wire_dec_deinit(&dec);
    rx_free(&x);
    free(s.b);
    free(p1);
    free(p2);
}
END_TEST

/* The i-th fragment header of a message of `total` bytes from src. */
static sky__wire_head frag_head(uint64_t src, uint32_t id, uint32_t off, uint32_t len, uint32_t total)
{
    sky__wire_head h = message_head(src, 77, len);
    h.kind = SKY__W_FRAGMENT, h.msg_id = id, h.offset = off, h.total = total;
    return h;
}

static int add(sky__reasm *r, sky__wire_head h, const uint8_t *p, const char **why)
{
    sky__wire_head out;
    uint8_t *data = NULL;
    int rc = sky__reasm_add(r, &h, p, &out, &data, why);
    if (rc == 1) free(data);
    if (rc < 0) ck_assert_msg(*why && **why, "an error without a reason");
    return rc;
}

START_TEST(reasm_refusals)
{
    const uint32_t F = SKY__WIRE_FRAG_DEFAULT, T = 3 * F;
    uint8_t *p = pattern(F, 3);
    const char *why = NULL;
    sky__reasm *r = sky__reasm_new(64u << 20, &LIM);
    /* a fragment that is not its message's first */
    ck_assert_int_eq(add(r, frag_head(1, 1, F, F, T), p, &why), SKY__W_ESEQ);
    /* out of sequence: the third before the second */
    ck_assert_int_eq(add(r, frag_head(2, 1, 0, F, T), p, &why), 0);
    ck_assert_int_eq(add(r, frag_head(2, 1, 2 * F, F, T), p, &why), SKY__W_ESEQ);
    /* the first again */
    ck_assert_int_eq(add(r, frag_head(2, 1, 0, F, T), p, &why), SKY__W_ESEQ);
    /* a new message id before the last finished */
    ck_assert_int_eq(add(r, frag_head(2, 2, F, F, T), p, &why), SKY__W_ESEQ);
    ck_assert_int_eq(add(r, frag_head(2, 2, 0, F, T), p, &why), SKY__W_ESEQ);
    /* fields that differ from the first fragment's */
    sky__wire_head h = frag_head(2, 1, F, F, T);
    h.session++;
    ck_assert_int_eq(add(r, h, p, &why), SKY__W_ESEQ);
    h = frag_head(2, 1, F, F, T + 1);
    ck_assert_int_eq(add(r, h, p, &why), SKY__W_ESEQ);
    /* a whole message overtaking its pair's unfinished one; another pair's may pass */
    sky__wire_head m = message_head(2, 77, 5);
    ck_assert_int_eq(sky__reasm_check_message(r, &m, &why), SKY__W_ESEQ);
    m.dest = 78;
    ck_assert_int_eq(sky__reasm_check_message(r, &m, &why), 0);
    /* the right next ones still finish it */
    ck_assert_int_eq(add(r, frag_head(2, 1, F, F, T), p, &why), 0);
    ck_assert_int_eq(add(r, frag_head(2, 1, 2 * F, F, T), p, &why), 1);
    ck_assert_uint_eq(sky__reasm_used(r), 0);
    /* a total no larger than one fragment, or over the max */
    ck_assert_int_eq(add(r, frag_head(3, 1, 0, F, F), p, &why), SKY__W_ESEQ);
    sky__reasm_free(r);
    free(p);
}
END_TEST

START_TEST(reasm_memory_cap)
{
    const uint32_t F = SKY__WIRE_FRAG_DEFAULT, T = 2 * F;
    uint8_t *p = pattern(F, 4);
    const char *why = NULL;
    /* room for two unfinished messages and their bookkeeping, not three */
    sky__reasm *r = sky__reasm_new(2 * (size_t)T + 1024, &LIM);
    ck_assert_int_eq(add(r, frag_head(1, 1, 0, F, T), p, &why), 0);
    ck_assert_int_eq(add(r, frag_head(2, 1, 0, F, T), p, &why), 0);
    ck_assert_uint_ge(sky__reasm_used(r), 2 * (size_t)T);
    ck_assert_uint_le(sky__reasm_used(r), 2 * (size_t)T + 1024);
    ck_assert_int_eq(add(r, frag_head(3, 1, 0, F, T), p, &why), SKY__W_ECAP);
    ck_assert_str_eq(why, "reassembly over the link's memory cap");
    /* a finished message gives its room back */
    ck_assert_int_eq(add(r, frag_head(1, 1, F, F, T), p, &why), 1);
    ck_assert_int_eq(add(r, frag_head(3, 1, 0, F, T), p, &why), 0);
    /* one message larger than the whole cap */
    sky__reasm *small = sky__reasm_new(F, &LIM);
    ck_assert_int_eq(add(small, frag_head(1, 1, 0, F, T), p, &why), SKY__W_ECAP);
    ck_assert_uint_eq(sky__reasm_used(small), 0);
    sky__reasm_free(small);
    sky__reasm_free(r); /* frees the unfinished ones */
    free(p);
}
END_TEST

/* ---- the handshake ------------------------------------------------------ */

static const uint8_t SECRET[] = "correct horse battery staple";

static int members(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "alpha") == 0) return 1;
    if (strcmp(name, "beta") == 0) return 2;
    if (strcmp(name, "gamma") == 0) return 3;
    return -1;
}

/* A node's config: dialling `peer` (its id `peer_id`), or accepting any
 * member when peer is NULL. */
static sky__hs_config node(const char *name, uint16_t id, const char *peer, uint16_t peer_id)
{
    sky__hs_config c = {0};
    c.name = name;
    c.id = id;
    c.incarnation = 1000 + id;
    c.secret = SECRET;
    c.secret_len = sizeof SECRET - 1;
    c.peer_name = peer;
    c.peer_id = peer_id;
    c.lookup = members;
    return c;
}

static sky__hs *hs_new(const sky__hs_config *c)
{
    const char *why = NULL;
    sky__hs *hs = sky__hs_new(c, &why);
    ck_assert_msg(hs != NULL, "sky__hs_new: %s", why ? why : "?");
    return hs;
}

/* A side's messages as they went out. */
typedef struct msgs {
    uint8_t m[2][SKY__HS_MSG_MAX];
    size_t n[2];
} msgs;

/* Runs a whole handshake between a and b, recording what each sent.
 * Returns a's last result; *rb gets b's. */
static int run_pair(sky__hs *a, sky__hs *b, msgs *ma, msgs *mb, int *rb)
{
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n;
    ck_assert_int_eq(sky__hs_start(a, ma->m[0], &ma->n[0]), 0);
    ck_assert_int_eq(sky__hs_start(b, mb->m[0], &mb->n[0]), 0);
    /* both HELLOs cross; each answers with its PROOF */
    int ra = sky__hs_input(a, mb->m[0], mb->n[0], out, &n);
    if (ra < 0) return *rb = 0, ra;
    memcpy(ma->m[1], out, n), ma->n[1] = n;
    *rb = sky__hs_input(b, ma->m[0], ma->n[0], out, &n);
    if (*rb < 0) return ra;
    memcpy(mb->m[1], out, n), mb->n[1] = n;
    ra = sky__hs_input(a, mb->m[1], mb->n[1], out, &n);
    ck_assert_uint_eq(n, 0);
    *rb = sky__hs_input(b, ma->m[1], ma->n[1], out, &n);
    ck_assert_uint_eq(n, 0);
    return ra;
}

/* run_pair() between two new handshakes made from ca and cb. */
static int run_configs(const sky__hs_config *ca, const sky__hs_config *cb, msgs *ma, msgs *mb, int *rb)
{
    sky__hs *a = hs_new(ca), *b = hs_new(cb);
    int ra = run_pair(a, b, ma, mb, rb);
    sky__hs_free(a);
    sky__hs_free(b);
    return ra;
}

START_TEST(hs_success)
{
    sky__hs_config ca = node("alpha", 1, "beta", 2), cb = node("beta", 2, NULL, 0);
    sky__hs *a = hs_new(&ca), *b = hs_new(&cb);
    msgs ma, mb;
    int rb;
    ck_assert_int_eq(run_pair(a, b, &ma, &mb, &rb), SKY__HS_DONE);
    ck_assert_int_eq(rb, SKY__HS_DONE);
    ck_assert_uint_eq(ma.n[1], SKY__HS_PROOF_LEN);
    ck_assert_uint_eq(ma.n[0], SKY__HS_HELLO_FIXED + 5);
    const char *name;
    uint16_t id;
    uint64_t inc;
    ck_assert_int_eq(sky__hs_peer(a, &name, &id, &inc), 0);
    ck_assert_str_eq(name, "beta");
    ck_assert_uint_eq(id, 2);
    ck_assert(inc == 1002);
    ck_assert_int_eq(sky__hs_peer(b, &name, &id, &inc), 0);
    ck_assert_str_eq(name, "alpha");
    ck_assert(inc == 1001);
    /* nothing more is taken once it is done */
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n;
    ck_assert_int_eq(sky__hs_input(a, mb.m[1], mb.n[1], out, &n), SKY__HS_ESTATE);
    ck_assert_int_eq(sky__hs_start(a, out, &n), SKY__HS_ESTATE);
    sky__hs_free(a);
    sky__hs_free(b);
    /* the other way round, and both dialling at once (a connect race) */
    ca = node("alpha", 1, NULL, 0), cb = node("beta", 2, "alpha", 1);
    ck_assert_int_eq(run_configs(&cb, &ca, &mb, &ma, &rb), SKY__HS_DONE);
    ck_assert_int_eq(rb, SKY__HS_DONE);
    ca = node("alpha", 1, "beta", 2), cb = node("beta", 2, "alpha", 1);
    ck_assert_int_eq(run_configs(&ca, &cb, &ma, &mb, &rb), SKY__HS_DONE);
    ck_assert_int_eq(rb, SKY__HS_DONE);
    /* a TLS channel binding on both sides, the same */
    ca.binding = cb.binding = (const uint8_t *)"exporter-bytes", ca.binding_len = cb.binding_len = 14;
    ck_assert_int_eq(run_configs(&ca, &cb, &ma, &mb, &rb), SKY__HS_DONE);
    ck_assert_int_eq(rb, SKY__HS_DONE);
    /* ... and different: two TLS sessions spliced together */
    cb.binding = (const uint8_t *)"exporter-other";
    ck_assert_int_eq(run_configs(&ca, &cb, &ma, &mb, &rb), SKY__HS_EPROOF);
    ck_assert_int_eq(rb, SKY__HS_EPROOF);
}
END_TEST

START_TEST(hs_wrong_secret)
{
    sky__hs_config ca = node("alpha", 1, "beta", 2), cb = node("beta", 2, NULL, 0);
    cb.secret = (const uint8_t *)"correct horse battery stapler";
    cb.secret_len = 29;
    sky__hs *a = hs_new(&ca), *b = hs_new(&cb);
    msgs ma, mb;
    int rb;
    ck_assert_int_eq(run_pair(a, b, &ma, &mb, &rb), SKY__HS_EPROOF);
    ck_assert_int_eq(rb, SKY__HS_EPROOF);
    ck_assert_ptr_nonnull(strstr(sky__hs_why(a), "\"beta\" failed to prove the cluster secret"));
    const char *name;
    uint16_t id;
    uint64_t inc;
    ck_assert_int_eq(sky__hs_peer(a, &name, &id, &inc), SKY__HS_ESTATE);
    /* failed stays failed */
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n;
    ck_assert_int_eq(sky__hs_input(a, mb.m[1], mb.n[1], out, &n), SKY__HS_ESTATE);
    ck_assert_ptr_nonnull(strstr(sky__hs_why(a), "failed to prove"));
    sky__hs_free(a);
    sky__hs_free(b);
}
END_TEST

/* What `a` makes of b's HELLO. */
static int hello_verdict(const sky__hs_config *ca, const sky__hs_config *cb, char *why, size_t why_len)
{
    sky__hs *a = hs_new(ca), *b = hs_new(cb);
    uint8_t ha[SKY__HS_MSG_MAX], hb[SKY__HS_MSG_MAX], out[SKY__HS_MSG_MAX];
    size_t na, nb, n;
    ck_assert_int_eq(sky__hs_start(a, ha, &na), 0);
    ck_assert_int_eq(sky__hs_start(b, hb, &nb), 0);
    int rc = sky__hs_input(a, hb, nb, out, &n);
    if (rc < 0) ck_assert_uint_eq(n, 0); /* no proof leaves a refused handshake */
    snprintf(why, why_len, "%s", sky__hs_why(a));
    sky__hs_free(a);
    sky__hs_free(b);
    return rc;
}

START_TEST(hs_wrong_peer)
{
    char why[256];
    sky__hs_config ca = node("alpha", 1, "beta", 2), cb;
    cb = node("gamma", 3, NULL, 0); /* a member, but not the one dialled */
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_EPEER);
    ck_assert_str_eq(why, "peer says it is \"gamma\" (id 3), expected \"beta\" (id 2)");
    cb = node("beta", 4, NULL, 0); /* the right name, the wrong id */
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_EPEER);
    /* the accepting side: unknown names, and ids the membership disagrees with */
    ca = node("alpha", 1, NULL, 0);
    cb = node("delta", 4, NULL, 0);
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_EPEER);
    ck_assert_str_eq(why, "peer says it is \"delta\": no such member");
    cb = node("gamma", 9, NULL, 0);
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_EPEER);
    ck_assert_str_eq(why, "peer \"gamma\" says its id is 9, the membership says 3");
    /* a peer that says it is this node */
    cb = node("alpha", 7, NULL, 0);
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_EPEER);
    cb = node("gamma", 1, NULL, 0);
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_EPEER);
    /* the member it says it is: taken */
    cb = node("beta", 2, NULL, 0);
    ck_assert_int_eq(hello_verdict(&ca, &cb, why, sizeof why), SKY__HS_MORE);
}
END_TEST

START_TEST(hs_replay)
{
    /* record beta's side of a good handshake with alpha */
    sky__hs_config ca = node("alpha", 1, "beta", 2), cb = node("beta", 2, NULL, 0);
    msgs ma, mb;
    int rb;
    ck_assert_int_eq(run_configs(&ca, &cb, &ma, &mb, &rb), SKY__HS_DONE);
    /* play it to a new alpha (same node, same incarnation): its nonce is new */
    sky__hs *a = hs_new(&ca);
    uint8_t h[SKY__HS_MSG_MAX], out[SKY__HS_MSG_MAX];
    size_t n;
    ck_assert_int_eq(sky__hs_start(a, h, &n), 0);
    ck_assert_int_eq(sky__hs_input(a, mb.m[0], mb.n[0], out, &n), SKY__HS_MORE);
    ck_assert_int_eq(sky__hs_input(a, mb.m[1], mb.n[1], out, &n), SKY__HS_EPROOF);
    ck_assert_ptr_nonnull(strstr(sky__hs_why(a), "replayed"));
    sky__hs_free(a);
    /* alpha's recorded side, played to a new beta */
    sky__hs *b = hs_new(&cb);
    ck_assert_int_eq(sky__hs_start(b, h, &n), 0);
    ck_assert_int_eq(sky__hs_input(b, ma.m[0], ma.n[0], out, &n), SKY__HS_MORE);
    ck_assert_int_eq(sky__hs_input(b, ma.m[1], ma.n[1], out, &n), SKY__HS_EPROOF);
    sky__hs_free(b);
    /* a message repeated within one handshake */
    a = hs_new(&ca), b = hs_new(&cb);
    uint8_t hb[SKY__HS_MSG_MAX];
    size_t nb;
    ck_assert_int_eq(sky__hs_start(a, h, &n), 0);
    ck_assert_int_eq(sky__hs_start(b, hb, &nb), 0);
    ck_assert_int_eq(sky__hs_input(a, hb, nb, out, &n), SKY__HS_MORE);
    ck_assert_int_eq(sky__hs_input(a, hb, nb, out, &n), SKY__HS_EBADMSG);
    ck_assert_str_eq(sky__hs_why(a), "a HELLO where a PROOF was due");
    sky__hs_free(a);
    sky__hs_free(b);
}
END_TEST

START_TEST(hs_reflection)
{
    sky__hs_config ca = node("alpha", 1, NULL, 0), cb = node("beta", 2, NULL, 0);
    uint8_t h[SKY__HS_MSG_MAX], hb[SKY__HS_MSG_MAX], proof[SKY__HS_MSG_MAX], out[SKY__HS_MSG_MAX];
    size_t n, nb, np;
    /* alpha's HELLO sent back to it */
    sky__hs *a = hs_new(&ca);
    ck_assert_int_eq(sky__hs_start(a, h, &n), 0);
    ck_assert_int_eq(sky__hs_input(a, h, n, out, &np), SKY__HS_EPROOF);
    ck_assert_str_eq(sky__hs_why(a), "our own HELLO came back (reflected)");
    ck_assert_uint_eq(np, 0);
    sky__hs_free(a);
    /* alpha's PROOF sent back to it, after a genuine beta HELLO */
    a = hs_new(&ca);
    sky__hs *b = hs_new(&cb);
    ck_assert_int_eq(sky__hs_start(a, h, &n), 0);
    ck_assert_int_eq(sky__hs_start(b, hb, &nb), 0);
    ck_assert_int_eq(sky__hs_input(a, hb, nb, proof, &np), SKY__HS_MORE);
    ck_assert_uint_eq(np, SKY__HS_PROOF_LEN);
    ck_assert_int_eq(sky__hs_input(a, proof, np, out, &n), SKY__HS_EPROOF);
    sky__hs_free(a);
    sky__hs_free(b);
}
END_TEST

/* Every byte of beta's HELLO and PROOF flipped in turn: alpha never
 * finishes, whatever it says. */
START_TEST(hs_tampered)
{
    sky__hs_config ca = node("alpha", 1, "beta", 2), cb = node("beta", 2, NULL, 0);
    for (int which = 0; which < 2; which++) {
        for (size_t at = 0; at < (which ? SKY__HS_PROOF_LEN : SKY__HS_HELLO_FIXED + 4u); at++) {
            sky__hs *a = hs_new(&ca), *b = hs_new(&cb);
            uint8_t ha[SKY__HS_MSG_MAX], hb[SKY__HS_MSG_MAX], pa[SKY__HS_MSG_MAX], pb[SKY__HS_MSG_MAX];
            size_t na, nb, npa, npb;
            ck_assert_int_eq(sky__hs_start(a, ha, &na), 0);
            ck_assert_int_eq(sky__hs_start(b, hb, &nb), 0);
            ck_assert_int_eq(sky__hs_input(b, ha, na, pb, &npb), SKY__HS_MORE);
            if (which == 0) hb[at] ^= 0x20;
            else pb[at] ^= 0x01;
            int rc = sky__hs_input(a, hb, nb, pa, &npa);
            if (rc == SKY__HS_MORE) rc = sky__hs_input(a, pb, npb, pa, &npa);
            ck_assert_msg(rc < 0, "%s byte %zu flipped: alpha said %d", which ? "PROOF" : "HELLO", at, rc);
            ck_assert(sky__hs_why(a)[0] != '\0');
            sky__hs_free(a);
            sky__hs_free(b);
        }
    }
}
END_TEST

START_TEST(hs_garbage_and_truncation)
{
    sky__hs_config ca = node("alpha", 1, "beta", 2), cb = node("beta", 2, NULL, 0);
    sky__hs *b = hs_new(&cb);
    uint8_t hb[SKY__HS_MSG_MAX], ha[SKY__HS_MSG_MAX], pb[SKY__HS_MSG_MAX], out[SKY__HS_MSG_MAX], m[SKY__HS_MSG_MAX + 1];
    size_t nb, na, npb, n;
    ck_assert_int_eq(sky__hs_start(b, hb, &nb), 0);
    sky__hs *a0 = hs_new(&ca);
    ck_assert_int_eq(sky__hs_start(a0, ha, &na), 0);
    ck_assert_int_eq(sky__hs_input(b, ha, na, pb, &npb), SKY__HS_MORE);
    sky__hs_free(a0);
    /* every truncation of the HELLO, and one byte too many */
    for (size_t len = 0; len <= nb + 1; len++) {
        if (len == nb) continue;
        sky__hs *a = hs_new(&ca);
        ck_assert_int_eq(sky__hs_start(a, ha, &na), 0);
        memcpy(m, hb, nb);
        m[nb] = 'x';
        ck_assert_int_eq(sky__hs_input(a, m, len, out, &n), SKY__HS_EBADMSG);
        sky__hs_free(a);
    }
    /* every truncation of the PROOF, and one byte too many */
    for (size_t len = 0; len <= npb + 1; len++) {
        if (len == npb) continue;
        sky__hs *a = hs_new(&ca);
        ck_assert_int_eq(sky__hs_start(a, ha, &na), 0);
        ck_assert_int_eq(sky__hs_input(a, hb, nb, out, &n), SKY__HS_MORE);
        memcpy(m, pb, npb);
        m[npb] = 0;
        ck_assert_int_eq(sky__hs_input(a, m, len, out, &n), SKY__HS_EBADMSG);
        sky__hs_free(a);
    }
    /* not a handshake; another version; an unknown type; a PROOF first; input before start */
    static const struct {
        size_t at;
        uint8_t v;
        int want;
        const char *why;
    } bad[] = {
        {0, 'G', SKY__HS_EBADMSG, "not a sky cluster handshake (bad magic)"},
        {5, 2, SKY__HS_EVERSION, "peer speaks protocol version 2, this node 1"},
        {4, 3, SKY__HS_EBADMSG, "unknown handshake message type 3"},
        {4, 2, SKY__HS_EBADMSG, "a PROOF where a HELLO was due"},
        {48, 0, SKY__HS_EBADMSG, "a HELLO of 53 bytes: truncated or overlong"},
        {49, ' ', SKY__HS_EBADMSG, "a HELLO whose node name is empty or not printable ASCII"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sky__hs *a = hs_new(&ca);
        ck_assert_int_eq(sky__hs_start(a, ha, &na), 0);
        memcpy(m, hb, nb);
        m[bad[i].at] = bad[i].v;
        ck_assert_int_eq(sky__hs_input(a, m, nb, out, &n), bad[i].want);
        ck_assert_str_eq(sky__hs_why(a), bad[i].why);
        sky__hs_free(a);
    }
    sky__hs *a = hs_new(&ca);
    ck_assert_int_eq(sky__hs_input(a, hb, nb, out, &n), SKY__HS_ESTATE);
    sky__hs_free(a);
    sky__hs_free(b);
}
END_TEST

START_TEST(hs_bad_config)
{
    const char *why = NULL;
    sky__hs_config c = node("alpha", 1, "beta", 2);
    c.secret_len = 0;
    ck_assert_ptr_null(sky__hs_new(&c, &why));
    ck_assert_str_eq(why, "empty cluster secret");
    c = node("alpha", 1, "beta", 2);
    c.incarnation = 0;
    ck_assert_ptr_null(sky__hs_new(&c, &why));
    c = node("al pha", 1, "beta", 2);
    ck_assert_ptr_null(sky__hs_new(&c, &why));
    c = node("", 1, "beta", 2);
    ck_assert_ptr_null(sky__hs_new(&c, &why));
    c = node("alpha", 1, NULL, 0);
    c.lookup = NULL;
    ck_assert_ptr_null(sky__hs_new(&c, &why));
    c = node("alpha", 1, "beta", 2);
    c.binding = (const uint8_t *)"x", c.binding_len = SKY__HS_BINDING_MAX + 1;
    ck_assert_ptr_null(sky__hs_new(&c, &why));
}
END_TEST

Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tu_tcase("wire");
    tcase_add_test(tc, head_round_trip);
    tcase_add_test(tc, dec_any_cutting);
    tcase_add_test(tc, dec_stop);
    tcase_add_test(tc, dec_length_refused_before_allocation);
    tcase_add_test(tc, dec_bad_headers);
    tcase_add_test(tc, frag_interleaved);
    tcase_add_test(tc, reasm_refusals);
    tcase_add_test(tc, reasm_memory_cap);
    suite_add_tcase(s, tc);
    tc = tu_tcase("handshake");
    tcase_add_test(tc, hs_success);
    tcase_add_test(tc, hs_wrong_secret);
    tcase_add_test(tc, hs_wrong_peer);
    tcase_add_test(tc, hs_replay);
    tcase_add_test(tc, hs_reflection);
    tcase_add_test(tc, hs_tampered);
    tcase_add_test(tc, hs_garbage_and_truncation);
    tcase_add_test(tc, hs_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
