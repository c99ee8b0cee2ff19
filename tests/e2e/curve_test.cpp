// SPDX-License-Identifier: Apache-2.0
// CurveZMQ end to end: a daemon started with --curve-key serves only clients that know its
// public key (RGPU_SERVER_KEY), and with --curve-clients only the listed client keys; everyone
// else sees the rgpu platform without devices, as with no daemon. Daemons sharing a key pair
// move sessions between them, and the client follows over encrypted connections.
#include "client_process.h"
#include "harness.h"

#include <curve.h>
#include <operator_client.h>

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace rgpu::e2e;

namespace {

/// Key pair files in a directory of their own.
struct Keys {
    std::string dir = make_temp_dir("rgpu-e2e-keys-");
    ~Keys() { remove_temp_dir(dir); }
    /// Writes a fresh pair to DIR/NAME; its public key.
    std::string make(const std::string& name) {
        auto keys = rgpu::curve::generate();
        std::string error;
        REQUIRE_MESSAGE(rgpu::curve::write_key_pair(path(name), keys, &error), error);
        return keys.public_key;
    }
    std::string path(const std::string& name) const { return dir + "/" + name; }
};

/// A client that must find the rgpu platform without devices (not admitted), quickly.
void check_not_served(const DaemonProcess& daemon, const VendorsDir& vendors,
                      std::vector<std::string> env, const std::string& name) {
    env.push_back("RGPU_CONNECT_TIMEOUT_MS=500");
    ChildProcess client({client_path(), "no-daemon"}, client_env(daemon, vendors, env));
    check_exit(client, name, kClientOk, &daemon);
}

/// The operator client of this process speaks CurveZMQ while it lives.
struct OperatorKeys {
    explicit OperatorKeys(rgpu::curve::ClientSettings settings) {
        rgpu::curve::set_client(std::move(settings));
    }
    ~OperatorKeys() { rgpu::curve::set_client(std::nullopt); }
};

} // namespace

TEST_CASE("CurveZMQ: a daemon serves the clients that know its key and no others" *
          doctest::test_suite("e2e-process")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    Keys keys;
    const std::string daemon_key = keys.make("daemon.key");
    const std::string other_key = keys.make("other.key");
    DaemonProcess::Options options;
    options.extra_args = {"--curve-key", keys.path("daemon.key")};
    DaemonProcess daemon(options);
    {
        ChildProcess client({client_path(), "vector-add", "2"},
                            client_env(daemon, vendors, {"RGPU_SERVER_KEY=" + daemon_key}));
        check_exit(client, "a client with the daemon's key", kClientOk, &daemon);
    }
    check_not_served(daemon, vendors, {}, "a client speaking in the clear");
    check_not_served(daemon, vendors, {"RGPU_SERVER_KEY=" + other_key},
                     "a client with another daemon's key");
    check_not_served(daemon, vendors, {"RGPU_SERVER_KEY=not-a-key"},
                     "a client with a malformed key (it must not fall back to the clear)");
    CHECK(daemon.stop() == 0);
}

TEST_CASE("CurveZMQ: with a client list only the listed keys get sessions" *
          doctest::test_suite("e2e-process")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    Keys keys;
    const std::string daemon_key = keys.make("daemon.key");
    const std::string allowed = keys.make("allowed.key");
    keys.make("stranger.key");
    {
        std::ofstream list(keys.path("clients"));
        list << "# who may use this daemon\npublic = " << allowed << "\n";
    }
    DaemonProcess::Options options;
    options.extra_args = {"--curve-key", keys.path("daemon.key"), "--curve-clients",
                          keys.path("clients")};
    DaemonProcess daemon(options);
    {
        ChildProcess client({client_path(), "vector-add", "2"},
                            client_env(daemon, vendors,
                                       {"RGPU_SERVER_KEY=" + daemon_key,
                                        "RGPU_CLIENT_KEY_FILE=" + keys.path("allowed.key")}));
        check_exit(client, "a listed client", kClientOk, &daemon);
    }
    check_not_served(
        daemon, vendors,
        {"RGPU_SERVER_KEY=" + daemon_key, "RGPU_CLIENT_KEY_FILE=" + keys.path("stranger.key")},
        "a client whose key is not listed");
    check_not_served(daemon, vendors, {"RGPU_SERVER_KEY=" + daemon_key},
                     "a client with a fresh key of its own");
    const std::string log = daemon.log_tail(8000);
    CHECK_MESSAGE(log.find("is not an allowed client") != std::string::npos, log);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("CurveZMQ: daemons sharing a key pair move a session and its client follows" *
          doctest::test_suite("e2e-process")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    Keys keys;
    const std::string daemon_key = keys.make("daemon.key");
    const std::string dir_a = make_temp_dir("rgpu-e2e-checkpoints-");
    const std::string dir_b = make_temp_dir("rgpu-e2e-checkpoints-");
    DaemonProcess::Options options;
    options.log_level = "info";
    options.extra_args = {"--curve-key", keys.path("daemon.key"), "--checkpoint-dir", dir_a};
    DaemonProcess a(options);
    options.extra_args = {"--curve-key", keys.path("daemon.key"), "--checkpoint-dir", dir_b};
    DaemonProcess b(options);
    ChildProcess client({client_path(), "survive-restart"},
                        client_env(a, vendors, {"RGPU_SERVER_KEY=" + daemon_key}),
                        SpawnOptions{"", true, SIGKILL});
    expect_line(client, "ready");
    std::string error;
    {
        // The operator's own requests need the key too: in the clear there is no answer.
        CHECK_FALSE(rgpu::list_sessions(a.endpoint(), std::chrono::milliseconds(500), &error));
        OperatorKeys operator_keys({daemon_key, rgpu::curve::generate()});
        auto sessions = rgpu::list_sessions(a.endpoint(), std::chrono::seconds(5), &error);
        REQUIRE_MESSAGE(sessions.has_value(), error);
        REQUIRE(sessions->size() == 1);
        REQUIRE_MESSAGE(rgpu::move_session(a.endpoint(), sessions->front().id, b.endpoint(),
                                           std::chrono::seconds(60), &error),
                        error << "; A: " << a.log_tail(4000) << "; B: " << b.log_tail(4000));
    }
    kill(client.pid(), SIGUSR1);
    check_exit(client, "the client of the moved session", kClientOk, &b);
    const std::string log = b.log_tail(8000);
    CHECK_MESSAGE(log.find("client reattached") != std::string::npos, log);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    remove_temp_dir(dir_a);
    remove_temp_dir(dir_b);
}

TEST_CASE("CurveZMQ: each daemon of a platform may have its own key" *
          doctest::test_suite("e2e-process")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    Keys keys;
    const std::string key_a = keys.make("a.key"), key_b = keys.make("b.key");
    DaemonProcess::Options options;
    options.extra_args = {"--curve-key", keys.path("a.key")};
    DaemonProcess a(options);
    options.extra_args = {"--curve-key", keys.path("b.key")};
    DaemonProcess b(options);
    // One context over both daemons: both must be reached, each with its own key.
    ChildProcess client({client_path(), "span-flow"},
                        client_env(a, vendors,
                                   {"RGPU_SERVERS=" + a.endpoint() + "|" + key_a + "," +
                                    b.endpoint() + "|" + key_b}));
    check_exit(client, "the span-flow client of two daemons with their own keys", kClientOk, &b);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
}
