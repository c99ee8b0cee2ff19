// SPDX-License-Identifier: Apache-2.0
// OpenCL measurements in a child process, so a hang or crash in an ICD cannot take the bench down.
//
// The bench re-executes itself with --worker-platform NAME; the worker opens that platform,
// runs the measurements and reports on a pipe, one tab-separated line per event:
//   platform <name> <device> | begin <m> | value <m> <metric> <number> | error <m> <text>
//   end <m> | fatal <text>
// The parent bounds every wait, kills a stuck worker and respawns one after a crash for the
// measurements still to run.
#pragma once

#include "config.h"
#include "results.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rgpu::bench {

// Worker side: runs in the child. Returns its exit status.
int run_worker(const std::string& platform_name, const std::vector<std::string>& measurements,
               const BenchConfig& config);

// Parent side.
struct WorkerOptions {
    std::filesystem::path self_exe;
    std::string platform_name;
    std::vector<std::string> measurements;
    bool quick = false;
    std::map<std::string, std::optional<std::string>> env; // edits for the worker
    std::chrono::seconds setup_timeout{60};                // opening the platform
    std::chrono::seconds measurement_timeout{60};          // each measurement
    // Called when a worker failed: a non-empty answer (e.g. "rgpu-daemon exited") is added to
    // the error and stops further respawns.
    std::function<std::string()> health;
};

struct WorkerOutcome {
    bool platform_opened = false;
};

// Runs all of options.measurements into `side` (errors recorded there, never thrown).
WorkerOutcome run_in_workers(const WorkerOptions& options, SideResults& side);

} // namespace rgpu::bench
