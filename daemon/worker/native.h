// SPDX-License-Identifier: Apache-2.0
// Owning wrappers for native OpenCL handles: each releases its handle exactly once.
#pragma once

#include <CL/cl.h>

#include <utility>

namespace rgpu::daemon {

template <class H, cl_int(CL_API_CALL* Release)(H)> class NativeRef {
  public:
    NativeRef() = default;
    explicit NativeRef(H handle) : handle_(handle) {}
    ~NativeRef() { reset(); }
    NativeRef(NativeRef&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    NativeRef& operator=(NativeRef&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    NativeRef(const NativeRef&) = delete;
    NativeRef& operator=(const NativeRef&) = delete;

    H get() const { return handle_; }
    explicit operator bool() const { return handle_ != nullptr; }
    void reset() {
        if (handle_) Release(std::exchange(handle_, nullptr));
    }

  private:
    H handle_ = nullptr;
};

using ContextRef = NativeRef<cl_context, clReleaseContext>;
using QueueRef = NativeRef<cl_command_queue, clReleaseCommandQueue>;
using MemRef = NativeRef<cl_mem, clReleaseMemObject>;
using ProgramRef = NativeRef<cl_program, clReleaseProgram>;
using KernelRef = NativeRef<cl_kernel, clReleaseKernel>;
using EventRef = NativeRef<cl_event, clReleaseEvent>;
using SamplerRef = NativeRef<cl_sampler, clReleaseSampler>;

} // namespace rgpu::daemon
