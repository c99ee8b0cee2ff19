// SPDX-License-Identifier: Apache-2.0
// Program entry points. Builds wait for the daemon; the reply carries build status, logs and
// kernel signatures, so later build-info queries and kernel checks are answered locally.
#include "../api.h"
#include "../connection.h"
#include "../entry_points.h"
#include "../log.h"

namespace rgpu::icd {

namespace {
/// Sources up to this size ride inside the envelope; larger ones travel as bulk frames.
constexpr size_t kInlineSourceBytes = 1u << 20;
} // namespace
namespace {

Program* new_program(Context* c) {
    auto* p = new Program();
    p->context = c;
    p->id = Connection::new_id();
    hold(c);
    return p;
}

Device* device_by_index(Context* c, const Connection* conn, uint32_t index) {
    for (Device* d : c->devices)
        if (d->connection == conn && d->index == index) return d;
    return nullptr;
}

/// Round trip for the info the client does not keep.
cl_int remote_info(Connection* conn, wire::InfoKind kind, uint64_t id, cl_uint param,
                   uint32_t extra, std::vector<uint8_t>& out) {
    Answer a = conn->call([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateGetInfo(fbb, kind, id, param, extra));
    });
    if (a.status != CL_SUCCESS) return a.status;
    const wire::InfoReply* info = a.reply ? a.reply->body_as_InfoReply() : nullptr;
    if (!info) return CL_OUT_OF_RESOURCES;
    out.clear();
    if (info->value()) out.assign(info->value()->begin(), info->value()->end());
    return CL_SUCCESS;
}

/// CreateProgramWithSource to one daemon.
void send_source(Connection* conn, Program* p) {
    uint64_t id = p->id, context = p->context->id;
    if (p->source.size() <= std::min(kInlineSourceBytes, conn->max_inline_bytes())) {
        conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(
                wire::CreateCreateProgramWithSource(fbb, id, context, fbb.CreateString(p->source)));
        });
        return;
    }
    // A large source travels in bulk frames: inside the envelope it could exceed the daemon's
    // envelope limit, and the connection would drop it.
    std::vector<zmq::message_t> bulk;
    const size_t step = conn->max_bulk_frame_bytes();
    for (size_t at = 0; at < p->source.size(); at += step)
        bulk.emplace_back(p->source.data() + at, std::min(step, p->source.size() - at));
    const auto frames = static_cast<uint32_t>(bulk.size());
    conn->post(
        [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t first_frame) {
            return body(
                wire::CreateCreateProgramWithSource(fbb, id, context, 0, first_frame, frames));
        },
        std::move(bulk));
}

/// The binaries (or their sizes, `param`) of every device of the context, in its device order:
/// each daemon answers for its own devices, in the order its native context has them.
cl_int all_binaries(Program* p, cl_uint param, std::vector<std::vector<uint8_t>>& per_device) {
    Context* c = p->context;
    std::vector<uint8_t> sizes_raw, all;
    std::vector<std::vector<std::vector<uint8_t>>> per_part(c->parts.size());
    for (size_t part = 0; part < c->parts.size(); ++part) {
        cl_int err = remote_info(c->parts[part], wire::InfoKind::Program, p->id,
                                 CL_PROGRAM_BINARY_SIZES, 0, sizes_raw);
        if (err != CL_SUCCESS) return err;
        if (param == CL_PROGRAM_BINARIES) {
            err = remote_info(c->parts[part], wire::InfoKind::Program, p->id, CL_PROGRAM_BINARIES,
                              0, all);
            if (err != CL_SUCCESS) return err;
        }
        size_t at = 0;
        for (size_t i = 0; i < sizes_raw.size() / sizeof(size_t); ++i) {
            size_t n;
            std::memcpy(&n, sizes_raw.data() + i * sizeof(size_t), sizeof n);
            if (param != CL_PROGRAM_BINARIES) {
                per_part[part].emplace_back(sizes_raw.data() + i * sizeof(size_t),
                                            sizes_raw.data() + (i + 1) * sizeof(size_t));
                continue;
            }
            if (at + n > all.size()) return CL_OUT_OF_RESOURCES;
            per_part[part].emplace_back(all.data() + at, all.data() + at + n);
            at += n;
        }
    }
    per_device.clear();
    std::vector<size_t> next(c->parts.size(), 0);
    for (const Device* d : c->devices) {
        size_t part = c->part_of(d->connection);
        if (next[part] >= per_part[part].size()) return CL_OUT_OF_RESOURCES;
        per_device.push_back(std::move(per_part[part][next[part]++]));
    }
    return CL_SUCCESS;
}

} // namespace

