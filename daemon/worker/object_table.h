// SPDX-License-Identifier: Apache-2.0
// A session's objects, keyed by the ids the client chose. Owned by the session's executor thread.
#pragma once

#include "native.h"

#include <image_layout.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <variant>
#include <vector>

namespace rgpu::daemon {

struct ContextObject {
    ContextRef context;
    std::vector<uint32_t> devices;
    /// Lazily created queue for buffer initialisation that has no client queue to ride on.
    QueueRef internal_queue;
};
struct QueueObject {
    QueueRef queue; ///< On the pooled device: the native queue of the current member.
    uint64_t context = 0;
    uint32_t device = 0;
    uint64_t properties = 0; ///< as created (a checkpoint restores the queue with them)
    bool profiling = false;
    bool dirty = false; ///< Commands enqueued since the last clFlush.

    // On the pooled device only (see pool_queue.h).
    bool pooled = false;
    uint32_t member = 0; ///< The member `queue` is on.
    /// One native queue per member, made when work is first placed there; `queue` holds its own
    /// reference to the current one.
    std::vector<QueueRef> member_queues;
    /// Out-of-order queues: the last barrier, which commands later placed on another member
    /// must also wait for; barrier_seen[m] is the barrier count member m's queue has waited for.
    EventRef last_barrier;
    uint64_t barriers = 0;
    std::vector<uint64_t> barrier_seen;
    bool in_order() const { return (properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) == 0; }
    /// Every native queue the client queue's commands went to.
    template <class F> void for_each_native(F&& f) {
        if (!pooled) {
            f(queue.get());
            return;
        }
        for (auto& q : member_queues)
            if (q) f(q.get());
    }
};
/// An image's format and dimensions as the client created it.
struct ImageShape {
    cl_image_format format{};
    cl_mem_object_type type = 0;
    uint64_t width = 0, height = 0, depth = 0, array_size = 0;
    uint64_t row_pitch = 0; ///< A 2D image from a buffer: its rows' pitch there (0: packed).
    size_t pixel_bytes = 0; ///< 0: an unknown format
    /// From a CreateImage request or a checkpoint's Buffer record (the same field names).
    template <class Record> static std::shared_ptr<ImageShape> of(const Record& r) {
        auto shape = std::make_shared<ImageShape>();
        shape->format = {r.channel_order(), r.channel_data_type()};
        shape->type = r.image_type();
        shape->width = r.width();
        shape->height = r.height();
        shape->depth = r.depth();
        shape->array_size = r.array_size();
        shape->row_pitch = r.row_pitch();
        shape->pixel_bytes = proto::pixel_bytes(shape->format);
        return shape;
    }
    /// The native descriptor (no host pitches: contents always arrive packed); `buffer` is the
    /// native buffer an image of a buffer views.
    cl_image_desc native_desc(cl_mem buffer) const {
        cl_image_desc desc{};
        desc.image_type = type;
        desc.image_width = width;
        desc.image_height = height;
        desc.image_depth = depth;
        desc.image_array_size = array_size;
        desc.image_row_pitch = row_pitch;
        desc.buffer = buffer;
        return desc;
    }
    /// The extent clEnqueueReadImage/WriteImage take for the whole image.
    void whole_region(size_t region[3]) const {
        proto::whole_region(type, width, height, depth, array_size, region);
    }
};
/// Native SVM memory, freed (clSVMFree) when its last holder lets go: the allocation's record,
/// and the buffers created over it (CL_MEM_USE_HOST_PTR), which outlive a clSVMFree natively
/// undefined; here they keep the memory.
struct SvmMemory {
    SvmMemory(cl_context context, void* pointer) : context_(context), pointer(pointer) {
        clRetainContext(context);
    }
    ~SvmMemory() { clSVMFree(context_.get(), pointer); }
    SvmMemory(const SvmMemory&) = delete;
    SvmMemory& operator=(const SvmMemory&) = delete;

  private:
    ContextRef context_;

