/* Message init from the descriptor: see msginit.h. The default_value
 * representations are protobuf-c's (protobuf-c.c, message_init_generic):
 * a pointer to the value for numbers, enums and bools, a pointer to a
 * ProtobufCBinaryData for bytes, and the string itself for strings. */
#include <string.h>
#include "schema/msginit.h"

size_t sky__pb_value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    default:
        return 4; /* 32-bit numbers, float, enums */
    }
}

void sky__message_init(const ProtobufCMessageDescriptor *d, ProtobufCMessage *m)
{
    memset(m, 0, d->sizeof_message);
    m->descriptor = d;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        /* a oneof's union stays zero, its case NOT_SET, as protoc-c's
         * initializers leave it (protobuf-c's own generic init writes
         * every member's default into it) */
        if (!f->default_value || f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        char *slot = (char *)m + f->offset;
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
            memcpy(slot, &f->default_value, sizeof(void *)); /* the default is the value itself */
        else
            memcpy(slot, f->default_value, sky__pb_value_size(f->type));
    }
}

/* The shape protoc gives a map field: see msginit.h. */
int sky__pb_is_map(const ProtobufCMessageDescriptor *parent, const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    if (d->n_fields != 2 || d->fields[0].id != 1 || d->fields[1].id != 2 ||
        strcmp(d->fields[0].name, "key") != 0 || strcmp(d->fields[1].name, "value") != 0)
        return 0;
    char want[256];
    size_t n = 0;
    int up = 1;
    for (const char *p = f->name; *p && n + 6 < sizeof want; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        want[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    memcpy(want + n, "Entry", 6);
    size_t pl = strlen(parent->name);
    return strcmp(d->short_name, want) == 0 &&
           strncmp(d->name, parent->name, pl) == 0 &&
           d->name[pl] == '.' && strcmp(d->name + pl + 1, d->short_name) == 0;
}
