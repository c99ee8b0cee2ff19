// SPDX-License-Identifier: Apache-2.0
// rgpu-pool-bench: what the pooled device gives. Independent compute-bound kernels, launched
// as fast as the client can, then one finish; throughput in kernels per second for:
//   native       one POCL device, natively (the baseline)
//   rgpu         the same device through rgpu, not pooled
//   pool of 1    the same device pooled alone (what pooling costs)
//   pool of 2    two POCL devices pooled: per-launch placement on one out-of-order queue, and
//                per-queue placement on two in-order queues
//   2 daemons    two daemons of one device each, one context over both devices (RGPU_SERVERS
//                names both), a queue on each
// Each configuration runs in a fresh process of this program (the ICD loader and POCL read their
// environment once per process). POCL's `basic` devices run a command on the thread that
// flushes it, so two of them in one daemon run in parallel exactly when the daemon drives them
// from two threads.
#include "daemon_process.h"
#include "icd_environment.h"
#include "process.h"

#include <CL/cl.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* kSource = R"CLC(
__kernel void spin(__global float* out, int iterations) {
    size_t i = get_global_id(0);
    float x = (float)i * 0.001f, y = 1.0f;
    for (int k = 0; k < iterations; ++k) {
        y = y * 0.999f + x;
        x = x * 1.0001f - y * 0.0001f;
    }
    out[i] = x + y;
}
__kernel void touch(__global float* data) {
    data[0] += 1.0f;
}
)CLC";

struct MeasureOptions {
    std::string platform;
    int queues = 1;
    int devices = 1; ///< of the platform, in one context; queue q on device q % devices
    bool out_of_order = false;
    int kernels = 32;
    int iterations = 20000;
    int items = 256;
    /// Migration mode: one buffer of this many MiB touched by `kernels` one-item launches that
    /// alternate between the queues, each after the one before.
    int migrate_mib = 0;
};

