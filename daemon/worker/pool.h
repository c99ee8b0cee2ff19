// SPDX-License-Identifier: Apache-2.0
// A session's use of the pooled device: one thread driving each member, the placement of queues
// and kernel launches on members (a loadbalance policy fed with what this session measured),
// and the per-member figures the operator sees.
#pragma once

#include "device_pool.h"
#include "devices.h"
#include "native.h"
#include "object_table.h"

#include <policy.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rgpu::daemon {

/// The thread that drives one member: it makes the member's native enqueue calls, in the order
/// they were posted. Runtimes may run a command on the thread that enqueues or flushes it
/// (POCL's basic device runs a ready command inside clEnqueue*): with one thread per member,
/// members run in parallel and the session's executor goes on taking commands meanwhile.
/// The executor touches a member's native queues itself only once the thread is idle (settle).
class MemberThread {
  public:
    MemberThread();
    ~MemberThread(); ///< Runs what is posted, then joins.
    MemberThread(const MemberThread&) = delete;
    MemberThread& operator=(const MemberThread&) = delete;
    /// Runs `work` on the member's thread after everything posted before.
    void post(std::function<void()> work);
    /// Flushes `queue` on the member's thread (retained until then).
    void flush(cl_command_queue queue);
    /// Blocks until everything posted so far has run.
    void settle();

  private:
    void run();
    std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable idle_cv_;
    std::deque<std::function<void()>> pending_; // guarded by mutex_
    bool busy_ = false;                         // guarded by mutex_
    bool stop_ = false;                         // guarded by mutex_
    std::thread thread_;
};

/// What a member did for this session (for the operator and the other sessions' placement).
using MemberFigures = MemberLoad;

/// The executor places and records work; the I/O thread reads figures and sets the others'
/// load: every method but thread() and settle_all() takes the pool's lock.
class DevicePool {
  public:
    explicit DevicePool(const LocalDevice& pool);
    size_t size() const { return members_.size(); }
    cl_device_id member(uint32_t m) const { return members_[m].device; }
    bool per_launch() const { return pool_.placement == Placement::PerLaunch; }
    MemberThread& thread(uint32_t m) { return *members_[m].thread; }
    /// Waits until every member thread has run what was posted to it.
    void settle_all() {
        for (auto& member : members_)
            member.thread->settle();
    }

    /// Member for a new command queue.
    uint32_t place_queue();
    /// Member for a launch of `kernel` with `buffers` as arguments, placed by the policy.
    uint32_t place_launch(const std::string& kernel, const std::vector<const MemObject*>& buffers);
    /// A launch placed on `member`: its event is watched until it completes, then its measured
    /// time feeds the estimates. `migration`, when set, brought `migrated_bytes` there before it
    /// (its measured time gives the member's transfer rate).
    void launched(uint32_t member, const std::string& kernel, std::shared_ptr<DeferredEvent> event,
                  std::shared_ptr<DeferredEvent> migration = nullptr, uint64_t migrated_bytes = 0);
    /// Counts buffers brought to `member` from another member.
    void migrated(uint32_t member, uint64_t count, uint64_t bytes);

    /// Buffer residency: `mem`'s newest contents are on `member` (written there), or also on
    /// it (read there). Keeps the members' resident bytes.
    void written_on(MemObject& mem, uint32_t member);
    void read_on(MemObject& mem, uint32_t member);
    void forget(const MemObject& mem);

    /// Any thread: this session's figures per member (for the supervisor).
    std::vector<MemberFigures> figures();
    /// Any thread: what every other session puts on each member (from the supervisor); the
    /// policy sees it added to this session's own load.
    void set_others(std::vector<MemberFigures> others);

  private:
    struct Launch {
        std::shared_ptr<DeferredEvent> event;
        std::string kernel;
        double estimate_ns = 0;
        std::shared_ptr<DeferredEvent> migration;
        uint64_t migrated_bytes = 0;
    };
    struct Member {
        cl_device_id device = nullptr;
        uint64_t global_memory = 0;
        std::deque<Launch> launches;
        /// Measured kernel times on this member (moving average per kernel name).
        std::unordered_map<std::string, double> kernel_ns;
        double transfer_rate = 0; ///< measured bytes per second into this member
        MemberFigures figures;
        std::unique_ptr<MemberThread> thread;
    };
    /// Takes completed launches and migrations off the in-flight lists, measuring them.
    void retire();
    double estimate(uint32_t member, const std::string& kernel) const;
    std::vector<loadbalance::DeviceStats> stats();
    void set_resident(MemObject& mem, uint64_t mask);

    const LocalDevice& pool_;
    /// Placement runs on the executor, figures() on the I/O thread.
    std::mutex mutex_;
    std::vector<Member> members_;
    std::vector<MemberFigures> others_; // guarded by mutex_
    /// Queues and launches are placed by instances of their own (a round robin of launches is
    /// not shifted by queue creations).
    std::unique_ptr<loadbalance::PlacementPolicy> queue_policy_;
    std::unique_ptr<loadbalance::PlacementPolicy> launch_policy_;
};

} // namespace rgpu::daemon
