// SPDX-License-Identifier: Apache-2.0
// Runtime: lazy connection to the daemons named by RGPU_SERVERS.
#include "runtime.h"

#include "device_caps.h"
#include "log.h"

#include <endpoints.h>
#include <protocol.h>

#include <cstdlib>
#include <cstring>
#include <future>

namespace rgpu::icd {

Runtime& Runtime::get() {
    static Runtime runtime;
    return runtime;
}

Runtime::~Runtime() {
    // Connections say Goodbye and join their I/O threads; devices outlive nothing that uses them
    // past this point (the process is exiting).
    connections_.clear();
}

const std::vector<Device*>& Runtime::devices() {
    std::call_once(connected_, [this] { connect_all(); });
    return devices_;
}

namespace {

template <class T> T read_info(const std::map<cl_uint, std::vector<uint8_t>>& info, cl_uint param) {
    T value{};
    auto it = info.find(param);
    if (it != info.end() && it->second.size() >= sizeof(T))
        std::memcpy(&value, it->second.data(), sizeof(T));
    return value;
}

} // namespace

cl_int Runtime::detach() {
    std::lock_guard lock(session_control_);
    for (auto& c : connections_)
        c->detach();
    return CL_SUCCESS;
}

cl_int Runtime::attach() {
    std::lock_guard lock(session_control_);
    cl_int result = CL_SUCCESS;
    for (auto& c : connections_)
        if (cl_int r = c->attach_again(); r != CL_SUCCESS) result = r;
    return result;
}

void Runtime::connect_all() {
    const char* servers = std::getenv("RGPU_SERVERS");
    std::string error;
    std::vector<ServerEntry> endpoints =
        parse_servers(servers && *servers ? servers : proto::kDefaultEndpoint, &error);
    if (!error.empty()) log()->error("RGPU_SERVERS: {}", error);
    long timeout_ms = 1000;
    if (const char* t = std::getenv("RGPU_CONNECT_TIMEOUT_MS"); t && std::atol(t) > 0)
        timeout_ms = std::atol(t);

    // Daemons are asked in parallel so that the bound holds however many are configured.
    std::vector<std::unique_ptr<Connection>> candidates;
    std::vector<std::future<bool>> opened;
    for (auto& server : endpoints) {
        candidates.push_back(std::make_unique<Connection>(server.endpoint, server.key));
        Connection* c = candidates.back().get();
        opened.push_back(std::async(std::launch::async, [c, timeout_ms] {
            return c->open(std::chrono::milliseconds(timeout_ms));
        }));
    }
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (!opened[i].get()) continue;
        Connection* c = candidates[i].get();
        for (const RemoteDevice& remote : c->devices())
            devices_.push_back(add_device(c, remote.index, remote.info, nullptr));
        connections_.push_back(std::move(candidates[i]));
    }
}

Device* Runtime::add_device(Connection* connection, uint32_t index,
                            std::map<cl_uint, std::vector<uint8_t>> info, Device* parent) {
    auto d = std::make_unique<Device>();
    d->connection = connection;
    d->index = index;
    d->parent = parent;
    d->info = std::move(info);
    hide_unsupported(d->info);
    d->type = read_info<cl_device_type>(d->info, CL_DEVICE_TYPE);
    d->max_mem_alloc = read_info<cl_ulong>(d->info, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    d->max_work_group_size = read_info<size_t>(d->info, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    d->queue_properties =
        read_info<cl_command_queue_properties>(d->info, CL_DEVICE_QUEUE_PROPERTIES);
    if (auto it = d->info.find(CL_DEVICE_MAX_WORK_ITEM_SIZES); it != d->info.end()) {
        d->max_work_item_sizes.resize(it->second.size() / sizeof(size_t));
        std::memcpy(d->max_work_item_sizes.data(), it->second.data(),
                    d->max_work_item_sizes.size() * sizeof(size_t));
    }
    Device* out = d.get();
    std::lock_guard lock(storage_mutex_);
    device_storage_.push_back(std::move(d));
    return out;
}

} // namespace rgpu::icd
