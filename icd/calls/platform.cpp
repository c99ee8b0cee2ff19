// SPDX-License-Identifier: Apache-2.0
// Platform entry points, including the symbols the ICD loader looks up by name.
#include "../api.h"
#include "../entry_points.h"
#include "../runtime.h"

#include <CL/cl_ext.h>
#include <CL/cl_rgpu.h>

#include <cstdlib>
#include <cstring>

namespace rgpu::icd {
namespace {

constexpr char kPlatformVersion[] = "OpenCL 3.0 rgpu 0.1.0";

cl_version numeric_version() {
    return CL_MAKE_VERSION(3, 0, 0);
}

} // namespace

cl_int CL_API_CALL rgpu_clGetPlatformIDs(cl_uint num_entries, cl_platform_id* platforms,
                                         cl_uint* num_platforms) {
    if ((num_entries == 0 && platforms) || (!platforms && !num_platforms)) return CL_INVALID_VALUE;
    // Inside rgpu-daemon this ICD steps aside: serving rgpu through itself would loop.
    if (std::getenv("RGPU_DAEMON")) {
        if (num_platforms) *num_platforms = 0;
        return CL_PLATFORM_NOT_FOUND_KHR;
    }
    if (platforms) platforms[0] = Runtime::get().platform();
    if (num_platforms) *num_platforms = 1;
    return CL_SUCCESS;
}

cl_int CL_API_CALL rgpu_clGetPlatformInfo(cl_platform_id platform, cl_platform_info param,
                                          size_t size, void* value, size_t* size_ret) {
    if (platform && !checked<Platform>(platform)) return CL_INVALID_PLATFORM;
    switch (param) {
    case CL_PLATFORM_PROFILE:
        return info_string("FULL_PROFILE", size, value, size_ret);
    case CL_PLATFORM_VERSION:
        return info_string(kPlatformVersion, size, value, size_ret);
    case CL_PLATFORM_NAME:
        return info_string("rgpu", size, value, size_ret);
    case CL_PLATFORM_VENDOR:
        return info_string("rgpu project", size, value, size_ret);
    case CL_PLATFORM_EXTENSIONS:
        return info_string("cl_khr_icd " CL_RGPU_SESSION_EXTENSION_NAME, size, value, size_ret);
    case CL_PLATFORM_ICD_SUFFIX_KHR:
        return info_string("rgpu", size, value, size_ret);
    case CL_PLATFORM_HOST_TIMER_RESOLUTION:
        return info_value(cl_ulong{0}, size, value, size_ret);
    case CL_PLATFORM_NUMERIC_VERSION:
        return info_value(numeric_version(), size, value, size_ret);
    case CL_PLATFORM_EXTENSIONS_WITH_VERSION: {
        const cl_name_version extensions[2] = {
            {CL_MAKE_VERSION(1, 0, 0), "cl_khr_icd"},
            {CL_RGPU_SESSION_EXTENSION_VERSION, CL_RGPU_SESSION_EXTENSION_NAME}};
        if (size_ret) *size_ret = sizeof extensions;
        if (value) {
            if (size < sizeof extensions) return CL_INVALID_VALUE;
            std::memcpy(value, extensions, sizeof extensions);
        }
        return CL_SUCCESS;
    }
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clUnloadPlatformCompiler(cl_platform_id platform) {
    return checked<Platform>(platform) ? CL_SUCCESS : CL_INVALID_PLATFORM;
}

cl_int CL_API_CALL rgpu_clUnloadCompiler() {
    return CL_SUCCESS;
}

cl_int CL_API_CALL rgpu_clDetachRGPU(cl_platform_id platform) {
    if (!checked<Platform>(platform)) return CL_INVALID_PLATFORM;
    return Runtime::get().detach();
}

cl_int CL_API_CALL rgpu_clAttachRGPU(cl_platform_id platform) {
    if (!checked<Platform>(platform)) return CL_INVALID_PLATFORM;
    return Runtime::get().attach();
}

void* CL_API_CALL rgpu_clGetExtensionFunctionAddress(const char* name) {
    if (!name) return nullptr;
    if (std::strcmp(name, "clIcdGetPlatformIDsKHR") == 0)
        return reinterpret_cast<void*>(&clIcdGetPlatformIDsKHR);
    if (std::strcmp(name, "clDetachRGPU") == 0) {
        clDetachRGPU_fn fn = &rgpu_clDetachRGPU; // checked against the public header's type
        return reinterpret_cast<void*>(fn);
    }
    if (std::strcmp(name, "clAttachRGPU") == 0) {
        clAttachRGPU_fn fn = &rgpu_clAttachRGPU;
        return reinterpret_cast<void*>(fn);
    }
    return nullptr;
}

void* CL_API_CALL rgpu_clGetExtensionFunctionAddressForPlatform(cl_platform_id platform,
                                                                const char* name) {
    if (!checked<Platform>(platform)) return nullptr;
    return rgpu_clGetExtensionFunctionAddress(name);
}

} // namespace rgpu::icd

// The symbols ICD loaders resolve with dlsym (ocl-icd also looks up clGetPlatformInfo to read
// the ICD suffix); everything else goes through kDispatch.
extern "C" {

__attribute__((visibility("default"))) CL_API_ENTRY cl_int CL_API_CALL
clIcdGetPlatformIDsKHR(cl_uint num_entries, cl_platform_id* platforms, cl_uint* num_platforms) {
    return rgpu::icd::rgpu_clGetPlatformIDs(num_entries, platforms, num_platforms);
}

__attribute__((visibility("default"))) CL_API_ENTRY void* CL_API_CALL
clGetExtensionFunctionAddress(const char* name) {
    return rgpu::icd::rgpu_clGetExtensionFunctionAddress(name);
}

__attribute__((visibility("default"))) CL_API_ENTRY void* CL_API_CALL
clGetExtensionFunctionAddressForPlatform(cl_platform_id platform, const char* name) {
    return rgpu::icd::rgpu_clGetExtensionFunctionAddressForPlatform(platform, name);
}

__attribute__((visibility("default"))) CL_API_ENTRY cl_int CL_API_CALL clGetPlatformInfo(
    cl_platform_id platform, cl_platform_info param, size_t size, void* value, size_t* size_ret) {
    return rgpu::icd::rgpu_clGetPlatformInfo(platform, param, size, value, size_ret);
}

} // extern "C"
