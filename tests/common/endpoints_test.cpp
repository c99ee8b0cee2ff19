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

TEST_CASE("a server entry may carry its own CurveZMQ key" * doctest::test_suite("config")) {
    // Two keys as rgpu-ctl keygen prints them (Z85 has neither '|' nor ',').
    const std::string a = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                      b = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    std::string error;
    auto list = rgpu::parse_servers(
        "tcp://10.0.0.5:7878|" + a + ", ipc:///run/rgpu.sock ,tcp://h:1 | " + b, &error);
    CHECK(error.empty());
    REQUIRE(list.size() == 3);
    CHECK(list[0].endpoint == "tcp://10.0.0.5:7878");
    CHECK(list[0].key == a);
    CHECK(list[1].endpoint == "ipc:///run/rgpu.sock");
    CHECK(list[1].key.empty());
    CHECK(list[2].endpoint == "tcp://h:1");
    CHECK(list[2].key == b);
    CHECK(rgpu::parse_servers("tcp://h:1|not-a-key", &error).empty());
    CHECK(error == "'tcp://h:1': not a CurveZMQ public key after '|'");
    CHECK(rgpu::parse_servers("http://h|" + a, &error).empty());
    CHECK(error == "unsupported endpoint 'http://h'");
}
