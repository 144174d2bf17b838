/* protoc-gen-c as a subprocess: see protocc.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "names.h"
#include "protocc.h"

extern char **environ;

typedef Google__Protobuf__DescriptorProto message_proto;
typedef Google__Protobuf__FileDescriptorProto file_proto;

static const char options_proto[] = "sky/options.proto";

static void clear_proto3_optional(message_proto *d)
{
    for (size_t i = 0; i < d->n_field; i++) {
        d->field[i]->has_proto3_optional = 0;
        d->field[i]->proto3_optional = 0;
    }
    for (size_t i = 0; i < d->n_nested_type; i++)
        clear_proto3_optional(d->nested_type[i]);
}

/* Removes index `gone` from a list of dependency indexes. */
static void drop_index(size_t *n, int32_t *list, int32_t gone)
{
    size_t k = 0;

    for (size_t i = 0; i < *n; i++) {
        if (list[i] == gone)
            continue;
        list[k++] = list[i] > gone ? list[i] - 1 : list[i];
    }
    *n = k;
}

void skyc_protocc_drop_import(file_proto *f, size_t i)
{
    /* The string is owned by the unpacked request: it is freed by
     * free_unpacked only if still listed, so free it here. */
    free(f->dependency[i]);
    memmove(&f->dependency[i], &f->dependency[i + 1], (f->n_dependency - i - 1) * sizeof *f->dependency);
    f->n_dependency--;
    drop_index(&f->n_public_dependency, f->public_dependency, (int32_t)i);
    drop_index(&f->n_weak_dependency, f->weak_dependency, (int32_t)i);
}

static void drop_options_import(file_proto *f)
{
    for (size_t i = 0; i < f->n_dependency;) {
        if (strcmp(f->dependency[i], options_proto) == 0)
            skyc_protocc_drop_import(f, i);
        else
            i++;
    }
}

static const file_proto *find_file(const Google__Protobuf__Compiler__CodeGeneratorRequest *req, const char *name)
{
    for (size_t i = 0; i < req->n_proto_file; i++)
        if (strcmp(req->proto_file[i]->name, name) == 0)
            return req->proto_file[i];
    return NULL;
}

static int generated(const Google__Protobuf__Compiler__CodeGeneratorRequest *req, const char *name)
{
    for (size_t i = 0; i < req->n_file_to_generate; i++)
        if (strcmp(req->file_to_generate[i], name) == 0)
            return 1;
    return 0;
}

/* Adds the bundled files imported, directly or through one another, by
 * the files to generate (the list grows as it is walked). */
static void add_bundled_imports(Google__Protobuf__Compiler__CodeGeneratorRequest *req)
{
    for (size_t i = 0; i < req->n_file_to_generate; i++) {
        const file_proto *f = find_file(req, req->file_to_generate[i]);

        for (size_t d = 0; f && d < f->n_dependency; d++) {
            const char *dep = f->dependency[d];

            if (!skyc_is_bundled(dep) || generated(req, dep))
                continue;
            req->file_to_generate =
                skyc_xrealloc(req->file_to_generate, (req->n_file_to_generate + 1) * sizeof *req->file_to_generate);
            req->file_to_generate[req->n_file_to_generate++] = skyc_xstrdup(dep);
        }
    }
}

void skyc_protocc_rewrite(Google__Protobuf__Compiler__CodeGeneratorRequest *req)
{
    free(req->parameter);
    req->parameter = NULL;
    for (size_t fi = 0; fi < req->n_proto_file; fi++) {
        file_proto *f = req->proto_file[fi];

        for (size_t i = 0; i < f->n_message_type; i++)
            clear_proto3_optional(f->message_type[i]);
        if (f->options && f->options->has_optimize_for &&
            f->options->optimize_for == GOOGLE__PROTOBUF__FILE_OPTIONS__OPTIMIZE_MODE__CODE_SIZE)
            f->options->has_optimize_for = 0;
        for (size_t i = 0; i < f->n_service; i++)
            google__protobuf__service_descriptor_proto__free_unpacked(f->service[i], NULL);
        f->n_service = 0;
        if (strcmp(f->name, options_proto) != 0)
            drop_options_import(f);
    }
    add_bundled_imports(req);
}

/* Writes the request to the child's stdin while reading its stdout, so
 * neither side blocks on a full pipe. */
static int exchange(int to, int from, const uint8_t *req, size_t len, skyc_buf *resp)
{
    size_t sent = 0;
    char chunk[65536];
    int rc = 0;

    while (from >= 0) {
        struct pollfd p[2] = {{from, POLLIN, 0}, {to, POLLOUT, 0}};
        int n = poll(p, to >= 0 ? 2 : 1, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        if (to >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(to, req + sent, len - sent);

            if (w < 0 && errno != EINTR && errno != EAGAIN) {
                close(to); /* it stopped reading: its exit status will tell */
                to = -1;
            } else if (w > 0 && (sent += (size_t)w) == len) {
                close(to);
                to = -1;
            }
        }
        if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            ssize_t r = read(from, chunk, sizeof chunk);

            if (r < 0 && errno != EINTR && errno != EAGAIN) {
                rc = -1;
                break;
            }
            if (r == 0) {
                close(from);
                from = -1;
            } else if (r > 0) {
                skyc_buf_put(resp, chunk, (size_t)r);
            }
        }
    }
    if (to >= 0)
        close(to);
    if (from >= 0)
        close(from);
    return rc;
}

