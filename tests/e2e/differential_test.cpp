// SPDX-License-Identifier: Apache-2.0
// Differential e2e tests: each scenario on POCL natively and through rgpu, results compared.
//
// Every test case has two subcases. "native" checks the scenario's absolute expectations on POCL
// (it passes without rgpu and shows the expectations themselves are right); "rgpu matches native"
// runs the scenario through librgpu-icd.so and rgpu-daemon and requires every status code, fact
// and data byte to equal the native run. Run only the first with --subcase=native.
#include "differential.h"

#include <cstdio>
#include <map>
#include <string>

using namespace rgpu::e2e;
using namespace rgpu::e2e::differential;
namespace sc = rgpu::e2e::scenarios;

// --- buffers and vector add ------------------------------------------------------------------

TEST_CASE("vector add copy-host-ptr" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::vector_add_copy_host_ptr, check_vector_add(r, "c"));
}

TEST_CASE("vector add use-host-ptr map" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::vector_add_use_host_ptr, {
        check_vector_add(r, "c mapped");
        CHECK(sc::vector_add_correct(r, "c host while mapped"));
        check_fact(r, "map returns host_ptr", "true");
    });
}

TEST_CASE("vector add alloc-host-ptr map" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::vector_add_alloc_host_ptr, check_vector_add(r, "c mapped"));
}

TEST_CASE("vector add write-buffer" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::vector_add_write_buffer, check_vector_add(r, "c"));
}

// --- programs --------------------------------------------------------------------------------

TEST_CASE("build options" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::build_with_options, {
        check_clean(r);
        const auto out3 = data<cl_int>(r, "out3"), out5 = data<cl_int>(r, "out5");
        REQUIRE(out3.size() == 64);
        REQUIRE(out5.size() == 64);
        for (cl_int i = 0; i < 64; ++i) {
            CHECK(out3[i] == 3 * i);
            CHECK(out5[i] == 5 * i);
        }
        check_fact(r, "build options 3", "-DVALUE=3");
        check_fact(r, "build options 5", "-DVALUE=5");
        check_fact(r, "build status 3", std::to_string(CL_BUILD_SUCCESS));
    });
}

TEST_CASE("a program source larger than a message frame" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::large_program_source, {
        check_clean(r);
        for (cl_int v : data<cl_int>(r, "out"))
            CHECK(v == 7);
    });
}

TEST_CASE("build failure log" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::build_failure_log, {
        check_clean(r, {"clBuildProgram", "clCreateKernel after failed build"});
        E2E_CHECK_CODE(r.code("clBuildProgram"), CL_BUILD_PROGRAM_FAILURE);
        check_fact(r, "build status", std::to_string(CL_BUILD_ERROR));
        check_fact(r, "log non-empty", "true");
        E2E_CHECK_CODE(r.code("clCreateKernel after failed build"), CL_INVALID_PROGRAM_EXECUTABLE);
        check_fact(r, "kernel handle is NULL", "true");
    });
}

TEST_CASE("sub-buffers" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::sub_buffers, {
        check_fact(r, "associated is the parent", "true");
        check_fact(r, "offset is the origin", "true");
        E2E_CHECK_CODE(r.code("error: misaligned origin"), CL_MISALIGNED_SUB_BUFFER_OFFSET);
        E2E_CHECK_CODE(r.code("error: beyond the parent"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("error: sub-buffer of a sub-buffer"), CL_INVALID_MEM_OBJECT);
        E2E_CHECK_CODE(r.code("error: wider access than the parent"), CL_INVALID_VALUE);
        const auto sub = data<cl_int>(r, "sub contents");
        const auto parent = data<cl_int>(r, "parent after");
        REQUIRE(!sub.empty());
        REQUIRE(parent.size() == 2 * sub.size());
        const size_t quarter = sub.size() / 2;
        for (size_t i = 0; i < sub.size(); ++i)
            CHECK(sub[i] == static_cast<cl_int>(quarter + i));
        for (size_t i = 0; i < parent.size(); ++i) {
            cl_int want = static_cast<cl_int>(i);
            if (i >= quarter && i < 2 * quarter) want = -5;
            if (i >= 2 * quarter && i < 3 * quarter) want = 2 * static_cast<cl_int>(i);
            CHECK(parent[i] == want);
        }
    });
}

