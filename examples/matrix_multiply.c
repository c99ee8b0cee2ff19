// SPDX-License-Identifier: Apache-2.0
// matrix_multiply: a tiled C = A * B in __local memory, timed with event profiling, verified on
// the host against a CPU product.
//
// Usage: matrix_multiply [--platform SUBSTRING] [N]   (N x N floats, N a multiple of 16; 256)
//
// A plain OpenCL 1.2 program. It shows __local kernel arguments (clSetKernelArg with a size and
// a NULL value), an explicit 16x16 work-group size and a profiling-enabled command queue.
#include "example_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TILE 16

static const char* kernel_source =
    "__kernel void matrix_multiply(__global const float* a, __global const float* b,\n"
    "                              __global float* c, const int n,\n"
    "                              __local float* tile_a, __local float* tile_b) {\n"
    "    const int col = get_global_id(0), row = get_global_id(1);\n"
    "    const int lc = get_local_id(0), lr = get_local_id(1);\n"
    "    float sum = 0.0f;\n"
    "    for (int t = 0; t < n; t += TILE) {\n"
    "        tile_a[lr * TILE + lc] = a[row * n + t + lc];\n"
    "        tile_b[lr * TILE + lc] = b[(t + lr) * n + col];\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "        for (int k = 0; k < TILE; ++k)\n"
    "            sum += tile_a[lr * TILE + k] * tile_b[k * TILE + lc];\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    }\n"
    "    c[row * n + col] = sum;\n"
    "}\n";