int skyc_protocc_run(const char *exe, const void *req, size_t len,
                     Google__Protobuf__Compiler__CodeGeneratorResponse **out, skyc_buf *errs)
{
    int in[2], outp[2], status, rc;
    posix_spawn_file_actions_t fa;
    char *argv[] = {(char *)exe, NULL};
    skyc_buf resp = SKYC_BUF_INIT;
    void (*old_pipe)(int);
    pid_t pid;

    *out = NULL;
    if (pipe(in) < 0 || pipe(outp) < 0) {
        skyc_buf_printf(errs, "skyc: pipe: %s\n", strerror(errno));
        return -1;
    }
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(outp[0], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[0]);
    posix_spawn_file_actions_addclose(&fa, outp[1]);
    rc = strchr(exe, '/') ? posix_spawn(&pid, exe, &fa, NULL, argv, environ)
                          : posix_spawnp(&pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    if (rc != 0) {
        close(in[1]);
        close(outp[0]);
        skyc_buf_printf(errs, "skyc: cannot run %s: %s (set SKY_PROTOC_GEN_C)\n", exe, strerror(rc));
        return -1;
    }
    old_pipe = signal(SIGPIPE, SIG_IGN);
    rc = exchange(in[1], outp[0], req, len, &resp);
    signal(SIGPIPE, old_pipe);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        skyc_buf_printf(errs, "skyc: %s failed (%s %d)\n", exe,
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        skyc_buf_deinit(&resp);
        return -1;
    }
    *out = google__protobuf__compiler__code_generator_response__unpack(NULL, resp.len,
                                                                        (const uint8_t *)skyc_buf_str(&resp));
    skyc_buf_deinit(&resp);
    if (!*out) {
        skyc_buf_printf(errs, "skyc: %s sent a response that does not decode\n", exe);
        return -1;
    }
    return 0;
}

/* Replaces every `needle` in *text by `with`. */
static void replace_all(char **text, const char *needle, const char *with)
{
    skyc_buf out = SKYC_BUF_INIT;
    const char *p = *text, *hit;
    size_t n = strlen(needle);

    if (!strstr(p, needle))
        return;
    while ((hit = strstr(p, needle)) != NULL) {
        skyc_buf_put(&out, p, (size_t)(hit - p));
        skyc_buf_puts(&out, with);
        p = hit + n;
    }
    skyc_buf_puts(&out, p);
    free(*text);
    *text = skyc_buf_take(&out);
}

static void fix_message(const char *scope, const message_proto *d, char **header)
{
    skyc_buf full = SKYC_BUF_INIT, from = SKYC_BUF_INIT, to = SKYC_BUF_INIT;

    skyc_buf_printf(&full, "%s%s%s", scope, *scope ? "." : "", d->name);
    for (size_t o = 0; o < d->n_oneof_decl; o++) {
        const Google__Protobuf__FieldDescriptorProto *first = NULL;

        for (size_t i = 0; i < d->n_field && !first; i++)
            if (d->field[i]->has_oneof_index && d->field[i]->oneof_index == (int32_t)o)
                first = d->field[i];
        if (!first || first->type != GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES)
            continue;
        from.len = to.len = 0;
        skyc_buf_printf(&from, "%s.%s", skyc_buf_str(&full), d->oneof_decl[o]->name);
        skyc_name_c_upper(&to, skyc_buf_str(&from));
        from.len = 0;
        skyc_buf_printf(&from, "%s__NOT_SET, {0}", skyc_buf_str(&to));
        skyc_buf_puts(&to, "__NOT_SET, {{0}}");
        replace_all(header, skyc_buf_str(&from), skyc_buf_str(&to));
    }
    for (size_t i = 0; i < d->n_nested_type; i++)
        fix_message(skyc_buf_str(&full), d->nested_type[i], header);
    skyc_buf_deinit(&full);
    skyc_buf_deinit(&from);
    skyc_buf_deinit(&to);
}

void skyc_protocc_fix(const Google__Protobuf__Compiler__CodeGeneratorRequest *req,
                      Google__Protobuf__Compiler__CodeGeneratorResponse *resp)
{
    static const char ext[] = ".pb-c.h";

    for (size_t i = 0; i < resp->n_file; i++) {
        Google__Protobuf__Compiler__CodeGeneratorResponse__File *out = resp->file[i];
        size_t n = out->name ? strlen(out->name) : 0;
        skyc_buf proto = SKYC_BUF_INIT;
        const file_proto *f;

        if (!out->content || n < sizeof ext || strcmp(out->name + n - (sizeof ext - 1), ext) != 0)
            continue;
        skyc_buf_put(&proto, out->name, n - (sizeof ext - 1));
        skyc_buf_puts(&proto, ".proto");
        f = find_file(req, skyc_buf_str(&proto));
        for (size_t m = 0; f && m < f->n_message_type; m++)
            fix_message(f->package ? f->package : "", f->message_type[m], &out->content);
        skyc_buf_deinit(&proto);
    }
}
