// SPDX-License-Identifier: Apache-2.0
// secure_random_u64(): getrandom(2), retried on EINTR.
#include "secure_random.h"

#include <cerrno>
#include <sys/random.h>
#include <system_error>

namespace rgpu {

uint64_t secure_random_u64() {
    for (;;) {
        uint64_t value = 0;
        ssize_t n = getrandom(&value, sizeof value, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n != static_cast<ssize_t>(sizeof value))
            throw std::system_error(errno, std::generic_category(), "getrandom");
        if (value != 0) return value;
    }
}

} // namespace rgpu
