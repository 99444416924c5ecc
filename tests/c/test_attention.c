/* What needs attention, through the C API, against the in-process simulator (gw_simulator_*) in this run's
 * own folder: uploads interrupted by a gateway that went away (stale, then resumed or abandoned), what a
 * submit did (sent, resumed, already submitted; bytes too, and empty bytes refused), a second submit of
 * the same content waiting for the live upload, pending and overdue submissions, a status 0 refusing
 * another system's upload (rejected there and acknowledged, "others' reuse" here), a status file recorded
 * before, a file of `out` whose name cannot be an inbox file, and the journal's receipts and response
 * files with where they were put. Usage: test_attention SCRATCH_DIR (an empty folder of this run's own). */
#include "check.h"

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SERVICE "Manifest.AnkomstdeklarationOpret"

static char scratch[1024], sim_dir[1100];
static gw_simulator *sim;

static void path_in_scratch(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", scratch, name);
}

/* A file of unique content (so that no other submission of the journal has it). */
static void unique_file(char *path, size_t size, const char *name) {
    char text[512];
    static int counter;
    path_in_scratch(path, size, name);
    snprintf(text, sizeof text, "<declaration file=\"%s\" n=\"%d\" pid=\"%d\" t=\"%ld\"/>\n", name, ++counter, (int)getpid(),
             (long)time(NULL));
    CHECK(write_file(path, text));
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A client of the running simulator with its own journal and inbox (`state` names both); `deadline_ms` 0
 * keeps the default deadline. */
static gw_client *client_for(const char *state, uint64_t deadline_ms) {
    gw_config_builder *builder = NULL;
    gw_config *config = NULL;
    gw_client *client = NULL;
    char path[2048], toml[2048];
    size_t n;
    CHECK_OK(gw_simulator_client_config(sim, toml, sizeof toml, &n));
    CHECK_OK(gw_config_builder_from_file(toml, NULL, &builder));
    snprintf(path, sizeof path, "%s/%s.sqlite", scratch, state);
    CHECK_OK(gw_config_builder_set_journal(builder, path));
    snprintf(path, sizeof path, "%s/%s-inbox", scratch, state);
    CHECK_OK(gw_config_builder_set_inbox(builder, path));
    CHECK_OK(gw_config_builder_set_upload_attempts(builder, 1));
    CHECK_OK(gw_config_builder_set_timeouts(builder, 5000, 20000));
    if (deadline_ms) CHECK_OK(gw_config_builder_set_deadline_ms(builder, deadline_ms));
    CHECK_OK(gw_config_builder_build(builder, &config));
    gw_config_builder_free(builder);
    CHECK_OK(gw_client_connect(config, &client));
    gw_config_free(config);
    return client;
}

/* Whether list `which` of the report names `name` (gw_poll_report_name works on every list). */
static int report_names(const gw_poll_report *report, gw_report_list which, const char *name) {
    size_t len = 0, i, n;
    char text[1024];
    CHECK_OK(gw_poll_report_len(report, which, &len));
    for (i = 0; i < len; i++) {
        CHECK_OK(gw_poll_report_name(report, which, i, text, sizeof text, &n));
        if (strcmp(text, name) == 0) return 1;
    }
    return 0;
}

static gw_poll_report *poll_report(gw_client *client, gw_poll_flags flags) {
    gw_poll_report *report = NULL;
    CHECK_OK(gw_client_poll_report(client, NULL, flags, &report));
    return report;
}

/* Polls (with `flags`) until `name` is in `wanted` or final; at most 30 s. */
static gw_state settle(gw_client *client, const char *name, gw_state wanted, gw_poll_flags flags) {
    gw_state state = 0;
    int round;
    for (round = 0; round < 300; round++) {
        gw_poll_report_free(poll_report(client, flags));
        CHECK_OK(gw_client_state(client, name, &state));
        if (state == wanted || state == GW_STATE_RESPONDED || state == GW_STATE_FAILED) break;
        usleep(100 * 1000);
    }
    return state;
}

static void name_of(const gw_submission *submission, char *name) {
    size_t n;
    name[0] = '\0';
    CHECK_OK(gw_submission_name(submission, name, GW_NAME_MAX + 1, &n));
}

/* Uploads cut off by a gateway that went away stay recorded: listed as stale, then one is resumed under
 * its name and the other abandoned. Restarts the simulator (same folder, so the same PKI; new ports). */
static void interrupted_uploads(void) {
    gw_client *client = client_for("interrupted", 0);
    gw_service_list *services = NULL;
    gw_submission *submission = (gw_submission *)1, *resumed = NULL, *closed = NULL;
    gw_submission_list *stale = NULL;
    gw_poll_report *report;
    gw_submitted outcome = 0;
    gw_state state = 0;
    char first[2048], second[2048], first_name[GW_NAME_MAX + 1] = "", second_name[GW_NAME_MAX + 1] = "";
    char text[2048];
    size_t len = 0, i, n;
    gw_result result;

    if (!client) return;
    /* The services are known while the gateway is still there; then it goes away. */
    CHECK_OK(gw_client_services(client, &services));
    gw_service_list_free(services);
    CHECK_OK(gw_simulator_stop(sim));
    unique_file(first, sizeof first, "interrupted-1.xml");
    unique_file(second, sizeof second, "interrupted-2.xml");
    result = gw_client_submit_as(client, SERVICE, first, NULL, NULL, 0, &submission, &outcome);
    CHECK(result == GW_ERR_CONNECTION_REFUSED || result == GW_ERR_CONNECTION_LOST || result == GW_ERR_TIMEOUT);
    CHECK(submission == (gw_submission *)1 && outcome == 0);
    result = gw_client_submit_as(client, SERVICE, second, NULL, NULL, 0, &submission, &outcome);
    CHECK(result == GW_ERR_CONNECTION_REFUSED || result == GW_ERR_CONNECTION_LOST || result == GW_ERR_TIMEOUT);

    /* Both names stay recorded, unfinished, and no live upload holds them. */
    CHECK_OK(gw_client_stale_uploads(client, &stale));
    CHECK_OK(gw_submission_list_len(stale, &len));
    CHECK(len == 2);
    for (i = 0; i < len; i++) {
        gw_submission *item = NULL;
        CHECK_OK(gw_submission_list_get(stale, i, &item));
        CHECK_OK(gw_submission_local_path(item, text, sizeof text, &n));
        CHECK_OK(gw_submission_state(item, &state));
        CHECK(state == GW_STATE_RESERVED || state == GW_STATE_UPLOADING);
        if (strcmp(text, first) == 0) name_of(item, first_name);
        if (strcmp(text, second) == 0) name_of(item, second_name);
        gw_submission_free(item);
    }
    gw_submission_list_free(stale);
    CHECK(first_name[0] && second_name[0]);
    gw_client_free(client);

    /* The gateway is back (new ports, the same certificates): a poll lists both as stale. */
    gw_simulator_free(sim);
    sim = NULL;
    CHECK_OK(gw_simulator_start_with_ports(sim_dir, 0, 0, 17000, 17999, &sim));
    if (!sim) return;
    client = client_for("interrupted", 0);
    if (!client) return;
    report = poll_report(client, 0);
    CHECK(report_names(report, GW_REPORT_STALE, first_name));
    CHECK(report_names(report, GW_REPORT_STALE, second_name));
    CHECK(!report_names(report, GW_REPORT_PENDING, first_name));
    {
        gw_submission *item = NULL;
        gw_gateway gateway = 9;
        CHECK_OK(gw_poll_report_submission(report, GW_REPORT_STALE, 0, &item));
        CHECK_OK(gw_submission_state(item, &state));
        CHECK(state == GW_STATE_RESERVED || state == GW_STATE_UPLOADING);
        gw_submission_free(item);
        CHECK_OK(gw_poll_report_gateway(report, GW_REPORT_STALE, 0, &gateway));
        CHECK(gateway == GW_GATEWAY_NEW);
    }
    gw_poll_report_free(report);

    /* Submitting the first file again finishes its upload under its recorded name. */
    CHECK_OK(gw_client_submit_as(client, SERVICE, first, NULL, NULL, 0, &resumed, &outcome));
    CHECK(outcome == GW_SUBMITTED_RESUMED);
    CHECK(strcmp(gw_submitted_name(outcome), "resumed") == 0);
    CHECK_OK(gw_submission_name(resumed, text, sizeof text, &n));
    CHECK(strcmp(text, first_name) == 0);
    gw_submission_free(resumed);
    CHECK(settle(client, first_name, GW_STATE_RESPONDED, 0) == GW_STATE_RESPONDED);

    /* The second was corrected and sent anew: the interrupted one is abandoned, never resumed. */
    CHECK_OK(gw_client_close_submission(client, second_name, "corrected and sent anew", &closed));
    CHECK_OK(gw_submission_state(closed, &state));
    CHECK(state == GW_STATE_CLOSED);
    gw_submission_free(closed);
    CHECK_OK(gw_client_stale_uploads(client, &stale));
    CHECK_OK(gw_submission_list_len(stale, &len));
    CHECK(len == 0);
    gw_submission_list_free(stale);
    CHECK_RESULT(gw_client_close_submission(client, first_name, NULL, NULL), GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "Responded"));
    gw_client_free(client);
}

