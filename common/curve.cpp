// SPDX-License-Identifier: Apache-2.0
#include "curve.h"

#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace rgpu::curve {

namespace {

constexpr size_t kKeyChars = 40;

bool valid_z85_key(const std::string& z85) {
    if (z85.size() != kKeyChars) return false;
    uint8_t decoded[32];
    return zmq_z85_decode(decoded, z85.c_str()) != nullptr;
}

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

/// "public = KEY" -> ("public", "KEY"); a bare "KEY" -> ("", "KEY"). Z85 has '=' in its
/// alphabet, so a line is "name = value" only for the names rgpu writes and a valid value.
std::pair<std::string, std::string> split_line(const std::string& line) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) {
        const std::string name = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if ((name == "public" || name == "secret") && valid_z85_key(value)) return {name, value};
    }
    return {"", line};
}

std::mutex settings_mutex;
bool settings_loaded = false;
std::optional<ClientSettings> settings;
std::string settings_error;

} // namespace

bool valid_key(const std::string& z85) {
    return valid_z85_key(z85);
}

KeyPair generate() {
    char public_key[kKeyChars + 1], secret_key[kKeyChars + 1];
    if (zmq_curve_keypair(public_key, secret_key) != 0)
        throw std::runtime_error(std::string("cannot make a CurveZMQ key pair: ") +
                                 zmq_strerror(zmq_errno()));
    return {public_key, secret_key};
}

std::optional<KeyPair> read_key_pair(const std::string& path, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return std::nullopt;
    }
    KeyPair keys;
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue; // Z85 has '#': comments are whole lines
        auto [name, value] = split_line(line);
        if (name == "public")
            keys.public_key = value;
        else if (name == "secret")
            keys.secret_key = value;
    }
    if (!valid_key(keys.public_key) || !valid_key(keys.secret_key)) {
        *error = path + " holds no valid key pair (\"public = KEY\" and \"secret = KEY\" lines, "
                        "as rgpu-ctl keygen writes)";
        return std::nullopt;
    }
    // The pair must belong together: a daemon announcing one key and serving with another
    // would look like an attack to every client.
    char derived[kKeyChars + 1];
    if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0 || keys.public_key != derived) {
        *error = path + ": its public key is not the secret key's";
        return std::nullopt;
    }
    return keys;
}

bool write_key_pair(const std::string& path, const KeyPair& keys, std::string* error) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        *error = "cannot create " + path + ": " + std::strerror(errno);
        return false;
    }
    const std::string text = "# rgpu CurveZMQ key pair: give the public line to the other side\n"
                             "public = " +
                             keys.public_key + "\nsecret = " + keys.secret_key + "\n";
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) *error = "cannot write " + path;
    return ok;
}

std::optional<std::vector<std::string>> read_key_list(const std::string& path, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return std::nullopt;
    }
    std::vector<std::string> keys;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue; // Z85 has '#': comments are whole lines
        auto [name, value] = split_line(line);
        if (name == "secret") continue; // a key pair file given as a list: its public key only
        if (!valid_key(value)) {
            *error = path + ":" + std::to_string(number) + ": not a public key";
            return std::nullopt;
        }
        keys.push_back(value);
    }
    return keys;
}

namespace {

/// This process's own key pair: RGPU_CLIENT_KEY_FILE's, else fresh (settings_mutex held).
std::optional<KeyPair> own_pair(std::string* error) {
    static std::optional<KeyPair> pair;
    static std::string pair_error;
    static bool loaded = false;
    if (!loaded) {
        loaded = true;
        const char* file = std::getenv("RGPU_CLIENT_KEY_FILE");
        if (file && *file) {
            pair = read_key_pair(file, &pair_error);
        } else {
            try {
                pair = generate();
            } catch (const std::exception& e) {
                pair_error = e.what();
            }
        }
    }
    *error = pair_error;
    return pair;
}

} // namespace

std::optional<ClientSettings> client_settings(std::string* error) {
    std::lock_guard lock(settings_mutex);
    if (!settings_loaded) {
        settings_loaded = true;
        const char* server = std::getenv("RGPU_SERVER_KEY");
        if (server && *server) {
            ClientSettings s;
            s.server_key = trim(server);
            if (!valid_key(s.server_key)) {
                settings_error = "RGPU_SERVER_KEY is not a CurveZMQ public key (40 Z85 characters)";
            } else if (auto keys = own_pair(&settings_error)) {
                s.keys = *keys;
                settings = s;
            }
        }
    }
    *error = settings_error;
    return settings;
}

std::optional<ClientSettings> client_settings_for(const std::string& server_key,
                                                  std::string* error) {
    if (server_key.empty()) return client_settings(error);
    std::string ignored;
    if (auto s = client_settings(&ignored)) return ClientSettings{server_key, s->keys};
    std::lock_guard lock(settings_mutex);
    auto keys = own_pair(error);
    if (!keys) return std::nullopt;
    return ClientSettings{server_key, *keys};
}

void set_client(std::optional<ClientSettings> s) {
    std::lock_guard lock(settings_mutex);
    settings_loaded = true;
    settings_error.clear();
    settings = std::move(s);
}

void make_client(zmq::socket_t& socket, const ClientSettings& s) {
    socket.set(zmq::sockopt::curve_serverkey, s.server_key);
    socket.set(zmq::sockopt::curve_publickey, s.keys.public_key);
    socket.set(zmq::sockopt::curve_secretkey, s.keys.secret_key);
}

void make_server(zmq::socket_t& socket, const KeyPair& keys) {
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

std::string z85_of(const void* key32) {
    char text[kKeyChars + 1];
    zmq_z85_encode(text, static_cast<const uint8_t*>(key32), 32);
    return text;
}

} // namespace rgpu::curve
