// SPDX-License-Identifier: Apache-2.0
// Presents a bench run: the native | rgpu | zmq-raw table, the targets, and the JSON dump.
#pragma once

#include "results.h"

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace rgpu::bench {

struct RunInfo {
    std::string transport;
    bool quick = false;
    std::string daemon_path;
    std::string endpoint;
    double seconds = 0;                // wall time of the whole run
    std::vector<std::string> selected; // OpenCL measurements asked for (rows and targets shown)
};

struct TargetCheck {
    std::string name;     // e.g. "empty_kernel_enqueue rgpu/native"
    std::string relation; // ">=" or "<="
    double threshold = 0;
    bool available = false; // both numbers present
    double ratio = 0;
    bool pass = false;
};

std::vector<TargetCheck> evaluate_targets(const RunInfo& run, const SideResults& native,
                                          const SideResults& rgpu, const SideResults& zmq);

void print_report(std::ostream& out, const RunInfo& run, const SideResults& native,
                  const SideResults& rgpu, const SideResults& zmq,
                  const std::vector<TargetCheck>& targets);

// Throws std::runtime_error when the file cannot be written.
void write_json(const std::filesystem::path& file, const RunInfo& run, const SideResults& native,
                const SideResults& rgpu, const SideResults& zmq,
                const std::vector<TargetCheck>& targets);

} // namespace rgpu::bench