/* What a submit did, for files and for bytes; empty bytes are refused unless allowed. */
static void submit_outcomes(void) {
    gw_client *client = client_for("outcomes", 0);
    gw_submission *submission = NULL;
    gw_submitted outcome = 0;
    char file[2048], name[GW_NAME_MAX + 1], again[GW_NAME_MAX + 1];
    const char *declaration = "<?xml version=\"1.0\"?><departure from=\"test_attention\"/>";
    bool sent = false;

    if (!client) return;
    unique_file(file, sizeof file, "outcome.xml");
    CHECK_OK(gw_client_submit_as(client, SERVICE, file, NULL, "outcome", 0, &submission, &outcome));
    CHECK(outcome == GW_SUBMITTED_SENT && strcmp(gw_submitted_name(outcome), "sent") == 0);
    name_of(submission, name);
    gw_submission_free(submission);
    CHECK_OK(gw_client_submit_as(client, SERVICE, file, NULL, NULL, 0, &submission, &outcome));
    CHECK(outcome == GW_SUBMITTED_ALREADY_SUBMITTED && strcmp(gw_submitted_name(outcome), "already_submitted") == 0);
    name_of(submission, again);
    CHECK(strcmp(name, again) == 0);
    gw_submission_free(submission);
    CHECK_OK(gw_client_submit(client, SERVICE, file, NULL, NULL, 0, &submission, &sent));
    CHECK(!sent);
    gw_submission_free(submission);
    CHECK_OK(gw_client_submit_as(client, SERVICE, file, NULL, NULL, GW_SUBMIT_AGAIN, &submission, &outcome));
    CHECK(outcome == GW_SUBMITTED_SENT);
    name_of(submission, again);
    CHECK(strcmp(name, again) != 0);
    gw_submission_free(submission);
    CHECK(strcmp(gw_submitted_name(77), "unknown") == 0);

    /* Bytes from memory follow the same rules. */
    CHECK_OK(gw_client_submit_bytes_as(client, SERVICE, (const uint8_t *)declaration, strlen(declaration), "xml", NULL,
                                       "bytes", 0, &submission, &outcome));
    CHECK(outcome == GW_SUBMITTED_SENT);
    name_of(submission, name);
    CHECK(strncmp(name, "bytes-", 6) == 0);
    gw_submission_free(submission);
    CHECK_OK(gw_client_submit_bytes_as(client, SERVICE, (const uint8_t *)declaration, strlen(declaration), "xml", NULL,
                                       "bytes", 0, &submission, &outcome));
    CHECK(outcome == GW_SUBMITTED_ALREADY_SUBMITTED);
    name_of(submission, again);
    CHECK(strcmp(name, again) == 0);
    gw_submission_free(submission);
    CHECK_OK(gw_client_submit_bytes(client, SERVICE, (const uint8_t *)declaration, strlen(declaration), "xml", NULL, "bytes",
                                    0, &submission));
    name_of(submission, again);
    CHECK(strcmp(name, again) == 0);
    gw_submission_free(submission);
    submission = (gw_submission *)1;
    CHECK_RESULT(gw_client_submit_bytes_as(client, SERVICE, NULL, 0, "xml", NULL, "empty", 0, &submission, &outcome),
                 GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "empty"));
    CHECK_RESULT(gw_client_submit_bytes(client, SERVICE, (const uint8_t *)"", 0, "xml", NULL, "empty", 0, &submission),
                 GW_ERR_INVALID_ARGUMENT);
    CHECK(submission == (gw_submission *)1);
    CHECK_OK(gw_client_submit_bytes_as(client, SERVICE, NULL, 0, "xml", NULL, "empty", GW_SUBMIT_ALLOW_EMPTY, &submission,
                                       &outcome));
    CHECK(outcome == GW_SUBMITTED_SENT);
    gw_submission_free(submission);
    gw_client_free(client);
}

