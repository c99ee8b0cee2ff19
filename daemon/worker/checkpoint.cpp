// SPDX-License-Identifier: Apache-2.0
// Saving and restoring a session's objects (see checkpoint.h).
#include "checkpoint.h"

#include "checkpoint_files.h"
#include "handlers/handlers.h"
#include "pool_queue.h"
#include "session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace rgpu::daemon {

namespace {

constexpr uint32_t kFormat = 1;
constexpr char kStateFile[] = "/state.rgck";

template <class... F> struct Overload : F... { using F::operator()...; };
template <class... F> Overload(F...) -> Overload<F...>;

std::string native_string(cl_program program, cl_program_info param) {
    size_t size = 0;
    if (clGetProgramInfo(program, param, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
    std::string out(size, '\0');
    clGetProgramInfo(program, param, size, out.data(), nullptr);
    out.resize(std::strlen(out.c_str()));
    return out;
}

/// The context's queue for the checkpoint's own transfers (created once, kept by the context).
cl_command_queue transfer_queue(Session& session, ContextObject& context) {
    if (!context.internal_queue) {
        cl_int err = CL_SUCCESS;
        cl_command_queue q = clCreateCommandQueue(
            context.context.get(), session.device(context.devices.front())->device, 0, &err);
        if (err == CL_SUCCESS) context.internal_queue = QueueRef(q);
    }
    return context.internal_queue.get();
}

uint32_t device_index(const Session& session, cl_device_id device) {
    int64_t index = session.served_index(device);
    return index < 0 ? UINT32_MAX : static_cast<uint32_t>(index);
}

} // namespace

CheckpointWriter::CheckpointWriter(std::string dir) : dir_(std::move(dir)) {
    // Unique across processes and restarts (a restored or moved session's directory holds the
    // files of a save made by another process, maybe one with this pid).
    static std::atomic<uint64_t> saves{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    prefix_ = fmt::format("{:x}-{}-{}-",
                          std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(),
                          getpid(), ++saves);
}

std::string CheckpointWriter::file_name(const char* kind, uint64_t id) const {
    return prefix_ + kind + "-" + std::to_string(id) + ".bin";
}

void CheckpointWriter::remove_older_files() const {
    DIR* d = opendir(dir_.c_str());
    if (!d) return;
    while (dirent* entry = readdir(d)) {
        const std::string name = entry->d_name;
        if (name[0] != '.' && name != kStateFile + 1 && name.rfind(prefix_, 0) != 0)
            std::remove((dir_ + "/" + name).c_str());
    }
    closedir(d);
}

bool CheckpointWriter::save_objects(Session& session, std::string* error) {
    const auto started = std::chrono::steady_clock::now();
    contents_bytes_ = 0;
    if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
        *error = "cannot create " + dir_ + ": " + std::strerror(errno);
        return false;
    }
    // Restore order: a kind's parents come first, which is the order of the Object variant.
    std::vector<std::pair<size_t, uint64_t>> order;
    session.objects.for_each(
        [&](uint64_t id, Object& object) { order.emplace_back(object.index(), id); });
    std::sort(order.begin(), order.end());
    std::map<cl_context, uint64_t> context_ids;
    session.objects.for_each([&](uint64_t id, Object& object) {
        if (auto* c = std::get_if<ContextObject>(&object)) context_ids[c->context.get()] = id;
    });
    auto& fbb = fbb_;
    bool ok = true;
    // Every kind must be named here: a new one is a compile error until it is saved.
    auto save = Overload{
        [&](uint64_t id, ContextObject& c) {
            auto state = checkpoint::CreateContext(fbb, id, fbb.CreateVector(c.devices));
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Context, state.Union()));
        },
        [&](uint64_t id, QueueObject& q) {
            auto state = checkpoint::CreateQueue(fbb, id, q.context, q.device, q.properties);
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Queue, state.Union()));
        },
        [&](uint64_t, SvmObject&) {
            *error = Session::kSvmNotSaved;
            ok = false;
        },
        [&](uint64_t id, MemObject& m) {
            if (m.svm) {
                *error = Session::kSvmNotSaved;
                ok = false;
                return;
            }
            cl_mem_flags flags = 0;
            clGetMemObjectInfo(m.mem.get(), CL_MEM_FLAGS, sizeof flags, &flags, nullptr);
            if (m.image) {
                // Pixels packed; an image of a buffer has none of its own (the buffer's are).
                const ImageShape& shape = *m.image;
                flatbuffers::Offset<flatbuffers::String> name;
                if (m.parent == 0) {
                    size_t origin[3] = {0, 0, 0}, region[3];
                    shape.whole_region(region);
                    std::vector<uint8_t> pixels(m.size);
                    auto* context = session.objects.find<ContextObject>(m.context);
                    cl_command_queue q = context ? transfer_queue(session, *context) : nullptr;
                    if (!q ||
                        clEnqueueReadImage(q, m.mem.get(), CL_TRUE, origin, region, 0, 0,
                                           pixels.data(), 0, nullptr, nullptr) != CL_SUCCESS) {
                        *error = "cannot read image " + std::to_string(id);
                        ok = false;
                        return;
                    }
                    std::string file = file_name("image", id);
                    if (!write_file(dir_ + "/" + file, pixels.data(), pixels.size(), error)) {
                        ok = false;
                        return;
                    }
                    name = fbb.CreateString(file);
                    contents_bytes_ += pixels.size();
                }
                auto state = checkpoint::CreateBuffer(
                    fbb, id, m.context, flags, m.size, name, m.parent, 0, shape.type,
                    shape.format.image_channel_order, shape.format.image_channel_data_type,
                    shape.width, shape.height, shape.depth, shape.array_size, shape.row_pitch);
                objects_.push_back(
                    checkpoint::CreateObject(fbb, checkpoint::ObjectState::Buffer, state.Union()));
                return;
            }
            if (m.parent != 0) {
                // Its contents are its parent's, saved with it (parents come first: lower ids).
                auto state = checkpoint::CreateBuffer(fbb, id, m.context, flags, m.size, 0,
                                                      m.parent, m.origin);
                objects_.push_back(
                    checkpoint::CreateObject(fbb, checkpoint::ObjectState::Buffer, state.Union()));
                return;
            }
            auto* context = session.objects.find<ContextObject>(m.context);
            cl_command_queue q = context ? transfer_queue(session, *context) : nullptr;
            std::string name = file_name("buffer", id);
            // Written from the buffer mapped for reading: no copy of our own (a CPU device maps
            // its storage itself). A device that cannot map it has it read into a copy.
            cl_int err = CL_INVALID_COMMAND_QUEUE;
            void* mapped = q ? clEnqueueMapBuffer(q, m.mem.get(), CL_TRUE, CL_MAP_READ, 0, m.size,
                                                  0, nullptr, nullptr, &err)
                             : nullptr;
            if (err == CL_SUCCESS) {
                bool written = write_file(dir_ + "/" + name, mapped, m.size, error);
                if (clEnqueueUnmapMemObject(q, m.mem.get(), mapped, 0, nullptr, nullptr) !=
                        CL_SUCCESS ||
                    clFinish(q) != CL_SUCCESS) {
                    *error = "cannot read buffer " + std::to_string(id);
                    written = false;
                }
                if (!written) {
                    ok = false;
                    return;
                }
            } else {
                std::vector<uint8_t> contents(m.size);
                if (!q || clEnqueueReadBuffer(q, m.mem.get(), CL_TRUE, 0, m.size, contents.data(),
                                              0, nullptr, nullptr) != CL_SUCCESS) {
                    *error = "cannot read buffer " + std::to_string(id);
                    ok = false;
                    return;
                }
                if (!write_file(dir_ + "/" + name, contents.data(), contents.size(), error)) {
                    ok = false;
                    return;
                }
            }
            contents_bytes_ += m.size;
            auto state =
                checkpoint::CreateBuffer(fbb, id, m.context, flags, m.size, fbb.CreateString(name));
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Buffer, state.Union()));
        },
        [&](uint64_t id, SamplerObject& s) {
            auto state = checkpoint::CreateSampler(fbb, id, s.context, s.normalized_coords,
                                                   s.addressing, s.filter);
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Sampler, state.Union()));
        },
        [&](uint64_t id, ProgramObject& p) {
            cl_program native = p.program.get();
            cl_uint count = 0;
            clGetProgramInfo(native, CL_PROGRAM_NUM_DEVICES, sizeof count, &count, nullptr);
            std::vector<cl_device_id> devices(count);
            clGetProgramInfo(native, CL_PROGRAM_DEVICES, count * sizeof(cl_device_id),
                             devices.data(), nullptr);
            bool built = false;
            std::string options;
            cl_program_binary_type binary_type = CL_PROGRAM_BINARY_TYPE_NONE;
            for (cl_device_id d : devices) {
                cl_build_status status = CL_BUILD_NONE;
                clGetProgramBuildInfo(native, d, CL_PROGRAM_BUILD_STATUS, sizeof status, &status,
                                      nullptr);
                cl_program_binary_type type = CL_PROGRAM_BINARY_TYPE_NONE;
                clGetProgramBuildInfo(native, d, CL_PROGRAM_BINARY_TYPE, sizeof type, &type,
                                      nullptr);
                // A compiled object or library restored from its binary reports no build, yet
                // is link input all the same.
                bool link_input = type == CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT ||
                                  type == CL_PROGRAM_BINARY_TYPE_LIBRARY;
                if (status != CL_BUILD_SUCCESS && !link_input) continue;
                built = true;
                binary_type = type;
                size_t size = 0;
                clGetProgramBuildInfo(native, d, CL_PROGRAM_BUILD_OPTIONS, 0, nullptr, &size);
                options.assign(size, '\0');
                clGetProgramBuildInfo(native, d, CL_PROGRAM_BUILD_OPTIONS, size, options.data(),
                                      nullptr);
                options.resize(std::strlen(options.c_str()));
            }
            std::vector<size_t> sizes(count);
            clGetProgramInfo(native, CL_PROGRAM_BINARY_SIZES, count * sizeof(size_t), sizes.data(),
                             nullptr);
            std::vector<std::vector<unsigned char>> binaries(count);
            std::vector<unsigned char*> pointers(count);
            for (cl_uint i = 0; i < count; ++i) {
                binaries[i].resize(sizes[i]);
                pointers[i] = binaries[i].data();
            }
            clGetProgramInfo(native, CL_PROGRAM_BINARIES, count * sizeof(unsigned char*),
                             pointers.data(), nullptr);
            for (cl_uint i = 0; i < count; ++i)
                if (binaries[i].empty())
                    for (const auto& [index, bytes] : p.created_from)
                        if (index == device_index(session, devices[i])) binaries[i] = bytes;
            std::vector<flatbuffers::Offset<checkpoint::DeviceBinary>> saved;
            std::vector<uint32_t> saved_for; // one binary per served device (a pool's first)
            for (cl_uint i = 0; i < count; ++i) {
                uint32_t index = device_index(session, devices[i]);
                if (binaries[i].empty() ||
                    std::find(saved_for.begin(), saved_for.end(), index) != saved_for.end())
                    continue;
                saved_for.push_back(index);
                saved.push_back(
                    checkpoint::CreateDeviceBinary(fbb, index, fbb.CreateVector(binaries[i])));
            }
            auto state = checkpoint::CreateProgram(
                fbb, id, p.context, fbb.CreateString(native_string(native, CL_PROGRAM_SOURCE)),
                fbb.CreateString(options), built, fbb.CreateVector(saved), binary_type);
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Program, state.Union()));
        },
        [&](uint64_t id, KernelObject& k) {
            size_t size = 0;
            clGetKernelInfo(k.kernel.get(), CL_KERNEL_FUNCTION_NAME, 0, nullptr, &size);
            std::string name(size, '\0');
            clGetKernelInfo(k.kernel.get(), CL_KERNEL_FUNCTION_NAME, size, name.data(), nullptr);
            name.resize(std::strlen(name.c_str()));
            if (!k.exec_info.svm_pointers.empty()) {
                *error = Session::kSvmNotSaved;
                ok = false;
                return;
            }
            std::vector<flatbuffers::Offset<checkpoint::KernelArg>> args;
            for (uint32_t i = 0; i < k.saved_args.size(); ++i) {
                SavedArg a = k.saved_args[i];
                if (a.kind == SavedArg::Kind::Unset) continue;
                if (a.kind == SavedArg::Kind::SvmPointer) {
                    if (a.address != 0) {
                        *error = Session::kSvmNotSaved;
                        ok = false;
                        return;
                    }
                    a.kind = SavedArg::Kind::NullMem; // the same null pointer for the kernel
                }
                args.push_back(
                    checkpoint::CreateKernelArg(fbb, i, static_cast<checkpoint::ArgKind>(a.kind),
                                                fbb.CreateVector(a.value), a.mem, a.local_size));
            }
            auto state = checkpoint::CreateKernel(fbb, id, k.program, fbb.CreateString(name),
                                                  fbb.CreateVector(args));
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Kernel, state.Union()));
        },
        [&](uint64_t id, EventObject& e) {
            cl_int status = CL_COMPLETE;
            cl_event native = e.native();
            if (!native)
                status = e.deferred->error(); // failed before reaching the device
            else
                clGetEventInfo(native, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                               nullptr);
            cl_context context = nullptr;
            if (native) clGetEventInfo(native, CL_EVENT_CONTEXT, sizeof context, &context, nullptr);
            // A command that failed on a pool member never had a native event: any context of
            // the session holds its (failed) replacement.
            uint64_t context_id =
                native || context_ids.empty() ? context_ids[context] : context_ids.begin()->second;
            auto state =
                checkpoint::CreateEvent(fbb, id, std::min(status, CL_COMPLETE), e.user, context_id);
            objects_.push_back(
                checkpoint::CreateObject(fbb, checkpoint::ObjectState::Event, state.Union()));
        },
    };
    for (const auto& entry : order) {
        if (!ok) break;
        const uint64_t id = entry.second; // (clang 14 cannot capture structured bindings)
        Object* object = session.objects.get(id);
        std::visit([&](auto& typed) { save(id, typed); }, *object);
    }
    for (auto& [id, status] : session.failed_events)
        failed_events_.push_back(checkpoint::CreateEvent(fbb, id, status, false, 0));
    executed_seq_ = session.executed_seq;
    for (const auto& sub : session.sub_devices)
        sub_devices_.push_back(checkpoint::CreateSubDevice(
            fbb, sub.parent, fbb.CreateVector(sub.properties), sub.position));
    contents_time_ = std::chrono::steady_clock::now() - started;
    return ok;
}

