// SPDX-License-Identifier: Apache-2.0
// Building the served device list and the pooled device's combined info.
#include "device_pool.h"

#include <CL/cl_ext.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

namespace rgpu::daemon {
namespace {

using Info = std::vector<std::pair<cl_uint, std::vector<uint8_t>>>;

const std::vector<uint8_t>* find_info(const Info& info, cl_uint param) {
    for (const auto& [p, value] : info)
        if (p == param) return &value;
    return nullptr;
}

/// Limits a pool can only promise as far as its weakest member.
bool is_minimum_limit(cl_uint param) {
    switch (param) {
    case CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS:
    case CL_DEVICE_MAX_WORK_GROUP_SIZE:
    case CL_DEVICE_MAX_WORK_ITEM_SIZES:
    case CL_DEVICE_MAX_CLOCK_FREQUENCY:
    case CL_DEVICE_MAX_READ_IMAGE_ARGS:
    case CL_DEVICE_MAX_WRITE_IMAGE_ARGS:
    case CL_DEVICE_MAX_MEM_ALLOC_SIZE:
    case CL_DEVICE_IMAGE2D_MAX_WIDTH:
    case CL_DEVICE_IMAGE2D_MAX_HEIGHT:
    case CL_DEVICE_IMAGE3D_MAX_WIDTH:
    case CL_DEVICE_IMAGE3D_MAX_HEIGHT:
    case CL_DEVICE_IMAGE3D_MAX_DEPTH:
    case CL_DEVICE_MAX_SAMPLERS:
    case CL_DEVICE_MAX_PARAMETER_SIZE:
    case CL_DEVICE_GLOBAL_MEM_CACHE_SIZE:
    case CL_DEVICE_GLOBAL_MEM_SIZE:
    case CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE:
    case CL_DEVICE_MAX_CONSTANT_ARGS:
    case CL_DEVICE_LOCAL_MEM_SIZE:
    case CL_DEVICE_IMAGE_MAX_BUFFER_SIZE:
    case CL_DEVICE_IMAGE_MAX_ARRAY_SIZE:
    case CL_DEVICE_PRINTF_BUFFER_SIZE:
        return true;
    default:
        return false;
    }
}

/// Element-wise minimum of arrays of 4- or 8-byte unsigned values (cl_uint, size_t, cl_ulong).
void take_minimum(std::vector<uint8_t>& into, const std::vector<uint8_t>& other) {
    if (into.size() != other.size()) return;
    size_t width = into.size() % 8 == 0 ? 8 : into.size() % 4 == 0 ? 4 : 0;
    for (size_t at = 0; width && at < into.size(); at += width) {
        uint64_t a = 0, b = 0;
        std::memcpy(&a, into.data() + at, width);
        std::memcpy(&b, other.data() + at, width);
        if (b < a) std::memcpy(into.data() + at, &b, width);
    }
}

std::string as_string(const std::vector<uint8_t>& value) {
    std::string s(value.begin(), value.end());
    if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
    return s;
}

std::vector<uint8_t> with_nul(const std::string& s) {
    std::vector<uint8_t> out(s.begin(), s.end());
    out.push_back(0);
    return out;
}

/// Space-separated names every member lists.
std::string common_words(const std::string& a, const std::string& b) {
    std::istringstream other(b);
    std::set<std::string> theirs{std::istream_iterator<std::string>(other), {}};
    std::istringstream mine(a);
    std::string word, out;
    while (mine >> word)
        if (theirs.count(word)) out += (out.empty() ? "" : " ") + word;
    return out;
}

/// cl_name_version arrays: the entries every member has, at the lowest version.
std::vector<uint8_t> common_versions(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    auto entries = [](const std::vector<uint8_t>& v) {
        std::vector<cl_name_version> out(v.size() / sizeof(cl_name_version));
        if (!out.empty()) std::memcpy(out.data(), v.data(), out.size() * sizeof(cl_name_version));
        return out;
    };
    std::vector<cl_name_version> kept;
    auto theirs = entries(b);
    for (cl_name_version mine : entries(a)) {
        auto match = std::find_if(theirs.begin(), theirs.end(), [&](const cl_name_version& t) {
            return std::strncmp(t.name, mine.name, CL_NAME_VERSION_MAX_NAME_SIZE) == 0;
        });
        if (match == theirs.end()) continue;
        mine.version = std::min(mine.version, match->version);
        kept.push_back(mine);
    }
    std::vector<uint8_t> out(kept.size() * sizeof(cl_name_version));
    if (!kept.empty()) std::memcpy(out.data(), kept.data(), out.size());
    return out;
}

/// The pool's info: the conservative combination of its members'. Parameters not every member
/// answers are left out; others not combined below take the first member's value.
Info combine_info(const std::vector<const LocalDevice*>& members) {
    Info combined;
    for (const auto& [param, first] : members.front()->info) {
        std::vector<uint8_t> value = first;
        bool everywhere = true;
        for (size_t m = 1; m < members.size() && everywhere; ++m) {
            const auto* other = find_info(members[m]->info, param);
            if (!other) {
                everywhere = false;
                break;
            }
            if (param == CL_DEVICE_MAX_COMPUTE_UNITS && value.size() == sizeof(cl_uint)) {
                cl_uint sum = 0, add = 0;
                std::memcpy(&sum, value.data(), sizeof sum);
                std::memcpy(&add, other->data(), sizeof add);
                sum += add;
                std::memcpy(value.data(), &sum, sizeof sum);
            } else if (param == CL_DEVICE_MEM_BASE_ADDR_ALIGN && value.size() == sizeof(cl_uint)) {
                cl_uint a = 0, b = 0;
                std::memcpy(&a, value.data(), sizeof a);
                std::memcpy(&b, other->data(), sizeof b);
                a = std::max(a, b); // the strictest alignment suits every member
                std::memcpy(value.data(), &a, sizeof a);
            } else if (param == CL_DEVICE_SVM_CAPABILITIES && value.size() == sizeof(cl_bitfield)) {
                cl_bitfield a = 0, b = 0;
                std::memcpy(&a, value.data(), sizeof a);
                std::memcpy(&b, other->data(), sizeof b);
                a &= b; // what every member can do
                std::memcpy(value.data(), &a, sizeof a);
            } else if (is_minimum_limit(param)) {
                take_minimum(value, *other);
            } else if (param == CL_DEVICE_EXTENSIONS || param == CL_DEVICE_BUILT_IN_KERNELS) {
                value = with_nul(common_words(as_string(value), as_string(*other)));
            } else if (param == CL_DEVICE_EXTENSIONS_WITH_VERSION ||
                       param == CL_DEVICE_OPENCL_C_ALL_VERSIONS ||
                       param == CL_DEVICE_OPENCL_C_FEATURES ||
                       param == CL_DEVICE_ILS_WITH_VERSION ||
                       param == CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION) {
                value = common_versions(value, *other);
            }
        }
        if (!everywhere) continue;
        // One device to clients, many natively: it cannot be partitioned.
        if (param == CL_DEVICE_PARTITION_MAX_SUB_DEVICES ||
            param == CL_DEVICE_PARTITION_AFFINITY_DOMAIN)
            std::fill(value.begin(), value.end(), 0);
        if (param == CL_DEVICE_PARTITION_PROPERTIES)
            value.assign(sizeof(cl_device_partition_property), 0);
        if (param == CL_DEVICE_NAME) {
            std::string name = "rgpu pool of " + std::to_string(members.size()) + ": ";
            for (size_t m = 0; m < members.size(); ++m)
                name += (m ? " + " : "") + members[m]->name;
            value = with_nul(name);
        }
        combined.emplace_back(param, std::move(value));
    }
    return combined;
}

} // namespace

bool parse_pool_members(const std::string& text, std::vector<uint32_t>& out, std::string& error) {
    out.clear();
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        char* end = nullptr;
        unsigned long index = std::strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || index > UINT32_MAX) {
            error = "--pool: '" + item + "' is not a device index";
            return false;
        }
        out.push_back(static_cast<uint32_t>(index));
    }
    return true;
}