/* ---- a second submit of content whose upload is running waits for it */
struct waiting {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int first_uploading, second_waiting, waits_seen;
    gw_client *first;
    const char *file;
    char first_name[GW_NAME_MAX + 1];
    gw_result first_result;
};
static struct waiting waiting = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, NULL, "", 0};

/* Waits (at most 60 s) until *flag is set; the lock is held by the caller. */
static void wait_for(int *flag) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    while (!*flag) {
        if (pthread_cond_timedwait(&waiting.changed, &waiting.lock, &until) != 0) break;
    }
}

/* The first upload holds its upload lock until the second submit has said that it waits. */
static void first_events(void *userdata, gw_event_kind kind, const char *subject, const char *detail, uint64_t done,
                         uint64_t total) {
    (void)userdata, (void)subject, (void)detail, (void)done, (void)total;
    if (kind != GW_EVENT_UPLOADING) return;
    pthread_mutex_lock(&waiting.lock);
    if (!waiting.first_uploading) {
        waiting.first_uploading = 1;
        pthread_cond_broadcast(&waiting.changed);
        wait_for(&waiting.second_waiting);
    }
    pthread_mutex_unlock(&waiting.lock);
}

static void second_events(void *userdata, gw_event_kind kind, const char *subject, const char *detail, uint64_t done,
                          uint64_t total) {
    (void)userdata, (void)detail, (void)done, (void)total;
    if (kind != GW_EVENT_WAITING_FOR_OTHER_UPLOAD) return;
    pthread_mutex_lock(&waiting.lock);
    waiting.waits_seen++;
    CHECK(subject[0] != '\0');
    waiting.second_waiting = 1;
    pthread_cond_broadcast(&waiting.changed);
    pthread_mutex_unlock(&waiting.lock);
}

