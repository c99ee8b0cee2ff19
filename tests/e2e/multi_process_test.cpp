// SPDX-License-Identifier: Apache-2.0
// Multi-process e2e tests: the daemon's lifecycle, concurrent and killed clients, no daemon.
//
// This process never calls OpenCL itself: each client is a fresh rgpu-e2e-client process (the ICD
// loader reads its platform list once per process), reporting by exit code. Every wait is bounded
// and every child is reaped, also when a check fails.
#include <doctest/doctest.h>

#include "harness.h"

#include <operator_client.h>

#include <string>
#include <thread>

using namespace rgpu::e2e;

namespace {

std::string client_path() {
#ifdef RGPU_E2E_CLIENT_PATH
    return RGPU_E2E_CLIENT_PATH;
#else
    return {};
#endif
}

// Generous (a kernel build on a cold POCL cache takes seconds), yet two in a row stay within
// the 60 s per-test watchdog of test_main.cpp.
constexpr auto kClientLimit = std::chrono::seconds(25);

// (doctest 2.4.9 streams a const char* as a pointer: messages wrap C strings in std::string.)

// Waits for a client and checks it exited with kClientOk; kills it when it overruns.
void check_client_ok(ChildProcess& client, const std::string& name,
                     std::chrono::milliseconds limit = kClientLimit) {
    const auto status = client.wait_for(limit);
    if (!status) {
        client.terminate(SIGKILL);
        FAIL_CHECK(name << " did not finish within " << limit.count() << " ms (killed)");
        return;
    }
    CHECK_MESSAGE(*status == kClientOk, name << " exited with " << *status << ": "
                                             << std::string(client_exit_name(*status)));
}

// "running", or how the daemon ended and its last log lines.
std::string daemon_state(DaemonProcess& daemon) {
    if (daemon.alive()) return "running";
    return "ended with " + describe_status(daemon.stop()) + "; log: " + daemon.log_tail();
}

// The environment of a client of the shared daemon (RGPU_SERVERS and OCL_ICD_VENDORS set).
/// This process's environment (OCL_ICD_VENDORS and RGPU_SERVERS set by TestEnvironment); with
/// `endpoint`, RGPU_SERVERS names that daemon instead.
std::vector<std::string> client_environment(const std::string& endpoint = {}) {
    auto& env = TestEnvironment::get();
    REQUIRE_MESSAGE(env.rgpu_unavailable().empty(),
                    "rgpu cannot run here: " << env.rgpu_unavailable());
    if (endpoint.empty()) return environment_without({});
    return environment_without({"RGPU_SERVERS"}, {"RGPU_SERVERS=" + endpoint});
}

} // namespace

TEST_CASE("daemon ready file and SIGTERM" * doctest::test_suite("e2e-process")) {
    DaemonProcess daemon;
    CHECK_MESSAGE(daemon.endpoint().rfind("tcp://127.0.0.1:", 0) == 0,
                  "endpoint '" << daemon.endpoint() << "'");
    CHECK(daemon.alive());
    const int status = daemon.stop(SIGTERM);
    CHECK_MESSAGE(status == 0, "rgpu-daemon on SIGTERM: " << describe_status(status)
                                                          << "; log: " << daemon.log_tail());
}

TEST_CASE("daemon SIGINT" * doctest::test_suite("e2e-process")) {
    DaemonProcess daemon;
    const int status = daemon.stop(SIGINT);
    CHECK_MESSAGE(status == 0, "rgpu-daemon on SIGINT: " << describe_status(status)
                                                         << "; log: " << daemon.log_tail());
}

TEST_CASE("two clients at once" * doctest::test_suite("e2e-process")) {
    const auto env = client_environment();
    ChildProcess first({client_path(), "vector-add", "10"}, env);
    ChildProcess second({client_path(), "vector-add", "10"}, env);
    check_client_ok(first, "first client");
    check_client_ok(second, "second client");
    DaemonProcess& daemon = *TestEnvironment::get().daemon();
    CHECK_MESSAGE(daemon.alive(), "rgpu-daemon " << daemon_state(daemon));
}