cl_int remote_info_value(Connection* conn, wire::InfoKind kind, uint64_t id, cl_uint param,
                         uint32_t extra, size_t size, void* value, size_t* size_ret) {
    std::vector<uint8_t> bytes;
    cl_int err = remote_info(conn, kind, id, param, extra, bytes);
    if (err != CL_SUCCESS) return err;
    return info_vector(bytes, size, value, size_ret);
}

cl_program CL_API_CALL rgpu_clCreateProgramWithSource(cl_context context, cl_uint count,
                                                      const char** strings, const size_t* lengths,
                                                      cl_int* errcode_ret) {
    return guard_create<cl_program>(errcode_ret, [&](cl_int& err) -> cl_program {
        Context* c = checked<Context>(context);
        if (!c) return err = CL_INVALID_CONTEXT, nullptr;
        if (count == 0 || !strings) return err = CL_INVALID_VALUE, nullptr;
        std::string source;
        for (cl_uint i = 0; i < count; ++i) {
            if (!strings[i]) return err = CL_INVALID_VALUE, nullptr;
            if (lengths && lengths[i])
                source.append(strings[i], lengths[i]);
            else
                source.append(strings[i]);
        }
        for (Connection* conn : c->parts)
            if (source.size() > conn->max_source_bytes()) {
                // More than one message may carry: the daemon would refuse it.
                log()->error("clCreateProgramWithSource: a source of {} bytes exceeds the {} "
                             "bytes the daemon accepts",
                             source.size(), conn->max_source_bytes());
                return err = CL_OUT_OF_RESOURCES, nullptr;
            }
        Program* p = new_program(c);
        p->source = std::move(source);
        for (Connection* conn : c->parts)
            send_source(conn, p);
        return p;
    });
}

cl_program CL_API_CALL rgpu_clCreateProgramWithBinary(cl_context context, cl_uint num_devices,
                                                      const cl_device_id* devices,
                                                      const size_t* lengths,
                                                      const unsigned char** binaries,
                                                      cl_int* binary_status, cl_int* errcode_ret) {
    return guard_create<cl_program>(errcode_ret, [&](cl_int& err) -> cl_program {
        Context* c = checked<Context>(context);
        if (!c) return err = CL_INVALID_CONTEXT, nullptr;
        if (num_devices == 0 || !devices || !lengths || !binaries)
            return err = CL_INVALID_VALUE, nullptr;
        std::vector<uint32_t> indices;
        for (cl_uint i = 0; i < num_devices; ++i) {
            Device* d = checked<Device>(devices[i]);
            if (!d || !c->has(d)) return err = CL_INVALID_DEVICE, nullptr;
            if (!binaries[i] || lengths[i] == 0) {
                if (binary_status) binary_status[i] = CL_INVALID_VALUE;
                return err = CL_INVALID_VALUE, nullptr;
            }
            indices.push_back(d->index);
        }
        Program* p = new_program(c);
        p->from_binary = true;
        // Each daemon gets the binaries of its own devices; one with none of the listed devices
        // gets no program, as a device outside the list has none natively.
        std::vector<std::shared_ptr<Call>> asked;
        for (Connection* conn : c->parts) {
            std::vector<uint32_t> part_indices;
            std::vector<cl_uint> listed;
            for (cl_uint i = 0; i < num_devices; ++i)
                if (checked<Device>(devices[i])->connection == conn) {
                    part_indices.push_back(indices[i]);
                    listed.push_back(i);
                }
            if (listed.empty()) continue;
            asked.push_back(conn->ask([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                std::vector<flatbuffers::Offset<wire::Blob>> blobs;
                for (cl_uint i : listed)
                    blobs.push_back(
                        wire::CreateBlob(fbb, fbb.CreateVector(binaries[i], lengths[i])));
                return body(wire::CreateCreateProgramWithBinary(
                    fbb, p->id, c->id, fbb.CreateVector(part_indices), fbb.CreateVector(blobs)));
            }));
        }
        cl_int status = CL_SUCCESS;
        for (auto& call : asked)
            if (cl_int s = Connection::wait(*call).status; s != CL_SUCCESS && status == CL_SUCCESS)
                status = s;
        if (binary_status)
            for (cl_uint i = 0; i < num_devices; ++i)
                binary_status[i] = status == CL_SUCCESS ? CL_SUCCESS : CL_INVALID_BINARY;
        if (status != CL_SUCCESS) {
            // Released wherever it was made; nothing is left to release at destruction.
            for (Connection* conn : c->parts)
                conn->post_release(p->id);
            p->refs = 0;
            p->id = 0;
            drop(p);
            err = status;
            return nullptr;
        }
        return p;
    });
}

