// SPDX-License-Identifier: Apache-2.0
// Repetition counts and sizes for a full run and for a --quick smoke run.
#pragma once

#include <cstddef>

namespace rgpu::bench {

inline constexpr std::size_t bulk_bytes = 64u << 20;      // the 64 MiB transfers
inline constexpr std::size_t bulk_frame_bytes = 4u << 20; // raw ZeroMQ: 16 x 4 MiB messages
inline constexpr std::size_t vector_elements = 1u << 20;  // vector_add_1m: 1M floats

struct BenchConfig {
    bool quick = false;
    int small_rtt_warmup = 200; // small_read_rtt and the ZeroMQ round trip
    int small_rtt_iters = 2000;
    int empty_warmup = 1000; // empty_kernel_enqueue
    int empty_enqueues = 20000;
    int empty_reps = 5;
    int pipelined_msgs = 20000; // raw ZeroMQ one message per command, pipelined
    int pipelined_reps = 3;
    int bulk_reps = 5; // 64 MiB write/read and the ZeroMQ bulk, after one warm-up
    int vadd_reps = 10;

    static BenchConfig make(bool quick) {
        BenchConfig c;
        if (!quick) return c;
        c.quick = true;
        c.small_rtt_warmup = 50;
        c.small_rtt_iters = 200;
        c.empty_warmup = 100;
        c.empty_enqueues = 5000;
        c.empty_reps = 2;
        c.pipelined_msgs = 5000;
        c.pipelined_reps = 2;
        c.bulk_reps = 2;
        c.vadd_reps = 3;
        return c;
    }
};

} // namespace rgpu::bench
