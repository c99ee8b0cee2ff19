// SPDX-License-Identifier: Apache-2.0
// Scenarios of programs and kernels: builds, kernel arguments, ND-ranges, kernel and program info.
#include "scenarios.h"

#include "scenario_support.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

ScenarioResult large_program_source(cl_platform_id platform) {
    // A kernel behind a comment larger than one message frame may be (64 MiB).
    std::string source = "/*";
    source.append(kLargeSourceBytes, 'x');
    source += "*/\n__kernel void seven(__global int* out) { out[get_global_id(0)] = 7; }\n";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, source.c_str(), "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "seven", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 16;
    Mem out(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, n * sizeof(cl_int), nullptr, &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = out;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    std::vector<cl_int> host(n, 0);
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, out, CL_TRUE, 0, n * sizeof(cl_int),
                                                     host.data(), 0, nullptr, nullptr));
    size_t length = 0;
    r.record("CL_PROGRAM_SOURCE size",
             clGetProgramInfo(program, CL_PROGRAM_SOURCE, 0, nullptr, &length));
    r.fact("source length", length);
    r.put("out", host);
    return r;
}

ScenarioResult build_with_options(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel void scale(__global int* out) {
    out[get_global_id(0)] = (int)get_global_id(0) * VALUE;
}
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    const size_t n = 64;
    cl_int err;
    Mem out(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, n * sizeof(cl_int), nullptr, &err));
    SETUP("clCreateBuffer", err);
    // Two builds of one source that differ only in options: a cache keyed on the source alone
    // would give the second the first one's binary.
    for (const char* value : {"3", "5"}) {
        const std::string options = std::string("-DVALUE=") + value;
        const std::string suffix = std::string(" ") + value;
        Program program;
        if (!build(r, d, program, source, options.c_str(), suffix)) return r;
        r.fact(
            "build options" + suffix,
            info_string(r, "CL_PROGRAM_BUILD_OPTIONS" + suffix, [&](size_t s, void* v, size_t* rs) {
                return clGetProgramBuildInfo(program, d.id, CL_PROGRAM_BUILD_OPTIONS, s, v, rs);
            }));
        r.fact("build status" + suffix,
               info_value<cl_build_status>(
                   r, "CL_PROGRAM_BUILD_STATUS" + suffix, [&](size_t s, void* v, size_t* rs) {
                       return clGetProgramBuildInfo(program, d.id, CL_PROGRAM_BUILD_STATUS, s, v,
                                                    rs);
                   }));
        Kernel kernel(clCreateKernel(program, "scale", &err));
        SETUP("clCreateKernel" + suffix, err);
        cl_mem arg = out;
        SETUP("clSetKernelArg" + suffix, clSetKernelArg(kernel, 0, sizeof arg, &arg));
        SETUP(
            "clEnqueueNDRangeKernel" + suffix,
            clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
        std::vector<cl_int> host(n, -1);
        SETUP("clEnqueueReadBuffer" + suffix,
              clEnqueueReadBuffer(d.queue, out, CL_TRUE, 0, n * sizeof(cl_int), host.data(), 0,
                                  nullptr, nullptr));
        r.put("out" + std::string(value), host);
    }
    return r;
}

ScenarioResult build_failure_log(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel void broken(__global int* out) {
    out[0] = undeclared_identifier;
}
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const char* text = source;
    Program program(clCreateProgramWithSource(d.context, 1, &text, nullptr, &err));
    SETUP("clCreateProgramWithSource", err);
    r.record("clBuildProgram", clBuildProgram(program, 1, &d.id, "", nullptr, nullptr));
    r.fact("build status", info_value<cl_build_status>(
                               r, "CL_PROGRAM_BUILD_STATUS", [&](size_t s, void* v, size_t* rs) {
                                   return clGetProgramBuildInfo(program, d.id,
                                                                CL_PROGRAM_BUILD_STATUS, s, v, rs);
                               }));
    // The log text is the compiler's and may differ in detail; its presence may not.
    const std::string log = info_string(
        r, "CL_PROGRAM_BUILD_LOG",
        [&](size_t s, void* v, size_t* rs) {
            return clGetProgramBuildInfo(program, d.id, CL_PROGRAM_BUILD_LOG, s, v, rs);
        },
        false);
    r.fact("log non-empty", !log.empty());
    r.fact("log mentions the identifier", log.find("undeclared_identifier") != std::string::npos);
    r.fact("log", log.empty() ? "(empty)" : "(present)");
    Kernel kernel(clCreateKernel(program, "broken", &err));
    r.record("clCreateKernel after failed build", err);
    r.fact("kernel handle is NULL", kernel.get() == nullptr);
    return r;
}

