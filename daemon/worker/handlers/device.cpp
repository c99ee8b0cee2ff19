// SPDX-License-Identifier: Apache-2.0
// Sub-devices: partitions of a served device, made for the session (clCreateSubDevices).
#include "handlers.h"

#include "../../devices.h"

namespace rgpu::daemon {

namespace {

/// Whether `p` is one partition as the specification lays it out, with values a runtime can
/// take without being trusted to check them: the runtime sees nothing else (a client's list
/// of anything could otherwise reach assertions in it). The code to answer otherwise is set.
bool partition_well_formed(const std::vector<cl_device_partition_property>& p, cl_device_id device,
                           cl_int* code) {
    *code = CL_INVALID_VALUE;
    if (p.size() < 3 || p.back() != 0) return false;
    cl_uint units = 0, most = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, nullptr);
    clGetDeviceInfo(device, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof most, &most, nullptr);
    switch (p[0]) {
    case CL_DEVICE_PARTITION_EQUALLY:
        return p.size() == 3 && p[1] > 0;
    case CL_DEVICE_PARTITION_BY_AFFINITY_DOMAIN:
        return p.size() == 3 && p[1] > 0 && (p[1] & (p[1] - 1)) == 0 &&
               p[1] <= CL_DEVICE_AFFINITY_DOMAIN_NEXT_PARTITIONABLE;
    case CL_DEVICE_PARTITION_BY_COUNTS: {
        // [type, count..., LIST_END, 0]
        if (p.size() < 4 || p[p.size() - 2] != CL_DEVICE_PARTITION_BY_COUNTS_LIST_END) return false;
        const size_t counts = p.size() - 3;
        uint64_t total = 0;
        for (size_t i = 1; i <= counts; ++i) {
            if (p[i] < 0) return *code = CL_INVALID_DEVICE_PARTITION_COUNT, false;
            total += static_cast<uint64_t>(p[i]);
        }
        if (counts == 0) return false;
        if (counts > most || total > units) return *code = CL_INVALID_DEVICE_PARTITION_COUNT, false;
        return true;
    }
    default:
        return false;
    }
}

} // namespace

cl_int make_sub_devices(Session& session, uint32_t parent_index,
                        const std::vector<cl_device_partition_property>& properties, cl_uint count,
                        std::vector<uint32_t>* made) {
    const LocalDevice* parent = session.device(parent_index);
    if (!parent || parent->pooled()) return CL_INVALID_DEVICE;
    if (count > proto::kMaxSubDevices - session.sub_devices.size()) return CL_OUT_OF_RESOURCES;
    if (cl_int code; !partition_well_formed(properties, parent->device, &code)) return code;
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
    if (cl_int code; !partition_well_formed(properties, parent->device, &code)) return code;
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
