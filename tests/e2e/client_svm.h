// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client's SVM mode (see client_svm.cpp).
#pragma once

#include <CL/cl.h>

namespace rgpu::e2e {

/// Builds a linked list in SVM memory, has a kernel walk it, prints "ready" and calls `wait`
/// (the test tries to move the session and releases it meanwhile); then the list must be as it
/// was, with the same pointer values, and a kernel must walk it again after a change made
/// through a mapping. A rgpu::e2e::ClientExit code.
int svm_session(cl_platform_id platform, void (*wait)());

} // namespace rgpu::e2e
