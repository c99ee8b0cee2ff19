// SPDX-License-Identifier: Apache-2.0
// doctest main for the e2e tests: a watchdog over each test case and over the process exit.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "harness.h"

#include <string>

namespace {

// Longer than any test needs with a warm POCL cache, shorter than the CTest TIMEOUT, so a hang
// ends with a message naming the test instead of a bare timeout.
constexpr std::chrono::seconds kTestLimit{60};

// Arms the watchdog for each test case and subcase run; see rgpu::e2e::watchdog_arm.
struct WatchdogListener : doctest::IReporter {
    explicit WatchdogListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData& data) override {
        test_ = data.m_name;
        rgpu::e2e::watchdog_arm("test '" + test_ + "'", kTestLimit);
    }
    void test_case_reenter(const doctest::TestCaseData&) override {
        rgpu::e2e::watchdog_arm("test '" + test_ + "'", kTestLimit);
    }
    void test_case_end(const doctest::CurrentTestCaseStats&) override {
        rgpu::e2e::watchdog_disarm();
    }
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature& signature) override {
        rgpu::e2e::watchdog_arm("test '" + test_ + "' / '" + signature.m_name.c_str() + "'",
                                kTestLimit);
    }
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

    std::string test_;
};

REGISTER_LISTENER("rgpu-e2e-watchdog", 1, WatchdogListener);

} // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int result = context.run();
    if (context.shouldExit()) return result;
    // The exit is watched too: the ICD's teardown, then the daemon's (TestEnvironment's
    // destructor) must finish.
    rgpu::e2e::watchdog_arm("process exit (ICD teardown, then stopping rgpu-daemon)",
                            std::chrono::seconds(30));
    return result;
}
