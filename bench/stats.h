// SPDX-License-Identifier: Apache-2.0
// Timing and summary helpers: a steady-clock stopwatch, median and mean of samples.
#pragma once

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

namespace rgpu::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double median(std::vector<double> samples) {
    if (samples.empty()) return 0.0;
    const auto mid = samples.size() / 2;
    std::nth_element(samples.begin(), samples.begin() + mid, samples.end());
    if (samples.size() % 2 == 1) return samples[mid];
    const double upper = samples[mid];
    const double lower = *std::max_element(samples.begin(), samples.begin() + mid);
    return (lower + upper) / 2.0;
}

inline double mean(const std::vector<double>& samples) {
    if (samples.empty()) return 0.0;
    return std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
}

// Bytes per second expressed in GB/s (10^9 bytes).
inline double gb_per_s(double bytes, double seconds) {
    return bytes / seconds / 1e9;
}

} // namespace rgpu::bench