bool CheckpointWriter::finish(Session& session, uint64_t resume_token, std::string* error) {
    auto& fbb = fbb_;
    std::vector<flatbuffers::Offset<checkpoint::KeptMessage>> kept;
    session.replay.for_each([&](uint64_t seq, const std::vector<zmq::message_t>& frames) {
        std::vector<flatbuffers::Offset<checkpoint::Frame>> saved;
        for (const auto& f : frames)
            saved.push_back(checkpoint::CreateFrame(
                fbb, fbb.CreateVector(static_cast<const uint8_t*>(f.data()), f.size())));
        kept.push_back(checkpoint::CreateKeptMessage(fbb, seq, fbb.CreateVector(saved)));
    });
    std::vector<flatbuffers::Offset<flatbuffers::String>> names;
    for (const auto& d : session.devices)
        names.push_back(fbb.CreateString(d.name));
    auto state = checkpoint::CreateSession(
        fbb, kFormat, session.id(), resume_token, fbb.CreateString(session.client()),
        next_recv_seq_ ? next_recv_seq_ : session.next_recv_seq, executed_seq_,
        fbb.CreateVector(objects_), fbb.CreateVector(failed_events_), fbb.CreateVector(kept),
        session.replay.next_seq(), fbb.CreateVector(names), fbb.CreateVector(sub_devices_));
    checkpoint::FinishSessionBuffer(fbb, state);
    const std::string path = dir_ + kStateFile;
    if (!write_file(path + ".tmp", fbb.GetBufferPointer(), fbb.GetSize(), error)) return false;
    if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
        *error = "cannot rename " + path + ".tmp: " + std::strerror(errno);
        return false;
    }
    remove_older_files();
    return true;
}

