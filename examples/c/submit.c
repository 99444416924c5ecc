/* submit.c: send one file to the gateway exactly once and wait for its answer (status 3).
 *   cc submit.c $(pkg-config --cflags --libs gateway) -o submit
 *   ./submit client.toml Manifest.AnkomstdeklarationOpret declaration.xml */
#include <gateway.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    gw_client *client = NULL;
    char name[GW_NAME_MAX + 1], error[1024];
    size_t n;
    gw_state state = 0;
    if (argc != 4) return fprintf(stderr, "usage: %s CONFIG SERVICE FILE\n", argv[0]), 2;
    if (gw_client_from_config(argv[1], NULL, &client) != GW_OK ||
        gw_client_submit_file(client, argv[2], argv[3], name, sizeof name, &n) != GW_OK) {
        gw_last_error(error, sizeof error, &n);
        fprintf(stderr, "%s\n", error);
        gw_client_free(client);
        return 1;
    }
    for (int polls = 0; polls < 60 && state != GW_STATE_RESPONDED && state != GW_STATE_FAILED; polls++) {
        sleep(1); /* a poll that fails (network) is simply tried again in the next round */
        if (gw_client_poll(client, NULL) == GW_OK) gw_client_state(client, name, &state);
    }
    printf("%s: %s\n", name, gw_state_name(state));
    gw_client_free(client);
    return state == GW_STATE_RESPONDED ? 0 : 1;
}
