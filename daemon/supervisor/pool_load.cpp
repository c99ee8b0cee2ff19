// SPDX-License-Identifier: Apache-2.0
// The pooled device's load across sessions: summed from the workers' reports, shared back with
// every worker (each places its work seeing the others'), and listed for the operator.
#include "supervisor.h"

#include <rgpu/wire/control_generated.h>

namespace rgpu::daemon {
namespace {

void add(MemberLoad& into, const MemberLoad& load) {
    into.queued += load.queued;
    into.running += load.running;
    into.placements += load.placements;
    into.queues += load.queues;
    into.migrations += load.migrations;
    into.migrated_bytes += load.migrated_bytes;
    into.busy_ns += load.busy_ns;
    into.resident_bytes += load.resident_bytes;
    into.queued_work_ns += load.queued_work_ns;
}

const LocalDevice* pooled_device(const std::vector<LocalDevice>& devices) {
    for (const auto& d : devices)
        if (d.pooled()) return &d;
    return nullptr;
}

} // namespace

void Supervisor::retire_pool_load(const WorkerProcess& worker) {
    if (worker.members.empty()) return;
    ended_pool_load_.resize(std::max(ended_pool_load_.size(), worker.members.size()));
    for (size_t m = 0; m < worker.members.size(); ++m) {
        // What an ended session still has in flight or resident is gone with it.
        MemberLoad counters = worker.members[m];
        counters.queued = counters.running = counters.resident_bytes = 0;
        counters.queued_work_ns = 0;
        add(ended_pool_load_[m], counters);
    }
    pool_load_changed_ = true;
}

void Supervisor::share_pool_load() {
    const LocalDevice* pool = pooled_device(devices_);
    if (!pool || !pool_load_changed_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - pool_load_sent_ < std::chrono::milliseconds(100)) return;
    pool_load_sent_ = now;
    pool_load_changed_ = false;
    const size_t members = pool->members.size();
    std::vector<MemberLoad> total(members);
    for (const auto& w : workers_)
        if (w->state == WorkerProcess::State::Serving)
            for (size_t m = 0; m < members && m < w->members.size(); ++m)
                add(total[m], w->members[m]);
    for (auto& w : workers_) {
        if (w->state != WorkerProcess::State::Serving || w->control_closed) continue;
        flatbuffers::FlatBufferBuilder fbb;
        std::vector<flatbuffers::Offset<control::MemberLoad>> others;
        for (size_t m = 0; m < members; ++m) {
            MemberLoad own = m < w->members.size() ? w->members[m] : MemberLoad{};
            auto minus = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
            others.push_back(control::CreateMemberLoad(
                fbb, minus(total[m].queued, own.queued), minus(total[m].running, own.running),
                std::max(0.0, total[m].queued_work_ns - own.queued_work_ns), 0, 0, 0, 0, 0,
                minus(total[m].resident_bytes, own.resident_bytes)));
        }
        auto load = control::CreatePoolLoad(fbb, fbb.CreateVector(others));
        fbb.Finish(control::CreateControlMessage(fbb, control::ControlBody::PoolLoad, load.Union()),
                   control::ControlMessageIdentifier());
        (void)w->control().send(fbb); // a worker that cannot take it is being reaped
    }
}

flatbuffers::Offset<wire::DeviceList> Supervisor::device_list(flatbuffers::FlatBufferBuilder& fbb) {
    std::vector<flatbuffers::Offset<wire::DeviceState>> list;
    for (const auto& d : devices_) {
        std::vector<flatbuffers::Offset<wire::MemberState>> members;
        for (size_t m = 0; m < d.members.size(); ++m) {
            MemberLoad load = m < ended_pool_load_.size() ? ended_pool_load_[m] : MemberLoad{};
            for (const auto& w : workers_)
                if (w->state == WorkerProcess::State::Serving && m < w->members.size())
                    add(load, w->members[m]);
            members.push_back(
                wire::CreateMemberState(fbb, fbb.CreateString(d.member_names[m]), load.queued,
                                        load.running, load.placements, load.queues, load.migrations,
                                        load.migrated_bytes, load.busy_ns, load.resident_bytes));
        }
        std::string placement, policy;
        if (d.pooled()) {
            placement = d.placement == Placement::PerLaunch ? "per-launch" : "per-queue";
            policy = d.policy;
        }
        list.push_back(wire::CreateDeviceState(
            fbb, d.index, fbb.CreateString(d.name), fbb.CreateString(placement),
            fbb.CreateString(policy), fbb.CreateVector(members)));
    }
    return wire::CreateDeviceList(fbb, fbb.CreateVector(list));
}

} // namespace rgpu::daemon
