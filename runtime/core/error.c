/* Names and descriptions of error codes and message kinds. */
#include <string.h>
#include "sky/error.h"
#include "sky/msg.h"
#include "sky/service.h"

static const struct {
    const char *name, *text;
} errors[] = {
    {"OK", "success"},
    {"EINVAL", "invalid argument"},
    {"ENOSVC", "no such service"},
    {"EBUSY", "mailbox full"},
    {"ETIMEDOUT", "call timed out"},
    {"EBADMSG", "malformed message"},
    {"ENOMEM", "memory limit reached"},
    {"ENOENT", "not found"},
    {"EEXIT", "service exited before replying"},
    {"ENODEDOWN", "node down"},
    {"ESTOPPED", "node is stopping"},
    {"EFAIL", "handler failed"},
    {"EEXIST", "already exists"},
    {"ENOTSUP", "not supported"},
    {"ENOREPLY", "handler returned without a reply"},
    {"ELIMIT", "runtime limit reached"},
    {"EAPP", "the service's own error"},
};

#define NERRORS ((int)(sizeof errors / sizeof errors[0]))

const char *sky_strerror(int code)
{
    return code <= 0 && -code < NERRORS ? errors[-code].text : "unknown error";
}

const char *sky_errname(int code)
{
    return code <= 0 && -code < NERRORS ? errors[-code].name : "EUNKNOWN";
}

const char *sky_kind_name(int kind)
{
    static const char *const names[] = {NULL,   "request", "response", "error", "oneway",
                                        "exit", "timer",   "socket",   "text",  "down", "node"};
    return kind > 0 && kind <= SKY_NODE ? names[kind] : "unknown";
}

static const char *const reasons[] = {"normal", "error", "killed", "noproc", "timeout", "noconnection", "shutdown"};

const char *sky_reason_name(int reason)
{
    return reason >= 0 && reason < (int)(sizeof reasons / sizeof reasons[0]) ? reasons[reason] : "unknown";
}

int sky_reason_of(const char *name)
{
    for (int i = 0; name && i < (int)(sizeof reasons / sizeof reasons[0]); i++)
        if (strcmp(reasons[i], name) == 0) return i;
    return -1;
}
