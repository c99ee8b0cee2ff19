// SPDX-License-Identifier: Apache-2.0
// ControlChannel: packets over a Unix socket pair, verified on receipt.
#include "control_channel.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace rgpu::daemon {

ControlChannel::~ControlChannel() {
    if (fd_ >= 0) close(fd_);
}

std::pair<int, int> ControlChannel::make_pair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::system_error(errno, std::generic_category(), "socketpair");
    return {fds[0], fds[1]};
}

bool ControlChannel::send(const flatbuffers::FlatBufferBuilder& fbb) {
    for (;;) {
        ssize_t n = ::send(fd_, fbb.GetBufferPointer(), fbb.GetSize(), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<size_t>(n) == fbb.GetSize();
        if (errno != EINTR) return false;
    }
}

ControlChannel::Status ControlChannel::receive(const control::ControlMessage** message,
                                               std::string* error) {
    // 8-byte aligned storage: FlatBuffers reads scalars in place.
    buffer_.resize(kMaxControlBytes + 8);
    auto* data = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buffer_.data()) + 7) &
                                            ~uintptr_t(7));
    ssize_t n;
    do {
        n = recv(fd_, data, kMaxControlBytes, MSG_DONTWAIT | MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Nothing;
        if (error) *error = std::strerror(errno);
        return Status::Closed;
    }
    if (n == 0) return Status::Closed;
    if (static_cast<size_t>(n) > kMaxControlBytes) {
        if (error) *error = "control packet of " + std::to_string(n) + " bytes exceeds the limit";
        return Status::Invalid;
    }
    if (n < 8 || !flatbuffers::BufferHasIdentifier(data, control::ControlMessageIdentifier())) {
        if (error) *error = "control packet lacks the RGPC file identifier";
        return Status::Invalid;
    }
    flatbuffers::Verifier::Options options;
    options.max_depth = 8;
    options.max_tables = 1024;
    flatbuffers::Verifier verifier(data, static_cast<size_t>(n), options);
    if (!control::VerifyControlMessageBuffer(verifier)) {
        if (error) *error = "control packet failed FlatBuffers verification";
        return Status::Invalid;
    }
    const auto* m = control::GetControlMessage(data);
    if (m->body_type() == control::ControlBody::NONE || !m->body()) {
        if (error) *error = "control packet has no body";
        return Status::Invalid;
    }
    *message = m;
    return Status::Message;
}

} // namespace rgpu::daemon
