// SPDX-License-Identifier: Apache-2.0
// The OpenCL measurements, run identically against the native and the rgpu target.
#pragma once

#include "cl_target.h"
#include "config.h"

#include <functional>
#include <string>

namespace rgpu::bench {

// Receives one metric of the running measurement (unit in the name: median_us, per_s, gbps, ms).
using MetricSink = std::function<void(const std::string& metric, double value)>;

// Runs the measurement called `name` (one of opencl_measurement_names()) on `target`.
// Throws std::runtime_error on any OpenCL error or wrong result.
void run_opencl_measurement(const std::string& name, ClTarget& target, const BenchConfig& config,
                            const MetricSink& report);

} // namespace rgpu::bench
