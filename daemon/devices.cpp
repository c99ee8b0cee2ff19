// SPDX-License-Identifier: Apache-2.0
// Local device discovery and the device-info snapshot sent in every Welcome.
#include "devices.h"

#include <CL/cl_ext.h>
#include <spdlog/spdlog.h>

namespace rgpu::daemon {
namespace {

std::string platform_string(cl_platform_id platform, cl_platform_info param) {
    size_t size = 0;
    if (clGetPlatformInfo(platform, param, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
    std::string out(size, '\0');
    if (clGetPlatformInfo(platform, param, size, out.data(), nullptr) != CL_SUCCESS) return {};
    out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
    return out;
}

bool is_handle_param(cl_uint param) {
    return param == CL_DEVICE_PLATFORM || param == CL_DEVICE_PARENT_DEVICE;
}

/// Parameter ranges worth asking: the core range and the vendor ranges clinfo prints.
/// Unknown parameters cost one CL_INVALID_VALUE each, once, at start-up.
constexpr std::pair<cl_uint, cl_uint> kParamRanges[] = {
    {0x1000, 0x10FF}, {0x1290, 0x12B0}, {0x2030, 0x2060}, {0x4000, 0x4060}, {0x40A0, 0x40C0},
    {0x40E0, 0x40E0}, {0x410F, 0x410F}, {0x41E0, 0x41F0}, {0x4230, 0x4260},
};

} // namespace

std::vector<std::pair<cl_uint, std::vector<uint8_t>>> snapshot_info(cl_device_id device) {
    std::vector<std::pair<cl_uint, std::vector<uint8_t>>> info;
    for (auto [first, last] : kParamRanges) {
        for (cl_uint param = first; param <= last; ++param) {
            if (is_handle_param(param)) continue;
            size_t size = 0;
            if (clGetDeviceInfo(device, param, 0, nullptr, &size) != CL_SUCCESS) continue;
            std::vector<uint8_t> value(size);
            if (size && clGetDeviceInfo(device, param, size, value.data(), nullptr) != CL_SUCCESS)
                continue;
            info.emplace_back(param, std::move(value));
        }
    }
    return info;
}

std::vector<LocalDevice> discover_devices(bool with_info) {
    std::vector<LocalDevice> devices;
    cl_uint num_platforms = 0;
    if (clGetPlatformIDs(0, nullptr, &num_platforms) != CL_SUCCESS || num_platforms == 0) {
        spdlog::warn("no local OpenCL platform found");
        return devices;
    }
    std::vector<cl_platform_id> platforms(num_platforms);
    clGetPlatformIDs(num_platforms, platforms.data(), nullptr);
    for (cl_platform_id platform : platforms) {
        std::string name = platform_string(platform, CL_PLATFORM_NAME);
        if (name == "rgpu" || platform_string(platform, CL_PLATFORM_ICD_SUFFIX_KHR) == "rgpu") {
            spdlog::info("skipping platform '{}': it is rgpu itself", name);
            continue;
        }
        cl_uint num_devices = 0;
        if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &num_devices) != CL_SUCCESS)
            continue;
        std::vector<cl_device_id> ids(num_devices);
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, num_devices, ids.data(), nullptr);
        for (cl_device_id id : ids) {
            LocalDevice d;
            d.index = static_cast<uint32_t>(devices.size());
            d.platform = platform;
            d.device = id;
            d.platform_name = name;
            size_t size = 0;
            clGetDeviceInfo(id, CL_DEVICE_NAME, 0, nullptr, &size);
            d.name.resize(size);
            clGetDeviceInfo(id, CL_DEVICE_NAME, size, d.name.data(), nullptr);
            if (!d.name.empty() && d.name.back() == '\0') d.name.pop_back();
            if (!with_info) {
                devices.push_back(std::move(d));
                continue;
            }
            d.info = snapshot_info(id);
            spdlog::info("serving device {}: '{}' on platform '{}' ({} info values)", d.index,
                         d.name, name, d.info.size());
            devices.push_back(std::move(d));
        }
    }
    return devices;
}

} // namespace rgpu::daemon
