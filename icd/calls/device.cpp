// SPDX-License-Identifier: Apache-2.0
// Device entry points: answered from the handshake's info snapshot, without a round trip.
#include "../api.h"
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
        return info_value(cl_device_id{nullptr}, size, value, size_ret);
    case CL_DEVICE_REFERENCE_COUNT:
        return info_value(cl_uint{1}, size, value, size_ret);
    default:
        break;
    }
    auto it = d->info.find(param);
    if (it == d->info.end()) return CL_INVALID_VALUE;
    return copy_info(it->second.data(), it->second.size(), size, value, size_ret);
}

cl_int CL_API_CALL rgpu_clRetainDevice(cl_device_id device) {
    return checked<Device>(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

cl_int CL_API_CALL rgpu_clReleaseDevice(cl_device_id device) {
    return checked<Device>(device) ? CL_SUCCESS : CL_INVALID_DEVICE;
}

} // namespace rgpu::icd
