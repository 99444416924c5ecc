/* The whole flow through the C API against a running simulator (`skat-gateway sim --dir SIM_DIR`, its
 * client.toml): connect, services, submit a file and bytes, poll to status 3 with receipts and the response
 * file, the journal's records, a reused name refused (by the journal and by the gateway), ping, the
 * migration password, closing a submission, the low-level session, wrong password, unreachable host, and
 * the log (which must never show a password).
 * Usage: test_flow SIM_DIR SCRATCH_DIR (SCRATCH_DIR: an empty folder of this run's own). */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SERVICE "Manifest.AnkomstdeklarationOpret"

static char sim_dir[1024], scratch[1024], config_path[2048];
static char gateway_password[256], p12_password[256];

/* ---- the log: every line is kept (joined), to check that no secret ever appears in it. No lock: the
 * library promises one call at a time, even while a poll's parallel sessions log from their threads, and
 * `log_overlaps` counts any call that begins while another runs. */
static char *log_text;
static size_t log_size, log_lines;
static int log_inside, log_overlaps; /* touched with GCC's __atomic builtins (C99 has no atomics) */

static void on_log(void *userdata, gw_log_level level, const char *target, const char *message) {
    size_t add = strlen(target) + strlen(message) + 8;
    char *grown;
    (void)userdata;
    if (__atomic_fetch_add(&log_inside, 1, __ATOMIC_SEQ_CST) != 0) __atomic_fetch_add(&log_overlaps, 1, __ATOMIC_SEQ_CST);
    usleep(200); /* widen the window an overlap would need */
    grown = realloc(log_text, log_size + add + 1);
    if (!grown) {
        __atomic_fetch_sub(&log_inside, 1, __ATOMIC_SEQ_CST);
        return;
    }
    log_text = grown;
    log_size += (size_t)snprintf(log_text + log_size, add + 1, "%u %s: %s\n", (unsigned)level, target, message);
    log_lines++;
    __atomic_fetch_sub(&log_inside, 1, __ATOMIC_SEQ_CST);
}

/* ---- events */
static int uploading_events, downloaded_events, receipt_events;

static void on_event(void *userdata, gw_event_kind kind, const char *subject, const char *detail, uint64_t done,
                     uint64_t total) {
    int *calls = userdata;
    (*calls)++;
    CHECK(subject != NULL && detail != NULL);
    if (kind == GW_EVENT_UPLOADING) {
        uploading_events++;
        CHECK(done <= total);
    } else if (kind == GW_EVENT_DOWNLOADED) {
        downloaded_events++;
    } else if (kind == GW_EVENT_RECEIPT) {
        receipt_events++;
        CHECK(done <= 3);
    }
}

static void first_line(const char *path, char *out, size_t size) {
    char *text = read_file(path, NULL);
    out[0] = '\0';
    if (text) {
        text[strcspn(text, "\r\n")] = '\0';
        snprintf(out, size, "%s", text);
        free(text);
    }
}

static void scratch_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", scratch, name);
}

/* A builder from the simulator's profile, with this run's own journal and inbox. */
static gw_config_builder *builder_for(const char *state) {
    gw_config_builder *builder = NULL;
    char path[2048];
    CHECK_OK(gw_config_builder_from_file(config_path, NULL, &builder));
    snprintf(path, sizeof path, "%s/%s.sqlite", scratch, state);
    CHECK_OK(gw_config_builder_set_journal(builder, path));
    snprintf(path, sizeof path, "%s/%s-inbox", scratch, state);
    CHECK_OK(gw_config_builder_set_inbox(builder, path));
    return builder;
}

static gw_client *client_for(const char *state) {
    gw_config_builder *builder = builder_for(state);
    gw_config *config = NULL;
    gw_client *client = NULL;
    CHECK_OK(gw_config_builder_build(builder, &config));
    gw_config_builder_free(builder);
    CHECK_OK(gw_client_connect(config, &client));
    gw_config_free(config);
    return client;
}

/* Polls until `name` reaches `wanted` (or a final state), at most 30 s; returns the state. Every receipt
 * for `name` is checked and counted in codes_seen. */
