// SPDX-License-Identifier: Apache-2.0
// rgpu-bench entry point: options, then ZeroMQ ceiling, daemon, native and rgpu runs, report.
#include "config.h"
#include "daemon_process.h"
#include "icd_environment.h"
#include "report.h"
#include "results.h"
#include "stats.h"
#include "worker.h"
#include "zmq_ceiling.h"

#include <curve.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>

#ifndef RGPU_DAEMON_PATH
#define RGPU_DAEMON_PATH "rgpu-daemon"
#endif
#ifndef RGPU_VENDORS_DIR
#define RGPU_VENDORS_DIR "vendors"
#endif

namespace fs = std::filesystem;
using namespace rgpu::bench;

namespace {

constexpr const char* native_platform = "Portable Computing Language";

struct Options {
    std::string daemon = RGPU_DAEMON_PATH;
    std::string vendors = RGPU_VENDORS_DIR;
    std::string transport = "tcp";
    bool quick = false;
    bool curve = false;
    std::vector<std::string> only;
    std::string json;
    int timeout_s = 60;
    std::string rgpu_platform = "rgpu"; // hidden: lets the harness be tested without the ICD
    std::string worker_platform;        // internal: run as a worker for this platform
};

bool wants(const std::vector<std::string>& selection, const std::string& name) {
    return std::find(selection.begin(), selection.end(), name) != selection.end();
}

int run_bench(const Options& opt, const BenchConfig& config,
              const std::vector<std::string>& opencl_selected, bool zmq_selected) {
    const auto started = Clock::now();
    SideResults native{"native", "", "", "", {}};
    SideResults rgpu{"rgpu", "", "", "", {}};
    SideResults zmq{"zmq-raw", "", "", "", {}};
    RunInfo run{opt.curve ? opt.transport + "+curve" : opt.transport,
                opt.quick,
                opt.daemon,
                "",
                0,
                opencl_selected};

    ScratchDir scratch;
    const VendorDirs vendors = prepare_vendor_dirs(scratch.path(), opt.vendors);
    // Before any OpenCL call (all of which happen in workers, which inherit this).
    setenv("OCL_ICD_VENDORS", vendors.combined.c_str(), 1);

    // First, while this process has no threads: the ceiling forks its echo server.
    if (zmq_selected) {
        std::cerr << "rgpu-bench: raw ZeroMQ ceiling (" << opt.transport << ")...\n";
        run_zmq_ceiling(opt.transport, scratch.path(), config, zmq);
    }

    std::optional<DaemonProcess> daemon;
    if (!opencl_selected.empty()) {
        if (!vendors.rgpu_icd_error.empty()) {
            rgpu.error = vendors.rgpu_icd_error;
        } else {
            std::cerr << "rgpu-bench: starting " << opt.daemon << "...\n";
            try {
                DaemonOptions options;
                options.executable = opt.daemon;
                options.transport = opt.transport;
                options.scratch = scratch.path();
                if (opt.curve) {
                    // Every rgpu connection encrypted; the raw ZeroMQ ceiling stays plain, so
                    // the ratio to it includes what encryption costs.
                    const auto keys = rgpu::curve::generate();
                    const std::string key_file = (scratch.path() / "daemon.key").string();
                    std::string error;
                    if (!rgpu::curve::write_key_pair(key_file, keys, &error))
                        throw std::runtime_error(error);
                    options.args = {"--curve-key", key_file};
                    setenv("RGPU_SERVER_KEY", keys.public_key.c_str(), 1); // workers inherit it
                }
                daemon.emplace(options);
                run.endpoint = daemon->endpoint();
                setenv("RGPU_SERVERS", run.endpoint.c_str(), 1);
            } catch (const std::exception& e) {
                rgpu.error = e.what();
            }
        }
    }

    if (!opencl_selected.empty()) {
        WorkerOptions w;
        w.self_exe = fs::read_symlink("/proc/self/exe");
        w.measurements = opencl_selected;
        w.quick = opt.quick;
        w.measurement_timeout = std::chrono::seconds(opt.timeout_s);

        std::cerr << "rgpu-bench: native (" << native_platform << ")...\n";
        w.platform_name = native_platform;
        if (!vendors.pocl_icd_error.empty()) {
            native.error = vendors.pocl_icd_error;
        } else if (!run_in_workers(w, native).platform_opened) {
            // The rgpu ICD may be what broke the loader: measure native without it.
            const std::string first_error = native.error;
            native = SideResults{"native", "", "", "", {}};
            w.env["OCL_ICD_VENDORS"] = vendors.pocl_only.string();
            if (run_in_workers(w, native).platform_opened)
                native.note = "measured with pocl.icd alone; with rgpu.icd too: " + first_error;
            else
                native.error = first_error + " (with pocl.icd alone too: " + native.error + ")";
            w.env.clear();
        }

        if (daemon) {
            std::cerr << "rgpu-bench: rgpu via " << run.endpoint << "...\n";
            w.platform_name = opt.rgpu_platform;
            w.health = [&]() -> std::string {
                const std::string how = daemon->exit_description();
                return how.empty() ? "" : "rgpu-daemon " + how;
            };
            run_in_workers(w, rgpu);
            bool rgpu_failed = !rgpu.error.empty();
            for (const auto& [name, m] : rgpu.measurements)
                rgpu_failed = rgpu_failed || !m.error.empty();
            daemon->stop();
            if (rgpu_failed) {
                const std::string tail = daemon->log_tail();
                if (!tail.empty()) rgpu.note += tail.substr(3); // drop the leading "\n  "
            }
        }
    }
    daemon.reset();

    run.seconds = seconds_since(started);
    const auto targets = evaluate_targets(run, native, rgpu, zmq);
    print_report(std::cout, run, native, rgpu, zmq, targets);
    if (!opt.json.empty()) {
        try {
            write_json(opt.json, run, native, rgpu, zmq, targets);
        } catch (const std::exception& e) {
            std::cerr << "rgpu-bench: " << e.what() << "\n";
            return 1;
        }
    }
    const bool native_ok = opencl_selected.empty() || native.error.empty();
    const bool zmq_ok = !zmq_selected || zmq.error.empty();
    return native_ok && zmq_ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    Options opt;
    CLI::App app{"rgpu-bench: the same OpenCL measurements natively on POCL and through rgpu, "
                 "with the raw ZeroMQ ceiling, side by side"};
    app.add_option("--daemon", opt.daemon, "path to rgpu-daemon")->capture_default_str();
    app.add_option("--vendors", opt.vendors, "directory holding rgpu.icd")->capture_default_str();
    app.add_option("--transport", opt.transport, "transport for rgpu and the ZeroMQ ceiling")
        ->check(CLI::IsMember({"tcp", "ipc"}))
        ->capture_default_str();
    app.add_flag("--quick", opt.quick, "fewer repetitions, for a smoke run");
    app.add_flag("--curve", opt.curve,
                 "run the daemon with --curve-key: every rgpu connection encrypted (CurveZMQ)");
    std::vector<std::string> names = opencl_measurement_names();
    names.push_back(zmq_raw_name);
    app.add_option("--only", opt.only, "run only these measurements (comma separated)")
        ->delimiter(',')
        ->check(CLI::IsMember(names));
    app.add_option("--json", opt.json, "also write the numbers to this JSON file");
    app.add_option("--timeout", opt.timeout_s, "seconds one OpenCL measurement may take")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--worker-platform", opt.worker_platform)->group(""); // internal
    app.add_option("--rgpu-platform", opt.rgpu_platform)->group("");     // testing the harness
    CLI11_PARSE(app, argc, argv);

    const BenchConfig config = BenchConfig::make(opt.quick);
    std::vector<std::string> opencl_selected;
    for (const auto& name : opencl_measurement_names())
        if (opt.only.empty() || wants(opt.only, name)) opencl_selected.push_back(name);

    if (!opt.worker_platform.empty())
        return run_worker(opt.worker_platform, opencl_selected, config);

    // The ceiling is measured when asked for, or when a selected row has a raw ZeroMQ column.
    bool zmq_selected = opt.only.empty() || wants(opt.only, zmq_raw_name);
    for (const auto& name : opencl_selected)
        zmq_selected = zmq_selected || name != "vector_add_1m";
    try {
        return run_bench(opt, config, opencl_selected, zmq_selected);
    } catch (const std::exception& e) {
        std::cerr << "rgpu-bench: " << e.what() << "\n";
        return 1;
    }
}
