// SPDX-License-Identifier: Apache-2.0
// Differential scenarios: the OpenCL programs themselves and the comparison of their results.
#include "scenarios.h"

#include "harness.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

namespace rgpu::e2e {

// ---------------------------------------------------------------------------------------------
// ScenarioResult

cl_int ScenarioResult::record(std::string what, cl_int code) {
    calls.push_back({std::move(what), code});
    return code;
}

void ScenarioResult::fact(std::string name, std::string value) {
    facts.emplace_back(std::move(name), std::move(value));
}

cl_int ScenarioResult::code(std::string_view what) const {
    for (auto it = calls.rbegin(); it != calls.rend(); ++it)
        if (it->what == what) return it->code;
    return kMissing;
}

std::string ScenarioResult::fact_value(std::string_view name) const {
    for (auto it = facts.rbegin(); it != facts.rend(); ++it)
        if (it->first == name) return it->second;
    return "<missing>";
}

bool ScenarioResult::has_data(std::string_view name) const {
    return std::any_of(data.begin(), data.end(), [&](const auto& d) { return d.first == name; });
}

std::vector<std::string> ScenarioResult::failures() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
        if (c.code != CL_SUCCESS) out.push_back(c.what + ": " + describe(c.code));
    if (!aborted_at.empty()) out.push_back("aborted at " + aborted_at);
    return out;
}

namespace {
std::string clip(const std::string& s, size_t max = 240) {
    return s.size() <= max ? s : s.substr(0, max) + "...(" + std::to_string(s.size()) + " chars)";
}

std::string hex_bytes(const std::vector<unsigned char>& bytes, size_t offset, size_t count) {
    std::string out;
    char buf[4];
    for (size_t i = offset; i < std::min(bytes.size(), offset + count); ++i) {
        std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
        out += buf;
    }
    return out;
}
} // namespace

std::vector<std::string> differences(const ScenarioResult& native, const ScenarioResult& remote) {
    std::vector<std::string> out;
    if (native.aborted_at != remote.aborted_at)
        out.push_back("aborted at: native '" + native.aborted_at + "', rgpu '" + remote.aborted_at +
                      "'");
    const size_t calls = std::max(native.calls.size(), remote.calls.size());
    for (size_t i = 0; i < calls; ++i) {
        const auto show = [&](const ScenarioResult& r) {
            return i < r.calls.size() ? "'" + r.calls[i].what + "' " + describe(r.calls[i].code)
                                      : std::string("(no call)");
        };
        const bool same = i < native.calls.size() && i < remote.calls.size() &&
                          native.calls[i].what == remote.calls[i].what &&
                          native.calls[i].code == remote.calls[i].code;
        if (!same)
            out.push_back("call #" + std::to_string(i) + ": native " + show(native) + ", rgpu " +
                          show(remote));
    }
    std::vector<std::string> names;
    for (const auto* r : {&native, &remote})
        for (const auto& [name, value] : r->facts)
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    for (const auto& name : names) {
        const std::string a = native.fact_value(name), b = remote.fact_value(name);
        if (a != b)
            out.push_back("fact '" + name + "': native \"" + clip(a) + "\", rgpu \"" + clip(b) +
                          "\"");
    }
    names.clear();
    for (const auto* r : {&native, &remote})
        for (const auto& [name, bytes] : r->data)
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    for (const auto& name : names) {
        const auto find = [&](const ScenarioResult& r) -> const std::vector<unsigned char>* {
            for (const auto& [n, bytes] : r.data)
                if (n == name) return &bytes;
            return nullptr;
        };
        const auto *a = find(native), *b = find(remote);
        if (!a || !b) {
            out.push_back("data '" + name + "': only on " + (a ? "native" : "rgpu"));
            continue;
        }
        if (a->size() != b->size()) {
            out.push_back("data '" + name + "': native " + std::to_string(a->size()) +
                          " bytes, rgpu " + std::to_string(b->size()) + " bytes");
            continue;
        }
        const auto mismatch = std::mismatch(a->begin(), a->end(), b->begin());
        if (mismatch.first != a->end()) {
            const size_t at = static_cast<size_t>(mismatch.first - a->begin()) / 4 * 4;
            size_t count = 0;
            for (size_t i = 0; i < a->size(); ++i)
                count += (*a)[i] != (*b)[i];
            out.push_back("data '" + name + "': " + std::to_string(count) +
                          " bytes differ, first at byte " + std::to_string(at) + ": native " +
                          hex_bytes(*a, at, 16) + ", rgpu " + hex_bytes(*b, at, 16));
        }
    }
    return out;
}