static gw_state poll_until(gw_client *client, const char *name, gw_state wanted, int codes_seen[4], char *response_path,
                           size_t response_size) {
    gw_state state = 0;
    int round;
    for (round = 0; round < 300; round++) {
        gw_poll_report *report = NULL;
        size_t receipts = 0, files = 0, i;
        CHECK_OK(gw_client_poll_report(client, NULL, 0, &report));
        CHECK_OK(gw_poll_report_len(report, GW_REPORT_RECEIPTS, &receipts));
        for (i = 0; i < receipts; i++) {
            gw_receipt *receipt = NULL;
            char transaction[256], status_file[512], local[2048];
            uint32_t code = 9;
            size_t n;
            gw_outcome outcome;
            gw_state after = 0;
            CHECK_OK(gw_poll_report_receipt(report, GW_REPORT_RECEIPTS, i, &receipt));
            CHECK_OK(gw_receipt_transaction_id(receipt, transaction, sizeof transaction, &n));
            CHECK_OK(gw_receipt_code(receipt, &code));
            CHECK_OK(gw_receipt_status_file(receipt, status_file, sizeof status_file, &n));
            CHECK_OK(gw_receipt_local_path(receipt, local, sizeof local, &n));
            CHECK_OK(gw_receipt_outcome(receipt, &outcome, &after));
            if (strcmp(transaction, name) == 0 && code <= 3) {
                struct stat st;
                codes_seen[code]++;
                CHECK(contains(status_file, name));
                CHECK(stat(local, &st) == 0 && st.st_size > 0);
                CHECK(outcome == GW_OUTCOME_APPLIED);
                if (code == 3) {
                    size_t responses = 0;
                    CHECK_OK(gw_receipt_response_files_len(receipt, &responses));
                    CHECK(responses == 1);
                    if (responses == 1 && response_path) {
                        char response[512];
                        CHECK_OK(gw_receipt_response_file(receipt, 0, response, sizeof response, &n));
                        snprintf(response_path, response_size, "%s", response);
                    }
                }
                if (code == 1) {
                    char skat[256];
                    CHECK_OK(gw_receipt_skat_transaction_id(receipt, skat, sizeof skat, &n));
                    CHECK(n > 0);
                }
            }
            gw_receipt_free(receipt);
        }
        CHECK_OK(gw_poll_report_len(report, GW_REPORT_FILES, &files));
        for (i = 0; i < files; i++) {
            gw_fetched_file *file = NULL;
            char remote[512], local[2048];
            size_t n;
            uint64_t size = 0;
            bool is_new = false;
            CHECK_OK(gw_poll_report_file(report, GW_REPORT_FILES, i, &file));
            CHECK_OK(gw_fetched_file_remote_name(file, remote, sizeof remote, &n));
            CHECK_OK(gw_fetched_file_local_path(file, local, sizeof local, &n));
            CHECK_OK(gw_fetched_file_size(file, &size));
            CHECK_OK(gw_fetched_file_is_new(file, &is_new));
            if (response_path && response_path[0] && strcmp(remote, response_path) == 0) {
                snprintf(response_path, response_size, "%s", local);
            }
            gw_fetched_file_free(file);
        }
        gw_poll_report_free(report);
        CHECK_OK(gw_client_state(client, name, &state));
        if (state == wanted || state == GW_STATE_RESPONDED || state == GW_STATE_FAILED) break;
        usleep(100 * 1000);
    }
    return state;
}

