// SPDX-License-Identifier: Apache-2.0
// rgpu-daemon: serves the local OpenCL devices to rgpu clients over ZeroMQ. Started by an
// operator it is the supervisor; it starts copies of itself (--worker-fd) as session workers.
#include "device_pool.h"
#include "devices.h"
#include "supervisor.h"
#include "worker_server.h"

#include <policy.h>
#include <protocol.h>

#include <CLI/CLI.hpp>
#include <curve.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <malloc.h>
#include <sys/prctl.h>
#include <thread>
#include <unistd.h>

namespace {

std::atomic<bool> g_stop{false};
rgpu::daemon::Supervisor* g_supervisor = nullptr;
rgpu::daemon::WorkerServer* g_worker = nullptr;

extern "C" void on_signal(int) {
    g_stop.store(true);
    // Both wake-ups are eventfd writes: async-signal-safe.
    if (g_supervisor) g_supervisor->wake();
    if (g_worker) g_worker->wake();
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int run_worker(int control_fd, const std::string& bind, pid_t supervisor,
               const rgpu::daemon::PoolSettings& pool,
               std::optional<rgpu::curve::KeyPair> curve_keys, bool direct_moves) {
    // Standard output is the session's kernel output (see kernel_output.h): log to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_mt("rgpu-worker"));
    spdlog::set_pattern(fmt::format("%Y-%m-%d %H:%M:%S.%e %^%l%$ rgpu-worker[{}]: %v", getpid()));
    // A worker must not outlive its supervisor: nobody could stop it any more.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor) return 1; // the supervisor died before prctl took effect
    // Transfer chunks are a few MiB each: keep such blocks on the heap rather than mapping and
    // faulting in fresh pages for every chunk.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    auto devices = rgpu::daemon::discover_devices(false);
    if (std::string error; !rgpu::daemon::serve_devices(devices, pool, error)) {
        spdlog::error("{}", error);
        return 2;
    }
    rgpu::daemon::WorkerOptions options;
    options.bind = bind;
    options.control_fd = control_fd;
    options.capture_output = true;
    options.curve_keys = std::move(curve_keys);
    options.direct_moves = direct_moves;
    rgpu::daemon::WorkerServer worker(options, std::move(devices));
    g_worker = &worker;
    install_signal_handlers();
    int status = worker.run(g_stop);
    g_worker = nullptr;
    return status;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-daemon: serves local OpenCL devices to remote rgpu clients"};
    rgpu::daemon::SupervisorOptions options;
    options.listen = rgpu::proto::kDefaultEndpoint;
    std::string level = "info";
    double lease_s = rgpu::proto::kDefaultLeaseMs / 1000.0;
    double grace_s = 5;
    double checkpoint_interval_s = 0;
    int worker_fd = -1;
    std::string worker_bind;
    pid_t supervisor_pid = 0;
    app.add_option("-l,--listen", options.listen,
                   "ZeroMQ endpoint to serve on (tcp://HOST:PORT, tcp://HOST:* for a free port, "
                   "ipc://PATH); each session's worker listens on a free port of the same host "
                   "(or an ipc path beside PATH)")
        ->capture_default_str();
    app.add_option("--ready-file", options.ready_file,
                   "write the bound endpoint to this file once listening");
    app.add_option("--log-level", level, "trace, debug, info, warn, error or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    app.add_option("--lease,--session-timeout", lease_s,
                   "seconds a session is kept without its client (connection lost, client "
                   "detached or gone without Goodbye): its commands go on executing and their "
                   "results wait for the client to reconnect; then it is freed")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    auto* checkpoint_dir_option = app.add_option(
        "--checkpoint-dir", options.checkpoint_dir,
        "save every session here when stopped (SIGTERM: queues drained first, within "
        "--grace) and restore the sessions saved here at start; clients reconnect to "
        "them by themselves");
    bool no_direct_moves = false;
    app.add_flag("--no-direct-moves", no_direct_moves,
                 "never move a buffer straight to or from another daemon (for daemons that "
                 "cannot reach each other, or must not): clients whose contexts span daemons "
                 "move the contents through themselves");
    app.add_option("--checkpoint-interval", checkpoint_interval_s,
                   "also save each session this often (seconds) while it changes, so that "
                   "a daemon killed outright (SIGKILL, a crash) restores its sessions at the "
                   "next start; a client that had work run after the last save is told its "
                   "session is lost")
        ->check(CLI::Range(0.1, 86400.0))
        ->needs(checkpoint_dir_option);
    std::string curve_key_file, curve_clients_file, curve_operators_file;
    auto* curve_key_option = app.add_option(
        "--curve-key", curve_key_file,
        "encrypt every connection with CurveZMQ, using this key pair file (rgpu-ctl keygen "
        "FILE makes one; clients need its public key in RGPU_SERVER_KEY)");
    app.add_option("--curve-clients", curve_clients_file,
                   "with --curve-key: only clients whose public key is listed in this file (one "
                   "per line) may connect; unset: any client that knows the daemon's key")
        ->needs(curve_key_option);
    app.add_option("--curve-operators", curve_operators_file,
                   "with --curve-key: clients whose public key is listed in this file may make "
                   "operator requests (rgpu-ctl) from any address, not only from this host; a "
                   "daemon sharing this daemon's key pair may move sessions here")
        ->needs(curve_key_option);
    std::string pool_text, placement_text = "per-launch", policy = "locality";
    auto* pool_option =
        app.add_option("--pool", pool_text,
                       "serve the local devices (or those listed: --pool 0,2) as one pooled "
                       "device; its members must share one platform. Indexes as the daemon "
                       "logs them at start without --pool")
            ->expected(0, 1);
    app.add_option("--placement", placement_text,
                   "how work sent to the pooled device is spread: per-launch (each kernel "
                   "launch placed anew) or per-queue (each command queue placed once)")
        ->capture_default_str()
        ->check(CLI::IsMember({"per-launch", "per-queue"}));
    app.add_option("--policy", policy,
                   std::string("placement policy of the pooled device: ") +
                       std::string(rgpu::loadbalance::policy_names()))
        ->capture_default_str()
        ->check([](const std::string& name) {
            return rgpu::loadbalance::make_policy(name)
                       ? std::string()
                       : "unknown policy; known: " + std::string(rgpu::loadbalance::policy_names());
        });
    app.add_option("--warm-workers", options.warm_workers,
                   "worker processes started ahead of time so sessions start fast")
        ->capture_default_str()
        ->check(CLI::Range(0, 64));
    app.add_option("--max-sessions", options.max_sessions, "sessions served at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    app.add_option("--max-sessions-per-client", options.max_sessions_per_client,
                   "sessions one client address may hold at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    app.add_option("--grace", grace_s,
                   "seconds workers get to stop on SIGTERM before they are killed")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-device-memory", options.limits.max_device_memory,
                   "bytes of device memory one session's buffers may hold (0: the device's size)")
        ->capture_default_str();
    app.add_option("--max-objects", options.limits.max_objects,
                   "OpenCL objects one session may hold at once")
        ->capture_default_str()
        ->check(CLI::Range(16u, 1u << 24));
    app.add_option("--max-staging", options.limits.max_staging,
                   "bytes of transfer data one session may hold in its worker (reads on their way "
                   "to the client, writes waiting for their copy); further transfers wait for "
                   "room")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t(1) << 20, uint64_t(1) << 40));
    app.add_option("--max-commands-in-flight", options.limits.max_commands_in_flight,
                   "commands a client may have sent that its worker has not yet run; the client "
                   "waits beyond that")
        ->capture_default_str()
        ->check(CLI::Range(16u, 1u << 24));
    app.add_option("--max-bytes-in-flight", options.limits.max_bytes_in_flight,
                   "bytes of messages a client may have sent that its worker has not yet run; "
                   "the client waits beyond that (one message always goes when nothing is in "
                   "flight)")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t(64) << 10, uint64_t(1) << 40));
    app.add_option("--max-message-frames", options.limits.max_frames,
                   "frames in one client message (the envelope included)")
        ->capture_default_str()
        ->check(CLI::Range(uint32_t(2), static_cast<uint32_t>(rgpu::proto::kMaxFrames)));
    app.add_option("--max-envelope-bytes", options.limits.max_envelope_bytes,
                   "bytes of one client message's envelope (its commands)")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t(1) << 20, uint64_t(rgpu::proto::kMaxEnvelopeBytes)));
    app.add_option("--max-bulk-frame-bytes", options.limits.max_bulk_frame_bytes,
                   "bytes of one bulk data frame; clients cut larger transfers into pieces")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t(64) << 10, uint64_t(rgpu::proto::kMaxBulkFrameBytes)));
    app.add_option("--max-worker-memory", options.limits.max_worker_memory,
                   "bytes of host memory (data segment, RLIMIT_DATA) one session's worker may "
                   "use; allocations beyond fail (0: the session's device memory quota + 4 GiB)")
        ->capture_default_str();
    options.max_worker_threads = 64 + 4 * std::max(1u, std::thread::hardware_concurrency());
    app.add_option("--max-worker-threads", options.max_worker_threads,
                   "threads one session's worker may run; a worker beyond them is killed, ending "
                   "its session")
        ->capture_default_str()
        ->check(CLI::Range(4u, 1u << 20));
    // Internal: how the supervisor starts its workers.
    app.add_option("--worker-fd", worker_fd)->group("");
    app.add_option("--worker-bind", worker_bind)->group("");
    app.add_option("--supervisor-pid", supervisor_pid)->group("");
    CLI11_PARSE(app, argc, argv);
    rgpu::daemon::PoolSettings pool;
    pool.enabled = pool_option->count() > 0;
    pool.policy = policy;
    rgpu::daemon::parse_placement(placement_text, pool.placement);
    if (std::string error; !rgpu::daemon::parse_pool_members(pool_text, pool.members, error)) {
        std::fprintf(stderr, "rgpu-daemon: %s\n", error.c_str());
        return 2;
    }
    if (pool.enabled) {
        // Workers build the same served list from the same flags.
        options.worker_args = {"--pool",       pool_text,  "--placement",
                               placement_text, "--policy", policy};
    }
    options.session_timeout_ms = static_cast<int>(std::min(lease_s, 86400.0 * 7) * 1000);
    options.grace = std::chrono::milliseconds(static_cast<int64_t>(grace_s * 1000));
    options.checkpoint_interval =
        std::chrono::milliseconds(static_cast<int64_t>(checkpoint_interval_s * 1000));
    options.log_level = level;

    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ rgpu-daemon: %v");

    // If rgpu's own ICD is installed system-wide, make it step aside inside the daemon: serving
    // rgpu through rgpu would loop.
    setenv("RGPU_DAEMON", "1", 1);

    if (!curve_key_file.empty()) {
        std::string error;
        options.curve_keys = rgpu::curve::read_key_pair(curve_key_file, &error);
        std::optional<std::vector<std::string>> clients, operators;
        if (options.curve_keys && !curve_clients_file.empty())
            if (!(clients = rgpu::curve::read_key_list(curve_clients_file, &error)))
                options.curve_keys.reset();
        if (options.curve_keys && !curve_operators_file.empty())
            if (!(operators = rgpu::curve::read_key_list(curve_operators_file, &error)))
                options.curve_keys.reset();
        if (!options.curve_keys) {
            spdlog::error("{}", error);
            return 2;
        }
        options.curve_access.clients = std::move(clients);
        if (operators) options.curve_access.operators = std::move(*operators);
        // Workers read the pair themselves: a secret does not belong on a command line.
        options.worker_args.push_back("--curve-key");
        options.worker_args.push_back(curve_key_file);
    }

    if (no_direct_moves) options.worker_args.push_back("--no-direct-moves");
    if (worker_fd >= 0)
        return run_worker(worker_fd, worker_bind, supervisor_pid, pool, options.curve_keys,
                          !no_direct_moves);

    auto devices = rgpu::daemon::discover_devices(true);
    if (std::string error; !rgpu::daemon::serve_devices(devices, pool, error)) {
        spdlog::error("{}", error);
        return 2;
    }
    for (const auto& d : devices)
        if (d.pooled())
            spdlog::info("serving pooled device {}: {} members, placement {}, policy {}", d.index,
                         d.members.size(), placement_text, d.policy);
    if (devices.empty()) spdlog::warn("no OpenCL device to serve; clients will see none");

    rgpu::daemon::Supervisor supervisor(options, std::move(devices));
    g_supervisor = &supervisor;
    install_signal_handlers();
    int status = supervisor.run(g_stop);
    g_supervisor = nullptr;
    return status;
}
