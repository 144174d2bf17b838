/* protobuf-c descriptors built at run time from descriptor.proto's
 * messages (DescriptorProto, EnumDescriptorProto), laid out exactly as
 * protoc-c would lay out the generated structs, so protobuf-c's pack,
 * unpack and free_unpacked work on them as on compiled ones. Used by
 * sky_schema_load (dynschema.c); everything lives in an arena. */
#ifndef SKY__DYNDESC_H
#define SKY__DYNDESC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include "google/protobuf/descriptor.pb-c.h"

/* Zeroed allocations freed all at once. */
typedef struct sky__arena {
    struct sky__chunk *head;
} sky__arena;

void *sky__arena_alloc(sky__arena *a, size_t size);
char *sky__arena_strdup(sky__arena *a, const char *s);
void sky__arena_free(sky__arena *a);

/* What building one file needs. find() resolves a fully-qualified type
 * name (".acme.Money") to a ProtobufCMessageDescriptor (is_enum 0) or a
 * ProtobufCEnumDescriptor (is_enum 1), or NULL. Errors are written to
 * err as "<file>: <full name>: <reason>". */
typedef struct sky__dyn {
    sky__arena *arena;
    const char *file;    /* "acme/store.proto" */
    const char *package; /* "acme", or "" */
    int proto3;
    const void *(*find)(struct sky__dyn *dyn, const char *type_name, int is_enum);
    void *ud; /* for find */
    char *err;
    size_t errsize;
} sky__dyn;

/* Fills d's names (full_name "acme.Item.Sub", its short name, protoc-c's
 * c_name and the package) and magic; the fields come later, from
 * sky__dyn_message, so messages may refer to each other in any order. */
void sky__dyn_message_names(sky__dyn *dyn, ProtobufCMessageDescriptor *d, const char *full_name,
                            const char *short_name);

/* Fills the fields, layout and defaults of d (named already) from p.
 * Returns 0, or SKY_EINVAL (an unresolved type, a group, a bad default,
 * a duplicate field number) or SKY_EBADMSG (a field without name or
 * number, a oneof index out of range) with the reason in dyn->err. */
int sky__dyn_message(sky__dyn *dyn, ProtobufCMessageDescriptor *d, const Google__Protobuf__DescriptorProto *p);

/* Fills enum descriptor e from p. Returns 0, or SKY_EINVAL (no values)
 * or SKY_EBADMSG (a value without name or number). */
int sky__dyn_enum(sky__dyn *dyn, ProtobufCEnumDescriptor *e, const char *full_name,
                  const Google__Protobuf__EnumDescriptorProto *p);

#endif
