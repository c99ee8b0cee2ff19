// SPDX-License-Identifier: Apache-2.0
// Sub-device requests from a client that does not play by the ICD's rules: the partition list
// reaches the device's runtime only when it is well formed.
#include "raw_client.h"
#include "shared_daemon.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace rgpu;
using rgpu::test::ask;
using rgpu::test::daemon;
using rgpu::test::RawClient;
namespace req = rgpu::test::req;

namespace {

auto partition(std::vector<int64_t> properties, bool create = true) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) {
        auto r = wire::CreateCreateSubDevices(fbb, 0, fbb.CreateVector(properties), 8, create);
        return std::make_pair(wire::Request::CreateSubDevices, r.Union());
    };
}

} // namespace

TEST_CASE("a malformed partition never reaches the runtime" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto answer = [&](auto build) { return ask(client, session, seq, build); };
    const int64_t equally = CL_DEVICE_PARTITION_EQUALLY, counts = CL_DEVICE_PARTITION_BY_COUNTS;
    CHECK(answer(partition({equally, 0, 0})).first == CL_INVALID_VALUE);
    CHECK(answer(partition({equally, 1})).first == CL_INVALID_VALUE); // not terminated
    CHECK(answer(partition({equally, 1, 5, 0})).first == CL_INVALID_VALUE);
    CHECK(answer(partition({counts, 1, 0})).first == CL_INVALID_VALUE); // no list end
    CHECK(answer(partition({counts, -1, 0, 0})).first == CL_INVALID_DEVICE_PARTITION_COUNT);
    CHECK(answer(partition({counts, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0})).first ==
          CL_INVALID_DEVICE_PARTITION_COUNT);
    CHECK(answer(partition({0x4242, 1, 0})).first == CL_INVALID_VALUE);
    CHECK(answer(partition({CL_DEVICE_PARTITION_BY_AFFINITY_DOMAIN, 3, 0})).first ==
          CL_INVALID_VALUE);
    // A served device's partition, then a context of its first sub-device; an index beyond the
    // sub-devices made names nothing.
    client.send(session, seq++, partition({counts, 1, 0, 0}));
    auto frames = client.receive_reply();
    REQUIRE(frames);
    const auto& reply = RawClient::first_reply(*frames);
    REQUIRE(reply.status() == CL_SUCCESS);
    const auto* made = reply.body_as_SubDevicesCreated();
    REQUIRE(made != nullptr);
    CHECK(made->count() == 1);
    REQUIRE(made->devices() != nullptr);
    REQUIRE(made->devices()->size() == 1);
    CHECK(made->devices()->Get(0)->index() == proto::kSubDeviceBase);
    auto context_on = [](uint64_t id, uint32_t device) {
        return [=](flatbuffers::FlatBufferBuilder& fbb) {
            std::vector<uint32_t> devices{device};
            auto c = wire::CreateCreateContext(fbb, id, fbb.CreateVector(devices));
            return std::make_pair(wire::Request::CreateContext, c.Union());
        };
    };
    CHECK(answer(context_on(1, proto::kSubDeviceBase)).first == CL_SUCCESS);
    const auto unknown = answer(context_on(2, proto::kSubDeviceBase + 1));
    CHECK(unknown.first == proto::kStatusProtocolError);
    CHECK(unknown.second == "unknown device index " + std::to_string(proto::kSubDeviceBase + 1));
    CHECK(daemon().alive());
}
