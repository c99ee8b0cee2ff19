// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the example programs: OpenCL error checks and platform/device selection.
//
// Plain OpenCL 1.2 host code, nothing specific to rgpu: the examples run the same on any
// platform the ICD loader offers.
#ifndef RGPU_EXAMPLES_EXAMPLE_UTIL_H
#define RGPU_EXAMPLES_EXAMPLE_UTIL_H

#include <CL/cl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char* cl_error_name(cl_int code) {
    switch (code) {
#define CASE(name)                                                                                 \
    case name:                                                                                     \
        return #name
        CASE(CL_SUCCESS);
        CASE(CL_DEVICE_NOT_FOUND);
        CASE(CL_DEVICE_NOT_AVAILABLE);
        CASE(CL_COMPILER_NOT_AVAILABLE);
        CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        CASE(CL_OUT_OF_RESOURCES);
        CASE(CL_OUT_OF_HOST_MEMORY);
        CASE(CL_PROFILING_INFO_NOT_AVAILABLE);
        CASE(CL_MEM_COPY_OVERLAP);
        CASE(CL_BUILD_PROGRAM_FAILURE);
        CASE(CL_MAP_FAILURE);
        CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        CASE(CL_INVALID_VALUE);
        CASE(CL_INVALID_DEVICE_TYPE);
        CASE(CL_INVALID_PLATFORM);
        CASE(CL_INVALID_DEVICE);
        CASE(CL_INVALID_CONTEXT);
        CASE(CL_INVALID_QUEUE_PROPERTIES);
        CASE(CL_INVALID_COMMAND_QUEUE);
        CASE(CL_INVALID_HOST_PTR);
        CASE(CL_INVALID_MEM_OBJECT);
        CASE(CL_INVALID_BINARY);
        CASE(CL_INVALID_BUILD_OPTIONS);
        CASE(CL_INVALID_PROGRAM);
        CASE(CL_INVALID_PROGRAM_EXECUTABLE);
        CASE(CL_INVALID_KERNEL_NAME);
        CASE(CL_INVALID_KERNEL_DEFINITION);
        CASE(CL_INVALID_KERNEL);
        CASE(CL_INVALID_ARG_INDEX);
        CASE(CL_INVALID_ARG_VALUE);
        CASE(CL_INVALID_ARG_SIZE);
        CASE(CL_INVALID_KERNEL_ARGS);
        CASE(CL_INVALID_WORK_DIMENSION);
        CASE(CL_INVALID_WORK_GROUP_SIZE);
        CASE(CL_INVALID_WORK_ITEM_SIZE);
        CASE(CL_INVALID_GLOBAL_OFFSET);
        CASE(CL_INVALID_EVENT_WAIT_LIST);
        CASE(CL_INVALID_EVENT);
        CASE(CL_INVALID_OPERATION);
        CASE(CL_INVALID_BUFFER_SIZE);
        CASE(CL_INVALID_GLOBAL_WORK_SIZE);
        CASE(CL_INVALID_PROPERTY);
#undef CASE
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

// Checks the cl_int returned by (or stored for) an OpenCL call; prints the call and exits on error.
#define CL_CHECK_CODE(call_name, code)                                                             \
    do {                                                                                           \
        cl_int cl_check_code_ = (code);                                                            \
        if (cl_check_code_ != CL_SUCCESS) {                                                        \
            fprintf(stderr, "%s:%d: %s failed: %s (%d)\n", __FILE__, __LINE__, (call_name),        \
                    cl_error_name(cl_check_code_), (int)cl_check_code_);                           \
            exit(EXIT_FAILURE);                                                                    \
        }                                                                                          \
    } while (0)

// Wraps a call that returns cl_int: CL_CHECK(clFinish(queue));
#define CL_CHECK(call) CL_CHECK_CODE(#call, (call))

// Reads a string-valued clGet*Info into a fixed buffer; never fails silently.
static inline void platform_name(cl_platform_id platform, char* out, size_t size) {
    CL_CHECK_CODE("clGetPlatformInfo(CL_PLATFORM_NAME)",
                  clGetPlatformInfo(platform, CL_PLATFORM_NAME, size, out, NULL));
}

static inline void device_name(cl_device_id device, char* out, size_t size) {
    CL_CHECK_CODE("clGetDeviceInfo(CL_DEVICE_NAME)",
                  clGetDeviceInfo(device, CL_DEVICE_NAME, size, out, NULL));
}

// Parses an optional leading "--platform SUBSTRING" from argv. Returns the substring (or NULL)
// and advances *first_arg past the option so the caller can read its positional arguments.
static inline const char* parse_platform_option(int argc, char** argv, int* first_arg) {
    *first_arg = 1;
    if (argc > 1 && strcmp(argv[1], "--platform") == 0) {
        if (argc < 3) {
            fprintf(stderr, "%s: --platform needs a SUBSTRING of the platform name\n", argv[0]);
            exit(EXIT_FAILURE);
        }
        *first_arg = 3;
        return argv[2];
    }
    return NULL;
}

// Picks the first platform whose CL_PLATFORM_NAME contains `wanted` (any platform when NULL)
// and that has at least one device, and returns that platform's first device.
static inline void select_device(const char* wanted, cl_platform_id* platform_out,
                                 cl_device_id* device_out) {
    cl_uint count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &count);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && count == 0)) {
        fprintf(stderr, "no OpenCL platform found (check OCL_ICD_VENDORS and the .icd files)\n");
        exit(EXIT_FAILURE);
    }
    CL_CHECK_CODE("clGetPlatformIDs", err);

    cl_platform_id* platforms = (cl_platform_id*)malloc(count * sizeof(cl_platform_id));
    if (platforms == NULL) {
        fprintf(stderr, "out of host memory\n");
        exit(EXIT_FAILURE);
    }
    CL_CHECK(clGetPlatformIDs(count, platforms, NULL));

    for (cl_uint i = 0; i < count; ++i) {
        char name[256] = {0};
        platform_name(platforms[i], name, sizeof(name));
        if (wanted != NULL && strstr(name, wanted) == NULL) continue;

        cl_device_id device = NULL;
        err = clGetDeviceIDs(platforms[i], CL_DEVICE_TYPE_ALL, 1, &device, NULL);
        if (err == CL_DEVICE_NOT_FOUND) continue;
        CL_CHECK_CODE("clGetDeviceIDs", err);

        *platform_out = platforms[i];
        *device_out = device;
        free(platforms);
        return;
    }
    free(platforms);
    if (wanted != NULL)
        fprintf(stderr, "no OpenCL platform named like \"%s\" with a device\n", wanted);
    else
        fprintf(stderr, "no OpenCL platform has a device\n");
    exit(EXIT_FAILURE);
}

// Prints the build log of `program` for `device` to stderr (after a failed clBuildProgram).
static inline void print_build_log(cl_program program, cl_device_id device) {
    size_t size = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
            CL_SUCCESS ||
        size == 0)
        return;
    char* log = (char*)malloc(size + 1);
    if (log == NULL) return;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log, NULL) ==
        CL_SUCCESS) {
        log[size] = '\0';
        fprintf(stderr, "build log:\n%s\n", log);
    }
    free(log);
}

#endif // RGPU_EXAMPLES_EXAMPLE_UTIL_H
