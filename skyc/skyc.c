/* skyc: the driver (docs/skyc.md).
 *
 *   skyc [-I DIR]... [--c_out=DIR] [--lua_out=DIR] [--nanopb_out=DIR]
 *        [--templates=DIR] FILE.proto...
 *
 * Runs protoc with protoc-gen-sky as its plugin, writing into a temporary
 * directory, and moves the files into the output directories only when
 * protoc succeeded: bad input leaves no partial output. protoc's messages
 * are passed on with its "--sky_out: " prefix removed, so errors read
 * `file:line:col: message`. Exit status: 0, 1 for bad input, 2 for a bad
 * command line. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "templates.h"

#ifndef SKYC_PROTOC
#define SKYC_PROTOC "protoc"
#endif
#ifndef SKYC_IDL_DIR /* where sky/options.proto is installed */
#define SKYC_IDL_DIR "/usr/local/include"
#endif
#ifndef SKYC_BINDIR /* where protoc-gen-sky is installed */
#define SKYC_BINDIR "/usr/local/bin"
#endif
#ifndef SKYC_PROTOBUF_INCLUDEDIR /* where Google's descriptor.proto, empty.proto, ... are */
#define SKYC_PROTOBUF_INCLUDEDIR "/usr/include"
#endif

extern char **environ;

enum { LANG_C, LANG_LUA, LANG_NANOPB, N_LANGS };

static const char *const lang_names[N_LANGS] = {"c", "lua", "nanopb"};
static const char *const lang_flags[N_LANGS] = {"--c_out", "--lua_out", "--nanopb_out"};

typedef struct options {
    const char **includes; /* -I, in order */
    size_t n_includes;
    const char **files;
    size_t n_files;
    const char *out[N_LANGS];
    const char *templates;
    int dump_model;
} options;

static void usage(FILE *to)
{
    fputs("usage: skyc [-I DIR]... [--c_out=DIR] [--lua_out=DIR] [--nanopb_out=DIR]\n"
          "            [--templates=DIR] FILE.proto...\n"
          "\n"
          "Compiles .proto services into sky stubs: with --c_out, X.pb-c.{h,c} (protobuf-c),\n"
          "X.sky.{h,c} and X.sky-client.h for each X.proto; with --nanopb_out, X.pb.{h,c}\n"
          "(nanopb) and X.sky-nano.h.\n"
          "\n"
          "  -I DIR, --proto_path=DIR  where imports are found (default: each input's directory);\n"
          "                            sky/*.proto and google/protobuf/*.proto need no -I\n"
          "  --c_out=DIR               write the C code under DIR\n"
          "  --lua_out=DIR             write the Lua stubs under DIR\n"
          "  --nanopb_out=DIR          write the nanopb client stubs under DIR\n"
          "  --templates=DIR           render from DIR/<lang>/*.tmpl instead of the built-in templates\n"
          "  --dump-model              print the template model instead of writing code (debugging)\n"
          "  --help, --version\n"
          "\n"
          "Errors are reported as file:line:col: message, with exit status 1 and no output written.\n"
          "Environment: SKY_PROTOC, SKY_PROTOC_GEN_SKY, SKY_PROTOC_GEN_C, SKY_IDL_DIR override\n"
          "the programs and the directory of sky/options.proto; SKY_PROTOC_GEN_NANOPB nanopb's plugin.\n",
          to);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("skyc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see skyc --help)\n", stderr);
    return 2;
}