TEST_CASE("rectangular transfers" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::rect_transfers, {
        for (const char* error :
             {"error: out of bounds", "error: zero region", "error: row pitch below width",
              "error: slice pitch not a multiple", "error: null host pointer",
              "error: copy with differing pitches in one buffer", "error: copy out of bounds"})
            E2E_CHECK_CODE(r.code(error), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("error: overlapping copy"), CL_MEM_COPY_OVERLAP);
        // Host row 1 + y, slice z (20 / 200 pitches), byte 1 + x lands at buffer byte
        // (1 + z) * 256 + (2 + y) * 32 + 3 + x.
        const auto a = data<unsigned char>(r, "a after write rect");
        REQUIRE(a.size() == 1024);
        for (size_t z = 0; z < 2; ++z)
            for (size_t y = 0; y < 4; ++y)
                for (size_t x = 0; x < 10; ++x)
                    CHECK(a[(1 + z) * 256 + (2 + y) * 32 + 3 + x] ==
                          static_cast<unsigned char>((z * 200 + (1 + y) * 20 + 1 + x) * 7 + 1));
        CHECK(a[0] == 0);
    });
}

TEST_CASE("images" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::images, {
        check_clean(r, {"arg sampler given a buffer"});
        check_fact(r, "image support", "true");
        check_fact(r, "large image read back", "true");
        check_fact(r, "RGBA/UNSIGNED_INT8 2D", "true");
        check_fact(r, "1D with stray fields read back", "true");
        check_fact(r, "2D with stray fields read back", "true");
        // The region read: row y of the box is image row 1 + y, pixels 2.., at 48-byte pitch.
        const auto read = data<unsigned char>(r, "read region");
        REQUIRE(read.size() == 48 * 5);
        for (size_t y = 0; y < 5; ++y)
            for (size_t x = 0; x < 48; ++x)
                CHECK(read[y * 48 + x] ==
                      (x < 40 ? static_cast<unsigned char>(((1 + y) * 80 + 8 + x) * 7 + 3) : 0xEE));
        const auto shifted = data<unsigned char>(r, "shifted");
        REQUIRE(shifted.size() == 16 * 8 * 4);
        // The last two rows of a 1100 x 1000 RGBA8 image (and the last bytes of a buffer) that
        // the host may not access, initialised from (i % 251).
        for (const char* name : {"hidden image last rows", "hidden buffer tail"}) {
            const auto tail = data<unsigned char>(r, name);
            REQUIRE(tail.size() == 1100 * 2 * 4);
            const size_t first = 1100 * 1000 * 4 - tail.size();
            for (size_t i = 0; i < tail.size(); i += 97)
                CHECK(tail[i] == (first + i) % 251);
        }
    });
}

TEST_CASE("threads sharing a context and a queue" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::threads_sharing, {
        check_clean(r);
        const auto shared = data<cl_int>(r, "shared");
        REQUIRE(shared.size() == 6 * 256);
        for (int t = 0; t < 6; ++t) {
            // The last round (11) of each thread left its slice.
            for (size_t i = 0; i < 256; ++i)
                CHECK(shared[t * 256 + i] == static_cast<cl_int>(11 * 100000 + t * 1000 + i));
            // Twelve rounds of p = 3p + (10t + round) from i + 1000t.
            const auto own = data<cl_int>(r, ("thread " + std::to_string(t) + " own").c_str());
            REQUIRE(own.size() == 256);
            for (size_t i = 0; i < 256; i += 51) {
                cl_int want = static_cast<cl_int>(i + 1000 * t);
                for (int round = 0; round < 12; ++round)
                    want = static_cast<cl_int>(static_cast<uint32_t>(want) * 3u +
                                               static_cast<uint32_t>(10 * t + round));
                CHECK(own[i] == want);
            }
        }
    });
}

TEST_CASE("kernel printf" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::kernel_printf, {
        check_clean(r);
        check_fact(r, "after the event", "start 41\nitem 0 of 1: 0.000000 ok\n");
        check_fact(r, "after clFinish, lines sorted",
                   "item 0 of 4: 0.000000 ok\nitem 1 of 4: 0.500000 ok\n"
                   "item 2 of 4: 1.000000 ok\nitem 3 of 4: 1.500000 ok\nstart 7\n");
    });
}