#define CHECK_CL(call)                                                                             \
    do {                                                                                           \
        cl_int check_err_ = (call);                                                                \
        if (check_err_ != CL_SUCCESS) {                                                            \
            std::fprintf(stderr, "%s failed: %d\n", #call, check_err_);                            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/// Migration mode: prints "MiB_per_second final_value". Every launch needs the buffer where the
/// one before it ran.
int measure_migration(const MeasureOptions& o, cl_context context, cl_kernel kernel,
                      const std::vector<cl_command_queue>& queues) {
    cl_int err = CL_SUCCESS;
    const size_t bytes = static_cast<size_t>(o.migrate_mib) << 20;
    cl_mem data = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    CHECK_CL(err);
    const float zero = 0;
    CHECK_CL(
        clEnqueueFillBuffer(queues[0], data, &zero, sizeof zero, 0, bytes, 0, nullptr, nullptr));
    CHECK_CL(clSetKernelArg(kernel, 0, sizeof data, &data));
    const size_t one = 1;
    cl_event last = nullptr;
    auto launch = [&](int k) {
        cl_event done = nullptr;
        cl_int e = clEnqueueNDRangeKernel(queues[k % queues.size()], kernel, 1, nullptr, &one,
                                          nullptr, last ? 1 : 0, last ? &last : nullptr, &done);
        if (last) clReleaseEvent(last);
        last = done;
        return e;
    };
    // Warm-up: the kernel compiled on every device, the buffer where the first launch needs it.
    int launches = 0;
    for (size_t q = 0; q < queues.size(); ++q)
        CHECK_CL(launch(launches++));
    CHECK_CL(clWaitForEvents(1, &last));
    auto start = Clock::now();
    for (int k = 0; k < o.kernels; ++k)
        CHECK_CL(launch(launches++));
    CHECK_CL(clWaitForEvents(1, &last));
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    float value = 0;
    CHECK_CL(clEnqueueReadBuffer(queues[0], data, CL_TRUE, 0, sizeof value, &value, 0, nullptr,
                                 nullptr));
    std::printf("%.3f %.6e\n", o.kernels * static_cast<double>(o.migrate_mib) / seconds,
                static_cast<double>(value));
    clReleaseEvent(last);
    clReleaseMemObject(data);
    for (auto q : queues)
        clReleaseCommandQueue(q);
    clReleaseKernel(kernel);
    clReleaseContext(context);
    return 0;
}

/// Child mode: prints "kernels_per_second checksum".
int measure(const MeasureOptions& o) {
    cl_uint count = 0;
    CHECK_CL(clGetPlatformIDs(0, nullptr, &count));
    std::vector<cl_platform_id> platforms(count);
    CHECK_CL(clGetPlatformIDs(count, platforms.data(), nullptr));
    cl_platform_id platform = nullptr;
    for (auto p : platforms) {
        char name[256] = {0};
        clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof name - 1, name, nullptr);
        if (o.platform == name) platform = p;
    }
    if (!platform) {
        std::fprintf(stderr, "platform '%s' not found\n", o.platform.c_str());
        return 1;
    }
    std::vector<cl_device_id> devices(o.devices);
    cl_uint found = 0;
    CHECK_CL(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, o.devices, devices.data(), &found));
    if (found < devices.size()) {
        std::fprintf(stderr, "%u devices, want %zu\n", found, devices.size());
        return 1;
    }
    cl_int err = CL_SUCCESS;
    cl_context context =
        clCreateContext(nullptr, o.devices, devices.data(), nullptr, nullptr, &err);
    CHECK_CL(err);
    cl_program program = clCreateProgramWithSource(context, 1, &kSource, nullptr, &err);
    CHECK_CL(err);
    CHECK_CL(clBuildProgram(program, 0, nullptr, "", nullptr, nullptr));
    cl_kernel kernel = clCreateKernel(program, o.migrate_mib ? "touch" : "spin", &err);
    CHECK_CL(err);
    std::vector<cl_command_queue> queues;
    for (int q = 0; q < o.queues; ++q) {
        cl_command_queue_properties props =
            o.out_of_order ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0;
        queues.push_back(clCreateCommandQueue(context, devices[q % devices.size()], props, &err));
        CHECK_CL(err);
    }
    if (o.migrate_mib) return measure_migration(o, context, kernel, queues);
    std::vector<cl_mem> outputs;
    for (int k = 0; k < o.kernels; ++k) {
        outputs.push_back(
            clCreateBuffer(context, CL_MEM_WRITE_ONLY, o.items * sizeof(float), nullptr, &err));
        CHECK_CL(err);
    }
    size_t global = static_cast<size_t>(o.items);
    auto launch = [&](int k) {
        cl_int e = clSetKernelArg(kernel, 0, sizeof(cl_mem), &outputs[k]);
        if (e == CL_SUCCESS) e = clSetKernelArg(kernel, 1, sizeof(int), &o.iterations);
        if (e == CL_SUCCESS)
            e = clEnqueueNDRangeKernel(queues[k % queues.size()], kernel, 1, nullptr, &global,
                                       nullptr, 0, nullptr, nullptr);
        return e;
    };
    // Warm-up: the kernel compiled and measured once on every queue.
    for (size_t q = 0; q < queues.size(); ++q)
        CHECK_CL(launch(static_cast<int>(q)));
    for (auto q : queues)
        CHECK_CL(clFinish(q));
    auto start = Clock::now();
    for (int k = 0; k < o.kernels; ++k)
        CHECK_CL(launch(k));
    for (auto q : queues)
        CHECK_CL(clFinish(q));
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    double checksum = 0;
    std::vector<float> host(o.items);
    for (int k = 0; k < o.kernels; ++k) {
        CHECK_CL(clEnqueueReadBuffer(queues[0], outputs[k], CL_TRUE, 0, host.size() * sizeof(float),
                                     host.data(), 0, nullptr, nullptr));
        for (float v : host)
            checksum += v;
    }
    std::printf("%.3f %.6e\n", o.kernels / seconds, checksum);
    for (auto m : outputs)
        clReleaseMemObject(m);
    for (auto q : queues)
        clReleaseCommandQueue(q);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    clReleaseContext(context);
    return 0;
}

struct Result {
    double kernels_per_second = 0;
    double checksum = 0;
    std::string error;
};

/// Runs this program in measure mode once per entry of `clients`, all at once, with `env`
/// edits, and parses their answers.
std::vector<Result> run_children(const std::string& self,
                                 const std::vector<MeasureOptions>& clients,
                                 const std::map<std::string, std::optional<std::string>>& env,
                                 const fs::path& scratch) {
    using namespace rgpu::bench;
    std::vector<Result> results(clients.size());
    std::vector<ChildProcess> children(clients.size());
    std::vector<fs::path> outputs;
    for (size_t i = 0; i < clients.size(); ++i) {
        const MeasureOptions& o = clients[i];
        outputs.push_back(scratch / ("child" + std::to_string(i) + ".out"));
        int out = open(outputs.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        SpawnOptions spawn;
        spawn.argv = {self,
                      "--measure",
                      o.platform,
                      "--queues",
                      std::to_string(o.queues),
                      "--devices",
                      std::to_string(o.devices),
                      "--kernels",
                      std::to_string(o.kernels),
                      "--iterations",
                      std::to_string(o.iterations),
                      "--items",
                      std::to_string(o.items),
                      "--migrate-mib",
                      std::to_string(o.migrate_mib)};
        if (o.out_of_order) spawn.argv.push_back("--out-of-order");
        spawn.env = env;
        spawn.stdout_fd = out;
        try {
            children[i] = ChildProcess::spawn(spawn);
        } catch (const std::exception& e) {
            results[i].error = e.what();
        }
        close(out);
    }
    for (size_t i = 0; i < clients.size(); ++i) {
        if (!results[i].error.empty()) continue;
        if (!children[i].wait_for(std::chrono::seconds(300)))
            children[i].terminate(std::chrono::seconds(5));
        FILE* f = std::fopen(outputs[i].c_str(), "r");
        if (!f ||
            std::fscanf(f, "%lf %lf", &results[i].kernels_per_second, &results[i].checksum) != 2)
            results[i].error =
                "no result (wait status " +
                (children[i].status() ? std::to_string(*children[i].status()) : "?") + ")";
        if (f) std::fclose(f);
    }
    return results;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-pool-bench: independent kernels on a pooled device against one device"};
    MeasureOptions o;
    std::string measure_platform;
    std::string daemon = RGPU_DAEMON_PATH;
    std::string vendors = RGPU_VENDORS_DIR;
    std::string pocl_device = "basic";
    app.add_option("--measure", measure_platform)->group(""); // child mode
    app.add_option("--queues", o.queues)->group("");
    app.add_option("--devices", o.devices)->group("");
    app.add_option("--migrate-mib", o.migrate_mib)->group("");
    app.add_flag("--out-of-order", o.out_of_order)->group("");
    app.add_option("--kernels", o.kernels, "kernels per measurement")->capture_default_str();
    app.add_option("--iterations", o.iterations, "loop iterations per work-item (kernel length)")
        ->capture_default_str();
    app.add_option("--items", o.items, "work-items per kernel")->capture_default_str();
    app.add_option("--pocl-device", pocl_device,
                   "POCL device kind the members and the baseline use (basic, pthread)")
        ->capture_default_str();
    app.add_option("--daemon", daemon, "rgpu-daemon to run")->capture_default_str();
    std::string only;
    app.add_option("--only", only, "run only the configurations whose name contains this");
    app.add_option("--vendors", vendors, "directory holding rgpu.icd")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (!measure_platform.empty()) {
        o.platform = measure_platform;
        return measure(o);
    }

    using namespace rgpu::bench;
    ScratchDir scratch;
    VendorDirs dirs = prepare_vendor_dirs(scratch.path(), vendors);
    if (!dirs.rgpu_icd_error.empty() || !dirs.pocl_icd_error.empty()) {
        std::fprintf(stderr, "%s %s\n", dirs.rgpu_icd_error.c_str(), dirs.pocl_icd_error.c_str());
        return 1;
    }
    std::string self = fs::canonical("/proc/self/exe").string();
    std::string one = pocl_device, two = pocl_device + " " + pocl_device;

    struct Client {
        int queues = 1;
        bool out_of_order = false;
        int shorter = 1; ///< kernels this many times shorter
    };
    struct Config {
        std::string name;
        std::string devices; // POCL_DEVICES of the daemon ("" = native run)
        std::vector<std::string> daemon_args;
        std::vector<Client> clients;
        int daemons = 1; ///< each with `devices`; the client's context spans them all
        /// POCL `pthread` devices of one thread each (here and in the baseline it is compared
        /// with): POCL_DEVICES above names how many.
        bool single_thread = false;
        int migrate_mib = 0; ///< migration mode: MiB/s moved between devices, not kernels/s
        /// Contexts spanning daemons: buffers move through the client (RGPU_DIRECT_MOVES=0)
        /// instead of straight between the daemons.
        bool through_client = false;
    };
    const std::vector<std::string> pool = {"--pool"};
    const std::vector<std::string> per_queue = {"--pool", "--placement", "per-queue"};
    std::vector<Config> configs = {
        {"native, 1 device", "", {}, {{}}},
        {"rgpu, 1 device", one, {}, {{}}},
        {"rgpu, pool of 1", one, pool, {{}}},
        {"rgpu, pool of 2, per-launch, 1 out-of-order queue", two, pool, {{1, true}}},
        {"rgpu, pool of 2, per-queue, 2 queues", two, per_queue, {{2, false}}},
        // Many daemons, one platform: against one single-thread device (POCL basic devices
        // deadlock on commands released by user events, which cross-daemon moves use).
        {"native, 1 single-thread pthread device", "", {}, {{}}, 1, true},
        {"rgpu, 2 daemons of 1 single-thread device, 1 context, 2 queues",
         "pthread",
         {},
         {{2, false}},
         2,
         true},
        // Migration rates: each launch needs the buffer where the one before it ran.
        {"migration between pool members (2 pthread), 16 MiB, MiB/s",
         "pthread pthread",
         {"--pool", "--policy", "round-robin"},
         {{1, false}},
         1,
         true,
         16},
        {"migration between 2 daemons (direct), 16 MiB, MiB/s",
         "pthread",
         {},
         {{2, false}},
         2,
         true,
         16},
        {"migration between 2 daemons (through the client), 16 MiB, MiB/s",
         "pthread",
         {},
         {{2, false}},
         2,
         true,
         16,
         true},
        {"migration between 2 daemons (direct), 64 MiB, MiB/s",
         "pthread",
         {},
         {{2, false}},
         2,
         true,
         64},
        {"migration between 2 daemons (through the client), 64 MiB, MiB/s",
         "pthread",
         {},
         {{2, false}},
         2,
         true,
         64,
         true},
        // Sharing: two clients at once; then a client of 10x shorter kernels alone and beside one
        // that floods the pool with long ones.
        {"2 clients, pool of 2, per-queue, 1 queue each", two, per_queue, {{}, {}}},
        {"2 clients, pool of 2, per-launch, 1 out-of-order queue each",
         two,
         pool,
         {{1, true}, {1, true}}},
        {"short kernels alone, pool of 2, per-launch", two, pool, {{1, false, 10}}},
        {"short kernels beside long ones, pool of 2, per-launch",
         two,
         pool,
         {{1, false, 10}, {1, true}}},
    };
    std::printf("%d kernels of %d work-items x %d iterations; POCL '%s' devices\n", o.kernels,
                o.items, o.iterations, pocl_device.c_str());
    std::printf("%-66s %12s %9s  %s\n", "configuration", "kernels/s", "x native", "checksum");
    double native = 0, native_single_thread = 0;
    for (const auto& c : configs) {
        if (!only.empty() && c.name.find(only) == std::string::npos) continue;
        std::vector<MeasureOptions> clients;
        for (const Client& client : c.clients) {
            MeasureOptions m = o;
            m.queues = client.queues;
            m.devices = c.daemons;
            m.migrate_mib = c.migrate_mib;
            m.out_of_order = client.out_of_order;
            m.iterations = o.iterations / client.shorter;
            m.platform = c.devices.empty() ? "Portable Computing Language" : "rgpu";
            clients.push_back(m);
        }
        std::vector<Result> results;
        std::optional<std::string> threads;
        if (c.single_thread) threads = "1";
        double& baseline = c.single_thread ? native_single_thread : native;
        if (c.devices.empty()) {
            results = run_children(self, clients,
                                   {{"OCL_ICD_VENDORS", dirs.pocl_only.string()},
                                    {"POCL_DEVICES", c.single_thread ? "pthread" : one},
                                    {"POCL_MAX_PTHREAD_COUNT", threads},
                                    {"RGPU_SERVERS", std::nullopt}},
                                   scratch.path());
            baseline = results.front().kernels_per_second;
        } else {
            DaemonOptions d;
            d.executable = daemon;
            d.transport = "tcp";
            d.scratch = scratch.path();
            d.args = c.daemon_args;
            d.env["POCL_DEVICES"] = c.devices;
            d.env["POCL_MAX_PTHREAD_COUNT"] = threads;
            try {
                std::vector<std::unique_ptr<DaemonProcess>> processes;
                std::string servers;
                for (int i = 0; i < c.daemons; ++i) {
                    // Each its own ready file and log.
                    d.scratch = scratch.path() / ("daemon" + std::to_string(i));
                    fs::create_directories(d.scratch);
                    processes.push_back(std::make_unique<DaemonProcess>(d));
                    servers += (servers.empty() ? "" : ",") + processes.back()->endpoint();
                }
                std::optional<std::string> direct;
                if (c.through_client) direct = "0";
                results = run_children(self, clients,
                                       {{"OCL_ICD_VENDORS", dirs.combined.string()},
                                        {"RGPU_SERVERS", servers},
                                        {"RGPU_DIRECT_MOVES", direct}},
                                       scratch.path());
            } catch (const std::exception& e) {
                results.assign(clients.size(), Result{});
                for (auto& r : results)
                    r.error = e.what();
            }
        }
        for (size_t i = 0; i < results.size(); ++i) {
            const Result& r = results[i];
            std::string name = c.name;
            if (results.size() > 1)
                name = "  client " + std::to_string(i) +
                       (c.clients[i].shorter > 1 ? " (short kernels)" : "");
            if (results.size() > 1 && i == 0) std::printf("%s\n", c.name.c_str());
            if (!r.error.empty()) {
                std::printf("%-66s failed: %s\n", name.c_str(), r.error.c_str());
                continue;
            }
            if (c.migrate_mib) {
                std::printf("%-66s %12.2f %9s  %.6e\n", name.c_str(), r.kernels_per_second, "-",
                            r.checksum);
                continue;
            }
            // Short kernels do 1/shorter of the work: their ratio counts work, not launches.
            double work = r.kernels_per_second / c.clients[i].shorter;
            std::printf("%-66s %12.2f %9.2f  %.6e\n", name.c_str(), r.kernels_per_second,
                        baseline > 0 ? work / baseline : 0.0, r.checksum);
        }
    }
    return 0;
}
