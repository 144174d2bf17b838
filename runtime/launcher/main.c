/* sky CONFIG.lua — runs a node configured by a Lua file until a service
 * calls sky_shutdown(), the process gets SIGINT or SIGTERM, or the
 * bootstrap service fails. With a cluster_file, SIGHUP re-reads it.
 *
 * Exit status: 0 after a clean shutdown; 2 for a usage error, a bad config,
 * a bootstrap service that cannot be spawned or that fails (exits with
 * reason error, as a Lua service whose sky.start raises does); 1 if the
 * runtime fails to start. */
#ifdef HAVE_CONFIG_H
#include <config.h>     /* autoconf's, from -I: "config.h" would be ours */
#endif

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/config.h"
#include "sky/sky.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2
#define EXIT_CONFIG 2
#define EXIT_RUNTIME 1

/* How often the main thread looks for a SIGHUP while the node runs. */
#define HUP_POLL_MS 100

static sky_node *volatile running;
static volatile sig_atomic_t hup_seen;

static void usage(FILE *f)
{
    fputs("usage: sky [--check] CONFIG.lua\n"
          "       sky --help | --version\n"
          "Runs a sky node configured by the Lua file CONFIG.lua until a service\n"
          "calls sky_shutdown(), the process gets SIGINT or SIGTERM, or the\n"
          "bootstrap service fails (exit status 2). SIGHUP re-reads cluster_file.\n"
          "  -t, --check   check the config and exit (0 if it is good, 2 if not)\n"
          "See docs/launcher.md for the keys.\n",
          f);
}

/* The bootstrap service's failure, told by its watch on a worker thread. */
struct bootstrap_watch {
    sky_node *node;
    atomic_int failed; /* set once text holds the reason */
    char text[1024];
};

/* The bootstrap exited. A failure (reason error) stops the node; any other
 * exit leaves it running. (Once the node stops, it is not called.) */
static void on_bootstrap_down(void *ud, sky_addr_t who, int reason, const char *text)
{
    struct bootstrap_watch *w = ud;

    (void)who;
    if (reason != SKY_REASON_ERROR)
        return;
    snprintf(w->text, sizeof w->text, "%s", text ? text : "it exited with reason error");
    atomic_store(&w->failed, 1);
    sky_node_shutdown(w->node);
}

/* sky_node_shutdown() is documented safe in a signal handler. */
static void on_signal(int sig)
{
    sky_node *node = running;

    (void)sig;
    if (node)
        sky_node_shutdown(node);
}

/* The reading happens on the main thread (watch_hup()). */
static void on_hup(int sig)
{
    (void)sig;
    hup_seen = 1;
}

static void set_handler(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
}

static void set_handlers(void (*handler)(int))
{
    set_handler(SIGINT, handler);
    set_handler(SIGTERM, handler);
}

/* One line in the node's log, as the logger writes every line (it takes
 * SKY_TEXT mail, the level in type_id); on stderr if the logger does not
 * take it. Lines above the node's log_level are dropped. */
static void node_log(sky_node *node, const sky_config *cfg, int level, const char *fmt, ...) SKY_PRINTF(4, 5);

static void node_log(sky_node *node, const sky_config *cfg, int level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    if (level > cfg->log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sky_msg m = {.kind = SKY_TEXT, .type_id = (uint32_t)level, .size = strlen(line)};
    m.data = malloc(m.size ? m.size : 1);
    if (m.data) {
        memcpy(m.data, line, m.size);
        if (sky_node_send(node, sky_node_whereis(node, "logger"), &m) == 0)
            return;
    }
    fprintf(stderr, "sky: %s\n", line);
}

/* SIGHUP: cluster_file read again and handed to the node. A file that
 * does not load or a membership the node refuses leaves the old one. */
static void reload_cluster(sky_node *node, const sky_config *cfg, const char *file)
{
    struct sky_launcher_members m = {0};
    char err[1024];

    if (sky_launcher_members_load(file, &m, err, sizeof err) != 0) {
        node_log(node, cfg, SKY_LOG_ERROR, "SIGHUP: cluster_file not re-read, the membership stays as it was: %s",
                 err);
        return;
    }
    int rc = sky_node_cluster_update(node, m.member, m.count, err, sizeof err);
    if (rc != 0)
        node_log(node, cfg, SKY_LOG_ERROR,
                 "SIGHUP: cluster_file %s refused, the membership stays as it was: %s", file,
                 err[0] ? err : sky_strerror(rc));
    else
        node_log(node, cfg, SKY_LOG_INFO, "SIGHUP: cluster_file %s re-read: %zu member%s", file, m.count,
                 m.count == 1 ? "" : "s");
    sky_launcher_members_free(&m);
}

/* Waits for shutdown; with a cluster_file, wakes every HUP_POLL_MS to
 * serve a SIGHUP that came meanwhile. */
static void wait_node(sky_node *node, const sky_config *cfg, const char *cluster_file)
{
    if (!cluster_file) {
        sky_node_wait(node, -1);
        return;
    }
    while (sky_node_wait(node, HUP_POLL_MS) == SKY_ETIMEDOUT) {
        if (!hup_seen)
            continue;
        hup_seen = 0;
        reload_cluster(node, cfg, cluster_file);
    }
}

/* Returns the config path, or NULL with *status set when main should exit. */
static const char *parse_args(int argc, char **argv, int *check, int *status)
{
    const char *path = NULL;
    int options = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                options = 0;
            } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                usage(stdout);
                *status = 0;
                return NULL;
            } else if (strcmp(a, "--version") == 0) {
                printf("sky %s\n", PACKAGE_VERSION);
                *status = 0;
                return NULL;
            } else if (strcmp(a, "-t") == 0 || strcmp(a, "--check") == 0) {
                *check = 1;
            } else {
                fprintf(stderr, "sky: unknown option '%s'\n", a);
                usage(stderr);
                *status = EXIT_USAGE;
                return NULL;
            }
            continue;
        }
        if (path) {
            fprintf(stderr, "sky: one config file expected, got '%s' and '%s'\n", path, a);
            usage(stderr);
            *status = EXIT_USAGE;
            return NULL;
        }
        path = a;
    }
    if (!path) {
        usage(stderr);
        *status = EXIT_USAGE;
    }
    return path;
}

