/* libFuzzer harness: the cluster link's frame decoder and reassembler
 * (runtime/cluster/wire.c) on bytes from a peer. The first byte picks
 * how the rest is cut into reads (as TCP may cut it); the decoder must
 * take every cut the same way, never reserve more than a frame's checked
 * length, hand on only frames within the limits, and the reassembler must
 * stay within its cap and give back exactly the messages announced. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/wire.h"

/* small limits, so fragments and the cap are within the fuzzer's reach */
#define FRAG 256
#define MAX_MSG 4096
#define CAP 6000

typedef struct seen {
    sky__reasm *r;
    size_t frames, messages;
    uint64_t sum; /* what the frames carried, to compare two cuttings */
    int err;
} seen;

static const sky__wire_limits LIM = {MAX_MSG, FRAG};

static int on_frame(void *ud, const sky__wire_head *h, const uint8_t *p)
{
    seen *s = ud;
    const char *why = NULL;
    uint8_t again[SKY__WIRE_HEAD], twice[SKY__WIRE_HEAD];
    sky__wire_head back;
    /* what was decoded encodes to a header that decodes the same */
    sky__wire_head_encode(h, again);
    if (sky__wire_head_decode(again, &LIM, &back, &why) != 0) abort();
    sky__wire_head_encode(&back, twice);
    if (memcmp(again, twice, sizeof again) != 0) abort();
    size_t limit = h->kind == SKY__W_MESSAGE ? MAX_MSG : h->kind == SKY__W_HANDSHAKE ? SKY__WIRE_HANDSHAKE_MAX : FRAG;
    if (h->length > limit || (h->kind == SKY__W_TICK && h->length)) abort();
    s->frames++;
    s->sum = s->sum * 31 + h->kind + h->length + h->source + h->dest + h->session;
    for (uint32_t i = 0; i < h->length; i++) s->sum += p[i]; /* touch every byte */
    int rc = 0;
    if (h->kind == SKY__W_MESSAGE) rc = sky__reasm_check_message(s->r, h, &why);
    if (h->kind == SKY__W_FRAGMENT) {
        sky__wire_head out;
        uint8_t *data = NULL;
        rc = sky__reasm_add(s->r, h, p, &out, &data, &why);
        if (rc == 1) {
            if (out.kind != SKY__W_MESSAGE || out.length != h->total || out.length <= FRAG) abort();
            for (uint32_t i = 0; i < out.length; i++) s->sum += data[i];
            free(data);
            s->messages++;
            rc = 0;
        }
    }
    if (sky__reasm_used(s->r) > CAP) abort();
    if (rc < 0) {
        if (!why || (rc != SKY__W_ESEQ && rc != SKY__W_ECAP)) abort();
        s->err = rc;
        return 1; /* the link is dropped */
    }
    return 0;
}

/* Feeds data in pieces of `step` bytes (0: all at once). Returns the
 * decoder's or the reassembler's error, or 0. */
static int run(const uint8_t *data, size_t size, size_t step, seen *s)
{
    sky__wire_dec d;
    const char *why = NULL;
    int bad = 0;
    s->r = sky__reasm_new(CAP, &LIM);
    sky__wire_dec_init(&d, &LIM);
    for (size_t off = 0; off < size && !bad && !s->err;) {
        size_t n = step && size - off > step ? step : size - off;
        long used = sky__wire_dec_feed(&d, data + off, n, on_frame, s, &why);
        if (used < 0) {
            if (!why) abort();
            bad = (int)used;
        } else if ((size_t)used != n && !s->err) {
            abort();
        }
        if (d.cap > MAX_MSG) abort(); /* never more than one checked frame's worth */
        off += n;
    }
    sky__wire_dec_deinit(&d);
    sky__reasm_free(s->r);
    return bad ? bad : s->err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = data[0];
    seen whole = {0}, cut = {0};
    int bad1 = run(data + 1, size - 1, 0, &whole);
    int bad2 = run(data + 1, size - 1, step ? step : 1, &cut);
    /* the same frames and messages before the same verdict, however it was cut */
    if (bad1 != bad2 || whole.frames != cut.frames || whole.messages != cut.messages || whole.sum != cut.sum)
        abort();
    return 0;
}
