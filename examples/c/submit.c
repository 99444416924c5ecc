/* Submit one file to the gateway and wait for its answer: cc submit.c $(pkg-config --cflags --libs gateway)
 * Usage: submit CONFIG.toml SERVICE FILE   (e.g. the simulator's client.toml from `skat-gateway sim`) */
#include <gateway.h>
#include <stdio.h>
#include <unistd.h>

static int fail(const char *what) {
    char message[1024];
    size_t n;
    gw_last_error(message, sizeof message, &n);
    fprintf(stderr, "%s: %s\n", what, message);
    return 1;
}

int main(int argc, char **argv) {
    gw_client *client = NULL;
    char name[GW_NAME_MAX + 1];
    size_t n;
    gw_state state = GW_STATE_UPLOADED;
    int polls;
    if (argc != 4) return fprintf(stderr, "usage: %s CONFIG SERVICE FILE\n", argv[0]), 2;
    if (gw_client_from_config(argv[1], NULL, &client) != GW_OK) return fail("connect");
    if (gw_client_submit_file(client, argv[2], argv[3], name, sizeof name, &n) != GW_OK) return fail("submit");
    printf("submitted %s as %s\n", argv[3], name);
    for (polls = 0; polls < 60 && state != GW_STATE_RESPONDED && state != GW_STATE_FAILED; polls++) {
        sleep(1);
        if (gw_client_poll(client, NULL) != GW_OK || gw_client_state(client, name, &state) != GW_OK) return fail("poll");
    }
    printf("%s: %s\n", name, gw_state_name(state));
    gw_client_free(client);
    return state == GW_STATE_RESPONDED ? 0 : 1;
}