std::string to_string(const ScenarioResult& result) {
    std::ostringstream out;
    for (const auto& c : result.calls)
        out << "  call " << c.what << " -> " << describe(c.code) << "\n";
    for (const auto& [name, value] : result.facts)
        out << "  fact " << name << " = " << clip(value) << "\n";
    for (const auto& [name, bytes] : result.data)
        out << "  data " << name << ": " << bytes.size() << " bytes\n";
    if (!result.aborted_at.empty()) out << "  aborted at " << result.aborted_at << "\n";
    return out.str();
}

// ---------------------------------------------------------------------------------------------
// Scenario plumbing

namespace scenarios {
namespace {

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

struct Device {
    cl_platform_id platform = nullptr;
    cl_device_id id = nullptr;
    Context context;
    Queue queue;
};

// The platform's first device, a context on it and an in-order queue with `properties`.
bool open(ScenarioResult& r, cl_platform_id platform, Device& d,
          cl_command_queue_properties properties = 0) {
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

// Creates and builds `source`; records both calls under `label`.
bool build(ScenarioResult& r, Device& d, Program& program, const char* source, const char* options,
           const std::string& label = "") {
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

// Records an event's execution status as a fact.
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

// Completes a user event on every return path, then drains the queue, so that commands it
// gates never outlive the host memory they use.
class UserEventGuard {
  public:
    UserEventGuard(cl_event event, cl_command_queue queue) : event_(event), queue_(queue) {}
    ~UserEventGuard() {
        if (!done_ && event_) clSetUserEventStatus(event_, CL_COMPLETE);
        if (queue_) clFinish(queue_);
    }
    void done() { done_ = true; }

  private:
    cl_event event_;
    cl_command_queue queue_;
    bool done_ = false;
};

const char* const kVectorAddSource = R"CLC(
__kernel void vadd(__global const float* a, __global const float* b, __global float* c) {
    size_t i = get_global_id(0);
    c[i] = a[i] + b[i];
}
)CLC";

enum class BufferMode { CopyHostPtr, UseHostPtr, AllocHostPtr, Write };

ScenarioResult vector_add(cl_platform_id platform, BufferMode mode) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kVectorAddSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "vadd", &err));
    SETUP("clCreateKernel", err);

    const size_t n = kVectorSize, bytes = n * sizeof(float);
    std::vector<float> ha(n), hb(n), hc(n, -1.0f);
    for (size_t i = 0; i < n; ++i) {
        ha[i] = vector_a(i);
        hb[i] = vector_b(i);
    }
    Mem a, b, c;
    switch (mode) {
    case BufferMode::CopyHostPtr:
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, ha.data(),
                               &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, hb.data(),
                               &err));
        SETUP("clCreateBuffer b", err);
        // The host copies must not matter after creation.
        std::fill(ha.begin(), ha.end(), 0.0f);
        std::fill(hb.begin(), hb.end(), 0.0f);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer c", err);
        break;
    case BufferMode::UseHostPtr:
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, bytes, ha.data(),
                               &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, bytes, hb.data(),
                               &err));
        SETUP("clCreateBuffer b", err);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR, bytes, hc.data(),
                               &err));
        SETUP("clCreateBuffer c", err);
        break;
    case BufferMode::AllocHostPtr: {
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                               &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                               &err));
        SETUP("clCreateBuffer b", err);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                               &err));
        SETUP("clCreateBuffer c", err);
        for (auto [mem, host, name] : {std::tuple{a.get(), &ha, "a"}, {b.get(), &hb, "b"}}) {
            const std::string label = std::string("clEnqueueMapBuffer ") + name;
            void* p = clEnqueueMapBuffer(d.queue, mem, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0,
                                         bytes, 0, nullptr, nullptr, &err);
            SETUP(label, err);
            SETUP_PTR(label, p);
            std::memcpy(p, host->data(), bytes);
            SETUP(std::string("clEnqueueUnmapMemObject ") + name,
                  clEnqueueUnmapMemObject(d.queue, mem, p, 0, nullptr, nullptr));
        }
        break;
    }
    case BufferMode::Write:
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer b", err);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer c", err);
        SETUP("clEnqueueWriteBuffer a",
              clEnqueueWriteBuffer(d.queue, a, CL_TRUE, 0, bytes, ha.data(), 0, nullptr, nullptr));
        SETUP("clEnqueueWriteBuffer b",
              clEnqueueWriteBuffer(d.queue, b, CL_FALSE, 0, bytes, hb.data(), 0, nullptr, nullptr));
        break;
    }

    cl_mem args[] = {a, b, c};
    for (cl_uint i = 0; i < 3; ++i)
        SETUP("clSetKernelArg " + std::to_string(i),
              clSetKernelArg(kernel, i, sizeof(cl_mem), &args[i]));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));

    if (mode == BufferMode::CopyHostPtr || mode == BufferMode::Write) {
        std::vector<float> out(n, -2.0f);
        SETUP("clEnqueueReadBuffer",
              clEnqueueReadBuffer(d.queue, c, CL_TRUE, 0, bytes, out.data(), 0, nullptr, nullptr));
        r.put("c", out);
    } else {
        auto* p = static_cast<float*>(clEnqueueMapBuffer(d.queue, c, CL_TRUE, CL_MAP_READ, 0, bytes,
                                                         0, nullptr, nullptr, &err));
        SETUP("clEnqueueMapBuffer c", err);
        SETUP_PTR("clEnqueueMapBuffer c", p);
        r.put("c mapped", std::vector<float>(p, p + n));
        if (mode == BufferMode::UseHostPtr) {
            // OpenCL 1.2+: the mapped pointer of a USE_HOST_PTR buffer is derived from host_ptr,
            // and host_ptr holds the contents while mapped.
            r.fact("map returns host_ptr", static_cast<void*>(p) == hc.data());
            r.put("c host while mapped", hc);
        }
        SETUP("clEnqueueUnmapMemObject c",
              clEnqueueUnmapMemObject(d.queue, c, p, 0, nullptr, nullptr));
    }
    r.record("clFinish", clFinish(d.queue));
    return r;
}

} // namespace

