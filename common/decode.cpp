// SPDX-License-Identifier: Apache-2.0
// Envelope decoding shared by both sides of the protocol.
#include "decode.h"

#include "protocol.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace rgpu::proto {
namespace {

template <class T> Decoded<T> decode(const void* data, size_t size) {
    Decoded<T> out;
    // The Verifier's constructor asserts on sizes above FLATBUFFERS_MAX_BUFFER_SIZE: cap first.
    if (size > kMaxEnvelopeBytes) {
        out.error = "envelope of " + std::to_string(size) + " bytes exceeds the limit";
        return out;
    }
    if (size < 8) {
        out.error = "envelope of " + std::to_string(size) + " bytes is too short";
        return out;
    }
    auto bytes = static_cast<const uint8_t*>(data);
    if (!flatbuffers::BufferHasIdentifier(bytes, kFileIdentifier)) {
        out.error = "envelope lacks the RGPU file identifier";
        return out;
    }
    flatbuffers::Verifier::Options options;
    options.max_depth = kVerifierMaxDepth;
    options.max_tables = kVerifierMaxTables;
    flatbuffers::Verifier verifier(bytes, size, options);
    if (!verifier.VerifyBuffer<T>(kFileIdentifier)) {
        out.error = "envelope failed FlatBuffers verification";
        return out;
    }
    const T* message = flatbuffers::GetRoot<T>(bytes);
    if (message->version() != kProtocolVersion) {
        out.error = "protocol version " + std::to_string(message->version()) +
                    " is not supported (this side speaks " + std::to_string(kProtocolVersion) + ")";
        return out;
    }
    out.message = message;
    return out;
}

/// The Verifier checks that a vector starts on a 4-byte boundary, not on its elements' size:
/// a [uint64] at an odd multiple of 4 would be read misaligned. True when every 8-byte vector
/// of the command is aligned.
bool vectors_aligned(const wire::Command& command) {
    auto ok = [](const flatbuffers::Vector<uint64_t>* v) {
        // An empty vector is never read (and builders leave it 4-aligned).
        return !v || v->size() == 0 ||
               reinterpret_cast<uintptr_t>(v->Data()) % alignof(uint64_t) == 0;
    };
    switch (command.body_type()) {
    case wire::Request::WriteBuffer:
        return ok(command.body_as_WriteBuffer()->wait());
    case wire::Request::ReadBuffer:
        return ok(command.body_as_ReadBuffer()->wait());
    case wire::Request::CopyBuffer:
        return ok(command.body_as_CopyBuffer()->wait());
    case wire::Request::FillBuffer:
        return ok(command.body_as_FillBuffer()->wait());
    case wire::Request::Marker:
        return ok(command.body_as_Marker()->wait());
    case wire::Request::NDRangeKernel: {
        const auto* k = command.body_as_NDRangeKernel();
        return ok(k->offset()) && ok(k->global()) && ok(k->local()) && ok(k->wait());
    }
    case wire::Request::WriteImage: {
        const auto* w = command.body_as_WriteImage();
        return ok(w->origin()) && ok(w->region()) && ok(w->wait());
    }
    case wire::Request::ReadImage: {
        const auto* r = command.body_as_ReadImage();
        return ok(r->origin()) && ok(r->region()) && ok(r->wait());
    }
    case wire::Request::CopyImage: {
        const auto* c = command.body_as_CopyImage();
        return ok(c->src_origin()) && ok(c->dst_origin()) && ok(c->region()) && ok(c->wait());
    }
    case wire::Request::FillImage: {
        const auto* f = command.body_as_FillImage();
        return ok(f->origin()) && ok(f->region()) && ok(f->wait());
    }
    case wire::Request::CopyImageBuffer: {
        const auto* c = command.body_as_CopyImageBuffer();
        return ok(c->origin()) && ok(c->region()) && ok(c->wait());
    }
    case wire::Request::CompileProgram:
        return ok(command.body_as_CompileProgram()->headers());
    case wire::Request::LinkProgram:
        return ok(command.body_as_LinkProgram()->inputs());
    case wire::Request::SvmCopy:
        return ok(command.body_as_SvmCopy()->wait());
    case wire::Request::SetKernelExecInfo:
        return ok(command.body_as_SetKernelExecInfo()->svm_pointers());
    default:
        return true;
    }
}

} // namespace

Decoded<wire::ClientMessage> decode_client_message(const void* data, size_t size) {
    auto decoded = decode<wire::ClientMessage>(data, size);
    // The Verifier accepts a union whose type is set and whose table is absent: handlers may
    // rely on every command having a body of the type it announces.
    if (decoded && decoded.message->commands()) {
        uint32_t index = 0;
        for (const wire::Command* command : *decoded.message->commands()) {
            if (command->body_type() == wire::Request::NONE || command->body() == nullptr) {
                decoded.message = nullptr;
                decoded.error = "command " + std::to_string(index) + " has no body";
                break;
            }
            if (!vectors_aligned(*command)) {
                decoded.message = nullptr;
                decoded.error = "command " + std::to_string(index) + " has a misaligned vector";
                break;
            }
            ++index;
        }
    }
    return decoded;
}

Decoded<wire::DaemonMessage> decode_daemon_message(const void* data, size_t size) {
    return decode<wire::DaemonMessage>(data, size);
}

void align_frame(zmq::message_t& frame) {
    if (reinterpret_cast<uintptr_t>(frame.data()) % 8 == 0) return;
    size_t size = frame.size();
    void* aligned = std::aligned_alloc(8, (size + 7) / 8 * 8);
    if (!aligned) throw std::bad_alloc();
    std::memcpy(aligned, frame.data(), size);
    frame.rebuild(aligned, size, [](void* data, void*) { std::free(data); });
}

std::string printable_sample(const void* data, size_t size, size_t max_bytes) {
    auto bytes = static_cast<const uint8_t*>(data);
    std::string out;
    size_t n = size < max_bytes ? size : max_bytes;
    char hex[4];
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", bytes[i]);
        out += hex;
    }
    if (n < size) out += "...";
    return out;
}

} // namespace rgpu::proto