TEST_CASE("image errors" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::image_errors, {
        E2E_CHECK_CODE(r.code("error: no format"), CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
        E2E_CHECK_CODE(r.code("error: read beyond"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("error: copy between formats"), CL_IMAGE_FORMAT_MISMATCH);
        E2E_CHECK_CODE(r.code("error: overlapping copy"), CL_MEM_COPY_OVERLAP);
        E2E_CHECK_CODE(r.code("error: image read of a buffer"), CL_INVALID_MEM_OBJECT);
        E2E_CHECK_CODE(r.code("error: map without a row pitch"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("error: unknown sampler property"), CL_INVALID_VALUE);
    });
}

// POCL 3.1 accepts these (or answers another code); rgpu checks them as the specification says,
// before anything reaches the daemon.
TEST_CASE("image errors POCL does not report" * doctest::test_suite("e2e")) {
    const ScenarioResult r = rgpu_result(sc::image_errors_beyond_pocl);
    CHECK_MESSAGE(r.aborted_at.empty(), "aborted at " << r.aborted_at);
    E2E_CHECK_CODE(r.code("error: unknown channel order"), CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
    for (const char* descriptor : {"error: zero width", "error: row pitch without a pointer",
                                   "error: row pitch below a row", "error: buffer type"})
        E2E_CHECK_CODE(r.code(descriptor), CL_INVALID_IMAGE_DESCRIPTOR);
    E2E_CHECK_CODE(r.code("error: too wide"), CL_INVALID_IMAGE_SIZE);
    E2E_CHECK_CODE(r.code("error: slice pitch of a 2D image"), CL_INVALID_VALUE);
    E2E_CHECK_CODE(r.code("error: image info of a buffer"), CL_INVALID_MEM_OBJECT);
    E2E_CHECK_CODE(r.code("error: buffer read of an image"), CL_INVALID_MEM_OBJECT);
    E2E_CHECK_CODE(r.code("error: sampler addressing"), CL_INVALID_VALUE);
    E2E_CHECK_CODE(r.code("error: sampler filter"), CL_INVALID_VALUE);
    check_fact(r, "bad sampler gives NULL", "true");
    E2E_CHECK_CODE(r.code("error: a buffer as a sampler argument"), CL_INVALID_SAMPLER);
    E2E_CHECK_CODE(r.code("error: an image as a buffer argument"), CL_INVALID_MEM_OBJECT);
    E2E_CHECK_CODE(r.code("error: a buffer as an image argument"), CL_INVALID_MEM_OBJECT);
    E2E_CHECK_CODE(r.code("error: a read-only image as a write-only argument"),
                   CL_INVALID_ARG_VALUE);
    E2E_CHECK_CODE(r.code("a read-write image as a write-only argument"), CL_SUCCESS);
    E2E_CHECK_CODE(r.code("image to sub-buffer"), CL_SUCCESS);
    check_fact(r, "image rows land at the sub-buffer's offset", "true");
    E2E_CHECK_CODE(r.code("sub-buffer to image"), CL_SUCCESS);
    check_fact(r, "sub-buffer bytes land in image rows 2 and 3", "true");
    E2E_CHECK_CODE(r.code("error: image to sub-buffer beyond its end"), CL_INVALID_VALUE);
}

TEST_CASE("separate compile and link" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::compile_and_link, {
        check_clean(r);
        check_fact(r, "binary type main compiled",
                   std::to_string(CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT));
        check_fact(r, "binary type linked", std::to_string(CL_PROGRAM_BINARY_TYPE_EXECUTABLE));
        check_fact(r, "kernel names", "apply");
        const auto out = data<cl_int>(r, "out");
        REQUIRE(out.size() == 32);
        for (cl_int i = 0; i < 32; ++i)
            CHECK(out[i] == (i + 10) * 3);
    });
}

TEST_CASE("link through a library" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::link_library, {
        check_clean(r);
        check_fact(r, "binary type library", std::to_string(CL_PROGRAM_BINARY_TYPE_LIBRARY));
        check_fact(r, "binary type executable", std::to_string(CL_PROGRAM_BINARY_TYPE_EXECUTABLE));
        const auto out = data<cl_int>(r, "out");
        REQUIRE(out.size() == 32);
        for (cl_int i = 0; i < 32; ++i)
            CHECK(out[i] == (i + 10) * 3);
    });
}

TEST_CASE("compile and link errors" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::compile_and_link_errors, {
        E2E_CHECK_CODE(r.code("compile: device list without a count"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("compile: not a program"), CL_INVALID_PROGRAM);
        E2E_CHECK_CODE(r.code("link: no inputs"), CL_INVALID_VALUE);
        E2E_CHECK_CODE(r.code("link: not a context"), CL_INVALID_CONTEXT);
        E2E_CHECK_CODE(r.code("compile: a syntax error"), CL_COMPILE_PROGRAM_FAILURE);
        check_fact(r, "build status broken", std::to_string(CL_BUILD_ERROR));
        check_fact(r, "compile log non-empty", "true");
        E2E_CHECK_CODE(r.code("link: an unresolved function"), CL_LINK_PROGRAM_FAILURE);
    });
}

TEST_CASE("program info" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::program_info, {
        check_clean(
            r, {"CL_PROGRAM_NUM_KERNELS before build", "CL_PROGRAM_KERNEL_NAMES before build"});
        E2E_CHECK_CODE(r.code("CL_PROGRAM_NUM_KERNELS before build"),
                       CL_INVALID_PROGRAM_EXECUTABLE);
        E2E_CHECK_CODE(r.code("CL_PROGRAM_KERNEL_NAMES before build"),
                       CL_INVALID_PROGRAM_EXECUTABLE);
        check_fact(r, "CL_PROGRAM_SOURCE matches", "true");
        check_fact(r, "CL_PROGRAM_NUM_KERNELS", "3");
        check_fact(r, "CL_PROGRAM_KERNEL_NAMES sorted", "first;second;third");
        check_fact(r, "CL_PROGRAM_NUM_DEVICES", "1");
        check_fact(r, "CL_PROGRAM_DEVICES is the device", "true");
        check_fact(r, "CL_PROGRAM_CONTEXT is the context", "true");
        check_fact(r, "CL_PROGRAM_BINARY_TYPE", std::to_string(CL_PROGRAM_BINARY_TYPE_EXECUTABLE));
        check_fact(r, "clCreateKernelsInProgram count", "3");
        check_fact(r, "clCreateKernelsInProgram names sorted", "first;second;third");
    });
}

