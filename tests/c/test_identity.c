/* Identity through the C API with the real public OCES II test certificates (../shared/fixtures/oces2/):
 * PKCS#12 from a file and from memory, user name, kind, CVR, validity, fingerprint, PEM and export.
 * Usage: test_identity FIXTURES_DIR SCRATCH_DIR. Skips (exit 0, with a message) when the fixtures are absent. */
#include "check.h"

#include <sys/stat.h>

#define PASSWORD "Test1234"

static char fixtures[1024], scratch[1024];

static const char *fixture(const char *name) {
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    return path;
}

static void voces(void) {
    gw_identity *id = NULL;
    char buf[8192];
    size_t n = 0;
    gw_certificate_kind kind = 0;
    gw_validity validity = 99;
    int64_t before = 0, after = 0, days = 0;

    CHECK_OK(gw_identity_from_file(fixture("VOCES_gyldig.p12"), PASSWORD, &id));
    CHECK(id != NULL);
    CHECK_OK(gw_identity_username(id, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "CVR_30808460_UID_25351738") == 0);
    CHECK(n == strlen("CVR_30808460_UID_25351738"));
    CHECK_OK(gw_identity_kind(id, &kind));
    CHECK(kind == GW_CERTIFICATE_COMPANY);
    CHECK_OK(gw_identity_kind_name(id, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "VOCES") == 0);
    CHECK_OK(gw_identity_cvr(id, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "30808460") == 0);
    CHECK_OK(gw_identity_id(id, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "25351738") == 0);
    CHECK_OK(gw_identity_subject(id, buf, sizeof buf, &n));
    CHECK(contains(buf, "CVR:30808460-UID:25351738"));
    CHECK_OK(gw_identity_issuer(id, buf, sizeof buf, &n));
    CHECK(n > 0);
    CHECK_OK(gw_identity_serial(id, buf, sizeof buf, &n));
    CHECK(n > 0 && strspn(buf, "0123456789ABCDEF") == n);

    /* The published test certificates have all expired. */
    CHECK_OK(gw_identity_validity(id, &validity, &days));
    CHECK(validity == GW_VALIDITY_EXPIRED);
    CHECK(days < 0);
    CHECK_OK(gw_identity_validity(id, &validity, NULL));
    CHECK_RESULT(gw_identity_check_valid(id), GW_ERR_CERTIFICATE_EXPIRED);
    CHECK(contains(last_error_text(), "expired on"));
    CHECK_OK(gw_identity_not_before(id, &before));
    CHECK_OK(gw_identity_not_after(id, &after));
    CHECK(before > 1000000000 && before < after);

    CHECK_OK(gw_identity_fingerprint(id, buf, sizeof buf, &n));
    CHECK(n == 95 && buf[2] == ':' && buf[94] != ':');

    /* The public PEM, in memory and exported as <username>.pem for registration. */
    {
        char pem[8192], path[2048];
        size_t pem_n = 0, path_n = 0, file_size = 0;
        char *file;
        CHECK_OK(gw_identity_public_pem(id, pem, sizeof pem, &pem_n));
        CHECK(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
        CHECK(!contains(pem, "PRIVATE KEY"));
        CHECK_OK(gw_identity_export_public_pem(id, scratch, NULL, false, path, sizeof path, &path_n));
        CHECK(contains(path, "CVR_30808460_UID_25351738.pem"));
        CHECK(path_n == strlen(path));
        file = read_file(path, &file_size);
        CHECK(file != NULL && file_size == pem_n && memcmp(file, pem, pem_n) == 0);
        free(file);
        /* An existing file is kept unless overwriting is asked for. */
        CHECK_RESULT(gw_identity_export_public_pem(id, scratch, NULL, false, path, sizeof path, &path_n), GW_ERR_IO);
        CHECK(contains(last_error_text(), "already exists"));
        CHECK_OK(gw_identity_export_public_pem(id, scratch, NULL, true, path, sizeof path, &path_n));
        /* A path buffer too small is refused before anything is written. */
        CHECK_RESULT(gw_identity_export_public_pem(id, scratch, "CVR_1_UID_2", false, path, 5, &path_n),
                     GW_ERR_BUFFER_TOO_SMALL);
        CHECK(path_n == strlen(scratch) + strlen("/CVR_1_UID_2.pem"));
        {
            char other[2048];
            struct stat st;
            snprintf(other, sizeof other, "%s/CVR_1_UID_2.pem", scratch);
            CHECK(stat(other, &st) != 0);
        }
        CHECK_RESULT(gw_identity_export_public_pem(id, "/nonexistent/folder", NULL, false, path, sizeof path, &path_n),
                     GW_ERR_IO);
        CHECK_RESULT(gw_identity_export_public_pem(id, scratch, "../escape", false, path, sizeof path, &path_n),
                     GW_ERR_INVALID_ARGUMENT);

        /* The public PEM alone is no identity: it has no key. */
        {
            gw_identity *no_key = (gw_identity *)1;
            CHECK_RESULT(gw_identity_from_pem((const uint8_t *)pem, pem_n, NULL, 0, &no_key), GW_ERR_PRIVATE_KEY_MISSING);
            CHECK(no_key == (gw_identity *)1); /* untouched on failure */
        }
    }
    gw_identity_free(id);
}

static void from_memory_and_other_kinds(void) {
    size_t size = 0;
    char *bytes = read_file(fixture("VOCES_gyldig.p12"), &size);
    gw_identity *id = NULL;
    char buf[256];
    size_t n;
    gw_certificate_kind kind = 0;

    CHECK(bytes != NULL);
    CHECK_OK(gw_identity_from_pkcs12((const uint8_t *)bytes, size, PASSWORD, &id));
    CHECK_OK(gw_identity_username(id, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "CVR_30808460_UID_25351738") == 0);
    gw_identity_free(id);
    id = NULL;
    CHECK_RESULT(gw_identity_from_pkcs12((const uint8_t *)bytes, size, "wrong", &id), GW_ERR_CERTIFICATE_PASSWORD);
    CHECK(id == NULL);
    CHECK_RESULT(gw_identity_from_pkcs12((const uint8_t *)bytes, size / 2, PASSWORD, &id), GW_ERR_CERTIFICATE_FORMAT);
    free(bytes);

    CHECK_RESULT(gw_identity_from_file(fixture("VOCES_gyldig.p12"), "Xyzzy-Not-It-42", &id), GW_ERR_CERTIFICATE_PASSWORD);
    CHECK(contains(last_error_text(), "VOCES_gyldig.p12"));
    CHECK(!contains(last_error_text(), "Xyzzy-Not-It-42"));
    CHECK_RESULT(gw_identity_from_file(fixture("VOCES_gyldig.p12"), NULL, &id), GW_ERR_CERTIFICATE_PASSWORD);
    CHECK(contains(last_error_text(), "needs its password"));
    CHECK_RESULT(gw_identity_from_file(fixture("no-such-file.p12"), PASSWORD, &id), GW_ERR_CERTIFICATE_FILE_UNREADABLE);
    CHECK_RESULT(gw_identity_from_file(fixtures, PASSWORD, &id), GW_ERR_CERTIFICATE_FILE_UNREADABLE);
    CHECK(contains(last_error_text(), "is a folder"));
    CHECK_RESULT(gw_identity_from_file(fixture("README.md"), PASSWORD, &id), GW_ERR_CERTIFICATE_FORMAT);

    CHECK_OK(gw_identity_from_file(fixture("MOCES_gyldig.p12"), PASSWORD, &id));
    CHECK_OK(gw_identity_kind(id, &kind));
    CHECK(kind == GW_CERTIFICATE_EMPLOYEE);
    CHECK_OK(gw_identity_username(id, buf, sizeof buf, &n));
    CHECK(strncmp(buf, "CVR_", 4) == 0 && contains(buf, "_RID_"));
    gw_identity_free(id);

    CHECK_OK(gw_identity_from_file(fixture("FOCES_gyldig.p12"), PASSWORD, &id));
    CHECK_OK(gw_identity_kind(id, &kind));
    CHECK(kind == GW_CERTIFICATE_FUNCTION);
    CHECK_OK(gw_identity_username(id, buf, sizeof buf, &n));
    CHECK(contains(buf, "_FID_"));
    gw_identity_free(id);
}

int main(int argc, char **argv) {
    struct stat st;
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIXTURES_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    if (stat(argv[1], &st) != 0) {
        printf("test_identity: skipped: the public OCES II test certificates are not at %s "
               "(they live in ../shared/fixtures/oces2/ beside the repository)\n",
               argv[1]);
        return 0;
    }
    snprintf(fixtures, sizeof fixtures, "%s", argv[1]);
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    voces();
    from_memory_and_other_kinds();
    return finish("test_identity");
}
