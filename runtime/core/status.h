/* The sky.Status message (idl/sky/status.proto: int32 code = 1; string
 * message = 2; string app_code = 3; bytes details = 4), encoded and
 * decoded by hand so the runtime core needs no generated code. */
#ifndef SKY__STATUS_H
#define SKY__STATUS_H

#include <stddef.h>
#include <stdint.h>

/* A Status's fields. Decoded, the pointers point into the bytes (not
 * NUL-terminated) and an absent field is empty. */
typedef struct sky__status {
    int code;
    const char *text;
    size_t textlen;
    const char *app_code;
    size_t app_codelen;
    const void *details;
    size_t detailslen;
} sky__status;

/* Encodes {code, text} into a new heap buffer; *size gets its length. */
void *sky__status_encode(int code, const char *text, size_t *size);

/* Encodes every field of st (empty ones left out) into a new heap buffer;
 * *size gets its length. */
void *sky__status_encode_full(const sky__status *st, size_t *size);

/* Decodes a Status into *st. Unknown fields are skipped (a newer
 * Status). Returns 0, or -1 if data is not a protobuf message. */
int sky__status_decode(const void *data, size_t size, sky__status *st);

/* 1 if the n bytes at s are 1 to SKY_APP_CODE_MAX letters, digits, '_',
 * '.' or '-': the spelling of a code's name, a sky code's or not. */
int sky__status_code_chars_ok(const char *s, size_t n);

/* 1 if the n bytes at s may be an application code: 1 to
 * SKY_APP_CODE_MAX letters, digits, '_', '.' or '-', and not the name of
 * a sky code (sky_errname(), "EUNKNOWN" included). */
int sky__status_app_code_ok(const char *s, size_t n);

#endif
