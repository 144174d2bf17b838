/* nanopb's message code: see nanopb.h. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "descset.h"
#include "names.h"
#include "nanopb.h"
#include "protocc.h"
#include "srcinfo.h"
#include "walk.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest request;
typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto message_proto;
typedef Google__Protobuf__FieldDescriptorProto field_proto;

static const char descriptor_proto[] = "google/protobuf/descriptor.proto";

/* An extension of one of descriptor.proto's FooOptions messages. */
static int option_extension(const field_proto *x)
{
    static const char scope[] = ".google.protobuf.", suffix[] = "Options";
    const char *e = x->extendee ? x->extendee : "";
    size_t n = strlen(e);

    return strncmp(e, scope, sizeof scope - 1) == 0 && n >= sizeof scope - 1 + sizeof suffix - 1 &&
           strcmp(e + n - (sizeof suffix - 1), suffix) == 0;
}

int skyc_nanopb_options_only(const file_proto *f)
{
    if (f->n_message_type || f->n_enum_type || f->n_service || f->n_public_dependency || !f->n_extension)
        return 0;
    for (size_t i = 0; i < f->n_extension; i++)
        if (!option_extension(f->extension[i]))
            return 0;
    return 1;
}

/* Drops the option extensions of a list (freeing them), keeping order. */
static void drop_options(size_t *n, field_proto **list)
{
    size_t k = 0;

    for (size_t i = 0; i < *n; i++) {
        if (option_extension(list[i]))
            google__protobuf__field_descriptor_proto__free_unpacked(list[i], NULL);
        else
            list[k++] = list[i];
    }
    *n = k;
}

static void drop_nested_options(message_proto *d)
{
    drop_options(&d->n_extension, d->extension);
    for (size_t i = 0; i < d->n_nested_type; i++)
        drop_nested_options(d->nested_type[i]);
}

static int uses_in(const request *req, int dep, const message_proto *d)
{
    for (size_t i = 0; i < d->n_field; i++)
        if (d->field[i]->type_name && skyc_file_of_type(req, d->field[i]->type_name) == dep)
            return 1;
    for (size_t i = 0; i < d->n_extension; i++)
        if (skyc_file_of_type(req, d->extension[i]->extendee ? d->extension[i]->extendee : "") == dep)
            return 1;
    for (size_t i = 0; i < d->n_nested_type; i++)
        if (uses_in(req, dep, d->nested_type[i]))
            return 1;
    return 0;
}

/* Whether f refers to a type of req's file `dep` (its option extensions
 * already gone). */
static int uses(const request *req, const file_proto *f, int dep)
{
    for (size_t i = 0; i < f->n_message_type; i++)
        if (uses_in(req, dep, f->message_type[i]))
            return 1;
    for (size_t i = 0; i < f->n_extension; i++) {
        const field_proto *x = f->extension[i];

        if ((x->type_name && skyc_file_of_type(req, x->type_name) == dep) ||
            skyc_file_of_type(req, x->extendee ? x->extendee : "") == dep)
            return 1;
    }
    for (size_t i = 0; i < f->n_service; i++) {
        for (size_t j = 0; j < f->service[i]->n_method; j++) {
            const Google__Protobuf__MethodDescriptorProto *m = f->service[i]->method[j];

            if (skyc_file_of_type(req, m->input_type ? m->input_type : "") == dep ||
                skyc_file_of_type(req, m->output_type ? m->output_type : "") == dep)
                return 1;
        }
    }
    return 0;
}

static int file_index(const request *req, const char *name)
{
    for (size_t i = 0; i < req->n_proto_file; i++)
        if (strcmp(req->proto_file[i]->name, name) == 0)
            return (int)i;
    return -1;
}

