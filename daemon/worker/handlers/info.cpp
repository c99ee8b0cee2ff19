// SPDX-License-Identifier: Apache-2.0
// clGet*Info queries the client cannot answer from its caches.
#include "handlers.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace rgpu::daemon {
namespace {

template <class Getter> cl_int query(Getter&& get, std::vector<uint8_t>& out) {
    size_t size = 0;
    cl_int err = get(0, nullptr, &size);
    if (err != CL_SUCCESS) return err;
    out.resize(size);
    return size ? get(size, out.data(), nullptr) : CL_SUCCESS;
}

/// Parameters whose value holds native handles or host pointers of this process: answering
/// them would hand a client the worker's addresses (the ICD answers them with its own handles).
bool names_process_memory(wire::InfoKind kind, cl_uint param) {
    switch (kind) {
    case wire::InfoKind::Device:
        return param == CL_DEVICE_PLATFORM || param == CL_DEVICE_PARENT_DEVICE;
    case wire::InfoKind::Context:
        return param == CL_CONTEXT_DEVICES || param == CL_CONTEXT_PROPERTIES;
    case wire::InfoKind::Queue:
        return param == CL_QUEUE_CONTEXT || param == CL_QUEUE_DEVICE ||
               param == CL_QUEUE_DEVICE_DEFAULT;
    case wire::InfoKind::Mem:
        return param == CL_MEM_CONTEXT || param == CL_MEM_ASSOCIATED_MEMOBJECT ||
               param == CL_MEM_HOST_PTR;
    case wire::InfoKind::Program:
        return param == CL_PROGRAM_CONTEXT || param == CL_PROGRAM_DEVICES;
    case wire::InfoKind::Kernel:
        return param == CL_KERNEL_CONTEXT || param == CL_KERNEL_PROGRAM;
    case wire::InfoKind::Event:
        return param == CL_EVENT_COMMAND_QUEUE || param == CL_EVENT_CONTEXT;
    default:
        return false;
    }
}

/// Positions in a program's native device list that the client sees: on a pooled device the
/// members stand for one device, reported by the first.
std::vector<size_t> client_positions(const Session& session, cl_program program) {
    cl_uint count = 0;
    clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof count, &count, nullptr);
    std::vector<cl_device_id> devices(count);
    if (count)
        clGetProgramInfo(program, CL_PROGRAM_DEVICES, count * sizeof(cl_device_id), devices.data(),
                         nullptr);
    std::vector<size_t> positions;
    std::vector<int64_t> seen;
    for (size_t i = 0; i < devices.size(); ++i) {
        int64_t index = session.served_index(devices[i]);
        if (std::find(seen.begin(), seen.end(), index) != seen.end()) continue;
        seen.push_back(index);
        positions.push_back(i);
    }
    return positions;
}

} // namespace

