/* protoc-gen-sky: sky's protoc plugin. Reads a CodeGeneratorRequest on
 * stdin, writes a CodeGeneratorResponse on stdout (docs/skyc.md).
 *
 * Parameters (--sky_opt=... or --sky_out=PARAMS:DIR), comma-separated:
 *   lang=c+lua+nanopb  the languages to generate (default: c; empty: only
 *                      check the input)
 *   split              put each language's files under <lang>/ (skyc's
 *                      driver uses this to send them to --c_out, --lua_out)
 *   templates=DIR      render from DIR/<lang>/ where it exists
 *   options_path=DIR   where nanopb's generator looks for X.options (repeatable)
 *   dump_model         write <base>.model (the template model as text)
 *                      instead of code, for tests
 *
 * Errors in the input go back in the response as "file:line:col: message"
 * lines (protoc prints them and fails); only a request that does not
 * decode makes this program itself fail. */
#include <config.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "check.h"
#include "model.h"
#include "nanopb.h"
#include "protocc.h"
#include "render.h"
#include "templates.h"

#ifndef SKYC_PROTOC_GEN_C
#define SKYC_PROTOC_GEN_C "protoc-gen-c"
#endif
#ifndef SKYC_PROTOC_GEN_NANOPB
#define SKYC_PROTOC_GEN_NANOPB "protoc-gen-nanopb"
#endif

typedef Google__Protobuf__Compiler__CodeGeneratorRequest request;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File out_file;

#define MAX_LANGS 8
#define MAX_PATHS 64

typedef struct params {
    const char *langs[MAX_LANGS];
    size_t n_langs;
    int split;
    int dump_model;
    const char *templates;
    const char *options_paths[MAX_PATHS]; /* for nanopb's X.options */
    size_t n_options_paths;
} params;

/* Files we made (owned) after those the message generators made (owned by
 * their responses). */
typedef struct outputs {
    out_file **files;
    size_t n, n_owned_from;
} outputs;

static void add_output(outputs *o, out_file *f)
{
    o->files = skyc_xrealloc(o->files, (o->n + 1) * sizeof *o->files);
    o->files[o->n++] = f;
}

static void add_owned(outputs *o, const params *p, const char *lang, const char *name, char *content)
{
    out_file *f = skyc_xmalloc(sizeof *f);
    skyc_buf b = SKYC_BUF_INIT;

    google__protobuf__compiler__code_generator_response__file__init(f);
    if (p->split && lang)
        skyc_buf_printf(&b, "%s/", lang);
    skyc_buf_puts(&b, name);
    f->name = skyc_buf_take(&b);
    f->content = content;
    add_output(o, f);
}

/* Splits `s` at `sep` in place: returns the first piece and moves *rest
 * past it (NULL after the last piece). */
static char *next_piece(char **rest, char sep)
{
    char *piece = *rest, *end;

    if (!piece)
        return NULL;
    end = strchr(piece, sep);
    if (end) {
        *end = '\0';
        *rest = end + 1;
    } else {
        *rest = NULL;
    }
    return piece;
}

/* Parses the parameter string (modified in place; p points into it). */
static int parse_params(char *s, params *p, skyc_buf *errs)
{
    char *rest = s && *s ? s : NULL, *tok;

    p->langs[0] = "c";
    p->n_langs = 1;
    while ((tok = next_piece(&rest, ',')) != NULL) {
        if (strncmp(tok, "lang=", 5) == 0) {
            char *langs = *(tok + 5) ? tok + 5 : NULL, *lang;

            p->n_langs = 0;
            while ((lang = next_piece(&langs, '+')) != NULL) {
                if (strcmp(lang, "c") != 0 && strcmp(lang, "lua") != 0 && strcmp(lang, "nanopb") != 0) {
                    skyc_buf_printf(errs, "protoc-gen-sky: unknown language \"%s\" (c, lua, nanopb)\n", lang);
                    return -1;
                }
                if (p->n_langs < MAX_LANGS)
                    p->langs[p->n_langs++] = lang;
            }
        } else if (strcmp(tok, "split") == 0) {
            p->split = 1;
        } else if (strcmp(tok, "dump_model") == 0) {
            p->dump_model = 1;
        } else if (strncmp(tok, "templates=", 10) == 0) {
            p->templates = tok + 10;
        } else if (strncmp(tok, "options_path=", 13) == 0) {
            if (p->n_options_paths < MAX_PATHS)
                p->options_paths[p->n_options_paths++] = tok + 13;
        } else if (*tok) {
            skyc_buf_printf(errs, "protoc-gen-sky: unknown parameter \"%s\"\n", tok);
            return -1;
        }
    }
    return 0;
}

static int wants(const params *p, const char *lang)
{
    for (size_t i = 0; i < p->n_langs; i++)
        if (strcmp(p->langs[i], lang) == 0)
            return 1;
    return 0;
}

static const Google__Protobuf__FileDescriptorProto *find_file(const request *req, const char *name)
{
    for (size_t i = 0; i < req->n_proto_file; i++)
        if (strcmp(req->proto_file[i]->name, name) == 0)
            return req->proto_file[i];
    return NULL;
}

