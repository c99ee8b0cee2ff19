// SPDX-License-Identifier: Apache-2.0
// rgpu-daemon: serves the local OpenCL devices to rgpu clients over ZeroMQ.
#include "devices.h"
#include "server.h"

#include <protocol.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <malloc.h>

namespace {

std::atomic<bool> g_stop{false};
rgpu::daemon::Server* g_server = nullptr;

extern "C" void on_signal(int) {
    g_stop.store(true);
    if (g_server) g_server->wake(); // an eventfd write: async-signal-safe
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-daemon: serves local OpenCL devices to remote rgpu clients"};
    rgpu::daemon::ServerOptions options;
    options.listen = rgpu::proto::kDefaultEndpoint;
    std::string level = "info";
    double session_timeout_s = rgpu::proto::kDefaultSessionTimeoutMs / 1000.0;
    app.add_option("-l,--listen", options.listen,
                   "ZeroMQ endpoint to serve on (tcp://HOST:PORT, tcp://HOST:* for a free port, "
                   "ipc://PATH)")
        ->capture_default_str();
    app.add_option("--ready-file", options.ready_file,
                   "write the bound endpoint to this file once listening");
    app.add_option("--log-level", level, "trace, debug, info, warn, error or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    app.add_option("--session-timeout", session_timeout_s,
                   "seconds without a message from a client before its session is freed")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    options.session_timeout_ms = static_cast<int>(session_timeout_s * 1000);

    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ rgpu-daemon: %v");

    // If rgpu's own ICD is installed system-wide, make it step aside inside the daemon: serving
    // rgpu through rgpu would loop.
    setenv("RGPU_DAEMON", "1", 1);

    // Transfer chunks are a few MiB each: keep such blocks on the heap rather than mapping and
    // faulting in fresh pages for every chunk.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    auto devices = rgpu::daemon::discover_devices();
    if (devices.empty()) spdlog::warn("no OpenCL device to serve; clients will see none");

    rgpu::daemon::Server server(options, std::move(devices));
    g_server = &server;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    int status = server.run(g_stop);
    g_server = nullptr;
    return status;
}