cl_int handle_get_info(ExecContext& ctx, const wire::GetInfo& req) {
    auto& objects = ctx.session.objects;
    cl_uint param = req.param();
    std::vector<uint8_t> value;
    cl_int err = CL_SUCCESS;
    auto device_at = [&](uint64_t index) -> cl_device_id {
        const LocalDevice* d = ctx.session.device(index);
        return d ? d->device : nullptr;
    };
    auto fail_unknown = [&] { return ctx.fail("GetInfo names an unknown object"); };
    if (names_process_memory(req.kind(), param))
        return ctx.fail("GetInfo parameter " + std::to_string(param) +
                        " holds daemon handles; the client answers it");

    switch (req.kind()) {
    case wire::InfoKind::Device: {
        cl_device_id d = device_at(req.id());
        if (!d) return fail_unknown();
        err =
            query([&](size_t n, void* v, size_t* r) { return clGetDeviceInfo(d, param, n, v, r); },
                  value);
        break;
    }
    case wire::InfoKind::Context: {
        auto* o = objects.find<ContextObject>(req.id());
        if (!o) return fail_unknown();
        err = query([&](size_t n, void* v,
                        size_t* r) { return clGetContextInfo(o->context.get(), param, n, v, r); },
                    value);
        break;
    }
    case wire::InfoKind::Queue: {
        auto* o = objects.find<QueueObject>(req.id());
        if (!o) return fail_unknown();
        err =
            query([&](size_t n, void* v,
                      size_t* r) { return clGetCommandQueueInfo(o->queue.get(), param, n, v, r); },
                  value);
        break;
    }
    case wire::InfoKind::Mem: {
        auto* o = objects.find<MemObject>(req.id());
        if (!o) return fail_unknown();
        err = query([&](size_t n, void* v,
                        size_t* r) { return clGetMemObjectInfo(o->mem.get(), param, n, v, r); },
                    value);
        break;
    }
    case wire::InfoKind::Program: {
        auto* o = objects.find<ProgramObject>(req.id());
        if (!o) return fail_unknown();
        if (param == CL_PROGRAM_BINARIES) {
            // The value is an array of host pointers: gather the binaries themselves instead,
            // concatenated in device order (their sizes come from CL_PROGRAM_BINARY_SIZES).
            std::vector<uint8_t> sizes_raw;
            err = query(
                [&](size_t n, void* v, size_t* r) {
                    return clGetProgramInfo(o->program.get(), CL_PROGRAM_BINARY_SIZES, n, v, r);
                },
                sizes_raw);
            if (err != CL_SUCCESS) break;
            size_t count = sizes_raw.size() / sizeof(size_t);
            std::vector<size_t> sizes(count);
            std::memcpy(sizes.data(), sizes_raw.data(), count * sizeof(size_t));
            std::vector<std::vector<unsigned char>> binaries(count);
            std::vector<unsigned char*> pointers(count);
            for (size_t i = 0; i < count; ++i) {
                binaries[i].resize(sizes[i]);
                pointers[i] = sizes[i] ? binaries[i].data() : nullptr;
            }
            err = clGetProgramInfo(o->program.get(), CL_PROGRAM_BINARIES,
                                   count * sizeof(unsigned char*), pointers.data(), nullptr);
            for (size_t i : client_positions(ctx.session, o->program.get()))
                if (i < binaries.size())
                    value.insert(value.end(), binaries[i].begin(), binaries[i].end());
            break;
        }
        if (param == CL_PROGRAM_BINARY_SIZES && ctx.session.pool) {
            std::vector<uint8_t> all;
            err =
                query([&](size_t n, void* v,
                          size_t* r) { return clGetProgramInfo(o->program.get(), param, n, v, r); },
                      all);
            for (size_t i : client_positions(ctx.session, o->program.get()))
                if ((i + 1) * sizeof(size_t) <= all.size())
                    value.insert(value.end(), all.begin() + i * sizeof(size_t),
                                 all.begin() + (i + 1) * sizeof(size_t));
            break;
        }
        err = query([&](size_t n, void* v,
                        size_t* r) { return clGetProgramInfo(o->program.get(), param, n, v, r); },
                    value);
        break;
    }
    case wire::InfoKind::ProgramBuild: {
        auto* o = objects.find<ProgramObject>(req.id());
        cl_device_id d = device_at(req.extra());
        if (!o || !d) return fail_unknown();
        err = query(
            [&](size_t n, void* v, size_t* r) {
                return clGetProgramBuildInfo(o->program.get(), d, param, n, v, r);
            },
            value);
        break;
    }
    case wire::InfoKind::Kernel: {
        auto* o = objects.find<KernelObject>(req.id());
        if (!o) return fail_unknown();
        err = query([&](size_t n, void* v,
                        size_t* r) { return clGetKernelInfo(o->kernel.get(), param, n, v, r); },
                    value);
        break;
    }
    case wire::InfoKind::KernelWorkGroup: {
        auto* o = objects.find<KernelObject>(req.id());
        cl_device_id d = device_at(req.extra());
        if (!o || !d) return fail_unknown();
        err = query(
            [&](size_t n, void* v, size_t* r) {
                return clGetKernelWorkGroupInfo(o->kernel.get(), d, param, n, v, r);
            },
            value);
        break;
    }
    case wire::InfoKind::KernelArg: {
        auto* o = objects.find<KernelObject>(req.id());
        if (!o) return fail_unknown();
        err = query(
            [&](size_t n, void* v, size_t* r) {
                return clGetKernelArgInfo(o->kernel.get(), req.extra(), param, n, v, r);
            },
            value);
        break;
    }
    case wire::InfoKind::ImageFormats: {
        auto* o = objects.find<ContextObject>(req.id());
        if (!o) return fail_unknown();
        cl_uint count = 0;
        err = clGetSupportedImageFormats(o->context.get(), req.extra(), param, 0, nullptr, &count);
        if (err != CL_SUCCESS) break;
        std::vector<cl_image_format> formats(count);
        if (count)
            err = clGetSupportedImageFormats(o->context.get(), req.extra(), param, count,
                                             formats.data(), nullptr);
        value.resize(count * sizeof(cl_image_format));
        if (count) std::memcpy(value.data(), formats.data(), value.size());
        break;
    }
    case wire::InfoKind::Event:
    case wire::InfoKind::EventProfiling: {
        auto* o = objects.find<EventObject>(req.id());
        if (!o) return fail_unknown();
        bool profiling = req.kind() == wire::InfoKind::EventProfiling;
        cl_event native = o->native();
        if (!native) return CL_INVALID_EVENT; // its command failed on a pool member
        err = query(
            [&](size_t n, void* v, size_t* r) {
                return profiling ? clGetEventProfilingInfo(native, param, n, v, r)
                                 : clGetEventInfo(native, param, n, v, r);
            },
            value);
        break;
    }
    default:
        return ctx.fail("unknown info kind");
    }
    if (err != CL_SUCCESS) return err;
    ctx.reply(CL_SUCCESS, wire::ReplyBody::InfoReply, [&](flatbuffers::FlatBufferBuilder& fbb) {
        return wire::CreateInfoReply(fbb, fbb.CreateVector(value));
    });
    return CL_SUCCESS;
}

} // namespace rgpu::daemon
