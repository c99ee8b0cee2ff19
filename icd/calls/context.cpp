// SPDX-License-Identifier: Apache-2.0
// Context entry points. Creation is sent without waiting: the id is ours. A context over devices
// of several daemons has a native context on each.
#include "../api.h"
#include "../connection.h"
#include "../entry_points.h"
#include "../log.h"
#include "../runtime.h"
#include "../spanning.h"

namespace rgpu::icd {

std::vector<Device*> devices_of_type(cl_device_type type); // device.cpp

namespace {

cl_int check_properties(const cl_context_properties* properties,
                        std::vector<cl_context_properties>& copy) {
    if (!properties) return CL_SUCCESS;
    bool platform_seen = false;
    for (const cl_context_properties* p = properties; *p; p += 2) {
        switch (p[0]) {
        case CL_CONTEXT_PLATFORM:
            if (platform_seen) return CL_INVALID_PROPERTY;
            platform_seen = true;
            if (!checked<Platform>(reinterpret_cast<cl_platform_id>(p[1])))
                return CL_INVALID_PLATFORM;
            break;
        case CL_CONTEXT_INTEROP_USER_SYNC:
            break;
        default:
            return CL_INVALID_PROPERTY;
        }
        copy.push_back(p[0]);
        copy.push_back(p[1]);
    }
    copy.push_back(0);
    return CL_SUCCESS;
}

Context* make_context(std::vector<Device*> devices, std::vector<cl_context_properties> properties) {
    auto* context = new Context();
    context->id = Connection::new_id();
    context->devices = std::move(devices);
    context->properties = std::move(properties);
    for (Device* d : context->devices)
        if (context->part_of(d->connection) == context->parts.size())
            context->parts.push_back(d->connection);
    context->connection = context->parts.front();
    // Where a buffer's newest contents are is a 64-bit mask of parts (spanning.h).
    if (context->parts.size() > kMaxParts) {
        log()->error("a context spans {} daemons; at most {} are supported", context->parts.size(),
                     kMaxParts);
        context->magic = Magic::Dead;
        delete context;
        return nullptr;
    }
    // One native context per daemon, over that daemon's devices, under the same id.
    for (Connection* conn : context->parts) {
        std::vector<uint32_t> indices;
        for (Device* d : context->devices)
            if (d->connection == conn) indices.push_back(d->index);
        conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateCreateContext(fbb, context->id, fbb.CreateVector(indices)));
        });
    }
    return context;
}

} // namespace

cl_context CL_API_CALL rgpu_clCreateContext(const cl_context_properties* properties,
                                            cl_uint num_devices, const cl_device_id* devices,
                                            void(CL_CALLBACK* pfn_notify)(const char*, const void*,
                                                                          size_t, void*),
                                            void* user_data, cl_int* errcode_ret) {
    return guard_create<cl_context>(errcode_ret, [&](cl_int& err) -> cl_context {
        if (!devices || num_devices == 0 || (!pfn_notify && user_data)) {
            err = CL_INVALID_VALUE;
            return nullptr;
        }
        std::vector<cl_context_properties> props;
        if ((err = check_properties(properties, props)) != CL_SUCCESS) return nullptr;
        std::vector<Device*> list;
        for (cl_uint i = 0; i < num_devices; ++i) {
            Device* d = checked<Device>(devices[i]);
            if (!d) {
                err = CL_INVALID_DEVICE;
                return nullptr;
            }
            list.push_back(d);
        }
        Context* made = make_context(std::move(list), std::move(props));
        if (!made) err = CL_OUT_OF_RESOURCES;
        return made;
    });
}

cl_context CL_API_CALL
rgpu_clCreateContextFromType(const cl_context_properties* properties, cl_device_type type,
                             void(CL_CALLBACK* pfn_notify)(const char*, const void*, size_t, void*),
                             void* user_data, cl_int* errcode_ret) {
    return guard_create<cl_context>(errcode_ret, [&](cl_int& err) -> cl_context {
        if (!pfn_notify && user_data) {
            err = CL_INVALID_VALUE;
            return nullptr;
        }
        std::vector<cl_context_properties> props;
        if ((err = check_properties(properties, props)) != CL_SUCCESS) return nullptr;
        auto list = devices_of_type(type);
        if (list.empty()) {
            err = CL_DEVICE_NOT_FOUND;
            return nullptr;
        }
        Context* made = make_context(std::move(list), std::move(props));
        if (!made) err = CL_OUT_OF_RESOURCES;
        return made;
    });
}

cl_int CL_API_CALL rgpu_clRetainContext(cl_context context) {
    return retain_handle<Context>(context, CL_INVALID_CONTEXT);
}

cl_int CL_API_CALL rgpu_clReleaseContext(cl_context context) {
    return release_handle<Context>(context, CL_INVALID_CONTEXT);
}

void destroy(Context* c) {
    std::vector<std::pair<void(CL_CALLBACK*)(cl_context, void*), void*>> callbacks;
    {
        std::lock_guard lock(c->mutex);
        callbacks.swap(c->destructor_callbacks);
    }
    // Most recently registered first, as the specification orders them.
    for (auto it = callbacks.rbegin(); it != callbacks.rend(); ++it)
        it->first(c, it->second);
    release_transfer_queues(c);
    for (Connection* conn : c->parts)
        conn->post_release(c->id);
    c->magic = Magic::Dead;
    delete c;
}

cl_int CL_API_CALL rgpu_clGetContextInfo(cl_context context, cl_context_info param, size_t size,
                                         void* value, size_t* size_ret) {
    Context* c = checked<Context>(context);
    if (!c) return CL_INVALID_CONTEXT;
    switch (param) {
    case CL_CONTEXT_REFERENCE_COUNT:
        return info_value(c->refs.load(), size, value, size_ret);
    case CL_CONTEXT_NUM_DEVICES:
        return info_value(static_cast<cl_uint>(c->devices.size()), size, value, size_ret);
    case CL_CONTEXT_DEVICES: {
        std::vector<cl_device_id> ids(c->devices.begin(), c->devices.end());
        return info_vector(ids, size, value, size_ret);
    }
    case CL_CONTEXT_PROPERTIES:
        return info_vector(c->properties, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clSetContextDestructorCallback(cl_context context,
                                                       void(CL_CALLBACK* pfn)(cl_context, void*),
                                                       void* user_data) {
    Context* c = checked<Context>(context);
    if (!c) return CL_INVALID_CONTEXT;
    if (!pfn) return CL_INVALID_VALUE;
    std::lock_guard lock(c->mutex);
    c->destructor_callbacks.emplace_back(pfn, user_data);
    return CL_SUCCESS;
}

} // namespace rgpu::icd