static void *first_upload(void *arg) {
    gw_submission *submission = NULL;
    gw_submitted outcome = 0;
    (void)arg;
    waiting.first_result = gw_client_submit_as(waiting.first, SERVICE, waiting.file, NULL, NULL, 0, &submission, &outcome);
    if (submission) {
        name_of(submission, waiting.first_name);
        gw_submission_free(submission);
    }
    CHECK(outcome == GW_SUBMITTED_SENT);
    return NULL;
}

static void overlapping_submits(void) {
    gw_client *second;
    gw_submission *submission = NULL;
    gw_submitted outcome = 0;
    pthread_t thread;
    char file[2048], name[GW_NAME_MAX + 1] = "";

    waiting.first = client_for("overlap", 0);
    second = client_for("overlap", 0);
    if (!waiting.first || !second) {
        gw_client_free(waiting.first);
        gw_client_free(second);
        return;
    }
    unique_file(file, sizeof file, "overlap.xml");
    waiting.file = file;
    CHECK_OK(gw_client_set_event_callback(waiting.first, first_events, NULL));
    CHECK_OK(gw_client_set_event_callback(second, second_events, NULL));
    CHECK(pthread_create(&thread, NULL, first_upload, NULL) == 0);
    pthread_mutex_lock(&waiting.lock);
    wait_for(&waiting.first_uploading);
    pthread_mutex_unlock(&waiting.lock);
    CHECK(waiting.first_uploading);
    CHECK_OK(gw_client_submit_as(second, SERVICE, file, NULL, NULL, 0, &submission, &outcome));
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(waiting.first_result == GW_OK);
    CHECK(waiting.waits_seen == 1);
    CHECK(outcome == GW_SUBMITTED_ALREADY_SUBMITTED);
    if (submission) name_of(submission, name);
    CHECK(strcmp(name, waiting.first_name) == 0);
    gw_submission_free(submission);
    gw_client_free(second);
    gw_client_free(waiting.first);
}

/* With the backend down nothing answers: a submission waits (pending); one with a deadline of 1 ms becomes
 * overdue, is listed as newly overdue once and as overdue on every poll, and is then closed. */
