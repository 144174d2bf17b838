/* Client protocol frames (frame.h). */
#include "io/frame.h"
#include <stdlib.h>
#include <string.h>
#include "sky/alloc.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void sky__framer_init(sky__framer *fr, size_t max_frame, int server)
{
    memset(fr, 0, sizeof *fr);
    fr->max_frame = max_frame;
    fr->server = server;
    fr->greeted = !server;
}

void sky__framer_deinit(sky__framer *fr)
{
    free(fr->buf);
    fr->buf = NULL;
    fr->len = fr->cap = 0;
}

static void reserve(sky__framer *fr, size_t need)
{
    if (need <= fr->cap) return;
    size_t cap = fr->cap ? fr->cap : 64;
    while (cap < need) cap *= 2;
    fr->buf = sky_realloc(fr->buf, cap);
    fr->cap = cap;
}

static int known(int kind) { return kind >= SKY__F_REQUEST && kind <= SKY__F_ONEWAY; }

long sky__framer_feed(sky__framer *fr, const uint8_t *p, size_t n, sky__frame_fn *fn, void *ud, const char **why)
{
    size_t used = 0;
    while (used < n) {
        if (!fr->greeted) {
            size_t take = SKY__PREFACE_LEN - fr->len < n - used ? SKY__PREFACE_LEN - fr->len : n - used;
            if (memcmp(p + used, &SKY__PREFACE[fr->len], take) != 0) {
                *why = "bad preface (not a sky client, or another protocol version)";
                return -1;
            }
            fr->len += take;
            used += take;
            if (fr->len == SKY__PREFACE_LEN) {
                fr->greeted = 1;
                fr->len = 0;
            }
            continue;
        }
        /* until the length is known only 4 bytes are wanted: nothing is
         * allocated for a frame before its length passed the check */
        size_t want = fr->want ? fr->want : 4;
        size_t take = want - fr->len < n - used ? want - fr->len : n - used;
        reserve(fr, fr->len + take);
        memcpy(fr->buf + fr->len, p + used, take);
        fr->len += take;
        used += take;
        if (fr->len < want) continue;
        if (!fr->want) {
            uint32_t length = be32(fr->buf);
            if (length < SKY__FRAME_MIN) {
                *why = "frame length under 12";
                return -1;
            }
            if (length > fr->max_frame) {
                *why = "frame length over max_frame";
                return -1;
            }
            fr->want = 4 + (size_t)length;
            continue;
        }
        sky__frame f;
        f.kind = fr->buf[4];
        f.flags = fr->buf[5];
        f.session = be32(fr->buf + 8);
        f.method = be32(fr->buf + 12);
        f.payload = fr->buf + SKY__FRAME_HEAD;
        f.size = fr->want - SKY__FRAME_HEAD;
        fr->len = 0;
        fr->want = 0;
        if (!known(f.kind)) {
            *why = "unknown frame kind";
            return -1;
        }
        if (fn(ud, &f)) return (long)used;
    }
    return (long)used;
}

void sky__frame_header(uint8_t out[SKY__FRAME_HEAD], int kind, uint32_t session, uint32_t method, size_t size)
{
    put32(out, (uint32_t)(SKY__FRAME_MIN + size));
    out[4] = (uint8_t)kind;
    out[5] = 0;
    out[6] = out[7] = 0;
    put32(out + 8, session);
    put32(out + 12, method);
}
