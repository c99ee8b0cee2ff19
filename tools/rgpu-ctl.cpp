// SPDX-License-Identifier: Apache-2.0
// rgpu-ctl: operator's tool for rgpu daemons: status, sessions, devices, release, move, kill;
// and keygen, which makes the CurveZMQ key pairs daemons and clients use.
#include <curve.h>
#include <operator_client.h>

#include <algorithm>
#include <protocol.h>

#include <CLI/CLI.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    CLI::App app{"rgpu-ctl: inspect and steer rgpu daemons"};
    std::string server = rgpu::proto::kDefaultEndpoint;
    int timeout_ms = 2000;
    app.add_option("-s,--server", server, "daemon endpoint")->capture_default_str();
    app.add_option("--timeout-ms", timeout_ms, "how long to wait for an answer")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    std::string server_key, key_file;
    app.add_option("--server-key", server_key,
                   "the daemon's CurveZMQ public key (default: RGPU_SERVER_KEY); needed for a "
                   "daemon started with --curve-key");
    app.add_option("--key-file", key_file,
                   "this tool's own key pair file (default: RGPU_CLIENT_KEY_FILE, else a fresh "
                   "pair); operator requests from other hosts need a key in the daemon's "
                   "--curve-operators");
    auto* keygen = app.add_subcommand(
        "keygen", "write a new CurveZMQ key pair to FILE (readable by its owner only) and print "
                  "its public key");
    std::string keygen_file;
    keygen->add_option("FILE", keygen_file, "where to write the pair (must not exist)")->required();
    auto* status = app.add_subcommand("status", "sessions, devices and rejected messages");
    auto* sessions =
        app.add_subcommand("sessions", "one line per session: id (hex), client, state, worker "
                                       "pid, age, objects, device bytes, what is in flight");
    auto* devices = app.add_subcommand(
        "devices", "the served devices; for a pooled device each member's queue depth "
                   "(queued/running launches), placements, queues, migrations, busy time and "
                   "resident bytes, over every session");
    auto* release = app.add_subcommand(
        "release", "drop a session's connection, keep the session: its client reconnects");
    auto* move = app.add_subcommand(
        "move",
        "move a session to another daemon (both need --checkpoint-dir); its client follows");
    std::string move_to;
    move->add_option("--to", move_to, "the other daemon's endpoint")->required();
    auto* kill = app.add_subcommand("kill", "end a session now and kill its worker process");
    std::string kill_id;
    kill->add_option("SESSION", kill_id, "session id in hex, as `sessions` prints it")->required();
    release->add_option("SESSION", kill_id, "session id in hex, as `sessions` prints it")
        ->required();
    move->add_option("SESSION", kill_id, "session id in hex, as `sessions` prints it")->required();
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);

    const auto timeout = std::chrono::milliseconds(timeout_ms);
    std::string error;
    if (keygen->parsed()) {
        const auto keys = rgpu::curve::generate();
        if (!rgpu::curve::write_key_pair(keygen_file, keys, &error)) {
            std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
            return 1;
        }
        std::printf("%s\n", keys.public_key.c_str());
        return 0;
    }
    if (!server_key.empty()) {
        rgpu::curve::ClientSettings settings{server_key, {}};
        if (!rgpu::curve::valid_key(server_key)) {
            std::fprintf(stderr, "rgpu-ctl: --server-key is not a CurveZMQ public key\n");
            return 2;
        }
        if (!key_file.empty()) {
            auto keys = rgpu::curve::read_key_pair(key_file, &error);
            if (!keys) {
                std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
                return 2;
            }
            settings.keys = *keys;
        } else {
            settings.keys = rgpu::curve::generate();
        }
        rgpu::curve::set_client(std::move(settings));
    } else if (!key_file.empty()) {
        setenv("RGPU_CLIENT_KEY_FILE", key_file.c_str(), 1); // with RGPU_SERVER_KEY
    }
    if (status->parsed()) {
        auto s = rgpu::query_status(server, timeout, &error);
        if (!s) {
            std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
            return 1;
        }
        std::printf("daemon:            %s\nsessions:          %u\ndevices:           %u\n"
                    "warm workers:      %u\nrejected messages: %llu\n",
                    server.c_str(), s->sessions, s->devices, s->warm_workers,
                    static_cast<unsigned long long>(s->rejected_messages));
    } else if (sessions->parsed()) {
        auto list = rgpu::list_sessions(server, timeout, &error);
        if (!list) {
            std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
            return 1;
        }
        for (const auto& s : *list)
            std::printf("%016" PRIx64 " %s %s worker %u age %.1fs objects %u device-bytes %" PRIu64
                        " in-flight %" PRIu64 " commands %" PRIu64 " bytes\n",
                        s.id, s.client.c_str(), s.state.c_str(), s.worker_pid, s.age_ms / 1000.0,
                        s.objects, s.device_bytes, s.commands_in_flight, s.bytes_in_flight);
    } else if (devices->parsed()) {
        auto list = rgpu::list_devices(server, timeout, &error);
        if (!list) {
            std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
            return 1;
        }
        for (const auto& d : *list) {
            std::printf("device %u: %s\n", d.index, d.name.c_str());
            if (d.members.empty()) continue;
            std::printf("  pool: placement %s, policy %s\n", d.placement.c_str(), d.policy.c_str());
            for (size_t m = 0; m < d.members.size(); ++m) {
                const auto& s = d.members[m];
                std::printf("  member %zu: %s: queued %" PRIu64 " running %" PRIu64
                            " placements %" PRIu64 " queues %" PRIu64 " migrations %" PRIu64
                            " (%" PRIu64 " bytes) busy %.3fs resident-bytes %" PRIu64 "\n",
                            m, s.name.c_str(), s.queued, s.running, s.placements, s.queues,
                            s.migrations, s.migrated_bytes, s.busy_ns / 1e9, s.resident_bytes);
            }
        }
    } else if (kill->parsed() || release->parsed() || move->parsed()) {
        char* end = nullptr;
        uint64_t id = std::strtoull(kill_id.c_str(), &end, 16);
        if (kill_id.empty() || !end || *end != '\0' || id == 0) {
            std::fprintf(stderr, "rgpu-ctl: '%s' is not a session id\n", kill_id.c_str());
            return 2;
        }
        bool ok =
            kill->parsed() ? rgpu::kill_session(server, id, timeout, &error)
            : release->parsed()
                ? rgpu::release_session(server, id, timeout, &error)
                : rgpu::move_session(server, id, move_to,
                                     std::max(timeout, std::chrono::milliseconds(60000)), &error);
        if (!ok) {
            std::fprintf(stderr, "rgpu-ctl: %s\n", error.c_str());
            return 1;
        }
        std::printf("session %016" PRIx64 " %s\n", id,
                    kill->parsed()      ? "killed"
                    : release->parsed() ? "released"
                                        : "moved");
    }
    return 0;
}
