/* Names and descriptions of error codes and message kinds. */
#include "sky/error.h"
#include "sky/msg.h"

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
    static const char *const names[] = {NULL,     "request", "response", "error", "oneway",
                                        "signal", "timer",   "socket",   "text"};
    return kind > 0 && kind <= SKY_TEXT ? names[kind] : "unknown";
}