bool parse_placement(const std::string& text, Placement& out) {
    if (text == "per-launch")
        out = Placement::PerLaunch;
    else if (text == "per-queue")
        out = Placement::PerQueue;
    else
        return false;
    return true;
}

bool serve_devices(std::vector<LocalDevice>& discovered, const PoolSettings& pool,
                   std::string& error) {
    if (!pool.enabled) return true;
    std::vector<uint32_t> indexes = pool.members;
    if (indexes.empty())
        for (const auto& d : discovered)
            indexes.push_back(d.index);
    if (indexes.empty()) {
        error = "--pool: there is no device to pool";
        return false;
    }
    if (indexes.size() > 64) { // buffer residency is a 64-bit mask of members
        error = "--pool: at most 64 members";
        return false;
    }
    std::vector<const LocalDevice*> members;
    for (uint32_t index : indexes) {
        if (index >= discovered.size()) {
            error = "--pool: there is no device " + std::to_string(index) + " (" +
                    std::to_string(discovered.size()) + " found)";
            return false;
        }
        if (std::count(indexes.begin(), indexes.end(), index) > 1) {
            error = "--pool: device " + std::to_string(index) + " is listed twice";
            return false;
        }
        if (discovered[index].platform != discovered[indexes.front()].platform) {
            error = "--pool: devices " + std::to_string(indexes.front()) + " and " +
                    std::to_string(index) +
                    " belong to different platforms; a pool's members must share one platform";
            return false;
        }
        members.push_back(&discovered[index]);
    }
    LocalDevice pooled;
    pooled.platform = members.front()->platform;
    pooled.device = members.front()->device;
    pooled.platform_name = members.front()->platform_name;
    for (const LocalDevice* m : members) {
        pooled.members.push_back(m->device);
        pooled.member_names.push_back(m->name);
    }
    pooled.placement = pool.placement;
    pooled.policy = pool.policy;
    pooled.info = combine_info(members);
    pooled.name = "rgpu pool of " + std::to_string(members.size()) + ": ";
    for (size_t m = 0; m < members.size(); ++m)
        pooled.name += (m ? " + " : "") + members[m]->name;

    std::vector<LocalDevice> served;
    for (auto& d : discovered) {
        bool member = std::find(indexes.begin(), indexes.end(), d.index) != indexes.end();
        if (d.index == indexes.front())
            served.push_back(std::move(pooled));
        else if (!member)
            served.push_back(std::move(d));
    }
    for (size_t i = 0; i < served.size(); ++i)
        served[i].index = static_cast<uint32_t>(i);
    discovered = std::move(served);
    return true;
}

} // namespace rgpu::daemon
