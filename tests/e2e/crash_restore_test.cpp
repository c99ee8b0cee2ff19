// SPDX-License-Identifier: Apache-2.0
// --checkpoint-interval: a daemon killed outright (SIGKILL: its workers die with it, nothing is
// saved on the way out) restores at its next start the sessions it saved while they ran. A
// session saved after all its work comes back whole; one that ran more after its last save
// cannot, and its client is told so promptly instead of going on from an older state.
#include "client_process.h"
#include "harness.h"

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

using namespace rgpu::e2e;
namespace fs = std::filesystem;

namespace {

/// The one session's saved state under `checkpoints` (empty path while there is none).
fs::path saved_state(const std::string& checkpoints) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(checkpoints, ec))
        if (entry.is_directory() && fs::exists(entry.path() / "state.rgck"))
            return entry.path() / "state.rgck";
    return {};
}

/// Waits (20 s at most) until the session's saved state exists and has not changed for
/// `quiet`: the session is idle and its last save has everything.
void wait_until_saved(const std::string& checkpoints, std::chrono::milliseconds quiet,
                      const DaemonProcess& daemon) {
    fs::file_time_type last{};
    auto stable_since = std::chrono::steady_clock::now();
    const auto until = stable_since + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
        std::error_code ec;
        const fs::path state = saved_state(checkpoints);
        const auto written = state.empty() ? fs::file_time_type{} : fs::last_write_time(state, ec);
        if (written != last) {
            last = written;
            stable_since = std::chrono::steady_clock::now();
        } else if (!state.empty() && std::chrono::steady_clock::now() - stable_since > quiet) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no stable save of the session in " << checkpoints << "; " << daemon.log_tail(4000));
}

/// The processes whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        std::getline(in, stat);
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        const auto end = stat.rfind(')');
        if (end == std::string::npos) continue;
        std::istringstream rest(stat.substr(end + 1));
        std::string state;
        pid_t ppid = 0;
        if (rest >> state >> ppid && ppid == parent) out.push_back(std::stoi(name));
    }
    return out;
}

/// Kills the daemon as a crash would: its workers at the same moment as the supervisor, none
/// getting to save anything on the way out. (SIGKILL to the supervisor alone is not that: its
/// workers see the supervisor's end a moment before its death signal reaches them, and a
/// small session may get saved in that moment.)
void kill_outright(DaemonProcess& daemon) {
    const pid_t supervisor = daemon.pid();
    kill(supervisor, SIGSTOP); // it must not notice its workers dying and end their sessions
    for (pid_t worker : children_of(supervisor))
        kill(worker, SIGKILL);
    daemon.stop(SIGKILL);
}

DaemonProcess::Options saving_every(const std::string& checkpoints, const char* seconds) {
    DaemonProcess::Options options;
    options.extra_args = {"--checkpoint-dir", checkpoints, "--checkpoint-interval", seconds};
    options.log_level = "info";
    return options;
}

} // namespace

TEST_CASE("a session saved periodically survives its daemon killed outright" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string checkpoints = make_temp_dir("rgpu-e2e-checkpoints-");
    auto options = saving_every(checkpoints, "0.3");
    auto first = std::make_unique<DaemonProcess>(options);
    const std::string endpoint = first->endpoint();
    ChildProcess client({client_path(), "survive-crash"},
                        client_env(*first, vendors, {"RGPU_RECONNECT_TIMEOUT_MS=60000"}),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    wait_until_saved(checkpoints, std::chrono::milliseconds(1500), *first);
    kill_outright(*first);
    first.reset();
    options.listen = endpoint;
    DaemonProcess second(options);
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client of the daemon killed and started again", kClientOk, &second);
    const std::string log = second.log_tail(8000);
    CHECK_MESSAGE(log.find("restored in") != std::string::npos, log);
    CHECK_MESSAGE(log.find("client reattached") != std::string::npos, log);
    CHECK(second.stop() == 0);
    // The session ended with its client's Goodbye: nothing of it is left to restore.
    CHECK(saved_state(checkpoints).empty());
    remove_temp_dir(checkpoints);
}

TEST_CASE("a session that ran more after its last save is lost to its client at once" *
          doctest::test_suite("reconnect")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const std::string checkpoints = make_temp_dir("rgpu-e2e-checkpoints-");
    // The first save comes when the session is first idle; the next not for a minute.
    auto options = saving_every(checkpoints, "60");
    auto first = std::make_unique<DaemonProcess>(options);
    const std::string endpoint = first->endpoint();
    ChildProcess client({client_path(), "lost-after-save"},
                        client_env(*first, vendors, {"RGPU_RECONNECT_TIMEOUT_MS=60000"}),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    wait_until_saved(checkpoints, std::chrono::milliseconds(500), *first);
    kill(client.pid(), SIGUSR1);
    expect_line(client, "ran more");
    kill_outright(*first);
    first.reset();
    options.listen = endpoint;
    DaemonProcess second(options);
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client whose session went back in time", kClientOk, &second);
    const std::string log = second.log_tail(8000);
    CHECK_MESSAGE(log.find("restored from a save older than its client") != std::string::npos, log);
    CHECK(second.stop() == 0);
    CHECK(saved_state(checkpoints).empty());
    remove_temp_dir(checkpoints);
}
