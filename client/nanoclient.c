/* The nanopb client core (include/sky/nanoclient.h): frames in the
 * caller's buffer, bytes through the caller's transport, no malloc.
 *
 * Answers are read header first into n->rhdr, so that a call whose
 * deadline passes in the middle of one leaves the stream where the next
 * call can pick it up: a header half read stays in rhdr, the rest of an
 * answer nobody waits for any more is counted in n->skip and dropped. */
#include <string.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include "sky/nanoclient.h"
#include "wire.h"

/* A call's time: its start on the transport's clock and its budget. */
typedef struct budget {
    uint32_t start;
    int timeout_ms;
} budget;

static budget begin(const sky_nano *n, int timeout_ms)
{
    budget b = {n->io.now_ms ? n->io.now_ms(n->io.ctx) : 0, timeout_ms};

    return b;
}

/* What is left of b, in ms; without a clock, all of it. */
static int left(const sky_nano *n, const budget *b)
{
    uint32_t spent;

    if (!n->io.now_ms)
        return b->timeout_ms;
    spent = n->io.now_ms(n->io.ctx) - b->start;
    return spent >= (uint32_t)b->timeout_ms ? 0 : b->timeout_ms - (int)spent;
}

static int gone(sky_nano *n)
{
    n->broken = 1;
    return SKY_ENODEDOWN;
}

/* Reads len bytes into p; *got counts them. 0, SKY_ETIMEDOUT or
 * SKY_ENODEDOWN. */
static int read_n(sky_nano *n, uint8_t *p, size_t len, const budget *b, size_t *got)
{
    *got = 0;
    while (*got < len) {
        int ms = left(n, b), r;

        if (ms <= 0)
            return SKY_ETIMEDOUT;
        r = n->io.read(n->io.ctx, p + *got, len - *got, ms);
        if (r < 0)
            return gone(n);
        if (r == 0 && !n->io.now_ms)
            return SKY_ETIMEDOUT;
        *got += (size_t)r;
    }
    return 0;
}

/* Writes p[0..len) whole; a write cut short leaves the stream broken. */
static int write_n(sky_nano *n, const uint8_t *p, size_t len, const budget *b)
{
    size_t done = 0;

    while (done < len) {
        int ms = left(n, b), w;

        if (ms <= 0 || (w = n->io.write(n->io.ctx, p + done, len - done, ms)) == 0) {
            if (!n->io.now_ms || ms <= 0) {
                n->broken = done > 0;
                return SKY_ETIMEDOUT;
            }
            continue;
        }
        if (w < 0)
            return gone(n);
        done += (size_t)w;
    }
    return 0;
}

/* Drops n->skip bytes of an answer nobody waits for, through buf. */
static int drop_skipped(sky_nano *n, const budget *b)
{
    while (n->skip > 0) {
        size_t chunk = n->skip < n->cap ? n->skip : n->cap, got;
        int rc = read_n(n, n->buf, chunk, b, &got);

        n->skip -= (uint32_t)got;
        if (rc != 0)
            return rc;
    }
    return 0;
}

void sky_nano_init(sky_nano *n, const sky_nano_io *io, uint8_t *buf, size_t cap)
{
    memset(n, 0, sizeof *n);
    n->io = *io;
    n->buf = buf;
    n->cap = cap;
    n->broken = 1; /* until the handshake */
}

int sky_nano_handshake(sky_nano *n, int timeout_ms)
{
    budget b = begin(n, timeout_ms);
    uint8_t answer[SKY_WIRE_PREFACE_LEN];
    size_t got;
    int rc;

    if (!n->buf || n->cap <= SKY_NANO_HEADER || timeout_ms <= 0)
        return SKY_EINVAL;
    n->broken = 0;
    n->rhdr_len = 0;
    n->skip = 0;
    if ((rc = write_n(n, sky__wire_preface, sizeof answer, &b)) != 0 ||
        (rc = read_n(n, answer, sizeof answer, &b, &got)) != 0) {
        n->broken = 1;
        return rc;
    }
    if (memcmp(answer, sky__wire_preface, sizeof answer) != 0) {
        n->broken = 1;
        return SKY_EBADMSG;
    }
    return 0;
}

