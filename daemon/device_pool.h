// SPDX-License-Identifier: Apache-2.0
// The pooled device: several local devices served to clients as one. This file turns the
// discovered device list into the served one (the pool in place of its members) and combines
// the members' info into the pool's.
#pragma once

#include "devices.h"

#include <cstdint>
#include <string>
#include <vector>

namespace rgpu::daemon {

/// One session's use of one pool member, as its worker measures it and reports it to the
/// supervisor (which sums the sessions for the operator and for every worker's placement).
struct MemberLoad {
    uint64_t queued = 0;  ///< Launches placed, not started.
    uint64_t running = 0; ///< Launches started, not complete.
    uint64_t placements = 0;
    uint64_t queues = 0;
    uint64_t migrations = 0; ///< Buffers brought from another member.
    uint64_t migrated_bytes = 0;
    uint64_t busy_ns = 0; ///< Measured kernel time of completed launches.
    uint64_t resident_bytes = 0;
    double queued_work_ns = 0; ///< Estimated time of the launches not complete.
    bool operator==(const MemberLoad&) const = default;
};

struct PoolSettings {
    bool enabled = false;
    /// Indexes among the discovered devices; empty = every device.
    std::vector<uint32_t> members;
    Placement placement = Placement::PerLaunch;
    std::string policy = "locality";
};

/// Parses "--pool" values: "" (every device) or "0,2,3". False with `error` set when malformed.
bool parse_pool_members(const std::string& text, std::vector<uint32_t>& out, std::string& error);
/// "per-launch" / "per-queue".
bool parse_placement(const std::string& text, Placement& out);

/// The devices clients see: without a pool, `discovered` itself; with one, the pool takes its
/// first member's place and the other members disappear, indexes renumbered. The same in the
/// supervisor and in every worker (discovery order is stable on one machine). Returns false with
/// `error` when the pool is impossible (unknown index, a member listed twice, members of
/// different platforms: one native context must hold them all).
bool serve_devices(std::vector<LocalDevice>& discovered, const PoolSettings& pool,
                   std::string& error);

} // namespace rgpu::daemon
