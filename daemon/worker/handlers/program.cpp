// SPDX-License-Identifier: Apache-2.0
// Programs: creation from source or binary, and builds whose reply carries what the client
// needs to answer build info and validate kernels locally.
#include "handlers.h"

#include <string>

namespace rgpu::daemon {
namespace {

template <class Getter> std::string get_string(Getter&& getter) {
    size_t size = 0;
    if (getter(0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
    std::string out(size, '\0');
    if (getter(size, out.data(), nullptr) != CL_SUCCESS) return {};
    while (!out.empty() && out.back() == '\0')
        out.pop_back();
    return out;
}

flatbuffers::Offset<wire::KernelDesc> describe_kernel(flatbuffers::FlatBufferBuilder& fbb,
                                                      cl_kernel kernel, cl_device_id device) {
    std::string name = get_string([&](size_t n, void* v, size_t* r) {
        return clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, n, v, r);
    });
    std::string attributes = get_string([&](size_t n, void* v, size_t* r) {
        return clGetKernelInfo(kernel, CL_KERNEL_ATTRIBUTES, n, v, r);
    });
    cl_uint num_args = 0;
    clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof num_args, &num_args, nullptr);
    std::vector<flatbuffers::Offset<wire::KernelArgDesc>> args;
    for (cl_uint i = 0; i < num_args; ++i) {
        cl_kernel_arg_address_qualifier address = 0;
        cl_kernel_arg_access_qualifier access = 0;
        cl_kernel_arg_type_qualifier type_qualifier = 0;
        // Arg info may be unavailable (no -cl-kernel-arg-info on some platforms): zeros mean
        // "unknown" to the client, which then skips the checks that need them.
        clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof address, &address,
                           nullptr);
        clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_ACCESS_QUALIFIER, sizeof access, &access,
                           nullptr);
        clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof type_qualifier,
                           &type_qualifier, nullptr);
        auto type = fbb.CreateString(get_string([&](size_t n, void* v, size_t* r) {
            return clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_TYPE_NAME, n, v, r);
        }));
        auto arg_name = fbb.CreateString(get_string([&](size_t n, void* v, size_t* r) {
            return clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_NAME, n, v, r);
        }));
        args.push_back(
            wire::CreateKernelArgDesc(fbb, address, access, type_qualifier, type, arg_name));
    }
    // Launch limits the client checks synchronously, as a native clEnqueueNDRangeKernel would.
    size_t group = 0;
    size_t compile[3] = {0, 0, 0};
    clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_WORK_GROUP_SIZE, sizeof group, &group,
                             nullptr);
    clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof compile,
                             compile, nullptr);
    const uint64_t compile64[3] = {compile[0], compile[1], compile[2]};
    return wire::CreateKernelDesc(fbb, fbb.CreateString(name), fbb.CreateVector(args),
                                  fbb.CreateString(attributes), group,
                                  fbb.CreateVector(compile64, 3));
}

} // namespace

namespace {
/// A source of up to 16 bulk frames (1 GiB at the default frame limit).
constexpr uint32_t kMaxSourceFrames = proto::kMaxSourceFrames;
} // namespace

