// SPDX-License-Identifier: Apache-2.0
// The numbers one bench run collects: per side (native, rgpu, zmq-raw), per measurement.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rgpu::bench {

// Measurement names, in the order they run and print. `--only` takes these.
inline const std::vector<std::string>& opencl_measurement_names() {
    static const std::vector<std::string> names{"small_read_rtt", "empty_kernel_enqueue",
                                                "write_64mib", "read_64mib", "vector_add_1m"};
    return names;
}
inline constexpr const char* zmq_raw_name = "zmq_raw";

struct MeasurementResult {
    std::map<std::string, double> values; // metric name -> value (units in the metric name)
    std::string error;                    // empty when the measurement ran cleanly
};

struct SideResults {
    std::string label; // "native", "rgpu", "zmq-raw"
    std::string info;  // platform/device or endpoint, for the header
    std::string error; // whole side unavailable: why
    std::string note;  // anything the reader should know about how it was measured
    std::map<std::string, MeasurementResult> measurements;

    // The value, or nullptr when it is missing or the measurement failed.
    const double* value(const std::string& measurement, const std::string& metric) const {
        auto m = measurements.find(measurement);
        if (m == measurements.end() || !m->second.error.empty()) return nullptr;
        auto v = m->second.values.find(metric);
        return v == m->second.values.end() ? nullptr : &v->second;
    }
};

} // namespace rgpu::bench
