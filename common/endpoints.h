// SPDX-License-Identifier: Apache-2.0
// Parsing of daemon endpoint lists (RGPU_SERVERS).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rgpu {

/// Splits a comma-separated endpoint list, trims blanks and drops empty entries.
/// Returns an empty vector and sets `error` if an entry is not tcp://, ipc:// or inproc://.
std::vector<std::string> parse_endpoints(std::string_view list, std::string* error);

/// A daemon of RGPU_SERVERS: its endpoint and, written `ENDPOINT|KEY`, its own CurveZMQ public
/// key (Z85 has no '|' or ','); empty: RGPU_SERVER_KEY's, if any.
struct ServerEntry {
    std::string endpoint;
    std::string key;
};
/// As parse_endpoints, for entries that may carry a key; `error` also for a malformed key.
std::vector<ServerEntry> parse_servers(std::string_view list, std::string* error);

/// True for the ZeroMQ transports rgpu speaks.
bool is_supported_endpoint(std::string_view endpoint);

} // namespace rgpu