cl_int handle_create_program_with_source(ExecContext& ctx,
                                         const wire::CreateProgramWithSource& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    std::string large;
    const char* text = nullptr;
    size_t length = 0;
    if (req.source_frames() > 0) {
        if (req.source_frames() > kMaxSourceFrames)
            return ctx.fail("program source in more than " + std::to_string(kMaxSourceFrames) +
                            " frames");
        size_t total = 0;
        for (uint32_t i = 0; i < req.source_frames(); ++i) {
            uint64_t index = uint64_t(req.source_frame()) + i;
            if (req.source_frame() == 0 || index >= ctx.frames.size())
                return ctx.fail("program source frame missing");
            total += ctx.frames[index].size();
        }
        large.reserve(total);
        for (uint32_t i = 0; i < req.source_frames(); ++i) {
            const auto& frame = ctx.frames[req.source_frame() + i];
            large.append(static_cast<const char*>(frame.data()), frame.size());
        }
        text = large.c_str();
        length = large.size();
    } else {
        if (!req.source()) return CL_INVALID_VALUE;
        text = req.source()->c_str();
        length = req.source()->size();
    }
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(context->context.get(), 1, &text, &length, &err);
    if (err != CL_SUCCESS) return err;
    if (!ctx.session.objects.insert(req.id(),
                                    ProgramObject{ProgramRef(program), req.context(), {}}))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

cl_int handle_create_program_with_binary(ExecContext& ctx,
                                         const wire::CreateProgramWithBinary& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    if (!req.devices() || !req.binaries() || req.devices()->size() != req.binaries()->size() ||
        req.devices()->size() == 0)
        return CL_INVALID_VALUE;
    std::vector<cl_device_id> devices;
    std::vector<const unsigned char*> binaries;
    std::vector<size_t> lengths;
    for (flatbuffers::uoffset_t i = 0; i < req.devices()->size(); ++i) {
        uint32_t index = req.devices()->Get(i);
        if (!ctx.session.device(index)) return CL_INVALID_DEVICE;
        auto* blob = req.binaries()->Get(i)->bytes();
        if (!blob || blob->size() == 0) return CL_INVALID_VALUE;
        // A pool's members are alike: each gets the client's binary.
        for (cl_device_id native : ctx.session.native_devices(index)) {
            devices.push_back(native);
            binaries.push_back(blob->data());
            lengths.push_back(blob->size());
        }
    }
    std::vector<cl_int> status(devices.size());
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(
        context->context.get(), static_cast<cl_uint>(devices.size()), devices.data(),
        lengths.data(), binaries.data(), status.data(), &err);
    if (err != CL_SUCCESS) return err;
    ProgramObject object{ProgramRef(program), req.context(), {}};
    // Only link input needs the copy: POCL reports the binaries of an executable.
    cl_program_binary_type type = CL_PROGRAM_BINARY_TYPE_NONE;
    clGetProgramBuildInfo(program, devices.front(), CL_PROGRAM_BINARY_TYPE, sizeof type, &type,
                          nullptr);
    bool link_input =
        type == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT || type == CL_PROGRAM_BINARY_TYPE_LIBRARY;
    for (flatbuffers::uoffset_t i = 0; link_input && i < req.devices()->size(); ++i) {
        const auto* blob = req.binaries()->Get(i)->bytes();
        object.created_from.emplace_back(req.devices()->Get(i),
                                         std::vector<unsigned char>(blob->begin(), blob->end()));
    }
    if (!ctx.session.objects.insert(req.id(), std::move(object)))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

namespace {

/// The served devices `requested` names (empty: every device of the context), and the native
/// devices behind them (a pool's members all build). False on an unknown index.
bool build_devices(ExecContext& ctx, const flatbuffers::Vector<uint32_t>* requested,
                   const ContextObject& context, std::vector<uint32_t>& indices,
                   std::vector<cl_device_id>& devices) {
    if (requested && requested->size() > 0)
        indices.assign(requested->begin(), requested->end());
    else
        indices = context.devices;
    for (uint32_t index : indices) {
        if (!ctx.session.device(index)) return false;
        for (cl_device_id native : ctx.session.native_devices(index))
            devices.push_back(native);
    }
    return true;
}

/// The program a build or compile names, and its devices (as build_devices gives them).
cl_int build_target(ExecContext& ctx, uint64_t id, const flatbuffers::Vector<uint32_t>* requested,
                    ProgramObject*& program, std::vector<uint32_t>& indices,
                    std::vector<cl_device_id>& devices) {
    program = ctx.session.objects.find<ProgramObject>(id);
    if (!program) return ctx.fail("unknown program " + std::to_string(id));
    auto* context = ctx.session.objects.find<ContextObject>(program->context);
    if (!context) return ctx.fail("program's context is gone");
    if (!build_devices(ctx, requested, *context, indices, devices)) return CL_INVALID_DEVICE;
    return CL_SUCCESS;
}

/// Argument info lets both sides check kernel arguments; the client reports its own options.
std::string with_arg_info(const flatbuffers::String* options) {
    std::string out = options ? options->str() : "";
    if (out.find("-cl-kernel-arg-info") == std::string::npos) out += " -cl-kernel-arg-info";
    return out;
}

/// Replies to a build, compile or link of `native` (null: a link that made no program) with
/// each served device's result and, when `status` is success and the program is executable,
/// its kernels.
void reply_build(ExecContext& ctx, cl_int status, cl_program native,
                 const std::vector<uint32_t>& indices, const std::vector<cl_device_id>& devices,
                 bool with_kernels, bool created) {
    ctx.reply(status, wire::ReplyBody::BuildReply, [&](flatbuffers::FlatBufferBuilder& fbb) {
        std::vector<flatbuffers::Offset<wire::DeviceBuild>> builds;
        for (size_t i = 0; native && i < indices.size(); ++i) {
            // A pool reports the member whose build failed, else its first member.
            cl_device_id device = nullptr;
            cl_build_status build_status = CL_BUILD_NONE;
            for (cl_device_id member : ctx.session.native_devices(indices[i])) {
                cl_build_status member_status = CL_BUILD_NONE;
                clGetProgramBuildInfo(native, member, CL_PROGRAM_BUILD_STATUS, sizeof member_status,
                                      &member_status, nullptr);
                if (!device ||
                    (build_status == CL_BUILD_SUCCESS && member_status != build_status)) {
                    device = member;
                    build_status = member_status;
                }
            }
            cl_program_binary_type binary_type = CL_PROGRAM_BINARY_TYPE_NONE;
            clGetProgramBuildInfo(native, device, CL_PROGRAM_BINARY_TYPE, sizeof binary_type,
                                  &binary_type, nullptr);
            auto log = get_string([&](size_t n, void* v, size_t* r) {
                return clGetProgramBuildInfo(native, device, CL_PROGRAM_BUILD_LOG, n, v, r);
            });
            auto opts = get_string([&](size_t n, void* v, size_t* r) {
                return clGetProgramBuildInfo(native, device, CL_PROGRAM_BUILD_OPTIONS, n, v, r);
            });
            builds.push_back(wire::CreateDeviceBuild(fbb, indices[i], build_status,
                                                     fbb.CreateString(log), fbb.CreateString(opts),
                                                     binary_type));
        }
        std::vector<flatbuffers::Offset<wire::KernelDesc>> kernels;
        if (status == CL_SUCCESS && with_kernels && native && !devices.empty()) {
            cl_uint count = 0;
            if (clCreateKernelsInProgram(native, 0, nullptr, &count) == CL_SUCCESS && count) {
                std::vector<cl_kernel> all(count);
                clCreateKernelsInProgram(native, count, all.data(), nullptr);
                for (cl_kernel k : all) {
                    kernels.push_back(describe_kernel(fbb, k, devices.front()));
                    clReleaseKernel(k);
                }
            }
        }
        return wire::CreateBuildReply(fbb, fbb.CreateVector(builds), fbb.CreateVector(kernels),
                                      created);
    });
}

} // namespace

cl_int handle_build_program(ExecContext& ctx, const wire::BuildProgram& req) {
    ProgramObject* program = nullptr;
    std::vector<uint32_t> indices;
    std::vector<cl_device_id> devices;
    if (cl_int err = build_target(ctx, req.program(), req.devices(), program, indices, devices);
        err != CL_SUCCESS)
        return err;
    std::string options = with_arg_info(req.options());
    // Blocks this session's executor only: other clients keep running.
    cl_int status = clBuildProgram(program->program.get(), static_cast<cl_uint>(devices.size()),
                                   devices.data(), options.c_str(), nullptr, nullptr);
    reply_build(ctx, status, program->program.get(), indices, devices, true, true);
    return status;
}

cl_int handle_compile_program(ExecContext& ctx, const wire::CompileProgram& req) {
    ProgramObject* program = nullptr;
    std::vector<uint32_t> indices;
    std::vector<cl_device_id> devices;
    if (cl_int err = build_target(ctx, req.program(), req.devices(), program, indices, devices);
        err != CL_SUCCESS)
        return err;
    size_t count = req.headers() ? req.headers()->size() : 0;
    if (count != (req.header_names() ? req.header_names()->size() : 0)) return CL_INVALID_VALUE;
    std::vector<cl_program> headers;
    std::vector<const char*> names;
    for (size_t i = 0; i < count; ++i) {
        auto* header = ctx.session.objects.find<ProgramObject>(req.headers()->Get(i));
        if (!header) return CL_INVALID_PROGRAM;
        headers.push_back(header->program.get());
        names.push_back(req.header_names()->Get(i)->c_str());
    }
    std::string options = with_arg_info(req.options());
    cl_int status = clCompileProgram(program->program.get(), static_cast<cl_uint>(devices.size()),
                                     devices.data(), options.c_str(), static_cast<cl_uint>(count),
                                     count ? headers.data() : nullptr,
                                     count ? names.data() : nullptr, nullptr, nullptr);
    reply_build(ctx, status, program->program.get(), indices, devices, false, true);
    return status;
}

cl_int handle_link_program(ExecContext& ctx, const wire::LinkProgram& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    std::vector<uint32_t> indices;
    std::vector<cl_device_id> devices;
    if (!build_devices(ctx, req.devices(), *context, indices, devices)) return CL_INVALID_DEVICE;
    std::vector<cl_program> inputs;
    if (req.inputs())
        for (uint64_t id : *req.inputs()) {
            auto* input = ctx.session.objects.find<ProgramObject>(id);
            if (!input) return CL_INVALID_PROGRAM;
            inputs.push_back(input->program.get());
        }
    if (inputs.empty()) return CL_INVALID_VALUE;
    std::string options = with_arg_info(req.options());
    cl_int status = CL_SUCCESS;
    cl_program linked =
        clLinkProgram(context->context.get(), static_cast<cl_uint>(devices.size()), devices.data(),
                      options.c_str(), static_cast<cl_uint>(inputs.size()), inputs.data(), nullptr,
                      nullptr, &status);
    bool created = false;
    if (linked) {
        if (!ctx.session.objects.insert(req.id(),
                                        ProgramObject{ProgramRef(linked), req.context(), {}}))
            return ctx.insert_refused(req.id());
        created = true;
    }
    // An executable is what -create-library does not make.
    cl_program_binary_type type = CL_PROGRAM_BINARY_TYPE_NONE;
    if (linked && !devices.empty())
        clGetProgramBuildInfo(linked, devices.front(), CL_PROGRAM_BINARY_TYPE, sizeof type, &type,
                              nullptr);
    reply_build(ctx, status, linked, indices, devices, type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE,
                created);
    return status;
}

} // namespace rgpu::daemon
