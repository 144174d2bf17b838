/* sky — error codes.
 *
 * Every sky function that can fail returns 0 or one of the negative codes
 * below; sky_strerror() names it. The same codes travel inside error replies
 * (a sky.Status message, see idl/sky/status.proto) so a caller on another
 * thread or node sees exactly what went wrong. */
#ifndef SKY_ERROR_H
#define SKY_ERROR_H

#if defined(__GNUC__)
#define SKY_MUST_CHECK __attribute__((warn_unused_result))
#define SKY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SKY_MUST_CHECK
#define SKY_PRINTF(f, a)
#endif

enum {
    SKY_OK = 0,
    SKY_EINVAL = -1,     /* invalid argument */
    SKY_ENOSVC = -2,     /* no such service (unknown or dead address/name) */
    SKY_EBUSY = -3,      /* the receiver's mailbox is full */
    SKY_ETIMEDOUT = -4,  /* the call's deadline passed */
    SKY_EBADMSG = -5,    /* payload does not decode with the expected schema */
    SKY_ENOMEM = -6,     /* a configured memory limit was reached */
    SKY_ENOENT = -7,     /* module, file or name not found */
    SKY_EEXIT = -8,      /* the service exited before it replied */
    SKY_ENODEDOWN = -9,  /* the node that hosts the service went down */
    SKY_ESTOPPED = -10,  /* the node is shutting down */
    SKY_EFAIL = -11,     /* the handler failed (the message says why) */
    SKY_EEXIST = -12,    /* already exists (a registered name) */
    SKY_ENOTSUP = -13,   /* not supported */
    SKY_ENOREPLY = -14,  /* the handler returned without replying or deferring */
    SKY_ELIMIT = -15,    /* a runtime limit was reached (services, timers) */
    SKY_EAPP = -16       /* the service's own error: its application code says which */
};

/* The longest application code (an error reply's app_code: the service's
 * own code, such as "EOUTOFSTOCK", that comes with SKY_EAPP), in bytes. */
#define SKY_APP_CODE_MAX 63

/* Returns a short constant description of `code` ("no such service").
 * Unknown codes give "unknown error". Never returns NULL. */
const char *sky_strerror(int code);

/* Returns the constant name of `code` without the SKY_ prefix ("ENOSVC"),
 * or "EUNKNOWN". Used in logs and by the Lua error objects. */
const char *sky_errname(int code);

#endif