static void pending_and_overdue(void) {
    gw_client *patient = client_for("pending", 0), *hasty = client_for("overdue", 1);
    gw_submission *submission = NULL, *closed = NULL;
    gw_poll_report *report;
    char file[2048], waiting_name[GW_NAME_MAX + 1] = "", late_name[GW_NAME_MAX + 1] = "";
    gw_state state = 0;
    gw_gateway gateway = 9;
    size_t len = 99;

    if (!patient || !hasty) {
        gw_client_free(patient);
        gw_client_free(hasty);
        return;
    }
    CHECK_OK(gw_simulator_set_backend_available(sim, false));
    unique_file(file, sizeof file, "pending.xml");
    CHECK_OK(gw_client_submit(patient, SERVICE, file, NULL, NULL, 0, &submission, NULL));
    name_of(submission, waiting_name);
    gw_submission_free(submission);
    unique_file(file, sizeof file, "overdue.xml");
    CHECK_OK(gw_client_submit(hasty, SERVICE, file, NULL, NULL, 0, &submission, NULL));
    name_of(submission, late_name);
    gw_submission_free(submission);
    usleep(20 * 1000);

    report = poll_report(patient, 0);
    CHECK(report_names(report, GW_REPORT_PENDING, waiting_name));
    CHECK_OK(gw_poll_report_len(report, GW_REPORT_NEWLY_OVERDUE, &len));
    CHECK(len == 0);
    CHECK_OK(gw_poll_report_len(report, GW_REPORT_OVERDUE, &len));
    CHECK(len == 0);
    CHECK_RESULT(gw_poll_report_gateway(report, GW_REPORT_PENDING, 0, &gateway), GW_ERR_INVALID_ARGUMENT);
    CHECK(contains(last_error_text(), "names only"));
    gw_poll_report_free(report);
    {
        gw_submission_list *pending = NULL;
        CHECK_OK(gw_client_pending(patient, &pending));
        CHECK_OK(gw_submission_list_len(pending, &len));
        CHECK(len == 1);
        gw_submission_list_free(pending);
    }

    report = poll_report(hasty, 0);
    CHECK(report_names(report, GW_REPORT_NEWLY_OVERDUE, late_name));
    CHECK(report_names(report, GW_REPORT_OVERDUE, late_name));
    CHECK(report_names(report, GW_REPORT_PENDING, late_name)); /* overdue still waits for a status */
    CHECK_OK(gw_poll_report_submission(report, GW_REPORT_OVERDUE, 0, &submission));
    CHECK_OK(gw_submission_state(submission, &state));
    CHECK(state == GW_STATE_OVERDUE);
    gw_submission_free(submission);
    gw_poll_report_free(report);
    /* Every poll lists what needs attention, not only the one that first saw it. */
    report = poll_report(hasty, 0);
    CHECK(!report_names(report, GW_REPORT_NEWLY_OVERDUE, late_name));
    CHECK(report_names(report, GW_REPORT_OVERDUE, late_name));
    gw_poll_report_free(report);
    CHECK_OK(gw_client_close_submission(hasty, late_name, "agency: never arrived", &closed));
    CHECK_OK(gw_submission_state(closed, &state));
    CHECK(state == GW_STATE_CLOSED);
    gw_submission_free(closed);
    report = poll_report(hasty, 0);
    CHECK(!report_names(report, GW_REPORT_OVERDUE, late_name));
    CHECK(!report_names(report, GW_REPORT_PENDING, late_name));
    gw_poll_report_free(report);

    CHECK_OK(gw_simulator_set_backend_available(sim, true));
    CHECK(settle(patient, waiting_name, GW_STATE_RESPONDED, 0) == GW_STATE_RESPONDED);
    gw_client_free(patient);
    gw_client_free(hasty);
}

/* A name chosen by another system (its own journal) that this one used: the gateway's status 0 fails the
 * other's submission (rejected until acknowledged) and is, here, the refusal of another system's upload.
 * Also: receipts kept in `out` are "already recorded" on the next poll, and the journal tells where each
 * status and response file was put. */
