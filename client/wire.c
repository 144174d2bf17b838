/* The client protocol's bytes: frame headers (big-endian) and sky.Status. */
#include "wire.h"
#include "sky/error.h"

const uint8_t sky__wire_preface[SKY_WIRE_PREFACE_LEN] = {0x53, 0x4b, 0x59, 0x01};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void sky__wire_put_header(uint8_t out[SKY_WIRE_HEADER_LEN], uint8_t kind, uint32_t session, uint32_t method,
                          uint32_t payload_len)
{
    put32(out, SKY_WIRE_MIN_LENGTH + payload_len);
    out[4] = kind;
    out[5] = 0; /* flags */
    out[6] = out[7] = 0;
    put32(out + 8, session);
    put32(out + 12, method);
}

void sky__wire_get_header(const uint8_t in[SKY_WIRE_HEADER_LEN], sky__wire_header *h)
{
    h->length = get32(in);
    h->kind = in[4];
    h->session = get32(in + 8);
    h->method = get32(in + 12);
}

int sky__wire_check_answer(const sky__wire_header *h, size_t max_payload, const char **why)
{
    if (h->length < SKY_WIRE_MIN_LENGTH) {
        *why = "frame length under 12";
        return SKY_EBADMSG;
    }
    if (h->length - SKY_WIRE_MIN_LENGTH > max_payload) {
        *why = "frame larger than the client's limit";
        return SKY_EBADMSG;
    }
    if (h->kind != SKY_WIRE_RESPONSE && h->kind != SKY_WIRE_ERROR) {
        *why = "frame of a kind a gate does not send";
        return SKY_EBADMSG;
    }
    return 0;
}

/* Reads a varint at *p (before end) into *v; returns 0 or -1. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

int sky__wire_status(const uint8_t *p, size_t n, sky__wire_status_t *st)
{
    const uint8_t *end = p + n;
    uint64_t key, v;

    st->code = SKY_EFAIL;
    st->msg = st->app_code = st->details = p;
    st->msg_len = st->app_code_len = st->details_len = 0;
    while (p < end) {
        if (varint(&p, end, &key) < 0 || key >> 3 == 0)
            return SKY_EBADMSG;
        switch (key & 7) {
        case 0: /* varint */
            if (varint(&p, end, &v) < 0)
                return SKY_EBADMSG;
            if (key >> 3 == 1)
                st->code = (int32_t)(uint32_t)v < 0 ? (int32_t)(uint32_t)v : SKY_EFAIL;
            break;
        case 1: /* 64-bit */
        case 5: /* 32-bit */
            if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
                return SKY_EBADMSG;
            p += (key & 7) == 1 ? 8 : 4;
            break;
        case 2: /* length-delimited */
            if (varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
                return SKY_EBADMSG;
            if (key >> 3 == 2) {
                st->msg = p;
                st->msg_len = (size_t)v;
            } else if (key >> 3 == 3) {
                st->app_code = p;
                st->app_code_len = (size_t)v;
            } else if (key >> 3 == 4) {
                st->details = p;
                st->details_len = (size_t)v;
            }
            p += v;
            break;
        default:
            return SKY_EBADMSG;
        }
    }
    if (st->code != SKY_EAPP)
        st->app_code_len = 0;
    return 0;
}

uint32_t sky__wire_method_id(const char *full_name)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *s = (const unsigned char *)full_name; *s; s++)
        h = (h ^ *s) * 16777619u;
    return h;
}
