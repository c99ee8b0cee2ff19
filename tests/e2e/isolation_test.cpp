// SPDX-License-Identifier: Apache-2.0
// Isolation e2e tests: a hostile or buggy client's session ends alone, with the exact error for
// its sender, while another session running at the same time finishes with verified results.
//
// Like multi_process_test.cpp, this process never calls OpenCL: clients are rgpu-e2e-client
// processes reporting by exit code. Each test starts a daemon of its own.
#include <doctest/doctest.h>

#include "client_process.h"
#include "harness.h"

#include <operator_client.h>

#include <string>
#include <thread>

using namespace rgpu::e2e;

namespace {

/// The id of the only session whose client is `pid`.
uint64_t session_of(const DaemonProcess& daemon, pid_t pid) {
    std::string error;
    auto list = rgpu::list_sessions(daemon.endpoint(), std::chrono::seconds(5), &error);
    REQUIRE_MESSAGE(list.has_value(), "list_sessions: " << error);
    for (const auto& s : *list)
        if (s.client.find(" pid " + std::to_string(pid) + " ") != std::string::npos) return s.id;
    FAIL("no session of client pid " << pid);
    return 0;
}

} // namespace

TEST_CASE("a kernel that crashes its worker ends only its own session" *
          doctest::test_suite("isolation")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    const auto env = client_env(daemon, vendors);
    ChildProcess bystander({client_path(), "vector-add", "12"}, env);
    ChildProcess crasher({client_path(), "crash-kernel"}, env);
    check_exit(crasher, "the crashing client", kClientOk);
    check_exit(bystander, "the client beside it", kClientOk);
    CHECK_MESSAGE(daemon.alive(), "rgpu-daemon died: " << daemon.log_tail());
    // Killed by SIGSEGV; under ASan its handler reports and exits 1 instead.
    CHECK_MESSAGE(daemon.log_tail(20000).find("its worker process died (") != std::string::npos,
                  "the daemon did not log the worker's death: " << daemon.log_tail());
    // The daemon goes on serving new sessions.
    ChildProcess after({client_path(), "vector-add", "2"}, env);
    check_exit(after, "a client after the crash", kClientOk);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("rgpu-ctl kill stops a runaway kernel and only its session" *
          doctest::test_suite("isolation")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    const auto env = client_env(daemon, vendors);
    ChildProcess runaway({client_path(), "endless-kernel"}, env, SpawnOptions{"", true, SIGKILL});
    expect_line(runaway, "running");
    ChildProcess bystander({client_path(), "vector-add", "8"}, env);
    const uint64_t id = session_of(daemon, runaway.pid());
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
    ChildProcess ctl({ctl_path(), "--server", daemon.endpoint(), "kill", hex}, env,
                     SpawnOptions{"", true, SIGKILL});
    const auto said = ctl.read_line(std::chrono::seconds(10));
    CHECK(ctl.wait_for(std::chrono::seconds(10)) == 0);
    CHECK(said == "session " + std::string(hex) + " killed");
    check_exit(runaway, "the client whose session was killed", kClientOk);
    check_exit(bystander, "the client beside it", kClientOk);
    // Killing it again: the session is gone.
    std::string error;
    CHECK_FALSE(rgpu::kill_session(daemon.endpoint(), id, std::chrono::seconds(5), &error));
    CHECK(error == "no such session");
    CHECK(daemon.stop() == 0);
}

TEST_CASE("SIGTERM stops a daemon whose session never ends within the grace period" *
          doctest::test_suite("isolation")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess::Options options;
    options.extra_args = {"--grace", "1"};
    options.log_level = "debug";
    DaemonProcess daemon(options);
    const auto env = client_env(daemon, vendors);
    ChildProcess runaway({client_path(), "endless-kernel"}, env, SpawnOptions{"", true, SIGKILL});
    expect_line(runaway, "running");
    const int status = daemon.stop(SIGTERM); // SIGKILL after 5 s: the grace is 1 s
    CHECK_MESSAGE(status == 0, "rgpu-daemon on SIGTERM: " << describe_status(status)
                                                          << "; log: " << daemon.log_tail());
    check_exit(runaway, "the client of the stopped daemon", kClientOk, &daemon);
}

TEST_CASE("the device memory quota is an error at clCreateBuffer" *
          doctest::test_suite("isolation")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess::Options options;
    options.extra_args = {"--max-device-memory", "4194304"};
    DaemonProcess daemon(options);
    ChildProcess client({client_path(), "quota", "4194304"}, client_env(daemon, vendors));
    check_exit(client, "the client at its quota", kClientOk);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("a worker beyond its host memory ends only its own session" *
          doctest::test_suite("isolation")) {
#if defined(__SANITIZE_ADDRESS__)
    // The daemon sets no data segment limit under AddressSanitizer (its shadow memory is
    // terabytes of data segment), so there is nothing to run out of.
    MESSAGE("skipped: no worker memory limit under AddressSanitizer");
#else
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess::Options options;
    options.extra_args = {"--max-worker-memory", "268435456"};
    DaemonProcess daemon(options);
    const auto env = client_env(daemon, vendors);
    ChildProcess bystander({client_path(), "vector-add", "12"}, env);
    ChildProcess hog({client_path(), "host-memory", "536870912"}, env);
    check_exit(hog, "the client beyond the worker's memory", kClientOk);
    check_exit(bystander, "the client beside it", kClientOk);
    CHECK_MESSAGE(daemon.alive(), "rgpu-daemon died: " << daemon.log_tail());
    CHECK_MESSAGE(daemon.log_tail(20000).find("its worker process died (") != std::string::npos,
                  "the daemon did not log the worker's end: " << daemon.log_tail());
    CHECK(daemon.stop() == 0);
#endif
}

TEST_CASE("arguments that crash a native process are refused" * doctest::test_suite("isolation")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon;
    ChildProcess client({client_path(), "bad-args"}, client_env(daemon, vendors));
    check_exit(client, "the client with bad arguments", kClientOk);
    CHECK(daemon.stop() == 0);
}
