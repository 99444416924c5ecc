/* The fixed contract of issue 10, repeated word for word after including the header: programs outside this
 * repository are compiled against these declarations, so any change to one of them (a name, a type, a
 * parameter) must fail to compile here. C11, which allows a typedef to be repeated; compiled with
 * -Wall -Wextra -Wpedantic -Werror and linked, so every function must exist. */
#include "gateway.h"

#include <stdio.h>

typedef uint32_t gw_result;
typedef uint32_t gw_state;
typedef struct gw_identity gw_identity;
typedef struct gw_client gw_client;

const char *gw_version(void);
void gw_result_text(gw_result result, char *buf, size_t len, size_t *out_n);
gw_result gw_last_error(char *buf, size_t len, size_t *out_n);

gw_result gw_identity_from_file(const char *path, const char *password /* NULL: none */, gw_identity **out);
gw_result gw_identity_username(const gw_identity *identity, char *buf, size_t len, size_t *out_n);
void gw_identity_free(gw_identity *identity);

gw_result gw_client_from_config(const char *config_path, const char *profile /* NULL: default */, gw_client **out);
gw_result gw_client_submit_file(gw_client *client, const char *service, const char *path,
                                char *name_buf, size_t name_len, size_t *name_n);
gw_result gw_client_poll(gw_client *client, const char *inbox);
gw_result gw_client_state(gw_client *client, const char *name, gw_state *out);
void gw_client_free(gw_client *client);


int main(void) {
    /* Taking each function's address makes the link fail if one were missing. */
    void (*functions[])(void) = {
        (void (*)(void))gw_version,           (void (*)(void))gw_result_text,        (void (*)(void))gw_last_error,
        (void (*)(void))gw_identity_from_file, (void (*)(void))gw_identity_username, (void (*)(void))gw_identity_free,
        (void (*)(void))gw_client_from_config, (void (*)(void))gw_client_submit_file, (void (*)(void))gw_client_poll,
        (void (*)(void))gw_client_state,       (void (*)(void))gw_client_free,
    };
    size_t i, present = 0;
    for (i = 0; i < sizeof functions / sizeof functions[0]; i++) present += functions[i] != NULL;
    printf("contract: %zu passed, %zu failed\n", present, sizeof functions / sizeof functions[0] - present);
    return present == sizeof functions / sizeof functions[0] ? 0 : 1;
}