/* The value of "--flag=VALUE" or "--flag VALUE"; NULL if argv[*i] is not
 * this flag. Sets *missing when the value is absent. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag, int *missing)
{
    size_t n = strlen(flag);

    if (strncmp(argv[*i], flag, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse_args(int argc, char **argv, options *o)
{
    o->includes = skyc_xmalloc((size_t)argc * sizeof *o->includes);
    o->files = skyc_xmalloc((size_t)argc * sizeof *o->files);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0, lang;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--version") == 0) {
            printf("skyc %s\n", PACKAGE_VERSION);
            exit(0);
        }
        if (strcmp(a, "--dump-model") == 0) {
            o->dump_model = 1;
            continue;
        }
        if (strncmp(a, "-I", 2) == 0 && a[2]) {
            o->includes[o->n_includes++] = a[2] == '=' ? a + 3 : a + 2;
            continue;
        }
        if (strcmp(a, "-I") == 0) {
            if (i + 1 >= argc)
                return bad_usage("%s needs a directory", a);
            o->includes[o->n_includes++] = argv[++i];
            continue;
        }
        if ((v = flag_value(argc, argv, &i, "--proto_path", &missing)) != NULL) {
            o->includes[o->n_includes++] = v;
            continue;
        }
        if ((v = flag_value(argc, argv, &i, "--templates", &missing)) != NULL) {
            o->templates = v;
            continue;
        }
        for (lang = 0; lang < N_LANGS; lang++)
            if ((v = flag_value(argc, argv, &i, lang_flags[lang], &missing)) != NULL)
                break;
        if (lang < N_LANGS) {
            if (!*v)
                return bad_usage("%s needs a directory", lang_flags[lang]);
            o->out[lang] = v;
            continue;
        }
        if (missing)
            return bad_usage("%s needs a directory", a);
        if (a[0] == '-' && a[1])
            return bad_usage("unknown option %s", a);
        o->files[o->n_files++] = a;
    }
    if (o->n_files == 0)
        return bad_usage("%s", "no input files");
    if (!o->dump_model && !o->out[LANG_C] && !o->out[LANG_LUA] && !o->out[LANG_NANOPB])
        return bad_usage("%s", "no output: give --c_out, --lua_out or --nanopb_out");
    if (o->templates && !skyc_is_dir(o->templates))
        return bad_usage("--templates=%s: not a directory", o->templates);
    if (o->templates && strchr(o->templates, ','))
        return bad_usage("--templates=%s: a directory name with a comma is not supported", o->templates);
    return 0;
}

/* The directory this program lives in, or NULL. */
static char *exe_dir(const char *argv0)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    char *slash;

    if (n > 0) {
        path[n] = '\0';
    } else if (strchr(argv0, '/') && strlen(argv0) < sizeof path) {
        strcpy(path, argv0);
    } else {
        return NULL;
    }
    slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return skyc_xstrdup(path);
}

static char *join(const char *a, const char *b)
{
    skyc_buf buf = SKYC_BUF_INIT;

    skyc_buf_printf(&buf, "%s/%s", a, b);
    return skyc_buf_take(&buf);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

/* sky/options.proto's directory: $SKY_IDL_DIR; the source tree's idl/
 * for the skyc of the build tree; ../include next to this skyc (an
 * installation moved, or installed with `make install prefix=...`); else
 * the configured $(includedir). */
static char *idl_dir(const char *exe)
{
    static const char *const relative[] = {"../idl", "../include"};

    if (env("SKY_IDL_DIR"))
        return skyc_xstrdup(env("SKY_IDL_DIR"));
#if defined(SKYC_BUILD_EXEDIR) && defined(SKYC_SOURCE_IDL_DIR)
    if (exe && strcmp(exe, SKYC_BUILD_EXEDIR) == 0)
        return skyc_xstrdup(SKYC_SOURCE_IDL_DIR);
#endif
    for (size_t i = 0; exe && i < sizeof relative / sizeof *relative; i++) {
        char *dir = join(exe, relative[i]), *probe = join(dir, "sky/options.proto");
        int found = skyc_is_file(probe);

        free(probe);
        if (found)
            return dir;
        free(dir);
    }
    return skyc_xstrdup(SKYC_IDL_DIR);
}

static char *plugin_path(const char *exe)
{
    char *p;

    if (env("SKY_PROTOC_GEN_SKY"))
        return skyc_xstrdup(env("SKY_PROTOC_GEN_SKY"));
    if (exe) {
        p = join(exe, "protoc-gen-sky");
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return skyc_xstrdup(SKYC_BINDIR "/protoc-gen-sky");
}

/* Whether proto file `name` exists on disk or under one of the dirs. */
static int findable(const char *name, char **dirs, size_t n_dirs)
{
    if (skyc_is_file(name))
        return 1;
    for (size_t i = 0; i < n_dirs; i++) {
        char *p = join(dirs[i], name);
        int found = skyc_is_file(p);

        free(p);
        if (found)
            return 1;
    }
    return 0;
}

static void add_unique(char **list, size_t *n, const char *dir)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], dir) == 0)
            return;
    list[(*n)++] = skyc_xstrdup(dir);
}

/* The name protoc knows an input file by, when skyc chose its -I (the
 * file's own directory), and the path the user gave. */
typedef struct alias {
    const char *protoc_name;
    const char *given;
} alias;

/* Prints protoc's messages without the "--sky_out: " it puts before our
 * plugin's errors, naming input files as the user did. */
static void pass_on(const char *text, const alias *aliases, size_t n_aliases)
{
    static const char prefix[] = "--sky_out: ";

    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);

        if (len >= sizeof prefix - 1 && strncmp(text, prefix, sizeof prefix - 1) == 0) {
            text += sizeof prefix - 1;
            len -= sizeof prefix - 1;
        }
        for (size_t i = 0; i < n_aliases; i++) {
            size_t n = strlen(aliases[i].protoc_name);

            if (len > n && strncmp(text, aliases[i].protoc_name, n) == 0 && text[n] == ':') {
                fputs(aliases[i].given, stderr);
                text += n;
                len -= n;
                break;
            }
        }
        fprintf(stderr, "%.*s\n", (int)len, text);
        text += len + (nl ? 1 : 0);
    }
}

