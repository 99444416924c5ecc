/* One gw_client used by two threads at once, a client freed while another thread is inside a call on it,
 * and the in-process simulator (gw_simulator_*): start in a folder, its client.toml, backend down and up,
 * stop. Usage: test_threads SCRATCH_DIR (an empty folder of this run's own). */
#include "check.h"

#include <pthread.h>
#include <unistd.h>

#define SERVICE "Manifest.AnkomstdeklarationOpret"
#define PER_THREAD 3

static char scratch[1024];

struct worker {
    gw_client *client;
    int index;
    char names[PER_THREAD][GW_NAME_MAX + 1];
    int failures;
};

static void *work(void *arg) {
    struct worker *w = arg;
    int i;
    for (i = 0; i < PER_THREAD; i++) {
        char file[2048], text[256];
        size_t n = 0;
        gw_state state = 0;
        snprintf(file, sizeof file, "%s/thread%d-%d.xml", scratch, w->index, i);
        snprintf(text, sizeof text, "<declaration thread=\"%d\" n=\"%d\" pid=\"%d\"/>\n", w->index, i, (int)getpid());
        if (!write_file(file, text)) w->failures++;
        if (gw_client_submit_file(w->client, SERVICE, file, w->names[i], sizeof w->names[i], &n) != GW_OK) {
            fprintf(stderr, "thread %d: submit: %s\n", w->index, last_error_text());
            w->failures++;
        }
        if (gw_client_poll(w->client, NULL) != GW_OK) {
            fprintf(stderr, "thread %d: poll: %s\n", w->index, last_error_text());
            w->failures++;
        }
        if (gw_client_state(w->client, w->names[i], &state) != GW_OK || state < GW_STATE_UPLOADED || state == GW_STATE_FAILED) {
            w->failures++;
        }
    }
    return NULL;
}

static gw_state settle(gw_client *client, const char *name, gw_state wanted) {
    gw_state state = 0;
    int round;
    for (round = 0; round < 300; round++) {
        if (gw_client_poll(client, NULL) != GW_OK) fprintf(stderr, "poll: %s\n", last_error_text());
        if (gw_client_state(client, name, &state) != GW_OK) return 0;
        if (state == wanted || state == GW_STATE_FAILED) break;
        usleep(100 * 1000);
    }
    return state;
}

struct long_call {
    gw_client *client;
    gw_result result;
    gw_poll_report *report;
};

static void *poll_for_a_while(void *arg) {
    struct long_call *call = arg;
    call->result = gw_client_poll_until_settled(call->client, NULL, 0, 1500, 100, &call->report);
    return NULL;
}

int main(int argc, char **argv) {
    char sim_dir[1100], text[2048];
    size_t n = 0;
    gw_simulator *sim = NULL;
    gw_client *client = NULL;
    uint16_t port = 0, legacy_port = 0;
    struct worker workers[2];
    pthread_t threads[2];
    int t, i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    snprintf(scratch, sizeof scratch, "%s", argv[1]);
    snprintf(sim_dir, sizeof sim_dir, "%s/sim", scratch);

    /* Data ports below Linux's ephemeral range, away from the other tests' simulators. */
    CHECK_OK(gw_simulator_start_with_ports(sim_dir, 0, 0, 16000, 16999, &sim));
    if (!sim) return finish("test_threads");
    CHECK_OK(gw_simulator_port(sim, &port));
    CHECK_OK(gw_simulator_legacy_port(sim, &legacy_port));
    CHECK(port > 0 && legacy_port > 0 && port != legacy_port);
    CHECK_OK(gw_simulator_username(sim, text, sizeof text, &n));
    CHECK(strcmp(text, "CVR_12345678_UID_9876543210") == 0);
    CHECK_OK(gw_simulator_dir(sim, text, sizeof text, &n));
    CHECK(contains(text, "/sim"));
    CHECK_OK(gw_simulator_client_config(sim, text, sizeof text, &n));
    CHECK(contains(text, "client.toml"));

    CHECK_OK(gw_client_from_config(text, NULL, &client));
    if (!client) {
        gw_simulator_free(sim);
        return finish("test_threads");
    }

    /* Two threads submit and poll on one client at the same time. */
    for (t = 0; t < 2; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].client = client;
        workers[t].index = t;
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    for (t = 0; t < 2; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(workers[t].failures == 0);
    }
    for (t = 0; t < 2; t++) {
        for (i = 0; i < PER_THREAD; i++) CHECK(settle(client, workers[t].names[i], GW_STATE_RESPONDED) == GW_STATE_RESPONDED);
    }
    {
        gw_submission_list *list = NULL;
        size_t len = 0;
        CHECK_OK(gw_client_submissions(client, &list));
        CHECK_OK(gw_submission_list_len(list, &len));
        CHECK(len == 2 * PER_THREAD);
        gw_submission_list_free(list);
        CHECK(strcmp(workers[0].names[0], workers[1].names[0]) != 0);
    }

    /* The backend down: the upload is taken, but no status comes until it is up again. */
    {
        char file[2048], name[GW_NAME_MAX + 1];
        gw_state state = 0;
        CHECK_OK(gw_simulator_set_backend_available(sim, false));
        snprintf(file, sizeof file, "%s/backend-down.xml", scratch);
        CHECK(write_file(file, "<while-down/>\n"));
        CHECK_OK(gw_client_submit_file(client, SERVICE, file, name, sizeof name, &n));
        usleep(400 * 1000);
        CHECK_OK(gw_client_poll(client, NULL));
        CHECK_OK(gw_client_state(client, name, &state));
        CHECK(state == GW_STATE_UPLOADED);
        CHECK_OK(gw_simulator_set_backend_available(sim, true));
        CHECK(settle(client, name, GW_STATE_RESPONDED) == GW_STATE_RESPONDED);
    }

    /* Freed while another thread is inside a call: that call finishes normally, later ones are refused. */
    {
        struct long_call call;
        pthread_t thread;
        char file[2048], name[GW_NAME_MAX + 1];
        gw_state state;
        snprintf(file, sizeof file, "%s/in-flight.xml", scratch);
        CHECK(write_file(file, "<in-flight/>\n"));
        CHECK_OK(gw_simulator_set_backend_available(sim, false));
        CHECK_OK(gw_client_submit_file(client, SERVICE, file, name, sizeof name, &n));
        memset(&call, 0, sizeof call);
        call.client = client;
        call.result = 999;
        CHECK(pthread_create(&thread, NULL, poll_for_a_while, &call) == 0);
        usleep(300 * 1000);
        gw_client_free(client);
        CHECK(pthread_join(thread, NULL) == 0);
        CHECK(call.result == GW_OK);
        gw_poll_report_free(call.report);
        CHECK_RESULT(gw_client_state(client, name, &state), GW_ERR_INVALID_HANDLE);
        CHECK_OK(gw_simulator_set_backend_available(sim, true));
    }

    /* Stopped: the handle still answers, the gateway does not. */
    CHECK_OK(gw_simulator_stop(sim));
    CHECK_OK(gw_simulator_stop(sim));
    CHECK_OK(gw_simulator_port(sim, &port));
    CHECK_OK(gw_simulator_client_config(sim, text, sizeof text, &n));
    client = NULL;
    CHECK_RESULT(gw_client_from_config(text, NULL, &client), GW_ERR_CONNECTION_REFUSED);
    CHECK(client == NULL);
    gw_simulator_free(sim);
    gw_simulator_free(sim);
    CHECK_RESULT(gw_simulator_port(sim, &port), GW_ERR_INVALID_HANDLE);
    return finish("test_threads");
}
