// SPDX-License-Identifier: Apache-2.0
// The placement policies.
#include "policy.h"

#include <tuple>

namespace rgpu::loadbalance {
namespace {

bool fits(const DeviceStats& d, const Work& work) {
    return d.available && d.free_memory >= work.new_bytes;
}

double estimate(const Work& work, size_t device) {
    return device < work.estimated_ns.size() ? work.estimated_ns[device] : 0.0;
}

/// Nanoseconds until `work` would be done on `device` if placed there now.
double finish_ns(const std::vector<DeviceStats>& devices, const Work& work, size_t device) {
    return devices[device].queued_work_ns + estimate(work, device);
}

/// Nanoseconds to bring the work's argument bytes that are not on `device` there.
double transfer_ns(const std::vector<DeviceStats>& devices, const Work& work, size_t device) {
    if (work.resident_bytes.empty()) return 0;
    uint64_t resident = device < work.resident_bytes.size() ? work.resident_bytes[device] : 0;
    uint64_t missing = work.argument_bytes > resident ? work.argument_bytes - resident : 0;
    double rate =
        devices[device].transfer_rate > 0 ? devices[device].transfer_rate : kDefaultTransferRate;
    return static_cast<double>(missing) / rate * 1e9;
}

/// The fitting device with the smallest `key` (a tuple compared in order); ties go to the
/// lowest index.
template <class Key>
std::optional<size_t> best(const std::vector<DeviceStats>& devices, const Work& work, Key key) {
    std::optional<size_t> chosen;
    for (size_t i = 0; i < devices.size(); ++i) {
        if (!fits(devices[i], work)) continue;
        if (!chosen || key(i) < key(*chosen)) chosen = i;
    }
    return chosen;
}

class RoundRobin final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices,
                                const Work& work) override {
        for (size_t tried = 0; tried < devices.size(); ++tried) {
            size_t i = (next_ + tried) % devices.size();
            if (fits(devices[i], work)) {
                next_ = i + 1;
                return i;
            }
        }
        return std::nullopt;
    }
    std::string_view name() const override { return "round-robin"; }

  private:
    size_t next_ = 0;
};

class LeastOutstanding final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices,
                                const Work& work) override {
        return best(devices, work, [&](size_t i) {
            return std::make_tuple(finish_ns(devices, work, i), devices[i].outstanding());
        });
    }
    std::string_view name() const override { return "least-outstanding"; }
};

class MostFreeMemory final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices,
                                const Work& work) override {
        return best(devices, work, [&](size_t i) {
            return std::make_tuple(~devices[i].free_memory, finish_ns(devices, work, i),
                                   devices[i].outstanding());
        });
    }
    std::string_view name() const override { return "memory"; }
};

class DataLocality final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices,
                                const Work& work) override {
        // Moving the bytes costs time like queued work does: the device that is done first,
        // counting both, wins. A device holding the data is left only when the others would
        // finish sooner even after the transfer, i.e. when it is much busier.
        return best(devices, work, [&](size_t i) {
            return std::make_tuple(finish_ns(devices, work, i) + transfer_ns(devices, work, i),
                                   devices[i].outstanding());
        });
    }
    std::string_view name() const override { return "locality"; }
};

} // namespace

std::unique_ptr<PlacementPolicy> make_round_robin() {
    return std::make_unique<RoundRobin>();
}
std::unique_ptr<PlacementPolicy> make_least_outstanding() {
    return std::make_unique<LeastOutstanding>();
}
std::unique_ptr<PlacementPolicy> make_most_free_memory() {
    return std::make_unique<MostFreeMemory>();
}
std::unique_ptr<PlacementPolicy> make_data_locality() {
    return std::make_unique<DataLocality>();
}

std::unique_ptr<PlacementPolicy> make_policy(std::string_view name) {
    if (name == "round-robin") return make_round_robin();
    if (name == "least-outstanding") return make_least_outstanding();
    if (name == "memory") return make_most_free_memory();
    if (name == "locality") return make_data_locality();
    return nullptr;
}

std::string_view policy_names() {
    return "round-robin, least-outstanding, memory, locality";
}

} // namespace rgpu::loadbalance
