// SPDX-License-Identifier: Apache-2.0
// RGPU_SERVERS parsing.
#include <endpoints.h>

#include <doctest/doctest.h>

using rgpu::parse_endpoints;

TEST_CASE("endpoint list is split and trimmed" * doctest::test_suite("config")) {
    std::string error;
    auto list = parse_endpoints(" tcp://10.0.0.5:7878 , ipc:///run/rgpu.sock,,", &error);
    CHECK(error.empty());
    REQUIRE(list.size() == 2);
    CHECK(list[0] == "tcp://10.0.0.5:7878");
    CHECK(list[1] == "ipc:///run/rgpu.sock");
}

TEST_CASE("unsupported transport is an error" * doctest::test_suite("config")) {
    std::string error;
    auto list = parse_endpoints("tcp://127.0.0.1:1,http://example", &error);
    CHECK(list.empty());
    CHECK(error == "unsupported endpoint 'http://example'");
}

TEST_CASE("empty list gives no endpoints" * doctest::test_suite("config")) {
    std::string error;
    CHECK(parse_endpoints("", &error).empty());
    CHECK(error.empty());
    CHECK(parse_endpoints("tcp://", &error).empty());
    CHECK(error == "unsupported endpoint 'tcp://'");
}