static void submission_flow(void) {
    gw_client *client = client_for("flow");
    gw_service_list *services = NULL;
    size_t count = 0, i, n = 0;
    int found = 0, heartbeat = 0, events = 0;
    char name[GW_NAME_MAX + 1], file[2048], text[4096], response[2048] = "";
    int codes[4] = {0, 0, 0, 0};
    gw_state state = 0;
    gw_submission *record = NULL;

    CHECK(client != NULL);
    if (!client) return;
    CHECK_OK(gw_client_set_event_callback(client, on_event, &events));
    CHECK_OK(gw_client_username(client, text, sizeof text, &n));
    CHECK(strcmp(text, "CVR_12345678_UID_9876543210") == 0);

    CHECK_OK(gw_client_services(client, &services));
    CHECK_OK(gw_service_list_len(services, &count));
    for (i = 0; i < count; i++) {
        gw_system system = 99;
        gw_transfer_type transfer = 99;
        bool known = false;
        CHECK_OK(gw_service_list_name(services, i, text, sizeof text, &n));
        CHECK_OK(gw_service_list_system(services, i, &system));
        CHECK_OK(gw_service_list_transfer_type(services, i, &transfer));
        CHECK_OK(gw_service_list_known(services, i, &known));
        if (strcmp(text, SERVICE) == 0) found = system == GW_SYSTEM_MANIFEST && known && transfer == GW_TRANSFER_BINARY;
        if (strcmp(text, "FTPSGW.Heartbeat") == 0) heartbeat = system == GW_SYSTEM_GATEWAY;
    }
    CHECK(count >= 10 && found && heartbeat);
    CHECK_RESULT(gw_service_list_name(services, count, text, sizeof text, &n), GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "out of range"));
    gw_service_list_free(services);

    /* Submit a file: unique content, so that no earlier run's journal entry matches it. */
    scratch_path(file, sizeof file, "arrival.xml");
    snprintf(text, sizeof text, "<?xml version=\"1.0\"?>\n<arrival><run>%ld-%d</run></arrival>\n", (long)time(NULL),
             (int)getpid());
    CHECK(write_file(file, text));
    CHECK_OK(gw_client_submit_file(client, SERVICE, file, name, sizeof name, &n));
    CHECK(n == strlen(name) && n > 0 && n <= GW_NAME_MAX);
    CHECK(strncmp(name, "arrival-", 8) == 0);
    CHECK(uploading_events > 0);
    CHECK_OK(gw_client_state(client, name, &state));
    CHECK(state == GW_STATE_UPLOADED || state == GW_STATE_DELIVERED || state == GW_STATE_ACCEPTED ||
          state == GW_STATE_RESPONDED);

    /* The same content again is not sent twice: the earlier name comes back. */
    {
        gw_submission *again = NULL;
        bool sent = true;
        CHECK_OK(gw_client_submit(client, SERVICE, file, NULL, NULL, 0, &again, &sent));
        CHECK(!sent);
        CHECK_OK(gw_submission_name(again, text, sizeof text, &n));
        CHECK(strcmp(text, name) == 0);
        gw_submission_free(again);
    }

    state = poll_until(client, name, GW_STATE_RESPONDED, codes, response, sizeof response);
    CHECK(state == GW_STATE_RESPONDED);
    CHECK(strcmp(gw_state_name(state), "Responded") == 0);
    CHECK(codes[0] == 0 && codes[1] == 1 && codes[2] == 1 && codes[3] == 1);
    CHECK(downloaded_events >= 4 && receipt_events >= 3);
    {
        struct stat st;
        CHECK(response[0] == '/' && stat(response, &st) == 0 && st.st_size > 0);
    }

    /* The journal's record. */
    CHECK_OK(gw_client_submission(client, name, &record));
    {
        size_t receipts = 0, responses = 0;
        int64_t uploaded = 0, responded = 0, failed = 1;
        uint64_t size = 0;
        uint32_t attempts = 0;
        gw_gateway gateway = 9;
        CHECK_OK(gw_submission_state(record, &state));
        CHECK(state == GW_STATE_RESPONDED);
        CHECK_OK(gw_submission_service(record, text, sizeof text, &n));
        CHECK(strcmp(text, SERVICE) == 0);
        CHECK_OK(gw_submission_gateway(record, &gateway));
        CHECK(gateway == GW_GATEWAY_NEW);
        CHECK_OK(gw_submission_local_path(record, text, sizeof text, &n));
        CHECK(contains(text, "arrival.xml"));
        CHECK_OK(gw_submission_size(record, &size));
        CHECK(size > 0 && size != GW_SIZE_UNKNOWN);
        CHECK_OK(gw_submission_sha256(record, text, sizeof text, &n));
        CHECK(n == 64);
        CHECK_OK(gw_submission_attempts(record, &attempts));
        CHECK(attempts == 1);
        CHECK_OK(gw_submission_receipts_len(record, &receipts));
        CHECK(receipts == 3);
        CHECK_OK(gw_submission_receipt(record, 0, text, sizeof text, &n));
        CHECK(contains(text, "status_"));
        CHECK_OK(gw_submission_response_files_len(record, &responses));
        CHECK(responses == 1);
        CHECK_OK(gw_submission_response_file(record, 0, text, sizeof text, &n));
        CHECK(contains(text, name));
        CHECK_OK(gw_submission_time(record, GW_TIME_UPLOADED, &uploaded));
        CHECK_OK(gw_submission_time(record, GW_TIME_RESPONDED, &responded));
        CHECK_OK(gw_submission_time(record, GW_TIME_FAILED, &failed));
        CHECK(uploaded > 1000000000000LL && responded >= uploaded && failed == 0);
        CHECK_RESULT(gw_submission_time(record, 77, &failed), GW_ERR_INVALID_ARGUMENT);
        CHECK_OK(gw_submission_skat_transaction_id(record, text, sizeof text, &n));
        CHECK(n > 0);
        CHECK_OK(gw_submission_error_code(record, text, sizeof text, &n));
        CHECK(n == 0);
    }
    gw_submission_free(record);

    /* Bytes from memory. */
    {
        const char *declaration = "<?xml version=\"1.0\"?><departure/>";
        gw_submission *bytes = NULL;
        char bytes_name[GW_NAME_MAX + 1];
        int bytes_codes[4] = {0, 0, 0, 0};
        CHECK_OK(gw_client_submit_bytes(client, "Manifest.AfgangsdeklarationOpret", (const uint8_t *)declaration,
                                        strlen(declaration), "xml", NULL, "departure", 0, &bytes));
        CHECK_OK(gw_submission_name(bytes, bytes_name, sizeof bytes_name, &n));
        CHECK(strncmp(bytes_name, "departure-", 10) == 0);
        gw_submission_free(bytes);
        CHECK(poll_until(client, bytes_name, GW_STATE_RESPONDED, bytes_codes, NULL, 0) == GW_STATE_RESPONDED);
    }

    /* The journal lists them. */
    {
        gw_submission_list *list = NULL;
        size_t len = 0;
        int listed = 0;
        CHECK_OK(gw_client_submissions(client, &list));
        CHECK_OK(gw_submission_list_len(list, &len));
        CHECK(len >= 2);
        for (i = 0; i < len; i++) {
            gw_submission *item = NULL;
            CHECK_OK(gw_submission_list_get(list, i, &item));
            CHECK_OK(gw_submission_name(item, text, sizeof text, &n));
            if (strcmp(text, name) == 0) listed = 1;
            gw_submission_free(item);
        }
        CHECK(listed);
        gw_submission_list_free(list);
        CHECK_OK(gw_client_pending(client, &list));
        CHECK_OK(gw_submission_list_len(list, &len));
        CHECK(len == 0);
        gw_submission_list_free(list);
        CHECK_OK(gw_client_stale_uploads(client, &list));
        gw_submission_list_free(list);
    }

    /* A used name is refused by the journal before anything is sent... */
    {
        gw_submission *reused = (gw_submission *)1;
        CHECK_RESULT(gw_client_submit(client, SERVICE, file, name, NULL, GW_SUBMIT_AGAIN, &reused, NULL),
                     GW_ERR_FILENAME_REUSED);
        CHECK(contains(last_error_text(), name));
        CHECK(reused == (gw_submission *)1);
        CHECK_RESULT(gw_client_submit(client, SERVICE, file, "bad name!", NULL, 0, &reused, NULL), GW_ERR_INVALID_FILENAME);
        CHECK_RESULT(gw_client_submit(client, "No.Such.Service", file, NULL, NULL, GW_SUBMIT_AGAIN, &reused, NULL),
                     GW_ERR_SERVICE_NOT_AVAILABLE);
        CHECK(contains(last_error_text(), "nothing was sent"));
    }
    /* ... and by the gateway when another system (its own journal) uses it: status 0. */
    {
        gw_client *other = client_for("second-system");
        gw_submission *second = NULL;
        gw_state other_state = 0;
        int other_codes[4] = {0, 0, 0, 0};
        CHECK(other != NULL);
        if (other) {
            CHECK_OK(gw_client_submit(other, SERVICE, file, name, NULL, 0, &second, NULL));
            gw_submission_free(second);
            other_state = poll_until(other, name, GW_STATE_FAILED, other_codes, NULL, 0);
            CHECK(other_state == GW_STATE_FAILED);
            CHECK(other_codes[0] == 1);
            CHECK_OK(gw_client_submission(other, name, &second));
            CHECK_OK(gw_submission_error_code(second, text, sizeof text, &n));
            CHECK(strcmp(text, "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION") == 0);
            gw_submission_free(second);
            gw_client_free(other);
        }
    }

    /* Ping, then close the heartbeat (it waits at status 1 for nothing more). */
    {
        gw_receipt *pong = NULL;
        uint64_t round_trip = 0;
        uint32_t code = 9;
        gw_submission *closed = NULL;
        CHECK_OK(gw_client_ping(client, NULL, 30000, &round_trip, &pong));
        CHECK_OK(gw_receipt_code(pong, &code));
        CHECK(code == 1);
        CHECK(round_trip > 0 && round_trip < 30000);
        CHECK_OK(gw_receipt_transaction_id(pong, text, sizeof text, &n));
        CHECK(strncmp(text, "ping-", 5) == 0);
        gw_receipt_free(pong);
        CHECK_OK(gw_client_close_submission(client, text, "test: nothing more is expected", &closed));
        CHECK_OK(gw_submission_state(closed, &state));
        CHECK(state == GW_STATE_CLOSED);
        CHECK_OK(gw_submission_close_reason(closed, text, sizeof text, &n));
        CHECK(strcmp(text, "test: nothing more is expected") == 0);
        gw_submission_free(closed);
        CHECK_RESULT(gw_client_close_submission(client, "never-submitted.xml", NULL, NULL), GW_ERR_UNKNOWN_SUBMISSION);
        CHECK_RESULT(gw_client_state(client, "never-submitted.xml", &state), GW_ERR_UNKNOWN_SUBMISSION);
    }

    /* The migration password from the legacy gateway. */
    {
        char password[256], saved_path[2048], saved[256];
        CHECK_OK(gw_client_fetch_login_info(client, password, sizeof password, &n));
        CHECK(strcmp(password, gateway_password) == 0);
        memset(password, 0, sizeof password);
        scratch_path(saved_path, sizeof saved_path, "new-gateway.password");
        CHECK_OK(gw_client_save_login_info(client, saved_path, false));
        first_line(saved_path, saved, sizeof saved);
        CHECK(strcmp(saved, gateway_password) == 0);
        CHECK_RESULT(gw_client_save_login_info(client, saved_path, false), GW_ERR_IO);
        CHECK_OK(gw_client_save_login_info(client, saved_path, true));
    }
    CHECK(events > 0);
    gw_client_free(client);
}

