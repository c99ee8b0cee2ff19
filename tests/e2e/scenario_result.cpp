// SPDX-License-Identifier: Apache-2.0
// ScenarioResult: recording a scenario's observations, and comparing and printing results.
#include "scenarios.h"

#include "harness.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace rgpu::e2e {

cl_int ScenarioResult::record(std::string what, cl_int code) {
    calls.push_back({std::move(what), code});
    return code;
}

void ScenarioResult::fact(std::string name, std::string value) {
    facts.emplace_back(std::move(name), std::move(value));
}

cl_int ScenarioResult::code(std::string_view what) const {
    for (auto it = calls.rbegin(); it != calls.rend(); ++it)
        if (it->what == what) return it->code;
    return kMissing;
}

std::string ScenarioResult::fact_value(std::string_view name) const {
    for (auto it = facts.rbegin(); it != facts.rend(); ++it)
        if (it->first == name) return it->second;
    return "<missing>";
}

bool ScenarioResult::has_data(std::string_view name) const {
    return std::any_of(data.begin(), data.end(), [&](const auto& d) { return d.first == name; });
}

std::vector<std::string> ScenarioResult::failures() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
        if (c.code != CL_SUCCESS) out.push_back(c.what + ": " + describe(c.code));
    if (!aborted_at.empty()) out.push_back("aborted at " + aborted_at);
    return out;
}

namespace {
std::string clip(const std::string& s, size_t max = 240) {
    return s.size() <= max ? s : s.substr(0, max) + "...(" + std::to_string(s.size()) + " chars)";
}

std::string hex_bytes(const std::vector<unsigned char>& bytes, size_t offset, size_t count) {
    std::string out;
    char buf[4];
    for (size_t i = offset; i < std::min(bytes.size(), offset + count); ++i) {
        std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
        out += buf;
    }
    return out;
}
} // namespace

std::vector<std::string> differences(const ScenarioResult& native, const ScenarioResult& remote) {
    std::vector<std::string> out;
    if (native.aborted_at != remote.aborted_at)
        out.push_back("aborted at: native '" + native.aborted_at + "', rgpu '" + remote.aborted_at +
                      "'");
    const size_t calls = std::max(native.calls.size(), remote.calls.size());
    for (size_t i = 0; i < calls; ++i) {
        const auto show = [&](const ScenarioResult& r) {
            return i < r.calls.size() ? "'" + r.calls[i].what + "' " + describe(r.calls[i].code)
                                      : std::string("(no call)");
        };
        const bool same = i < native.calls.size() && i < remote.calls.size() &&
                          native.calls[i].what == remote.calls[i].what &&
                          native.calls[i].code == remote.calls[i].code;
        if (!same)
            out.push_back("call #" + std::to_string(i) + ": native " + show(native) + ", rgpu " +
                          show(remote));
    }
    std::vector<std::string> names;
    for (const auto* r : {&native, &remote})
        for (const auto& [name, value] : r->facts)
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    for (const auto& name : names) {
        const std::string a = native.fact_value(name), b = remote.fact_value(name);
        if (a != b)
            out.push_back("fact '" + name + "': native \"" + clip(a) + "\", rgpu \"" + clip(b) +
                          "\"");
    }
    names.clear();
    for (const auto* r : {&native, &remote})
        for (const auto& [name, bytes] : r->data)
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    for (const auto& name : names) {
        const auto find = [&](const ScenarioResult& r) -> const std::vector<unsigned char>* {
            for (const auto& [n, bytes] : r.data)
                if (n == name) return &bytes;
            return nullptr;
        };
        const auto *a = find(native), *b = find(remote);
        if (!a || !b) {
            out.push_back("data '" + name + "': only on " + (a ? "native" : "rgpu"));
            continue;
        }
        if (a->size() != b->size()) {
            out.push_back("data '" + name + "': native " + std::to_string(a->size()) +
                          " bytes, rgpu " + std::to_string(b->size()) + " bytes");
            continue;
        }
        const auto mismatch = std::mismatch(a->begin(), a->end(), b->begin());
        if (mismatch.first != a->end()) {
            const size_t at = static_cast<size_t>(mismatch.first - a->begin()) / 4 * 4;
            size_t count = 0;
            for (size_t i = 0; i < a->size(); ++i)
                count += (*a)[i] != (*b)[i];
            out.push_back("data '" + name + "': " + std::to_string(count) +
                          " bytes differ, first at byte " + std::to_string(at) + ": native " +
                          hex_bytes(*a, at, 16) + ", rgpu " + hex_bytes(*b, at, 16));
        }
    }
    return out;
}

std::string to_string(const ScenarioResult& result) {
    std::ostringstream out;
    for (const auto& c : result.calls)
        out << "  call " << c.what << " -> " << describe(c.code) << "\n";
    for (const auto& [name, value] : result.facts)
        out << "  fact " << name << " = " << clip(value) << "\n";
    for (const auto& [name, bytes] : result.data)
        out << "  data " << name << ": " << bytes.size() << " bytes\n";
    if (!result.aborted_at.empty()) out << "  aborted at " << result.aborted_at << "\n";
    return out.str();
}

} // namespace rgpu::e2e
