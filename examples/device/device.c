/* device: a nanopb client reporting readings to the collector (a Lua
 * service) through a node's gate. Static memory only: the frame buffer,
 * the client and the messages are fixed-size; the transport is
 * posix_io.c here, a network stack or UART on a microcontroller.
 *
 *   device HOST PORT SENSOR VALUE...
 *
 * Reports each VALUE of SENSOR, printing the collector's summary after
 * each, then sends one more as a oneway Note. Exit status 0, or 1 with
 * the error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "device.sky-nano.h"
#include "posix_io.h"

static uint8_t frame[SKY_NANO_HEADER + device_Summary_size > SKY_NANO_HEADER + device_Reading_size
                         ? SKY_NANO_HEADER + device_Summary_size
                         : SKY_NANO_HEADER + device_Reading_size];
static sky_nano client;

static int fail(const char *what, int rc)
{
    fprintf(stderr, "device: %s: error %d%s%s\n", what, rc, client.message[0] ? ": " : "", client.message);
    return 1;
}

int main(int argc, char **argv)
{
    device_Reading reading = device_Reading_init_zero;
    device_Summary summary;
    sky_nano_io io;
    int fd, rc;

    if (argc < 5 || strlen(argv[3]) >= sizeof reading.sensor) {
        fputs("usage: device HOST PORT SENSOR VALUE... (SENSOR: at most 23 bytes)\n", stderr);
        return 2;
    }
    if ((fd = posix_io_connect(argv[1], atoi(argv[2]), 2000)) < 0) {
        fprintf(stderr, "device: cannot connect to %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    io = posix_io(&fd);
    sky_nano_init(&client, &io, frame, sizeof frame);
    if ((rc = sky_nano_handshake(&client, 2000)) != 0)
        return fail("handshake", rc);

    strcpy(reading.sensor, argv[3]);
    for (int i = 4; i < argc; i++) {
        reading.value = atoi(argv[i]);
        if ((rc = device_Collector_Report_nano_call(&client, &reading, &summary, 0)) != 0)
            return fail("Report", rc);
        printf("%s: %u readings, min %d, max %d\n", summary.sensor, (unsigned)summary.count, (int)summary.min,
               (int)summary.max);
    }
    if ((rc = device_Collector_Note_nano_send(&client, &reading, 0)) != 0)
        return fail("Note", rc);
    close(fd);
    return 0;
}