cl_int CL_API_CALL rgpu_clRetainProgram(cl_program program) {
    return retain_handle<Program>(program, CL_INVALID_PROGRAM);
}

cl_int CL_API_CALL rgpu_clReleaseProgram(cl_program program) {
    return release_handle<Program>(program, CL_INVALID_PROGRAM);
}

void destroy(Program* p) {
    Context* c = p->context;
    if (p->id != 0)
        for (Connection* conn : c->parts)
            conn->post_release(p->id);
    p->magic = Magic::Dead;
    delete p;
    drop(c);
}

namespace {

/// Whether the device list names a device of daemon `conn` (an empty list names them all).
bool listed_on(const Connection* conn, cl_uint n, const cl_device_id* list) {
    if (n == 0) return true;
    for (cl_uint i = 0; i < n; ++i)
        if (checked<Device>(list[i])->connection == conn) return true;
    return false;
}

/// Sends the command `make(fbb, indices)` gives to every daemon of the context at once (with
/// the served indices of the listed devices there; empty: all of that daemon's) and waits for
/// every answer. A daemon with none of the listed devices builds for all of its own, unrecorded:
/// kernels must exist on every daemon of the context.
template <class Make>
std::vector<Answer> ask_every_part(Context* c, cl_uint n, const cl_device_id* list, Make&& make) {
    std::vector<std::shared_ptr<Call>> asked;
    for (Connection* conn : c->parts) {
        std::vector<uint32_t> indices;
        for (cl_uint i = 0; i < n; ++i)
            if (Device* d = checked<Device>(list[i]); d->connection == conn)
                indices.push_back(d->index);
        asked.push_back(conn->ask(
            [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) { return make(fbb, indices); }));
    }
    std::vector<Answer> answers;
    for (auto& call : asked)
        answers.push_back(Connection::wait(*call));
    return answers;
}

/// Records the answers' per-device results (for the listed devices) and kernels in `p`;
/// returns the first failure, or success. `p->mutex` held.
cl_int record_builds(Program* p, const std::vector<Answer>& answers, cl_uint n,
                     const cl_device_id* list, const char* options) {
    Context* c = p->context;
    cl_int status = CL_SUCCESS;
    for (auto& a : answers)
        if (a.status != CL_SUCCESS && status == CL_SUCCESS) status = a.status;
    p->kernels.clear();
    for (size_t part = 0; part < answers.size(); ++part) {
        const Answer& a = answers[part];
        const wire::BuildReply* reply = a.reply ? a.reply->body_as_BuildReply() : nullptr;
        if (!reply) continue;
        if (reply->builds() && listed_on(c->parts[part], n, list))
            for (const auto* b : *reply->builds()) {
                Device* d = device_by_index(c, c->parts[part], b->device());
                if (!d) continue;
                DeviceBuild& build = p->builds[d];
                build.status = b->status();
                build.log = b->log() ? b->log()->str() : "";
                build.options = options ? options : "";
                build.binary_type = b->binary_type();
            }
        if (reply->kernels() && p->kernels.empty())
            for (const auto* k : *reply->kernels()) {
                KernelDesc desc;
                desc.name = k->name() ? k->name()->str() : "";
                desc.attributes = k->attributes() ? k->attributes()->str() : "";
                desc.work_group_size = k->work_group_size();
                if (k->compile_work_group_size() && k->compile_work_group_size()->size() == 3)
                    for (int i = 0; i < 3; ++i)
                        desc.compile_work_group_size[i] = k->compile_work_group_size()->Get(i);
                if (k->args())
                    for (const auto* arg : *k->args())
                        desc.args.push_back({arg->address_qualifier(), arg->access_qualifier(),
                                             arg->type_qualifier(),
                                             arg->type_name() ? arg->type_name()->str() : "",
                                             arg->name() ? arg->name()->str() : ""});
                p->kernels.push_back(std::move(desc));
            }
    }
    return status;
}

/// The checks clBuildProgram and clCompileProgram share.
cl_int check_build(Program* p, cl_uint n, const cl_device_id* list,
                   void(CL_CALLBACK* pfn_notify)(cl_program, void*), void* user_data) {
    if (!p) return CL_INVALID_PROGRAM;
    if ((n == 0) != (list == nullptr) || (!pfn_notify && user_data)) return CL_INVALID_VALUE;
    for (cl_uint i = 0; i < n; ++i) {
        Device* d = checked<Device>(list[i]);
        if (!d || !p->context->has(d)) return CL_INVALID_DEVICE;
    }
    if (p->live_kernels.load() > 0) return CL_INVALID_OPERATION;
    return CL_SUCCESS;
}

} // namespace

