/* The sky.Status message (idl/sky/status.proto: int32 code = 1;
 * string message = 2), encoded and decoded by hand so the runtime core
 * needs no generated code. */
#ifndef SKY__STATUS_H
#define SKY__STATUS_H

#include <stddef.h>
#include <stdint.h>

/* Encodes {code, text} into a new heap buffer; *size gets its length. */
void *sky__status_encode(int code, const char *text, size_t *size);

/* Decodes a Status. Returns 0 and sets *code and (a pointer into data,
 * not NUL-terminated) *text / *textlen, or -1 if data is not a Status. */
int sky__status_decode(const void *data, size_t size, int *code, const char **text, size_t *textlen);

#endif