void remove_checkpoint(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* entry = readdir(d))
            if (entry->d_name[0] != '.') std::remove((dir + "/" + entry->d_name).c_str());
        closedir(d);
    }
    ::rmdir(dir.c_str());
}

bool read_checkpoint(const std::string& dir, std::vector<uint8_t>& bytes, CheckpointHeader* header,
                     std::string* error) {
    if (!read_file(dir + kStateFile, bytes, error)) return false;
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    if (!checkpoint::SessionBufferHasIdentifier(bytes.data()) ||
        !checkpoint::VerifySessionBuffer(verifier)) {
        *error = "not an rgpu checkpoint (or corrupt)";
        return false;
    }
    const auto* state = checkpoint::GetSession(bytes.data());
    if (state->format() != kFormat) {
        *error = "checkpoint format " + std::to_string(state->format()) + ", this daemon reads " +
                 std::to_string(kFormat);
        return false;
    }
    if (state->session() == 0) {
        *error = "checkpoint without a session id";
        return false;
    }
    header->session = state->session();
    header->resume_token = state->resume_token();
    header->client = state->client() ? state->client()->str() : "?";
    return true;
}

namespace {

struct Restorer {
    Session& session;
    const std::string& dir;
    std::string* error;

    bool fail(std::string why) {
        *error = std::move(why);
        return false;
    }
    bool insert(uint64_t id, Object object) {
        if (!session.objects.insert(id, std::move(object)))
            return fail("object " + std::to_string(id) + " twice, or beyond the object limit");
        return true;
    }

