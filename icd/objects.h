// SPDX-License-Identifier: Apache-2.0
// The ICD's handle types. Every handle the application sees starts with the dispatch table
// pointer (the ICD loader's contract); our state follows it. No virtual functions anywhere in
// these types: a vtable pointer would move the dispatch pointer off offset 0.
#pragma once

#include <CL/cl.h>
#include <CL/cl_icd.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct _cl_platform_id {
    const cl_icd_dispatch* dispatch;
};
struct _cl_device_id {
    const cl_icd_dispatch* dispatch;
};
struct _cl_context {
    const cl_icd_dispatch* dispatch;
};
struct _cl_command_queue {
    const cl_icd_dispatch* dispatch;
};
struct _cl_mem {
    const cl_icd_dispatch* dispatch;
};
struct _cl_program {
    const cl_icd_dispatch* dispatch;
};
struct _cl_kernel {
    const cl_icd_dispatch* dispatch;
};
struct _cl_event {
    const cl_icd_dispatch* dispatch;
};
struct _cl_sampler {
    const cl_icd_dispatch* dispatch;
};

static_assert(offsetof(_cl_mem, dispatch) == 0, "the loader reads the dispatch table at offset 0");

namespace rgpu::icd {

class Connection;
struct Arrival; // spanning.cpp
extern const cl_icd_dispatch kDispatch;

enum class Magic : uint32_t {
    Platform = 0x52500001,
    Device,
    Context,
    Queue,
    Mem,
    Program,
    Kernel,
    Event,
    Sampler,
    Dead = 0xDEADDEAD,
};

/// Common head of every object: handle, type tag and counts.
/// `refs` is what the application sees (clRetain/clRelease, *_REFERENCE_COUNT); `holds` also
/// counts internal holds (children keeping a parent alive, pending completions) and decides
/// when the object is destroyed.
template <class Handle, Magic M> struct Object : Handle {
    Magic magic = M;
    std::atomic<cl_uint> refs{1};
    std::atomic<cl_uint> holds{1};
    Object() { this->dispatch = &kDispatch; }
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;
};

/// Casts a handle to our object, or null when it is null or not of this kind.
template <class T, class H> T* checked(H handle) {
    if (!handle) return nullptr;
    auto* object = static_cast<T*>(handle);
    return object->magic == T::kMagic ? object : nullptr;
}

struct Platform : Object<_cl_platform_id, Magic::Platform> {
    static constexpr Magic kMagic = Magic::Platform;
};

struct Device : Object<_cl_device_id, Magic::Device> {
    static constexpr Magic kMagic = Magic::Device;
    Connection* connection = nullptr;
    uint32_t index = 0;       ///< The daemon's name for this device.
    Device* parent = nullptr; ///< A sub-device's (clCreateSubDevices); null for a served one.
    std::map<cl_uint, std::vector<uint8_t>> info;
    cl_device_type type = 0;
    cl_ulong max_mem_alloc = 0;
    size_t max_work_group_size = 0;
    std::vector<size_t> max_work_item_sizes;
    cl_command_queue_properties queue_properties = 0;
};

struct Context : Object<_cl_context, Magic::Context> {
    static constexpr Magic kMagic = Magic::Context;
    Connection* connection = nullptr; ///< parts.front(): the daemon of the first device
    uint64_t id = 0;                  ///< The same on every part: object ids are process-wide.
    std::vector<Device*> devices;
    /// Every daemon with a device in the context, in order of first appearance. A context
    /// spanning daemons has a native context (and every buffer, program and kernel) on each.
    std::vector<Connection*> parts;
    bool spans() const { return parts.size() > 1; }
    /// The position of `conn` in parts (parts.size() if absent).
    size_t part_of(const Connection* conn) const {
        size_t i = 0;
        while (i < parts.size() && parts[i] != conn)
            ++i;
        return i;
    }
    std::vector<cl_context_properties> properties; ///< As given, zero-terminated, or empty.
    std::mutex mutex;
    std::vector<std::pair<void(CL_CALLBACK*)(cl_context, void*), void*>>
        destructor_callbacks; // guarded by mutex
    /// clGetSupportedImageFormats answers by (image type, access flags) (guarded by mutex).
    std::map<std::pair<cl_mem_object_type, cl_mem_flags>, std::vector<cl_image_format>>
        image_formats;
    /// Spanning contexts: per part, the internal queue that moves buffers (0: none yet).
    std::vector<uint64_t> transfer_queues; // guarded by mutex
    /// Direct moves between parts (by from * kMaxParts + to) that failed in a row; after two,
    /// that pair's moves go through the client (guarded by mutex).
    std::map<size_t, int> direct_failures;
    bool has(const Device* d) const {
        for (auto* x : devices)
            if (x == d) return true;
        return false;
    }
};

struct Queue : Object<_cl_command_queue, Magic::Queue> {
    static constexpr Magic kMagic = Magic::Queue;
    Context* context = nullptr;
    Device* device = nullptr;
    Connection* connection = nullptr; ///< device->connection: where its commands go
    uint64_t id = 0;
    cl_command_queue_properties properties = 0;
    std::vector<cl_queue_properties> properties_array; ///< clCreateCommandQueueWithProperties'.
};

/// Where the packed rows of an image region sit in host memory: row r of slice s at
/// s * slice_stride + r * row_stride (a 1D image array's layers are its rows).
struct HostLayout {
    size_t row_bytes = 0; ///< 0: the memory is packed (no scatter or gather)
    size_t rows = 0;      ///< rows per slice
    size_t row_stride = 0;
    size_t slice_stride = 0;
};

struct Mapping {
    void* pointer = nullptr;
    size_t offset = 0;
    size_t size = 0;
    cl_map_flags flags = 0;
    bool staging = false; ///< pointer is ours (freed at unmap), not the USE_HOST_PTR memory.
    // Images: the mapped box, and how its rows lie at `pointer`.
    size_t origin[3] = {0, 0, 0};
    size_t region[3] = {0, 0, 0};
    HostLayout layout;
};

/// What an image was created as (Mem::image).
struct ImageShape {
    cl_image_format format{};
    cl_image_desc desc{}; ///< As given; desc.buffer is the application's handle.
    size_t pixel = 0;     ///< Bytes per pixel.
    /// CL_IMAGE_ROW_PITCH / CL_IMAGE_SLICE_PITCH: the host memory's for CL_MEM_USE_HOST_PTR.
    size_t row_pitch = 0;
    size_t slice_pitch = 0;
    size_t whole[3] = {1, 1, 1}; ///< The region that covers the whole image.
};

struct Mem : Object<_cl_mem, Magic::Mem> {
    static constexpr Magic kMagic = Magic::Mem;
    Context* context = nullptr;
    uint64_t id = 0;
    cl_mem_flags flags = 0;
    size_t size = 0;
    void* host_ptr = nullptr; ///< The application's memory for CL_MEM_USE_HOST_PTR.
    Mem* parent = nullptr;    ///< A sub-buffer's buffer (retained by it), else null.
    size_t origin = 0;        ///< A sub-buffer's offset in its parent.
    bool uses_svm = false;    ///< Made over SVM memory (CL_MEM_USE_HOST_PTR of an SVM pointer).
    /// clCreateBufferWithProperties' list as given (zero-terminated), empty otherwise.
    std::vector<cl_mem_properties> properties;
    std::mutex mutex;
    std::vector<Mapping> mappings; // guarded by mutex
    std::vector<std::pair<void(CL_CALLBACK*)(cl_mem, void*), void*>>
        destructor_callbacks; // guarded by mutex
    /// Spanning contexts: the parts holding the newest contents (bit i: context part i), and
    /// per part the user event that completes once contents moved there have arrived (0: none).
    uint64_t holders = ~uint64_t{0};                // guarded by mutex
    std::vector<std::shared_ptr<Arrival>> arrivals; // guarded by mutex
    /// Images only (null for buffers); `parent` is then the buffer an image of a buffer views.
    std::unique_ptr<const ImageShape> image;
};

struct Sampler : Object<_cl_sampler, Magic::Sampler> {
    static constexpr Magic kMagic = Magic::Sampler;
    Context* context = nullptr;
    uint64_t id = 0;
    cl_bool normalized_coords = CL_TRUE;
    cl_addressing_mode addressing = CL_ADDRESS_CLAMP;
    cl_filter_mode filter = CL_FILTER_NEAREST;
    std::vector<cl_sampler_properties> properties; ///< As given (zero-terminated), or empty.
};

struct KernelArgDesc {
    cl_kernel_arg_address_qualifier address = 0;
    cl_kernel_arg_access_qualifier access = 0;
    cl_kernel_arg_type_qualifier type_qualifier = 0;
    std::string type_name;
    std::string name;
};

struct KernelDesc {
    std::string name;
    std::string attributes;
    std::vector<KernelArgDesc> args;
    size_t work_group_size = 0;                    ///< CL_KERNEL_WORK_GROUP_SIZE; 0 = unknown
    size_t compile_work_group_size[3] = {0, 0, 0}; ///< reqd_work_group_size, zeros if none
};

struct DeviceBuild {
    cl_build_status status = CL_BUILD_NONE;
    std::string log;
    std::string options;
    cl_program_binary_type binary_type = CL_PROGRAM_BINARY_TYPE_NONE;
};

struct Program : Object<_cl_program, Magic::Program> {
    static constexpr Magic kMagic = Magic::Program;
    Context* context = nullptr;
    uint64_t id = 0;
    std::string source;
    bool from_binary = false;
    std::mutex mutex;
    std::map<const Device*, DeviceBuild> builds; // guarded by mutex
    std::vector<KernelDesc> kernels;             // guarded by mutex; set by a successful build
    bool built = false;                          // guarded by mutex
    std::atomic<int> live_kernels{0};
    const KernelDesc* find_kernel(const std::string& name) const {
        for (auto& k : kernels)
            if (k.name == name) return &k;
        return nullptr;
    }
};

struct Kernel : Object<_cl_kernel, Magic::Kernel> {
    static constexpr Magic kMagic = Magic::Kernel;
    Program* program = nullptr;
    uint64_t id = 0;
    KernelDesc desc;
    std::mutex mutex;
    std::vector<bool> arg_set; // guarded by mutex
    /// The buffer each argument names (null for other kinds): a launch whose buffer the
    /// application has released is refused (guarded by mutex).
    std::vector<const void*> arg_mems;
};

/// A clSetEventCallback registration. Only completion is mirrored from the daemon: callbacks for
/// CL_SUBMITTED and CL_RUNNING fire with it, with the state they were registered for as status
/// (or the command's error), as the specification defines the argument.
struct EventCallback {
    void(CL_CALLBACK* fn)(cl_event, cl_int, void*) = nullptr;
    void* data = nullptr;
    cl_int type = CL_COMPLETE;
    cl_int status_for(cl_int final_status) const { return final_status < 0 ? final_status : type; }
};

struct Event : Object<_cl_event, Magic::Event> {
    static constexpr Magic kMagic = Magic::Event;
    Context* context = nullptr;
    Queue* queue = nullptr; ///< Null for user events.
    /// The daemon whose notice completes it; user events exist on every part of the context.
    Connection* connection = nullptr;
    uint64_t id = 0;
    cl_command_type command_type = 0;
    bool profiling = false;
    /// Only notices name it on the daemon (a direct move's export or import): no object there
    /// to release.
    bool notice_only = false;
    std::atomic<cl_int> status{CL_QUEUED};
    cl_ulong times[4] = {0, 0, 0, 0}; ///< queued, submit, start, end; valid once complete.
    // The rest belongs to the connection's I/O thread, except callbacks (guarded by mutex).
    int pending_transfers = 0; ///< Read chunks still to land before the event may complete.
    bool notice_deferred = false;
    cl_int deferred_status = CL_COMPLETE;
    std::mutex mutex;
    std::vector<EventCallback> callbacks;
    /// The ICD's own completion hooks (spanning contexts), run by whoever completes the event,
    /// never blocking (guarded by mutex).
    std::vector<std::function<void(cl_int)>> hooks;
    /// User events standing for this one on other daemons (guarded by mutex).
    std::vector<std::pair<Connection*, uint64_t>> proxies;
    bool complete() const { return status.load() <= CL_COMPLETE; }
};

} // namespace rgpu::icd
