// SPDX-License-Identifier: Apache-2.0
// One OpenCL platform's device, context and queue, found by platform name; CL error checking.
#include "cl_target.h"

#include <CL/cl_ext.h>

#include <algorithm>

namespace rgpu::bench {

const char* cl_error_name(cl_int code) {
    switch (code) {
#define RGPU_CASE(name)                                                                            \
    case name:                                                                                     \
        return #name;
        RGPU_CASE(CL_SUCCESS)
        RGPU_CASE(CL_DEVICE_NOT_FOUND)
        RGPU_CASE(CL_DEVICE_NOT_AVAILABLE)
        RGPU_CASE(CL_COMPILER_NOT_AVAILABLE)
        RGPU_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        RGPU_CASE(CL_OUT_OF_RESOURCES)
        RGPU_CASE(CL_OUT_OF_HOST_MEMORY)
        RGPU_CASE(CL_BUILD_PROGRAM_FAILURE)
        RGPU_CASE(CL_MAP_FAILURE)
        RGPU_CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        RGPU_CASE(CL_INVALID_VALUE)
        RGPU_CASE(CL_INVALID_DEVICE_TYPE)
        RGPU_CASE(CL_INVALID_PLATFORM)
        RGPU_CASE(CL_INVALID_DEVICE)
        RGPU_CASE(CL_INVALID_CONTEXT)
        RGPU_CASE(CL_INVALID_QUEUE_PROPERTIES)
        RGPU_CASE(CL_INVALID_COMMAND_QUEUE)
        RGPU_CASE(CL_INVALID_HOST_PTR)
        RGPU_CASE(CL_INVALID_MEM_OBJECT)
        RGPU_CASE(CL_INVALID_BUFFER_SIZE)
        RGPU_CASE(CL_INVALID_BINARY)
        RGPU_CASE(CL_INVALID_BUILD_OPTIONS)
        RGPU_CASE(CL_INVALID_PROGRAM)
        RGPU_CASE(CL_INVALID_PROGRAM_EXECUTABLE)
        RGPU_CASE(CL_INVALID_KERNEL_NAME)
        RGPU_CASE(CL_INVALID_KERNEL_DEFINITION)
        RGPU_CASE(CL_INVALID_KERNEL)
        RGPU_CASE(CL_INVALID_ARG_INDEX)
        RGPU_CASE(CL_INVALID_ARG_VALUE)
        RGPU_CASE(CL_INVALID_ARG_SIZE)
        RGPU_CASE(CL_INVALID_KERNEL_ARGS)
        RGPU_CASE(CL_INVALID_WORK_DIMENSION)
        RGPU_CASE(CL_INVALID_WORK_GROUP_SIZE)
        RGPU_CASE(CL_INVALID_WORK_ITEM_SIZE)
        RGPU_CASE(CL_INVALID_GLOBAL_OFFSET)
        RGPU_CASE(CL_INVALID_EVENT_WAIT_LIST)
        RGPU_CASE(CL_INVALID_EVENT)
        RGPU_CASE(CL_INVALID_OPERATION)
        RGPU_CASE(CL_INVALID_GLOBAL_WORK_SIZE)
        RGPU_CASE(CL_INVALID_PROPERTY)
        RGPU_CASE(CL_PLATFORM_NOT_FOUND_KHR)
#undef RGPU_CASE
    default:
        return "CL_UNKNOWN_ERROR";
    }
}

void cl_check(cl_int code, const char* what) {
    if (code == CL_SUCCESS) return;
    throw std::runtime_error(std::string(what).substr(0, std::string(what).find('(')) +
                             " failed: " + cl_error_name(code) + " (" + std::to_string(code) + ")");
}

ClTarget::~ClTarget() {
    if (queue) {
        clFinish(queue);
        clReleaseCommandQueue(queue);
    }
    if (context) clReleaseContext(context);
}

namespace {

std::string platform_string(cl_platform_id platform, cl_platform_info what) {
    size_t size = 0;
    if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
    std::string s(size, '\0');
    if (clGetPlatformInfo(platform, what, size, s.data(), nullptr) != CL_SUCCESS) return "";
    s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
    return s;
}

std::string device_string(cl_device_id device, cl_device_info what) {
    size_t size = 0;
    if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
    std::string s(size, '\0');
    if (clGetDeviceInfo(device, what, size, s.data(), nullptr) != CL_SUCCESS) return "";
    s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
    return s;
}

std::vector<cl_platform_id> platform_ids() {
    cl_uint count = 0;
    const cl_int err = clGetPlatformIDs(0, nullptr, &count);
    if (err == CL_PLATFORM_NOT_FOUND_KHR || count == 0) return {};
    cl_check(err, "clGetPlatformIDs");
    std::vector<cl_platform_id> ids(count);
    RGPU_CL_CHECK(clGetPlatformIDs(count, ids.data(), nullptr));
    return ids;
}

} // namespace

std::vector<std::string> platform_names() {
    std::vector<std::string> names;
    for (cl_platform_id id : platform_ids())
        names.push_back(platform_string(id, CL_PLATFORM_NAME));
    return names;
}

std::unique_ptr<ClTarget> open_target(const std::string& platform_name) {
    auto target = std::make_unique<ClTarget>();
    std::string seen;
    for (cl_platform_id id : platform_ids()) {
        const std::string name = platform_string(id, CL_PLATFORM_NAME);
        seen += (seen.empty() ? "" : ", ") + ("\"" + name + "\"");
        if (name == platform_name && !target->platform) target->platform = id;
    }
    if (!target->platform)
        throw std::runtime_error("platform \"" + platform_name + "\" not found (loader reports: " +
                                 (seen.empty() ? "no platforms" : seen) + ")");
    target->platform_name = platform_name;

    cl_uint count = 0;
    RGPU_CL_CHECK(clGetDeviceIDs(target->platform, CL_DEVICE_TYPE_ALL, 1, &target->device, &count));
    target->device_name = device_string(target->device, CL_DEVICE_NAME);

    cl_int err = CL_SUCCESS;
    const cl_context_properties props[] = {
        CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(target->platform), 0};
    target->context = clCreateContext(props, 1, &target->device, nullptr, nullptr, &err);
    cl_check(err, "clCreateContext");
    target->queue = clCreateCommandQueue(target->context, target->device, 0, &err);
    cl_check(err, "clCreateCommandQueue");
    return target;
}

cl_program build_program(const ClTarget& target, const char* source) {
    cl_int err = CL_SUCCESS;
    ClProgram program(clCreateProgramWithSource(target.context, 1, &source, nullptr, &err));
    cl_check(err, "clCreateProgramWithSource");
    err = clBuildProgram(program, 1, &target.device, "", nullptr, nullptr);
    if (err != CL_SUCCESS) {
        size_t size = 0;
        std::string log;
        if (clGetProgramBuildInfo(program, target.device, CL_PROGRAM_BUILD_LOG, 0, nullptr,
                                  &size) == CL_SUCCESS &&
            size > 1) {
            log.resize(size);
            clGetProgramBuildInfo(program, target.device, CL_PROGRAM_BUILD_LOG, size, log.data(),
                                  nullptr);
            log.resize(std::min<size_t>(log.find('\0'), 400));
        }
        throw std::runtime_error(std::string("clBuildProgram failed: ") + cl_error_name(err) +
                                 (log.empty() ? "" : "; log: " + log));
    }
    cl_program result = program.handle;
    program.handle = nullptr;
    return result;
}

} // namespace rgpu::bench