float vector_a(size_t i) {
    return static_cast<float>(i) * 0.5f;
}
float vector_b(size_t i) {
    return 1000.0f - static_cast<float>(i);
}

bool vector_add_correct(const ScenarioResult& result, std::string_view name) {
    const auto c = result.get<float>(name);
    if (c.size() != kVectorSize) return false;
    for (size_t i = 0; i < kVectorSize; ++i)
        if (c[i] != vector_a(i) + vector_b(i)) return false;
    return true;
}

ScenarioResult vector_add_copy_host_ptr(cl_platform_id platform) {
    return vector_add(platform, BufferMode::CopyHostPtr);
}
ScenarioResult vector_add_use_host_ptr(cl_platform_id platform) {
    return vector_add(platform, BufferMode::UseHostPtr);
}
ScenarioResult vector_add_alloc_host_ptr(cl_platform_id platform) {
    return vector_add(platform, BufferMode::AllocHostPtr);
}
ScenarioResult vector_add_write_buffer(cl_platform_id platform) {
    return vector_add(platform, BufferMode::Write);
}

// ---------------------------------------------------------------------------------------------

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

namespace {
constexpr size_t kTransferInts = 256;

// Write, partial write, two fills, copy, full and partial read; blocking, or chained by events
// on an out-of-order queue where the device has one.
ScenarioResult transfers(cl_platform_id platform, bool blocking) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    if (!blocking) {
        cl_command_queue_properties supported = 0;
        r.record("CL_DEVICE_QUEUE_PROPERTIES",
                 clGetDeviceInfo(d.id, CL_DEVICE_QUEUE_PROPERTIES, sizeof supported, &supported,
                                 nullptr));
        const bool ooo = (supported & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
        r.fact("out-of-order queue", ooo);
        if (ooo) {
            d.queue.reset(clCreateCommandQueue(d.context, d.id,
                                               CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err));
            SETUP("clCreateCommandQueue out-of-order", err);
        }
    }
    const size_t bytes = kTransferInts * sizeof(cl_int);
    std::vector<cl_int> host_a(kTransferInts), patch(5), host_b(kTransferInts, -1), part(20, -1);
    for (size_t i = 0; i < kTransferInts; ++i)
        host_a[i] = static_cast<cl_int>(i * 3 + 1);
    for (size_t i = 0; i < patch.size(); ++i)
        patch[i] = static_cast<cl_int>(7000 + i);
    Mem a(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer a", err);
    Mem b(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer b", err);
    const cl_int pattern4 = 0x5a5a5a5a;
    const cl_short pattern2 = 0x1234;
    const cl_bool block = blocking ? CL_TRUE : CL_FALSE;

    Event write_all, write_patch, fill4, fill2, copy, read_b, read_part;
    SETUP("clEnqueueWriteBuffer all",
          clEnqueueWriteBuffer(d.queue, a, block, 0, bytes, host_a.data(), 0, nullptr,
                               write_all.out()));
    cl_event after_write = write_all;
    SETUP("clEnqueueWriteBuffer patch",
          clEnqueueWriteBuffer(d.queue, a, block, 10 * sizeof(cl_int),
                               patch.size() * sizeof(cl_int), patch.data(), blocking ? 0 : 1,
                               blocking ? nullptr : &after_write, write_patch.out()));
    SETUP("clEnqueueFillBuffer 4", clEnqueueFillBuffer(d.queue, b, &pattern4, sizeof pattern4, 0,
                                                       bytes, 0, nullptr, fill4.out()));
    cl_event after_fill4 = fill4;
    if (blocking) SETUP("clWaitForEvents fill", clWaitForEvents(1, &after_fill4));
    SETUP("clEnqueueFillBuffer 2",
          clEnqueueFillBuffer(d.queue, b, &pattern2, sizeof pattern2, 8, 16, blocking ? 0 : 1,
                              blocking ? nullptr : &after_fill4, fill2.out()));
    if (blocking) SETUP("clFinish after fills", clFinish(d.queue));
    cl_event before_copy[] = {write_patch, fill2};
    SETUP("clEnqueueCopyBuffer",
          clEnqueueCopyBuffer(d.queue, a, b, 32 * sizeof(cl_int), 100 * sizeof(cl_int),
                              64 * sizeof(cl_int), blocking ? 0 : 2,
                              blocking ? nullptr : before_copy, copy.out()));
    if (blocking) SETUP("clFinish after copy", clFinish(d.queue));
    cl_event after_copy = copy;
    SETUP("clEnqueueReadBuffer b",
          clEnqueueReadBuffer(d.queue, b, block, 0, bytes, host_b.data(), blocking ? 0 : 1,
                              blocking ? nullptr : &after_copy, read_b.out()));
    cl_event after_patch = write_patch;
    SETUP("clEnqueueReadBuffer part",
          clEnqueueReadBuffer(d.queue, a, block, 5 * sizeof(cl_int), part.size() * sizeof(cl_int),
                              part.data(), blocking ? 0 : 1, blocking ? nullptr : &after_patch,
                              read_part.out()));
    if (!blocking) {
        cl_event reads[] = {read_b, read_part};
        SETUP("clWaitForEvents reads", clWaitForEvents(2, reads));
    }
    // Every command is complete now: the reads are, and each waited (directly or in order) on
    // all the others.
    for (const auto& [name, event] : {std::pair{"write all", write_all.get()},
                                      {"write patch", write_patch.get()},
                                      {"fill 4", fill4.get()},
                                      {"fill 2", fill2.get()},
                                      {"copy", copy.get()},
                                      {"read b", read_b.get()},
                                      {"read part", read_part.get()}})
        status_fact(r, name, event);
    r.put("b", host_b);
    r.put("a part", part);
    r.record("clFinish", clFinish(d.queue));
    return r;
}
} // namespace

ScenarioResult transfers_blocking(cl_platform_id platform) {
    return transfers(platform, true);
}
ScenarioResult transfers_nonblocking(cl_platform_id platform) {
    return transfers(platform, false);
}

namespace {
const char* const kTwiceSource = R"CLC(
__kernel void twice(__global const int* in, __global int* out) {
    size_t i = get_global_id(0);
    out[i] = in[i] * 2;
}
__kernel void inc(__global int* x) {
    x[get_global_id(0)] += 1;
}
)CLC";

struct CallbackRecord {
    std::atomic<bool> ran{false};
    std::atomic<cl_int> status{1};
    std::atomic<cl_event> event{nullptr};
};

void CL_CALLBACK on_complete(cl_event event, cl_int status, void* user_data) {
    auto* record = static_cast<CallbackRecord*>(user_data);
    record->status = status;
    record->event = event;
    record->ran = true;
}
} // namespace

ScenarioResult events_and_wait_lists(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "twice", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 128, bytes = n * sizeof(cl_int);
    std::vector<cl_int> in(n), out(n, -1);
    for (size_t i = 0; i < n; ++i)
        in[i] = static_cast<cl_int>(i) - 50;
    Mem in_mem(clCreateBuffer(d.context, CL_MEM_READ_ONLY, bytes, nullptr, &err));
    SETUP("clCreateBuffer in", err);
    Mem out_mem(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
    SETUP("clCreateBuffer out", err);
    cl_mem args[] = {in_mem, out_mem};
    SETUP("clSetKernelArg 0", clSetKernelArg(kernel, 0, sizeof(cl_mem), &args[0]));
    SETUP("clSetKernelArg 1", clSetKernelArg(kernel, 1, sizeof(cl_mem), &args[1]));

    Event write, run, read;
    SETUP("clEnqueueWriteBuffer", clEnqueueWriteBuffer(d.queue, in_mem, CL_FALSE, 0, bytes,
                                                       in.data(), 0, nullptr, write.out()));
    cl_event after_write = write;
    SETUP("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr,
                                                           1, &after_write, run.out()));
    cl_event after_run = run;
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, out_mem, CL_FALSE, 0, bytes,
                                                     out.data(), 1, &after_run, read.out()));
    // On the heap, and leaked when the callback has not run by the end: a late call must not
    // write into a dead stack frame.
    auto* callback = new CallbackRecord();
    struct CallbackOwner {
        CallbackRecord* record;
        ~CallbackOwner() {
            if (record->ran) delete record;
        }
    } callback_owner{callback};
    SETUP("clSetEventCallback", clSetEventCallback(read, CL_COMPLETE, on_complete, callback));
    cl_event read_event = read;
    SETUP("clWaitForEvents read", clWaitForEvents(1, &read_event));
    status_fact(r, "read after its wait", read);
    cl_event all[] = {write, run, read};
    SETUP("clWaitForEvents all", clWaitForEvents(3, all));
    SETUP("clFinish", clFinish(d.queue));
    for (const auto& [name, event] :
         {std::pair{"write", write.get()}, {"kernel", run.get()}, {"read", read.get()}}) {
        status_fact(r, name, event);
        command_type_fact(r, name, event);
        cl_command_queue queue = nullptr;
        r.record(std::string("CL_EVENT_COMMAND_QUEUE ") + name,
                 clGetEventInfo(event, CL_EVENT_COMMAND_QUEUE, sizeof queue, &queue, nullptr));
        r.fact(std::string("queue of ") + name + " is the queue", queue == d.queue.get());
        cl_context context = nullptr;
        r.record(std::string("CL_EVENT_CONTEXT ") + name,
                 clGetEventInfo(event, CL_EVENT_CONTEXT, sizeof context, &context, nullptr));
        r.fact(std::string("context of ") + name + " is the context", context == d.context.get());
    }
    // Callbacks may run on another thread a little after completion: wait for it, bounded.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!callback->ran && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r.fact("callback ran", callback->ran.load());
    r.fact("callback status", status_name(callback->status));
    r.fact("callback event is the event", callback->event.load() == read.get());
    cl_ulong start = 0;
    r.record(
        "profiling info without profiling",
        clGetEventProfilingInfo(run, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr));
    r.put("out", out);
    return r;
}