// --- kernels ---------------------------------------------------------------------------------

TEST_CASE("kernel argument kinds" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::kernel_argument_kinds, {
        check_clean(r);
        for (const auto& [name, with_buffer] :
             {std::pair{"out null", false}, {"out buffer", true}, {"out null handle", false}}) {
            const auto out = data<float>(r, name);
            REQUIRE(out.size() == 64);
            for (size_t gid = 0; gid < 64; ++gid)
                CHECK_MESSAGE(out[gid] == sc::kernel_argument_expected(gid, 16, with_buffer),
                              std::string(name) << "[" << gid << "]");
        }
    });
}

TEST_CASE("kernel info" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::kernel_info, {
        check_clean(r);
        check_fact(r, "fixed CL_KERNEL_COMPILE_WORK_GROUP_SIZE", "4,2,1");
        check_fact(r, "plain CL_KERNEL_COMPILE_WORK_GROUP_SIZE", "0,0,0");
        check_fact(r, "fixed CL_KERNEL_FUNCTION_NAME", "fixed");
        check_fact(r, "fixed CL_KERNEL_NUM_ARGS", "4");
        check_fact(r, "plain CL_KERNEL_NUM_ARGS", "1");
        check_fact(r, "fixed arg 0 CL_KERNEL_ARG_NAME", "out");
        check_fact(r, "fixed arg 2 CL_KERNEL_ARG_TYPE_NAME", "int");
        check_fact(r, "fixed arg 1 CL_KERNEL_ARG_ADDRESS_QUALIFIER",
                   std::to_string(CL_KERNEL_ARG_ADDRESS_LOCAL));
        check_fact(r, "fixed arg 3 CL_KERNEL_ARG_ADDRESS_QUALIFIER",
                   std::to_string(CL_KERNEL_ARG_ADDRESS_CONSTANT));
        check_fact(r, "fixed CL_KERNEL_PROGRAM is the program", "true");
        check_fact(r, "fixed CL_KERNEL_CONTEXT is the context", "true");
    });
}

TEST_CASE("ndrange offset and local size" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::ndrange_offset_local, {
        check_clean(r);
        const auto ids = data<cl_int>(r, "ids");
        REQUIRE(ids.size() == 80);
        for (int g = 0; g < 80; ++g) {
            const int want = g < 16 ? -1 : g * 10000 + ((g - 16) % 8) * 100 + (g - 16) / 8;
            CHECK_MESSAGE(ids[g] == want, "ids[" << g << "]");
        }
        CHECK(data<cl_int>(r, "meta") == std::vector<cl_int>{16, 8, 64, 8});
    });
}