static void shared_certificate(void) {
    gw_client *ours = client_for("ours", 0), *theirs = client_for("theirs", 0);
    gw_submission *submission = NULL;
    gw_submission_list *list = NULL;
    gw_poll_report *report;
    char file[2048], name[GW_NAME_MAX + 1] = "", text[2048];
    size_t len = 0, i, n;
    gw_state state = 0;
    int already = 0, others = 0;

    if (!ours || !theirs) {
        gw_client_free(ours);
        gw_client_free(theirs);
        return;
    }
    unique_file(file, sizeof file, "shared.xml");
    CHECK_OK(gw_client_submit(ours, SERVICE, file, NULL, NULL, 0, &submission, NULL));
    name_of(submission, name);
    gw_submission_free(submission);
    /* Kept in out while polling: the next poll finds the same status files, recorded already. */
    CHECK(settle(ours, name, GW_STATE_RESPONDED, GW_POLL_KEEP_REMOTE) == GW_STATE_RESPONDED);
    report = poll_report(ours, GW_POLL_KEEP_REMOTE);
    CHECK_OK(gw_poll_report_len(report, GW_REPORT_RECEIPTS, &len));
    for (i = 0; i < len; i++) {
        gw_receipt *receipt = NULL;
        gw_outcome outcome = 99;
        bool is_ours = false;
        CHECK_OK(gw_poll_report_receipt(report, GW_REPORT_RECEIPTS, i, &receipt));
        CHECK_OK(gw_receipt_outcome(receipt, &outcome, NULL));
        CHECK_OK(gw_receipt_is_ours(receipt, &is_ours));
        CHECK(is_ours);
        if (outcome == GW_OUTCOME_ALREADY_RECORDED) already++;
        gw_receipt_free(receipt);
    }
    CHECK(already == 3);
    gw_poll_report_free(report);
    gw_poll_report_free(poll_report(ours, 0)); /* now deleted in out */

    /* The journal's record: each status file and the response file with where the poll put it. */
    CHECK_OK(gw_client_submission(ours, name, &submission));
    CHECK_OK(gw_submission_receipts_len(submission, &len));
    CHECK(len == 3);
    for (i = 0; i < len; i++) {
        uint32_t code = 9;
        int64_t received = 0;
        CHECK_OK(gw_submission_receipt_code(submission, i, &code));
        CHECK(code >= 1 && code <= 3);
        CHECK_OK(gw_submission_receipt_local_path(submission, i, text, sizeof text, &n));
        CHECK(n > 0 && contains(text, "ours-inbox") && exists(text));
        CHECK_OK(gw_submission_receipt_time(submission, i, &received));
        CHECK(received > 1000000000000LL);
    }
    CHECK_RESULT(gw_submission_receipt_code(submission, len, &state), GW_ERR_INVALID_ARGUMENT);
    CHECK_OK(gw_submission_response_files_len(submission, &len));
    CHECK(len == 1);
    CHECK_OK(gw_submission_response_file_local_path(submission, 0, text, sizeof text, &n));
    CHECK(n > 0 && contains(text, "ours-inbox") && exists(text));
    CHECK_RESULT(gw_submission_response_file_local_path(submission, 1, text, sizeof text, &n), GW_ERR_INVALID_ARGUMENT);
    gw_submission_free(submission);

    /* The other system chooses the same name: the gateway refuses it with status 0. */
    CHECK_OK(gw_client_submit(theirs, SERVICE, file, name, NULL, 0, &submission, NULL));
    gw_submission_free(submission);
    CHECK(settle(theirs, name, GW_STATE_FAILED, 0) == GW_STATE_FAILED);
    report = poll_report(theirs, 0);
    CHECK(report_names(report, GW_REPORT_REJECTED, name));
    CHECK_OK(gw_poll_report_submission(report, GW_REPORT_REJECTED, 0, &submission));
    CHECK_OK(gw_submission_error_code(submission, text, sizeof text, &n));
    CHECK(strcmp(text, "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION") == 0);
    gw_submission_free(submission);
    gw_poll_report_free(report);
    CHECK_OK(gw_client_rejected(theirs, &list));
    CHECK_OK(gw_submission_list_len(list, &len));
    CHECK(len == 1);
    gw_submission_list_free(list);
    /* Acknowledged: it stays Failed, and is no longer listed as needing attention. */
    CHECK_OK(gw_client_close_submission(theirs, name, "seen: the name belongs to the other system", &submission));
    CHECK_OK(gw_submission_state(submission, &state));
    CHECK(state == GW_STATE_FAILED);
    {
        int64_t closed_at = 0;
        CHECK_OK(gw_submission_time(submission, GW_TIME_CLOSED, &closed_at));
        CHECK(closed_at > 0);
    }
    gw_submission_free(submission);
    CHECK_OK(gw_client_rejected(theirs, &list));
    CHECK_OK(gw_submission_list_len(list, &len));
    CHECK(len == 0);
    gw_submission_list_free(list);
    report = poll_report(theirs, 0);
    CHECK(!report_names(report, GW_REPORT_REJECTED, name));
    gw_poll_report_free(report);

    /* Here, that status 0 refuses another system's upload: not ours, left in out for that system. */
    report = poll_report(ours, 0);
    CHECK_OK(gw_poll_report_len(report, GW_REPORT_UNKNOWN_RECEIPTS, &len));
    for (i = 0; i < len; i++) {
        gw_receipt *receipt = NULL;
        gw_outcome outcome = 99;
        gw_state after = 99;
        bool is_ours = true;
        gw_gateway gateway = 9;
        CHECK_OK(gw_poll_report_receipt(report, GW_REPORT_UNKNOWN_RECEIPTS, i, &receipt));
        CHECK_OK(gw_receipt_outcome(receipt, &outcome, &after));
        CHECK_OK(gw_receipt_is_ours(receipt, &is_ours));
        CHECK_OK(gw_receipt_transaction_id(receipt, text, sizeof text, &n));
        if (outcome == GW_OUTCOME_OTHERS_REUSE && strcmp(text, name) == 0) {
            others++;
            CHECK(!is_ours && after == 0);
            CHECK_OK(gw_poll_report_name(report, GW_REPORT_UNKNOWN_RECEIPTS, i, text, sizeof text, &n));
            CHECK(strncmp(text, "status_", 7) == 0 && contains(text, "_0.xml"));
            CHECK_OK(gw_poll_report_gateway(report, GW_REPORT_UNKNOWN_RECEIPTS, i, &gateway));
            CHECK(gateway == GW_GATEWAY_NEW);
        }
        gw_receipt_free(receipt);
    }
    CHECK(others == 1);
    gw_poll_report_free(report);
    CHECK_OK(gw_client_state(ours, name, &state));
    CHECK(state == GW_STATE_RESPONDED);
    gw_client_free(ours);
    gw_client_free(theirs);
}