ScenarioResult profiling_timestamps(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const cl_queue_properties props[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
    Queue queue(clCreateCommandQueueWithProperties(d.context, d.id, props, &err));
    SETUP("clCreateCommandQueueWithProperties", err);
    cl_command_queue_properties got = 0;
    r.record("CL_QUEUE_PROPERTIES",
             clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof got, &got, nullptr));
    r.fact("queue properties", got);
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 4096, bytes = n * sizeof(cl_int);
    std::vector<cl_int> host(n, 1);
    Mem x(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = x;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    Event write, run, read;
    SETUP("clEnqueueWriteBuffer",
          clEnqueueWriteBuffer(queue, x, CL_FALSE, 0, bytes, host.data(), 0, nullptr, write.out()));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, run.out()));
    SETUP("clEnqueueReadBuffer",
          clEnqueueReadBuffer(queue, x, CL_TRUE, 0, bytes, host.data(), 0, nullptr, read.out()));
    SETUP("clFinish", clFinish(queue));
    cl_ulong previous_end = 0;
    for (const auto& [name, event] :
         {std::pair{"write", write.get()}, {"kernel", run.get()}, {"read", read.get()}}) {
        cl_ulong t[4] = {};
        const cl_profiling_info params[] = {CL_PROFILING_COMMAND_QUEUED,
                                            CL_PROFILING_COMMAND_SUBMIT, CL_PROFILING_COMMAND_START,
                                            CL_PROFILING_COMMAND_END};
        const char* const param_names[] = {"queued", "submit", "start", "end"};
        for (int i = 0; i < 4; ++i)
            r.record(std::string(name) + " " + param_names[i],
                     clGetEventProfilingInfo(event, params[i], sizeof t[i], &t[i], nullptr));
        r.fact(std::string(name) + " queued <= submit", t[0] <= t[1]);
        r.fact(std::string(name) + " submit <= start", t[1] <= t[2]);
        r.fact(std::string(name) + " start <= end", t[2] <= t[3]);
        r.fact(std::string(name) + " end > 0", t[3] > 0);
        // An in-order queue: each command starts after the previous one ended.
        r.fact(std::string(name) + " starts after the previous end", previous_end <= t[2]);
        previous_end = t[3];
    }
    std::vector<cl_int> expected(n, 2);
    r.fact("kernel result", host == expected);
    return r;
}

