/* Misuse of the C API, which must give a result code, never a crash or undefined behaviour: NULL for each
 * pointer argument, output buffers of length 0 and 1, double frees, calls after a free or a failed connect,
 * handles of the wrong type, bad UTF-8, unknown enum values, calls from inside a callback, and the last
 * error being per thread. Runs under valgrind and AddressSanitizer, which would report what the codes hide.
 * Usage: test_misuse SIM_DIR SCRATCH_DIR. */
#include "check.h"

#include <pthread.h>

static char sim_dir[1024], scratch[1024], config_path[2048], p12_path[2048], p12_password[256];

#define NULL_ARG(call) CHECK_RESULT(call, GW_ERR_NULL_ARGUMENT)
#define BAD_HANDLE(call) CHECK_RESULT(call, GW_ERR_INVALID_HANDLE)

static void first_line(const char *path, char *out, size_t size) {
    char *text = read_file(path, NULL);
    out[0] = '\0';
    if (text) {
        text[strcspn(text, "\r\n")] = '\0';
        snprintf(out, size, "%s", text);
        free(text);
    }
}

static void result_texts(void) {
    static const gw_result codes[] = {GW_OK, GW_ERR_NULL_ARGUMENT, GW_ERR_BUFFER_TOO_SMALL, GW_ERR_PANIC,
                                      GW_ERR_INVALID_HANDLE, GW_ERR_INVALID_ARGUMENT, GW_ERR_CERTIFICATE_PASSWORD,
                                      GW_ERR_AUTHENTICATION, GW_ERR_FILENAME_REUSED, GW_ERR_JOURNAL, GW_ERR_SIMULATOR};
    char buf[256];
    size_t n = 0, i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        gw_result_text(codes[i], buf, sizeof buf, &n);
        CHECK(n > 0 && n == strlen(buf) && !contains(buf, "unknown"));
    }
    gw_result_text(GW_ERR_AUTHENTICATION, buf, sizeof buf, &n);
    CHECK(strcmp(buf, "login refused") == 0);
    gw_result_text(12345, buf, sizeof buf, &n);
    CHECK(strcmp(buf, "unknown gw_result 12345") == 0);
    /* Too small: nothing written, the length needed reported. */
    memset(buf, 'x', sizeof buf);
    gw_result_text(GW_ERR_AUTHENTICATION, buf, 0, &n);
    CHECK(n == strlen("login refused") && buf[0] == 'x');
    gw_result_text(GW_ERR_AUTHENTICATION, buf, 1, &n);
    CHECK(n == strlen("login refused") && buf[0] == 'x');
    gw_result_text(GW_ERR_AUTHENTICATION, buf, n, &n);
    CHECK(buf[0] == 'x');
    gw_result_text(GW_ERR_AUTHENTICATION, NULL, 0, &n);
    gw_result_text(GW_ERR_AUTHENTICATION, buf, sizeof buf, NULL); /* no crash, nothing to report to */
    gw_result_text(GW_ERR_AUTHENTICATION, NULL, 10, &n);
}

