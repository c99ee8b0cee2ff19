// SPDX-License-Identifier: Apache-2.0
// Masking of device capabilities rgpu cannot offer yet.
#include "device_caps.h"

#include <CL/cl_ext.h>

#include <cstring>
#include <string>
#include <string_view>

namespace rgpu::icd {
namespace {

constexpr std::string_view kHiddenExtensions[] = {
    // Images travel without mipmaps (no level in the image transfer messages).
    "cl_khr_mipmap_image",
    "cl_khr_mipmap_image_writes",
    "cl_khr_srgb_image_writes",
    "cl_khr_gl_sharing",
    "cl_khr_gl_event",
    "cl_khr_gl_depth_images",
    "cl_khr_gl_msaa_sharing",
    "cl_khr_egl_image",
    "cl_khr_egl_event",
    "cl_khr_command_buffer",
    "cl_khr_command_buffer_mutable_dispatch",
    "cl_khr_il_program",
    "cl_khr_spirv_linkonce_odr",
    "cl_khr_external_memory",
    "cl_khr_external_semaphore",
    "cl_khr_semaphore",
    "cl_ext_device_fission",
    "cl_khr_suggested_local_work_size",
    "cl_intel_unified_shared_memory",
    "cl_arm_shared_virtual_memory",
    "cl_khr_priority_hints",
    "cl_khr_throttle_hints",
    "cl_khr_subgroups",
    "cl_pocl_content_size",
    "cl_khr_device_enqueue_local_arg_types",
    "cl_khr_create_command_queue_on_device",
    "cl_khr_pipes",
};

constexpr std::string_view kHiddenFeatures[] = {"__opencl_c_pipes", "__opencl_c_device_enqueue"};

template <class T> std::vector<uint8_t> bytes_of(const T& value) {
    std::vector<uint8_t> out(sizeof value);
    std::memcpy(out.data(), &value, sizeof value);
    return out;
}

std::vector<uint8_t> c_string(const std::string& s) {
    std::vector<uint8_t> out(s.begin(), s.end());
    out.push_back(0);
    return out;
}

/// Drops the space-separated names `hidden` says to drop.
std::string filter_names(std::string_view list, bool (*hidden)(std::string_view)) {
    std::string out;
    while (!list.empty()) {
        size_t end = list.find(' ');
        std::string_view name = list.substr(0, end);
        list = end == std::string_view::npos ? std::string_view{} : list.substr(end + 1);
        if (name.empty() || hidden(name)) continue;
        if (!out.empty()) out += ' ';
        out += name;
    }
    return out;
}

/// Drops the cl_name_version entries `hidden` says to drop.
std::vector<uint8_t> filter_versions(const std::vector<uint8_t>& raw,
                                     bool (*hidden)(std::string_view)) {
    std::vector<uint8_t> out;
    for (size_t at = 0; at + sizeof(cl_name_version) <= raw.size(); at += sizeof(cl_name_version)) {
        cl_name_version entry;
        std::memcpy(&entry, raw.data() + at, sizeof entry);
        if (hidden(std::string_view(entry.name, strnlen(entry.name, sizeof entry.name)))) continue;
        out.insert(out.end(), raw.begin() + at, raw.begin() + at + sizeof entry);
    }
    return out;
}

bool is_hidden_feature(std::string_view name) {
    for (auto hidden : kHiddenFeatures)
        if (name == hidden) return true;
    return false;
}

bool is_hidden_extension(std::string_view name) {
    for (auto hidden : kHiddenExtensions)
        if (name == hidden) return true;
    return false;
}

} // namespace

void hide_unsupported(std::map<cl_uint, std::vector<uint8_t>>& info) {
    if (auto it = info.find(CL_DEVICE_EXTENSIONS); it != info.end()) {
        std::string list(it->second.begin(), it->second.end());
        list.resize(strnlen(list.c_str(), list.size()));
        it->second = c_string(filter_names(list, is_hidden_extension));
    }
    if (auto it = info.find(CL_DEVICE_EXTENSIONS_WITH_VERSION); it != info.end())
        it->second = filter_versions(it->second, is_hidden_extension);
    if (auto it = info.find(CL_DEVICE_OPENCL_C_FEATURES); it != info.end())
        it->second = filter_versions(it->second, is_hidden_feature);

    auto set_if_present = [&](cl_uint param, std::vector<uint8_t> value) {
        if (auto it = info.find(param); it != info.end()) it->second = std::move(value);
    };
    const auto no = bytes_of(cl_bool{CL_FALSE});
    const auto zero_uint = bytes_of(cl_uint{0});
    // Images and samplers are carried: their support and limits are the remote device's.
    for (cl_uint p : {CL_DEVICE_MAX_PIPE_ARGS, CL_DEVICE_PIPE_MAX_ACTIVE_RESERVATIONS,
                      CL_DEVICE_PIPE_MAX_PACKET_SIZE, CL_DEVICE_MAX_ON_DEVICE_QUEUES,
                      CL_DEVICE_MAX_ON_DEVICE_EVENTS, CL_DEVICE_QUEUE_ON_DEVICE_PREFERRED_SIZE,
                      CL_DEVICE_QUEUE_ON_DEVICE_MAX_SIZE})
        set_if_present(p, zero_uint);
    // Coarse-grained buffer SVM is carried (the client reserves the device's addresses); fine
    // grain and system SVM would need the client's memory to be the device's at every moment.
    if (auto it = info.find(CL_DEVICE_SVM_CAPABILITIES);
        it != info.end() && it->second.size() == sizeof(cl_device_svm_capabilities)) {
        cl_device_svm_capabilities caps = 0;
        std::memcpy(&caps, it->second.data(), sizeof caps);
        it->second = bytes_of(caps & cl_device_svm_capabilities{CL_DEVICE_SVM_COARSE_GRAIN_BUFFER});
    }
    set_if_present(CL_DEVICE_PIPE_SUPPORT, no);
    set_if_present(CL_DEVICE_DEVICE_ENQUEUE_CAPABILITIES,
                   bytes_of(cl_device_device_enqueue_capabilities{0}));
    set_if_present(CL_DEVICE_QUEUE_ON_DEVICE_PROPERTIES, bytes_of(cl_command_queue_properties{0}));
    set_if_present(CL_DEVICE_BUILT_IN_KERNELS, c_string(""));
    set_if_present(CL_DEVICE_BUILT_IN_KERNELS_WITH_VERSION, {});
    set_if_present(CL_DEVICE_IL_VERSION, c_string(""));
    set_if_present(CL_DEVICE_ILS_WITH_VERSION, {});
    info.try_emplace(CL_DEVICE_PARTITION_TYPE); // a served device's: empty, as natively
    // Native kernels are host functions of the application: they cannot run on the daemon.
    if (auto it = info.find(CL_DEVICE_EXECUTION_CAPABILITIES);
        it != info.end() && it->second.size() == sizeof(cl_device_exec_capabilities)) {
        cl_device_exec_capabilities caps = 0;
        std::memcpy(&caps, it->second.data(), sizeof caps);
        it->second = bytes_of(cl_device_exec_capabilities{
            caps & ~cl_device_exec_capabilities(CL_EXEC_NATIVE_KERNEL)});
    }
    // Command buffers are hidden with their extension.
    for (cl_uint p = 0x1290; p <= 0x12B0; ++p)
        info.erase(p);
}

} // namespace rgpu::icd
