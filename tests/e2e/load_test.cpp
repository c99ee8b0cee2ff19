// SPDX-License-Identifier: Apache-2.0
// Load test: many client processes with mixed workloads on one daemon at once. Every client
// must finish with verified results, and once they have all left, the daemon (supervisor and
// workers) must be back to its idle footprint: no session, no extra worker process, and the
// supervisor's memory, threads and descriptors where they were before.
//
// RGPU_LOAD_CLIENTS sets the number of clients (default 12, what CI runs; the documented run
// uses 64). The peak and final figures are printed (doctest MESSAGE) for the record.
#include <doctest/doctest.h>

#include "harness.h"

#include <operator_client.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace rgpu::e2e;

namespace {

std::string client_path() {
#ifdef RGPU_E2E_CLIENT_PATH
    return RGPU_E2E_CLIENT_PATH;
#else
    return {};
#endif
}

/// Resident memory (bytes) and thread count of one process.
struct ProcessUse {
    uint64_t rss = 0;
    uint64_t threads = 0;
    uint64_t fds = 0;
};

ProcessUse use_of(pid_t pid) {
    ProcessUse use;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) use.rss = std::stoull(line.substr(6)) * 1024;
        if (line.rfind("Threads:", 0) == 0) use.threads = std::stoull(line.substr(8));
    }
    if (DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
        while (dirent* entry = readdir(dir))
            use.fds += entry->d_name[0] != '.';
        closedir(dir);
    }
    return use;
}

/// The direct children of `parent` (the supervisor's workers).
std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    DIR* proc = opendir("/proc");
    if (!proc) return out;
    while (dirent* entry = readdir(proc)) {
        pid_t pid = std::atoi(entry->d_name);
        if (pid <= 0) continue;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text;
        std::getline(stat, text);
        auto close = text.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        int ppid = 0;
        if (std::sscanf(text.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent &&
            state != 'Z')
            out.push_back(pid);
    }
    closedir(proc);
    return out;
}

/// Supervisor and workers together.
struct DaemonUse {
    ProcessUse supervisor;
    uint64_t workers = 0;
    uint64_t total_rss = 0;
    uint64_t total_threads = 0;
};

DaemonUse daemon_use(pid_t supervisor) {
    DaemonUse use;
    use.supervisor = use_of(supervisor);
    use.total_rss = use.supervisor.rss;
    use.total_threads = use.supervisor.threads;
    for (pid_t worker : children_of(supervisor)) {
        ProcessUse w = use_of(worker);
        ++use.workers;
        use.total_rss += w.rss;
        use.total_threads += w.threads;
    }
    return use;
}

uint64_t mib(uint64_t bytes) {
    return bytes >> 20;
}

} // namespace

TEST_CASE("load: many clients with mixed workloads leave the daemon as idle as before" *
          doctest::test_suite("load")) {
    // Longer than the usual per-test limit: many clients share two cores here.
    watchdog_arm("load test", std::chrono::seconds(280));
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    const char* count_env = std::getenv("RGPU_LOAD_CLIENTS");
    const int clients = count_env ? std::max(1, std::atoi(count_env)) : 12;
    DaemonProcess::Options options;
    options.session_timeout_s = 30;
    options.extra_args = {"--max-sessions", std::to_string(clients + 4),
                          "--max-sessions-per-client", std::to_string(clients + 4)};
    DaemonProcess daemon(options);
    const auto env = environment_without(
        {"OCL_ICD_VENDORS", "RGPU_SERVERS", "RGPU_CONNECT_TIMEOUT_MS"},
        {"OCL_ICD_VENDORS=" + vendors.path(), "RGPU_SERVERS=" + daemon.endpoint(),
         // Many clients start at once on a small machine: give the handshake room.
         "RGPU_CONNECT_TIMEOUT_MS=60000"});

    // Let the warm pool settle, then take the idle footprint.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const DaemonUse idle = daemon_use(daemon.pid());

    std::atomic<bool> sampling{true};
    DaemonUse peak;
    std::thread sampler([&] {
        while (sampling) {
            DaemonUse now = daemon_use(daemon.pid());
            peak.total_rss = std::max(peak.total_rss, now.total_rss);
            peak.total_threads = std::max(peak.total_threads, now.total_threads);
            peak.workers = std::max(peak.workers, now.workers);
            peak.supervisor.fds = std::max(peak.supervisor.fds, now.supervisor.fds);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });

    // Mixed: long and short vector adds (buffers of every host-pointer kind, blocking and not),
    // and clients whose arguments a native run would crash on.
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<ChildProcess>> running;
    for (int i = 0; i < clients; ++i) {
        std::vector<std::string> argv = {client_path()};
        switch (i % 4) {
        case 0:
            argv.insert(argv.end(), {"vector-add", "6"});
            break;
        case 1:
            argv.insert(argv.end(), {"vector-add", "2"});
            break;
        case 2:
            argv.insert(argv.end(), {"bad-args"});
            break;
        default:
            argv.insert(argv.end(), {"vector-add", "1"});
            break;
        }
        running.push_back(std::make_unique<ChildProcess>(argv, env));
    }
    int failed = 0;
    for (size_t i = 0; i < running.size(); ++i) {
        const auto status = running[i]->wait_for(std::chrono::seconds(150));
        if (!status) running[i]->terminate(SIGKILL);
        if (status != kClientOk) {
            ++failed;
            FAIL_CHECK("client " << i << " ended with "
                                 << (status ? std::string(client_exit_name(*status))
                                            : std::string("a timeout")));
        }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    CHECK(failed == 0);

    // Every session ends with its client; the pool returns to its warm size.
    std::string error;
    uint32_t sessions = 1;
    DaemonUse after;
    for (int i = 0; i < 100; ++i) {
        auto status = rgpu::query_status(daemon.endpoint(), std::chrono::seconds(5), &error);
        REQUIRE_MESSAGE(status, error);
        sessions = status->sessions;
        after = daemon_use(daemon.pid());
        // Connections close asynchronously (ZeroMQ's I/O thread): wait for the descriptors too.
        if (sessions == 0 && after.workers <= idle.workers &&
            after.supervisor.fds <= idle.supervisor.fds &&
            after.total_threads <= idle.total_threads)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    sampling = false;
    sampler.join();
    MESSAGE(clients << " clients in " << elapsed.count()
                    << " ms; daemon idle: " << mib(idle.total_rss) << " MiB, " << idle.total_threads
                    << " threads, " << idle.workers << " workers, supervisor "
                    << idle.supervisor.fds << " fds; peak: " << mib(peak.total_rss) << " MiB, "
                    << peak.total_threads << " threads, " << peak.workers << " workers, supervisor "
                    << peak.supervisor.fds << " fds; after: " << mib(after.total_rss) << " MiB, "
                    << after.total_threads << " threads, " << after.workers
                    << " workers, supervisor " << after.supervisor.fds << " fds, supervisor "
                    << mib(after.supervisor.rss) << " MiB (idle " << mib(idle.supervisor.rss)
                    << ")");
    CHECK(sessions == 0);
    CHECK(after.workers == idle.workers);
    CHECK(after.supervisor.threads == idle.supervisor.threads);
    CHECK(after.supervisor.fds == idle.supervisor.fds);
    // The supervisor held per-session state only; allow allocator slack, not growth per client.
    CHECK(after.supervisor.rss <= idle.supervisor.rss + (16u << 20));
    CHECK(daemon.stop() == 0);
}
