// SPDX-License-Identifier: Apache-2.0
// CurveZMQ for rgpu's sockets: key files, the client side's settings (from the environment or
// set by a tool), and applying them to a socket. A daemon with a key pair encrypts every
// connection and knows its peers by their public keys (see daemon/supervisor/zap_handler.h).
//
// A key pair file is text, created by `rgpu-ctl keygen FILE` (mode 0600):
//   # rgpu CurveZMQ key pair
//   public = <40 Z85 characters>
//   secret = <40 Z85 characters>
// A key list (the daemon's allowed clients or operators) holds public keys: one per line, bare
// or as a "public = KEY" line, so a key pair file's public line can be pasted as it is; a line
// that starts with '#' is a comment.
#pragma once

#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace rgpu::curve {

/// A Z85-encoded key: 40 characters of the Z85 alphabet.
bool valid_key(const std::string& z85);

struct KeyPair {
    std::string public_key; ///< Z85
    std::string secret_key; ///< Z85
};

/// A fresh key pair (zmq_curve_keypair); throws std::runtime_error if this libzmq has no CURVE.
KeyPair generate();

/// Reads a key pair file; nullopt with `error` set if it is missing or malformed.
std::optional<KeyPair> read_key_pair(const std::string& path, std::string* error);
/// Writes a key pair file readable by its owner only; false with `error` set.
bool write_key_pair(const std::string& path, const KeyPair& keys, std::string* error);
/// Reads a key list; nullopt with `error` set if it is missing or a line is not a key.
std::optional<std::vector<std::string>> read_key_list(const std::string& path, std::string* error);

/// The client side: the daemons' public key and this process's own pair.
struct ClientSettings {
    std::string server_key;
    KeyPair keys;
};

/// What clients of this process use: set by set_client(), else from the environment —
/// RGPU_SERVER_KEY (the daemons' public key; unset: no CurveZMQ) and RGPU_CLIENT_KEY_FILE (this
/// client's key pair; unset: a fresh pair per process, for daemons that accept any client).
/// nullopt without CurveZMQ; with `error` set when the environment is malformed (then
/// connections must not be made in the clear: callers refuse to connect).
std::optional<ClientSettings> client_settings(std::string* error);
/// The settings for a daemon with its own public key `server_key` (an `ENDPOINT|KEY` entry of
/// RGPU_SERVERS): this process's pair as client_settings() has it, else from
/// RGPU_CLIENT_KEY_FILE or fresh. An empty `server_key` is client_settings().
std::optional<ClientSettings> client_settings_for(const std::string& server_key,
                                                  std::string* error);
/// Overrides the environment (a tool's options, a daemon reaching another daemon); nullopt:
/// plain connections whatever the environment says.
void set_client(std::optional<ClientSettings> settings);

/// Makes `socket` a CurveZMQ client of `settings`' server (before it connects).
void make_client(zmq::socket_t& socket, const ClientSettings& settings);
/// Makes `socket` a CurveZMQ server with `keys` (before it binds).
void make_server(zmq::socket_t& socket, const KeyPair& keys);

/// The Z85 text of a 32-byte binary key (as a ZAP request carries it).
std::string z85_of(const void* key32);

} // namespace rgpu::curve
