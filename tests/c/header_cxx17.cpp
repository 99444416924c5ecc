// include/gateway.h compiles as C++17 with -Wall -Wextra -Wpedantic -Werror, and C++ sees its functions
// with C linkage: repeating a declaration with extern "C" would not compile if the header had declared it
// with C++ linkage, and the link against libgateway (which has only unmangled gw_ names) would fail.
#include "gateway.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

extern "C" const char *gw_version(void);
extern "C" gw_result gw_last_error(char *buf, size_t len, size_t *out_n);

static_assert(std::is_same<gw_result, uint32_t>::value, "gw_result is a uint32_t");
static_assert(std::is_same<gw_state, uint32_t>::value, "gw_state is a uint32_t");
static_assert(GW_OK == 0, "GW_OK is 0");

int main() {
    // A gw_result from a function can be stored and compared without casts.
    gw_result result = gw_last_error(nullptr, 0, nullptr);
    bool ok = result == GW_ERR_NULL_ARGUMENT && std::strcmp(gw_version(), GW_VERSION) == 0;
    std::printf("header_cxx17: %d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
