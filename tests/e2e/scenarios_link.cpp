// SPDX-License-Identifier: Apache-2.0
// Scenarios of separate compilation: clCompileProgram with embedded headers, clLinkProgram of
// objects and libraries, and their failures.
#include "scenarios.h"

#include "scenario_support.h"

#include <string>
#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

namespace {

const char* const kHeader = "#define FACTOR 3\nint helper(int x);\n";
// Uses a function another program defines, and a header given at compile time.
const char* const kMain = R"CLC(
#include "helper.h"
__kernel void apply(__global int* out) {
    int i = (int)get_global_id(0);
    out[i] = helper(i) * FACTOR;
}
)CLC";
const char* const kHelper = "int helper(int x) { return x + 10; }\n";

/// `p` made from `source`; false when it could not be.
bool source_program(ScenarioResult& r, Device& d, Program& p, const char* source,
                    const std::string& label) {
    cl_int err;
    p.reset(clCreateProgramWithSource(d.context, 1, &source, nullptr, &err));
    return r.record("clCreateProgramWithSource " + label, err) == CL_SUCCESS;
}

/// Status and binary type of `program` on the device, as facts under `label`.
void build_facts(ScenarioResult& r, Device& d, cl_program program, const std::string& label) {
    r.fact("build status " + label,
           info_value<cl_build_status>(
               r, "CL_PROGRAM_BUILD_STATUS " + label, [&](size_t s, void* v, size_t* rs) {
                   return clGetProgramBuildInfo(program, d.id, CL_PROGRAM_BUILD_STATUS, s, v, rs);
               }));
    r.fact("binary type " + label,
           info_value<cl_program_binary_type>(
               r, "CL_PROGRAM_BINARY_TYPE " + label, [&](size_t s, void* v, size_t* rs) {
                   return clGetProgramBuildInfo(program, d.id, CL_PROGRAM_BINARY_TYPE, s, v, rs);
               }));
}

/// Runs kernel "apply" of `program` over 32 items; data `name`.
bool run_apply(ScenarioResult& r, Device& d, cl_program program, const std::string& name) {
    cl_int err;
    Kernel kernel(clCreateKernel(program, "apply", &err));
    if (r.record("clCreateKernel " + name, err) != CL_SUCCESS) return false;
    const size_t n = 32;
    Mem out(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, n * sizeof(cl_int), nullptr, &err));
    if (r.record("clCreateBuffer " + name, err) != CL_SUCCESS) return false;
    cl_mem arg = out;
    r.record("clSetKernelArg " + name, clSetKernelArg(kernel, 0, sizeof arg, &arg));
    r.record("clEnqueueNDRangeKernel " + name,
             clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    std::vector<cl_int> host(n, -1);
    r.record("clEnqueueReadBuffer " + name,
             clEnqueueReadBuffer(d.queue, out, CL_TRUE, 0, n * sizeof(cl_int), host.data(), 0,
                                 nullptr, nullptr));
    r.put(name, host);
    return true;
}

} // namespace