/* Runs argv with stderr captured into err; returns the exit status, or -1
 * if it could not run or died of a signal. */
static int run(char **argv, skyc_buf *err)
{
    int pipefd[2], status, rc;
    posix_spawn_file_actions_t fa;
    char chunk[4096];
    ssize_t r;
    pid_t pid;

    if (pipe(pipefd) < 0) {
        skyc_buf_printf(err, "skyc: pipe: %s\n", strerror(errno));
        return -1;
    }
    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addclose(&fa, pipefd[1]);
    rc = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)
                              : posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        skyc_buf_printf(err, "skyc: cannot run %s: %s (install protoc, or set SKY_PROTOC)\n", argv[0],
                        strerror(rc));
        return -1;
    }
    while ((r = read(pipefd[0], chunk, sizeof chunk)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        skyc_buf_put(err, chunk, (size_t)r);
    }
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status)) {
        skyc_buf_printf(err, "skyc: %s died of signal %d\n", argv[0], WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}

/* Moves tmp/<sub>/... (or all of tmp when sub is NULL) under `out`. */
static int move_outputs(const char *tmp, const char *sub, const char *out, skyc_buf *errs)
{
    char *from_dir = sub ? join(tmp, sub) : skyc_xstrdup(tmp);
    skyc_buf list = SKYC_BUF_INIT;
    size_t n = skyc_is_dir(from_dir) ? skyc_list_files(from_dir, &list) : 0;
    const char *name = list.data;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++, name += strlen(name) + 1) {
        char *from = join(from_dir, name), *to = join(out, name);

        rc = skyc_move_file(from, to, errs);
        free(from);
        free(to);
    }
    skyc_buf_deinit(&list);
    free(from_dir);
    return rc;
}