  public:
    void* const pointer;
};
/// A clSVMAlloc of the client. The client's pointer is the same address (it reserves it), so
/// no translation happens anywhere: addresses travel as they are. A session holding one cannot
/// be checkpointed or moved (a restored worker could not get the same addresses back).
struct SvmObject {
    std::shared_ptr<SvmMemory> memory;
    uint64_t context = 0;
    uint64_t size = 0;
    uint64_t address() const { return reinterpret_cast<uintptr_t>(memory->pointer); }
};
struct MemObject {
    MemRef mem;
    uint64_t context = 0;
    uint64_t size = 0;
    /// On the pooled device: the members holding the newest contents (bit m for member m;
    /// 0 = none yet, e.g. just created). Placement uses it; coherence is the native context's
    /// (one context holds every member), so a sub-buffer's own mask may lag its parent's.
    uint64_t resident = 0;
    /// A sub-buffer: its parent's id (0: a buffer of its own) and its origin there.
    uint64_t parent = 0;
    uint64_t origin = 0;
    /// A buffer: its live sub-buffers. It is released after them (the ICD's order), so its
    /// memory stays counted, and checkpointed, while they share it.
    uint64_t children = 0;
    /// An image: what it was created as (a checkpoint creates it again and saves its pixels).
    /// `size` is its packed byte size; `parent` the buffer an image from a buffer views.
    std::shared_ptr<const ImageShape> image = nullptr;
    /// A buffer over SVM memory (CL_MEM_USE_HOST_PTR of an SVM address): keeps it allocated.
    std::shared_ptr<SvmMemory> svm = nullptr;
};
struct SamplerObject {
    SamplerRef sampler;
    uint64_t context = 0;
    bool normalized_coords = false;
    cl_addressing_mode addressing = CL_ADDRESS_CLAMP;
    cl_filter_mode filter = CL_FILTER_NEAREST;
};
struct ProgramObject {
    ProgramRef program;
    uint64_t context = 0;
    /// Binaries it was created from, per served device: POCL reports none for a program made
    /// from a compiled object's binary, and a checkpoint must still save one.
    std::vector<std::pair<uint32_t, std::vector<unsigned char>>> created_from;
};
/// What the daemon must know of an argument to refuse bytes where the device expects a handle.
enum class ArgClass : uint8_t { Unknown, Value, Pointer, Local, Handle };

/// An argument as the client last set it: what a checkpoint restores (the native kernel cannot
/// be asked for its arguments).
struct SavedArg {
    enum class Kind : uint8_t { Unset, Value, Mem, NullMem, Local, Sampler, SvmPointer };
    Kind kind = Kind::Unset;
    std::vector<uint8_t> value;
    uint64_t mem = 0; ///< The buffer, image or sampler a Mem or Sampler argument names.
    uint64_t local_size = 0;
    uint64_t address = 0; ///< An SvmPointer argument's pointer.
};

/// Sets argument `index` of native `kernel` as `arg` records it (`mem`, `sampler`: the native
/// object a Mem or Sampler argument names). Unset arguments are left alone.
inline cl_int set_saved_arg(cl_kernel kernel, cl_uint index, const SavedArg& arg, cl_mem mem,
                            cl_sampler sampler = nullptr) {
    switch (arg.kind) {
    case SavedArg::Kind::Sampler:
        return clSetKernelArg(kernel, index, sizeof sampler, &sampler);
    case SavedArg::Kind::Value:
        return clSetKernelArg(kernel, index, arg.value.size(), arg.value.data());
    case SavedArg::Kind::Mem:
        return clSetKernelArg(kernel, index, sizeof mem, &mem);
    case SavedArg::Kind::NullMem:
        return clSetKernelArg(kernel, index, sizeof(cl_mem), nullptr);
    case SavedArg::Kind::Local:
        return clSetKernelArg(kernel, index, arg.local_size, nullptr);
    case SavedArg::Kind::SvmPointer:
        return clSetKernelArgSVMPointer(kernel, index, reinterpret_cast<void*>(arg.address));
    case SavedArg::Kind::Unset:
        break;
    }
    return CL_SUCCESS;
}

/// What clSetKernelExecInfo set on a kernel: a checkpoint cannot ask the native kernel, and a
/// pool member's kernel gets it at every launch.
struct KernelExecInfo {
    std::vector<void*> svm_pointers;
    bool svm_pointers_set = false;
    cl_bool fine_grain_system = CL_FALSE;
    bool fine_grain_system_set = false;
    /// Sets it on native kernel `native` (a member's or a clone).
    cl_int apply(cl_kernel native) const {
        cl_int err = CL_SUCCESS;
        if (svm_pointers_set)
            err = clSetKernelExecInfo(native, CL_KERNEL_EXEC_INFO_SVM_PTRS,
                                      svm_pointers.size() * sizeof(void*), svm_pointers.data());
        if (err == CL_SUCCESS && fine_grain_system_set)
            err = clSetKernelExecInfo(native, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM,
                                      sizeof fine_grain_system, &fine_grain_system);
        return err;
    }
};

struct KernelObject {
    KernelRef kernel;
    uint64_t program = 0;
    std::vector<ArgClass> args;
    std::vector<SavedArg> saved_args;
    /// The buffer, image or sampler id each argument names (0 for other kinds): checked at every
    /// launch, since the native kernel would hold a dangling handle once it is released.
    std::vector<uint64_t> arg_mems;
    /// On the pooled device: one native kernel per member, made at its first launch there and
    /// used by that member's thread only (it sets the launch's arguments, then enqueues).
    std::vector<KernelRef> member_kernels;
    /// clSetKernelExecInfo as the client last set it (member kernels get it at each launch).
    KernelExecInfo exec_info;
};
/// The event of a command handed to a pool member's thread, which enqueues it there (see
/// pool.h): the native event exists once that thread has enqueued the command.
class DeferredEvent {
  public:
    /// Member thread: the command is enqueued (`native`, adopted) or failed (`error`).
    void set(cl_event native, cl_int error) {
        {
            std::lock_guard lock(mutex_);
            native_ = EventRef(native);
            error_ = error;
            done_ = true;
        }
        cv_.notify_all();
    }
    /// Blocks until set(); the native event, or null when the command failed (error()).
    cl_event wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return done_; });
        return native_.get();
    }
    bool done() {
        std::lock_guard lock(mutex_);
        return done_;
    }
    cl_int error() {
        std::lock_guard lock(mutex_);
        return error_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    EventRef native_;
    cl_int error_ = CL_SUCCESS;
};