float kernel_argument_expected(size_t gid, size_t local_size, bool with_buffer) {
    // i + f + (v.x + 2 v.y + 3 v.z + 4 v.w) + (big >> 38) + c with the values set below.
    const float constant = 7.0f + 0.25f + 30.0f + 4.0f - 3.0f;
    const size_t lid = gid % local_size;
    const size_t neighbour = gid - lid + (lid + 1) % local_size;
    const float extra = with_buffer ? static_cast<float>(gid) * 0.125f : -1.0f;
    return constant + 0.5f * static_cast<float>(neighbour) + extra;
}

ScenarioResult kernel_argument_kinds(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel void args(__global float* out, int i, float f, float4 v, ulong big, char c,
                   __local float* scratch, __global const float* maybe) {
    size_t gid = get_global_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    scratch[lid] = (float)gid;
    barrier(CLK_LOCAL_MEM_FENCE);
    float neighbour = scratch[(lid + 1) % lsz];
    float extra = maybe ? maybe[gid] : -1.0f;
    out[gid] = (float)i + f + (v.x + 2.0f * v.y + 3.0f * v.z + 4.0f * v.w) + (float)(big >> 38) +
               (float)c + 0.5f * neighbour + extra;
}
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, source, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "args", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 64, local = 16;
    Mem out(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, n * sizeof(float), nullptr, &err));
    SETUP("clCreateBuffer out", err);
    std::vector<float> extra(n);
    for (size_t i = 0; i < n; ++i)
        extra[i] = static_cast<float>(i) * 0.125f;
    Mem maybe(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                             extra.data(), &err));
    SETUP("clCreateBuffer maybe", err);

    cl_mem out_arg = out;
    const cl_int i = 7;
    const cl_float f = 0.25f;
    const cl_float4 v = {{1.0f, 2.0f, 3.0f, 4.0f}};
    const cl_ulong big = cl_ulong{1} << 40;
    const cl_char c = -3;
    SETUP("clSetKernelArg buffer", clSetKernelArg(kernel, 0, sizeof out_arg, &out_arg));
    SETUP("clSetKernelArg int", clSetKernelArg(kernel, 1, sizeof i, &i));
    SETUP("clSetKernelArg float", clSetKernelArg(kernel, 2, sizeof f, &f));
    SETUP("clSetKernelArg float4", clSetKernelArg(kernel, 3, sizeof v, &v));
    SETUP("clSetKernelArg ulong", clSetKernelArg(kernel, 4, sizeof big, &big));
    SETUP("clSetKernelArg char", clSetKernelArg(kernel, 5, sizeof c, &c));
    SETUP("clSetKernelArg local", clSetKernelArg(kernel, 6, local * sizeof(cl_float), nullptr));

    const cl_mem null_mem = nullptr;
    const cl_mem maybe_mem = maybe;
    const struct {
        const char* name;
        const void* value;
    } runs[] = {{"out null", nullptr}, {"out buffer", &maybe_mem}, {"out null handle", &null_mem}};
    for (const auto& run : runs) {
        SETUP(std::string("clSetKernelArg maybe for ") + run.name,
              clSetKernelArg(kernel, 7, sizeof(cl_mem), run.value));
        SETUP(std::string("clEnqueueNDRangeKernel for ") + run.name,
              clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, &local, 0, nullptr, nullptr));
        std::vector<float> host(n, -100.0f);
        SETUP(std::string("clEnqueueReadBuffer for ") + run.name,
              clEnqueueReadBuffer(d.queue, out, CL_TRUE, 0, n * sizeof(float), host.data(), 0,
                                  nullptr, nullptr));
        r.put(run.name, host);
    }
    return r;
}

