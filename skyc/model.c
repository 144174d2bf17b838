/* The template model: see model.h and docs/skyc.md. Message entries are
 * made once per run and shared, so `method.input` is the very table found
 * in `file.messages` (or the entry of an imported message). */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "descset.h"
#include "model.h"
#include "names.h"
#include "options.h"
#include "srcinfo.h"

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto message_proto;
typedef Google__Protobuf__EnumDescriptorProto enum_proto;
typedef Google__Protobuf__ServiceDescriptorProto service_proto;
typedef Google__Protobuf__MethodDescriptorProto method_proto;

/* Deep enough for any real nesting; deeper levels lose their comments. */
#define MAX_PATH 64

struct skyc_model {
    lua_State *L;
    const Google__Protobuf__Compiler__CodeGeneratorRequest *req;
    int messages; /* registry ref: full name -> message entry */
};

static void set_str(lua_State *L, const char *key, const char *value)
{
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
}

static void set_buf(lua_State *L, const char *key, skyc_buf *b)
{
    lua_pushlstring(L, skyc_buf_str(b), b->len);
    lua_setfield(L, -2, key);
    b->len = 0;
}

static void set_int(lua_State *L, const char *key, lua_Integer value)
{
    lua_pushinteger(L, value);
    lua_setfield(L, -2, key);
}

static void set_bool(lua_State *L, const char *key, int value)
{
    lua_pushboolean(L, value);
    lua_setfield(L, -2, key);
}

/* "pkg" + "." + "Name", or "Name" alone when there is no scope. */
static void join_name(skyc_buf *b, const char *scope, const char *name)
{
    b->len = 0;
    if (scope && *scope) {
        skyc_buf_puts(b, scope);
        skyc_buf_putc(b, '.');
    }
    skyc_buf_puts(b, name ? name : "");
}

/* The name, full name and protobuf-c names shared by messages and enums. */
static void set_names(lua_State *L, const char *name, const char *full, int with_init)
{
    skyc_buf b = SKYC_BUF_INIT;

    set_str(L, "name", name);
    set_str(L, "full_name", full);
    skyc_name_c_type(&b, full);
    set_buf(L, "c_type", &b);
    skyc_name_c_lower(&b, full);
    skyc_buf_puts(&b, "__descriptor");
    set_buf(L, "c_descriptor", &b);
    if (with_init) {
        skyc_name_c_upper(&b, full);
        skyc_buf_puts(&b, "__INIT");
        set_buf(L, "c_init", &b);
    }
    skyc_buf_deinit(&b);
}

/* Makes the entries of message d and its nested messages (registry table
 * of entries at the top of the stack). */
static void make_messages(lua_State *L, const file_proto *f, const skyc_srcinfo *si, const char *scope,
                          const message_proto *d, int32_t *path, size_t n)
{
    skyc_buf full = SKYC_BUF_INIT;

    join_name(&full, scope, d->name);
    lua_createtable(L, 0, 10);
    set_names(L, d->name ? d->name : "", skyc_buf_str(&full), 1);
    set_str(L, "file", f->name ? f->name : "");
    set_str(L, "comment", si ? skyc_srcinfo_comment(si, path, n) : "");
    set_bool(L, "map_entry", d->options && d->options->has_map_entry && d->options->map_entry);
    lua_setfield(L, -2, skyc_buf_str(&full));
    for (size_t i = 0; i < d->n_nested_type; i++) {
        if (n + 2 <= MAX_PATH) {
            path[n] = SKYC_PATH_NESTED;
            path[n + 1] = (int32_t)i;
        }
        make_messages(L, f, si, skyc_buf_str(&full), d->nested_type[i], path, n + 2 <= MAX_PATH ? n + 2 : n);
    }
    skyc_buf_deinit(&full);
}

skyc_model *skyc_model_new(lua_State *L, const Google__Protobuf__Compiler__CodeGeneratorRequest *req)
{
    skyc_model *m = skyc_xmalloc(sizeof *m);
    int32_t path[MAX_PATH];

    m->L = L;
    m->req = req;
    lua_newtable(L);
    for (size_t fi = 0; fi < req->n_proto_file; fi++) {
        const file_proto *f = req->proto_file[fi];
        skyc_srcinfo *si = skyc_srcinfo_new(f);

        for (size_t i = 0; i < f->n_message_type; i++) {
            path[0] = SKYC_PATH_MESSAGE;
            path[1] = (int32_t)i;
            make_messages(L, f, si, f->package, f->message_type[i], path, 2);
        }
        skyc_srcinfo_free(si);
    }
    m->messages = luaL_ref(L, LUA_REGISTRYINDEX);
    return m;
}

