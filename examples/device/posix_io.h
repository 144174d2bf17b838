/* A sky_nano_io transport over a POSIX TCP socket, for running the nanopb
 * client on an ordinary machine (the device example and the tests). A
 * microcontroller port writes the same three functions over its own
 * network stack or UART. */
#ifndef SKY_DEVICE_POSIX_IO_H
#define SKY_DEVICE_POSIX_IO_H

#include <sky/nanoclient.h>

/* Connects to host:port (numeric IPv4) within timeout_ms; returns the
 * socket or -1. */
int posix_io_connect(const char *host, int port, int timeout_ms);

/* A transport over socket *fd (read, write, a monotonic clock). */
sky_nano_io posix_io(int *fd);

#endif
