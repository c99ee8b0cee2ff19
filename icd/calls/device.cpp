// SPDX-License-Identifier: Apache-2.0
// Device entry points: answered from the handshake's info snapshot, without a round trip.
#include "../api.h"
#include "../connection.h"
#include "../entry_points.h"
#include "../runtime.h"

namespace rgpu::icd {
namespace {

constexpr cl_device_type kAllTypes = CL_DEVICE_TYPE_DEFAULT | CL_DEVICE_TYPE_CPU |
                                     CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR |
                                     CL_DEVICE_TYPE_CUSTOM;

} // namespace

std::vector<Device*> devices_of_type(cl_device_type type) {
    const auto& all = Runtime::get().devices();
    std::vector<Device*> out;
    if (type == CL_DEVICE_TYPE_ALL) return all;
    if (type == CL_DEVICE_TYPE_DEFAULT) {
        for (Device* d : all)
            if (d->type & CL_DEVICE_TYPE_DEFAULT) return {d};
        if (!all.empty()) out.push_back(all.front());
        return out;
    }
    for (Device* d : all)
        if (d->type & type) out.push_back(d);
    return out;
}

cl_int CL_API_CALL rgpu_clGetDeviceIDs(cl_platform_id platform, cl_device_type type,
                                       cl_uint num_entries, cl_device_id* devices,
                                       cl_uint* num_devices) {
    return guard([&] {
        if (platform && !checked<Platform>(platform)) return CL_INVALID_PLATFORM;
        if (type != CL_DEVICE_TYPE_ALL && (type & ~kAllTypes || type == 0))
            return CL_INVALID_DEVICE_TYPE;
        if ((num_entries == 0 && devices) || (!devices && !num_devices)) return CL_INVALID_VALUE;
        auto found = devices_of_type(type);
        if (num_devices) *num_devices = static_cast<cl_uint>(found.size());
        if (found.empty()) return CL_DEVICE_NOT_FOUND;
        if (devices)
            for (cl_uint i = 0; i < num_entries && i < found.size(); ++i)
                devices[i] = found[i];
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clGetDeviceInfo(cl_device_id device, cl_device_info param, size_t size,
                                        void* value, size_t* size_ret) {
    Device* d = checked<Device>(device);
    if (!d) return CL_INVALID_DEVICE;
    switch (param) {
    case CL_DEVICE_PLATFORM:
        return info_value(static_cast<cl_platform_id>(Runtime::get().platform()), size, value,
                          size_ret);
    case CL_DEVICE_PARENT_DEVICE:
        return info_value(static_cast<cl_device_id>(d->parent), size, value, size_ret);
    case CL_DEVICE_REFERENCE_COUNT:
        // Served devices are not counted (as natively for root devices).
        return info_value(d->parent ? d->refs.load() : cl_uint{1}, size, value, size_ret);
    default:
        break;
    }
    auto it = d->info.find(param);
    if (it == d->info.end()) return CL_INVALID_VALUE;
    return copy_info(it->second.data(), it->second.size(), size, value, size_ret);
}

cl_int CL_API_CALL rgpu_clRetainDevice(cl_device_id device) {
    Device* d = checked<Device>(device);
    if (!d) return CL_INVALID_DEVICE;
    if (d->parent) d->refs.fetch_add(1);
    return CL_SUCCESS;
}

/// A sub-device stays (here and on its daemon, whose session keeps it) until the process or
/// session ends: contexts refer to it by name, and only its count is the application's.
cl_int CL_API_CALL rgpu_clReleaseDevice(cl_device_id device) {
    Device* d = checked<Device>(device);
    if (!d) return CL_INVALID_DEVICE;
    if (!d->parent) return CL_SUCCESS;
    cl_uint refs = d->refs.load();
    do {
        if (refs == 0) return CL_INVALID_DEVICE;
    } while (!d->refs.compare_exchange_weak(refs, refs - 1));
    return CL_SUCCESS;
}

namespace {

/// The partition list up to and including its terminating 0 (each type's values walked as the
/// specification lays them out); empty when it does not end within a sane length.
std::vector<int64_t> partition_list(const cl_device_partition_property* p) {
    constexpr size_t kMost = 1024;
    std::vector<int64_t> out;
    size_t i = 0;
    while (i < kMost && p[i] != 0) {
        const cl_device_partition_property type = p[i];
        out.push_back(type);
        ++i;
        if (type == CL_DEVICE_PARTITION_BY_COUNTS) {
            while (i < kMost && p[i] != CL_DEVICE_PARTITION_BY_COUNTS_LIST_END)
                out.push_back(p[i++]);
            if (i == kMost) return {};
            out.push_back(p[i++]); // the list's end
        } else if (type == CL_DEVICE_PARTITION_EQUALLY ||
                   type == CL_DEVICE_PARTITION_BY_AFFINITY_DOMAIN) {
            out.push_back(p[i++]);
        }
        // An unknown type: the daemon's runtime names the error.
    }
    if (i == kMost) return {};
    out.push_back(0);
    return out;
}

} // namespace

cl_int CL_API_CALL rgpu_clCreateSubDevices(cl_device_id in_device,
                                           const cl_device_partition_property* properties,
                                           cl_uint num_entries, cl_device_id* out_devices,
                                           cl_uint* num_devices) {
    return guard([&] {
        Device* d = checked<Device>(in_device);
        if (!d) return CL_INVALID_DEVICE;
        if (!properties || properties[0] == 0) return CL_INVALID_VALUE;
        if (out_devices && num_entries == 0) return CL_INVALID_VALUE;
        std::vector<int64_t> list = partition_list(properties);
        if (list.empty()) return CL_INVALID_VALUE;
        Answer a = d->connection->call([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateCreateSubDevices(fbb, d->index, fbb.CreateVector(list),
                                                     num_entries, out_devices != nullptr));
        });
        if (a.status != CL_SUCCESS) return a.status;
        const wire::SubDevicesCreated* made =
            a.reply ? a.reply->body_as_SubDevicesCreated() : nullptr;
        if (!made) return CL_OUT_OF_RESOURCES;
        if (num_devices) *num_devices = made->count();
        if (out_devices && made->devices()) {
            cl_uint i = 0;
            for (const auto* desc : *made->devices()) {
                std::map<cl_uint, std::vector<uint8_t>> info;
                if (desc->info())
                    for (const auto* v : *desc->info())
                        if (v->value())
                            info[v->param()].assign(v->value()->begin(), v->value()->end());
                if (i < num_entries)
                    out_devices[i++] =
                        Runtime::get().add_device(d->connection, desc->index(), std::move(info), d);
            }
        }
        return CL_SUCCESS;
    });
}

} // namespace rgpu::icd