static void on_progress(void *userdata, uint64_t done, uint64_t total) {
    uint64_t *last = userdata;
    CHECK(total == 0 || done <= total);
    *last = done;
}

static void session_flow(void) {
    gw_config *config = NULL;
    gw_session *session = NULL;
    gw_entry_list *entries = NULL;
    size_t count = 0, i, n;
    char text[2048], local[2048], remote[512], status[2100] = "";
    uint64_t progress = 0, bytes = 0;
    int round;

    CHECK_OK(gw_config_from_file(config_path, NULL, &config));
    CHECK_OK(gw_config_profile(config, text, sizeof text, &n));
    CHECK(strcmp(text, "sim") == 0);
    CHECK_OK(gw_session_connect(config, NULL, GW_GATEWAY_NEW, &session));
    gw_config_free(config);
    if (!session) return;
    CHECK_OK(gw_session_username(session, text, sizeof text, &n));
    CHECK(strcmp(text, "CVR_12345678_UID_9876543210") == 0);
    CHECK_OK(gw_session_list(session, NULL, &entries));
    CHECK_OK(gw_entry_list_len(entries, &count));
    {
        int out_seen = 0;
        for (i = 0; i < count; i++) {
            bool dir = false;
            uint64_t size = 0;
            CHECK_OK(gw_entry_list_name(entries, i, text, sizeof text, &n));
            CHECK_OK(gw_entry_list_is_dir(entries, i, &dir));
            CHECK_OK(gw_entry_list_size(entries, i, &size));
            if (strcmp(text, "out") == 0) out_seen = dir && size == GW_SIZE_UNKNOWN;
        }
        CHECK(out_seen);
    }
    gw_entry_list_free(entries);

    scratch_path(local, sizeof local, "heartbeat.xml");
    CHECK(write_file(local, "<heartbeat/>\n"));
    snprintf(remote, sizeof remote, "FTPSGW.Heartbeat/session-%ld-%d.xml", (long)time(NULL), (int)getpid());
    CHECK_OK(gw_session_put_file(session, local, remote, GW_TRANSFER_BINARY, on_progress, &progress, &bytes));
    CHECK(bytes == strlen("<heartbeat/>\n") && progress == bytes);

    /* Its status 1 appears in out: fetch and delete it. */
    for (round = 0; round < 100 && !status[0]; round++) {
        CHECK_OK(gw_session_list(session, "out", &entries));
        CHECK_OK(gw_entry_list_len(entries, &count));
        for (i = 0; i < count; i++) {
            CHECK_OK(gw_entry_list_name(entries, i, text, sizeof text, &n));
            if (contains(text, strchr(remote, '/') + 1) && strncmp(text, "status_", 7) == 0) snprintf(status, sizeof status, "out/%s", text);
        }
        gw_entry_list_free(entries);
        if (!status[0]) usleep(100 * 1000);
    }
    CHECK(status[0] != '\0');
    if (status[0]) {
        uint64_t size = 0;
        char *content;
        CHECK_OK(gw_session_size(session, status, &size));
        scratch_path(local, sizeof local, "status.xml");
        CHECK_OK(gw_session_get_file(session, status, local, GW_TRANSFER_BINARY, true, on_progress, &progress, &bytes));
        CHECK(bytes == size && bytes > 0);
        content = read_file(local, NULL);
        CHECK(contains(content, "<status"));
        free(content);
        CHECK_OK(gw_session_delete(session, status));
        CHECK_RESULT(gw_session_delete(session, status), GW_ERR_NOT_FOUND);
    }
    CHECK_RESULT(gw_session_get_file(session, "out/no-such-file.xml", local, GW_TRANSFER_BINARY, false, NULL, NULL, NULL),
                 GW_ERR_NOT_FOUND);
    CHECK_RESULT(gw_session_put_bytes(session, (const uint8_t *)"x", 1, "out/not-allowed.xml", GW_TRANSFER_BINARY),
                 GW_ERR_PERMISSION_DENIED);
    CHECK_OK(gw_session_quit(session));
    CHECK_RESULT(gw_session_list(session, NULL, &entries), GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "gw_session_quit"));
    gw_session_free(session);
}