TEST_CASE("client killed mid-stream" * doctest::test_suite("e2e-process")) {
    // A daemon of its own, with a short session timeout, so the freed session can be seen.
    DaemonProcess::Options options;
    options.session_timeout_s = 1;
    DaemonProcess daemon(options);
    const auto env = client_environment(daemon.endpoint());
    const auto sessions = [&] {
        std::string error;
        auto status = rgpu::query_status(daemon.endpoint(), std::chrono::seconds(5), &error);
        REQUIRE_MESSAGE(status.has_value(), "rgpu-daemon status: " << error);
        return status->sessions;
    };
    {
        ChildProcess flood({client_path(), "flood"}, env, SpawnOptions{"", true, SIGKILL});
        const auto line = flood.read_line(kClientLimit);
        if (!line || *line != "streaming") {
            const auto status = flood.wait_for(std::chrono::seconds(1));
            FAIL("the flooding client never reported streaming ("
                 << (status ? std::string("exited: ") + client_exit_name(*status)
                            : std::string("still running"))
                 << ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // well into the stream
        CHECK(sessions() == 1);
        CHECK(flood.terminate(SIGKILL) == 128 + SIGKILL);
    }
    CHECK_MESSAGE(daemon.alive(),
                  "after its client was killed, rgpu-daemon " << daemon_state(daemon));
    // The killed client never said goodbye: its session goes once it has been silent too long.
    uint32_t left = 1;
    for (int i = 0; i < 100 && left != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        left = sessions();
    }
    CHECK_MESSAGE(left == 0, "the killed client's session was not freed");
    ChildProcess after({client_path(), "vector-add", "3"}, env);
    check_client_ok(after, "the client after the kill");
    CHECK_MESSAGE(daemon.alive(), "rgpu-daemon " << daemon_state(daemon));
    CHECK(daemon.stop() == 0);
}

TEST_CASE("no daemon answering" * doctest::test_suite("e2e-process")) {
    // Its own vendors directory and no shared daemon: nothing listens on the port.
    VendorsDir vendors;
    REQUIRE_MESSAGE(vendors.has_rgpu(),
                    "librgpu-icd.so is not built (no rgpu-icd target in this tree)");
    const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(unused_loopback_port());
    const auto env =
        environment_without({"OCL_ICD_VENDORS", "RGPU_SERVERS", "RGPU_CONNECT_TIMEOUT_MS"},
                            {"OCL_ICD_VENDORS=" + vendors.path(), "RGPU_SERVERS=" + endpoint,
                             "RGPU_CONNECT_TIMEOUT_MS=300"});
    ChildProcess client({client_path(), "no-daemon"}, env);
    // A hang guard, not a timing test: 300 ms connect timeout, 5 s allowed.
    check_client_ok(client, "the no-daemon client", std::chrono::seconds(5));
}

TEST_CASE("client exits after its daemon is gone" * doctest::test_suite("e2e-process")) {
    // A daemon of its own, stopped while the client holds a session and objects.
    VendorsDir vendors;
    REQUIRE_MESSAGE(vendors.has_rgpu(),
                    "librgpu-icd.so is not built (no rgpu-icd target in this tree)");
    DaemonProcess daemon;
    const auto env = environment_without(
        {"OCL_ICD_VENDORS", "RGPU_SERVERS", "RGPU_CONNECT_TIMEOUT_MS"},
        {"OCL_ICD_VENDORS=" + vendors.path(), "RGPU_SERVERS=" + daemon.endpoint()});
    ChildProcess client({client_path(), "outlive-daemon"}, env, SpawnOptions{"", true, SIGKILL});
    const auto line = client.read_line(kClientLimit);
    if (!line || *line != "ready") {
        const auto status = client.wait_for(std::chrono::seconds(1));
        FAIL("the client never reported ready ("
             << (status ? std::string("exited: ") + client_exit_name(*status)
                        : std::string("still running"))
             << ")");
    }
    const int daemon_status = daemon.stop(SIGTERM);
    CHECK_MESSAGE(daemon_status == 0, "rgpu-daemon with a session open, on SIGTERM: "
                                          << describe_status(daemon_status)
                                          << "; log: " << daemon.log_tail());
    kill(client.pid(), SIGUSR1);
    // Releasing objects and exiting must not wait for a daemon that is gone.
    check_client_ok(client, "the client whose daemon is gone", std::chrono::seconds(10));
}

TEST_CASE("daemon never serves rgpu through itself" * doctest::test_suite("e2e-process")) {
    // rgpu's own ICD is visible to the daemon (as when it is installed system-wide): the daemon
    // must serve POCL's device only, not loop through rgpu.
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess::Options options;
    options.extra_env = {"OCL_ICD_VENDORS=" + vendors.path()};
    DaemonProcess daemon(options);
    std::string error;
    auto status = rgpu::query_status(daemon.endpoint(), std::chrono::seconds(5), &error);
    REQUIRE_MESSAGE(status.has_value(), error);
    CHECK(status->devices == 1);
    CHECK(daemon.stop() == 0);
}