TEST_CASE("ndrange 2d" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::ndrange_2d, {
        check_clean(r);
        const auto ids = data<cl_int>(r, "ids");
        REQUIRE(ids.size() == 128);
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 16; ++x) {
                const int want = x + 100 * y + 10000 * (x % 4) + 100000 * (y % 2) +
                                 1000000 * (x / 4 + 10 * (y / 2));
                CHECK_MESSAGE(ids[y * 16 + x] == want, "ids[" << y << "][" << x << "]");
            }
    });
}

// --- transfers -------------------------------------------------------------------------------

namespace {
void check_transfers(const ScenarioResult& r) {
    check_clean(r);
    std::vector<cl_int> a(256), b(256);
    for (int i = 0; i < 256; ++i)
        a[i] = i * 3 + 1;
    for (int i = 0; i < 5; ++i)
        a[10 + i] = 7000 + i;
    for (auto& v : b)
        v = 0x5a5a5a5a;
    // The 2-byte pattern over bytes 8..23: ints 2..5.
    for (int i = 2; i < 6; ++i)
        b[i] = 0x12341234;
    for (int i = 0; i < 64; ++i)
        b[100 + i] = a[32 + i];
    CHECK(data<cl_int>(r, "b") == b);
    CHECK(data<cl_int>(r, "a part") == std::vector<cl_int>(a.begin() + 5, a.begin() + 25));
    for (const char* e :
         {"write all", "write patch", "fill 4", "fill 2", "copy", "read b", "read part"})
        check_fact(r, std::string("status ") + e, "CL_COMPLETE");
}
} // namespace

TEST_CASE("transfers blocking" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::transfers_blocking, check_transfers(r));
}

TEST_CASE("thousands of tiny non-blocking writes" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::many_small_writes, {
        check_clean(r);
        const auto back = data<cl_int>(r, "back");
        REQUIRE(back.size() == sc::kManySmallWrites);
        for (size_t i = 0; i < back.size(); ++i)
            if (back[i] != static_cast<cl_int>(i * 7 + 3)) {
                FAIL_CHECK("element " << i << " is " << back[i]);
                break;
            }
    });
}

TEST_CASE("transfers non-blocking" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::transfers_nonblocking, {
        check_transfers(r);
        check_fact(r, "out-of-order queue", "true");
    });
}

// --- events ----------------------------------------------------------------------------------

TEST_CASE("a callback that makes blocking calls" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::blocking_call_in_callback, {
        check_clean(r);
        check_fact(r, "callback finished", "true");
        const auto read = data<cl_int>(r, "read in callback");
        REQUIRE(read.size() == 64);
        for (int i = 0; i < 64; ++i)
            CHECK(read[i] == i * i);
    });
}

TEST_CASE("events and wait lists" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::events_and_wait_lists, {
        check_clean(r, {"profiling info without profiling"});
        E2E_CHECK_CODE(r.code("profiling info without profiling"), CL_PROFILING_INFO_NOT_AVAILABLE);
        check_fact(r, "status read after its wait", "CL_COMPLETE");
        for (const char* e : {"write", "kernel", "read"}) {
            check_fact(r, std::string("status ") + e, "CL_COMPLETE");
            check_fact(r, std::string("queue of ") + e + " is the queue", "true");
            check_fact(r, std::string("context of ") + e + " is the context", "true");
        }
        check_fact(r, "command type write", hex(CL_COMMAND_WRITE_BUFFER));
        check_fact(r, "command type kernel", hex(CL_COMMAND_NDRANGE_KERNEL));
        check_fact(r, "command type read", hex(CL_COMMAND_READ_BUFFER));
        check_fact(r, "callback ran", "true");
        check_fact(r, "callback status", "CL_COMPLETE");
        check_fact(r, "callback event is the event", "true");
        const auto out = data<cl_int>(r, "out");
        REQUIRE(out.size() == 128);
        for (int i = 0; i < 128; ++i)
            CHECK(out[i] == (i - 50) * 2);
    });
}

TEST_CASE("profiling timestamps" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::profiling_timestamps, {
        check_clean(r);
        check_fact(r, "queue properties", std::to_string(CL_QUEUE_PROFILING_ENABLE));
        for (const char* e : {"write", "kernel", "read"})
            for (const char* order : {" queued <= submit", " submit <= start", " start <= end",
                                      " end > 0", " starts after the previous end"})
                check_fact(r, std::string(e) + order, "true");
        check_fact(r, "kernel result", "true");
    });
}

