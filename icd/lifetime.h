// SPDX-License-Identifier: Apache-2.0
// Reference counting for ICD objects: application references (refs) and internal holds.
#pragma once

#include "objects.h"

namespace rgpu::icd {

/// Frees the object and tells the daemon; called once, when its last hold goes.
/// Each is defined beside the calls of its kind.
void destroy(Context* context);
void destroy(Queue* queue);
void destroy(Mem* mem);
void destroy(Program* program);
void destroy(Kernel* kernel);
void destroy(Event* event);
void destroy(Sampler* sampler);

/// An internal hold: a child on its parent, or a completion the connection still waits for.
template <class T> void hold(T* object) {
    object->holds.fetch_add(1, std::memory_order_relaxed);
}
template <class T> void drop(T* object) {
    if (object->holds.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(object);
}
/// clRetain*.
template <class T> void retain(T* object) {
    object->refs.fetch_add(1, std::memory_order_relaxed);
    hold(object);
}
/// clRelease*; returns false when the application has no reference left to release.
template <class T> bool release(T* object) {
    cl_uint refs = object->refs.load();
    do {
        if (refs == 0) return false;
    } while (!object->refs.compare_exchange_weak(refs, refs - 1));
    drop(object);
    return true;
}

/// clRetain* / clRelease* entry points: `invalid` is the kind's CL_INVALID_* code.
template <class T, class H> cl_int retain_handle(H handle, cl_int invalid) {
    T* object = checked<T>(handle);
    if (!object) return invalid;
    retain(object);
    return CL_SUCCESS;
}
template <class T, class H> cl_int release_handle(H handle, cl_int invalid) {
    T* object = checked<T>(handle);
    return object && release(object) ? CL_SUCCESS : invalid;
}

} // namespace rgpu::icd
