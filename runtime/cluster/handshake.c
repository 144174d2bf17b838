/* The cluster link's handshake (handshake.h). */
#include "cluster/handshake.h"
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sky/alloc.h"

#define MAGIC "SKYH"
#define T_HELLO 1
#define T_PROOF 2
/* Every proof's input starts with it, so no other HMAC under the same
 * secret can pass for a proof. */
#define PROOF_LABEL "sky-cluster-proof-v1"

enum { S_NEW, S_SENT, S_PROVING, S_DONE, S_FAILED };

struct sky__hs {
    int state; /* S_SENT: our HELLO went out; S_PROVING: theirs came, our PROOF went out */
    uint8_t *secret;
    size_t secret_len;
    char *peer_name; /* expected, or NULL */
    uint16_t peer_id;
    sky__hs_lookup_fn *lookup;
    void *ud;
    uint8_t binding[SKY__HS_BINDING_MAX];
    size_t binding_len;
    uint8_t hello[SKY__HS_MSG_MAX]; /* ours, as sent */
    size_t hello_len;
    uint8_t theirs[SKY__HS_MSG_MAX]; /* theirs, as received */
    size_t theirs_len;
    char got_name[SKY__HS_NAME_MAX + 1];
    uint16_t got_id;
    uint64_t got_incarnation;
    char why[200];
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > SKY__HS_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e) return 0;
    return 1;
}

static const char *check_config(const sky__hs_config *cfg)
{
    if (!cfg->name || !name_ok(cfg->name, strlen(cfg->name)))
        return "node name must be 1 to 255 printable ASCII bytes without spaces";
    if (cfg->incarnation == 0) return "incarnation 0";
    if (!cfg->secret || cfg->secret_len == 0) return "empty cluster secret";
    if (cfg->peer_name && !name_ok(cfg->peer_name, strlen(cfg->peer_name))) return "bad peer name";
    if (!cfg->peer_name && !cfg->lookup) return "neither a peer name nor a member lookup";
    if (cfg->binding_len > SKY__HS_BINDING_MAX || (cfg->binding_len && !cfg->binding))
        return "channel binding over 64 bytes";
    return NULL;
}

static size_t write_hello(uint8_t *out, const sky__hs_config *cfg)
{
    size_t len = strlen(cfg->name);
    memcpy(out, MAGIC, 4);
    out[4] = T_HELLO;
    out[5] = SKY__HS_VERSION;
    put16(out + 6, cfg->id);
    for (int i = 0; i < 8; i++) out[8 + i] = (uint8_t)(cfg->incarnation >> (8 * i));
    randombytes_buf(out + 16, SKY__HS_NONCE);
    out[48] = (uint8_t)len;
    memcpy(out + SKY__HS_HELLO_FIXED, cfg->name, len);
    return SKY__HS_HELLO_FIXED + len;
}

sky__hs *sky__hs_new(const sky__hs_config *cfg, const char **why)
{
    *why = check_config(cfg);
    if (*why) return NULL;
    if (sodium_init() < 0) {
        *why = "libsodium failed to start";
        return NULL;
    }
    sky__hs *hs = sky_calloc(1, sizeof *hs);
    hs->secret = sky_malloc(cfg->secret_len);
    memcpy(hs->secret, cfg->secret, cfg->secret_len);
    hs->secret_len = cfg->secret_len;
    hs->peer_name = cfg->peer_name ? sky_strdup(cfg->peer_name) : NULL;
    hs->peer_id = cfg->peer_id;
    hs->lookup = cfg->lookup;
    hs->ud = cfg->ud;
    if (cfg->binding_len) memcpy(hs->binding, cfg->binding, cfg->binding_len);
    hs->binding_len = cfg->binding_len;
    hs->hello_len = write_hello(hs->hello, cfg);
    return hs;
}

