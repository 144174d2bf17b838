/* The membership as configured: checking it, and the first serial of a
 * run (see cluster.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cluster/cluster.h"
#include "cluster/members.h"

static int bad(char *err, size_t errsize, const char *fmt, ...) SKY_PRINTF(3, 4);

static int bad(char *err, size_t errsize, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int sky__member_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 255) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e || name[i] == '@') return 0;
    return 1;
}

int sky__member_split(const char *address, char *host, size_t hostsize, char *port, size_t portsize)
{
    const char *colon = address ? strrchr(address, ':') : NULL;
    if (!colon || colon == address || !colon[1]) return -1;
    const char *h = address, *e = colon;
    if (*h == '[') { /* [::1]:7001 */
        if (e[-1] != ']') return -1;
        h++;
        e--;
    }
    size_t hl = (size_t)(e - h), pl = strlen(colon + 1);
    if (hl == 0 || hl >= hostsize || pl >= portsize) return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, pl + 1);
    return 0;
}

int sky__members_check(const sky_cluster_member *m, size_t n, char *err, size_t errsize)
{
    if (n > 65536) return bad(err, errsize, "cluster: %zu members, at most 65536", n);
    for (size_t i = 0; i < n; i++) {
        char host[256], port[8];
        const char *name = m[i].name ? m[i].name : "(null)";
        if (!sky__member_name_ok(m[i].name))
            return bad(err, errsize, "cluster: member '%s': a name is 1..255 printable characters, no space, no '@'",
                       name);
        if (sky__member_split(m[i].address, host, sizeof host, port, sizeof port) != 0)
            return bad(err, errsize, "cluster: member '%s': address '%s' is not \"host:port\" (port 1..65535)", name,
                       m[i].address ? m[i].address : "(null)");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m[j].name, m[i].name) == 0)
                return bad(err, errsize, "cluster: member '%s' is listed twice", name);
            if (m[j].id == m[i].id)
                return bad(err, errsize, "cluster: members '%s' and '%s' have the same id %u", m[j].name, name,
                           (unsigned)m[i].id);
        }
    }
    return 0;
}

const sky_cluster_member *sky__members_find(const sky_cluster_member *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0) return &m[i];
    return NULL;
}

int sky__cluster_check(const sky_config *c, char *err, size_t errsize)
{
    if (c->cluster_size == 0) return 0;
    if (!c->cluster) return bad(err, errsize, "cluster: cluster_size is %zu but cluster is NULL", c->cluster_size);
    if (sky__members_check(c->cluster, c->cluster_size, err, errsize) != 0) return -1;
    const char *self = c->node_name ? c->node_name : "sky";
    const sky_cluster_member *me = sky__members_find(c->cluster, c->cluster_size, self);
    if (!me) return bad(err, errsize, "cluster: no member is named '%s' (node_name)", self);
    if (me->id != c->node_id)
        return bad(err, errsize, "cluster: node_id is %u but member '%s' has id %u", (unsigned)c->node_id, self,
                   (unsigned)me->id);
    if (!c->cluster_secret || c->cluster_secret_len == 0)
        return bad(err, errsize, "cluster_secret: a cluster needs a shared secret (cluster_secret or cluster_secret_file)");
    if (c->cluster_tick_ms < 1) return bad(err, errsize, "cluster_tick_ms: must be >= 1");
    if (c->cluster_down_ms <= c->cluster_tick_ms)
        return bad(err, errsize, "cluster_down_ms: must be above cluster_tick_ms (%d)", c->cluster_tick_ms);
    if (c->cluster_max_message < 1024 || c->cluster_max_message > UINT32_MAX)
        return bad(err, errsize, "cluster_max_message: must be 1024..4294967295 (bytes)");
    if (c->cluster_high_water < 1) return bad(err, errsize, "cluster_high_water: must be >= 1 (bytes)");
    if (c->cluster_low_water >= c->cluster_high_water)
        return bad(err, errsize, "cluster_low_water: must be below cluster_high_water");
    return 0;
}

/* Microseconds since 2026-01-01 UTC, in the serial bits below the name
 * bit: a later run starts past an earlier one unless that one handed out
 * more than a million serials a second on average (or ~4.4 years went by
 * and the count wrapped). */
uint64_t sky__cluster_first_serial(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    const uint64_t epoch = UINT64_C(1767225600) * 1000000u; /* 2026-01-01T00:00:00Z */
    uint64_t s = (us > epoch ? us - epoch : us) & (SKY__NAME_SERIAL - 1);
    return s ? s : 1;
}
