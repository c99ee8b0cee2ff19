// SPDX-License-Identifier: Apache-2.0
// Placement on the pooled device's members and the threads that drive them.
#include "pool.h"

#include "object_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rgpu::daemon {

MemberThread::MemberThread() : thread_([this] { run(); }) {}

MemberThread::~MemberThread() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void MemberThread::post(std::function<void()> work) {
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(work));
    }
    cv_.notify_one();
}

void MemberThread::flush(cl_command_queue queue) {
    clRetainCommandQueue(queue);
    post([queue] {
        clFlush(queue);
        clReleaseCommandQueue(queue);
    });
}

void MemberThread::settle() {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [&] { return pending_.empty() && !busy_; });
}

void MemberThread::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) return; // stopping, nothing left
        auto work = std::move(pending_.front());
        pending_.pop_front();
        busy_ = true;
        lock.unlock();
        work();
        work = nullptr; // what it held goes before the thread counts as idle
        lock.lock();
        busy_ = false;
        if (pending_.empty()) idle_cv_.notify_all();
    }
}

namespace {
/// Assumed for a kernel not measured on any member yet: long enough that unmeasured work
/// spreads over idle members, short enough that one measurement outweighs it.
constexpr double kUnmeasuredKernelNs = 1e6;
/// Weight of the newest measurement in a kernel's moving average.
constexpr double kAverageWeight = 0.25;

cl_int execution_status(cl_event event) {
    cl_int status = CL_COMPLETE;
    clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr);
    return status;
}

/// Nanoseconds the command ran (0 when the queue does not profile or it failed).
double measured_ns(cl_event event) {
    cl_ulong start = 0, end = 0;
    if (clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr) !=
            CL_SUCCESS ||
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr) !=
            CL_SUCCESS ||
        end < start)
        return 0;
    return static_cast<double>(end - start);
}
} // namespace

DevicePool::DevicePool(const LocalDevice& pool)
    : pool_(pool), queue_policy_(loadbalance::make_policy(pool.policy)),
      launch_policy_(loadbalance::make_policy(pool.policy)) {
    if (!queue_policy_) queue_policy_ = loadbalance::make_data_locality();
    if (!launch_policy_) launch_policy_ = loadbalance::make_data_locality();
    members_.resize(pool.members.size());
    for (size_t m = 0; m < members_.size(); ++m) {
        members_[m].device = pool.members[m];
        cl_ulong global = 0;
        clGetDeviceInfo(pool.members[m], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global,
                        nullptr);
        members_[m].global_memory = global;
        members_[m].thread = std::make_unique<MemberThread>();
    }
}

void DevicePool::retire() {
    for (auto& member : members_) {
        auto& launches = member.launches;
        auto complete = [](Launch& launch) {
            if (!launch.event->done()) return false;
            cl_event native = launch.event->wait();
            return !native || execution_status(native) <= CL_COMPLETE;
        };
        while (!launches.empty() && complete(launches.front())) {
            Launch& done = launches.front();
            cl_event native = done.event->wait();
            if (double ns = native ? measured_ns(native) : 0; ns > 0) {
                double& average = member.kernel_ns[done.kernel];
                average = average == 0 ? ns : average + kAverageWeight * (ns - average);
                member.figures.busy_ns += static_cast<uint64_t>(ns);
            }
            if (cl_event moved = done.migration ? done.migration->wait() : nullptr) {
                double ns = measured_ns(moved);
                if (ns > 0 && done.migrated_bytes > 0) {
                    double rate = static_cast<double>(done.migrated_bytes) / ns * 1e9;
                    member.transfer_rate =
                        member.transfer_rate == 0
                            ? rate
                            : member.transfer_rate + kAverageWeight * (rate - member.transfer_rate);
                }
            }
            launches.pop_front();
        }
        // Out-of-order queues complete launches in any order: look at the oldest ones (a
        // device runs few at once), count the rest as queued.
        member.figures.running = 0;
        size_t looked = std::min<size_t>(launches.size(), 64);
        for (size_t i = 0; i < looked; ++i) {
            if (!launches[i].event->done()) continue;
            cl_event native = launches[i].event->wait();
            if (native && execution_status(native) == CL_RUNNING) ++member.figures.running;
        }
        member.figures.queued = launches.size() - member.figures.running;
    }
}

double DevicePool::estimate(uint32_t m, const std::string& kernel) const {
    if (auto it = members_[m].kernel_ns.find(kernel); it != members_[m].kernel_ns.end())
        return it->second;
    // Measured on another member only: assume the same there (members are usually alike).
    for (const auto& other : members_)
        if (auto it = other.kernel_ns.find(kernel); it != other.kernel_ns.end()) return it->second;
    return kUnmeasuredKernelNs;
}