ScenarioResult ndrange_offset_local(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel void ids(__global int* out, __global int* meta) {
    size_t g = get_global_id(0);
    out[g] = (int)(g * 10000 + get_local_id(0) * 100 + get_group_id(0));
    if (g == get_global_offset(0)) {
        meta[0] = (int)get_global_offset(0);
        meta[1] = (int)get_num_groups(0);
        meta[2] = (int)get_global_size(0);
        meta[3] = (int)get_local_size(0);
    }
}
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, source, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "ids", &err));
    SETUP("clCreateKernel", err);
    std::vector<cl_int> ids(80, -1), meta(4, -1);
    Mem out(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                           ids.size() * sizeof(cl_int), ids.data(), &err));
    SETUP("clCreateBuffer out", err);
    Mem meta_mem(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                meta.size() * sizeof(cl_int), meta.data(), &err));
    SETUP("clCreateBuffer meta", err);
    cl_mem args[] = {out, meta_mem};
    SETUP("clSetKernelArg 0", clSetKernelArg(kernel, 0, sizeof(cl_mem), &args[0]));
    SETUP("clSetKernelArg 1", clSetKernelArg(kernel, 1, sizeof(cl_mem), &args[1]));
    const size_t offset = 16, global = 64, local = 8;
    SETUP("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(d.queue, kernel, 1, &offset, &global,
                                                           &local, 0, nullptr, nullptr));
    SETUP("clEnqueueReadBuffer out",
          clEnqueueReadBuffer(d.queue, out, CL_TRUE, 0, ids.size() * sizeof(cl_int), ids.data(), 0,
                              nullptr, nullptr));
    SETUP("clEnqueueReadBuffer meta",
          clEnqueueReadBuffer(d.queue, meta_mem, CL_TRUE, 0, meta.size() * sizeof(cl_int),
                              meta.data(), 0, nullptr, nullptr));
    r.put("ids", ids);
    r.put("meta", meta);
    return r;
}

ScenarioResult ndrange_2d(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel void ids2d(__global int* out) {
    size_t x = get_global_id(0), y = get_global_id(1), w = get_global_size(0);
    out[y * w + x] = (int)(x + 100 * y + 10000 * get_local_id(0) + 100000 * get_local_id(1) +
                           1000000 * (get_group_id(0) + 10 * get_group_id(1)));
}
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, source, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "ids2d", &err));
    SETUP("clCreateKernel", err);
    const size_t global[2] = {16, 8}, local[2] = {4, 2};
    std::vector<cl_int> ids(global[0] * global[1], -1);
    Mem out(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                           ids.size() * sizeof(cl_int), ids.data(), &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = out;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(d.queue, kernel, 2, nullptr, global, local, 0, nullptr, nullptr));
    SETUP("clEnqueueReadBuffer",
          clEnqueueReadBuffer(d.queue, out, CL_TRUE, 0, ids.size() * sizeof(cl_int), ids.data(), 0,
                              nullptr, nullptr));
    r.put("ids", ids);
    return r;
}

