/* libFuzzer harness: the codec path of the gate. A client's bytes are
 * parsed into frames (runtime/io/frame.c); each request's payload is decoded
 * as its method's input, as the service it is routed to would: the typed
 * decode (nesting and NUL-in-string guard, then protobuf-c) and the Lua codec
 * (sky__lua_decode). A method id the registry does not know picks one of
 * codec_test.proto's messages instead, so every field kind is reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "schema/pbdepth.h"
#include "io/frame.h"
#include "lua/codec.h"
#include "sky/typed.h"
#include "codec_test.sky.h"
#include "typed_test.sky.h"

static lua_State *L;

static const ProtobufCMessageDescriptor *input_of(uint32_t method)
{
    const sky_method_desc *md = sky_schema_method(method);
    if (md) return md->input;
    const sky_file_desc *f = &skycodec_codec_test_file;
    return f->n_messages ? f->messages[method % f->n_messages] : NULL;
}

static int decode(lua_State *L1)
{
    const ProtobufCMessageDescriptor *d = lua_touserdata(L1, 1);
    size_t n;
    const char *p = lua_tolstring(L1, 2, &n);
    (void)sky__lua_decode(L1, d, p, n);
    return 0;
}

static int on_frame(void *ud, const sky__frame *f)
{
    (void)ud;
    const ProtobufCMessageDescriptor *d = input_of(f->method);
    if (!d) return 0;
    if (sky__pb_check(d, f->payload, f->size, SKY_PB_MAX_DEPTH, NULL)) { /* as the typed runtime does */
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, f->size, f->payload);
        if (m) {
            /* what decoded must encode again */
            size_t n = protobuf_c_message_get_packed_size(m);
            uint8_t *out = malloc(n ? n : 1);
            if (protobuf_c_message_pack(m, out) != n) abort();
            free(out);
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    lua_pushcfunction(L, decode);
    lua_pushlightuserdata(L, (void *)d);
    lua_pushlstring(L, (const char *)f->payload, f->size);
    (void)lua_pcall(L, 2, 0, 0); /* out of memory aside, decode returns */
    lua_settop(L, 0);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (sky_schema_register(&skytest_typed_test_file) != 0 || sky_schema_register(&skycodec_codec_test_file) != 0)
        abort();
    L = luaL_newstate();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sky__framer fr;
    const char *why;
    sky__framer_init(&fr, 65536, 0); /* no preface: straight to frames */
    (void)sky__framer_feed(&fr, data, size, on_frame, NULL, &why);
    sky__framer_deinit(&fr);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