void skyc_model_free(skyc_model *m)
{
    if (!m)
        return;
    luaL_unref(m->L, LUA_REGISTRYINDEX, m->messages);
    free(m);
}

const char *skyc_model_syntax(const file_proto *f)
{
    return f->syntax && *f->syntax ? f->syntax : "proto2";
}

char *skyc_model_method_name(const file_proto *f, const service_proto *s, const method_proto *m)
{
    skyc_buf b = SKYC_BUF_INIT;

    if (f->package && *f->package)
        skyc_buf_printf(&b, "%s.", f->package);
    skyc_buf_printf(&b, "%s.%s", s->name ? s->name : "", m->name ? m->name : "");
    return skyc_buf_take(&b);
}

/* Pushes the entry of the message named by a type reference (".pkg.Msg"). */
static void push_message(skyc_model *m, const char *type_name)
{
    lua_State *L = m->L;
    const char *full = type_name ? type_name : "";

    if (*full == '.')
        full++;
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->messages);
    if (lua_getfield(L, -1, full) == LUA_TNIL) {
        /* protoc resolved it, so this cannot happen; stay usable anyway. */
        lua_pop(L, 1);
        lua_createtable(L, 0, 8);
        set_names(L, full, full, 1);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, full);
    }
    lua_remove(L, -2);
}

/* Appends the entries of d and its nested messages to the array on top. */
static void list_messages(skyc_model *m, const char *scope, const message_proto *d)
{
    lua_State *L = m->L;
    skyc_buf full = SKYC_BUF_INIT;

    join_name(&full, scope, d->name);
    push_message(m, skyc_buf_str(&full));
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    for (size_t i = 0; i < d->n_nested_type; i++)
        list_messages(m, skyc_buf_str(&full), d->nested_type[i]);
    skyc_buf_deinit(&full);
}

static void push_enum(lua_State *L, const skyc_srcinfo *si, const char *scope, const enum_proto *e,
                      const int32_t *path, size_t n)
{
    skyc_buf full = SKYC_BUF_INIT;

    join_name(&full, scope, e->name);
    lua_createtable(L, 0, 6);
    set_names(L, e->name ? e->name : "", skyc_buf_str(&full), 0);
    set_str(L, "comment", skyc_srcinfo_comment(si, path, n));
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    skyc_buf_deinit(&full);
}

/* Appends the enums declared in d and its nested messages, in file order. */
static void list_nested_enums(lua_State *L, const skyc_srcinfo *si, const char *scope, const message_proto *d,
                              int32_t *path, size_t n)
{
    skyc_buf full = SKYC_BUF_INIT;
    int deeper = n + 2 <= MAX_PATH;

    join_name(&full, scope, d->name);
    for (size_t i = 0; i < d->n_enum_type; i++) {
        if (deeper) {
            path[n] = SKYC_PATH_NESTED_ENUM;
            path[n + 1] = (int32_t)i;
        }
        push_enum(L, si, skyc_buf_str(&full), d->enum_type[i], path, deeper ? n + 2 : 0);
    }
    for (size_t i = 0; i < d->n_nested_type; i++) {
        if (deeper) {
            path[n] = SKYC_PATH_NESTED;
            path[n + 1] = (int32_t)i;
        }
        list_nested_enums(L, si, skyc_buf_str(&full), d->nested_type[i], path, deeper ? n + 2 : n);
    }
    skyc_buf_deinit(&full);
}

static void push_method(skyc_model *m, const file_proto *f, const skyc_srcinfo *si, const service_proto *s,
                        size_t si_index, size_t index)
{
    lua_State *L = m->L;
    const method_proto *md = s->method[index];
    const ProtobufCMessage *opts = md->options ? &md->options->base : NULL;
    int32_t path[] = {SKYC_PATH_SERVICE, (int32_t)si_index, SKYC_PATH_METHOD, (int32_t)index};
    char *full = skyc_model_method_name(f, s, md);
    uint32_t id = skyc_fnv1a(full);
    uint64_t v;
    skyc_buf b = SKYC_BUF_INIT;

    lua_createtable(L, 0, 14);
    set_str(L, "name", md->name ? md->name : "");
    set_str(L, "full_name", full);
    skyc_name_c_safe(&b, md->name ? md->name : "");
    set_buf(L, "c_name", &b);
    skyc_name_lua_safe(&b, md->name ? md->name : "");
    set_buf(L, "lua_name", &b);
    set_int(L, "id", (lua_Integer)id);
    skyc_buf_printf(&b, "0x%08x", (unsigned)id);
    set_buf(L, "id_hex", &b);
    set_int(L, "index", (lua_Integer)index);
    push_message(m, md->input_type);
    lua_setfield(L, -2, "input");
    push_message(m, md->output_type);
    lua_setfield(L, -2, "output");
    set_bool(L, "oneway", skyc_option_varint(opts, SKYC_OPT_ONEWAY, &v) && v != 0);
    set_int(L, "timeout_ms",
            skyc_option_varint(opts, SKYC_OPT_TIMEOUT_MS, &v) ? (lua_Integer)(uint32_t)v : 0);
    set_str(L, "comment", skyc_srcinfo_comment(si, path, 4));
    skyc_buf_deinit(&b);
    free(full);
}

