// SPDX-License-Identifier: Apache-2.0
// Asks a daemon for its status (StatusRequest needs no session); used by rgpu-ctl and tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace rgpu {

struct DaemonStatus {
    uint32_t sessions = 0;
    uint32_t devices = 0;
    uint64_t rejected_messages = 0;
};

/// The daemon's status, or nullopt (and `error` set) when it does not answer within `timeout`.
std::optional<DaemonStatus> query_status(const std::string& endpoint,
                                         std::chrono::milliseconds timeout, std::string* error);

} // namespace rgpu
