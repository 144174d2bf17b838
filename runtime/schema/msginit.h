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

/* 1 if f, a field of message parent, is a map field: protoc makes `map<K,
 * V> x_y = n` a repeated XYEntry nested in the message with fields key = 1
 * and value = 2, and protobuf-c keeps no map_entry flag, so this
 * recognises that shape. */
int sky__pb_is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f);

#endif