ScenarioResult kernel_info(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel __attribute__((reqd_work_group_size(4, 2, 1)))
void fixed(__global float* out, __local int* tmp, const int n, __constant float* table) {
    size_t i = get_global_id(0) + get_global_id(1) * get_global_size(0);
    tmp[get_local_id(0)] = n;
    barrier(CLK_LOCAL_MEM_FENCE);
    out[i] = table[0] + (float)tmp[0];
}
__kernel void plain(__global float* out) {
    out[get_global_id(0)] = 1.0f;
}
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, source, "-cl-kernel-arg-info")) return r;
    cl_int err;
    for (const char* name : {"fixed", "plain"}) {
        const std::string k = std::string(name) + " ";
        Kernel kernel(clCreateKernel(program, name, &err));
        SETUP("clCreateKernel " + std::string(name), err);
        const auto wg = [&](cl_kernel_work_group_info param) {
            return [&kernel, &d, param](size_t s, void* v, size_t* rs) {
                return clGetKernelWorkGroupInfo(kernel, d.id, param, s, v, rs);
            };
        };
        const auto ki = [&](cl_kernel_info param) {
            return [&kernel, param](size_t s, void* v, size_t* rs) {
                return clGetKernelInfo(kernel, param, s, v, rs);
            };
        };
        r.fact(
            k + "CL_KERNEL_WORK_GROUP_SIZE",
            info_value<size_t>(r, k + "CL_KERNEL_WORK_GROUP_SIZE", wg(CL_KERNEL_WORK_GROUP_SIZE)));
        r.fact(k + "CL_KERNEL_COMPILE_WORK_GROUP_SIZE",
               join(info_array<size_t>(r, k + "CL_KERNEL_COMPILE_WORK_GROUP_SIZE",
                                       wg(CL_KERNEL_COMPILE_WORK_GROUP_SIZE))));
        r.fact(
            k + "CL_KERNEL_LOCAL_MEM_SIZE",
            info_value<cl_ulong>(r, k + "CL_KERNEL_LOCAL_MEM_SIZE", wg(CL_KERNEL_LOCAL_MEM_SIZE)));
        r.fact(k + "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE",
               info_value<size_t>(r, k + "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE",
                                  wg(CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE)));
        r.fact(k + "CL_KERNEL_PRIVATE_MEM_SIZE",
               info_value<cl_ulong>(r, k + "CL_KERNEL_PRIVATE_MEM_SIZE",
                                    wg(CL_KERNEL_PRIVATE_MEM_SIZE)));
        r.fact(k + "CL_KERNEL_FUNCTION_NAME",
               info_string(r, k + "CL_KERNEL_FUNCTION_NAME", ki(CL_KERNEL_FUNCTION_NAME)));
        r.fact(k + "CL_KERNEL_ATTRIBUTES",
               info_string(r, k + "CL_KERNEL_ATTRIBUTES", ki(CL_KERNEL_ATTRIBUTES)));
        const auto num_args =
            info_value<cl_uint>(r, k + "CL_KERNEL_NUM_ARGS", ki(CL_KERNEL_NUM_ARGS));
        r.fact(k + "CL_KERNEL_NUM_ARGS", num_args);
        r.fact(k + "CL_KERNEL_PROGRAM is the program",
               info_value<cl_program>(r, k + "CL_KERNEL_PROGRAM", ki(CL_KERNEL_PROGRAM)) ==
                   program.get());
        r.fact(k + "CL_KERNEL_CONTEXT is the context",
               info_value<cl_context>(r, k + "CL_KERNEL_CONTEXT", ki(CL_KERNEL_CONTEXT)) ==
                   d.context.get());
        for (cl_uint i = 0; i < num_args && i < 8; ++i) {
            const std::string a = k + "arg " + std::to_string(i) + " ";
            const auto ai = [&kernel, i](cl_kernel_arg_info param) {
                return [&kernel, i, param](size_t s, void* v, size_t* rs) {
                    return clGetKernelArgInfo(kernel, i, param, s, v, rs);
                };
            };
            r.fact(a + "CL_KERNEL_ARG_NAME",
                   info_string(r, a + "CL_KERNEL_ARG_NAME", ai(CL_KERNEL_ARG_NAME)));
            r.fact(a + "CL_KERNEL_ARG_TYPE_NAME",
                   info_string(r, a + "CL_KERNEL_ARG_TYPE_NAME", ai(CL_KERNEL_ARG_TYPE_NAME)));
            r.fact(
                a + "CL_KERNEL_ARG_ADDRESS_QUALIFIER",
                info_value<cl_kernel_arg_address_qualifier>(
                    r, a + "CL_KERNEL_ARG_ADDRESS_QUALIFIER", ai(CL_KERNEL_ARG_ADDRESS_QUALIFIER)));
            r.fact(a + "CL_KERNEL_ARG_ACCESS_QUALIFIER",
                   info_value<cl_kernel_arg_access_qualifier>(r,
                                                              a + "CL_KERNEL_ARG_ACCESS_QUALIFIER",
                                                              ai(CL_KERNEL_ARG_ACCESS_QUALIFIER)));
            r.fact(a + "CL_KERNEL_ARG_TYPE_QUALIFIER",
                   info_value<cl_kernel_arg_type_qualifier>(r, a + "CL_KERNEL_ARG_TYPE_QUALIFIER",
                                                            ai(CL_KERNEL_ARG_TYPE_QUALIFIER)));
        }
    }
    return r;
}