struct EventObject {
    EventRef event;
    bool user = false;
    /// Set instead of `event` for a command a pool member's thread enqueues.
    std::shared_ptr<DeferredEvent> deferred;
    /// The native event (waiting for a member thread to enqueue it); null if it failed there.
    cl_event native() { return deferred ? deferred->wait() : event.get(); }
};

/// In restore order: each kind's parents come before it.
using Object = std::variant<ContextObject, QueueObject, SvmObject, MemObject, SamplerObject,
                            ProgramObject, KernelObject, EventObject>;

class ObjectTable {
  public:
    /// Null when the id is unknown or names an object of another kind: never inserts.
    template <class T> T* find(uint64_t id) {
        auto it = objects_.find(id);
        return it == objects_.end() ? nullptr : std::get_if<T>(&it->second);
    }
    /// False when the id is 0 or already taken (a client bug or a hostile client), or when the
    /// table is full; `object` is then released.
    [[nodiscard]] bool insert(uint64_t id, Object object) {
        if (id == 0 || full()) return false;
        return objects_.emplace(id, std::move(object)).second;
    }
    /// The session's object limit: inserts beyond it fail.
    void set_limit(size_t limit) { limit_ = limit; }
    bool full() const { return objects_.size() >= limit_; }
    bool erase(uint64_t id) { return objects_.erase(id) > 0; }
    /// The object `id` of whatever kind; null if unknown.
    Object* get(uint64_t id) {
        auto it = objects_.find(id);
        return it == objects_.end() ? nullptr : &it->second;
    }
    size_t size() const { return objects_.size(); }
    template <class F> void for_each(F&& f) {
        for (auto& [id, object] : objects_)
            f(id, object);
    }
    /// Releases in dependency order: events and kernels before programs, memory and queues
    /// before contexts, so no native release sees a parent already gone.
    void clear() {
        auto drop = [&](auto tag) {
            using T = decltype(tag);
            std::erase_if(objects_,
                          [](auto& entry) { return std::holds_alternative<T>(entry.second); });
        };
        drop(EventObject{});
        drop(KernelObject{});
        drop(ProgramObject{});
        drop(SamplerObject{});
        drop(MemObject{});
        drop(SvmObject{});
        drop(QueueObject{});
        drop(ContextObject{});
    }

  private:
    std::unordered_map<uint64_t, Object> objects_;
    size_t limit_ = SIZE_MAX;
};

} // namespace rgpu::daemon