static void identity_misuse(void) {
    gw_identity *id = NULL, *untouched = (gw_identity *)1;
    char buf[512], one[1];
    size_t n = 0;
    gw_certificate_kind kind;
    int64_t t;
    gw_validity validity;

    NULL_ARG(gw_identity_from_file(NULL, p12_password, &id));
    CHECK(contains(last_error_text(), "path"));
    NULL_ARG(gw_identity_from_file(p12_path, p12_password, NULL));
    NULL_ARG(gw_identity_from_pem_files(NULL, NULL, &id));
    NULL_ARG(gw_identity_from_pkcs12(NULL, 10, p12_password, &id));
    NULL_ARG(gw_identity_from_pem(NULL, 10, NULL, 0, &id));
    CHECK_RESULT(gw_identity_from_pkcs12(NULL, 0, p12_password, &untouched), GW_ERR_CERTIFICATE_FORMAT);
    CHECK(untouched == (gw_identity *)1);
    CHECK_RESULT(gw_identity_from_file("", p12_password, &id), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_identity_from_file("\xff\xfe", p12_password, &id), GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "UTF-8"));
    CHECK_RESULT(gw_identity_from_file(p12_path, "\xc3", &id), GW_ERR_INVALID_ARGUMENT);

    CHECK_OK(gw_identity_from_file(p12_path, p12_password, &id));
    NULL_ARG(gw_identity_username(NULL, buf, sizeof buf, &n));
    NULL_ARG(gw_identity_username(id, buf, sizeof buf, NULL));
    NULL_ARG(gw_identity_username(id, NULL, sizeof buf, &n));
    NULL_ARG(gw_identity_kind(id, NULL));
    NULL_ARG(gw_identity_kind(NULL, &kind));
    NULL_ARG(gw_identity_not_before(id, NULL));
    NULL_ARG(gw_identity_not_after(NULL, &t));
    NULL_ARG(gw_identity_validity(id, NULL, &t));
    NULL_ARG(gw_identity_check_valid(NULL));
    NULL_ARG(gw_identity_fingerprint(id, buf, sizeof buf, NULL));
    NULL_ARG(gw_identity_public_pem(NULL, buf, sizeof buf, &n));
    NULL_ARG(gw_identity_export_public_pem(NULL, scratch, NULL, false, buf, sizeof buf, &n));
    NULL_ARG(gw_identity_export_public_pem(id, NULL, NULL, false, buf, sizeof buf, &n));
    NULL_ARG(gw_identity_export_public_pem(id, scratch, NULL, false, buf, sizeof buf, NULL));
    NULL_ARG(gw_identity_export_public_pem(id, scratch, NULL, false, NULL, sizeof buf, &n));

    /* Buffers of length 0 and 1: nothing written, the length needed in *out_n. */
    one[0] = 'x';
    n = 0;
    CHECK_RESULT(gw_identity_username(id, one, 0, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(n == strlen("CVR_12345678_UID_9876543210") && one[0] == 'x');
    n = 0;
    CHECK_RESULT(gw_identity_username(id, one, 1, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(n == strlen("CVR_12345678_UID_9876543210") && one[0] == 'x');
    CHECK_RESULT(gw_identity_username(id, NULL, 0, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK_RESULT(gw_identity_username(id, buf, n, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(gw_identity_username(id, buf, n + 1, &n));
    CHECK(strlen(buf) == n);
    CHECK_RESULT(gw_identity_fingerprint(id, one, 1, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 95 && one[0] == 'x');
    CHECK_RESULT(gw_identity_public_pem(id, one, 0, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(n > 500);
    /* The last error of a too-small buffer says how much is needed. */
    CHECK_RESULT(gw_identity_username(id, one, 1, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(contains(last_error_text(), "28 are needed"));
    /* The simulator's certificate is valid. */
    CHECK_OK(gw_identity_validity(id, &validity, NULL));
    CHECK(validity == GW_VALIDITY_VALID);
    CHECK_OK(gw_identity_check_valid(id));

    /* Double free, use after free. */
    gw_identity_free(id);
    gw_identity_free(id);
    gw_identity_free(NULL);
    BAD_HANDLE(gw_identity_username(id, buf, sizeof buf, &n));
    CHECK(contains(last_error_text(), "freed already"));
    BAD_HANDLE(gw_identity_kind(id, &kind));
    /* Something that never was a handle. */
    BAD_HANDLE(gw_identity_kind((const gw_identity *)(uintptr_t)0x40, &kind));
    gw_identity_free((gw_identity *)(uintptr_t)0x40);
}

static void last_error_misuse(void) {
    char buf[8], big[4096];
    size_t n = 0, needed = 0;
    uint32_t code = 77;
    gw_identity *id = NULL;
    /* Make a failure with a long message, then read it with too-small buffers: it stays. */
    CHECK_RESULT(gw_identity_from_file("/nonexistent/file.p12", NULL, &id), GW_ERR_CERTIFICATE_FILE_UNREADABLE);
    CHECK(id == NULL);
    CHECK_RESULT(gw_last_error(NULL, 0, &needed), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 10);
    memset(buf, 'x', sizeof buf);
    CHECK_RESULT(gw_last_error(buf, 1, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(buf[0] == 'x' && n == needed);
    NULL_ARG(gw_last_error(buf, sizeof buf, NULL));
    NULL_ARG(gw_last_error(NULL, sizeof buf, &n));
    CHECK(gw_last_error_code() == GW_ERR_CERTIFICATE_FILE_UNREADABLE);
    CHECK_OK(gw_last_error(big, sizeof big, &n));
    CHECK(n == needed && contains(big, "/nonexistent/file.p12") && contains(big, "does not exist"));
    CHECK_OK(gw_last_error_server_reply(&code, big, sizeof big, &n));
    CHECK(code == 0 && n == 0);
    CHECK_OK(gw_last_error_server_reply(NULL, big, sizeof big, &n));
    NULL_ARG(gw_last_error_server_reply(&code, big, sizeof big, NULL));
    /* A success leaves it. */
    CHECK(strcmp(gw_version(), GW_VERSION) == 0);
    CHECK(gw_last_error_code() == GW_ERR_CERTIFICATE_FILE_UNREADABLE);
}

static void *other_thread(void *arg) {
    int *ok = arg;
    char buf[64];
    size_t n = 99;
    /* A new thread has seen no failure, whatever the main thread did. */
    *ok = gw_last_error_code() == GW_OK && gw_last_error(buf, sizeof buf, &n) == GW_OK && n == 0 && buf[0] == '\0';
    /* Its own failure stays its own. */
    *ok = *ok && gw_identity_kind(NULL, NULL) == GW_ERR_NULL_ARGUMENT && gw_last_error_code() == GW_ERR_NULL_ARGUMENT;
    return NULL;
}

static void last_error_per_thread(void) {
    pthread_t thread;
    int ok = 0;
    CHECK_RESULT(gw_config_builder_set_journal(NULL, "x"), GW_ERR_NULL_ARGUMENT);
    CHECK(pthread_create(&thread, NULL, other_thread, &ok) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(ok);
    CHECK(gw_last_error_code() == GW_ERR_NULL_ARGUMENT);
    CHECK(contains(last_error_text(), "builder"));
}

static void config_misuse(void) {
    gw_config_builder *builder = NULL;
    gw_config *config = NULL;
    char buf[256];
    size_t n;

    NULL_ARG(gw_config_builder_new(NULL));
    NULL_ARG(gw_config_builder_from_file(NULL, NULL, &builder));
    NULL_ARG(gw_config_builder_from_file(config_path, NULL, NULL));
    NULL_ARG(gw_config_from_file(NULL, NULL, &config));
    CHECK_RESULT(gw_config_from_file("/nonexistent.toml", NULL, &config), GW_ERR_CONFIG);
    CHECK_RESULT(gw_config_from_file(config_path, "no-such-profile", &config), GW_ERR_CONFIG);
    CHECK(contains(last_error_text(), "no profile"));
    CHECK(config == NULL);

    CHECK_OK(gw_config_builder_new(&builder));
    NULL_ARG(gw_config_builder_build(NULL, &config));
    NULL_ARG(gw_config_builder_build(builder, NULL));
    NULL_ARG(gw_config_builder_set_address(builder, GW_GATEWAY_NEW, NULL, 6381));
    NULL_ARG(gw_config_builder_set_certificate(builder, NULL, NULL));
    NULL_ARG(gw_config_builder_set_password(builder, NULL, 5));
    NULL_ARG(gw_config_builder_set_certificate_password(builder, NULL, 5));
    NULL_ARG(gw_config_builder_set_password_file(builder, NULL));
    NULL_ARG(gw_config_builder_set_certificate_password_file(builder, NULL));
    NULL_ARG(gw_config_builder_set_journal(builder, NULL));
    NULL_ARG(gw_config_builder_set_inbox(builder, NULL));
    NULL_ARG(gw_config_builder_add_route(builder, NULL, GW_GATEWAY_NEW));
    NULL_ARG(gw_config_builder_set_environment(NULL, GW_ENVIRONMENT_TFE));
    NULL_ARG(gw_config_builder_set_system_roots(NULL, true));
    /* Optional strings: NULL clears. */
    CHECK_OK(gw_config_builder_set_username(builder, NULL));
    CHECK_OK(gw_config_builder_set_ca_file(builder, NULL));
    /* Values out of range. */
    CHECK_RESULT(gw_config_builder_set_environment(builder, 7), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_address(builder, 5, "localhost", 6381), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_address(builder, GW_GATEWAY_NEW, " ", 6381), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_address(builder, GW_GATEWAY_NEW, "localhost", 0), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_data_ports(builder, GW_GATEWAY_NEW, 5, 4), GW_ERR_INVALID_ARGUMENT);
    CHECK_OK(gw_config_builder_set_data_ports(builder, GW_GATEWAY_NEW, 0, 0));
    CHECK_RESULT(gw_config_builder_set_timeouts(builder, 0, 1000), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_deadline_ms(builder, 0), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_upload_attempts(builder, 0), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_add_route(builder, "a*b", GW_GATEWAY_LEGACY), GW_ERR_INVALID_ARGUMENT);
    CHECK_OK(gw_config_builder_add_route(builder, "Manifest.*", GW_GATEWAY_LEGACY));
    CHECK_RESULT(gw_config_builder_set_password(builder, (const uint8_t *)"\xff\xfe", 2), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_config_builder_set_password(builder, (const uint8_t *)"", 0), GW_ERR_INVALID_ARGUMENT);
    /* The password is taken as (pointer, length): no NUL needed, and the caller may wipe its copy. */
    {
        char secret[4] = {'a', 'b', 'c', 'd'};
        CHECK_OK(gw_config_builder_set_password(builder, (const uint8_t *)secret, sizeof secret));
        memset(secret, 0, sizeof secret);
    }
    CHECK_OK(gw_config_builder_set_journal(builder, "/tmp/gw-misuse.sqlite"));
    CHECK_OK(gw_config_builder_build(builder, &config));
    CHECK_OK(gw_config_journal(config, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "/tmp/gw-misuse.sqlite") == 0);
    NULL_ARG(gw_config_inbox(config, buf, sizeof buf, NULL));
    NULL_ARG(gw_config_profile(NULL, buf, sizeof buf, &n));
    /* A config is not a builder, and the reverse. */
    BAD_HANDLE(gw_config_builder_set_journal((gw_config_builder *)config, "x"));
    BAD_HANDLE(gw_config_journal((const gw_config *)builder, buf, sizeof buf, &n));
    CHECK(contains(last_error_text(), "gw_config"));
    gw_config_free((gw_config *)builder); /* wrong type: ignored, the builder lives on */
    CHECK_OK(gw_config_builder_set_inbox(builder, "/tmp/gw-misuse-inbox"));
    /* No certificate: said at connect. */
    {
        gw_client *client = (gw_client *)1;
        CHECK_RESULT(gw_client_connect(config, &client), GW_ERR_CONFIG);
        CHECK(contains(last_error_text(), "no certificate"));
        CHECK(client == (gw_client *)1);
    }
    gw_config_free(config);
    gw_config_free(config);
    gw_config_builder_free(builder);
    gw_config_builder_free(builder);
    BAD_HANDLE(gw_config_builder_set_inbox(builder, "x"));
}

static int reentry_result = -1;

static void reentering(void *userdata, gw_event_kind kind, const char *subject, const char *detail, uint64_t done,
                       uint64_t total) {
    gw_client *client = userdata;
    char buf[128];
    size_t n;
    (void)subject, (void)detail, (void)done, (void)total;
    if (kind == GW_EVENT_RESERVED && reentry_result == -1) {
        reentry_result = (int)gw_client_username(client, buf, sizeof buf, &n);
    }
}

static void client_misuse(void) {
    gw_client *client = NULL;
    gw_config *config = NULL;
    char name[GW_NAME_MAX + 1], small[GW_NAME_MAX], file[2048], buf[256];
    size_t n = 0;
    gw_state state = 0;
    gw_submission *submission = NULL;
    gw_service_list *services = NULL;
    gw_poll_report *report = NULL;

    /* Calls after a failed connect: the handle was never written, so it is still NULL. */
    CHECK_RESULT(gw_client_from_config("/nonexistent/client.toml", NULL, &client), GW_ERR_CONFIG);
    CHECK(client == NULL);
    NULL_ARG(gw_client_submit_file(client, "FTPSGW.Heartbeat", "x", name, sizeof name, &n));
    NULL_ARG(gw_client_poll(client, NULL));
    NULL_ARG(gw_client_state(client, "x", &state));
    NULL_ARG(gw_client_services(client, &services));
    gw_client_free(client);

    NULL_ARG(gw_client_from_config(NULL, NULL, &client));
    NULL_ARG(gw_client_from_config(config_path, NULL, NULL));
    NULL_ARG(gw_client_connect(NULL, &client));
    NULL_ARG(gw_client_open(NULL, &client));

    CHECK_OK(gw_config_from_file(config_path, NULL, &config));
    NULL_ARG(gw_client_connect(config, NULL));
    CHECK_OK(gw_client_open(config, &client));
    gw_config_free(config);

    snprintf(file, sizeof file, "%s/misuse.xml", scratch);
    CHECK(write_file(file, "<misuse/>\n"));
    NULL_ARG(gw_client_submit_file(client, NULL, file, name, sizeof name, &n));
    NULL_ARG(gw_client_submit_file(client, "FTPSGW.Heartbeat", NULL, name, sizeof name, &n));
    NULL_ARG(gw_client_submit_file(client, "FTPSGW.Heartbeat", file, NULL, sizeof name, &n));
    NULL_ARG(gw_client_submit_file(client, "FTPSGW.Heartbeat", file, name, sizeof name, NULL));
    /* A name buffer that cannot hold every name is refused before anything is sent. */
    n = 0;
    CHECK_RESULT(gw_client_submit_file(client, "FTPSGW.Heartbeat", file, small, sizeof small, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(n == GW_NAME_MAX);
    CHECK_RESULT(gw_client_submit_file(client, "FTPSGW.Heartbeat", file, small, 0, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK_RESULT(gw_client_submit_file(client, "FTPSGW.Heartbeat", file, small, 1, &n), GW_ERR_BUFFER_TOO_SMALL);
    NULL_ARG(gw_client_submit(client, "FTPSGW.Heartbeat", file, NULL, NULL, 0, NULL, NULL));
    CHECK_RESULT(gw_client_submit(client, "FTPSGW.Heartbeat", file, NULL, NULL, 0x80, &submission, NULL), GW_ERR_INVALID_ARGUMENT);
    NULL_ARG(gw_client_submit_bytes(client, "FTPSGW.Heartbeat", NULL, 3, "xml", NULL, NULL, 0, &submission));
    NULL_ARG(gw_client_submit_bytes(client, "FTPSGW.Heartbeat", (const uint8_t *)"abc", 3, "xml", NULL, NULL, 0, NULL));
    NULL_ARG(gw_client_state(client, NULL, &state));
    NULL_ARG(gw_client_state(client, "x", NULL));
    NULL_ARG(gw_client_submission(client, NULL, &submission));
    NULL_ARG(gw_client_submissions(client, NULL));
    NULL_ARG(gw_client_pending(client, NULL));
    NULL_ARG(gw_client_stale_uploads(client, NULL));
    NULL_ARG(gw_client_rejected(client, NULL));
    {
        gw_submission_list *list = NULL;
        NULL_ARG(gw_client_rejected(NULL, &list));
        CHECK(list == NULL);
    }
    {
        gw_submitted outcome = 0;
        NULL_ARG(gw_client_submit_as(client, "FTPSGW.Heartbeat", file, NULL, NULL, 0, &submission, NULL));
        NULL_ARG(gw_client_submit_as(client, "FTPSGW.Heartbeat", file, NULL, NULL, 0, NULL, &outcome));
        NULL_ARG(gw_client_submit_as(client, NULL, file, NULL, NULL, 0, &submission, &outcome));
        NULL_ARG(gw_client_submit_as(client, "FTPSGW.Heartbeat", NULL, NULL, NULL, 0, &submission, &outcome));
        CHECK_RESULT(gw_client_submit_as(client, "FTPSGW.Heartbeat", file, NULL, NULL, 0x80, &submission, &outcome),
                     GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_client_submit_bytes_as(client, "FTPSGW.Heartbeat", (const uint8_t *)"abc", 3, "xml", NULL, NULL, 0,
                                           &submission, NULL));
        NULL_ARG(gw_client_submit_bytes_as(client, "FTPSGW.Heartbeat", NULL, 3, "xml", NULL, NULL, 0, &submission, &outcome));
        CHECK_RESULT(gw_client_submit_bytes_as(client, "FTPSGW.Heartbeat", (const uint8_t *)"abc", 3, "xml", "bad name!", NULL,
                                               0, &submission, &outcome),
                     GW_ERR_INVALID_FILENAME);
        CHECK(outcome == 0);
        CHECK(strcmp(gw_submitted_name(0), "unknown") == 0);
        CHECK(strcmp(gw_submitted_name(GW_SUBMITTED_ALREADY_SUBMITTED), "already_submitted") == 0);
    }
    NULL_ARG(gw_client_close_submission(client, NULL, NULL, NULL));
    NULL_ARG(gw_client_poll_report(client, NULL, 0, NULL));
    CHECK_RESULT(gw_client_poll_report(client, NULL, 0x40, &report), GW_ERR_INVALID_ARGUMENT);
    NULL_ARG(gw_client_poll_until_settled(client, NULL, 0, 0, 0, NULL));
    NULL_ARG(gw_client_ping(client, NULL, 1000, NULL, NULL));
    NULL_ARG(gw_client_fetch_login_info(client, buf, sizeof buf, NULL));
    NULL_ARG(gw_client_save_login_info(client, NULL, false));
    NULL_ARG(gw_client_services(client, NULL));
    NULL_ARG(gw_client_services_on(client, GW_GATEWAY_NEW, NULL));
    CHECK_RESULT(gw_client_services_on(client, 9, &services), GW_ERR_INVALID_ARGUMENT);
    NULL_ARG(gw_client_username(client, buf, sizeof buf, NULL));
    NULL_ARG(gw_client_inbox(NULL, buf, sizeof buf, &n));
    NULL_ARG(gw_client_set_event_callback(NULL, NULL, NULL));

    /* A call on the client from inside its own callback is refused, not a deadlock. */
    CHECK_OK(gw_client_set_event_callback(client, reentering, client));
    CHECK_OK(gw_client_submit(client, "FTPSGW.Heartbeat", file, NULL, "reentry", GW_SUBMIT_AGAIN, &submission, NULL));
    CHECK(reentry_result == (int)GW_ERR_INVALID_ARGUMENT);
    CHECK_OK(gw_client_set_event_callback(client, NULL, NULL));

    /* Items: NULL, indexes out of range, unknown list kinds, buffers of 0 and 1. */
    NULL_ARG(gw_submission_name(NULL, buf, sizeof buf, &n));
    NULL_ARG(gw_submission_state(submission, NULL));
    NULL_ARG(gw_submission_time(submission, GW_TIME_CREATED, NULL));
    CHECK_RESULT(gw_submission_response_file(submission, 0, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_submission_receipt(submission, 99, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
    {
        uint32_t code = 9;
        int64_t t = 0;
        CHECK_RESULT(gw_submission_receipt_code(submission, 99, &code), GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_submission_receipt_code(NULL, 0, &code));
        NULL_ARG(gw_submission_receipt_time(NULL, 0, &t));
        CHECK_RESULT(gw_submission_receipt_time(submission, 99, &t), GW_ERR_INVALID_ARGUMENT);
        CHECK_RESULT(gw_submission_receipt_local_path(submission, 99, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_submission_receipt_local_path(NULL, 0, buf, sizeof buf, &n));
        CHECK_RESULT(gw_submission_response_file_local_path(submission, 0, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_submission_response_file_local_path(NULL, 0, buf, sizeof buf, &n));
        CHECK(code == 9 && t == 0);
    }
    memset(buf, 'x', sizeof buf);
    CHECK_RESULT(gw_submission_name(submission, buf, 1, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(buf[0] == 'x' && n > 0);
    CHECK_OK(gw_submission_error_code(submission, buf, 1, &n)); /* empty fits in one byte */
    CHECK(n == 0 && buf[0] == '\0');
    CHECK_RESULT(gw_submission_error_code(submission, buf, 0, &n), GW_ERR_BUFFER_TOO_SMALL);
    CHECK(n == 0);
    BAD_HANDLE(gw_receipt_code((const gw_receipt *)submission, (uint32_t *)&state));
    gw_submission_free(submission);
    gw_submission_free(submission);
    BAD_HANDLE(gw_submission_state(submission, &state));

    CHECK_OK(gw_client_poll_report(client, NULL, 0, &report));
    {
        size_t len = 0;
        gw_receipt *receipt = NULL;
        gw_fetched_file *fetched = NULL;
        CHECK_RESULT(gw_poll_report_len(report, 99, &len), GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_poll_report_len(report, GW_REPORT_FILES, NULL));
        CHECK_RESULT(gw_poll_report_receipt(report, GW_REPORT_FILES, 0, &receipt), GW_ERR_INVALID_ARGUMENT);
        CHECK_RESULT(gw_poll_report_file(report, GW_REPORT_RECEIPTS, 0, &fetched), GW_ERR_INVALID_ARGUMENT);
        CHECK_RESULT(gw_poll_report_submission(report, GW_REPORT_OVERDUE, 1000, &submission), GW_ERR_INVALID_ARGUMENT);
        CHECK_RESULT(gw_poll_report_invalid_name(report, 0, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_poll_report_receipt(report, GW_REPORT_RECEIPTS, 0, NULL));
        {
            gw_gateway gateway = 9;
            bool ours = false;
            CHECK_RESULT(gw_poll_report_len(report, GW_REPORT_NEWLY_OVERDUE + 1, &len), GW_ERR_INVALID_ARGUMENT);
            CHECK_OK(gw_poll_report_len(report, GW_REPORT_SKIPPED, &len));
            CHECK_RESULT(gw_poll_report_name(report, 99, 0, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
            CHECK_RESULT(gw_poll_report_name(report, GW_REPORT_PENDING, 1000, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
            NULL_ARG(gw_poll_report_name(NULL, GW_REPORT_PENDING, 0, buf, sizeof buf, &n));
            CHECK_RESULT(gw_poll_report_reason(report, GW_REPORT_PENDING, 0, buf, sizeof buf, &n), GW_ERR_INVALID_ARGUMENT);
            NULL_ARG(gw_poll_report_reason(NULL, GW_REPORT_SKIPPED, 0, buf, sizeof buf, &n));
            CHECK_RESULT(gw_poll_report_gateway(report, GW_REPORT_NEWLY_OVERDUE, 0, &gateway), GW_ERR_INVALID_ARGUMENT);
            CHECK_RESULT(gw_poll_report_gateway(report, 99, 0, &gateway), GW_ERR_INVALID_ARGUMENT);
            NULL_ARG(gw_poll_report_gateway(NULL, GW_REPORT_FILES, 0, &gateway));
            CHECK_RESULT(gw_poll_report_submission(report, GW_REPORT_PENDING, 0, &submission), GW_ERR_INVALID_ARGUMENT);
            CHECK_RESULT(gw_poll_report_submission(report, GW_REPORT_REJECTED, 1000, &submission), GW_ERR_INVALID_ARGUMENT);
            NULL_ARG(gw_receipt_is_ours(NULL, &ours));
            BAD_HANDLE(gw_receipt_is_ours((const gw_receipt *)report, &ours));
            CHECK(gateway == 9 && !ours);
        }
        CHECK(receipt == NULL && fetched == NULL);
    }
    gw_poll_report_free(report);
    gw_poll_report_free(report);

    CHECK_OK(gw_client_services(client, &services));
    {
        size_t len = 0;
        gw_system system;
        CHECK_OK(gw_service_list_len(services, &len));
        CHECK(len > 0);
        CHECK_RESULT(gw_service_list_system(services, len, &system), GW_ERR_INVALID_ARGUMENT);
        NULL_ARG(gw_service_list_known(services, 0, NULL));
    }
    /* A list is not a client. */
    BAD_HANDLE(gw_client_poll((gw_client *)services, NULL));
    gw_service_list_free(services);

    /* Free while in use is covered by test_threads; here: double free and use after free. */
    gw_client_free(client);
    gw_client_free(client);
    BAD_HANDLE(gw_client_poll(client, NULL));
    BAD_HANDLE(gw_client_state(client, "x", &state));
}

static void session_and_sim_misuse(void) {
    gw_session *session = NULL;
    gw_config *config = NULL;
    gw_simulator *sim = NULL;
    gw_entry_list *entries = NULL;
    char buf[64];
    size_t n;
    uint16_t port;

    NULL_ARG(gw_session_connect(NULL, NULL, GW_GATEWAY_NEW, &session));
    CHECK_OK(gw_config_from_file(config_path, NULL, &config));
    NULL_ARG(gw_session_connect(config, NULL, GW_GATEWAY_NEW, NULL));
    CHECK_RESULT(gw_session_connect(config, NULL, 3, &session), GW_ERR_INVALID_ARGUMENT);
    BAD_HANDLE(gw_session_connect(config, (const gw_identity *)config, GW_GATEWAY_NEW, &session));
    gw_config_free(config);
    CHECK(session == NULL);
    NULL_ARG(gw_session_list(NULL, NULL, &entries));
    NULL_ARG(gw_session_put_file(NULL, "a", "b", GW_TRANSFER_BINARY, NULL, NULL, NULL));
    NULL_ARG(gw_session_put_bytes(NULL, (const uint8_t *)"a", 1, "b", GW_TRANSFER_BINARY));
    NULL_ARG(gw_session_get_file(NULL, "a", "b", GW_TRANSFER_BINARY, false, NULL, NULL, NULL));
    NULL_ARG(gw_session_delete(NULL, "a"));
    NULL_ARG(gw_session_size(NULL, "a", NULL));
    NULL_ARG(gw_session_quit(NULL));
    NULL_ARG(gw_session_username(NULL, buf, sizeof buf, &n));
    NULL_ARG(gw_entry_list_len(NULL, &n));
    gw_session_free(NULL);
    gw_entry_list_free(NULL);

    NULL_ARG(gw_simulator_start(NULL, &sim));
    NULL_ARG(gw_simulator_start(scratch, NULL));
    CHECK_RESULT(gw_simulator_start_with_ports(scratch, 0, 0, 10, 5, &sim), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_simulator_start(config_path, &sim), GW_ERR_INVALID_ARGUMENT); /* a file, not a folder */
    CHECK(sim == NULL);
    NULL_ARG(gw_simulator_port(NULL, &port));
    NULL_ARG(gw_simulator_client_config(NULL, buf, sizeof buf, &n));
    NULL_ARG(gw_simulator_stop(NULL));
    gw_simulator_free(NULL);

    CHECK_RESULT(gw_set_log_callback(NULL, NULL, 99), GW_ERR_INVALID_ARGUMENT);
    CHECK_OK(gw_set_log_callback(NULL, NULL, GW_LOG_OFF));
    CHECK(strcmp(gw_state_name(GW_STATE_CLOSED), "Closed") == 0);
    CHECK(strcmp(gw_state_name(0), "unknown") == 0);
}

int main(int argc, char **argv) {
    char path[2048];
    if (argc != 3) {
        fprintf(stderr, "usage: %s SIM_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    snprintf(sim_dir, sizeof sim_dir, "%s", argv[1]);
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    snprintf(config_path, sizeof config_path, "%s/client.toml", sim_dir);
    snprintf(p12_path, sizeof p12_path, "%s/client.p12", sim_dir);
    snprintf(path, sizeof path, "%s/client.p12.password", sim_dir);
    first_line(path, p12_password, sizeof p12_password);

    result_texts();
    last_error_misuse();
    last_error_per_thread();
    identity_misuse();
    config_misuse();
    client_misuse();
    session_and_sim_misuse();
    return finish("test_misuse");
}