namespace {
std::string sorted_names(std::string names) {
    std::vector<std::string> parts;
    std::stringstream in(names);
    for (std::string part; std::getline(in, part, ';');)
        parts.push_back(part);
    std::sort(parts.begin(), parts.end());
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : ";") + p;
    return out;
}
} // namespace

ScenarioResult program_info(cl_platform_id platform) {
    static const char* const source = R"CLC(
__kernel void first(__global int* x) { x[0] = 1; }
__kernel void second(__global int* x) { x[1] = 2; }
__kernel void third(__global int* x, int v) { x[2] = v; }
)CLC";
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const char* text = source;
    Program program(clCreateProgramWithSource(d.context, 1, &text, nullptr, &err));
    SETUP("clCreateProgramWithSource", err);
    const auto pi = [&](cl_program_info param) {
        return [&program, param](size_t s, void* v, size_t* rs) {
            return clGetProgramInfo(program, param, s, v, rs);
        };
    };
    size_t kernels = 0;
    r.record("CL_PROGRAM_NUM_KERNELS before build",
             clGetProgramInfo(program, CL_PROGRAM_NUM_KERNELS, sizeof kernels, &kernels, nullptr));
    size_t names_size = 0;
    r.record("CL_PROGRAM_KERNEL_NAMES before build",
             clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, 0, nullptr, &names_size));
    r.fact("CL_PROGRAM_SOURCE matches",
           info_string(r, "CL_PROGRAM_SOURCE", pi(CL_PROGRAM_SOURCE)) == source);
    SETUP("clBuildProgram", clBuildProgram(program, 1, &d.id, "", nullptr, nullptr));
    r.fact("CL_PROGRAM_NUM_KERNELS",
           info_value<size_t>(r, "CL_PROGRAM_NUM_KERNELS", pi(CL_PROGRAM_NUM_KERNELS)));
    // The order of the names is unspecified: compared sorted.
    r.fact("CL_PROGRAM_KERNEL_NAMES sorted",
           sorted_names(info_string(r, "CL_PROGRAM_KERNEL_NAMES", pi(CL_PROGRAM_KERNEL_NAMES))));
    r.fact("CL_PROGRAM_NUM_DEVICES",
           info_value<cl_uint>(r, "CL_PROGRAM_NUM_DEVICES", pi(CL_PROGRAM_NUM_DEVICES)));
    r.fact("CL_PROGRAM_DEVICES is the device",
           info_value<cl_device_id>(r, "CL_PROGRAM_DEVICES", pi(CL_PROGRAM_DEVICES)) == d.id);
    r.fact("CL_PROGRAM_CONTEXT is the context",
           info_value<cl_context>(r, "CL_PROGRAM_CONTEXT", pi(CL_PROGRAM_CONTEXT)) ==
               d.context.get());
    r.fact("CL_PROGRAM_BINARY_TYPE",
           info_value<cl_program_binary_type>(
               r, "CL_PROGRAM_BINARY_TYPE", [&](size_t s, void* v, size_t* rs) {
                   return clGetProgramBuildInfo(program, d.id, CL_PROGRAM_BINARY_TYPE, s, v, rs);
               }));
    r.fact("binary size > 0",
           info_value<size_t>(r, "CL_PROGRAM_BINARY_SIZES", pi(CL_PROGRAM_BINARY_SIZES)) > 0);

    cl_uint count = 0;
    SETUP("clCreateKernelsInProgram count", clCreateKernelsInProgram(program, 0, nullptr, &count));
    r.fact("clCreateKernelsInProgram count", count);
    if (count > 64) {
        r.aborted_at = "clCreateKernelsInProgram count";
        return r;
    }
    std::vector<cl_kernel> all(count);
    SETUP("clCreateKernelsInProgram",
          clCreateKernelsInProgram(program, count, all.data(), nullptr));
    std::string names;
    for (cl_kernel k : all) {
        char name[64] = {};
        r.record("CL_KERNEL_FUNCTION_NAME",
                 clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, nullptr));
        names += (names.empty() ? "" : ";") + std::string(name);
        clReleaseKernel(k);
    }
    r.fact("clCreateKernelsInProgram names sorted", sorted_names(names));
    return r;
}

