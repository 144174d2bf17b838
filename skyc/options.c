/* sky's custom options: see options.h. The reading is the runtime's
 * (runtime/schema/pbopt.c, linked into the plugin too). */
#include <string.h>
#include "schema/pbopt.h"
#include "buf.h"
#include "options.h"

int skyc_option_varint(const ProtobufCMessage *opts, uint32_t number, uint64_t *out)
{
    return sky__option_varint(opts, number, out);
}

char *skyc_option_string(const ProtobufCMessage *opts, uint32_t number)
{
    const uint8_t *data;
    size_t len;
    char *s;

    if (!sky__option_bytes(opts, number, &data, &len))
        return NULL;
    s = skyc_xmalloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}
