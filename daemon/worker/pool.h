// SPDX-License-Identifier: Apache-2.0
// A session's use of the pooled device: one thread driving each member, the placement of queues
// and kernel launches on members (a loadbalance policy fed with what this session measured),
// and the per-member figures the operator sees.
#pragma once

#include "devices.h"
#include "native.h"

#include <policy.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rgpu::daemon {

struct MemObject;

/// Flushes the native queues of one member from a thread of its own. Some runtimes run commands
/// on the thread that flushes them (POCL's basic device): members then run in parallel, and the
/// session's executor never waits for a kernel.
class MemberDriver {
  public:
    MemberDriver();
    ~MemberDriver(); ///< Flushes what is pending, then joins.
    MemberDriver(const MemberDriver&) = delete;
    MemberDriver& operator=(const MemberDriver&) = delete;
    /// Flushes `queue` on the member's thread soon (retained until then).
    void flush(cl_command_queue queue);

  private:
    void run();
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<cl_command_queue> pending_; // guarded by mutex_, each retained
    bool stop_ = false;                    // guarded by mutex_
    std::thread thread_;
};

/// What a member did for this session, for the operator (rgpu-ctl devices).
struct MemberFigures {
    uint64_t queued = 0;  ///< Launches placed, not started.
    uint64_t running = 0; ///< Launches started, not complete.
    uint64_t placements = 0;
    uint64_t queues = 0;
    uint64_t migrations = 0; ///< Buffers brought from another member.
    uint64_t migrated_bytes = 0;
    uint64_t busy_ns = 0; ///< Measured kernel time of completed launches.
    uint64_t resident_bytes = 0;
};

class DevicePool {
  public:
    explicit DevicePool(const LocalDevice& pool);
    size_t size() const { return members_.size(); }
    const LocalDevice& device() const { return pool_; }
    cl_device_id member(uint32_t m) const { return members_[m].device; }
    bool per_launch() const { return pool_.placement == Placement::PerLaunch; }
    MemberDriver& driver(uint32_t m) { return *members_[m].driver; }

    /// Member for a new command queue.
    uint32_t place_queue();
    /// Member for a launch of `kernel` with `buffers` as arguments, placed by the policy.
    uint32_t place_launch(const std::string& kernel, const std::vector<const MemObject*>& buffers);
    /// A launch placed on `member`: `event` (retained here) is watched until it completes, then
    /// its measured time feeds the estimates.
    void launched(uint32_t member, const std::string& kernel, cl_event event);
    /// Buffers brought to `member` by a migration command (`event`, retained here).
    void migrated(uint32_t member, uint64_t count, uint64_t bytes, cl_event event);

    /// Buffer residency: `mem`'s newest contents are on `member` (written there), or also on
    /// it (read there). Keeps the members' resident bytes.
    void written_on(MemObject& mem, uint32_t member);
    void read_on(MemObject& mem, uint32_t member);
    void forget(const MemObject& mem);

    std::vector<MemberFigures> figures();

  private:
    struct Launch {
        EventRef event;
        std::string kernel;
        double estimate_ns = 0;
    };
    struct Migration {
        EventRef event;
        uint64_t bytes = 0;
    };
    struct Member {
        cl_device_id device = nullptr;
        uint64_t global_memory = 0;
        std::deque<Launch> launches;
        std::deque<Migration> migrations;
        /// Measured kernel times on this member (moving average per kernel name).
        std::unordered_map<std::string, double> kernel_ns;
        double transfer_rate = 0; ///< measured bytes per second into this member
        MemberFigures figures;
        std::unique_ptr<MemberDriver> driver;
    };
    /// Takes completed launches and migrations off the in-flight lists, measuring them.
    void retire();
    double estimate(uint32_t member, const std::string& kernel) const;
    std::vector<loadbalance::DeviceStats> stats();
    void set_resident(MemObject& mem, uint64_t mask);

    const LocalDevice& pool_;
    std::vector<Member> members_;
    std::unique_ptr<loadbalance::PlacementPolicy> policy_;
};

} // namespace rgpu::daemon
