/* Initializing a protobuf-c message from its descriptor alone. */
#ifndef SKY__MSGINIT_H
#define SKY__MSGINIT_H

#include <protobuf-c/protobuf-c.h>

/* Sets up m (d->sizeof_message bytes) as a generated message_init does:
 * all zero, m->descriptor = d, and every non-repeated field outside a
 * oneof that has a default_value set to it. Works for compiled
 * descriptors and for those sky_schema_load builds, which have no
 * message_init function. */
void sky__message_init(const ProtobufCMessageDescriptor *d, ProtobufCMessage *m);

/* The bytes a value of `type` takes in a protobuf-c struct (a pointer for
 * strings and messages). */
size_t sky__pb_value_size(ProtobufCType type);

#endif