/* Starts the node and its bootstrap service, and waits for shutdown.
 * SIGINT, SIGTERM and SIGHUP are blocked on entry and `unblock` is the mask that
 * lets them in: the runtime's threads inherit the blocked mask, so the
 * signals reach only this thread, and one that came early waits for the
 * node to exist instead of killing the process. */
static int run(const char *path, const struct sky_launcher_config *lc, const sigset_t *unblock)
{
    char err[4096] = "";
    sky_config cfg;
    struct bootstrap_watch watch = {.node = NULL};

    sky_config_init(&cfg);
    sky_launcher_apply(lc, &cfg);
    signal(SIGPIPE, SIG_IGN);

    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    if (!node) {
        fprintf(stderr, "sky: %s: %s\n", path, err[0] ? err : "cannot create the node");
        return EXIT_CONFIG;
    }
    int rc = sky_node_start(node);
    if (rc != 0) {
        fprintf(stderr, "sky: cannot start the node: %s\n", sky_strerror(rc));
        sky_node_free(node);
        return EXIT_RUNTIME;
    }
    running = node;
    if (lc->cluster_file)
        set_handler(SIGHUP, on_hup);  /* else SIGHUP ends the process, as it always did */
    set_handlers(on_signal);
    pthread_sigmask(SIG_SETMASK, unblock, NULL);

    watch.node = node;
    rc = sky_node_spawn_monitor(node, lc->bootstrap, lc->bootstrap_args, NULL, err, sizeof err,
                                on_bootstrap_down, &watch);
    if (rc != 0) {
        fprintf(stderr, "sky: %s: bootstrap '%s': %s\n", path, lc->bootstrap,
                err[0] ? err : sky_strerror(rc));
        set_handlers(SIG_DFL);
        running = NULL;
        sky_node_free(node);
        return EXIT_CONFIG;
    }
    char gate_args[512];
    if (sky_launcher_gate_args(lc, gate_args, sizeof gate_args)) {
        rc = sky_node_spawn(node, "gate", gate_args, NULL, err, sizeof err);
        if (rc != 0 && !atomic_load(&watch.failed)) {
            fprintf(stderr, "sky: %s: gate_port: cannot start the gate (%s): %s\n", path, gate_args,
                    sky_strerror(rc));
            set_handlers(SIG_DFL);
            running = NULL;
            sky_node_free(node);
            return EXIT_CONFIG;
        }
    }
    wait_node(node, &cfg, lc->cluster_file);
    int failed = atomic_load(&watch.failed);
    if (failed)
        fprintf(stderr, "sky: %s: bootstrap '%s' failed: %s\n", path, lc->bootstrap, watch.text);

    /* A second signal while the node stops kills the process, as usual. */
    set_handlers(SIG_DFL);
    running = NULL;
    sky_node_free(node);
    return failed ? EXIT_CONFIG : 0;
}

/* --check: what the runtime would refuse when it creates the node, short
 * of creating it (which opens the log and the cluster's port). */
static int check_pairs(const char *path, const struct sky_launcher_config *lc)
{
    char err[256];
    sky_config cfg;

    sky_config_init(&cfg);
    sky_launcher_apply(lc, &cfg);
    if (sky_launcher_check_pairs(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "sky: %s: %s\n", path, err);
        return EXIT_CONFIG;
    }
    printf("%s: ok\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    struct sky_launcher_config lc;
    char err[1024];
    int check = 0, status = 0;
    sigset_t stop, unblocked;

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &unblocked);
    sigdelset(&unblocked, SIGINT);      /* even if our parent blocked them */
    sigdelset(&unblocked, SIGTERM);
    sigdelset(&unblocked, SIGHUP);

    const char *path = parse_args(argc, argv, &check, &status);
    if (!path)
        return status;
    if (sky_launcher_load(path, &lc, err, sizeof err) != 0) {
        fprintf(stderr, "sky: %s\n", err);
        return EXIT_CONFIG;
    }
    if (check) {
        status = check_pairs(path, &lc);
    } else {
        status = run(path, &lc, &unblocked);
    }
    sky_launcher_deinit(&lc);
    return status;
}