TEST_CASE("user event gates a command" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::user_event_gate, {
        check_clean(r, {"clSetUserEventStatus twice", "clSetUserEventStatus CL_RUNNING"});
        E2E_CHECK_CODE(r.code("clSetUserEventStatus twice"), CL_INVALID_OPERATION);
        E2E_CHECK_CODE(r.code("clSetUserEventStatus CL_RUNNING"), CL_INVALID_VALUE);
        check_fact(r, "status user event initially", "CL_SUBMITTED");
        check_fact(r, "command type user event", hex(CL_COMMAND_USER));
        check_fact(r, "user event has no queue", "true");
        check_fact(r, "gated write complete before the user event", "false");
        check_fact(r, "gated write status valid before the user event", "true");
        check_fact(r, "status gated write after the user event", "CL_COMPLETE");
        check_fact(r, "status user event after set", "CL_COMPLETE");
        const auto buffer = data<cl_int>(r, "buffer");
        REQUIRE(buffer.size() == 64);
        for (int i = 0; i < 64; ++i)
            CHECK(buffer[i] == i * i);
    });
}

TEST_CASE("writes behind a user event set after them" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::writes_behind_user_event, {
        check_clean(r);
        check_fact(r, "last write complete before the user event", "false");
        check_fact(r, "status last write after the user event", "CL_COMPLETE");
        check_fact(r, "every write landed", "true");
    });
}

TEST_CASE("failed user event fails its dependents" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::user_event_failure, {
        check_clean(r, {"clWaitForEvents on failed commands"});
        E2E_CHECK_CODE(r.code("clWaitForEvents on failed commands"),
                       CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        check_fact(r, "gated write failed", "true");
        check_fact(r, "marker behind it failed", "true");
    });
}

TEST_CASE("zero-sized launch is a no-op" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::zero_sized_launch, {
        check_clean(r);
        check_fact(r, "status zero-sized launch", "CL_COMPLETE");
    });
}

TEST_CASE("migrating memory objects" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::migrate_mem_objects, {
        check_fact(r, "migration complete before the user event", "false");
        for (const char* e : {"migration", "migration to the host", "undefined migration"}) {
            check_fact(r, std::string("status ") + e, "CL_COMPLETE");
            check_fact(r, std::string("command type ") + e, hex(CL_COMMAND_MIGRATE_MEM_OBJECTS));
        }
        CHECK(r.code("no queue") == CL_INVALID_COMMAND_QUEUE);
        CHECK(r.code("no objects") == CL_INVALID_VALUE);
        CHECK(r.code("null list") == CL_INVALID_VALUE);
        CHECK(r.code("unknown flag") == CL_INVALID_VALUE);
        CHECK(r.code("null object") == CL_INVALID_MEM_OBJECT);
        CHECK(r.code("object of another context") == CL_INVALID_CONTEXT);
        CHECK(r.code("null event in the wait list") == CL_INVALID_EVENT_WAIT_LIST);
        CHECK(r.code("wait list without events") == CL_INVALID_EVENT_WAIT_LIST);
    });
}

TEST_CASE("cloning a kernel" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::clone_kernel, {
        CHECK(r.code("clCloneKernel") == CL_SUCCESS);
        // a: x2 by the clone as cloned, then x5 by the original; b: x3 by the clone.
        CHECK(r.get<cl_int>("a") == std::vector<cl_int>(32, 10));
        CHECK(r.get<cl_int>("b") == std::vector<cl_int>(32, 3));
        check_fact(r, "clone's name", "scale");
        CHECK(r.code("clone of no kernel") == CL_INVALID_KERNEL);
        check_fact(r, "clone of no kernel returned null", "true");
    });
}

TEST_CASE("markers and barriers" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::markers_and_barriers, {
        check_clean(r);
        check_fact(r, "marker complete before the user event", "false");
        check_fact(r, "kernel complete before the user event", "false");
        check_fact(r, "barrier complete before the user event", "false");
        for (const char* e : {"marker", "kernel", "barrier", "legacy marker"})
            check_fact(r, std::string("status ") + e, "CL_COMPLETE");
        check_fact(r, "command type marker", hex(CL_COMMAND_MARKER));
        check_fact(r, "command type barrier", hex(CL_COMMAND_BARRIER));
        check_fact(r, "command type legacy marker", hex(CL_COMMAND_MARKER));
        CHECK(data<cl_int>(r, "x") == std::vector<cl_int>(16, 2));
    });
}

