// SPDX-License-Identifier: Apache-2.0
// Differential e2e tests of shared virtual memory (see differential_test.cpp for the pattern).
#include "differential.h"

using namespace rgpu::e2e;
using namespace rgpu::e2e::differential;

TEST_CASE("shared virtual memory coarse grain" * doctest::test_suite("e2e") *
          doctest::skip(kAddressSanitizer)) {
    DIFFERENTIAL_SUBCASES(sc::svm_coarse_grain, {
        check_clean(r,
                    {"error: memcpy overlap", "error: memcpy to NULL", "error: fill pattern size 3",
                     "error: fill size not a multiple", "error: fill misaligned", "error: map NULL",
                     "error: map size 0", "error: unmap NULL", "error: SVM pointer argument index",
                     "error: free count without list", "error: migrate nothing",
                     "error: buffer larger than its SVM allocation"});
        check_fact(r, "coarse-grained buffers", "true");
        check_fact(r, "alignment 64 honoured", "true");
        check_fact(r, "buffer uses an SVM pointer", "true");
        check_fact(r, "free callback calls", "1");
        check_fact(r, "free callback pointers", "2");
        E2E_CHECK_CODE(r.code("error: memcpy overlap"), CL_MEM_COPY_OVERLAP);
        E2E_CHECK_CODE(r.code("error: SVM pointer argument index"), CL_INVALID_ARG_INDEX);
        E2E_CHECK_CODE(r.code("error: buffer larger than its SVM allocation"),
                       CL_INVALID_BUFFER_SIZE);
        check_fact(r, "too large buffer is NULL", "true");
        for (const char* e : {"error: memcpy to NULL", "error: fill pattern size 3",
                              "error: fill size not a multiple", "error: fill misaligned",
                              "error: map NULL", "error: map size 0", "error: unmap NULL",
                              "error: free count without list", "error: migrate nothing"})
            E2E_CHECK_CODE(r.code(e), CL_INVALID_VALUE);
        // Each node's sum runs from its own value to the end of the list: 3i + 1 summed.
        const auto sums = data<cl_int>(r, "sums");
        REQUIRE(sums.size() == 256);
        for (size_t i = 0; i < sums.size(); ++i) {
            cl_int want = 0;
            for (size_t j = i; j < sums.size(); ++j)
                want += static_cast<cl_int>(3 * j + 1);
            CHECK(sums[i] == want);
        }
        CHECK(data<cl_int>(r, "sums mapped") == sums);
        const auto after = data<cl_int>(r, "after fill, copy and writes");
        REQUIRE(after.size() == 256);
        for (size_t i = 0; i < after.size(); ++i) {
            cl_int want = i < 128 ? 7 : i < 192 ? 7 : sums[i];
            if (i >= 8 && i < 24) want = static_cast<cl_int>(1000 + i - 8);
            if (i >= 100 && i < 104) want = -static_cast<cl_int>(i - 100);
            CHECK(after[i] == want);
        }
        auto doubled = after;
        for (auto& v : doubled)
            v *= 2;
        CHECK(data<cl_int>(r, "buffer over SVM doubled") == doubled);
        CHECK(data<cl_int>(r, "SVM after buffer kernel") == doubled);
        auto plus_one = doubled;
        for (auto& v : plus_one)
            v += 1;
        CHECK(data<cl_int>(r, "through a stored pointer") == plus_one);
        check_fact(r, "command type memcpy", hex(CL_COMMAND_SVM_MEMCPY));
        check_fact(r, "command type fill", hex(CL_COMMAND_SVM_MEMFILL));
        check_fact(r, "command type map", hex(CL_COMMAND_SVM_MAP));
        check_fact(r, "command type unmap", hex(CL_COMMAND_SVM_UNMAP));
        check_fact(r, "command type migrate", hex(CL_COMMAND_SVM_MIGRATE_MEM));
        check_fact(r, "command type free", hex(CL_COMMAND_SVM_FREE));
    });
}

// POCL 3.1 accepts these; rgpu checks them as the specification says. Fine-grained and system
// SVM are not offered (the client's memory cannot be the device's at every moment).
TEST_CASE("SVM errors POCL does not report" * doctest::test_suite("e2e") *
          doctest::skip(kAddressSanitizer)) {
    const ScenarioResult r = rgpu_result(sc::svm_errors_beyond_pocl);
    CHECK_MESSAGE(r.aborted_at.empty(), "aborted at " << r.aborted_at);
    for (const char* e : {"error: map read and invalidate", "error: exec info of a partial pointer",
                          "error: exec info unknown"})
        E2E_CHECK_CODE(r.code(e), CL_INVALID_VALUE);
    E2E_CHECK_CODE(r.code("error: system SVM for a kernel"), CL_INVALID_OPERATION);
    E2E_CHECK_CODE(r.code("error: SVM argument outside SVM memory"), CL_INVALID_ARG_VALUE);
    check_fact(r, "SVM capabilities", std::to_string(CL_DEVICE_SVM_COARSE_GRAIN_BUFFER));
    check_fact(r, "fine grain gives NULL", "true");
}
