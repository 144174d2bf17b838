/* Input checks: see check.h. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model.h"
#include "names.h"
#include "srcinfo.h"
#include "walk.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest request;
typedef Google__Protobuf__FileDescriptorProto file_proto;

typedef struct method_ref {
    uint32_t id;
    char *full_name;
    size_t file, service, method; /* indexes into the request */
    size_t order;
} method_ref;

int skyc_is_generated(const request *req, const char *name)
{
    for (size_t i = 0; i < req->n_file_to_generate; i++)
        if (strcmp(req->file_to_generate[i], name) == 0)
            return 1;
    return 0;
}

static int cmp_refs(const void *a, const void *b)
{
    const method_ref *x = a, *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int check_streaming(const request *req, size_t fi, skyc_buf *errs)
{
    const file_proto *f = req->proto_file[fi];
    skyc_srcinfo *si = skyc_srcinfo_new(f);
    int problems = 0;

    for (size_t s = 0; s < f->n_service; s++) {
        const Google__Protobuf__ServiceDescriptorProto *svc = f->service[s];

        for (size_t m = 0; m < svc->n_method; m++) {
            const Google__Protobuf__MethodDescriptorProto *md = svc->method[m];
            int32_t path[] = {SKYC_PATH_SERVICE, (int32_t)s, SKYC_PATH_METHOD, (int32_t)m};

            if (md->client_streaming || md->server_streaming) {
                char *full = skyc_model_method_name(f, svc, md);

                skyc_srcinfo_error(si, errs, path, 4, "%s: streaming rpc not supported yet", full);
                free(full);
                problems++;
            }
        }
    }
    skyc_srcinfo_free(si);
    return problems;
}

static int group_fields(void *ud, const char *full, const Google__Protobuf__DescriptorProto *d, int32_t *path,
                        size_t n)
{
    const skyc_srcinfo *si = ((void **)ud)[0];
    skyc_buf *errs = ((void **)ud)[1];
    int problems = 0;

    for (size_t i = 0; i < d->n_field; i++) {
        if (d->field[i]->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP)
            continue;
        path[n] = SKYC_PATH_FIELD;
        path[n + 1] = (int32_t)i;
        skyc_srcinfo_error(si, errs, path, n + 2, "%s.%s: groups are not supported (make it a message field)",
                           full, d->field[i]->name ? d->field[i]->name : "");
        problems++;
    }
    return problems;
}

/* proto2 groups: protobuf-c's generator crashes on them, and the runtime
 * refuses them in a loaded schema. */
static int check_groups(const request *req, size_t fi, skyc_buf *errs)
{
    skyc_srcinfo *si = skyc_srcinfo_new(req->proto_file[fi]);
    void *ud[] = {si, errs};
    int problems = skyc_walk_messages(req->proto_file[fi], group_fields, ud);

    skyc_srcinfo_free(si);
    return problems;
}

int skyc_is_bundled(const char *name)
{
    return strncmp(name, "google/protobuf/", 16) == 0 || strncmp(name, "sky/", 4) == 0;
}

/* Two files of one program whose sky stubs would define the same
 * `<c_name>_file` (the name is made from the path, but different paths
 * can still meet: a-b.proto and a_b.proto). */
static int check_file_names(const request *req, skyc_buf *errs)
{
    size_t n = req->n_proto_file;
    char **names = skyc_xmalloc((n ? n : 1) * sizeof *names);
    int problems = 0;

    for (size_t i = 0; i < n; i++) {
        skyc_buf b = SKYC_BUF_INIT;

        skyc_name_c_file(&b, req->proto_file[i]->name, req->proto_file[i]->package);
        names[i] = skyc_buf_take(&b);
    }
    for (size_t i = 0; i < n; i++) {
        const file_proto *f = req->proto_file[i];

        if (!skyc_is_generated(req, f->name) || skyc_is_bundled(f->name))
            continue;
        for (size_t j = 0; j < n; j++) {
            if (j == i || skyc_is_bundled(req->proto_file[j]->name) || strcmp(names[i], names[j]) != 0)
                continue;
            /* at its package line, else its syntax line */
            int32_t path[] = {f->package && *f->package ? SKYC_PATH_PACKAGE : SKYC_PATH_SYNTAX};
            skyc_srcinfo *si = skyc_srcinfo_new(f);

            skyc_srcinfo_error(si, errs, path, 1,
                               "the C name of this file, %s_file, is also that of %s: rename or move one of them",
                               names[i], req->proto_file[j]->name);
            skyc_srcinfo_free(si);
            problems++;
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return problems;
}

/* Sorts every method by id; equal neighbours collide. The error is placed
 * at the later method of a file being generated. */
static int check_ids(const request *req, skyc_buf *errs)
{
    method_ref *refs = NULL;
    size_t n = 0, cap = 0;
    int problems = 0;

    for (size_t fi = 0; fi < req->n_proto_file; fi++) {
        const file_proto *f = req->proto_file[fi];

        for (size_t s = 0; s < f->n_service; s++) {
            for (size_t m = 0; m < f->service[s]->n_method; m++) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 64;
                    refs = skyc_xrealloc(refs, cap * sizeof *refs);
                }
                refs[n].full_name = skyc_model_method_name(f, f->service[s], f->service[s]->method[m]);
                refs[n].id = skyc_fnv1a(refs[n].full_name);
                refs[n].file = fi;
                refs[n].service = s;
                refs[n].method = m;
                refs[n].order = n;
                n++;
            }
        }
    }
    if (n > 1) qsort(refs, n, sizeof *refs, cmp_refs); /* refs is NULL when n is 0 */
    for (size_t i = 1; i < n; i++) {
        const method_ref *a = &refs[i - 1], *b = &refs[i];
        const method_ref *at = b, *other = a;
        skyc_buf where = SKYC_BUF_INIT;
        skyc_srcinfo *si;
        int32_t path[4];

        if (a->id != b->id)
            continue;
        if (!skyc_is_generated(req, req->proto_file[b->file]->name)) {
            if (!skyc_is_generated(req, req->proto_file[a->file]->name))
                continue;
            at = a;
            other = b;
        }
        path[0] = SKYC_PATH_SERVICE;
        path[1] = (int32_t)other->service;
        path[2] = SKYC_PATH_METHOD;
        path[3] = (int32_t)other->method;
        si = skyc_srcinfo_new(req->proto_file[other->file]);
        skyc_srcinfo_where(si, &where, path, 4);
        skyc_srcinfo_free(si);
        path[1] = (int32_t)at->service;
        path[3] = (int32_t)at->method;
        si = skyc_srcinfo_new(req->proto_file[at->file]);
        skyc_srcinfo_error(si, errs, path, 4, "method id 0x%08x of %s collides with %s (%s): rename one",
                           (unsigned)at->id, at->full_name, other->full_name, skyc_buf_str(&where));
        skyc_srcinfo_free(si);
        skyc_buf_deinit(&where);
        problems++;
    }
    for (size_t i = 0; i < n; i++)
        free(refs[i].full_name);
    free(refs);
    return problems;
}

int skyc_check(const request *req, skyc_buf *errs)
{
    int problems = 0;

    for (size_t fi = 0; fi < req->n_proto_file; fi++)
        if (skyc_is_generated(req, req->proto_file[fi]->name))
            problems += check_streaming(req, fi, errs) + check_groups(req, fi, errs);
    return problems + check_ids(req, errs) + check_file_names(req, errs);
}
