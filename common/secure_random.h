// SPDX-License-Identifier: Apache-2.0
// Unpredictable 64-bit values for session ids and resume tokens.
#pragma once

#include <cstdint>

namespace rgpu {

/// A non-zero value from the kernel's cryptographic random source (getrandom(2)). Throws
/// std::system_error if the source fails: ids must never fall back to something guessable.
uint64_t secure_random_u64();

} // namespace rgpu