ScenarioResult compile_and_link(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program header;
    source_program(r, d, header, kHeader, "header");
    Program main;
    source_program(r, d, main, kMain, "main");
    Program helper;
    source_program(r, d, helper, kHelper, "helper");
    if (!header || !main || !helper) return r;
    cl_program headers[] = {header};
    const char* names[] = {"helper.h"};
    r.record("clCompileProgram main",
             clCompileProgram(main, 1, &d.id, "", 1, headers, names, nullptr, nullptr));
    r.record("clCompileProgram helper",
             clCompileProgram(helper, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    build_facts(r, d, main, "main compiled");
    // (clCreateKernel before the link is left out: POCL 3.1 says CL_INVALID_KERNEL_NAME where
    // the specification says CL_INVALID_PROGRAM_EXECUTABLE, rgpu's answer.)
    cl_int err;
    cl_program inputs[] = {main, helper};
    Program linked(clLinkProgram(d.context, 1, &d.id, "", 2, inputs, nullptr, nullptr, &err));
    r.record("clLinkProgram", err);
    r.fact("linked is a program", linked.get() != nullptr);
    if (!linked) return r;
    build_facts(r, d, linked, "linked");
    r.fact("linked kernels",
           info_value<size_t>(r, "CL_PROGRAM_NUM_KERNELS", [&](size_t s, void* v, size_t* rs) {
               return clGetProgramInfo(linked, CL_PROGRAM_NUM_KERNELS, s, v, rs);
           }));
    r.fact("kernel names",
           info_string(r, "CL_PROGRAM_KERNEL_NAMES", [&](size_t s, void* v, size_t* rs) {
               return clGetProgramInfo(linked, CL_PROGRAM_KERNEL_NAMES, s, v, rs);
           }));
    run_apply(r, d, linked, "out");
    return r;
}

ScenarioResult link_library(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program header;
    source_program(r, d, header, kHeader, "header");
    Program main;
    source_program(r, d, main, kMain, "main");
    Program helper;
    source_program(r, d, helper, kHelper, "helper");
    if (!header || !main || !helper) return r;
    cl_program headers[] = {header};
    const char* names[] = {"helper.h"};
    r.record("clCompileProgram main",
             clCompileProgram(main, 0, nullptr, "", 1, headers, names, nullptr, nullptr));
    r.record("clCompileProgram helper",
             clCompileProgram(helper, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    cl_int err;
    cl_program helper_only[] = {helper};
    Program library(clLinkProgram(d.context, 0, nullptr, "-create-library", 1, helper_only, nullptr,
                                  nullptr, &err));
    r.record("clLinkProgram library", err);
    if (!library) return r;
    build_facts(r, d, library, "library");
    cl_program inputs[] = {main, library};
    Program linked(clLinkProgram(d.context, 0, nullptr, "", 2, inputs, nullptr, nullptr, &err));
    r.record("clLinkProgram executable", err);
    if (!linked) return r;
    build_facts(r, d, linked, "executable");
    run_apply(r, d, linked, "out");
    return r;
}

ScenarioResult compile_and_link_errors(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program main;
    source_program(r, d, main, kMain, "main");
    Program helper;
    source_program(r, d, helper, kHelper, "helper");
    Program broken;
    source_program(r, d, broken, "int broken( { return; }\n", "broken");
    if (!main || !helper || !broken) return r;
    cl_program header = helper;
    // Argument errors. (Header lists without headers or without names, and a NULL program among
    // a link's inputs, are left out: POCL 3.1 crashes on them; rgpu answers CL_INVALID_VALUE and
    // CL_INVALID_PROGRAM.)
    r.record("compile: device list without a count",
             clCompileProgram(helper, 0, &d.id, "", 0, nullptr, nullptr, nullptr, nullptr));
    r.record("compile: not a program",
             clCompileProgram(nullptr, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    cl_int err = CL_SUCCESS;
    cl_program none = clLinkProgram(d.context, 0, nullptr, "", 0, nullptr, nullptr, nullptr, &err);
    r.record("link: no inputs", err);
    r.fact("link: no inputs gives NULL", none == nullptr);
    none = clLinkProgram(nullptr, 0, nullptr, "", 1, &header, nullptr, nullptr, &err);
    r.record("link: not a context", err);
    // A source that does not compile: the code, the status, a log.
    r.record("compile: a syntax error",
             clCompileProgram(broken, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    build_facts(r, d, broken, "broken");
    std::string log = info_string(
        r, "CL_PROGRAM_BUILD_LOG broken",
        [&](size_t s, void* v, size_t* rs) {
            return clGetProgramBuildInfo(broken, d.id, CL_PROGRAM_BUILD_LOG, s, v, rs);
        },
        false);
    r.fact("compile log non-empty", !log.empty());
    // A function declared and never defined: the link's code, and whether it made a program.
    Program lonely;
    source_program(r, d, lonely,
                   "int helper(int x);\n__kernel void apply(__global int* out) "
                   "{ out[get_global_id(0)] = helper(1); }\n",
                   "lonely");
    if (!lonely) return r;
    r.record("compile lonely",
             clCompileProgram(lonely, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    cl_program lonely_only[] = {lonely};
    Program failed(
        clLinkProgram(d.context, 0, nullptr, "", 1, lonely_only, nullptr, nullptr, &err));
    r.record("link: an unresolved function", err);
    r.fact("link: an unresolved function gives a program", failed.get() != nullptr);
    return r;
}

} // namespace rgpu::e2e::scenarios
