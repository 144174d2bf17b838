/* Presence of proto3 `optional` fields through skyc's protobuf-c code, for
 * test_corpus.sh, which checks the bytes against protoc itself (the
 * reference encoder and decoder). Built with corpus/optional3.proto's
 * generated code.
 *
 *   presence encode   writes a Patch whose set fields all hold zero values
 *                     (so only presence puts them on the wire)
 *   presence decode   reads a Patch on stdin and prints its present
 *                     optional fields, one "name value" a line
 */
#include <stdio.h>
#include <string.h>
#include "optional3.pb-c.h"

static int encode(void)
{
    Corpus__Presence__Patch p = CORPUS__PRESENCE__PATCH__INIT;
    Corpus__Presence__Patch next = CORPUS__PRESENCE__PATCH__INIT;
    uint8_t buf[256];
    size_t len;

    p._count_case = CORPUS__PRESENCE__PATCH___COUNT_COUNT;
    p.count = 0;
    p._flag_case = CORPUS__PRESENCE__PATCH___FLAG_FLAG;
    p.flag = 0;
    p._name_case = CORPUS__PRESENCE__PATCH___NAME_NAME;
    p.name = "";
    p._mode_case = CORPUS__PRESENCE__PATCH___MODE_MODE;
    p.mode = CORPUS__PRESENCE__MODE__MODE_UNSPECIFIED;
    p._next_case = CORPUS__PRESENCE__PATCH___NEXT_NEXT;
    p.next = &next;
    if (corpus__presence__patch__get_packed_size(&p) > sizeof buf)
        return 1;
    len = corpus__presence__patch__pack(&p, buf);
    return fwrite(buf, 1, len, stdout) == len ? 0 : 1;
}

static int decode(void)
{
    uint8_t buf[4096];
    size_t len = fread(buf, 1, sizeof buf, stdin);
    Corpus__Presence__Patch *p = corpus__presence__patch__unpack(NULL, len, buf);

    if (!p) {
        fprintf(stderr, "presence: the input does not decode\n");
        return 1;
    }
    if (p->_count_case == CORPUS__PRESENCE__PATCH___COUNT_COUNT)
        printf("count %d\n", (int)p->count);
    if (p->_big_case == CORPUS__PRESENCE__PATCH___BIG_BIG)
        printf("big %lld\n", (long long)p->big);
    if (p->_small_case == CORPUS__PRESENCE__PATCH___SMALL_SMALL)
        printf("small %u\n", (unsigned)p->small);
    if (p->_delta_case == CORPUS__PRESENCE__PATCH___DELTA_DELTA)
        printf("delta %lld\n", (long long)p->delta);
    if (p->_mask_case == CORPUS__PRESENCE__PATCH___MASK_MASK)
        printf("mask %u\n", (unsigned)p->mask);
    if (p->_weight_case == CORPUS__PRESENCE__PATCH___WEIGHT_WEIGHT)
        printf("weight %g\n", p->weight);
    if (p->_ratio_case == CORPUS__PRESENCE__PATCH___RATIO_RATIO)
        printf("ratio %g\n", (double)p->ratio);
    if (p->_flag_case == CORPUS__PRESENCE__PATCH___FLAG_FLAG)
        printf("flag %d\n", (int)p->flag);
    if (p->_name_case == CORPUS__PRESENCE__PATCH___NAME_NAME)
        printf("name \"%s\"\n", p->name);
    if (p->_blob_case == CORPUS__PRESENCE__PATCH___BLOB_BLOB)
        printf("blob %zu bytes\n", p->blob.len);
    if (p->_mode_case == CORPUS__PRESENCE__PATCH___MODE_MODE)
        printf("mode %d\n", (int)p->mode);
    if (p->_next_case == CORPUS__PRESENCE__PATCH___NEXT_NEXT) {
        printf("next\n");
        if (p->next->_count_case == CORPUS__PRESENCE__PATCH___COUNT_COUNT)
            printf("next.count %d\n", (int)p->next->count);
    }
    printf("plain %d\n", (int)p->plain);
    corpus__presence__patch__free_unpacked(p, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "encode") == 0)
        return encode();
    if (argc == 2 && strcmp(argv[1], "decode") == 0)
        return decode();
    fprintf(stderr, "usage: presence encode|decode\n");
    return 2;
}
