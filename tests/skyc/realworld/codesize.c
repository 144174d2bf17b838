/* codesize/adder.proto (optimize_for = CODE_SIZE): the schema registered
 * when the program loaded, by name, and Adder.Add served and called once
 * through a node. Exit 0 only if the sum comes back. */
#include <string.h>
#include "codesize/adder.sky.h"
#include "serve_once.h"

static int add(sky_ctx *ctx, const Codesize__Sum *req, const sky_request *r, void *ud)
{
    Codesize__Total t = CODESIZE__TOTAL__INIT;

    (void)ud;
    for (size_t i = 0; i < req->n_terms; i++)
        t.total += req->terms[i];
    t.unit = req->unit;
    return codesize_Adder_Add_reply(ctx, r, &t);
}

static const codesize_Adder_handlers handlers = {.Add = add};

SERVING_MODULE(adder, "adder", codesize_Adder_serve, handlers);

int main(void)
{
    int32_t terms[] = {2, 3, 37};
    Codesize__Sum sum = CODESIZE__SUM__INIT;
    Codesize__Total *total = NULL;
    int fails = 0;

    if (sky_schema_message("codesize.Sum") != &codesize__sum__descriptor ||
        sky_schema_enum("codesize.Unit") != &codesize__unit__descriptor ||
        sky_schema_file("codesize/adder.proto") != &codesize_adder_file) {
        fprintf(stderr, "codesize/adder.proto's schema is not registered by name\n");
        fails++;
    }
    if (strcmp(codesize__total__descriptor.fields[0].name, "total") != 0) {
        fprintf(stderr, "codesize.Total's field has no name\n");
        fails++;
    }
    sum.n_terms = 3;
    sum.terms = terms;
    sum.unit = CODESIZE__UNIT__UNIT_CENTS;
    if (call_once(&adder, codesize_Adder_Add_ID, &sum.base, &codesize__total__descriptor,
                  (ProtobufCMessage **)&total) != 0) {
        fails++;
    } else {
        printf("Add(2, 3, 37) = %lld\n", (long long)total->total);
        if (total->total != 42 || total->unit != CODESIZE__UNIT__UNIT_CENTS)
            fails++;
        protobuf_c_message_free_unpacked(&total->base, NULL);
    }
    return fails != 0;
}
