/* A few checks for the C tests: each failed check prints where, what, and the library's last error; the
 * program ends with "N passed, N failed" and exits non-zero on any failure. */
#ifndef GW_TEST_CHECK_H
#define GW_TEST_CHECK_H

#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_passed, checks_failed;

static inline const char *last_error_text(void) {
    static char text[4096];
    size_t n = 0;
    if (gw_last_error(text, sizeof text, &n) != GW_OK) snprintf(text, sizeof text, "(gw_last_error failed)");
    return text;
}

#define CHECK(cond)                                                                                         \
    do {                                                                                                    \
        if (cond) {                                                                                         \
            checks_passed++;                                                                                \
        } else {                                                                                            \
            checks_failed++;                                                                                \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                             \
        }                                                                                                   \
    } while (0)

/* A call that must return `expected`; on any other result prints both codes and the last error. */
#define CHECK_RESULT(call, expected)                                                                        \
    do {                                                                                                    \
        gw_result check_result_ = (call);                                                                   \
        if (check_result_ == (gw_result)(expected)) {                                                       \
            checks_passed++;                                                                                \
        } else {                                                                                            \
            checks_failed++;                                                                                \
            fprintf(stderr, "%s:%d: FAILED: %s gave %u, expected %u (%s): %s\n", __FILE__, __LINE__, #call, \
                    (unsigned)check_result_, (unsigned)(expected), #expected, last_error_text());           \
        }                                                                                                   \
    } while (0)

#define CHECK_OK(call) CHECK_RESULT(call, GW_OK)

/* Ends the test program: prints the closing line and returns its exit code. */
static inline int finish(const char *program) {
    size_t live = gw_handles_live();
    if (live != 0) {
        checks_failed++;
        fprintf(stderr, "%s: %zu handle(s) not freed\n", program, live);
    } else {
        checks_passed++;
    }
    printf("%s: %d passed, %d failed\n", program, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

/* Reads a whole small file into a NUL-terminated buffer (free it); NULL when it cannot. */
static inline char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    char *data;
    long length;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (length = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    data = malloc((size_t)length + 1);
    if (data && fread(data, 1, (size_t)length, f) != (size_t)length) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) {
        data[length] = '\0';
        if (size) *size = (size_t)length;
    }
    return data;
}

static inline int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

static inline int contains(const char *haystack, const char *needle) {
    return haystack && needle && strstr(haystack, needle) != NULL;
}

#endif
