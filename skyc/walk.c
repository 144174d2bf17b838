/* Walking messages: see walk.h. */
#include "buf.h"
#include "srcinfo.h"
#include "walk.h"

#define MAX_PATH 64

static int walk(const char *scope, const Google__Protobuf__DescriptorProto *d, int32_t *path, size_t n,
                skyc_message_fn *fn, void *ud)
{
    skyc_buf full = SKYC_BUF_INIT;
    int problems;

    skyc_buf_printf(&full, "%s%s%s", scope, *scope ? "." : "", d->name ? d->name : "");
    problems = fn(ud, skyc_buf_str(&full), d, path, n);
    for (size_t i = 0; i < d->n_nested_type; i++) {
        int deeper = n + 2 <= MAX_PATH;

        if (deeper) {
            path[n] = SKYC_PATH_NESTED;
            path[n + 1] = (int32_t)i;
        }
        problems += walk(skyc_buf_str(&full), d->nested_type[i], path, deeper ? n + 2 : n, fn, ud);
    }
    skyc_buf_deinit(&full);
    return problems;
}

int skyc_walk_messages(const Google__Protobuf__FileDescriptorProto *f, skyc_message_fn *fn, void *ud)
{
    int32_t path[MAX_PATH + SKYC_WALK_EXTRA];
    int problems = 0;

    for (size_t i = 0; i < f->n_message_type; i++) {
        path[0] = SKYC_PATH_MESSAGE;
        path[1] = (int32_t)i;
        problems += walk(f->package ? f->package : "", f->message_type[i], path, 2, fn, ud);
    }
    return problems;
}
