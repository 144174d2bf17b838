/* A gate written from docs/protocol.md for the client tests: one thread,
 * one connection at a time, on 127.0.0.1. It answers by method id (the
 * FAKE_* names below), so each test picks a behaviour by the method it
 * calls, and records what the client sent for the tests to check. */
#ifndef SKY_TEST_FAKEGATE_H
#define SKY_TEST_FAKEGATE_H

#include <stddef.h>
#include <stdint.h>

/* Methods (full names; their ids are what the client sends). */
#define FAKE_ECHO "test.Fake.Echo"          /* response: the request's payload */
#define FAKE_FAIL "test.Fake.Fail"          /* error: {-2, "no such service"} */
#define FAKE_APPFAIL "test.Fake.AppFail"    /* error: {EAPP, "only 3 left", "EOUTOFSTOCK", "\0\1det"}
                                               and a field 9 of a newer Status */
#define FAKE_SLOW "test.Fake.Slow"          /* response after 300 ms */
#define FAKE_SHORT "test.Fake.Short"        /* a frame whose length is 5 */
#define FAKE_HUGE "test.Fake.Huge"          /* a frame whose length is 2^31 */
#define FAKE_BADKIND "test.Fake.BadKind"    /* a frame of kind request */
#define FAKE_BADSTATUS "test.Fake.BadStatus" /* an error frame that is no sky.Status */
#define FAKE_CLOSE "test.Fake.Close"        /* closes the connection */
#define FAKE_TRICKLE "test.Fake.Trickle"    /* the echo, one byte at a time */
#define FAKE_OTHER "test.Fake.Other"        /* first a response with another session, then the echo */
#define FAKE_GARBAGE "test.Fake.Garbage"    /* a response whose payload is no protobuf message */

typedef struct fakegate fakegate;

typedef struct fakegate_opts {
    int port;         /* 0: any free port */
    int bad_preface;  /* answer "HTTP" instead of the preface */
} fakegate_opts;

/* Starts the gate; NULL if it cannot listen (port taken). */
fakegate *fakegate_start(const fakegate_opts *o);

/* Stops the thread and closes every socket. */
void fakegate_stop(fakegate *g);

int fakegate_port(const fakegate *g);

/* What the gate has seen so far (read after the client's call returned;
 * the gate records before it answers). */
typedef struct fakegate_seen {
    int connections;
    int bad_prefaces;       /* connections whose preface was wrong */
    int oneways;            /* oneway frames received */
    uint8_t last_header[16]; /* the last frame's header as received */
    uint8_t last_payload[64];
    size_t last_payload_len;
} fakegate_seen;

void fakegate_seen_get(fakegate *g, fakegate_seen *out);

/* Waits up to timeout_ms until the gate has counted n oneways; returns the
 * count seen. */
int fakegate_wait_oneways(fakegate *g, int n, int timeout_ms);

/* A listening socket on 127.0.0.1 whose accept queue is full, so that a
 * connect to it gets no answer (a blackhole). Returns the port, filling
 * fds[0..*nfds) with the sockets to close afterwards. */
int blackhole_open(int *fds, int *nfds, int max);

#endif
