/* include/gateway.h compiles as C99 with -Wall -Wextra -Wpedantic -Werror (tests/c/contract.c checks the
 * fixed declarations). */
#include "gateway.h"

#include <stdio.h>
#include <string.h>

/* The codes and states the contract names exist. */
static const gw_result contract_codes[] = {GW_OK, GW_ERR_NULL_ARGUMENT, GW_ERR_BUFFER_TOO_SMALL, GW_ERR_PANIC};
static const gw_state contract_states[] = {GW_STATE_RESERVED, GW_STATE_UPLOADING, GW_STATE_UPLOADED, GW_STATE_DELIVERED,
                                           GW_STATE_ACCEPTED, GW_STATE_RESPONDED, GW_STATE_FAILED, GW_STATE_OVERDUE,
                                           GW_STATE_CLOSED};

int main(void) {
    int ok = GW_OK == 0 && sizeof contract_codes / sizeof contract_codes[0] == 4 &&
             sizeof contract_states / sizeof contract_states[0] == 9 && strcmp(gw_version(), GW_VERSION) == 0;
    printf("header_c99: %d passed, %d failed\n", ok, !ok);
    return ok ? 0 : 1;
}
