/* The schema a Lua stub carries: see descset.h. */
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "descset.h"

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto message_proto;

/* Whether d or a message or enum nested in it is `name`. */
static int declared_in_scope(const message_proto *d, const char *scope, const char *name)
{
    skyc_buf full = SKYC_BUF_INIT;
    int hit;

    skyc_buf_printf(&full, "%s.%s", scope, d->name ? d->name : "");
    hit = strcmp(skyc_buf_str(&full), name) == 0;
    for (size_t i = 0; !hit && i < d->n_enum_type; i++) {
        skyc_buf e = SKYC_BUF_INIT;

        skyc_buf_printf(&e, "%s.%s", skyc_buf_str(&full), d->enum_type[i]->name ? d->enum_type[i]->name : "");
        hit = strcmp(skyc_buf_str(&e), name) == 0;
        skyc_buf_deinit(&e);
    }
    for (size_t i = 0; !hit && i < d->n_nested_type; i++)
        hit = declared_in_scope(d->nested_type[i], skyc_buf_str(&full), name);
    skyc_buf_deinit(&full);
    return hit;
}

int skyc_file_of_type(const skyc_request *req, const char *name)
{
    for (size_t fi = 0; fi < req->n_proto_file; fi++) {
        const file_proto *f = req->proto_file[fi];
        skyc_buf scope = SKYC_BUF_INIT;
        int hit = 0;

        if (f->package && *f->package)
            skyc_buf_printf(&scope, ".%s", f->package);
        for (size_t i = 0; !hit && i < f->n_message_type; i++)
            hit = declared_in_scope(f->message_type[i], skyc_buf_str(&scope), name);
        for (size_t i = 0; !hit && i < f->n_enum_type; i++) {
            skyc_buf e = SKYC_BUF_INIT;

            skyc_buf_printf(&e, "%s.%s", skyc_buf_str(&scope), f->enum_type[i]->name ? f->enum_type[i]->name : "");
            hit = strcmp(skyc_buf_str(&e), name) == 0;
            skyc_buf_deinit(&e);
        }
        skyc_buf_deinit(&scope);
        if (hit)
            return (int)fi;
    }
    return -1;
}

static void need_type(const skyc_request *req, char *needed, const char *name)
{
    int fi = name ? skyc_file_of_type(req, name) : -1;

    if (fi >= 0)
        needed[fi] = 1;
}

static void need_fields(const skyc_request *req, char *needed, const message_proto *d)
{
    for (size_t i = 0; i < d->n_field; i++)
        need_type(req, needed, d->field[i]->type_name);
    for (size_t i = 0; i < d->n_nested_type; i++)
        need_fields(req, needed, d->nested_type[i]);
}

/* Marks in `needed` the files whose types f's messages and services use. */
static void need_file(const skyc_request *req, char *needed, const file_proto *f)
{
    for (size_t i = 0; i < f->n_message_type; i++)
        need_fields(req, needed, f->message_type[i]);
    for (size_t i = 0; i < f->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *s = f->service[i];

        for (size_t j = 0; j < s->n_method; j++) {
            need_type(req, needed, s->method[j]->input_type);
            need_type(req, needed, s->method[j]->output_type);
        }
    }
}

uint8_t *skyc_descriptor_set(const skyc_request *req, const file_proto *f, size_t *len)
{
    size_t n = req->n_proto_file, count = 0;
    char *needed = calloc(n ? n : 1, 1), *done = calloc(n ? n : 1, 1);
    file_proto *copies = skyc_xmalloc((n ? n : 1) * sizeof *copies);
    file_proto **files = skyc_xmalloc((n ? n : 1) * sizeof *files);
    char ***deps = skyc_xmalloc((n ? n : 1) * sizeof *deps);
    Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
    uint8_t *out;
    int more = 1;

    if (!needed || !done)
        abort();
    for (size_t i = 0; i < n; i++)
        if (req->proto_file[i] == f)
            needed[i] = 1;
    /* to a fixed point: a needed file's own types may need further files */
    while (more) {
        more = 0;
        for (size_t i = 0; i < n; i++) {
            if (needed[i] && !done[i]) {
                done[i] = 1;
                need_file(req, needed, req->proto_file[i]);
                more = 1;
            }
        }
    }
    /* protoc lists a file's imports before it, so this order loads */
    for (size_t i = 0; i < n; i++) {
        const file_proto *src = req->proto_file[i];
        file_proto *c;

        if (!needed[i])
            continue;
        c = &copies[count];
        *c = *src; /* shallow: only the fields below change */
        c->source_code_info = NULL;
        c->n_public_dependency = 0;
        c->n_weak_dependency = 0;
        deps[count] = skyc_xmalloc((src->n_dependency ? src->n_dependency : 1) * sizeof(char *));
        c->dependency = deps[count];
        c->n_dependency = 0;
        for (size_t d = 0; d < src->n_dependency; d++)
            for (size_t j = 0; j < n; j++)
                if (needed[j] && strcmp(req->proto_file[j]->name, src->dependency[d]) == 0)
                    c->dependency[c->n_dependency++] = src->dependency[d];
        files[count++] = c;
    }
    set.n_file = count;
    set.file = files;
    *len = google__protobuf__file_descriptor_set__get_packed_size(&set);
    out = skyc_xmalloc(*len ? *len : 1);
    google__protobuf__file_descriptor_set__pack(&set, out);
    for (size_t i = 0; i < count; i++)
        free(deps[i]);
    free(deps);
    free(files);
    free(copies);
    free(done);
    free(needed);
    return out;
}