/* Prints every <base>.model file under tmp, in name order. */
static void print_models(const char *tmp)
{
    skyc_buf list = SKYC_BUF_INIT;
    size_t n = skyc_list_files(tmp, &list);
    const char *name = list.data;

    for (size_t i = 0; i < n; i++, name += strlen(name) + 1) {
        char *path = join(tmp, name);
        FILE *f = fopen(path, "rb");
        char chunk[8192];
        size_t r;

        while (f && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
            fwrite(chunk, 1, r, stdout);
        if (f)
            fclose(f);
        free(path);
    }
    skyc_buf_deinit(&list);
}

int main(int argc, char **argv)
{
    options o = {0};
    char *exe, *idl, *plugin, *tmp;
    char **dirs, **args;
    size_t n_dirs = 0, n_args = 0, n_aliases = 0;
    alias *aliases;
    skyc_buf param = SKYC_BUF_INIT, tmpl = SKYC_BUF_INIT, errs = SKYC_BUF_INIT, sbuf = SKYC_BUF_INIT;
    /* protoc would take a ':' in --sky_out=DIR for the end of parameters. */
    const char *tmpbase = env("TMPDIR") && !strchr(env("TMPDIR"), ':') ? env("TMPDIR") : "/tmp";
    int rc, status = 0;

    if ((rc = parse_args(argc, argv, &o)) != 0) {
        free(o.includes);
        free(o.files);
        return rc;
    }
    exe = exe_dir(argv[0]);
    idl = idl_dir(exe);
    plugin = plugin_path(exe);

    /* -I: the user's, else each input's directory; then sky's and Google's. */
    dirs = skyc_xmalloc((o.n_includes + o.n_files + 2) * sizeof *dirs);
    for (size_t i = 0; i < o.n_includes; i++)
        add_unique(dirs, &n_dirs, o.includes[i]);
    aliases = skyc_xmalloc((o.n_files ? o.n_files : 1) * sizeof *aliases);
    for (size_t i = 0; o.n_includes == 0 && i < o.n_files; i++) {
        const char *slash = strrchr(o.files[i], '/');

        if (!skyc_is_file(o.files[i]))
            continue;
        if (!slash) {
            add_unique(dirs, &n_dirs, ".");
        } else {
            char *d = skyc_xstrdup(o.files[i]);

            d[slash == o.files[i] ? 1 : slash - o.files[i]] = '\0';
            add_unique(dirs, &n_dirs, d);
            free(d);
            aliases[n_aliases].protoc_name = slash + 1;
            aliases[n_aliases++].given = o.files[i];
        }
    }
    add_unique(dirs, &n_dirs, idl);
    add_unique(dirs, &n_dirs, SKYC_PROTOBUF_INCLUDEDIR);

    /* protoc's own message for a missing input has no position. */
    for (size_t i = 0; i < o.n_files; i++) {
        if (!findable(o.files[i], dirs, n_dirs)) {
            fprintf(stderr, "%s:1:1: file not found\n", o.files[i]);
            status = 1;
        }
    }

    skyc_buf_puts(&param, "--sky_opt=split,lang=");
    for (int lang = 0; lang < N_LANGS; lang++) {
        if (!o.out[lang] || o.dump_model)
            continue;
        if (!skyc_templates_exist(o.templates, lang_names[lang])) {
            fprintf(stderr, "skyc: %s: no %s templates in this skyc yet: nothing written\n", lang_flags[lang],
                    lang_names[lang]);
            o.out[lang] = NULL;
            continue;
        }
        skyc_buf_printf(&param, "%s%s", param.data[param.len - 1] == '=' ? "" : "+", lang_names[lang]);
    }
    if (o.dump_model)
        skyc_buf_puts(&param, ",dump_model");
    if (o.templates)
        skyc_buf_printf(&tmpl, "--sky_opt=templates=%s", o.templates);

    skyc_buf_printf(&sbuf, "%s/skyc-XXXXXX", tmpbase);
    tmp = status ? NULL : mkdtemp(sbuf.data);
    if (!status && !tmp) {
        fprintf(stderr, "skyc: cannot make a directory in %s: %s\n", tmpbase, strerror(errno));
        status = 1;
    }
    if (status == 0) {
        const char *protoc = env("SKY_PROTOC") ? env("SKY_PROTOC") : SKYC_PROTOC;
        skyc_buf plug = SKYC_BUF_INIT, out = SKYC_BUF_INIT, err = SKYC_BUF_INIT;
        skyc_buf *incs = skyc_xmalloc(n_dirs * sizeof *incs), *opaths = skyc_xmalloc(n_dirs * sizeof *opaths);

        args = skyc_xmalloc((2 * n_dirs + o.n_files + 8) * sizeof *args);
        args[n_args++] = (char *)protoc;
        for (size_t i = 0; i < n_dirs; i++) {
            incs[i] = (skyc_buf)SKYC_BUF_INIT;
            skyc_buf_printf(&incs[i], "-I%s", dirs[i]);
            args[n_args++] = incs[i].data;
        }
        skyc_buf_printf(&plug, "--plugin=protoc-gen-sky=%s", plugin);
        args[n_args++] = plug.data;
        skyc_buf_printf(&out, "--sky_out=%s", tmp);
        args[n_args++] = out.data;
        args[n_args++] = param.data;
        if (o.templates)
            args[n_args++] = tmpl.data;
        /* nanopb's generator finds X.options files where the .proto files are */
        for (size_t i = 0; i < n_dirs; i++) {
            opaths[i] = (skyc_buf)SKYC_BUF_INIT;
            if (!o.out[LANG_NANOPB] || strchr(dirs[i], ','))
                continue;
            skyc_buf_printf(&opaths[i], "--sky_opt=options_path=%s", dirs[i]);
            args[n_args++] = opaths[i].data;
        }
        for (size_t i = 0; i < o.n_files; i++)
            args[n_args++] = (char *)o.files[i];
        args[n_args] = NULL;

        rc = run(args, &err);
        pass_on(skyc_buf_str(&err), aliases, n_aliases);
        if (rc != 0) {
            status = 1;
        } else if (o.dump_model) {
            print_models(tmp);
        } else {
            for (int lang = 0; lang < N_LANGS && status == 0; lang++)
                if (o.out[lang] && move_outputs(tmp, lang_names[lang], o.out[lang], &errs) < 0)
                    status = 1;
        }
        skyc_rm_rf(tmp);
        for (size_t i = 0; i < n_dirs; i++) {
            skyc_buf_deinit(&incs[i]);
            skyc_buf_deinit(&opaths[i]);
        }
        free(incs);
        free(opaths);
        free(args);
        skyc_buf_deinit(&plug);
        skyc_buf_deinit(&out);
        skyc_buf_deinit(&err);
    }
    fputs(skyc_buf_str(&errs), stderr);

    for (size_t i = 0; i < n_dirs; i++)
        free(dirs[i]);
    free(dirs);
    free(aliases);
    free(exe);
    free(idl);
    free(plugin);
    free(o.includes);
    free(o.files);
    skyc_buf_deinit(&param);
    skyc_buf_deinit(&tmpl);
    skyc_buf_deinit(&errs);
    skyc_buf_deinit(&sbuf);
    return status;
}