cl_int CL_API_CALL rgpu_clBuildProgram(cl_program program, cl_uint num_devices,
                                       const cl_device_id* device_list, const char* options,
                                       void(CL_CALLBACK* pfn_notify)(cl_program, void*),
                                       void* user_data) {
    return guard([&] {
        Program* p = checked<Program>(program);
        cl_int err = check_build(p, num_devices, device_list, pfn_notify, user_data);
        if (err != CL_SUCCESS) return err;
        auto answers = ask_every_part(
            p->context, num_devices, device_list,
            [&](flatbuffers::FlatBufferBuilder& fbb, const std::vector<uint32_t>& indices) {
                return body(wire::CreateBuildProgram(fbb, p->id, fbb.CreateVector(indices),
                                                     fbb.CreateString(options ? options : "")));
            });
        cl_int status;
        {
            std::lock_guard lock(p->mutex);
            status = record_builds(p, answers, num_devices, device_list, options);
            p->built = status == CL_SUCCESS;
        }
        if (pfn_notify) pfn_notify(p, user_data);
        return status;
    });
}

cl_int CL_API_CALL rgpu_clCompileProgram(cl_program program, cl_uint num_devices,
                                         const cl_device_id* device_list, const char* options,
                                         cl_uint num_input_headers, const cl_program* input_headers,
                                         const char** header_include_names,
                                         void(CL_CALLBACK* pfn_notify)(cl_program, void*),
                                         void* user_data) {
    return guard([&] {
        Program* p = checked<Program>(program);
        cl_int err = check_build(p, num_devices, device_list, pfn_notify, user_data);
        if (err != CL_SUCCESS) return err;
        if ((num_input_headers == 0) != (input_headers == nullptr) ||
            (num_input_headers == 0) != (header_include_names == nullptr))
            return CL_INVALID_VALUE;
        std::vector<uint64_t> headers;
        std::vector<std::string> names;
        for (cl_uint i = 0; i < num_input_headers; ++i) {
            Program* h = checked<Program>(input_headers[i]);
            if (!h || h->context != p->context) return CL_INVALID_PROGRAM;
            if (!header_include_names[i]) return CL_INVALID_VALUE;
            headers.push_back(h->id);
            names.emplace_back(header_include_names[i]);
        }
        auto answers = ask_every_part(
            p->context, num_devices, device_list,
            [&](flatbuffers::FlatBufferBuilder& fbb, const std::vector<uint32_t>& indices) {
                std::vector<flatbuffers::Offset<flatbuffers::String>> name_offsets;
                for (auto& n : names)
                    name_offsets.push_back(fbb.CreateString(n));
                return body(wire::CreateCompileProgram(
                    fbb, p->id, fbb.CreateVector(indices), fbb.CreateString(options ? options : ""),
                    fbb.CreateVector(headers), fbb.CreateVector(name_offsets)));
            });
        cl_int status;
        {
            std::lock_guard lock(p->mutex);
            status = record_builds(p, answers, num_devices, device_list, options);
            p->built = false; // compiled, not yet executable
        }
        if (pfn_notify) pfn_notify(p, user_data);
        return status;
    });
}

