/* Schemas loaded at run time: sky_schema_load (see sky/typed.h).
 *
 * A load decodes the FileDescriptorSet with protobuf-c's code for
 * descriptor.proto, then builds in two passes so types may refer to one
 * another in any order: first every message descriptor is allocated and
 * named and every enum built (enums need nothing else), then the fields
 * and services are filled, resolving type names among the set's own types
 * first and then through the registry. Nothing is registered unless the
 * whole set built. What a load builds is in one arena that lives as long
 * as the process, reachable from `kept` so leak checkers see it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema/dyndesc.h"
#include "schema/pbopt.h"
#include "sky/alloc.h"
#include "sky/typed.h"

#define MAX_NESTING 100

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto message_proto;

/* A type the set defines. */
typedef struct type_entry {
    const char *name; /* full name, no leading dot */
    const void *desc;
    int is_enum;
    const message_proto *proto; /* messages: what to fill them from */
    size_t file;                /* index in load.files */
} type_entry;

/* One file of the set, being built. */
typedef struct file_build {
    const file_proto *proto;
    sky_file_desc *desc;
    int skipped; /* registered already, or earlier in the set */
} file_build;

typedef struct load {
    sky__arena arena;
    type_entry *types;
    size_t ntypes, captypes;
    file_build *files;
    size_t nfiles;
} load;

static struct kept {
    sky__arena arena;
    struct kept *next;
} *kept;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* Writes the reason for `code` into err; returns code. */
static int say(char *err, size_t errsize, int code, const char *fmt, ...) SKY_PRINTF(4, 5);