ScenarioResult user_event_gate(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const size_t n = 64, bytes = n * sizeof(cl_int);
    std::vector<cl_int> source(n), result(n, -1);
    for (size_t i = 0; i < n; ++i)
        source[i] = static_cast<cl_int>(i * i);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    UserEventGuard guard(gate, d.queue);
    status_fact(r, "user event initially", gate);
    command_type_fact(r, "user event", gate);
    cl_command_queue no_queue = reinterpret_cast<cl_command_queue>(1);
    r.record("CL_EVENT_COMMAND_QUEUE user event",
             clGetEventInfo(gate, CL_EVENT_COMMAND_QUEUE, sizeof no_queue, &no_queue, nullptr));
    r.fact("user event has no queue", no_queue == nullptr);

    Event write;
    cl_event gate_event = gate;
    SETUP("clEnqueueWriteBuffer gated",
          clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, 0, bytes, source.data(), 1, &gate_event,
                               write.out()));
    SETUP("clFlush", clFlush(d.queue));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const cl_int before = event_status(write);
    r.fact("gated write complete before the user event", before == CL_COMPLETE);
    r.fact("gated write status valid before the user event",
           before == CL_QUEUED || before == CL_SUBMITTED || before == CL_RUNNING);

    SETUP("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    guard.done();
    cl_event write_event = write;
    SETUP("clWaitForEvents", clWaitForEvents(1, &write_event));
    status_fact(r, "gated write after the user event", write);
    status_fact(r, "user event after set", gate);
    SETUP("clFinish", clFinish(d.queue));
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, buffer, CL_TRUE, 0, bytes,
                                                     result.data(), 0, nullptr, nullptr));
    r.put("buffer", result);
    r.record("clSetUserEventStatus twice", clSetUserEventStatus(gate, CL_COMPLETE));

    Event second(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent second", err);
    r.record("clSetUserEventStatus CL_RUNNING", clSetUserEventStatus(second, CL_RUNNING));
    r.record("clSetUserEventStatus second", clSetUserEventStatus(second, CL_COMPLETE));
    return r;
}