/* A file in `out` whose name cannot be a file in the inbox (here a hidden one) is skipped and left there; the poll
 * goes on. (A name with a path separator never leaves the listing: it is dropped there with a warning.) */
static void skipped_file(void) {
    gw_client *client = client_for("skipped", 0);
    gw_poll_report *report;
    char odd[2048], username[256], text[1024];
    size_t n, len = 0, i;
    int found = 0;

    if (!client) return;
    CHECK_OK(gw_simulator_username(sim, username, sizeof username, &n));
    snprintf(odd, sizeof odd, "%s/users/%s/out/.hidden.xml", sim_dir, username);
    CHECK(write_file(odd, "<x/>\n"));
    report = poll_report(client, 0);
    CHECK_OK(gw_poll_report_len(report, GW_REPORT_SKIPPED, &len));
    for (i = 0; i < len; i++) {
        gw_gateway gateway = 9;
        CHECK_OK(gw_poll_report_name(report, GW_REPORT_SKIPPED, i, text, sizeof text, &n));
        if (strcmp(text, ".hidden.xml") != 0) continue;
        found++;
        CHECK_OK(gw_poll_report_reason(report, GW_REPORT_SKIPPED, i, text, sizeof text, &n));
        CHECK(contains(text, "dot"));
        CHECK_OK(gw_poll_report_gateway(report, GW_REPORT_SKIPPED, i, &gateway));
        CHECK(gateway == GW_GATEWAY_NEW);
    }
    CHECK(found == 1);
    CHECK(!report_names(report, GW_REPORT_FILES, ".hidden.xml"));
    CHECK_RESULT(gw_poll_report_reason(report, GW_REPORT_FILES, 0, text, sizeof text, &n), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_poll_report_name(report, 99, 0, text, sizeof text, &n), GW_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(gw_poll_report_name(report, GW_REPORT_SKIPPED, len, text, sizeof text, &n), GW_ERR_INVALID_ARGUMENT);
    gw_poll_report_free(report);
    CHECK(exists(odd)); /* left in out */
    CHECK(unlink(odd) == 0);
    gw_client_free(client);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    snprintf(scratch, sizeof scratch, "%s", argv[1]);
    snprintf(sim_dir, sizeof sim_dir, "%s/sim", scratch);
    /* Data ports below Linux's ephemeral range, away from the other tests' simulators. */
    CHECK_OK(gw_simulator_start_with_ports(sim_dir, 0, 0, 17000, 17999, &sim));
    if (!sim) return finish("test_attention");

    interrupted_uploads();
    if (sim) {
        submit_outcomes();
        overlapping_submits();
        pending_and_overdue();
        shared_certificate();
        skipped_file();
    }
    gw_simulator_free(sim);
    return finish("test_attention");
}