int main(int argc, char** argv) {
    int first_arg = 1;
    const char* wanted_platform = parse_platform_option(argc, argv, &first_arg);
    cl_int n = 256;
    if (first_arg < argc) {
        char* end = NULL;
        long parsed = strtol(argv[first_arg], &end, 10);
        if (*end != '\0' || parsed < TILE || parsed > 4096 || parsed % TILE != 0) {
            fprintf(stderr, "usage: %s [--platform SUBSTRING] [N (a multiple of %d, <= 4096)]\n",
                    argv[0], TILE);
            return EXIT_FAILURE;
        }
        n = (cl_int)parsed;
    }

    cl_platform_id platform;
    cl_device_id device;
    select_device(wanted_platform, &platform, &device);
    char name[256];
    platform_name(platform, name, sizeof(name));
    printf("platform: %s\n", name);
    device_name(device, name, sizeof(name));
    printf("device:   %s\n", name);
    printf("matrix:   %d x %d floats, %d x %d tiles\n", n, n, TILE, TILE);

    size_t max_group = 0;
    CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(max_group), &max_group,
                             NULL));
    if (max_group < TILE * TILE) {
        fprintf(stderr, "matrix_multiply: device allows %zu work-items per group, need %d\n",
                max_group, TILE * TILE);
        return EXIT_FAILURE;
    }

    const size_t elements = (size_t)n * (size_t)n;
    const size_t bytes = elements * sizeof(float);
    float* a = (float*)malloc(bytes);
    float* b = (float*)malloc(bytes);
    float* c = (float*)malloc(bytes);
    float* expected = (float*)malloc(bytes);
    if (a == NULL || b == NULL || c == NULL || expected == NULL) {
        fprintf(stderr, "out of host memory for %d x %d matrices\n", n, n);
        return EXIT_FAILURE;
    }
    // Small quarters: every product and partial sum is exact in float, whatever the order.
    for (size_t i = 0; i < elements; ++i) {
        a[i] = (float)((int)(i * 7 % 13) - 6) * 0.25f;
        b[i] = (float)((int)(i * 5 % 11) - 5) * 0.25f;
        c[i] = NAN;
    }
    for (int row = 0; row < n; ++row)
        for (int col = 0; col < n; ++col) {
            float sum = 0.0f;
            for (int k = 0; k < n; ++k)
                sum += a[(size_t)row * n + k] * b[(size_t)k * n + col];
            expected[(size_t)row * n + col] = sum;
        }

    cl_int err;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CL_CHECK_CODE("clCreateContext", err);
    cl_command_queue queue = clCreateCommandQueue(context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    CL_CHECK_CODE("clCreateCommandQueue(CL_QUEUE_PROFILING_ENABLE)", err);

    cl_mem buf_a = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, a, &err);
    CL_CHECK_CODE("clCreateBuffer(a)", err);
    cl_mem buf_b = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, b, &err);
    CL_CHECK_CODE("clCreateBuffer(b)", err);
    cl_mem buf_c = clCreateBuffer(context, CL_MEM_WRITE_ONLY, bytes, NULL, &err);
    CL_CHECK_CODE("clCreateBuffer(c)", err);

    cl_program program = clCreateProgramWithSource(context, 1, &kernel_source, NULL, &err);
    CL_CHECK_CODE("clCreateProgramWithSource", err);
    char options[64];
    snprintf(options, sizeof(options), "-DTILE=%d", TILE);
    err = clBuildProgram(program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS) print_build_log(program, device);
    CL_CHECK_CODE("clBuildProgram", err);
    cl_kernel kernel = clCreateKernel(program, "matrix_multiply", &err);
    CL_CHECK_CODE("clCreateKernel", err);

    const size_t tile_bytes = TILE * TILE * sizeof(float);
    CL_CHECK(clSetKernelArg(kernel, 0, sizeof(cl_mem), &buf_a));
    CL_CHECK(clSetKernelArg(kernel, 1, sizeof(cl_mem), &buf_b));
    CL_CHECK(clSetKernelArg(kernel, 2, sizeof(cl_mem), &buf_c));
    CL_CHECK(clSetKernelArg(kernel, 3, sizeof(cl_int), &n));
    CL_CHECK(clSetKernelArg(kernel, 4, tile_bytes, NULL)); // __local: a size, no value
    CL_CHECK(clSetKernelArg(kernel, 5, tile_bytes, NULL));

    const size_t global[2] = {(size_t)n, (size_t)n};
    const size_t local[2] = {TILE, TILE};
    cl_event kernel_done;
    CL_CHECK(clEnqueueNDRangeKernel(queue, kernel, 2, NULL, global, local, 0, NULL, &kernel_done));
    CL_CHECK(clEnqueueReadBuffer(queue, buf_c, CL_TRUE, 0, bytes, c, 1, &kernel_done, NULL));

    cl_ulong start = 0, end = 0;
    CL_CHECK(clGetEventProfilingInfo(kernel_done, CL_PROFILING_COMMAND_START, sizeof(start), &start,
                                     NULL));
    CL_CHECK(
        clGetEventProfilingInfo(kernel_done, CL_PROFILING_COMMAND_END, sizeof(end), &end, NULL));
    printf("kernel time: %.3f ms\n", (double)(end - start) * 1e-6);

    size_t mismatches = 0;
    for (size_t i = 0; i < elements; ++i) {
        if (!(fabsf(c[i] - expected[i]) <= 1e-3f)) {
            if (mismatches < 5)
                fprintf(stderr, "matrix_multiply: mismatch at (%zu, %zu): got %g, expected %g\n",
                        i / (size_t)n, i % (size_t)n, (double)c[i], (double)expected[i]);
            ++mismatches;
        }
    }

    CL_CHECK(clReleaseEvent(kernel_done));
    CL_CHECK(clReleaseKernel(kernel));
    CL_CHECK(clReleaseProgram(program));
    CL_CHECK(clReleaseMemObject(buf_c));
    CL_CHECK(clReleaseMemObject(buf_b));
    CL_CHECK(clReleaseMemObject(buf_a));
    CL_CHECK(clReleaseCommandQueue(queue));
    CL_CHECK(clReleaseContext(context));
    free(expected);
    free(c);
    free(b);
    free(a);

    if (mismatches != 0) {
        fprintf(stderr, "matrix_multiply: %zu of %zu elements wrong\n", mismatches, elements);
        return EXIT_FAILURE;
    }
    printf("matrix_multiply: result verified\n");
    return EXIT_SUCCESS;
}