/* Renders every template of every language (or the model dump) for each
 * file to generate. */
static int render_all(const request *req, const params *p, outputs *o, skyc_buf *errs)
{
    lua_State *L = luaL_newstate();
    skyc_model *model;
    skyc_template *sets[MAX_LANGS] = {0};
    size_t counts[MAX_LANGS] = {0};
    int rc = 0;

    if (!L) {
        skyc_buf_puts(errs, "skyc: cannot create a Lua state\n");
        return -1;
    }
    if (skyc_render_init(L, errs) < 0) {
        lua_close(L);
        return -1;
    }
    for (size_t i = 0; !p->dump_model && rc == 0 && i < p->n_langs; i++) {
        rc = skyc_templates_load(p->templates, p->langs[i], &sets[i], &counts[i], errs);
        if (rc == 0 && counts[i] == 0) {
            skyc_buf_printf(errs, "skyc: no templates for %s\n", p->langs[i]);
            rc = -1;
        }
    }
    model = skyc_model_new(L, req);
    for (size_t fi = 0; rc == 0 && fi < req->n_file_to_generate; fi++) {
        const Google__Protobuf__FileDescriptorProto *f = find_file(req, req->file_to_generate[fi]);
        size_t baselen;
        char *text;

        if (!f)
            continue;
        baselen = strlen(f->name);
        if (baselen >= 6 && strcmp(f->name + baselen - 6, ".proto") == 0)
            baselen -= 6;
        skyc_model_push_file(model, f);
        if (p->dump_model) {
            skyc_buf name = SKYC_BUF_INIT;

            if ((text = skyc_render_dump(L, errs)) == NULL) {
                rc = -1;
            } else {
                skyc_buf_put(&name, f->name, baselen);
                skyc_buf_puts(&name, ".model");
                add_owned(o, p, NULL, skyc_buf_str(&name), text);
            }
            skyc_buf_deinit(&name);
        }
        for (size_t li = 0; !p->dump_model && rc == 0 && li < p->n_langs; li++) {
            if (strcmp(p->langs[li], "nanopb") == 0 && skyc_nanopb_options_only(f))
                continue; /* nanopb's generator writes nothing for it either */
            for (size_t ti = 0; rc == 0 && ti < counts[li]; ti++) {
                skyc_buf name = SKYC_BUF_INIT;

                if ((text = skyc_render(L, &sets[li][ti], errs)) == NULL) {
                    rc = -1;
                } else {
                    skyc_buf_put(&name, f->name, baselen);
                    /* sky.h.tmpl -> X.sky.h; _sky.lua.tmpl -> X_sky.lua */
                    skyc_buf_printf(&name, "%s%s", sets[li][ti].suffix[0] == '_' ? "" : ".",
                                    sets[li][ti].suffix);
                    add_owned(o, p, p->langs[li], skyc_buf_str(&name), text);
                }
                skyc_buf_deinit(&name);
            }
        }
        lua_pop(L, 1);
    }
    skyc_model_free(model);
    for (size_t i = 0; i < MAX_LANGS; i++)
        skyc_templates_free(sets[i], counts[i]);
    lua_close(L);
    return rc;
}

/* The generators of message code that protoc-gen-sky runs for a
 * language: protobuf-c's for c, nanopb's for nanopb. */
typedef struct msg_gen {
    const char *lang, *env, *exe;
} msg_gen;

static const msg_gen msg_gens[] = {
    {"c", "SKY_PROTOC_GEN_C", SKYC_PROTOC_GEN_C},
    {"nanopb", "SKY_PROTOC_GEN_NANOPB", SKYC_PROTOC_GEN_NANOPB},
};

/* Runs g on a rewritten copy of the request (raw bytes `in`), adding its
 * files to o; *res keeps its response (the files point into it). nanopb's
 * generator gets -I for each options_path, where it looks for X.options. */