ScenarioResult user_event_failure(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    std::vector<cl_int> source(16, 7);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    cl_event gate_event = gate;
    Event first, second;
    SETUP("clEnqueueWriteBuffer gated",
          clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, 0, 64, source.data(), 1, &gate_event,
                               first.out()));
    cl_event first_event = first;
    SETUP("clEnqueueMarkerWithWaitList after it",
          clEnqueueMarkerWithWaitList(d.queue, 1, &first_event, second.out()));
    SETUP("clFlush", clFlush(d.queue));
    // A failed user event fails everything waiting on it; the wait must return, not hang.
    SETUP("clSetUserEventStatus -1", clSetUserEventStatus(gate, -1));
    cl_event both[2] = {first, second};
    r.record("clWaitForEvents on failed commands", clWaitForEvents(2, both));
    r.fact("gated write failed", event_status(first) < 0);
    r.fact("marker behind it failed", event_status(second) < 0);
    r.record("clFinish after failure", clFinish(d.queue));
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

ScenarioResult markers_and_barriers(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 16, bytes = n * sizeof(cl_int);
    std::vector<cl_int> host(n, 0);
    Mem x(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, host.data(),
                         &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = x;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    UserEventGuard guard(gate, d.queue);

    Event marker, run, barrier, legacy_marker;
    cl_event gate_event = gate;
    SETUP("clEnqueueMarkerWithWaitList",
          clEnqueueMarkerWithWaitList(d.queue, 1, &gate_event, marker.out()));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, run.out()));
    SETUP("clEnqueueBarrierWithWaitList",
          clEnqueueBarrierWithWaitList(d.queue, 0, nullptr, barrier.out()));
    SETUP("clFlush", clFlush(d.queue));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    r.fact("marker complete before the user event", event_status(marker) == CL_COMPLETE);
    r.fact("kernel complete before the user event", event_status(run) == CL_COMPLETE);
    r.fact("barrier complete before the user event", event_status(barrier) == CL_COMPLETE);
    SETUP("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    guard.done();
    SETUP("clFinish", clFinish(d.queue));
    for (const auto& [name, event] :
         {std::pair{"marker", marker.get()}, {"kernel", run.get()}, {"barrier", barrier.get()}}) {
        status_fact(r, name, event);
        command_type_fact(r, name, event);
    }
    // The OpenCL 1.1 forms.
    SETUP("clEnqueueMarker", clEnqueueMarker(d.queue, legacy_marker.out()));
    SETUP("clEnqueueBarrier", clEnqueueBarrier(d.queue));
    // Not clEnqueueWaitForEvents: POCL 3.1 does not implement it and exits the process.
    SETUP("clEnqueueNDRangeKernel again",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    SETUP("clEnqueueReadBuffer",
          clEnqueueReadBuffer(d.queue, x, CL_TRUE, 0, bytes, host.data(), 0, nullptr, nullptr));
    status_fact(r, "legacy marker", legacy_marker);
    command_type_fact(r, "legacy marker", legacy_marker);
    r.put("x", host);
    return r;
}

ScenarioResult reference_counts(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 256, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    Event user(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);

    const auto counts = [&](const std::string& name, auto retain, auto release, auto query) {
        r.fact(name + " fresh", info_value<cl_uint>(r, name + " fresh", query));
        r.record(name + " retain", retain());
        r.fact(name + " after retain", info_value<cl_uint>(r, name + " after retain", query));
        r.record(name + " release", release());
        r.fact(name + " after release", info_value<cl_uint>(r, name + " after release", query));
    };
    counts(
        "CL_MEM_REFERENCE_COUNT", [&] { return clRetainMemObject(buffer); },
        [&] { return clReleaseMemObject(buffer); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetMemObjectInfo(buffer, CL_MEM_REFERENCE_COUNT, s, v, rs);
        });
    counts(
        "CL_KERNEL_REFERENCE_COUNT", [&] { return clRetainKernel(kernel); },
        [&] { return clReleaseKernel(kernel); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetKernelInfo(kernel, CL_KERNEL_REFERENCE_COUNT, s, v, rs);
        });
    counts(
        "CL_EVENT_REFERENCE_COUNT", [&] { return clRetainEvent(user); },
        [&] { return clReleaseEvent(user); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetEventInfo(user, CL_EVENT_REFERENCE_COUNT, s, v, rs);
        });
    counts(
        "CL_QUEUE_REFERENCE_COUNT", [&] { return clRetainCommandQueue(d.queue); },
        [&] { return clReleaseCommandQueue(d.queue); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetCommandQueueInfo(d.queue, CL_QUEUE_REFERENCE_COUNT, s, v, rs);
        });
    clSetUserEventStatus(user, CL_COMPLETE);
    return r;
}

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Error paths

namespace {
// A device, a built vector-add program and its kernel: the common start of the error cases.
struct VaddSetup {
    Device d;
    Program program;
    Kernel kernel;
    Mem a, b, c;
};

bool open_vadd(ScenarioResult& r, cl_platform_id platform, VaddSetup& s, bool set_args) {
    if (!open(r, platform, s.d)) return false;
    if (!build(r, s.d, s.program, kVectorAddSource, "")) return false;
    cl_int err;
    s.kernel.reset(clCreateKernel(s.program, "vadd", &err));
    if (r.record("clCreateKernel", err) != CL_SUCCESS) {
        r.aborted_at = "clCreateKernel";
        return false;
    }
    const size_t bytes = 256 * sizeof(float);
    for (Mem* m : {&s.a, &s.b, &s.c}) {
        m->reset(clCreateBuffer(s.d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
        if (r.record("clCreateBuffer", err) != CL_SUCCESS) {
            r.aborted_at = "clCreateBuffer";
            return false;
        }
    }
    if (set_args) {
        const cl_mem args[] = {s.a, s.b, s.c};
        for (cl_uint i = 0; i < 3; ++i)
            if (r.record("clSetKernelArg", clSetKernelArg(s.kernel, i, sizeof(cl_mem), &args[i])) !=
                CL_SUCCESS) {
                r.aborted_at = "clSetKernelArg";
                return false;
            }
    }
    return true;
}

// A create call that must fail: its code, and that it returned no handle.
template <typename T> void expect_no_handle(ScenarioResult& r, T handle, cl_int err) {
    r.record("under test", err);
    r.fact("handle is NULL", handle == nullptr);
}
} // namespace

ScenarioResult error_buffer_size_zero(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err = CL_SUCCESS;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 0, nullptr, &err));
    expect_no_handle(r, m.get(), err);
    return r;
}

ScenarioResult error_copy_host_ptr_null(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err = CL_SUCCESS;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 64, nullptr, &err));
    expect_no_handle(r, m.get(), err);
    return r;
}

