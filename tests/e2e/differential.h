// SPDX-License-Identifier: Apache-2.0
// What every differential test file shares: the native and rgpu runs of a scenario, their
// comparison, and the checks of a native run's own expectations.
#ifndef RGPU_TESTS_E2E_DIFFERENTIAL_H
#define RGPU_TESTS_E2E_DIFFERENTIAL_H

#include <doctest/doctest.h>

#include "harness.h"
#include "scenarios.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace rgpu::e2e::differential {

namespace sc = rgpu::e2e::scenarios;

inline std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "'" : ", '") + n + "'";
    return out.empty() ? "(none)" : out;
}

// (doctest 2.4.9 streams a const char* as a pointer: messages wrap C strings in std::string.)

// The native result of a scenario, computed once per process.
inline const ScenarioResult& native_result(ScenarioFn scenario) {
    static std::map<ScenarioFn, ScenarioResult> cache;
    if (auto it = cache.find(scenario); it != cache.end()) return it->second;
    TestEnvironment::get(); // before the first OpenCL call
    cl_platform_id platform = find_platform(kNativePlatformName);
    REQUIRE_MESSAGE(platform != nullptr,
                    "the POCL platform is not listed; platforms: " << joined(platform_names()));
    return cache.emplace(scenario, scenario(platform)).first->second;
}

inline ScenarioResult rgpu_result(ScenarioFn scenario) {
    auto& env = TestEnvironment::get();
    REQUIRE_MESSAGE(env.rgpu_unavailable().empty(),
                    "rgpu cannot run here: " << env.rgpu_unavailable());
    cl_platform_id platform = find_platform(kRgpuPlatformName);
    REQUIRE_MESSAGE(platform != nullptr,
                    "the rgpu platform is not listed; platforms: " << joined(platform_names()));
    ScenarioResult result = scenario(platform);
    CHECK_MESSAGE(env.daemon()->alive(), "rgpu-daemon ended during the scenario ("
                                             << describe_status(env.daemon()->stop())
                                             << "); log: " << env.daemon()->log_tail(200000));
    return result;
}

// Every call of a native run succeeded, except those named in `expected_failures`.
inline void check_clean(const ScenarioResult& r,
                        const std::vector<std::string>& expected_failures = {}) {
    CHECK_MESSAGE(r.aborted_at.empty(), "native run aborted at " << r.aborted_at);
    for (const auto& call : r.calls) {
        if (std::find(expected_failures.begin(), expected_failures.end(), call.what) !=
            expected_failures.end())
            continue;
        CHECK_MESSAGE(call.code == CL_SUCCESS,
                      "native " << call.what << " returned " << describe(call.code));
    }
}

inline void check_fact(const ScenarioResult& r, const std::string& name,
                       const std::string& expected) {
    CHECK_MESSAGE(r.fact_value(name) == expected, "fact '" << name << "' is \""
                                                           << r.fact_value(name) << "\", want \""
                                                           << expected << "\"");
}

// The heart of every test: the rgpu run equals the native one.
inline void check_rgpu_matches(ScenarioFn scenario) {
    const ScenarioResult& native = native_result(scenario);
    const ScenarioResult remote = rgpu_result(scenario);
    const auto diffs = differences(native, remote);
    constexpr size_t kShown = 30;
    for (size_t i = 0; i < diffs.size() && i < kShown; ++i)
        FAIL_CHECK("rgpu differs from native: " << diffs[i]);
    if (diffs.size() > kShown) FAIL_CHECK("... and " << diffs.size() - kShown << " more");
    CHECK_MESSAGE(diffs.empty(), "rgpu run:\n" << to_string(remote));
}

// A test case's two standard subcases; the variadic part holds the native run's absolute
// expectations, with the result in scope as `r`.
#define DIFFERENTIAL_SUBCASES(scenario, ...)                                                       \
    SUBCASE("native") {                                                                            \
        const ScenarioResult& r = native_result(scenario);                                         \
        __VA_ARGS__;                                                                               \
    }                                                                                              \
    SUBCASE("rgpu matches native") {                                                               \
        check_rgpu_matches(scenario);                                                              \
    }

inline void check_vector_add(const ScenarioResult& r, const char* data) {
    check_clean(r);
    CHECK_MESSAGE(sc::vector_add_correct(r, data), "'" << std::string(data) << "' is not a + b");
}

// How scenarios record a cl_command_type.
inline std::string hex(cl_command_type type) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%04x", type);
    return text;
}

template <typename T> std::vector<T> data(const ScenarioResult& r, const char* name) {
    return r.get<T>(name);
}

} // namespace rgpu::e2e::differential

#endif