static void push_service(skyc_model *m, const file_proto *f, const skyc_srcinfo *si, size_t index)
{
    lua_State *L = m->L;
    const service_proto *s = f->service[index];
    int32_t path[] = {SKYC_PATH_SERVICE, (int32_t)index};
    char *default_name = skyc_option_string(s->options ? &s->options->base : NULL, SKYC_OPT_DEFAULT_NAME);
    skyc_buf b = SKYC_BUF_INIT;

    lua_createtable(L, 0, 8);
    set_str(L, "name", s->name ? s->name : "");
    join_name(&b, f->package, s->name);
    set_buf(L, "full_name", &b);
    skyc_name_c_service(&b, f->package, s->name);
    set_buf(L, "c_name", &b);
    if (default_name)
        set_str(L, "default_name", default_name);
    set_str(L, "comment", skyc_srcinfo_comment(si, path, 2));
    lua_createtable(L, (int)s->n_method, 0);
    for (size_t i = 0; i < s->n_method; i++) {
        push_method(m, f, si, s, index, i);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "methods");
    free(default_name);
    skyc_buf_deinit(&b);
}

void skyc_model_push_file(skyc_model *m, const file_proto *f)
{
    lua_State *L = m->L;
    skyc_srcinfo *si = skyc_srcinfo_new(f);
    const char *name = f->name ? f->name : "";
    const char *pkg = f->package ? f->package : "";
    size_t len = strlen(name);
    int32_t path[MAX_PATH];
    skyc_buf b = SKYC_BUF_INIT;
    const char *comment;
    uint8_t *set;
    size_t set_len;

    lua_createtable(L, 0, 12);
    set_str(L, "name", name);
    if (len >= 6 && strcmp(name + len - 6, ".proto") == 0)
        len -= 6;
    lua_pushlstring(L, name, len);
    lua_setfield(L, -2, "base");
    set_str(L, "package", pkg);
    skyc_name_c_prefix(&b, pkg);
    set_buf(L, "c_prefix", &b);
    skyc_name_c_file(&b, name, pkg);
    set_buf(L, "c_name", &b);
    set_str(L, "syntax", skyc_model_syntax(f));

    path[0] = SKYC_PATH_SYNTAX;
    comment = skyc_srcinfo_comment(si, path, 1);
    if (!*comment) {
        path[0] = SKYC_PATH_PACKAGE;
        comment = skyc_srcinfo_comment(si, path, 1);
    }
    set_str(L, "comment", comment);

    lua_createtable(L, (int)f->n_dependency, 0);
    for (size_t i = 0; i < f->n_dependency; i++) {
        lua_pushstring(L, f->dependency[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "deps");

    lua_newtable(L);
    for (size_t i = 0; i < f->n_message_type; i++)
        list_messages(m, pkg, f->message_type[i]);
    lua_setfield(L, -2, "messages");

    lua_newtable(L);
    for (size_t i = 0; i < f->n_enum_type; i++) {
        path[0] = SKYC_PATH_ENUM;
        path[1] = (int32_t)i;
        push_enum(L, si, pkg, f->enum_type[i], path, 2);
    }
    for (size_t i = 0; i < f->n_message_type; i++) {
        path[0] = SKYC_PATH_MESSAGE;
        path[1] = (int32_t)i;
        list_nested_enums(L, si, pkg, f->message_type[i], path, 2);
    }
    lua_setfield(L, -2, "enums");

    lua_createtable(L, (int)f->n_service, 0);
    for (size_t i = 0; i < f->n_service; i++) {
        push_service(m, f, si, i);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "services");

    set = skyc_descriptor_set(m->req, f, &set_len);
    lua_pushlstring(L, (const char *)set, set_len);
    lua_setfield(L, -2, "descriptor_set");
    free(set);

    skyc_buf_deinit(&b);
    skyc_srcinfo_free(si);
}
