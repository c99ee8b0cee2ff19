// SPDX-License-Identifier: Apache-2.0
// Sub-devices: partitions of a served device, made for the session (clCreateSubDevices).
#include "handlers.h"

#include "../../devices.h"

namespace rgpu::daemon {

cl_int make_sub_devices(Session& session, uint32_t parent_index,
                        const std::vector<cl_device_partition_property>& properties, cl_uint count,
                        std::vector<uint32_t>* made) {
    const LocalDevice* parent = session.device(parent_index);
    if (!parent || parent->pooled()) return CL_INVALID_DEVICE;
    if (count > proto::kMaxSubDevices - session.sub_devices.size()) return CL_OUT_OF_RESOURCES;
    // Copied before the list grows: the parent may be a sub-device itself.
    const cl_device_id parent_device = parent->device;
    const cl_platform_id platform = parent->platform;
    const std::string name = parent->name, platform_name = parent->platform_name;
    std::vector<cl_device_id> out(count);
    cl_uint got = 0;
    cl_int err = clCreateSubDevices(parent_device, properties.data(), count, out.data(), &got);
    if (err != CL_SUCCESS) return err;
    for (cl_uint i = 0; i < got && i < count; ++i) {
        Session::SubDevice sub;
        sub.device.index =
            proto::kSubDeviceBase + static_cast<uint32_t>(session.sub_devices.size());
        sub.device.platform = platform;
        sub.device.device = out[i];
        sub.device.name = name;
        sub.device.platform_name = platform_name;
        sub.device.info = snapshot_info(out[i]);
        sub.parent = parent_index;
        sub.properties.assign(properties.begin(), properties.end());
        sub.position = i;
        if (made) made->push_back(sub.device.index);
        session.sub_devices.push_back(std::move(sub));
    }
    return CL_SUCCESS;
}

cl_int handle_create_sub_devices(ExecContext& ctx, const wire::CreateSubDevices& req) {
    Session& session = ctx.session;
    const LocalDevice* parent = session.device(req.parent());
    if (!parent) return ctx.fail("unknown device index " + std::to_string(req.parent()));
    // A pool is one device to its clients but many natively: it reports no partition types.
    if (parent->pooled()) return CL_INVALID_VALUE;
    const auto* list = req.properties();
    if (!list || list->size() == 0 || list->Get(list->size() - 1) != 0) return CL_INVALID_VALUE;
    std::vector<cl_device_partition_property> properties(list->begin(), list->end());
    cl_uint count = 0;
    cl_int err = clCreateSubDevices(parent->device, properties.data(), 0, nullptr, &count);
    if (err != CL_SUCCESS) return err;
    std::vector<uint32_t> made;
    if (req.create()) {
        if (req.num_entries() < count) return CL_INVALID_VALUE;
        if (count > proto::kMaxSubDevices - session.sub_devices.size()) {
            ctx.error_message = "the session holds its maximum of " +
                                std::to_string(proto::kMaxSubDevices) + " sub-devices";
            return CL_OUT_OF_RESOURCES;
        }
        if ((err = make_sub_devices(session, req.parent(), properties, count, &made)) != CL_SUCCESS)
            return err;
    }
    ctx.reply(
        CL_SUCCESS, wire::ReplyBody::SubDevicesCreated, [&](flatbuffers::FlatBufferBuilder& fbb) {
            std::vector<flatbuffers::Offset<wire::DeviceDesc>> devices;
            for (uint32_t index : made) {
                std::vector<flatbuffers::Offset<wire::InfoValue>> info;
                for (const auto& [param, value] : session.device(index)->info)
                    info.push_back(wire::CreateInfoValue(fbb, param, fbb.CreateVector(value)));
                devices.push_back(wire::CreateDeviceDesc(fbb, index, fbb.CreateVector(info)));
            }
            return wire::CreateSubDevicesCreated(fbb, count, fbb.CreateVector(devices));
        });
    return CL_SUCCESS;
}

} // namespace rgpu::daemon