static int run_msg_gen(const msg_gen *g, const request *req, const uint8_t *in, size_t len, const params *p,
                       outputs *o, response **res, skyc_buf *errs)
{
    request *copy = google__protobuf__compiler__code_generator_request__unpack(NULL, len, in);
    const char *exe = getenv(g->env);
    skyc_buf param = SKYC_BUF_INIT;
    uint8_t *packed;
    size_t plen;
    int rc;

    if (!copy) {
        skyc_buf_puts(errs, "protoc-gen-sky: cannot copy the request\n");
        return -1;
    }
    if (strcmp(g->lang, "nanopb") == 0) {
        skyc_nanopb_rewrite(copy);
        if (copy->n_file_to_generate == 0) { /* only options-only files */
            google__protobuf__compiler__code_generator_request__free_unpacked(copy, NULL);
            return 0;
        }
    }
    skyc_protocc_rewrite(copy);
    if (strcmp(g->lang, "nanopb") == 0) {
        for (size_t i = 0; i < p->n_options_paths; i++)
            skyc_buf_printf(&param, "%s-I%s", i ? "," : "", p->options_paths[i]);
        copy->parameter = skyc_buf_take(&param);
    }
    plen = google__protobuf__compiler__code_generator_request__get_packed_size(copy);
    packed = skyc_xmalloc(plen);
    google__protobuf__compiler__code_generator_request__pack(copy, packed);
    google__protobuf__compiler__code_generator_request__free_unpacked(copy, NULL);
    rc = skyc_protocc_run(exe && *exe ? exe : g->exe, packed, plen, res, errs);
    free(packed);
    if (rc < 0)
        return -1;
    if ((*res)->error && *(*res)->error) {
        skyc_buf_printf(errs, "%s\n", (*res)->error);
        return -1;
    }
    if (strcmp(g->lang, "c") == 0)
        skyc_protocc_fix(req, *res);
    for (size_t i = 0; i < (*res)->n_file; i++) {
        out_file *f = (*res)->file[i];

        if (p->split && f->name) {
            skyc_buf b = SKYC_BUF_INIT;

            skyc_buf_printf(&b, "%s/%s", g->lang, f->name);
            free(f->name);
            f->name = skyc_buf_take(&b);
        }
        add_output(o, f);
    }
    return 0;
}

static int read_all(FILE *in, skyc_buf *b)
{
    char chunk[65536];
    size_t r;

    while ((r = fread(chunk, 1, sizeof chunk, in)) > 0)
        skyc_buf_put(b, chunk, r);
    return ferror(in) ? -1 : 0;
}

static int write_all(const uint8_t *data, size_t len)
{
    return fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
}

static void usage(FILE *to)
{
    fputs("usage: protoc --plugin=protoc-gen-sky=PATH --sky_out=DIR [--sky_opt=PARAM,...] FILE.proto...\n"
          "A protoc plugin: reads a CodeGeneratorRequest on stdin, writes the response on stdout.\n"
          "Parameters: lang=c+lua+nanopb, split, templates=DIR, options_path=DIR, dump_model\n"
          "(see docs/skyc.md).\n"
          "Most people run it through skyc.\n",
          to);
}

int main(int argc, char **argv)
{
    skyc_buf in = SKYC_BUF_INIT, errs = SKYC_BUF_INIT;
    request *req;
    response resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
    response *gen_res[sizeof msg_gens / sizeof *msg_gens] = {0};
    outputs o = {0};
    params p = {0};
    uint8_t *packed;
    size_t plen;
    int rc;

    if (argc > 1) {
        if (strcmp(argv[1], "--version") == 0) {
            printf("protoc-gen-sky (skyc) %s\n", PACKAGE_VERSION);
            return 0;
        }
        usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (isatty(0)) {
        usage(stderr);
        return 2;
    }
    if (read_all(stdin, &in) < 0 ||
        !(req = google__protobuf__compiler__code_generator_request__unpack(NULL, in.len,
                                                                            (const uint8_t *)skyc_buf_str(&in)))) {
        fputs("protoc-gen-sky: stdin does not hold a CodeGeneratorRequest\n", stderr);
        skyc_buf_deinit(&in);
        return 1;
    }

    if (parse_params(req->parameter, &p, &errs) == 0 && skyc_check(req, &errs) == 0 &&
        (p.dump_model || !wants(&p, "nanopb") || skyc_nanopb_check(req, &errs) == 0)) {
        for (size_t i = 0; i < sizeof msg_gens / sizeof *msg_gens && errs.len == 0; i++)
            if (!p.dump_model && wants(&p, msg_gens[i].lang))
                run_msg_gen(&msg_gens[i], req, (const uint8_t *)skyc_buf_str(&in), in.len, &p, &o, &gen_res[i],
                            &errs);
        o.n_owned_from = o.n;
        if (errs.len == 0)
            render_all(req, &p, &o, &errs);
    }

    resp.has_supported_features = 1;
    resp.supported_features = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
    if (errs.len) {
        while (errs.len && errs.data[errs.len - 1] == '\n')
            errs.data[--errs.len] = '\0';
        resp.error = errs.data;
    } else {
        resp.n_file = o.n;
        resp.file = o.files;
    }
    plen = google__protobuf__compiler__code_generator_response__get_packed_size(&resp);
    packed = skyc_xmalloc(plen);
    google__protobuf__compiler__code_generator_response__pack(&resp, packed);
    rc = write_all(packed, plen);
    free(packed);

    for (size_t i = o.n_owned_from; i < o.n; i++) {
        free(o.files[i]->name);
        free(o.files[i]->content);
        free(o.files[i]);
    }
    free(o.files);
    for (size_t i = 0; i < sizeof gen_res / sizeof *gen_res; i++)
        if (gen_res[i])
            google__protobuf__compiler__code_generator_response__free_unpacked(gen_res[i], NULL);
    google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
    skyc_buf_deinit(&errs);
    skyc_buf_deinit(&in);
    if (rc < 0) {
        perror("protoc-gen-sky: stdout");
        return 1;
    }
    return 0;
}
