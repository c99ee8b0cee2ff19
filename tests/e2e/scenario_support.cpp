// SPDX-License-Identifier: Apache-2.0
// Helpers the scenarios share: device setup, program builds, event facts, shared kernel sources.
#include "scenario_support.h"

#include "harness.h"

#include <cstdio>
#include <string>

namespace rgpu::e2e::scenarios::detail {

bool open(ScenarioResult& r, cl_platform_id platform, Device& d,
          cl_command_queue_properties properties) {
    d.platform = platform;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &d.id, nullptr);
    if (r.record("clGetDeviceIDs", err) != CL_SUCCESS) {
        r.aborted_at = "clGetDeviceIDs";
        return false;
    }
    const cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                           reinterpret_cast<cl_context_properties>(platform), 0};
    d.context.reset(clCreateContext(props, 1, &d.id, nullptr, nullptr, &err));
    if (r.record("clCreateContext", err) != CL_SUCCESS) {
        r.aborted_at = "clCreateContext";
        return false;
    }
    d.queue.reset(clCreateCommandQueue(d.context, d.id, properties, &err));
    if (r.record("clCreateCommandQueue", err) != CL_SUCCESS) {
        r.aborted_at = "clCreateCommandQueue";
        return false;
    }
    return true;
}

bool build(ScenarioResult& r, Device& d, Program& program, const char* source, const char* options,
           const std::string& label) {
    cl_int err;
    program.reset(clCreateProgramWithSource(d.context, 1, &source, nullptr, &err));
    const std::string create = "clCreateProgramWithSource" + label;
    if (r.record(create, err) != CL_SUCCESS) {
        r.aborted_at = create;
        return false;
    }
    const std::string build_call = "clBuildProgram" + label;
    if (r.record(build_call, clBuildProgram(program, 1, &d.id, options, nullptr, nullptr)) !=
        CL_SUCCESS) {
        r.aborted_at = build_call;
        return false;
    }
    return true;
}

cl_int event_status(cl_event event) {
    cl_int status = 1;
    const cl_int err =
        clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr);
    return err == CL_SUCCESS ? status : err;
}

std::string status_name(cl_int status) {
    switch (status) {
    case CL_COMPLETE:
        return "CL_COMPLETE";
    case CL_RUNNING:
        return "CL_RUNNING";
    case CL_SUBMITTED:
        return "CL_SUBMITTED";
    case CL_QUEUED:
        return "CL_QUEUED";
    default:
        return describe(status);
    }
}

void status_fact(ScenarioResult& r, const std::string& name, cl_event event) {
    cl_int status = 1;
    r.record("status " + name, clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS,
                                              sizeof status, &status, nullptr));
    r.fact("status " + name, status_name(status));
}

void command_type_fact(ScenarioResult& r, const std::string& name, cl_event event) {
    cl_command_type type = 0;
    r.record("command type " + name,
             clGetEventInfo(event, CL_EVENT_COMMAND_TYPE, sizeof type, &type, nullptr));
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%04x", type);
    r.fact("command type " + name, hex);
}

const char* const kVectorAddSource = R"CLC(
__kernel void vadd(__global const float* a, __global const float* b, __global float* c) {
    size_t i = get_global_id(0);
    c[i] = a[i] + b[i];
}
)CLC";

const char* const kTwiceSource = R"CLC(
__kernel void twice(__global const int* in, __global int* out) {
    size_t i = get_global_id(0);
    out[i] = in[i] * 2;
}
__kernel void inc(__global int* x) {
    x[get_global_id(0)] += 1;
}
)CLC";

const char* const kSvmWalkSource = R"CLC(
typedef struct Node { int value; int pad; __global struct Node* next; } Node;
kernel void walk(__global Node* start, __global int* out) {
    size_t i = get_global_id(0);
    int sum = 0;
    for (__global Node* p = start + i; p; p = p->next) sum += p->value;
    out[i] = sum;
}
)CLC";

} // namespace rgpu::e2e::scenarios::detail
