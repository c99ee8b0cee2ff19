// SPDX-License-Identifier: Apache-2.0
// Rate limit for warnings a peer can trigger at will (rejected messages, failed commands).
#pragma once

#include <chrono>
#include <cstdint>

namespace rgpu::daemon {

/// Lets `burst` lines through per `period`; the rest are counted. Single-threaded: each user
/// (an I/O thread, an executor) keeps its own.
class LogLimiter {
  public:
    explicit LogLimiter(uint32_t burst = 20,
                        std::chrono::milliseconds period = std::chrono::seconds(10))
        : burst_(burst), period_(period) {}

    /// True when this line may be logged. `*suppressed` is then the number of lines dropped
    /// since the last one logged (say so in the line), else left alone.
    bool allow(uint64_t* suppressed) {
        auto now = std::chrono::steady_clock::now();
        if (now - window_start_ >= period_) {
            window_start_ = now;
            in_window_ = 0;
        }
        if (in_window_ >= burst_) {
            ++dropped_;
            return false;
        }
        ++in_window_;
        *suppressed = dropped_;
        dropped_ = 0;
        return true;
    }

  private:
    uint32_t burst_;
    std::chrono::milliseconds period_;
    std::chrono::steady_clock::time_point window_start_{};
    uint32_t in_window_ = 0;
    uint64_t dropped_ = 0;
};

} // namespace rgpu::daemon
