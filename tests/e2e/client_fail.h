// SPDX-License-Identifier: Apache-2.0
// How rgpu-e2e-client's modes report a failure: a line on stderr and a ClientExit code.
#pragma once

#include "harness.h"

#include <cstdio>
#include <string>

namespace rgpu::e2e {

/// Prints what failed and returns `code`, for `return fail(...)` in a client mode.
inline int fail(int code, const std::string& what) {
    std::fprintf(stderr, "rgpu-e2e-client: %s: %s\n", client_exit_name(code), what.c_str());
    return code;
}

} // namespace rgpu::e2e

/// Returns kClientClError from the client mode when `call` does not return CL_SUCCESS.
#define CLIENT_CHECK(call)                                                                         \
    do {                                                                                           \
        const cl_int status_ = (call);                                                             \
        if (status_ != CL_SUCCESS)                                                                 \
            return ::rgpu::e2e::fail(::rgpu::e2e::kClientClError,                                  \
                                     #call " -> " + ::rgpu::e2e::describe(status_));               \
    } while (0)