void sky__hs_free(sky__hs *hs)
{
    if (!hs) return;
    sodium_memzero(hs->secret, hs->secret_len);
    free(hs->secret);
    free(hs->peer_name);
    sodium_memzero(hs, sizeof *hs);
    free(hs);
}

const char *sky__hs_why(const sky__hs *hs) { return hs->why; }

static int fail(sky__hs *hs, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(sky__hs *hs, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hs->why, sizeof hs->why, fmt, ap);
    va_end(ap);
    hs->state = S_FAILED;
    return code;
}

int sky__hs_start(sky__hs *hs, uint8_t out[SKY__HS_MSG_MAX], size_t *n)
{
    *n = 0;
    if (hs->state != S_NEW) return SKY__HS_ESTATE;
    memcpy(out, hs->hello, hs->hello_len);
    *n = hs->hello_len;
    hs->state = S_SENT;
    return 0;
}

/* HMAC-SHA256(secret, label | len | sender's HELLO | len | receiver's
 * HELLO | len | binding), lengths 16-bit little-endian. */
static void proof(const sky__hs *hs, const uint8_t *from, size_t from_len, const uint8_t *to, size_t to_len,
                  uint8_t mac[SKY__HS_MAC])
{
    crypto_auth_hmacsha256_state st;
    uint8_t len[2];
    crypto_auth_hmacsha256_init(&st, hs->secret, hs->secret_len);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)PROOF_LABEL, sizeof PROOF_LABEL - 1);
    put16(len, (uint16_t)from_len);
    crypto_auth_hmacsha256_update(&st, len, 2);
    crypto_auth_hmacsha256_update(&st, from, from_len);
    put16(len, (uint16_t)to_len);
    crypto_auth_hmacsha256_update(&st, len, 2);
    crypto_auth_hmacsha256_update(&st, to, to_len);
    put16(len, (uint16_t)hs->binding_len);
    crypto_auth_hmacsha256_update(&st, len, 2);
    crypto_auth_hmacsha256_update(&st, hs->binding, hs->binding_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

/* The peer's HELLO: who it says it is, checked against who we expect. */
static int take_hello(sky__hs *hs, const uint8_t *m, size_t len)
{
    if (len < SKY__HS_HELLO_FIXED || len != SKY__HS_HELLO_FIXED + (size_t)m[48])
        return fail(hs, SKY__HS_EBADMSG, "a HELLO of %zu bytes: truncated or overlong", len);
    size_t name_len = m[48];
    if (!name_ok((const char *)m + SKY__HS_HELLO_FIXED, name_len))
        return fail(hs, SKY__HS_EBADMSG, "a HELLO whose node name is empty or not printable ASCII");
    memcpy(hs->got_name, m + SKY__HS_HELLO_FIXED, name_len);
    hs->got_name[name_len] = '\0';
    hs->got_id = le16(m + 6);
    hs->got_incarnation = le64(m + 8);
    if (hs->got_incarnation == 0) return fail(hs, SKY__HS_EBADMSG, "a HELLO with incarnation 0");
    if (sodium_memcmp(m + 16, hs->hello + 16, SKY__HS_NONCE) == 0)
        return fail(hs, SKY__HS_EPROOF, "our own HELLO came back (reflected)");
    size_t own_len = hs->hello[48];
    uint16_t own_id = le16(hs->hello + 6);
    if (hs->got_id == own_id ||
        (own_len == name_len && memcmp(hs->hello + SKY__HS_HELLO_FIXED, hs->got_name, name_len) == 0))
        return fail(hs, SKY__HS_EPEER, "peer claims to be this node (\"%s\", id %u)", hs->got_name,
                    (unsigned)hs->got_id);
    if (hs->peer_name) {
        if (strcmp(hs->peer_name, hs->got_name) != 0 || hs->peer_id != hs->got_id)
            return fail(hs, SKY__HS_EPEER, "peer says it is \"%s\" (id %u), expected \"%s\" (id %u)", hs->got_name,
                        (unsigned)hs->got_id, hs->peer_name, (unsigned)hs->peer_id);
    } else {
        int id = hs->lookup(hs->ud, hs->got_name);
        if (id < 0) return fail(hs, SKY__HS_EPEER, "peer says it is \"%s\": no such member", hs->got_name);
        if ((uint16_t)id != hs->got_id || id > UINT16_MAX)
            return fail(hs, SKY__HS_EPEER, "peer \"%s\" says its id is %u, the membership says %d", hs->got_name,
                        (unsigned)hs->got_id, id);
    }
    memcpy(hs->theirs, m, len);
    hs->theirs_len = len;
    return 0;
}

static int take_proof(sky__hs *hs, const uint8_t *m, size_t len)
{
    if (len != SKY__HS_PROOF_LEN) return fail(hs, SKY__HS_EBADMSG, "a PROOF of %zu bytes, not 40", len);
    if (m[6] || m[7]) return fail(hs, SKY__HS_EBADMSG, "a PROOF with reserved bytes set");
    uint8_t want[SKY__HS_MAC];
    proof(hs, hs->theirs, hs->theirs_len, hs->hello, hs->hello_len, want);
    if (sodium_memcmp(want, m + 8, SKY__HS_MAC) != 0)
        return fail(hs, SKY__HS_EPROOF,
                    "peer \"%s\" failed to prove the cluster secret (wrong secret, or a replayed, reflected or "
                    "tampered handshake)",
                    hs->got_name);
    return 0;
}

int sky__hs_input(sky__hs *hs, const uint8_t *m, size_t len, uint8_t out[SKY__HS_MSG_MAX], size_t *n)
{
    *n = 0;
    if (hs->state != S_SENT && hs->state != S_PROVING) {
        if (hs->state != S_FAILED)
            snprintf(hs->why, sizeof hs->why, "handshake input %s", hs->state == S_NEW ? "before start" : "after its end");
        return SKY__HS_ESTATE;
    }
    if (len < 6) return fail(hs, SKY__HS_EBADMSG, "a handshake message of %zu bytes: truncated", len);
    if (memcmp(m, MAGIC, 4) != 0) return fail(hs, SKY__HS_EBADMSG, "not a sky cluster handshake (bad magic)");
    if (m[5] != SKY__HS_VERSION)
        return fail(hs, SKY__HS_EVERSION, "peer speaks protocol version %u, this node %u", m[5], SKY__HS_VERSION);
    int want = hs->state == S_SENT ? T_HELLO : T_PROOF;
    if (m[4] != want) {
        if (m[4] == T_HELLO || m[4] == T_PROOF)
            return fail(hs, SKY__HS_EBADMSG, "a %s where a %s was due", m[4] == T_HELLO ? "HELLO" : "PROOF",
                        want == T_HELLO ? "HELLO" : "PROOF");
        return fail(hs, SKY__HS_EBADMSG, "unknown handshake message type %u", m[4]);
    }
    if (want == T_PROOF) {
        int rc = take_proof(hs, m, len);
        if (rc) return rc;
        hs->state = S_DONE;
        return SKY__HS_DONE;
    }
    int rc = take_hello(hs, m, len);
    if (rc) return rc;
    memcpy(out, MAGIC, 4);
    out[4] = T_PROOF;
    out[5] = SKY__HS_VERSION;
    out[6] = out[7] = 0;
    proof(hs, hs->hello, hs->hello_len, hs->theirs, hs->theirs_len, out + 8);
    *n = SKY__HS_PROOF_LEN;
    hs->state = S_PROVING;
    return SKY__HS_MORE;
}

int sky__hs_peer(const sky__hs *hs, const char **name, uint16_t *id, uint64_t *incarnation)
{
    if (hs->state != S_DONE) return SKY__HS_ESTATE;
    *name = hs->got_name;
    *id = hs->got_id;
    *incarnation = hs->got_incarnation;
    return 0;
}
