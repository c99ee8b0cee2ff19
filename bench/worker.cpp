// SPDX-License-Identifier: Apache-2.0
// The worker process: opens one platform, runs the OpenCL measurements, reports on a pipe.
#include "worker.h"

#include "cl_target.h"
#include "opencl_measurements.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace rgpu::bench {

namespace {

std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return text;
}

// Writes whole protocol lines with one write() each on a private copy of stdout; stdout itself
// is pointed at stderr so that stray prints from an ICD cannot corrupt the protocol.
class Reporter {
  public:
    Reporter() {
        fd_ = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        std::fflush(stdout);
        dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    ~Reporter() { close(fd_); }
    void line(std::initializer_list<std::string> fields) {
        std::string s;
        for (const auto& f : fields)
            s += (s.empty() ? "" : "\t") + one_line(f);
        s += '\n';
        for (std::size_t done = 0; done < s.size();) {
            const ssize_t n = write(fd_, s.data() + done, s.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return; // the parent is gone; nothing sensible left to do
            done += static_cast<std::size_t>(n);
        }
    }

  private:
    int fd_ = -1;
};

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

} // namespace

int run_worker(const std::string& platform_name, const std::vector<std::string>& measurements,
               const BenchConfig& config) {
    Reporter out;
    std::unique_ptr<ClTarget> target;
    try {
        target = open_target(platform_name);
    } catch (const std::exception& e) {
        out.line({"fatal", e.what()});
        return 1;
    }
    out.line({"platform", target->platform_name, target->device_name});
    for (const auto& m : measurements) {
        out.line({"begin", m});
        try {
            run_opencl_measurement(m, *target, config, [&](const std::string& metric, double v) {
                out.line({"value", m, metric, number(v)});
            });
        } catch (const std::exception& e) {
            out.line({"error", m, e.what()});
        }
        out.line({"end", m});
    }
    target.reset();
    return 0;
}

} // namespace rgpu::bench