/* A port nothing listens on: bound, then closed again. */
static uint16_t closed_port(void) {
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 1;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof address) == 0 &&
        getsockname(fd, (struct sockaddr *)&address, &length) == 0) {
        port = ntohs(address.sin_port);
    }
    if (fd >= 0) close(fd);
    return port;
}

static void refusals(void) {
    gw_config_builder *builder;
    gw_config *config = NULL;
    gw_client *client = (gw_client *)1;
    uint32_t reply_code = 0;
    char text[1024];
    size_t n;

    /* Wrong password: refused login, the message names the user name, never the password. */
    builder = builder_for("wrong-password");
    CHECK_OK(gw_config_builder_set_password(builder, (const uint8_t *)"not-the-password-123", 20));
    CHECK_OK(gw_config_builder_build(builder, &config));
    CHECK_RESULT(gw_client_connect(config, &client), GW_ERR_AUTHENTICATION);
    CHECK(client == (gw_client *)1);
    CHECK(contains(last_error_text(), "CVR_12345678_UID_9876543210"));
    CHECK(!contains(last_error_text(), "not-the-password-123"));
    CHECK_OK(gw_last_error_server_reply(&reply_code, text, sizeof text, &n));
    CHECK(reply_code == 530);
    gw_config_free(config);

    /* Unreachable: nobody listens on the port. */
    CHECK_OK(gw_config_builder_set_address(builder, GW_GATEWAY_NEW, "127.0.0.1", closed_port()));
    CHECK_OK(gw_config_builder_set_timeouts(builder, 5000, 5000));
    CHECK_OK(gw_config_builder_build(builder, &config));
    CHECK_RESULT(gw_client_connect(config, &client), GW_ERR_CONNECTION_REFUSED);
    CHECK(contains(last_error_text(), "127.0.0.1"));
    CHECK_OK(gw_last_error_server_reply(&reply_code, text, sizeof text, &n));
    CHECK(reply_code == 0 && n == 0);
    gw_config_free(config);

    /* Offline, the journal is still there. */
    CHECK_OK(gw_config_builder_build(builder, &config));
    client = NULL;
    CHECK_OK(gw_client_open(config, &client));
    {
        gw_submission_list *list = NULL;
        size_t len = 99;
        CHECK_OK(gw_client_submissions(client, &list));
        CHECK_OK(gw_submission_list_len(list, &len));
        CHECK(len == 0);
        gw_submission_list_free(list);
    }
    CHECK_RESULT(gw_client_poll(client, NULL), GW_ERR_CONNECTION_REFUSED);
    gw_client_free(client);
    gw_config_free(config);
    gw_config_builder_free(builder);

    /* A config file that is not one. */
    scratch_path(text, sizeof text, "broken.toml");
    CHECK(write_file(text, "[profiles.x]\nport = 5\n"));
    client = NULL;
    CHECK_RESULT(gw_client_from_config(text, NULL, &client), GW_ERR_CONFIG);
    CHECK(contains(last_error_text(), "line 2"));
    CHECK(client == NULL);
}

