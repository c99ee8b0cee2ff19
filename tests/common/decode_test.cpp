// SPDX-License-Identifier: Apache-2.0
// Envelope decoding: round trips and every rejection the fixed decode order can produce.
#include <decode.h>
#include <protocol.h>

#include <doctest/doctest.h>

#include <vector>

using namespace rgpu;

namespace {

std::vector<uint8_t> client_message(uint16_t version = proto::kProtocolVersion) {
    flatbuffers::FlatBufferBuilder fbb;
    auto create = wire::CreateCreateBuffer(fbb, 7, 3, 1, 4096, 1);
    std::vector<flatbuffers::Offset<wire::Command>> commands{
        wire::CreateCommand(fbb, wire::Request::CreateBuffer, create.Union(), true)};
    fbb.Finish(wire::CreateClientMessage(fbb, version, 42, 100, fbb.CreateVector(commands)),
               proto::kFileIdentifier);
    return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

} // namespace

TEST_CASE("client message round trip" * doctest::test_suite("protocol")) {
    auto bytes = client_message();
    auto decoded = proto::decode_client_message(bytes.data(), bytes.size());
    REQUIRE(decoded);
    CHECK(decoded.message->session() == 42);
    CHECK(decoded.message->first_seq() == 100);
    REQUIRE(decoded.message->commands()->size() == 1);
    const auto* command = decoded.message->commands()->Get(0);
    CHECK(command->want_reply());
    const auto* create = command->body_as_CreateBuffer();
    REQUIRE(create != nullptr);
    CHECK(create->id() == 7);
    CHECK(create->size() == 4096);
    CHECK(create->data_frame() == 1);
}

TEST_CASE("daemon message round trip" * doctest::test_suite("protocol")) {
    flatbuffers::FlatBufferBuilder fbb;
    auto data = wire::CreateReadData(fbb, 4096, 512);
    std::vector<flatbuffers::Offset<wire::Reply>> replies{
        wire::CreateReply(fbb, 9, 0, wire::ReplyBody::ReadData, data.Union(), 1)};
    std::vector<wire::EventNotice> events{wire::EventNotice(5, 0, 1, 2, 3, 4)};
    fbb.Finish(wire::CreateDaemonMessage(fbb, proto::kProtocolVersion, 42, 8,
                                         fbb.CreateVector(replies),
                                         fbb.CreateVectorOfStructs(events)),
               proto::kFileIdentifier);
    auto decoded = proto::decode_daemon_message(fbb.GetBufferPointer(), fbb.GetSize());
    REQUIRE(decoded);
    CHECK(decoded.message->acked_seq() == 8);
    const auto* reply = decoded.message->replies()->Get(0);
    CHECK(reply->seq() == 9);
    REQUIRE(reply->body_as_ReadData() != nullptr);
    CHECK(reply->body_as_ReadData()->offset() == 4096);
    CHECK(decoded.message->events()->Get(0)->end() == 4);
}

TEST_CASE("truncated envelope is rejected" * doctest::test_suite("protocol")) {
    auto bytes = client_message();
    for (size_t cut : {size_t(0), size_t(4), size_t(7), bytes.size() / 2, bytes.size() - 1}) {
        auto decoded = proto::decode_client_message(bytes.data(), cut);
        CHECK_FALSE(decoded);
        CHECK_FALSE(decoded.error.empty());
    }
}

TEST_CASE("wrong file identifier is rejected" * doctest::test_suite("protocol")) {
    auto bytes = client_message();
    bytes[4] = 'X';
    auto decoded = proto::decode_client_message(bytes.data(), bytes.size());
    CHECK_FALSE(decoded);
    CHECK(decoded.error == "envelope lacks the RGPU file identifier");
}

TEST_CASE("other protocol version is rejected" * doctest::test_suite("protocol")) {
    auto bytes = client_message(proto::kProtocolVersion + 1);
    auto decoded = proto::decode_client_message(bytes.data(), bytes.size());
    CHECK_FALSE(decoded);
    CHECK(decoded.error.find("protocol version 2 is not supported") == 0);
}

TEST_CASE("oversized envelope is rejected before verification" * doctest::test_suite("protocol")) {
    std::vector<uint8_t> huge(proto::kMaxEnvelopeBytes + 1, 0);
    auto decoded = proto::decode_client_message(huge.data(), huge.size());
    CHECK_FALSE(decoded);
    CHECK(decoded.error.find("exceeds the limit") != std::string::npos);
}

TEST_CASE("corrupted offsets fail verification" * doctest::test_suite("protocol")) {
    auto bytes = client_message();
    // Point the root table far outside the buffer; the identifier stays intact.
    bytes[0] = 0xFF;
    bytes[1] = 0xFF;
    bytes[2] = 0x00;
    auto decoded = proto::decode_client_message(bytes.data(), bytes.size());
    CHECK_FALSE(decoded);
    CHECK(decoded.error == "envelope failed FlatBuffers verification");
}

TEST_CASE("random bytes never decode" * doctest::test_suite("protocol")) {
    uint32_t state = 12345;
    for (int round = 0; round < 2000; ++round) {
        std::vector<uint8_t> bytes(8 + round % 300);
        for (auto& b : bytes) {
            state = state * 1664525u + 1013904223u;
            b = static_cast<uint8_t>(state >> 24);
        }
        bytes[4] = 'R', bytes[5] = 'G', bytes[6] = 'P', bytes[7] = 'U';
        auto decoded = proto::decode_client_message(bytes.data(), bytes.size());
        if (decoded) CHECK(decoded.message->version() == proto::kProtocolVersion);
    }
}

TEST_CASE("printable sample is bounded hex" * doctest::test_suite("protocol")) {
    std::vector<uint8_t> bytes{0xde, 0xad, 0xbe, 0xef};
    CHECK(proto::printable_sample(bytes.data(), bytes.size()) == "deadbeef");
    CHECK(proto::printable_sample(bytes.data(), bytes.size(), 2) == "dead...");
}

TEST_CASE("command without a body is rejected" * doctest::test_suite("protocol")) {
    flatbuffers::FlatBufferBuilder fbb;
    wire::CommandBuilder command(fbb);
    command.add_body_type(wire::Request::WriteBuffer); // announced, but no table follows
    std::vector<flatbuffers::Offset<wire::Command>> commands{command.Finish()};
    fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 1, 1,
                                         fbb.CreateVector(commands)),
               proto::kFileIdentifier);
    auto decoded = proto::decode_client_message(fbb.GetBufferPointer(), fbb.GetSize());
    CHECK_FALSE(decoded);
    CHECK(decoded.error == "command 0 has no body");
}
