// SPDX-License-Identifier: Apache-2.0
// Context creation on the daemon.
#include "handlers.h"

#include <algorithm>

namespace rgpu::daemon {

cl_int handle_create_context(ExecContext& ctx, const wire::CreateContext& req) {
    if (!req.devices() || req.devices()->size() == 0) return ctx.fail("context without devices");
    std::vector<cl_device_id> devices;
    std::vector<uint32_t> indices;
    cl_platform_id platform = nullptr;
    for (uint32_t index : *req.devices()) {
        const LocalDevice* found = ctx.session.device(index);
        if (!found) return ctx.fail("unknown device index " + std::to_string(index));
        const LocalDevice& d = *found;
        if (platform && platform != d.platform) return CL_INVALID_DEVICE;
        platform = d.platform;
        for (cl_device_id native : ctx.session.native_devices(index))
            if (std::find(devices.begin(), devices.end(), native) == devices.end())
                devices.push_back(native);
        indices.push_back(index);
    }
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     reinterpret_cast<cl_context_properties>(platform), 0};
    cl_int err = CL_SUCCESS;
    cl_context context = clCreateContext(props, static_cast<cl_uint>(devices.size()),
                                         devices.data(), nullptr, nullptr, &err);
    if (err != CL_SUCCESS) return err;
    ContextObject object{ContextRef(context), std::move(indices), {}};
    if (!ctx.session.objects.insert(req.id(), std::move(object)))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

} // namespace rgpu::daemon
