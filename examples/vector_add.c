// SPDX-License-Identifier: Apache-2.0
// vector_add: c = a + SCALE * b on an OpenCL device, verified on the host.
//
// Usage: vector_add [--platform SUBSTRING] [ELEMENTS]   (default 1048576 elements)
//
// A plain OpenCL 1.2 program. It shows both ways to fill a buffer (CL_MEM_COPY_HOST_PTR and a
// non-blocking clEnqueueWriteBuffer whose event the kernel waits for), a build option, buffer
// and scalar kernel arguments, an NDRange launch and a blocking read.
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define SCALE 2.0f
#define LOCAL_SIZE 256

static const char* kernel_source =
    "__kernel void vector_add(__global const float* a, __global const float* b,\n"
    "                         __global float* c, const uint n) {\n"
    "    size_t i = get_global_id(0);\n"
    "    if (i < n) c[i] = a[i] + SCALE * b[i];\n"
    "}\n";

int main(int argc, char** argv) {
    int first_arg = 1;
    const char* wanted_platform = parse_platform_option(argc, argv, &first_arg);
    cl_uint n = 1u << 20;
    if (first_arg < argc) {
        char* end = NULL;
        unsigned long parsed = strtoul(argv[first_arg], &end, 10);
        if (*end != '\0' || parsed == 0 || parsed > (1ul << 28)) {
            fprintf(stderr, "usage: %s [--platform SUBSTRING] [ELEMENTS (1..268435456)]\n",
                    argv[0]);
            return EXIT_FAILURE;
        }
        n = (cl_uint)parsed;
    }

    cl_platform_id platform;
    cl_device_id device;
    select_device(wanted_platform, &platform, &device);
    char name[256];
    platform_name(platform, name, sizeof(name));
    printf("platform: %s\n", name);
    device_name(device, name, sizeof(name));
    printf("device:   %s\n", name);
    printf("elements: %u\n", n);

    const size_t bytes = (size_t)n * sizeof(float);
    float* a = (float*)malloc(bytes);
    float* b = (float*)malloc(bytes);
    float* c = (float*)malloc(bytes);
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "out of host memory for %u elements\n", n);
        return EXIT_FAILURE;
    }
    // Halves and quarters of integers below 2^28 stay exact in float, so the check is tight.
    for (cl_uint i = 0; i < n; ++i) {
        a[i] = (float)(i % 65536) * 0.5f;
        b[i] = (float)((n - i) % 65536) * 0.25f;
        c[i] = -1.0f;
    }

    cl_int err;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CL_CHECK_CODE("clCreateContext", err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    CL_CHECK_CODE("clCreateCommandQueue", err);

    cl_mem buf_a = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, a, &err);
    CL_CHECK_CODE("clCreateBuffer(a, CL_MEM_COPY_HOST_PTR)", err);
    cl_mem buf_b = clCreateBuffer(context, CL_MEM_READ_ONLY, bytes, NULL, &err);
    CL_CHECK_CODE("clCreateBuffer(b)", err);
    cl_mem buf_c = clCreateBuffer(context, CL_MEM_WRITE_ONLY, bytes, NULL, &err);
    CL_CHECK_CODE("clCreateBuffer(c)", err);

    // Non-blocking: `b` must stay untouched until `write_done` completes, which the kernel
    // launch below waits for.
    cl_event write_done;
    CL_CHECK(clEnqueueWriteBuffer(queue, buf_b, CL_FALSE, 0, bytes, b, 0, NULL, &write_done));

    cl_program program = clCreateProgramWithSource(context, 1, &kernel_source, NULL, &err);
    CL_CHECK_CODE("clCreateProgramWithSource", err);
    const char* options = "-DSCALE=2.0f -cl-std=CL1.2";
    err = clBuildProgram(program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS) print_build_log(program, device);
    CL_CHECK_CODE("clBuildProgram", err);
    cl_kernel kernel = clCreateKernel(program, "vector_add", &err);
    CL_CHECK_CODE("clCreateKernel", err);

    CL_CHECK(clSetKernelArg(kernel, 0, sizeof(cl_mem), &buf_a));
    CL_CHECK(clSetKernelArg(kernel, 1, sizeof(cl_mem), &buf_b));
    CL_CHECK(clSetKernelArg(kernel, 2, sizeof(cl_mem), &buf_c));
    CL_CHECK(clSetKernelArg(kernel, 3, sizeof(cl_uint), &n));

    // The global size is rounded up to whole work-groups; the kernel ignores the excess items.
    size_t local = LOCAL_SIZE;
    size_t device_max_group = 0;
    CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(device_max_group),
                             &device_max_group, NULL));
    while (local > device_max_group && local > 1)
        local /= 2;
    size_t global = ((size_t)n + local - 1) / local * local;
    cl_event kernel_done;
    CL_CHECK(clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, &local, 1, &write_done,
                                    &kernel_done));
    CL_CHECK(clEnqueueReadBuffer(queue, buf_c, CL_TRUE, 0, bytes, c, 1, &kernel_done, NULL));

    cl_int status = 0;
    CL_CHECK(clGetEventInfo(kernel_done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status,
                            NULL));
    if (status != CL_COMPLETE) {
        fprintf(stderr, "vector_add: kernel event ended with status %d\n", (int)status);
        return EXIT_FAILURE;
    }

    cl_uint mismatches = 0;
    for (cl_uint i = 0; i < n; ++i) {
        float expected = a[i] + SCALE * b[i];
        if (fabsf(c[i] - expected) > 1e-6f * fmaxf(1.0f, fabsf(expected))) {
            if (mismatches < 5)
                fprintf(stderr, "vector_add: mismatch at %u: got %.7g, expected %.7g\n", i,
                        (double)c[i], (double)expected);
            ++mismatches;
        }
    }

    CL_CHECK(clReleaseEvent(kernel_done));
    CL_CHECK(clReleaseEvent(write_done));
    CL_CHECK(clReleaseKernel(kernel));
    CL_CHECK(clReleaseProgram(program));
    CL_CHECK(clReleaseMemObject(buf_c));
    CL_CHECK(clReleaseMemObject(buf_b));
    CL_CHECK(clReleaseMemObject(buf_a));
    CL_CHECK(clReleaseCommandQueue(queue));
    CL_CHECK(clReleaseContext(context));
    free(c);
    free(b);
    free(a);

    if (mismatches != 0) {
        fprintf(stderr, "vector_add: %u of %u elements wrong\n", mismatches, n);
        return EXIT_FAILURE;
    }
    printf("vector_add: result verified\n");
    return EXIT_SUCCESS;
}
