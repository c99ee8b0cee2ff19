// SPDX-License-Identifier: Apache-2.0
// librgpu-zmq-send-count.so: counts the ZeroMQ messages a process sends (LD_PRELOAD), to see
// how many commands the ICD puts in one message (rgpu-exactly-once-bench's per-message costs
// are per command at that ratio). At exit each process that sent any writes one line to
// standard error: "zmq-send-count <pid> <program> <messages>".
#include <atomic>
#include <cstdio>
#include <dlfcn.h>
#include <unistd.h>
#include <zmq.h>

namespace {

std::atomic<unsigned long> g_messages{0};

struct Report {
    ~Report() {
        if (g_messages.load() == 0) return;
        char exe[256] = {};
        const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        std::fprintf(stderr, "zmq-send-count %d %s %lu\n", getpid(), n > 0 ? exe : "?",
                     g_messages.load());
    }
} g_report;

template <class F> F next(const char* name) {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" int zmq_msg_send(zmq_msg_t* msg, void* socket, int flags) {
    static auto real = next<int (*)(zmq_msg_t*, void*, int)>("zmq_msg_send");
    const int rc = real(msg, socket, flags);
    if (rc >= 0 && !(flags & ZMQ_SNDMORE)) g_messages.fetch_add(1, std::memory_order_relaxed);
    return rc;
}

extern "C" int zmq_send(void* socket, const void* data, size_t size, int flags) {
    static auto real = next<int (*)(void*, const void*, size_t, int)>("zmq_send");
    const int rc = real(socket, data, size, flags);
    if (rc >= 0 && !(flags & ZMQ_SNDMORE)) g_messages.fetch_add(1, std::memory_order_relaxed);
    return rc;
}
