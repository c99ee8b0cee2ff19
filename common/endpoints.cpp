// SPDX-License-Identifier: Apache-2.0
// Endpoint list parsing.
#include "endpoints.h"

namespace rgpu {

bool is_supported_endpoint(std::string_view e) {
    for (std::string_view prefix : {"tcp://", "ipc://", "inproc://"}) {
        if (e.size() > prefix.size() && e.substr(0, prefix.size()) == prefix) return true;
    }
    return false;
}

std::vector<std::string> parse_endpoints(std::string_view list, std::string* error) {
    std::vector<std::string> out;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (item.empty()) continue;
        if (!is_supported_endpoint(item)) {
            if (error) *error = "unsupported endpoint '" + std::string(item) + "'";
            return {};
        }
        out.emplace_back(item);
    }
    return out;
}

} // namespace rgpu