    bool operator()(const checkpoint::Context& c) {
        if (!c.devices() || c.devices()->size() == 0) return fail("context without devices");
        std::vector<cl_device_id> devices;
        for (uint32_t index : *c.devices()) {
            if (!session.device(index))
                return fail("device " + std::to_string(index) + " is not served here");
            for (cl_device_id native : session.native_devices(index))
                devices.push_back(native);
        }
        cl_context_properties props[] = {
            CL_CONTEXT_PLATFORM,
            reinterpret_cast<cl_context_properties>(session.device(c.devices()->Get(0))->platform),
            0};
        cl_int err = CL_SUCCESS;
        cl_context context = clCreateContext(props, static_cast<cl_uint>(devices.size()),
                                             devices.data(), nullptr, nullptr, &err);
        if (err != CL_SUCCESS) return fail("clCreateContext: " + std::to_string(err));
        return insert(
            c.id(),
            ContextObject{ContextRef(context), {c.devices()->begin(), c.devices()->end()}, {}});
    }
    bool operator()(const checkpoint::Queue& q) {
        auto* context = session.objects.find<ContextObject>(q.context());
        if (!context || !session.device(q.device())) return fail("queue's parent");
        QueueObject queue;
        cl_int err = make_queue(session, *context, q.context(), q.device(), q.properties(), queue);
        if (err != CL_SUCCESS) return fail("clCreateCommandQueue: " + std::to_string(err));
        return insert(q.id(), std::move(queue));
    }
    bool operator()(const checkpoint::Buffer& b) {
        auto* context = session.objects.find<ContextObject>(b.context());
        if (!context) return fail("buffer's context");
        if (b.image_type() != 0) return restore_image(b, *context);
        if (b.parent() != 0) {
            auto* parent = session.objects.find<MemObject>(b.parent());
            if (!parent || parent->parent != 0) return fail("sub-buffer's parent");
            cl_buffer_region region{b.origin(), b.size()};
            cl_int err = CL_SUCCESS;
            cl_mem_flags flags =
                b.flags() & ~cl_mem_flags(CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR |
                                          CL_MEM_ALLOC_HOST_PTR | CL_MEM_HOST_READ_ONLY |
                                          CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS);
            cl_mem mem = clCreateSubBuffer(parent->mem.get(), flags, CL_BUFFER_CREATE_TYPE_REGION,
                                           &region, &err);
            if (err != CL_SUCCESS) return fail("clCreateSubBuffer: " + std::to_string(err));
            MemObject object{MemRef(mem), b.context(), b.size()};
            object.parent = b.parent();
            object.origin = b.origin();
            if (!insert(b.id(), std::move(object))) return false;
            ++parent->children;
            return true;
        }
        std::string name = b.contents() ? b.contents()->str() : "";
        if (name.empty() || name.find('/') != std::string::npos)
            return fail("a buffer's contents file name is not a plain name");
        const std::string path = dir + "/" + name;
        FileRef file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat status {};
        if (file.fd < 0) return fail("cannot open " + path);
        if (::fstat(file.fd, &status) != 0) return fail("cannot read " + path);
        if (static_cast<uint64_t>(status.st_size) != b.size())
            return fail("buffer " + name + " has the wrong size");
        cl_mem_flags flags =
            b.flags() &
            ~cl_mem_flags(CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_ALLOC_HOST_PTR |
                          CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS);
        cl_int err = CL_SUCCESS;
        cl_mem mem = clCreateBuffer(context->context.get(), flags, b.size(), nullptr, &err);
        if (err != CL_SUCCESS) return fail("clCreateBuffer: " + std::to_string(err));
        MemRef ref(mem);
        // Read straight into the buffer mapped for writing: no copy of our own. A device that
        // cannot map it gets a copy written.
        cl_command_queue q = transfer_queue(session, *context);
        void* mapped = q ? clEnqueueMapBuffer(q, mem, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0,
                                              b.size(), 0, nullptr, nullptr, &err)
                         : nullptr;
        if (q && err == CL_SUCCESS) {
            prefault_for_write(mapped, b.size());
            const bool read = read_fully(file.fd, mapped, b.size());
            err = clEnqueueUnmapMemObject(q, mem, mapped, 0, nullptr, nullptr);
            if (err == CL_SUCCESS) err = clFinish(q);
            if (!read) return fail("cannot read " + path);
            if (err != CL_SUCCESS) return fail("clEnqueueUnmapMemObject: " + std::to_string(err));
        } else {
            std::vector<uint8_t> contents(b.size());
            if (!read_fully(file.fd, contents.data(), contents.size()))
                return fail("cannot read " + path);
            err = q ? clEnqueueWriteBuffer(q, mem, CL_TRUE, 0, b.size(), contents.data(), 0,
                                           nullptr, nullptr)
                    : CL_INVALID_COMMAND_QUEUE;
            if (err != CL_SUCCESS) return fail("clEnqueueWriteBuffer: " + std::to_string(err));
        }
        if (!insert(b.id(), MemObject{std::move(ref), b.context(), b.size()})) return false;
        session.device_bytes += b.size();
        return true;
    }
    bool restore_image(const checkpoint::Buffer& b, ContextObject& context) {
        auto shape = ImageShape::of(b);
        if (shape->pixel_bytes == 0) return fail("image of an unknown format");
        MemObject* parent = nullptr;
        std::vector<uint8_t> pixels;
        if (b.parent() != 0) {
            parent = session.objects.find<MemObject>(b.parent());
            if (!parent || parent->image) return fail("image's buffer");
        } else {
            std::string name = b.contents() ? b.contents()->str() : "";
            if (name.empty() || name.find('/') != std::string::npos ||
                !read_file(dir + "/" + name, pixels, error))
                return false;
            if (pixels.size() != b.size()) return fail("image " + name + " has the wrong size");
        }
        cl_mem_flags flags =
            b.flags() &
            ~cl_mem_flags(CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_ALLOC_HOST_PTR |
                          CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS);
        if (!parent) flags |= CL_MEM_COPY_HOST_PTR;
        cl_int err = CL_SUCCESS;
        cl_image_desc desc = shape->native_desc(parent ? parent->mem.get() : nullptr);
        cl_mem mem = clCreateImage(context.context.get(), flags, &shape->format, &desc,
                                   parent ? nullptr : pixels.data(), &err);
        if (err != CL_SUCCESS) return fail("clCreateImage: " + std::to_string(err));
        MemObject object{MemRef(mem), b.context(), b.size()};
        object.image = std::move(shape);
        object.parent = b.parent();
        if (!insert(b.id(), std::move(object))) return false;
        if (parent)
            ++parent->children;
        else
            session.device_bytes += b.size();
        return true;
    }
    bool operator()(const checkpoint::Sampler& s) {
        auto* context = session.objects.find<ContextObject>(s.context());
        if (!context) return fail("sampler's context");
        cl_int err = CL_SUCCESS;
        cl_sampler sampler = clCreateSampler(context->context.get(), s.normalized_coords(),
                                             s.addressing_mode(), s.filter_mode(), &err);
        if (err != CL_SUCCESS) return fail("clCreateSampler: " + std::to_string(err));
        return insert(s.id(), SamplerObject{SamplerRef(sampler), s.context(), s.normalized_coords(),
                                            s.addressing_mode(), s.filter_mode()});
    }
    bool operator()(const checkpoint::Program& p) {
        auto* context = session.objects.find<ContextObject>(p.context());
        if (!context) return fail("program's context");
        cl_int err = CL_SUCCESS;
        cl_program program = nullptr;
        std::vector<cl_device_id> devices;
        if (p.built() && p.binaries() && p.binaries()->size() > 0) {
            // From the saved binaries: no compiler run on restore.
            std::vector<const unsigned char*> binaries;
            std::vector<size_t> lengths;
            for (const auto* b : *p.binaries()) {
                if (!session.device(b->device()) || !b->bytes())
                    return fail("program binary for an unknown device");
                for (cl_device_id native : session.native_devices(b->device())) {
                    devices.push_back(native);
                    binaries.push_back(b->bytes()->data());
                    lengths.push_back(b->bytes()->size());
                }
            }
            program = clCreateProgramWithBinary(
                context->context.get(), static_cast<cl_uint>(devices.size()), devices.data(),
                lengths.data(), binaries.data(), nullptr, &err);
        } else {
            const char* text = p.source() ? p.source()->c_str() : "";
            size_t length = p.source() ? p.source()->size() : 0;
            program = clCreateProgramWithSource(context->context.get(), 1, &text, &length, &err);
        }
        if (err != CL_SUCCESS) return fail("creating program: " + std::to_string(err));
        ProgramRef ref(program);
        // A compiled object or library is link input as it is: only executables build again.
        bool executable = p.binary_type() == 0 ||
                          p.binary_type() == CL_PROGRAM_BINARY_TYPE_EXECUTABLE || !p.binaries() ||
                          p.binaries()->size() == 0;
        if (p.built() && executable) {
            const char* options = p.options() ? p.options()->c_str() : "";
            err = clBuildProgram(program, static_cast<cl_uint>(devices.size()),
                                 devices.empty() ? nullptr : devices.data(), options, nullptr,
                                 nullptr);
            if (err != CL_SUCCESS) return fail("building program: " + std::to_string(err));
        }
        ProgramObject object{std::move(ref), p.context(), {}};
        if (!executable && p.binaries())
            for (const auto* b : *p.binaries())
                object.created_from.emplace_back(
                    b->device(),
                    std::vector<unsigned char>(b->bytes()->begin(), b->bytes()->end()));
        return insert(p.id(), std::move(object));
    }
    bool operator()(const checkpoint::Kernel& k) {
        auto* program = session.objects.find<ProgramObject>(k.program());
        if (!program || !k.name()) return fail("kernel's program");
        cl_int err = CL_SUCCESS;
        cl_kernel kernel = clCreateKernel(program->program.get(), k.name()->c_str(), &err);
        if (err != CL_SUCCESS) return fail("clCreateKernel: " + std::to_string(err));
        KernelObject object = kernel_object(kernel, k.program());
        if (k.args())
            for (const auto* a : *k.args()) {
                if (a->index() >= object.args.size()) return fail("kernel argument index");
                SavedArg& saved = object.saved_args[a->index()];
                saved.kind = static_cast<SavedArg::Kind>(a->kind());
                cl_mem m = nullptr;
                cl_sampler sampler = nullptr;
                switch (saved.kind) {
                case SavedArg::Kind::Value:
                    if (!a->value()) return fail("kernel argument value");
                    saved.value.assign(a->value()->begin(), a->value()->end());
                    break;
                case SavedArg::Kind::Mem: {
                    auto* mem = session.objects.find<MemObject>(a->mem());
                    if (!mem) return fail("kernel argument names a buffer that is gone");
                    m = mem->mem.get();
                    saved.mem = a->mem();
                    object.arg_mems[a->index()] = a->mem();
                    break;
                }
                case SavedArg::Kind::Sampler: {
                    auto* s = session.objects.find<SamplerObject>(a->mem());
                    if (!s) return fail("kernel argument names a sampler that is gone");
                    sampler = s->sampler.get();
                    saved.mem = a->mem();
                    object.arg_mems[a->index()] = a->mem();
                    break;
                }
                case SavedArg::Kind::NullMem:
                    break;
                case SavedArg::Kind::Local:
                    saved.local_size = a->local_size();
                    break;
                default:
                    return fail("kernel argument kind");
                }
                cl_int set = set_saved_arg(kernel, a->index(), saved, m, sampler);
                if (set != CL_SUCCESS) return fail("clSetKernelArg: " + std::to_string(set));
            }
        return insert(k.id(), std::move(object));
    }
    bool operator()(const checkpoint::Event& e) {
        auto* context = session.objects.find<ContextObject>(e.context());
        if (!context) return fail("event's context");
        if (e.status() > CL_COMPLETE) return fail("an event that had not ended");
        cl_int err = CL_SUCCESS;
        cl_event event = clCreateUserEvent(context->context.get(), &err);
        if (err != CL_SUCCESS) return fail("clCreateUserEvent: " + std::to_string(err));
        EventRef ref(event);
        clSetUserEventStatus(event, e.status());
        return insert(e.id(), EventObject{std::move(ref), e.user(), nullptr});
    }
};

} // namespace