cl_program CL_API_CALL rgpu_clLinkProgram(cl_context context, cl_uint num_devices,
                                          const cl_device_id* device_list, const char* options,
                                          cl_uint num_input_programs,
                                          const cl_program* input_programs,
                                          void(CL_CALLBACK* pfn_notify)(cl_program, void*),
                                          void* user_data, cl_int* errcode_ret) {
    // Not guard_create: a failed link that made a program returns it with the failure, so that
    // its log can be read.
    cl_program result = nullptr;
    cl_int err = guard([&]() -> cl_int {
        Context* c = checked<Context>(context);
        if (!c) return CL_INVALID_CONTEXT;
        if ((num_devices == 0) != (device_list == nullptr) || (!pfn_notify && user_data) ||
            num_input_programs == 0 || !input_programs)
            return CL_INVALID_VALUE;
        for (cl_uint i = 0; i < num_devices; ++i) {
            Device* d = checked<Device>(device_list[i]);
            if (!d || !c->has(d)) return CL_INVALID_DEVICE;
        }
        std::vector<uint64_t> inputs;
        for (cl_uint i = 0; i < num_input_programs; ++i) {
            Program* in = checked<Program>(input_programs[i]);
            if (!in || in->context != c) return CL_INVALID_PROGRAM;
            inputs.push_back(in->id);
        }
        Program* p = new_program(c);
        auto answers = ask_every_part(
            c, num_devices, device_list,
            [&](flatbuffers::FlatBufferBuilder& fbb, const std::vector<uint32_t>& indices) {
                return body(wire::CreateLinkProgram(fbb, p->id, c->id, fbb.CreateVector(indices),
                                                    fbb.CreateString(options ? options : ""),
                                                    fbb.CreateVector(inputs)));
            });
        // The program exists where its daemon made one; it is only the application's when every
        // daemon of the context did (a failed link may still make one, holding the log).
        size_t created = 0;
        for (auto& a : answers) {
            const wire::BuildReply* reply = a.reply ? a.reply->body_as_BuildReply() : nullptr;
            if (reply && reply->program_created()) ++created;
        }
        cl_int status;
        {
            std::lock_guard lock(p->mutex);
            status = record_builds(p, answers, num_devices, device_list, options);
            bool executable = false;
            for (auto& [device, build] : p->builds)
                executable |= build.binary_type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE;
            p->built = status == CL_SUCCESS && executable;
        }
        if (created < answers.size()) {
            for (size_t part = 0; part < answers.size(); ++part) {
                const wire::BuildReply* reply =
                    answers[part].reply ? answers[part].reply->body_as_BuildReply() : nullptr;
                if (reply && reply->program_created()) c->parts[part]->post_release(p->id);
            }
            p->refs = 0;
            p->id = 0; // nothing left to release on the daemons
            drop(p);
            return status != CL_SUCCESS ? status : CL_OUT_OF_RESOURCES;
        }
        if (pfn_notify) pfn_notify(p, user_data);
        result = p;
        return status;
    });
    if (errcode_ret) *errcode_ret = err;
    return result;
}

