// SPDX-License-Identifier: Apache-2.0
// Helpers the scenarios share: handle owners, setup macros, device setup, info queries, events.
#ifndef RGPU_TESTS_E2E_SCENARIO_SUPPORT_H
#define RGPU_TESTS_E2E_SCENARIO_SUPPORT_H

#include "scenarios.h"

#include <CL/cl.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

// Records a setup call; a failure ends the scenario (the caller returns `r`).
#define SETUP(label, expr)                                                                         \
    do {                                                                                           \
        if (r.record(label, (expr)) != CL_SUCCESS) {                                               \
            r.aborted_at = label;                                                                  \
            return r;                                                                              \
        }                                                                                          \
    } while (0)

// Ends the scenario when a call that returns a pointer gave none.
#define SETUP_PTR(label, ptr)                                                                      \
    do {                                                                                           \
        if ((ptr) == nullptr) {                                                                    \
            r.fact(std::string(label) + " returned", "NULL");                                      \
            r.aborted_at = label;                                                                  \
            return r;                                                                              \
        }                                                                                          \
    } while (0)

namespace rgpu::e2e::scenarios::detail {

// Owns one OpenCL handle; releases it exactly once.
template <typename T, cl_int (*Release)(T)> class Ref {
  public:
    Ref() = default;
    explicit Ref(T handle) : handle_(handle) {}
    ~Ref() { reset(); }
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    void reset(T handle = nullptr) {
        if (handle_) Release(handle_);
        handle_ = handle;
    }
    T* out() {
        reset();
        return &handle_;
    }
    T get() const { return handle_; }
    operator T() const { return handle_; }

  private:
    T handle_ = nullptr;
};

using Context = Ref<cl_context, clReleaseContext>;
using Queue = Ref<cl_command_queue, clReleaseCommandQueue>;
using Mem = Ref<cl_mem, clReleaseMemObject>;
using Program = Ref<cl_program, clReleaseProgram>;
using Kernel = Ref<cl_kernel, clReleaseKernel>;
using Event = Ref<cl_event, clReleaseEvent>;

struct Device {
    cl_platform_id platform = nullptr;
    cl_device_id id = nullptr;
    Context context;
    Queue queue;
};

// The platform's first device, a context on it and an in-order queue with `properties`.
bool open(ScenarioResult& r, cl_platform_id platform, Device& d,
          cl_command_queue_properties properties = 0);

// Creates and builds `source`; records both calls under `label`.
bool build(ScenarioResult& r, Device& d, Program& program, const char* source, const char* options,
           const std::string& label = "");

// A string-valued clGet*Info: the size query, then the value; both recorded, and the size
// recorded as a fact (it must be strlen + 1 on both platforms alike).
template <typename Query>
std::string info_string(ScenarioResult& r, const std::string& label, Query query,
                        bool size_fact = true) {
    size_t size = 0;
    if (r.record(label + " size", query(0, nullptr, &size)) != CL_SUCCESS) return "<error>";
    std::string value(size, '\0');
    size_t returned = 0;
    if (r.record(label, query(size, value.data(), &returned)) != CL_SUCCESS) return "<error>";
    if (size_fact) {
        r.fact(label + " size", size);
        r.fact(label + " NUL-terminated", size > 0 && value[size - 1] == '\0');
    }
    r.fact(label + " size_ret matches", returned == size);
    value.resize(std::strlen(value.c_str()));
    return value;
}

// A fixed-size clGet*Info; records the call and the returned size.
template <typename T, typename Query>
T info_value(ScenarioResult& r, const std::string& label, Query query) {
    T value{};
    size_t returned = 0;
    r.record(label, query(sizeof(T), &value, &returned));
    r.fact(label + " size_ret", returned);
    return value;
}

// An array-valued clGet*Info (e.g. CL_DEVICE_MAX_WORK_ITEM_SIZES).
template <typename T, typename Query>
std::vector<T> info_array(ScenarioResult& r, const std::string& label, Query query) {
    size_t size = 0;
    if (r.record(label + " size", query(0, nullptr, &size)) != CL_SUCCESS) return {};
    std::vector<T> values(size / sizeof(T));
    r.record(label, query(values.size() * sizeof(T), values.data(), nullptr));
    r.fact(label + " size", size);
    return values;
}

template <typename T> std::string join(const std::vector<T>& values) {
    std::string out;
    for (const auto& v : values)
        out += (out.empty() ? "" : ",") + std::to_string(v);
    return out;
}

// An event's execution status; the error code when clGetEventInfo fails.
cl_int event_status(cl_event event);
// CL_COMPLETE, CL_RUNNING, CL_SUBMITTED, CL_QUEUED by name; anything else as describe() gives it.
std::string status_name(cl_int status);
// Records an event's execution status as a fact.
void status_fact(ScenarioResult& r, const std::string& name, cl_event event);
// Records an event's command type as a fact (hexadecimal).
void command_type_fact(ScenarioResult& r, const std::string& name, cl_event event);

// Kernel sources used by scenarios in more than one file.
// vadd(a, b, c): c = a + b.
extern const char* const kVectorAddSource;
// twice(in, out): out = 2 * in; inc(x): x += 1.
extern const char* const kTwiceSource;

// A node of a linked list in SVM memory as the host and the device both see it (the device's
// pointers are 64-bit).
struct SvmNode {
    cl_int value;
    cl_int pad;
    SvmNode* next;
};
static_assert(sizeof(SvmNode) == 16);
// walk(start, out): out[i] = the sum of the values from node i to the end of the list.
extern const char* const kSvmWalkSource;

} // namespace rgpu::e2e::scenarios::detail

#endif // RGPU_TESTS_E2E_SCENARIO_SUPPORT_H
