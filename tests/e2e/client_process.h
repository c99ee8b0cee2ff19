// SPDX-License-Identifier: Apache-2.0
// What the multi-process e2e tests share about rgpu-e2e-client processes: where the client and
// rgpu-ctl are, the environment a client gets, and checks of its exit and output.
#pragma once

#include "harness.h"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

namespace rgpu::e2e {

inline std::string client_path() {
#ifdef RGPU_E2E_CLIENT_PATH
    return RGPU_E2E_CLIENT_PATH;
#else
    return {};
#endif
}

inline std::string ctl_path() {
#ifdef RGPU_CTL_PATH
    return RGPU_CTL_PATH;
#else
    return {};
#endif
}

inline constexpr auto kClientLimit = std::chrono::seconds(25);

/// Checks that `client` exits with `want` in time; the daemon's log goes with a failure.
inline void check_exit(ChildProcess& client, const std::string& name, int want,
                       const DaemonProcess* daemon = nullptr) {
    const auto status = client.wait_for(kClientLimit);
    const std::string log = daemon ? "; daemon log: " + daemon->log_tail(20000) : "";
    if (!status) {
        client.terminate(SIGKILL);
        FAIL_CHECK(name << " did not finish within " << kClientLimit.count() << " s (killed)"
                        << log);
        return;
    }
    CHECK_MESSAGE(*status == want, name << " exited with " << *status << ": "
                                        << std::string(client_exit_name(*status)) << log);
}

/// A client environment for `daemon`. The peer timeout is far beyond the test's limits, so an
/// ended session is noticed through the supervisor's push or a lost connection; a client that
/// loses its daemon for good gives up reconnecting within the test's limits. `extra` entries
/// ("NAME=value") replace those.
inline std::vector<std::string> client_env(const DaemonProcess& daemon, const VendorsDir& vendors,
                                           std::vector<std::string> extra = {}) {
    std::vector<std::string> set{"OCL_ICD_VENDORS=" + vendors.path(),
                                 "RGPU_SERVERS=" + daemon.endpoint(),
                                 "RGPU_CONNECT_TIMEOUT_MS=20000", "RGPU_PEER_TIMEOUT_MS=600000",
                                 "RGPU_RECONNECT_TIMEOUT_MS=10000"};
    for (auto& e : extra) {
        const std::string name = e.substr(0, e.find('=') + 1);
        for (auto& s : set)
            if (s.rfind(name, 0) == 0) s = e, e.clear();
        if (!e.empty()) set.push_back(e);
    }
    std::vector<std::string> names;
    for (const auto& s : set)
        names.push_back(s.substr(0, s.find('=')));
    return environment_without(names, set);
}

/// Waits for `line` on the client's stdout; fails the test otherwise.
inline void expect_line(ChildProcess& client, const std::string& line) {
    const auto got = client.read_line(kClientLimit);
    if (!got || *got != line) {
        const auto status = client.wait_for(std::chrono::seconds(1));
        FAIL("the client never printed '"
             << line << "' ("
             << (status ? std::string("exited: ") + client_exit_name(*status)
                        : std::string("still running"))
             << ")");
    }
}

} // namespace rgpu::e2e