ScenarioResult error_read_only_write_only(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err = CL_SUCCESS;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 64, nullptr, &err));
    expect_no_handle(r, m.get(), err);
    return r;
}

ScenarioResult error_unknown_kernel_name(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kVectorAddSource, "")) return r;
    cl_int err = CL_SUCCESS;
    Kernel k(clCreateKernel(program, "no_such_kernel", &err));
    expect_no_handle(r, k.get(), err);
    return r;
}

ScenarioResult error_kernel_from_unbuilt_program(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const char* text = kVectorAddSource;
    Program program(clCreateProgramWithSource(d.context, 1, &text, nullptr, &err));
    SETUP("clCreateProgramWithSource", err);
    Kernel k(clCreateKernel(program, "vadd", &err));
    expect_no_handle(r, k.get(), err);
    return r;
}

ScenarioResult error_arg_index_out_of_range(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, false)) return r;
    cl_mem a = s.a;
    r.record("under test", clSetKernelArg(s.kernel, 3, sizeof a, &a));
    return r;
}

ScenarioResult error_buffer_arg_wrong_size(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, false)) return r;
    cl_mem a = s.a;
    r.record("under test", clSetKernelArg(s.kernel, 0, sizeof(cl_int), &a));
    return r;
}

ScenarioResult error_unset_kernel_arg(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, false)) return r;
    const cl_mem args[] = {s.a, s.b};
    SETUP("clSetKernelArg 0", clSetKernelArg(s.kernel, 0, sizeof(cl_mem), &args[0]));
    SETUP("clSetKernelArg 1", clSetKernelArg(s.kernel, 1, sizeof(cl_mem), &args[1]));
    const size_t global = 256;
    r.record("under test", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 1, nullptr, &global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_read_out_of_bounds(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    std::vector<unsigned char> host(128);
    r.record("under test",
             clEnqueueReadBuffer(d.queue, m, CL_TRUE, 32, 64, host.data(), 0, nullptr, nullptr));
    r.record("read past the end, non-blocking",
             clEnqueueReadBuffer(d.queue, m, CL_FALSE, 0, 65, host.data(), 0, nullptr, nullptr));
    r.record("clFinish", clFinish(d.queue));
    return r;
}

ScenarioResult error_global_not_multiple_of_local(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    const size_t global = 100, local = 8;
    r.record("under test", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 1, nullptr, &global, &local,
                                                  0, nullptr, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_work_dim_zero(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    const size_t global[4] = {256, 1, 1, 1};
    r.record("under test", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 0, nullptr, global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("work_dim 4", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 4, nullptr, global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_null_queue(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    const size_t global = 256;
    r.record("under test", clEnqueueNDRangeKernel(nullptr, s.kernel, 1, nullptr, &global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("clFinish NULL", clFinish(nullptr));
    return r;
}

ScenarioResult error_wait_list_null(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    std::vector<float> host(256);
    r.record("under test", clEnqueueWriteBuffer(s.d.queue, s.a, CL_FALSE, 0, 64, host.data(), 1,
                                                nullptr, nullptr));
    // Not clEnqueueNDRangeKernel: POCL 3.1 dereferences the NULL list there and crashes.
    r.record("marker with 1 event and NULL list",
             clEnqueueMarkerWithWaitList(s.d.queue, 1, nullptr, nullptr));
    r.record("copy with 1 event and NULL list",
             clEnqueueCopyBuffer(s.d.queue, s.a, s.b, 0, 0, 64, 1, nullptr, nullptr));
    Event done;
    SETUP("clEnqueueMarkerWithWaitList",
          clEnqueueMarkerWithWaitList(s.d.queue, 0, nullptr, done.out()));
    cl_event list = done;
    r.record("read with 0 events and a list",
             clEnqueueReadBuffer(s.d.queue, s.a, CL_TRUE, 0, 64, host.data(), 0, &list, nullptr));
    r.record("clWaitForEvents 1 NULL", clWaitForEvents(1, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_device_info_bogus_param(cl_platform_id platform) {
    ScenarioResult r;
    cl_device_id device = nullptr;
    SETUP("clGetDeviceIDs", clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr));
    char value[256];
    size_t size = 12345;
    r.record("under test", clGetDeviceInfo(device, 0xDEAD, sizeof value, value, &size));
    cl_uint units = 0;
    r.record("value too small",
             clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, 1, &units, nullptr));
    return r;
}

ScenarioResult error_device_type_not_found(cl_platform_id platform) {
    ScenarioResult r;
    cl_uint count = 12345;
    r.record("under test",
             clGetDeviceIDs(platform, CL_DEVICE_TYPE_ACCELERATOR, 0, nullptr, &count));
    // POCL leaves num_devices untouched here; writing 0 is as good: both say "no device".
    r.fact("num_devices says no device", count == 0 || count == 12345);
    cl_device_id device = nullptr;
    r.record("with a device array",
             clGetDeviceIDs(platform, CL_DEVICE_TYPE_ACCELERATOR, 1, &device, nullptr));
    r.fact("device left NULL", device == nullptr);
    return r;
}

#undef SETUP
#undef SETUP_PTR

} // namespace scenarios
} // namespace rgpu::e2e