static int say(char *err, size_t errsize, int code, const char *fmt, ...)
{
    if (errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- pass 1: name every type ------------------------------------------------ */

static void add_type(load *l, type_entry t)
{
    if (l->ntypes == l->captypes) {
        l->captypes = l->captypes ? l->captypes * 2 : 64;
        l->types = sky_realloc(l->types, l->captypes * sizeof *l->types);
    }
    l->types[l->ntypes++] = t;
}

static char *join(sky__arena *a, const char *scope, const char *name)
{
    char *s = sky__arena_alloc(a, strlen(scope) + strlen(name) + 2);
    if (*scope) {
        strcpy(s, scope);
        strcat(s, ".");
    }
    return strcat(s, name);
}

static int name_enums(load *l, sky__dyn *dyn, size_t fi, const char *scope, size_t n,
                      Google__Protobuf__EnumDescriptorProto *const *enums)
{
    for (size_t i = 0; i < n; i++) {
        if (!enums[i]->name) return say(dyn->err, dyn->errsize, SKY_EBADMSG, "%s: an enum has no name", dyn->file);
        const char *full = join(&l->arena, scope, enums[i]->name);
        ProtobufCEnumDescriptor *e = sky__arena_alloc(&l->arena, sizeof *e);
        int rc = sky__dyn_enum(dyn, e, full, enums[i]);
        if (rc) return rc;
        add_type(l, (type_entry){full, e, 1, NULL, fi});
    }
    return 0;
}

static int name_messages(load *l, sky__dyn *dyn, size_t fi, const char *scope, size_t n,
                         message_proto *const *msgs, int depth)
{
    if (depth > MAX_NESTING)
        return say(dyn->err, dyn->errsize, SKY_EINVAL, "%s: %s: messages nested too deep", dyn->file, scope);
    for (size_t i = 0; i < n; i++) {
        const message_proto *p = msgs[i];
        if (!p->name) return say(dyn->err, dyn->errsize, SKY_EBADMSG, "%s: a message has no name", dyn->file);
        const char *full = join(&l->arena, scope, p->name);
        ProtobufCMessageDescriptor *d = sky__arena_alloc(&l->arena, sizeof *d);
        sky__dyn_message_names(dyn, d, full, p->name);
        add_type(l, (type_entry){full, d, 0, p, fi});
        int rc = name_messages(l, dyn, fi, full, p->n_nested_type, p->nested_type, depth + 1);
        if (!rc) rc = name_enums(l, dyn, fi, full, p->n_enum_type, p->enum_type);
        if (rc) return rc;
    }
    return 0;
}

static int by_type_name(const void *a, const void *b)
{
    return strcmp(((const type_entry *)a)->name, ((const type_entry *)b)->name);
}

/* ---- pass 2: fields and services -------------------------------------------- */

static const void *find_type(sky__dyn *dyn, const char *type_name, int is_enum)
{
    const load *l = dyn->ud;
    const type_entry key = {.name = type_name + 1};
    const type_entry *t = l->ntypes ? bsearch(&key, l->types, l->ntypes, sizeof *l->types, by_type_name) : NULL;
    if (t) return t->is_enum == is_enum ? t->desc : NULL;
    return is_enum ? (const void *)sky_schema_enum(type_name + 1) : (const void *)sky_schema_message(type_name + 1);
}

static const char *option_string(sky__arena *a, const ProtobufCMessage *opts, uint32_t number)
{
    const uint8_t *data;
    size_t len;
    if (!sky__option_bytes(opts, number, &data, &len)) return NULL;
    char *s = sky__arena_alloc(a, len + 1);
    memcpy(s, data, len);
    return s;
}

static const ProtobufCMessageDescriptor *method_type(sky__dyn *dyn, const char *type_name)
{
    return type_name && type_name[0] == '.' ? find_type(dyn, type_name, 0) : NULL;
}

static int build_service(sky__dyn *dyn, sky_service_desc *s, const Google__Protobuf__ServiceDescriptorProto *p)
{
    sky__arena *a = dyn->arena;
    if (!p->name) return say(dyn->err, dyn->errsize, SKY_EBADMSG, "%s: a service has no name", dyn->file);
    char *full = join(a, dyn->package, p->name);
    sky_method_desc *m = sky__arena_alloc(a, p->n_method * sizeof *m);
    for (size_t i = 0; i < p->n_method; i++) {
        const Google__Protobuf__MethodDescriptorProto *mp = p->method[i];
        if (!mp->name) return say(dyn->err, dyn->errsize, SKY_EBADMSG, "%s: %s: a method has no name", dyn->file, full);
        m[i].name = sky__arena_strdup(a, mp->name);
        m[i].full_name = join(a, full, mp->name);
        m[i].id = sky_method_id(m[i].full_name);
        if (mp->client_streaming || mp->server_streaming)
            return say(dyn->err, dyn->errsize, SKY_EINVAL, "%s: %s: streaming rpcs are not supported", dyn->file,
                       m[i].full_name);
        m[i].input = method_type(dyn, mp->input_type);
        m[i].output = method_type(dyn, mp->output_type);
        if (!m[i].input || !m[i].output) {
            const char *missing = m[i].input ? mp->output_type : mp->input_type;
            return say(dyn->err, dyn->errsize, SKY_EINVAL, "%s: %s: unknown type %s", dyn->file, m[i].full_name,
                        missing ? missing : "(none)");
        }
        uint64_t oneway = 0, timeout_ms = 0;
        (void)sky__option_varint((const ProtobufCMessage *)mp->options, SKY__OPT_ONEWAY, &oneway);
        (void)sky__option_varint((const ProtobufCMessage *)mp->options, SKY__OPT_TIMEOUT_MS, &timeout_ms);
        m[i].oneway = oneway != 0;
        m[i].timeout_ms = (int)(uint32_t)timeout_ms;
    }
    s->name = sky__arena_strdup(a, p->name);
    s->full_name = full;
    s->default_name = option_string(a, (const ProtobufCMessage *)p->options, SKY__OPT_DEFAULT_NAME);
    s->n_methods = p->n_method;
    s->methods = m;
    return 0;
}

static int fill_file(load *l, sky__dyn *dyn, size_t fi)
{
    file_build *fb = &l->files[fi];
    sky__arena *a = &l->arena;
    sky_file_desc *f = fb->desc;
    const ProtobufCMessageDescriptor **msgs = sky__arena_alloc(a, l->ntypes * sizeof *msgs);
    const ProtobufCEnumDescriptor **enums = sky__arena_alloc(a, l->ntypes * sizeof *enums);
    for (size_t i = 0; i < l->ntypes; i++) {
        const type_entry *t = &l->types[i];
        if (t->file != fi) continue;
        if (t->is_enum) {
            enums[f->n_enums++] = t->desc;
            continue;
        }
        int rc = sky__dyn_message(dyn, (ProtobufCMessageDescriptor *)t->desc, t->proto);
        if (rc) return rc;
        msgs[f->n_messages++] = t->desc;
    }
    f->messages = msgs;
    f->enums = enums;
    const file_proto *p = fb->proto;
    const sky_service_desc **svcs = sky__arena_alloc(a, p->n_service * sizeof *svcs);
    for (size_t i = 0; i < p->n_service; i++) {
        sky_service_desc *s = sky__arena_alloc(a, sizeof *s);
        int rc = build_service(dyn, s, p->service[i]);
        if (rc) return rc;
        svcs[i] = s;
    }
    f->n_services = p->n_service;
    f->services = svcs;
    return 0;
}

/* ---- the load --------------------------------------------------------------- */

static void dyn_for(load *l, sky__dyn *dyn, const file_proto *p, char *err, size_t errsize)
{
    *dyn = (sky__dyn){.arena = &l->arena,
                      .file = p->name,
                      .package = p->package ? p->package : "",
                      .proto3 = p->syntax && strcmp(p->syntax, "proto3") == 0,
                      .find = find_type,
                      .ud = l,
                      .err = err,
                      .errsize = errsize};
}

static int already(const load *l, size_t fi)
{
    const char *name = l->files[fi].proto->name;
    if (sky_schema_file(name)) return 1;
    for (size_t i = 0; i < fi; i++)
        if (strcmp(l->files[i].proto->name, name) == 0) return 1;
    return 0;
}

static int pass1(load *l, char *err, size_t errsize)
{
    for (size_t fi = 0; fi < l->nfiles; fi++) {
        file_build *fb = &l->files[fi];
        const file_proto *p = fb->proto;
        sky__dyn dyn;
        if (!p->name) return say(err, errsize, SKY_EBADMSG, "file %zu has no name", fi);
        dyn_for(l, &dyn, p, err, errsize);
        if ((fb->skipped = already(l, fi))) continue;
        if (p->syntax && strcmp(p->syntax, "proto2") != 0 && strcmp(p->syntax, "proto3") != 0)
            return say(err, errsize, SKY_EINVAL, "%s: syntax \"%s\" is not supported", p->name, p->syntax);
        fb->desc = sky__arena_alloc(&l->arena, sizeof *fb->desc);
        fb->desc->name = sky__arena_strdup(&l->arena, p->name);
        const char *scope = dyn.package;
        int rc = name_messages(l, &dyn, fi, scope, p->n_message_type, p->message_type, 0);
        if (!rc) rc = name_enums(l, &dyn, fi, scope, p->n_enum_type, p->enum_type);
        if (rc) return rc;
    }
    if (l->ntypes) qsort(l->types, l->ntypes, sizeof *l->types, by_type_name);
    for (size_t i = 1; i < l->ntypes; i++)
        if (strcmp(l->types[i].name, l->types[i - 1].name) == 0)
            return say(err, errsize, SKY_EINVAL, "%s: defined twice in the set",
                        l->types[i].name);
    return 0;
}

static int by_method_id(const void *a, const void *b)
{
    const sky_method_desc *x = *(const sky_method_desc *const *)a, *y = *(const sky_method_desc *const *)b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return strcmp(x->full_name, y->full_name);
}

/* A method id of the set taken by another method, in the registry or in
 * the set: checked before anything is registered. */
static int check_ids(const load *l, char *err, size_t errsize)
{
    size_t n = 0, k = 0;
    for (size_t fi = 0; fi < l->nfiles; fi++)
        for (size_t i = 0; !l->files[fi].skipped && i < l->files[fi].desc->n_services; i++)
            n += l->files[fi].desc->services[i]->n_methods;
    const sky_method_desc **all = sky_calloc(n, sizeof *all);
    for (size_t fi = 0; fi < l->nfiles; fi++)
        for (size_t i = 0; !l->files[fi].skipped && i < l->files[fi].desc->n_services; i++)
            for (size_t j = 0; j < l->files[fi].desc->services[i]->n_methods; j++)
                all[k++] = &l->files[fi].desc->services[i]->methods[j];
    qsort(all, n, sizeof *all, by_method_id);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const sky_method_desc *other = i && all[i - 1]->id == all[i]->id ? all[i - 1] : sky_schema_method(all[i]->id);
        if (other && strcmp(other->full_name, all[i]->full_name) != 0)
            rc = say(err, errsize, SKY_EEXIST, "%s: method id %08x clashes with %s",
                      all[i]->full_name, all[i]->id, other->full_name);
    }
    sky_free(all);
    return rc;
}

static int load_set(load *l, const Google__Protobuf__FileDescriptorSet *set, char *err, size_t errsize)
{
    l->nfiles = set->n_file;
    l->files = sky_calloc(l->nfiles, sizeof *l->files);
    for (size_t i = 0; i < l->nfiles; i++) l->files[i].proto = set->file[i];
    int rc = pass1(l, err, errsize);
    for (size_t fi = 0; fi < l->nfiles && !rc; fi++) {
        if (l->files[fi].skipped) continue;
        sky__dyn dyn;
        dyn_for(l, &dyn, l->files[fi].proto, err, errsize);
        rc = fill_file(l, &dyn, fi);
    }
    if (!rc) rc = check_ids(l, err, errsize);
    return rc;
}

int sky_schema_load(const void *data, size_t len, char *err, size_t errsize)
{
    if (errsize) err[0] = '\0';
    if (!data && len) return say(err, errsize, SKY_EINVAL, "no data");
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(NULL, len, len ? data : (const uint8_t *)"");
    if (!set) return say(err, errsize, SKY_EBADMSG, "not a FileDescriptorSet");

    pthread_mutex_lock(&load_lock);
    load l = {0};
    int rc = load_set(&l, set, err, errsize);
    size_t registered = 0;
    for (size_t fi = 0; fi < l.nfiles && !rc; fi++) {
        if (l.files[fi].skipped) continue;
        rc = sky_schema_register(l.files[fi].desc);
        if (rc)
            say(err, errsize, rc, "%s: %s", l.files[fi].desc->name,
                 rc == SKY_EEXIST ? "a method id clashes with one registered meanwhile" : "malformed");
        else
            registered++;
    }
    if (registered) {
        struct kept *k = sky_calloc(1, sizeof *k);
        k->arena = l.arena;
        k->next = kept;
        kept = k;
    } else {
        sky__arena_free(&l.arena);
    }
    pthread_mutex_unlock(&load_lock);
    sky_free(l.types);
    sky_free(l.files);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    return rc;
}