TEST_CASE("reference counts" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::reference_counts, {
        check_clean(r);
        for (const char* c : {"CL_MEM_REFERENCE_COUNT", "CL_KERNEL_REFERENCE_COUNT",
                              "CL_EVENT_REFERENCE_COUNT", "CL_QUEUE_REFERENCE_COUNT"}) {
            check_fact(r, std::string(c) + " fresh", "1");
            check_fact(r, std::string(c) + " after retain", "2");
            check_fact(r, std::string(c) + " after release", "1");
        }
    });
}

// --- device ----------------------------------------------------------------------------------

TEST_CASE("device info" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::device_info, {
        check_clean(r);
        CHECK(r.fact_value("CL_DEVICE_NAME") != "");
        CHECK(r.fact_value("CL_DEVICE_EXTENSIONS") != "");
        check_fact(r, "CL_DEVICE_NAME NUL-terminated", "true");
        check_fact(r, "CL_DEVICE_AVAILABLE", "1");
        check_fact(r, "CL_DEVICE_PLATFORM is the platform", "true");
        check_fact(r, "CL_DEVICE_MAX_WORK_GROUP_SIZE size_ret", std::to_string(sizeof(size_t)));
    });
}

// --- error codes: the call under test must return the same exact code on both ----------------

namespace {
void check_error(const ScenarioResult& r, cl_int expected,
                 const std::vector<std::string>& other_failures = {}) {
    std::vector<std::string> allowed = other_failures;
    allowed.push_back("under test");
    check_clean(r, allowed);
    E2E_CHECK_CODE(r.code("under test"), expected);
}
} // namespace

TEST_CASE("error buffer size zero" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_buffer_size_zero, {
        check_error(r, CL_INVALID_BUFFER_SIZE);
        check_fact(r, "handle is NULL", "true");
    });
}

TEST_CASE("error copy-host-ptr without pointer" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_copy_host_ptr_null, {
        check_error(r, CL_INVALID_HOST_PTR);
        check_fact(r, "handle is NULL", "true");
    });
}

TEST_CASE("error read-only with write-only" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_read_only_write_only, {
        check_error(r, CL_INVALID_VALUE);
        check_fact(r, "handle is NULL", "true");
    });
}

TEST_CASE("error unknown kernel name" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_unknown_kernel_name, {
        check_error(r, CL_INVALID_KERNEL_NAME);
        check_fact(r, "handle is NULL", "true");
    });
}

TEST_CASE("error kernel from unbuilt program" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_kernel_from_unbuilt_program, {
        check_error(r, CL_INVALID_PROGRAM_EXECUTABLE);
        check_fact(r, "handle is NULL", "true");
    });
}

TEST_CASE("error arg index out of range" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_arg_index_out_of_range, check_error(r, CL_INVALID_ARG_INDEX));
}

TEST_CASE("error buffer arg wrong size" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_buffer_arg_wrong_size, check_error(r, CL_INVALID_ARG_SIZE));
}

TEST_CASE("error unset kernel arg" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_unset_kernel_arg, check_error(r, CL_INVALID_KERNEL_ARGS));
}

TEST_CASE("error read out of bounds" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_read_out_of_bounds, {
        check_error(r, CL_INVALID_VALUE, {"read past the end, non-blocking"});
        E2E_CHECK_CODE(r.code("read past the end, non-blocking"), CL_INVALID_VALUE);
    });
}

TEST_CASE("error global size not multiple of local" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_global_not_multiple_of_local,
                          check_error(r, CL_INVALID_WORK_GROUP_SIZE));
}

TEST_CASE("error local size differs from reqd_work_group_size" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_local_differs_from_required,
                          check_error(r, CL_INVALID_WORK_GROUP_SIZE));
}

TEST_CASE("required work-group size without a local size" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::required_size_without_local, {
        CHECK(r.code("global 64, no local size") == CL_INVALID_WORK_GROUP_SIZE);
        CHECK(r.get<cl_int>("local sizes") == std::vector<cl_int>(64, 0));
        CHECK(r.code("global 6, no local size") == CL_INVALID_WORK_GROUP_SIZE);
        CHECK(r.code("clFinish") == CL_SUCCESS);
    });
}

TEST_CASE("error work dim zero" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_work_dim_zero, {
        check_error(r, CL_INVALID_WORK_DIMENSION, {"work_dim 4"});
        E2E_CHECK_CODE(r.code("work_dim 4"), CL_INVALID_WORK_DIMENSION);
    });
}

TEST_CASE("error null queue" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_null_queue, {
        check_error(r, CL_INVALID_COMMAND_QUEUE, {"clFinish NULL"});
        E2E_CHECK_CODE(r.code("clFinish NULL"), CL_INVALID_COMMAND_QUEUE);
    });
}

