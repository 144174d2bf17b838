/* Walking the messages of a .proto file with their source paths, for the
 * checks that report a message, a field or a oneof as file:line:col. */
#ifndef SKYC_WALK_H
#define SKYC_WALK_H

#include <stddef.h>
#include <stdint.h>
#include "google/protobuf/descriptor.pb-c.h"

/* Room a callback has after a message's path: {field, index}. */
#define SKYC_WALK_EXTRA 2

/* Called for message d, whose full name is `full` ("pkg.Outer.Inner") and
 * whose source path is path[0..n) (see srcinfo.h); path has room for
 * SKYC_WALK_EXTRA more entries, to name a field ({..., 2, i}) or a oneof
 * ({..., 8, i}). Returns the number of problems it found. */
typedef int skyc_message_fn(void *ud, const char *full, const Google__Protobuf__DescriptorProto *d, int32_t *path,
                            size_t n);

/* Calls fn for every message of f, each before its nested messages, in
 * file order. Returns the sum of fn's results. Messages nested deeper
 * than the path can say get their outermost known path (positions then
 * fall back to an enclosing declaration or 1:1). */
int skyc_walk_messages(const Google__Protobuf__FileDescriptorProto *f, skyc_message_fn *fn, void *ud);

#endif