/* Several files over parallel sessions: every file once, in order; a path given twice is one submission
 * (whichever session came first sent it); a missing file fails alone; the arrays are checked. The log
 * callback is off meanwhile: on_log is not thread-safe, and the sessions' threads log. */
static void parallel_flow(void) {
    gw_config_builder *builder = builder_for("parallel");
    gw_config *config = NULL;
    gw_client *client = NULL;
    char files[7][2048], text[256], first[GW_NAME_MAX + 1], other[GW_NAME_MAX + 1];
    const char *paths[8];
    gw_result results[8], r;
    gw_submission *records[8];
    gw_submitted outcomes[8];
    size_t i, j, n;
    int events = 0;

    CHECK_RESULT(gw_config_builder_set_sessions(builder, 0), GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "1 to 8"));
    CHECK_RESULT(gw_config_builder_set_sessions(builder, 9), GW_ERR_INVALID_ARGUMENT);
    CHECK_OK(gw_config_builder_set_sessions(builder, 3));
    CHECK_OK(gw_config_builder_build(builder, &config));
    gw_config_builder_free(builder);
    CHECK_OK(gw_client_connect(config, &client));
    gw_config_free(config);
    if (!client) return;
    CHECK_OK(gw_client_set_event_callback(client, on_event, &events));
    for (i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "parallel-%zu.xml", i);
        scratch_path(files[i], sizeof files[i], text);
        snprintf(text, sizeof text, "<p n=\"%zu\">%ld-%d</p>\n", i, (long)time(NULL), (int)getpid());
        CHECK(write_file(files[i], text));
        paths[i] = files[i];
    }
    paths[6] = files[2];
    scratch_path(files[6], sizeof files[6], "missing.xml");
    paths[7] = files[6];

    CHECK_OK(gw_set_log_callback(NULL, NULL, GW_LOG_OFF));
    r = gw_client_submit_files(client, SERVICE, paths, 8, "batch", 0, results, records, outcomes);
    CHECK_OK(gw_set_log_callback(on_log, NULL, GW_LOG_TRACE));
    CHECK(r != GW_OK && r == results[7]);
    CHECK(contains(last_error_text(), "missing.xml"));
    CHECK(records[7] == NULL);
    for (i = 0; i < 7; i++) {
        CHECK(results[i] == GW_OK && records[i] != NULL);
        if (!records[i]) continue;
        CHECK_OK(gw_submission_name(records[i], first, sizeof first, &n));
        CHECK(strncmp(first, "batch-", 6) == 0);
        for (j = 0; j < i && j < 6; j++) {
            if (!records[j] || (i == 6 && j == 2)) continue;
            CHECK_OK(gw_submission_name(records[j], other, sizeof other, &n));
            CHECK(strcmp(first, other) != 0);
        }
    }
    /* The path given twice: one sent it, the other found it sent, under the same name. */
    if (records[2] && records[6]) {
        CHECK_OK(gw_submission_name(records[2], first, sizeof first, &n));
        CHECK_OK(gw_submission_name(records[6], other, sizeof other, &n));
        CHECK(strcmp(first, other) == 0);
        CHECK((outcomes[2] == GW_SUBMITTED_SENT) != (outcomes[6] == GW_SUBMITTED_SENT));
        CHECK(outcomes[2] == GW_SUBMITTED_ALREADY_SUBMITTED || outcomes[6] == GW_SUBMITTED_ALREADY_SUBMITTED);
    }
    for (i = 0; i < 6; i++) {
        if (i != 2) CHECK(outcomes[i] == GW_SUBMITTED_SENT);
    }
    CHECK(events > 0);
    for (i = 0; i < 8; i++) gw_submission_free(records[i]);

    /* Nothing to do, and arrays that are missing. */
    CHECK_OK(gw_client_submit_files(client, SERVICE, NULL, 0, NULL, 0, NULL, NULL, NULL));
    CHECK_RESULT(gw_client_submit_files(client, SERVICE, NULL, 1, NULL, 0, results, records, NULL), GW_ERR_NULL_ARGUMENT);
    CHECK(contains(last_error_text(), "paths"));
    CHECK_RESULT(gw_client_submit_files(client, SERVICE, paths, 1, NULL, 0, NULL, records, NULL), GW_ERR_NULL_ARGUMENT);
    CHECK(contains(last_error_text(), "results"));
    gw_client_free(client);
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
    snprintf(path, sizeof path, "%s/gateway.password", sim_dir);
    first_line(path, gateway_password, sizeof gateway_password);
    snprintf(path, sizeof path, "%s/client.p12.password", sim_dir);
    first_line(path, p12_password, sizeof p12_password);
    CHECK(gateway_password[0] != '\0' && p12_password[0] != '\0');

    CHECK(strcmp(gw_version(), GW_VERSION) == 0);
    CHECK_OK(gw_set_log_callback(on_log, NULL, GW_LOG_TRACE));

    /* The fixed contract's entry point: a client straight from the simulator's client.toml. */
    {
        gw_client *client = NULL;
        char name[GW_NAME_MAX + 1], file[2048], text[256];
        size_t n;
        gw_state state = 0;
        scratch_path(file, sizeof file, "contract.xml");
        snprintf(text, sizeof text, "<contract>%ld-%d</contract>\n", (long)time(NULL), (int)getpid());
        CHECK(write_file(file, text));
        CHECK_OK(gw_client_from_config(config_path, "sim", &client));
        CHECK_OK(gw_client_submit_file(client, SERVICE, file, name, sizeof name, &n));
        CHECK_OK(gw_client_poll(client, NULL));
        CHECK_OK(gw_client_state(client, name, &state));
        CHECK(state >= GW_STATE_UPLOADED && state != GW_STATE_FAILED);
        gw_client_free(client);
    }

    submission_flow();
    parallel_flow();
    session_flow();
    refusals();

    CHECK_OK(gw_set_log_callback(NULL, NULL, GW_LOG_OFF));
    CHECK(log_lines > 20);
    CHECK(__atomic_load_n(&log_overlaps, __ATOMIC_SEQ_CST) == 0);
    CHECK(!contains(log_text, gateway_password));
    CHECK(!contains(log_text, p12_password));
    CHECK(!contains(log_text, "not-the-password-123"));
    CHECK(contains(log_text, "uploaded"));
    free(log_text);
    return finish("test_flow");
}
