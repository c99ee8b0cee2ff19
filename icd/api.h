// SPDX-License-Identifier: Apache-2.0
// Helpers every entry point uses: the exception guard at the C ABI, argument checks, info copies.
#pragma once

#include "lifetime.h"
#include "log.h"
#include "objects.h"

#include <cstring>
#include <new>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace rgpu::icd {

/// Exceptions stop here: a C caller gets a cl_int, never an unwinding stack.
template <class F> cl_int guard(F&& f) noexcept {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return CL_OUT_OF_HOST_MEMORY;
    } catch (const zmq::error_t& e) {
        log()->error("transport failure: {}", e.what());
        return CL_OUT_OF_RESOURCES;
    } catch (const std::exception& e) {
        log()->error("internal error: {}", e.what());
        return CL_OUT_OF_RESOURCES;
    }
}

/// The guard for entry points that return an object and report through errcode_ret.
template <class T, class F> T guard_create(cl_int* errcode_ret, F&& f) noexcept {
    cl_int err = CL_SUCCESS;
    T result = nullptr;
    err = guard([&] {
        result = f(err);
        return err;
    });
    if (err != CL_SUCCESS) result = nullptr;
    if (errcode_ret) *errcode_ret = err;
    return result;
}

/// The clGet*Info contract: size check, copy, size report.
inline cl_int copy_info(const void* data, size_t size, size_t value_size, void* value,
                        size_t* size_ret) {
    if (value) {
        if (value_size < size) return CL_INVALID_VALUE;
        if (size) std::memcpy(value, data, size);
    }
    if (size_ret) *size_ret = size;
    return CL_SUCCESS;
}
template <class T> cl_int info_value(const T& v, size_t value_size, void* value, size_t* size_ret) {
    return copy_info(&v, sizeof v, value_size, value, size_ret);
}
inline cl_int info_string(const std::string& s, size_t value_size, void* value, size_t* size_ret) {
    return copy_info(s.c_str(), s.size() + 1, value_size, value, size_ret);
}
template <class T>
cl_int info_vector(const std::vector<T>& v, size_t value_size, void* value, size_t* size_ret) {
    return copy_info(v.data(), v.size() * sizeof(T), value_size, value, size_ret);
}

} // namespace rgpu::icd
