/* libFuzzer harness: the cluster handshake (runtime/cluster/handshake.c).
 * The first byte picks a mode:
 *   even: the rest is a peer's messages (each a length byte and its
 *         bytes) fed to an accepting node after its HELLO; without the
 *         secret and our fresh nonce no input may ever finish the
 *         handshake, and every refusal says why and stays final;
 *   odd:  a real handshake between two nodes whose four messages the
 *         rest tampers with in transit (message, offset, xor, new length);
 *         both finish exactly when nothing was changed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/handshake.h"

static const uint8_t SECRET[] = "fuzz secret";

static int members(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "alpha") == 0) return 1;
    if (strcmp(name, "beta") == 0) return 2;
    return -1;
}

static sky__hs *make(const char *name, uint16_t id, const char *peer, uint16_t peer_id)
{
    sky__hs_config c = {0};
    const char *why = NULL;
    c.name = name;
    c.id = id;
    c.incarnation = 77 + id;
    c.secret = SECRET;
    c.secret_len = sizeof SECRET - 1;
    c.peer_name = peer;
    c.peer_id = peer_id;
    c.lookup = members;
    sky__hs *hs = sky__hs_new(&c, &why);
    if (!hs) abort();
    return hs;
}

static void peer_bytes(const uint8_t *data, size_t size)
{
    sky__hs *hs = make("alpha", 1, NULL, 0);
    uint8_t out[SKY__HS_MSG_MAX];
    size_t n;
    if (sky__hs_start(hs, out, &n) != 0) abort();
    int failed = 0;
    for (size_t off = 0; off < size;) {
        size_t len = data[off++];
        if (len > size - off) len = size - off;
        int rc = sky__hs_input(hs, data + off, len, out, &n);
        off += len;
        if (rc == SKY__HS_DONE) abort(); /* proven without the secret */
        if (rc < 0) {
            if (!sky__hs_why(hs)[0] || n != 0) abort();
            if (failed && rc != SKY__HS_ESTATE) abort();
            failed = 1;
        } else if (failed || (n != 0 && n != SKY__HS_PROOF_LEN)) {
            abort();
        }
    }
    sky__hs_free(hs);
}

typedef struct msg {
    uint8_t b[SKY__HS_MSG_MAX];
    size_t n;
} msg;

/* Applies the edits aimed at message `which`; returns 1 if it changed. */
static int tamper(msg *m, int which, const uint8_t *edits, size_t nedits)
{
    uint8_t before[SKY__HS_MSG_MAX];
    size_t before_n = m->n;
    memcpy(before, m->b, m->n);
    for (size_t i = 0; i + 4 <= nedits; i += 4) {
        const uint8_t *e = edits + i;
        if ((e[0] & 3) != which) continue;
        if (m->n) m->b[e[1] % m->n] ^= e[2];
        if (e[0] & 4) m->n = e[3] < m->n ? e[3] : m->n; /* cut short */
    }
    return m->n != before_n || memcmp(before, m->b, m->n) != 0;
}

static void in_transit(const uint8_t *edits, size_t nedits)
{
    sky__hs *a = make("alpha", 1, "beta", 2), *b = make("beta", 2, NULL, 0);
    msg ha, hb, pa, pb;
    int changed = 0, ra, rb;
    if (sky__hs_start(a, ha.b, &ha.n) || sky__hs_start(b, hb.b, &hb.n)) abort();
    changed |= tamper(&ha, 0, edits, nedits);
    changed |= tamper(&hb, 1, edits, nedits);
    ra = sky__hs_input(a, hb.b, hb.n, pa.b, &pa.n);
    rb = sky__hs_input(b, ha.b, ha.n, pb.b, &pb.n);
    changed |= tamper(&pa, 2, edits, nedits);
    changed |= tamper(&pb, 3, edits, nedits);
    uint8_t none[SKY__HS_MSG_MAX];
    size_t n;
    if (ra == SKY__HS_MORE) ra = sky__hs_input(a, pb.b, pb.n, none, &n);
    if (rb == SKY__HS_MORE) rb = sky__hs_input(b, pa.b, pa.n, none, &n);
    int both = ra == SKY__HS_DONE && rb == SKY__HS_DONE;
    if (both == changed) abort();
    sky__hs_free(a);
    sky__hs_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) in_transit(data + 1, size - 1);
    else peer_bytes(data + 1, size - 1);
    return 0;
}
