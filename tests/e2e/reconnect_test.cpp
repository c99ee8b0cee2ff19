// SPDX-License-Identifier: Apache-2.0
// Release and reconnect e2e tests: a session outlives its connection. Clients are
// rgpu-e2e-client processes (this process never calls OpenCL); their connection is cut under
// them, released by the operator, or their worker paused, while commands are queued, in flight
// and being answered; every command must run exactly once and every result arrive. A daemon
// that lost the session (restarted) must make the client fail promptly, never hang.
#include "client_process.h"
#include "harness.h"

#include <operator_client.h>

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

using namespace rgpu::e2e;

TEST_CASE("a session survives cut connections and runs every command once" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    ChildProcess client({client_path(), "outage", "cut", "3"}, client_env(daemon, vendors));
    check_exit(client, "the client whose connections were cut", kClientOk, &daemon);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("a session released by the operator comes back by itself" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    ChildProcess client({client_path(), "outage", "release", "2"}, client_env(daemon, vendors));
    check_exit(client, "the released client", kClientOk, &daemon);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("a client waits through a paused worker and goes on" * doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    // Silence is noticed after 600 ms; the worker is stopped for three times that.
    ChildProcess client({client_path(), "outage", "pause", "1"},
                        client_env(daemon, vendors, {"RGPU_PEER_TIMEOUT_MS=600"}));
    check_exit(client, "the client of the paused worker", kClientOk, &daemon);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("clDetachRGPU keeps the session and clAttachRGPU resumes it" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    ChildProcess client({client_path(), "detach-attach"}, client_env(daemon, vendors));
    check_exit(client, "the detaching client", kClientOk, &daemon);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("a daemon restarted on the same endpoint fails its old clients promptly" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    auto first = std::make_unique<DaemonProcess>();
    const std::string endpoint = first->endpoint();
    // The reconnect timeout is far beyond the test's limit: only the new daemon's "unknown
    // session" can end the wait in time.
    ChildProcess client({client_path(), "restarted-daemon"},
                        client_env(*first, vendors, {"RGPU_RECONNECT_TIMEOUT_MS=600000"}),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    CHECK(first->stop(SIGKILL) != 0);
    first.reset();
    DaemonProcess::Options options;
    options.listen = endpoint;
    DaemonProcess second(options);
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client of the restarted daemon", kClientOk, &second);
    CHECK(second.stop() == 0);
}

TEST_CASE("the operator sees a session without its client as released" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    std::string error;
    // No such session: a clear refusal.
    CHECK_FALSE(rgpu::release_session(daemon.endpoint(), 0x1234, std::chrono::seconds(5), &error));
    CHECK(error.find("no such session") != std::string::npos);
    // A client stopped (SIGSTOP) stays away: its session is kept, listed as released, and
    // goes on once the client does.
    ChildProcess client({client_path(), "outlive-daemon"}, client_env(daemon, vendors),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    auto state = [&] {
        auto list = rgpu::list_sessions(daemon.endpoint(), std::chrono::seconds(5), &error);
        REQUIRE_MESSAGE(list.has_value(), error);
        REQUIRE_MESSAGE(list->size() == 1, daemon.log_tail(20000));
        return list->front().state;
    };
    CHECK(state() == "attached");
    kill(client.pid(), SIGSTOP);
    std::string seen;
    for (int i = 0; i < 100 && seen != "released"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        seen = state();
    }
    CHECK(seen == "released");
    kill(client.pid(), SIGCONT);
    for (int i = 0; i < 100 && seen != "attached"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        seen = state();
    }
    CHECK(seen == "attached");
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client that was away", kClientOk, &daemon);
    CHECK(daemon.stop() == 0);
}

namespace {
/// survive-restart against a daemon (with `extra_args` and `extra_env`) stopped with SIGTERM
/// and started again on the same endpoint and checkpoint directory.
void check_saved_and_restored(const std::vector<std::string>& extra_args,
                              const std::vector<std::string>& extra_env) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string checkpoints = make_temp_dir("rgpu-e2e-checkpoints-");
    DaemonProcess::Options options;
    // Saving drains the queues and asks the runtime for every program's binaries (POCL may
    // compile them then): slow under the sanitizers, so the daemon gets a long grace and the
    // test waits longer still.
    options.extra_args = {"--checkpoint-dir", checkpoints, "--grace", "30"};
    options.extra_args.insert(options.extra_args.end(), extra_args.begin(), extra_args.end());
    options.extra_env = extra_env;
    options.log_level = "info";
    auto first = std::make_unique<DaemonProcess>(options);
    const std::string endpoint = first->endpoint();
    ChildProcess client({client_path(), "survive-restart"},
                        client_env(*first, vendors, {"RGPU_RECONNECT_TIMEOUT_MS=60000"}),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    // SIGTERM drains the session's queues and saves it; the client starts reconnecting.
    CHECK(first->stop(SIGTERM, std::chrono::seconds(40)) == 0);
    const std::string first_log = first->log_tail(4000);
    CHECK_MESSAGE(first_log.find("saved to") != std::string::npos, first_log);
    first.reset();
    options.listen = endpoint;
    DaemonProcess second(options);
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client of the restarted daemon", kClientOk, &second);
    const std::string log = second.log_tail(8000);
    CHECK_MESSAGE(log.find("restored in") != std::string::npos, log);
    CHECK_MESSAGE(log.find("client reattached") != std::string::npos, log);
    CHECK(second.stop() == 0);
    remove_temp_dir(checkpoints);
}
} // namespace

TEST_CASE("a session saved at SIGTERM is restored by the daemon started again" *
          doctest::test_suite("reconnect")) {
    check_saved_and_restored({}, {});
}

TEST_CASE("a session on a pooled device is saved and restored, its work spread over members" *
          doctest::test_suite("reconnect")) {
    check_saved_and_restored({"--pool", "--policy", "round-robin"},
                             {"POCL_DEVICES=pthread pthread"});
}

TEST_CASE("a corrupt checkpoint is refused with a log line" * doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string checkpoints = make_temp_dir("rgpu-e2e-checkpoints-");
    const std::string garbage = checkpoints + "/00000000000000aa";
    REQUIRE(mkdir(garbage.c_str(), 0700) == 0);
    {
        std::ofstream out(garbage + "/state.rgck", std::ios::binary);
        out << "this is not a checkpoint";
    }
    DaemonProcess::Options options;
    options.extra_args = {"--checkpoint-dir", checkpoints};
    DaemonProcess daemon(options);
    // The daemon serves as usual.
    ChildProcess client({client_path(), "vector-add", "2"}, client_env(daemon, vendors));
    check_exit(client, "a client of the daemon with a bad checkpoint", kClientOk, &daemon);
    const std::string log = daemon.log_tail(8000);
    CHECK_MESSAGE(log.find("refusing checkpoint " + garbage +
                           ": not an rgpu checkpoint (or corrupt)") != std::string::npos,
                  log);
    struct stat st {};
    CHECK(stat((garbage + ".refused").c_str(), &st) == 0);
    CHECK(daemon.stop() == 0);
    remove_temp_dir(checkpoints);
}

namespace {
/// The id of the only session on `daemon`.
uint64_t only_session(const DaemonProcess& daemon) {
    std::string error;
    auto list = rgpu::list_sessions(daemon.endpoint(), std::chrono::seconds(5), &error);
    REQUIRE_MESSAGE(list.has_value(), error);
    REQUIRE(list->size() == 1);
    return list->front().id;
}
/// Waits (10 s at most) until `daemon` lists session `id` as attached (restored, client back).
void wait_until_attached(const DaemonProcess& daemon, uint64_t id) {
    std::string error;
    for (int i = 0; i < 200; ++i) {
        auto list = rgpu::list_sessions(daemon.endpoint(), std::chrono::seconds(5), &error);
        if (list && list->size() == 1 && list->front().id == id &&
            list->front().state == "attached")
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL_CHECK("session " << id << " is not attached at " << daemon.endpoint());
}
} // namespace

TEST_CASE("a session moved to another daemon goes on there" * doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string dir_a = make_temp_dir("rgpu-e2e-checkpoints-");
    const std::string dir_b = make_temp_dir("rgpu-e2e-checkpoints-");
    DaemonProcess::Options options;
    options.log_level = "info";
    options.extra_args = {"--checkpoint-dir", dir_a};
    DaemonProcess a(options);
    options.extra_args = {"--checkpoint-dir", dir_b};
    DaemonProcess b(options);
    ChildProcess client({client_path(), "survive-restart"}, client_env(a, vendors),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    const uint64_t id = only_session(a);
    std::string error;
    REQUIRE_MESSAGE(
        rgpu::move_session(a.endpoint(), id, b.endpoint(), std::chrono::seconds(60), &error),
        error << "; A: " << a.log_tail(4000) << "; B: " << b.log_tail(4000));
    // The session is B's now; the client follows it there and finds every result.
    CHECK(only_session(b) == id);
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client of the moved session", kClientOk, &b);
    const std::string log = b.log_tail(8000);
    CHECK_MESSAGE(log.find("client reattached") != std::string::npos, log);
    std::string ignored;
    auto left = rgpu::list_sessions(a.endpoint(), std::chrono::seconds(5), &ignored);
    REQUIRE(left.has_value());
    CHECK(left->empty());
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    remove_temp_dir(dir_a);
    remove_temp_dir(dir_b);
}

TEST_CASE("a move the target refuses leaves the session where it was" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string dir_a = make_temp_dir("rgpu-e2e-checkpoints-");
    DaemonProcess::Options options;
    options.extra_args = {"--checkpoint-dir", dir_a};
    DaemonProcess a(options);
    DaemonProcess b; // no --checkpoint-dir: nowhere to put a session
    DaemonProcess c; // nor here, as the source
    // Devices of another kind (POCL's "basic" device instead of "pthread").
    const std::string dir_d = make_temp_dir("rgpu-e2e-checkpoints-");
    DaemonProcess::Options other;
    other.extra_args = {"--checkpoint-dir", dir_d};
    other.extra_env = {"POCL_DEVICES=basic"};
    DaemonProcess d(other);
    std::string error;
    CHECK_FALSE(
        rgpu::move_session(a.endpoint(), 0x1234, b.endpoint(), std::chrono::seconds(5), &error));
    CHECK(error.find("no such session") != std::string::npos);
    ChildProcess client({client_path(), "survive-restart"}, client_env(a, vendors),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    const uint64_t id = only_session(a);
    CHECK_FALSE(
        rgpu::move_session(c.endpoint(), id, b.endpoint(), std::chrono::seconds(5), &error));
    CHECK_MESSAGE(error.find("no such session") != std::string::npos, error);
    CHECK_FALSE(
        rgpu::move_session(a.endpoint(), id, b.endpoint(), std::chrono::seconds(60), &error));
    CHECK_MESSAGE(error.find("this daemon has no --checkpoint-dir") != std::string::npos, error);
    // Restored at A again; then a target whose device is of another kind refuses it too.
    wait_until_attached(a, id);
    CHECK_FALSE(
        rgpu::move_session(a.endpoint(), id, d.endpoint(), std::chrono::seconds(60), &error));
    CHECK_MESSAGE(error.find("device 0 is 'basic-") != std::string::npos, error);
    wait_until_attached(a, id);
    // Restored where it was: the client goes on there.
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client whose session stayed", kClientOk, &a);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(c.stop() == 0);
    CHECK(d.stop() == 0);
    remove_temp_dir(dir_a);
    remove_temp_dir(dir_d);
}

TEST_CASE("a session using SVM memory is refused a move and reconnects with its memory" *
          doctest::test_suite("reconnect") * doctest::skip(kAddressSanitizer)) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string dir_a = make_temp_dir("rgpu-e2e-checkpoints-");
    DaemonProcess::Options options;
    options.extra_args = {"--checkpoint-dir", dir_a};
    DaemonProcess a(options);
    DaemonProcess b;
    ChildProcess client({client_path(), "svm-session"}, client_env(a, vendors),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    const uint64_t id = only_session(a);
    // Refused before anything stops: the session goes on where it is.
    std::string error;
    CHECK_FALSE(
        rgpu::move_session(a.endpoint(), id, b.endpoint(), std::chrono::seconds(60), &error));
    CHECK_MESSAGE(error.find("the session cannot be moved: the session uses SVM memory") !=
                      std::string::npos,
                  error);
    CHECK(only_session(a) == id);
    // Released by the operator, it comes back by itself, its memory and addresses as they were.
    CHECK_MESSAGE(rgpu::release_session(a.endpoint(), id, std::chrono::seconds(5), &error), error);
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the SVM client", kClientOk, &a);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    remove_temp_dir(dir_a);
}