std::vector<loadbalance::DeviceStats> DevicePool::stats() {
    retire();
    std::vector<loadbalance::DeviceStats> out(members_.size());
    for (uint32_t m = 0; m < members_.size(); ++m) {
        const Member& member = members_[m];
        auto& s = out[m];
        s.queued_commands = member.figures.queued;
        s.running_commands = member.figures.running;
        for (const auto& launch : member.launches)
            s.queued_work_ns += launch.estimate_ns;
        // A running launch is about half done on average.
        s.queued_work_ns -= 0.5 * s.running_commands *
                            (member.launches.empty() ? 0 : member.launches.front().estimate_ns);
        s.queued_work_ns = std::max(0.0, s.queued_work_ns);
        s.free_memory = member.global_memory > member.figures.resident_bytes
                            ? member.global_memory - member.figures.resident_bytes
                            : 0;
        s.transfer_rate = member.transfer_rate;
        if (m < others_.size()) { // the other sessions' load, as the supervisor last sent it
            const MemberFigures& o = others_[m];
            s.queued_commands += o.queued;
            s.running_commands += o.running;
            s.queued_work_ns += o.queued_work_ns;
            s.free_memory -= std::min(s.free_memory, o.resident_bytes);
        }
    }
    return out;
}

uint32_t DevicePool::place_queue() {
    std::lock_guard lock(mutex_);
    auto devices = stats();
    // A queue is work to come: count the queues each member has like unmeasured launches.
    for (uint32_t m = 0; m < members_.size(); ++m) {
        devices[m].queued_work_ns += kUnmeasuredKernelNs * members_[m].figures.queues;
        devices[m].queued_commands += members_[m].figures.queues;
    }
    uint32_t chosen =
        static_cast<uint32_t>(queue_policy_->place(devices, loadbalance::Work{}).value_or(0));
    ++members_[chosen].figures.queues;
    return chosen;
}

uint32_t DevicePool::place_launch(const std::string& kernel,
                                  const std::vector<const MemObject*>& buffers) {
    std::lock_guard lock(mutex_);
    auto devices = stats();
    loadbalance::Work work;
    work.resident_bytes.assign(members_.size(), 0);
    work.estimated_ns.resize(members_.size());
    for (const MemObject* mem : buffers) {
        work.argument_bytes += mem->size;
        for (uint32_t m = 0; m < members_.size(); ++m)
            if (mem->resident & (uint64_t{1} << m)) work.resident_bytes[m] += mem->size;
    }
    for (uint32_t m = 0; m < members_.size(); ++m)
        work.estimated_ns[m] = estimate(m, kernel);
    // A launch allocates nothing: its buffers exist. Let a full member still take it.
    return static_cast<uint32_t>(launch_policy_->place(devices, work).value_or(0));
}

void DevicePool::launched(uint32_t m, const std::string& kernel,
                          std::shared_ptr<DeferredEvent> event,
                          std::shared_ptr<DeferredEvent> migration, uint64_t migrated_bytes) {
    std::lock_guard lock(mutex_);
    Member& member = members_[m];
    member.launches.push_back(Launch{std::move(event), kernel, estimate(m, kernel),
                                     std::move(migration), migrated_bytes});
    ++member.figures.placements;
    ++member.figures.queued;
}

void DevicePool::migrated(uint32_t m, uint64_t count, uint64_t bytes) {
    std::lock_guard lock(mutex_);
    members_[m].figures.migrations += count;
    members_[m].figures.migrated_bytes += bytes;
}

void DevicePool::set_resident(MemObject& mem, uint64_t mask) {
    for (uint32_t m = 0; m < members_.size(); ++m) {
        uint64_t bit = uint64_t{1} << m;
        bool was = mem.resident & bit, is = mask & bit;
        if (was && !is) members_[m].figures.resident_bytes -= mem.size;
        if (!was && is) members_[m].figures.resident_bytes += mem.size;
    }
    mem.resident = mask;
}

void DevicePool::written_on(MemObject& mem, uint32_t m) {
    std::lock_guard lock(mutex_);
    set_resident(mem, uint64_t{1} << m);
}

void DevicePool::read_on(MemObject& mem, uint32_t m) {
    std::lock_guard lock(mutex_);
    set_resident(mem, mem.resident | (uint64_t{1} << m));
}

void DevicePool::forget(const MemObject& mem) {
    std::lock_guard lock(mutex_);
    for (uint32_t m = 0; m < members_.size(); ++m)
        if (mem.resident & (uint64_t{1} << m)) members_[m].figures.resident_bytes -= mem.size;
}

std::vector<MemberFigures> DevicePool::figures() {
    std::lock_guard lock(mutex_);
    retire();
    std::vector<MemberFigures> out;
    for (const auto& member : members_) {
        out.push_back(member.figures);
        for (const auto& launch : member.launches)
            out.back().queued_work_ns += launch.estimate_ns;
    }
    return out;
}

void DevicePool::set_others(std::vector<MemberFigures> others) {
    std::lock_guard lock(mutex_);
    others_ = std::move(others);
}

} // namespace rgpu::daemon