TEST_CASE("error wait list null" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_wait_list_null, {
        check_error(r, CL_INVALID_EVENT_WAIT_LIST,
                    {"marker with 1 event and NULL list", "copy with 1 event and NULL list",
                     "read with 0 events and a list", "clWaitForEvents 1 NULL"});
        E2E_CHECK_CODE(r.code("marker with 1 event and NULL list"), CL_INVALID_EVENT_WAIT_LIST);
        E2E_CHECK_CODE(r.code("copy with 1 event and NULL list"), CL_INVALID_EVENT_WAIT_LIST);
        E2E_CHECK_CODE(r.code("read with 0 events and a list"), CL_INVALID_EVENT_WAIT_LIST);
        E2E_CHECK_CODE(r.code("clWaitForEvents 1 NULL"), CL_INVALID_VALUE);
    });
}

TEST_CASE("error device info bogus param" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_device_info_bogus_param, {
        check_error(r, CL_INVALID_VALUE, {"value too small"});
        E2E_CHECK_CODE(r.code("value too small"), CL_INVALID_VALUE);
    });
}

TEST_CASE("error device type not found" * doctest::test_suite("e2e")) {
    DIFFERENTIAL_SUBCASES(sc::error_device_type_not_found, {
        check_error(r, CL_DEVICE_NOT_FOUND, {"with a device array"});
        E2E_CHECK_CODE(r.code("with a device array"), CL_DEVICE_NOT_FOUND);
        check_fact(r, "device left NULL", "true");
        check_fact(r, "num_devices says no device", "true");
    });
}

TEST_CASE("rgpu hides what it cannot carry" * doctest::test_suite("e2e")) {
    // Fine-grained and system SVM, command buffers, mipmapped images and native kernels have no
    // wire path: the device must not claim them. Images and coarse-grained SVM buffers it
    // carries: it claims them as the remote device does.
    auto& env = TestEnvironment::get();
    REQUIRE_MESSAGE(env.rgpu_unavailable().empty(),
                    "rgpu cannot run here: " << env.rgpu_unavailable());
    cl_platform_id platform = find_platform(kRgpuPlatformName);
    REQUIRE(platform != nullptr);
    cl_device_id device = nullptr;
    REQUIRE(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr) == CL_SUCCESS);
    cl_bool images = CL_TRUE;
    REQUIRE(clGetDeviceInfo(device, CL_DEVICE_IMAGE_SUPPORT, sizeof images, &images, nullptr) ==
            CL_SUCCESS);
    CHECK(images == CL_TRUE); // POCL's CPU device has images
    cl_device_svm_capabilities svm = 1;
    REQUIRE(clGetDeviceInfo(device, CL_DEVICE_SVM_CAPABILITIES, sizeof svm, &svm, nullptr) ==
            CL_SUCCESS);
    CHECK(svm == CL_DEVICE_SVM_COARSE_GRAIN_BUFFER); // POCL's CPU device also has fine grain
    // Native kernels are the application's host functions: they cannot run on a daemon.
    cl_device_exec_capabilities exec = 0;
    REQUIRE(clGetDeviceInfo(device, CL_DEVICE_EXECUTION_CAPABILITIES, sizeof exec, &exec,
                            nullptr) == CL_SUCCESS);
    CHECK((exec & CL_EXEC_KERNEL) != 0);
    CHECK((exec & CL_EXEC_NATIVE_KERNEL) == 0);
    cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, nullptr);
    REQUIRE(context != nullptr);
    cl_uint formats = 99;
    CHECK(clGetSupportedImageFormats(context, CL_MEM_READ_ONLY, CL_MEM_OBJECT_IMAGE2D, 0, nullptr,
                                     &formats) == CL_SUCCESS);
    CHECK(formats > 0);
    CHECK(clGetSupportedImageFormats(context, CL_MEM_READ_ONLY, CL_MEM_OBJECT_BUFFER, 0, nullptr,
                                     &formats) == CL_INVALID_VALUE);
    clReleaseContext(context);
    char extensions[8192] = {0};
    REQUIRE(clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, sizeof extensions - 1, extensions,
                            nullptr) == CL_SUCCESS);
    CHECK(std::string(extensions).find("cl_khr_command_buffer") == std::string::npos);
    CHECK(std::string(extensions).find("cl_khr_mipmap_image") == std::string::npos);
    CHECK(std::string(extensions).find("cl_khr_byte_addressable_store") != std::string::npos);
}
