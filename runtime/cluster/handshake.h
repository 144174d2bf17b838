/* The cluster link's handshake (runtime/cluster/README.md, "Handshake"):
 * each side sends a HELLO (name, id, incarnation, version, a random
 * nonce), then, on the peer's HELLO, a PROOF: HMAC-SHA256 under the shared
 * secret over both HELLOs, its own first, so a proof proves one direction
 * only. A pure state machine: whole messages in, messages out; the link
 * carries them in HANDSHAKE frames (or inside TLS: `binding` then ties the
 * proofs to that TLS session). Nothing but HELLO then PROOF is accepted,
 * and the first bad message ends it.
 *
 *     sky__hs *hs = sky__hs_new(&cfg, &why);
 *     sky__hs_start(hs, out, &n);                        send out[0..n)
 *     for each message m from the peer:
 *         rc = sky__hs_input(hs, m, len, out, &n);       send out[0..n) if n
 *         rc == SKY__HS_DONE: proven both ways; rc < 0: drop, log sky__hs_why(hs)
 */
#ifndef SKY__HANDSHAKE_H
#define SKY__HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include "sky/error.h"

#define SKY__HS_VERSION 1
#define SKY__HS_NONCE 32
#define SKY__HS_MAC 32
#define SKY__HS_NAME_MAX 255
#define SKY__HS_HELLO_FIXED 49                           /* a HELLO before the name */
#define SKY__HS_PROOF_LEN 40
#define SKY__HS_MSG_MAX (SKY__HS_HELLO_FIXED + SKY__HS_NAME_MAX) /* the largest message */
#define SKY__HS_BINDING_MAX 64

enum { SKY__HS_MORE = 0, SKY__HS_DONE = 1 };

/* Why a handshake ended: negative, apart from SKY_E* and the wire's. */
enum {
    SKY__HS_EBADMSG = -120,  /* garbage: bad magic, type, length, name; a message out of order */
    SKY__HS_EVERSION = -121, /* another protocol version */
    SKY__HS_EPEER = -122,    /* a name or id not the expected peer's (or this node's own) */
    SKY__HS_EPROOF = -123,   /* the proof does not verify: wrong secret, replayed, reflected, tampered */
    SKY__HS_ESTATE = -124,   /* input before start, after the end, or after a failure */
    SKY__HS_EINVAL = -125    /* a bad configuration */
};

/* Accept side: the id of member `name`, or negative if it is none. */
typedef int sky__hs_lookup_fn(void *ud, const char *name);

typedef struct sky__hs_config {
    const char *name;      /* this node: 1..255 bytes of printable ASCII, no space */
    uint16_t id;
    uint64_t incarnation;  /* fresh per run, not 0 */
    const uint8_t *secret; /* the shared secret, any length but 0 */
    size_t secret_len;
    const char *peer_name; /* the node dialled; NULL: any member lookup() knows */
    uint16_t peer_id;      /* its id, when peer_name is set */
    sky__hs_lookup_fn *lookup;
    void *ud;
    const uint8_t *binding; /* TLS channel binding (exporter bytes), or NULL */
    size_t binding_len;     /* up to SKY__HS_BINDING_MAX */
} sky__hs_config;

typedef struct sky__hs sky__hs;

/* A handshake with a fresh nonce; copies everything it keeps from cfg
 * (the secret too). Returns NULL with *why set on a bad configuration or
 * if libsodium cannot start. */
sky__hs *sky__hs_new(const sky__hs_config *cfg, const char **why);

/* Wipes the secret and frees; NULL is a no-op. */
void sky__hs_free(sky__hs *hs);

/* Our HELLO, the first message to send: writes it to out and its length
 * to *n. Returns 0, or SKY__HS_ESTATE if called twice. */
SKY_MUST_CHECK int sky__hs_start(sky__hs *hs, uint8_t out[SKY__HS_MSG_MAX], size_t *n);

/* One whole message from the peer. Sets *n to the bytes of the reply to
 * send (0 for none; our PROOF answers the peer's HELLO). Returns
 * SKY__HS_MORE, SKY__HS_DONE once both proofs verified, or a negative
 * SKY__HS_E* with sky__hs_why() saying why; the handshake is then over
 * and every later input is SKY__HS_ESTATE. */
SKY_MUST_CHECK int sky__hs_input(sky__hs *hs, const uint8_t *msg, size_t len, uint8_t out[SKY__HS_MSG_MAX],
                                 size_t *n);

/* Why it failed, for one log line ("" while it has not). */
const char *sky__hs_why(const sky__hs *hs);

/* The proven peer once sky__hs_input() returned SKY__HS_DONE (name is
 * the handshake's: valid until sky__hs_free). Returns 0 or SKY__HS_ESTATE. */
SKY_MUST_CHECK int sky__hs_peer(const sky__hs *hs, const char **name, uint16_t *id, uint64_t *incarnation);

#endif