ScenarioResult clone_kernel(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    static const char* const source =
        "__kernel void scale(__global int* x, int factor) { x[get_global_id(0)] *= factor; }";
    Program program;
    if (!build(r, d, program, source, "")) return r;
    cl_int err;
    Kernel original(clCreateKernel(program, "scale", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 32, bytes = n * sizeof(cl_int);
    std::vector<cl_int> ones(n, 1);
    Mem a(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, ones.data(),
                         &err));
    SETUP("clCreateBuffer a", err);
    Mem b(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, ones.data(),
                         &err));
    SETUP("clCreateBuffer b", err);
    cl_mem arg = a;
    cl_int two = 2, three = 3, five = 5;
    SETUP("clSetKernelArg 0", clSetKernelArg(original, 0, sizeof arg, &arg));
    SETUP("clSetKernelArg 1", clSetKernelArg(original, 1, sizeof two, &two));
    // The clone starts with the original's arguments...
    Kernel clone(clCloneKernel(original, &err));
    r.record("clCloneKernel", err);
    if (err != CL_SUCCESS) return r;
    SETUP("launch the clone as cloned",
          clEnqueueNDRangeKernel(d.queue, clone, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    // ...and from then on each keeps its own.
    arg = b;
    SETUP("clSetKernelArg clone 0", clSetKernelArg(clone, 0, sizeof arg, &arg));
    SETUP("clSetKernelArg clone 1", clSetKernelArg(clone, 1, sizeof three, &three));
    SETUP("clSetKernelArg original 1", clSetKernelArg(original, 1, sizeof five, &five));
    SETUP("launch the original",
          clEnqueueNDRangeKernel(d.queue, original, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    SETUP("launch the clone",
          clEnqueueNDRangeKernel(d.queue, clone, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    std::vector<cl_int> ha(n), hb(n);
    SETUP("read a",
          clEnqueueReadBuffer(d.queue, a, CL_TRUE, 0, bytes, ha.data(), 0, nullptr, nullptr));
    SETUP("read b",
          clEnqueueReadBuffer(d.queue, b, CL_TRUE, 0, bytes, hb.data(), 0, nullptr, nullptr));
    r.put("a", ha);
    r.put("b", hb);
    char name[32] = {};
    SETUP("clGetKernelInfo name",
          clGetKernelInfo(clone, CL_KERNEL_FUNCTION_NAME, sizeof name, name, nullptr));
    r.fact("clone's name", name);
    cl_kernel none = clCloneKernel(nullptr, &err);
    r.record("clone of no kernel", err);
    r.fact("clone of no kernel returned null", none == nullptr);
    return r;
}

ScenarioResult zero_sized_launch(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = buffer;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    const size_t zero[2] = {0, 0};
    Event done;
    r.record("NDRange global NULL", clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, nullptr,
                                                           nullptr, 0, nullptr, nullptr));
    r.record("NDRange global {0,0}", clEnqueueNDRangeKernel(d.queue, kernel, 2, nullptr, zero,
                                                            nullptr, 0, nullptr, done.out()));
    SETUP("clFinish", clFinish(d.queue));
    status_fact(r, "zero-sized launch", done);
    return r;
}

} // namespace rgpu::e2e::scenarios
