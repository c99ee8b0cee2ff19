// SPDX-License-Identifier: Apache-2.0
// Differential scenario of kernel printf: what the process's standard output receives.
#include "scenario_support.h"
#include "scenarios.h"

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace rgpu::e2e::scenarios {
using namespace detail;

namespace {

/// Standard output (the descriptor and stdio) goes to a temporary file while this lives.
class CapturedStdout {
  public:
    CapturedStdout() {
        std::fflush(stdout);
        file_ = std::tmpfile();
        saved_ = dup(STDOUT_FILENO);
        if (file_ && saved_ >= 0) dup2(fileno(file_), STDOUT_FILENO);
    }
    ~CapturedStdout() { restore(); }
    /// Everything written so far; standard output is its own again afterwards.
    std::string take() {
        restore();
        std::string out;
        if (!file_) return out;
        std::rewind(file_);
        char buffer[4096];
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0)
            out.append(buffer, n);
        return out;
    }

  private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stdout);
        dup2(saved_, STDOUT_FILENO);
        close(saved_);
        saved_ = -1;
    }
    std::FILE* file_ = nullptr;
    int saved_ = -1;
};

std::string sorted_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size() - 1;
        lines.push_back(text.substr(at, end + 1 - at));
        at = end + 1;
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& line : lines)
        out += line;
    return out;
}

} // namespace

ScenarioResult kernel_printf(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program,
               "__kernel void say(int base) {\n"
               "  int i = get_global_id(0);\n"
               "  if (i == 0) printf(\"start %d\\n\", base);\n"
               "  printf(\"item %d of %d: %f %s\\n\", i, (int)get_global_size(0), i * 0.5f, "
               "\"ok\");\n"
               "}\n",
               ""))
        return r;
    cl_int err;
    Kernel say(clCreateKernel(program, "say", &err));
    SETUP("clCreateKernel", err);
    std::string after_event, after_finish;
    {
        CapturedStdout captured;
        const cl_int base = 41;
        r.record("clSetKernelArg", clSetKernelArg(say, 0, sizeof base, &base));
        const size_t one = 1;
        Event done;
        r.record("launch one", clEnqueueNDRangeKernel(d.queue, say, 1, nullptr, &one, nullptr, 0,
                                                      nullptr, done.out()));
        cl_event wait = done;
        r.record("clWaitForEvents", clWaitForEvents(1, &wait));
        // By the time the event is complete, its output is out.
        after_event = captured.take();
    }
    {
        CapturedStdout captured;
        const cl_int base = 7;
        r.record("clSetKernelArg again", clSetKernelArg(say, 0, sizeof base, &base));
        const size_t four = 4, one = 1;
        r.record("launch four", clEnqueueNDRangeKernel(d.queue, say, 1, nullptr, &four, &one, 0,
                                                       nullptr, nullptr));
        r.record("clFinish", clFinish(d.queue));
        after_finish = captured.take();
    }
    r.fact("after the event", after_event);
    // Work-groups run in parallel: the lines of different ones come in no defined order.
    r.fact("after clFinish, lines sorted", sorted_lines(after_finish));
    return r;
}

} // namespace rgpu::e2e::scenarios