void skyc_nanopb_rewrite(request *req)
{
    size_t n = req->n_proto_file, k = 0;
    char *options_only = skyc_xmalloc(n ? n : 1);

    for (size_t i = 0; i < n; i++)
        options_only[i] = (char)skyc_nanopb_options_only(req->proto_file[i]);
    for (size_t i = 0; i < n; i++) {
        file_proto *f = req->proto_file[i];

        drop_options(&f->n_extension, f->extension);
        for (size_t m = 0; m < f->n_message_type; m++)
            drop_nested_options(f->message_type[m]);
    }
    for (size_t i = 0; i < n; i++) {
        file_proto *f = req->proto_file[i];

        for (size_t d = 0; d < f->n_dependency;) {
            int dep = file_index(req, f->dependency[d]);
            int unused_descriptor = dep >= 0 && strcmp(f->dependency[d], descriptor_proto) == 0 && !uses(req, f, dep);

            if (dep >= 0 && (options_only[dep] || unused_descriptor))
                skyc_protocc_drop_import(f, d);
            else
                d++;
        }
    }
    for (size_t i = 0; i < req->n_file_to_generate; i++) {
        int fi = file_index(req, req->file_to_generate[i]);

        if (fi >= 0 && options_only[fi])
            free(req->file_to_generate[i]);
        else
            req->file_to_generate[k++] = req->file_to_generate[i];
    }
    req->n_file_to_generate = k;
    free(options_only);
}

/* ---- what nanopb cannot take -------------------------------------------- */

typedef struct check_ctx {
    const skyc_srcinfo *si;
    skyc_buf *errs;
} check_ctx;

/* scope: the enclosing message's full name, or NULL at the top level. */
static int reserved_name(const check_ctx *c, const char *scope, const char *name, const char *what, int32_t *path,
                         size_t n)
{
    if (!name || !skyc_name_c_reserved(name))
        return 0;
    skyc_srcinfo_error(c->si, c->errs, path, n,
                       "%s%s%s: a C keyword or reserved name, which nanopb cannot use as %s "
                       "(rename it for --nanopb_out)",
                       scope ? scope : "", scope ? "." : "", name, what);
    return 1;
}

static int reserved_members(void *ud, const char *full, const message_proto *d, int32_t *path, size_t n)
{
    int problems = 0;

    path[n] = SKYC_PATH_FIELD;
    for (size_t i = 0; i < d->n_field; i++) {
        path[n + 1] = (int32_t)i;
        problems += reserved_name(ud, full, d->field[i]->name, "a field name", path, n + 2);
    }
    path[n] = SKYC_PATH_ONEOF;
    for (size_t i = 0; i < d->n_oneof_decl; i++) {
        path[n + 1] = (int32_t)i;
        problems += reserved_name(ud, full, d->oneof_decl[i]->name, "a oneof name", path, n + 2);
    }
    return problems;
}

int skyc_nanopb_check(const request *req, skyc_buf *errs)
{
    int problems = 0;

    for (size_t fi = 0; fi < req->n_proto_file; fi++) {
        const file_proto *f = req->proto_file[fi];
        check_ctx c = {NULL, errs};
        skyc_srcinfo *si;

        if (!skyc_is_generated(req, f->name) || skyc_is_bundled(f->name))
            continue;
        c.si = si = skyc_srcinfo_new(f);
        problems += skyc_walk_messages(f, reserved_members, &c);
        /* nanopb prefixes top-level names with the package, when there is one */
        for (size_t i = 0; !(f->package && *f->package) && i < f->n_message_type; i++) {
            int32_t path[] = {SKYC_PATH_MESSAGE, (int32_t)i};

            problems += reserved_name(&c, NULL, f->message_type[i]->name, "the name of a type without a package", path, 2);
        }
        for (size_t i = 0; !(f->package && *f->package) && i < f->n_enum_type; i++) {
            int32_t path[] = {SKYC_PATH_ENUM, (int32_t)i};

            problems += reserved_name(&c, NULL, f->enum_type[i]->name, "the name of a type without a package", path, 2);
        }
        skyc_srcinfo_free(si);
    }
    return problems;
}
