// SPDX-License-Identifier: Apache-2.0
// rgpu-ctl: operator's tool for rgpu daemons. For now: status.
#include <protocol.h>
#include <status_client.h>

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"rgpu-ctl: inspect rgpu daemons"};
    std::string server = rgpu::proto::kDefaultEndpoint;
    int timeout_ms = 2000;
    app.add_option("-s,--server", server, "daemon endpoint")->capture_default_str();
    app.add_option("--timeout-ms", timeout_ms, "how long to wait for an answer")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    auto* status = app.add_subcommand("status", "sessions, devices and rejected messages");
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);

    if (status->parsed()) {
        std::string error;
        auto s = rgpu::query_status(server, std::chrono::milliseconds(timeout_ms), &error);
        if (!s) {
            std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
            return 1;
        }
        std::printf("daemon:            %s\nsessions:          %u\ndevices:           %u\n"
                    "rejected messages: %llu\n",
                    server.c_str(), s->sessions, s->devices,
                    static_cast<unsigned long long>(s->rejected_messages));
    }
    return 0;
}