bool restore_checkpoint(Session& session, const std::string& dir, const checkpoint::Session& state,
                        std::string* error) {
    Restorer restore{session, dir, error};
    // Sub-devices first, each partition made again as it was: contexts name them by index.
    if (const auto* subs = state.sub_devices())
        for (flatbuffers::uoffset_t i = 0; i < subs->size(); ++i) {
            const auto* first = subs->Get(i);
            if (first->position() != 0 || !first->properties()) return restore.fail("sub-devices");
            cl_uint count = 1;
            while (i + count < subs->size() && subs->Get(i + count)->position() == count)
                ++count;
            std::vector<cl_device_partition_property> properties(first->properties()->begin(),
                                                                 first->properties()->end());
            if (properties.empty() || properties.back() != 0) return restore.fail("sub-devices");
            std::vector<uint32_t> made;
            cl_int err = make_sub_devices(session, first->parent(), properties, count, &made);
            if (err != CL_SUCCESS || made.size() != count)
                return restore.fail("the device partitions differently here (" +
                                    std::to_string(err) + ")");
            i += count - 1;
        }
    if (state.objects())
        for (const auto* object : *state.objects()) {
            bool ok = false;
            switch (object->state_type()) {
            case checkpoint::ObjectState::Context:
                ok = restore(*object->state_as_Context());
                break;
            case checkpoint::ObjectState::Queue:
                ok = restore(*object->state_as_Queue());
                break;
            case checkpoint::ObjectState::Buffer:
                ok = restore(*object->state_as_Buffer());
                break;
            case checkpoint::ObjectState::Program:
                ok = restore(*object->state_as_Program());
                break;
            case checkpoint::ObjectState::Kernel:
                ok = restore(*object->state_as_Kernel());
                break;
            case checkpoint::ObjectState::Event:
                ok = restore(*object->state_as_Event());
                break;
            case checkpoint::ObjectState::Sampler:
                ok = restore(*object->state_as_Sampler());
                break;
            default:
                ok = restore.fail("an object of a kind this daemon does not know");
            }
            if (!ok) return false;
        }
    if (state.failed_events())
        for (const auto* e : *state.failed_events())
            session.failed_events[e->id()] = e->status();
    session.next_recv_seq = std::max<uint64_t>(state.next_recv_seq(), 1);
    session.restore_progress(state.executed_seq());
    if (state.replay())
        for (const auto* kept : *state.replay()) {
            std::vector<zmq::message_t> frames;
            if (kept->frames())
                for (const auto* f : *kept->frames())
                    frames.emplace_back(f->bytes() ? f->bytes()->data() : nullptr,
                                        f->bytes() ? f->bytes()->size() : 0);
            if (frames.empty()) return restore.fail("a kept message without frames");
            session.replay.restore(kept->seq(), std::move(frames));
        }
    session.replay.set_next_seq(state.next_message_seq());
    return true;
}

