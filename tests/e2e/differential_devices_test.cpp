// SPDX-License-Identifier: Apache-2.0
// Differential e2e tests of devices: sub-devices (see differential_test.cpp for the pattern).
#include "differential.h"

using namespace rgpu::e2e;
using namespace rgpu::e2e::differential;

TEST_CASE("sub-devices" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::sub_devices, {
        check_clean(r, {"count a sub-device's partition", "error: NULL device",
                        "error: NULL properties", "error: too few entries",
                        "error: unknown partition type", "error: counts beyond the device",
                        "error: release a served device"});
        E2E_CHECK_CODE(r.code("error: NULL device"), CL_INVALID_DEVICE);
        E2E_CHECK_CODE(r.code("error: NULL properties"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("error: unknown partition type"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("error: counts beyond the device"),
                       CL_INVALID_DEVICE_PARTITION_COUNT);
        check_fact(r, "root parent is the partitioned device", "true");
        check_fact(r, "sub 0 parent is the partitioned device", "true");
        check_fact(r, "sub 0 reference count", "1");
        check_fact(r, "reference count after retain", "2");
        check_fact(r, "by counts made", "1");
        check_fact(r, "counted compute units", "1");
        CHECK(r.fact_value("equally made") == r.fact_value("equally makes"));
        CHECK(sc::vector_add_correct(r, "on sub 0 c"));
        CHECK(sc::vector_add_correct(r, "on the last sub-device c"));
        CHECK(sc::vector_add_correct(r, "built for the parent c"));
        check_fact(r, "built for the parent build status", std::to_string(CL_BUILD_SUCCESS));
    });
}
