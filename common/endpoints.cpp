// SPDX-License-Identifier: Apache-2.0
// Endpoint list parsing.
#include "endpoints.h"

#include "curve.h"

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

std::vector<ServerEntry> parse_servers(std::string_view list, std::string* error) {
    std::vector<ServerEntry> out;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        std::string key;
        if (size_t bar = item.find('|'); bar != std::string_view::npos) {
            std::string_view k = item.substr(bar + 1);
            while (!k.empty() && (k.front() == ' ' || k.front() == '\t'))
                k.remove_prefix(1);
            while (!k.empty() && (k.back() == ' ' || k.back() == '\t'))
                k.remove_suffix(1);
            key = std::string(k);
            item = item.substr(0, bar);
            if (!curve::valid_key(key)) {
                if (error)
                    *error = "'" + std::string(item) + "': not a CurveZMQ public key after '|'";
                return {};
            }
        }
        std::string why;
        auto parsed = parse_endpoints(item, &why);
        if (!why.empty()) {
            if (error) *error = why;
            return {};
        }
        for (auto& e : parsed)
            out.push_back({std::move(e), key});
    }
    return out;
}

} // namespace rgpu
