// SPDX-License-Identifier: Apache-2.0
// Scenario of device info: clGetDeviceInfo values the remote device must share with POCL.
#include "scenarios.h"

#include "scenario_support.h"

#include <set>
#include <sstream>
#include <string>

namespace rgpu::e2e::scenarios {

using namespace detail;

ScenarioResult device_info(cl_platform_id platform) {
    ScenarioResult r;
    cl_device_id device = nullptr;
    SETUP("clGetDeviceIDs", clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr));
    const auto query = [&](cl_device_info param) {
        return [device, param](size_t s, void* v, size_t* rs) {
            return clGetDeviceInfo(device, param, s, v, rs);
        };
    };
#define DEVICE_STRING(param) r.fact(#param, info_string(r, #param, query(param)))
#define DEVICE_VALUE(type, param) r.fact(#param, info_value<type>(r, #param, query(param)))
    DEVICE_STRING(CL_DEVICE_NAME);
    DEVICE_STRING(CL_DEVICE_VENDOR);
    DEVICE_STRING(CL_DEVICE_VERSION);
    DEVICE_STRING(CL_DRIVER_VERSION);
    DEVICE_STRING(CL_DEVICE_OPENCL_C_VERSION);
    DEVICE_STRING(CL_DEVICE_PROFILE);
    // rgpu hides what it cannot carry yet (icd/device_caps.cpp); everything else must match.
    {
        static const std::set<std::string> hidden = {"cl_khr_3d_image_writes",
                                                     "cl_khr_depth_images",
                                                     "cl_khr_image2d_from_buffer",
                                                     "cl_khr_mipmap_image",
                                                     "cl_khr_mipmap_image_writes",
                                                     "cl_khr_srgb_image_writes",
                                                     "cl_khr_gl_sharing",
                                                     "cl_khr_command_buffer",
                                                     "cl_khr_il_program",
                                                     "cl_khr_subgroups",
                                                     "cl_pocl_content_size",
                                                     "cl_ext_device_fission",
                                                     "cl_khr_suggested_local_work_size",
                                                     "cl_khr_priority_hints",
                                                     "cl_khr_throttle_hints"};
        std::istringstream names(
            info_string(r, "CL_DEVICE_EXTENSIONS", query(CL_DEVICE_EXTENSIONS), false));
        std::set<std::string> shown;
        for (std::string name; names >> name;)
            if (!hidden.count(name)) shown.insert(name);
        std::string joined;
        for (auto& name : shown)
            joined += name + " ";
        r.fact("CL_DEVICE_EXTENSIONS that rgpu carries", joined);
    }
    DEVICE_VALUE(cl_device_type, CL_DEVICE_TYPE);
    DEVICE_VALUE(cl_uint, CL_DEVICE_VENDOR_ID);
    DEVICE_VALUE(cl_uint, CL_DEVICE_MAX_COMPUTE_UNITS);
    DEVICE_VALUE(cl_uint, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS);
    DEVICE_VALUE(size_t, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    DEVICE_VALUE(cl_ulong, CL_DEVICE_LOCAL_MEM_SIZE);
    DEVICE_VALUE(cl_ulong, CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE);
    DEVICE_VALUE(size_t, CL_DEVICE_MAX_PARAMETER_SIZE);
    DEVICE_VALUE(cl_uint, CL_DEVICE_ADDRESS_BITS);
    DEVICE_VALUE(cl_uint, CL_DEVICE_MEM_BASE_ADDR_ALIGN);
    DEVICE_VALUE(cl_bool, CL_DEVICE_ENDIAN_LITTLE);
    DEVICE_VALUE(cl_bool, CL_DEVICE_AVAILABLE);
    DEVICE_VALUE(cl_bool, CL_DEVICE_COMPILER_AVAILABLE);
    DEVICE_VALUE(cl_command_queue_properties, CL_DEVICE_QUEUE_PROPERTIES);
    DEVICE_VALUE(cl_device_fp_config, CL_DEVICE_SINGLE_FP_CONFIG);
    DEVICE_VALUE(cl_uint, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT);
    DEVICE_VALUE(size_t, CL_DEVICE_PROFILING_TIMER_RESOLUTION);
#undef DEVICE_STRING
#undef DEVICE_VALUE
    // POCL sizes global memory from what the host has free when the process starts, so the
    // daemon's snapshot and this process's own POCL may differ by a little: compare presence.
    for (cl_device_info param : {CL_DEVICE_GLOBAL_MEM_SIZE, CL_DEVICE_MAX_MEM_ALLOC_SIZE}) {
        const char* name = param == CL_DEVICE_GLOBAL_MEM_SIZE ? "CL_DEVICE_GLOBAL_MEM_SIZE > 0"
                                                              : "CL_DEVICE_MAX_MEM_ALLOC_SIZE > 0";
        r.fact(name, info_value<cl_ulong>(r, name, query(param)) > 0);
    }
    r.fact("CL_DEVICE_MAX_WORK_ITEM_SIZES",
           join(info_array<size_t>(r, "CL_DEVICE_MAX_WORK_ITEM_SIZES",
                                   query(CL_DEVICE_MAX_WORK_ITEM_SIZES))));
    const auto owner =
        info_value<cl_platform_id>(r, "CL_DEVICE_PLATFORM", query(CL_DEVICE_PLATFORM));
    r.fact("CL_DEVICE_PLATFORM is the platform", owner == platform);
    return r;
}

} // namespace rgpu::e2e::scenarios
