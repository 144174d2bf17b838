/* libFuzzer harness: the client protocol's frame parser (runtime/io/frame.c)
 * as the gate runs it, on bytes from outside. The first byte picks how
 * the rest is cut into reads (as TCP may cut it); the framer must take
 * every cut the same way, never read or allocate past what a frame's
 * length allows, and report malformed input instead of crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/frame.h"

#define MAX_FRAME 4096

typedef struct seen {
    size_t frames;
    uint64_t sum; /* what the frames carried, to compare two cuttings */
} seen;

static int on_frame(void *ud, const sky__frame *f)
{
    seen *s = ud;
    if (f->size > MAX_FRAME - 12 || f->kind < 1 || f->kind > 4) abort();
    s->frames++;
    s->sum = s->sum * 31 + f->session + f->method + (uint64_t)f->kind;
    for (size_t i = 0; i < f->size; i++) s->sum += f->payload[i]; /* touch every byte */
    return 0;
}

/* Feeds data in pieces of `step` bytes (0: all at once). Returns 1 if
 * the input was refused as malformed. */
static int run(const uint8_t *data, size_t size, size_t step, int server, seen *s)
{
    sky__framer fr;
    const char *why = NULL;
    int bad = 0;
    sky__framer_init(&fr, MAX_FRAME, server);
    for (size_t off = 0; off < size && !bad;) {
        size_t n = step && size - off > step ? step : size - off;
        long used = sky__framer_feed(&fr, data + off, n, on_frame, s, &why);
        if (used < 0) {
            if (!why) abort();
            bad = 1;
        } else if ((size_t)used != n) {
            abort();
        }
        off += n;
    }
    if (fr.cap > 4 + MAX_FRAME + 64) abort(); /* never more than one frame's worth */
    sky__framer_deinit(&fr);
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int server = data[0] & 1;
    size_t step = (size_t)(data[0] >> 1);
    seen whole = {0, 0}, cut = {0, 0};
    int bad1 = run(data + 1, size - 1, 0, server, &whole);
    int bad2 = run(data + 1, size - 1, step ? step : 1, server, &cut);
    /* the same frames before the same verdict, however it was cut */
    if (bad1 != bad2 || whole.frames != cut.frames || whole.sum != cut.sum) abort();
    return 0;
}
