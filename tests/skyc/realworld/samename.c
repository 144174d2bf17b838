/* Four files, two by two of the same name in different directories, each
 * compiled by its own skyc run: linked into one program (their stubs used
 * to define the same msg_file and game_types_file) and registered, each
 * under its own name. */
#include <stdio.h>
#include "arena/types.sky.h"
#include "client/msg.sky.h"
#include "lobby/types.sky.h"
#include "server/msg.sky.h"

int main(void)
{
    const struct {
        const char *name;
        const sky_file_desc *file;
    } files[] = {
        {"client/msg.proto", &client_msg_file},
        {"server/msg.proto", &server_msg_file},
        {"lobby/types.proto", &game_lobby_types_file},
        {"arena/types.proto", &game_arena_types_file},
    };
    int fails = 0;

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (sky_schema_file(files[i].name) != files[i].file) {
            fprintf(stderr, "%s is not registered as itself\n", files[i].name);
            fails++;
        }
    }
    if (!sky_schema_service("ClientGate") || !sky_schema_service("ServerGate") ||
        !sky_schema_message("game.LobbyState") || !sky_schema_message("game.ArenaState")) {
        fprintf(stderr, "a service or message is missing\n");
        fails++;
    }
    printf("%zu files registered\n", sizeof files / sizeof files[0] - (size_t)fails);
    return fails != 0;
}