/* Encodes *req after a header in buf and writes the frame. */
static int write_frame(sky_nano *n, uint8_t kind, uint32_t method_id, const pb_msgdesc_t *fields, const void *req,
                       const budget *b)
{
    pb_ostream_t s;

    if (n->broken)
        return SKY_ENODEDOWN;
    s = pb_ostream_from_buffer(n->buf + SKY_NANO_HEADER, n->cap - SKY_NANO_HEADER);
    if (!pb_encode(&s, fields, req))
        return SKY_ENOMEM; /* or a callback field failed: nothing was sent */
    sky__wire_put_header(n->buf, kind, kind == SKY_WIRE_REQUEST ? n->session : 0, method_id,
                         (uint32_t)s.bytes_written);
    return write_n(n, n->buf, SKY_NANO_HEADER + s.bytes_written, b);
}

/* Reads answers until the one for n->session, whose payload it leaves in
 * buf[0..*len); sets *h. Unwanted answers are dropped. */
static int read_answer(sky_nano *n, sky__wire_header *h, size_t *len, const budget *b)
{
    const char *why;
    size_t got;
    int rc;

    for (;;) {
        int too_big = 0;

        if ((rc = drop_skipped(n, b)) != 0)
            return rc;
        rc = read_n(n, n->rhdr + n->rhdr_len, SKY_NANO_HEADER - n->rhdr_len, b, &got);
        n->rhdr_len = (uint8_t)(n->rhdr_len + got);
        if (rc != 0)
            return rc;
        n->rhdr_len = 0;
        sky__wire_get_header(n->rhdr, h);
        if (sky__wire_check_answer(h, UINT32_MAX, &why) != 0) {
            n->broken = 1;
            return SKY_EBADMSG;
        }
        *len = h->length - SKY_WIRE_MIN_LENGTH;
        too_big = *len > n->cap;
        if (h->session != n->session || too_big) {
            n->skip = (uint32_t)*len;
            if ((rc = drop_skipped(n, b)) != 0)
                return rc;
            if (too_big && h->session == n->session)
                return SKY_ENOMEM;
            continue;
        }
        rc = read_n(n, n->buf, *len, b, &got);
        if (rc == SKY_ETIMEDOUT)
            n->skip = (uint32_t)(*len - got);
        return rc;
    }
}

int sky_nano_call(sky_nano *n, uint32_t method_id, const pb_msgdesc_t *req_fields, const void *req,
                  const pb_msgdesc_t *resp_fields, void *resp, int timeout_ms)
{
    budget b = begin(n, timeout_ms);
    sky__wire_header h;
    sky__wire_status_t st;
    size_t len, cut;
    pb_istream_t s;
    int rc;

    n->code = 0;
    n->message[0] = '\0';
    n->app_code[0] = '\0';
    n->details = NULL;
    n->details_len = 0;
    if (!req_fields || !req || !resp_fields || !resp || timeout_ms <= 0)
        return SKY_EINVAL;
    if (++n->session == 0)
        n->session = 1;
    if ((rc = write_frame(n, SKY_WIRE_REQUEST, method_id, req_fields, req, &b)) != 0 ||
        (rc = read_answer(n, &h, &len, &b)) != 0)
        return rc;
    if (h.kind == SKY_WIRE_ERROR) {
        if (sky__wire_status(n->buf, len, &st) != 0)
            return SKY_EBADMSG;
        n->code = st.code;
        cut = st.msg_len < sizeof n->message ? st.msg_len : sizeof n->message - 1;
        memcpy(n->message, st.msg, cut);
        n->message[cut] = '\0';
        cut = st.app_code_len < sizeof n->app_code ? st.app_code_len : sizeof n->app_code - 1;
        memcpy(n->app_code, st.app_code, cut);
        n->app_code[cut] = '\0';
        if (st.details_len) {
            n->details = st.details;
            n->details_len = st.details_len;
        }
        return n->code;
    }
    s = pb_istream_from_buffer(n->buf, len);
    return pb_decode(&s, resp_fields, resp) ? 0 : SKY_EBADMSG;
}

int sky_nano_send(sky_nano *n, uint32_t method_id, const pb_msgdesc_t *req_fields, const void *req, int timeout_ms)
{
    budget b = begin(n, timeout_ms);

    if (!req_fields || !req || timeout_ms <= 0)
        return SKY_EINVAL;
    return write_frame(n, SKY_WIRE_ONEWAY, method_id, req_fields, req, &b);
}