cl_int CL_API_CALL rgpu_clGetProgramInfo(cl_program program, cl_program_info param, size_t size,
                                         void* value, size_t* size_ret) {
    return guard([&] {
        Program* p = checked<Program>(program);
        if (!p) return CL_INVALID_PROGRAM;
        Context* c = p->context;
        switch (param) {
        case CL_PROGRAM_REFERENCE_COUNT:
            return info_value(p->refs.load(), size, value, size_ret);
        case CL_PROGRAM_CONTEXT:
            return info_value(static_cast<cl_context>(c), size, value, size_ret);
        case CL_PROGRAM_NUM_DEVICES:
            return info_value(static_cast<cl_uint>(c->devices.size()), size, value, size_ret);
        case CL_PROGRAM_DEVICES: {
            std::vector<cl_device_id> ids(c->devices.begin(), c->devices.end());
            return info_vector(ids, size, value, size_ret);
        }
        case CL_PROGRAM_SOURCE:
            if (p->from_binary) return copy_info("", 1, size, value, size_ret);
            return info_string(p->source, size, value, size_ret);
        case CL_PROGRAM_IL:
            return copy_info(nullptr, 0, size, value, size_ret);
        case CL_PROGRAM_NUM_KERNELS:
        case CL_PROGRAM_KERNEL_NAMES: {
            std::lock_guard lock(p->mutex);
            if (!p->built) return CL_INVALID_PROGRAM_EXECUTABLE;
            if (param == CL_PROGRAM_NUM_KERNELS)
                return info_value(p->kernels.size(), size, value, size_ret);
            std::string names;
            for (auto& k : p->kernels)
                names += (names.empty() ? "" : ";") + k.name;
            return info_string(names, size, value, size_ret);
        }
        case CL_PROGRAM_BINARY_SIZES:
        case CL_PROGRAM_BINARIES: {
            // BINARIES is an array of pointers to the application's buffers, one per device.
            std::vector<std::vector<uint8_t>> per_device;
            if (param == CL_PROGRAM_BINARY_SIZES || !value ||
                size >= c->devices.size() * sizeof(unsigned char*)) {
                cl_int err = all_binaries(p, param, per_device);
                if (err != CL_SUCCESS) return err;
            }
            if (param == CL_PROGRAM_BINARY_SIZES) {
                std::vector<uint8_t> sizes;
                for (auto& s : per_device)
                    sizes.insert(sizes.end(), s.begin(), s.end());
                return info_vector(sizes, size, value, size_ret);
            }
            size_t count = c->devices.size();
            if (size_ret) *size_ret = count * sizeof(unsigned char*);
            if (!value) return CL_SUCCESS;
            if (size < count * sizeof(unsigned char*)) return CL_INVALID_VALUE;
            auto** out = static_cast<unsigned char**>(value);
            for (size_t i = 0; i < count; ++i)
                if (out[i] && !per_device[i].empty())
                    std::memcpy(out[i], per_device[i].data(), per_device[i].size());
            return CL_SUCCESS;
        }
        default:
            return remote_info_value(c->connection, wire::InfoKind::Program, p->id, param, 0, size,
                                     value, size_ret);
        }
    });
}

cl_int CL_API_CALL rgpu_clGetProgramBuildInfo(cl_program program, cl_device_id device,
                                              cl_program_build_info param, size_t size, void* value,
                                              size_t* size_ret) {
    return guard([&] {
        Program* p = checked<Program>(program);
        if (!p) return CL_INVALID_PROGRAM;
        Device* d = checked<Device>(device);
        if (!d || !p->context->has(d)) return CL_INVALID_DEVICE;
        DeviceBuild build;
        bool recorded = false;
        {
            std::lock_guard lock(p->mutex);
            // A sub-device shares what was built for the device it was partitioned from, as
            // natively (the conformance suite builds for a parent and runs on its sub-devices).
            for (const Device* x = d; x && !recorded; x = x->parent)
                if (auto it = p->builds.find(x); it != p->builds.end()) {
                    build = it->second;
                    recorded = true;
                }
        }
        // A program made from binaries has a type before any build: its daemon knows it.
        if (param == CL_PROGRAM_BINARY_TYPE && !recorded && p->from_binary)
            return remote_info_value(d->connection, wire::InfoKind::ProgramBuild, p->id, param,
                                     d->index, size, value, size_ret);
        switch (param) {
        case CL_PROGRAM_BUILD_STATUS:
            return info_value(build.status, size, value, size_ret);
        case CL_PROGRAM_BUILD_OPTIONS:
            return info_string(build.options, size, value, size_ret);
        case CL_PROGRAM_BUILD_LOG:
            return info_string(build.log, size, value, size_ret);
        case CL_PROGRAM_BINARY_TYPE:
            return info_value(build.binary_type, size, value, size_ret);
        default:
            return remote_info_value(d->connection, wire::InfoKind::ProgramBuild, p->id, param,
                                     d->index, size, value, size_ret);
        }
    });
}

} // namespace rgpu::icd