std::string devices_missing(const checkpoint::Session& state,
                            const std::vector<LocalDevice>& devices) {
    // A sub-device needs the served device it was partitioned from (through its parents).
    auto root_of = [&](uint32_t index) {
        for (int hops = 0; index >= proto::kSubDeviceBase && hops < 64; ++hops) {
            uint32_t k = index - proto::kSubDeviceBase;
            if (!state.sub_devices() || k >= state.sub_devices()->size()) return UINT32_MAX;
            index = state.sub_devices()->Get(k)->parent();
        }
        return index;
    };
    std::vector<uint32_t> used;
    if (state.sub_devices())
        for (const auto* sub : *state.sub_devices())
            used.push_back(root_of(sub->parent()));
    if (state.objects())
        for (const auto* object : *state.objects())
            if (const auto* context = object->state_as_Context(); context && context->devices())
                for (uint32_t index : *context->devices())
                    used.push_back(root_of(index));
    for (uint32_t index : used) {
        std::string wanted = state.device_names() && index < state.device_names()->size()
                                 ? state.device_names()->Get(index)->str()
                                 : "";
        if (index >= devices.size())
            return "no device " + std::to_string(index) + " ('" + wanted + "') here";
        if (!wanted.empty() && devices[index].name != wanted)
            return "device " + std::to_string(index) + " is '" + devices[index].name +
                   "' here, the session used '" + wanted + "'";
    }
    return {};
}

} // namespace rgpu::daemon
