// SPDX-License-Identifier: Apache-2.0
// Image entry points: creation (every create call), info and the supported formats. Images are
// created asynchronously like buffers: everything the specification checks synchronously is
// checked here, from the devices' limits and the daemon's format list (asked once per context,
// type and access). Initial contents travel packed (image.fbs).
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../image_transfer.h"
#include "../mem_object.h"

#include <image_layout.h>

#include <algorithm>

namespace rgpu::icd {
namespace {

constexpr cl_mem_flags kAccessFlags =
    CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY | CL_MEM_KERNEL_READ_AND_WRITE;
constexpr cl_mem_flags kHostAccessFlags =
    CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS;
constexpr cl_mem_flags kHostPtrFlags =
    CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR;

bool more_than_one(cl_mem_flags flags) {
    return (flags & (flags - 1)) != 0;
}

bool is_image_type(cl_mem_object_type type) {
    switch (type) {
    case CL_MEM_OBJECT_IMAGE1D:
    case CL_MEM_OBJECT_IMAGE1D_ARRAY:
    case CL_MEM_OBJECT_IMAGE1D_BUFFER:
    case CL_MEM_OBJECT_IMAGE2D:
    case CL_MEM_OBJECT_IMAGE2D_ARRAY:
    case CL_MEM_OBJECT_IMAGE3D:
        return true;
    default:
        return false;
    }
}

template <class T> T device_info(const Device* d, cl_uint param) {
    T value{};
    if (auto it = d->info.find(param); it != d->info.end() && it->second.size() == sizeof value)
        std::memcpy(&value, it->second.data(), sizeof value);
    return value;
}

/// Whether some device of the context supports images of this size.
bool fits_a_device(const Context* c, const cl_image_desc& desc) {
    for (const Device* d : c->devices) {
        if (!device_info<cl_bool>(d, CL_DEVICE_IMAGE_SUPPORT)) continue;
        auto max = [&](cl_uint p) { return device_info<size_t>(d, p); };
        size_t arrays = max(CL_DEVICE_IMAGE_MAX_ARRAY_SIZE);
        bool ok = true;
        switch (desc.image_type) {
        case CL_MEM_OBJECT_IMAGE1D:
            ok = desc.image_width <= max(CL_DEVICE_IMAGE2D_MAX_WIDTH);
            break;
        case CL_MEM_OBJECT_IMAGE1D_BUFFER:
            ok = desc.image_width <= max(CL_DEVICE_IMAGE_MAX_BUFFER_SIZE);
            break;
        case CL_MEM_OBJECT_IMAGE1D_ARRAY:
            ok = desc.image_width <= max(CL_DEVICE_IMAGE2D_MAX_WIDTH) &&
                 desc.image_array_size <= arrays;
            break;
        case CL_MEM_OBJECT_IMAGE2D:
        case CL_MEM_OBJECT_IMAGE2D_ARRAY:
            ok = desc.image_width <= max(CL_DEVICE_IMAGE2D_MAX_WIDTH) &&
                 desc.image_height <= max(CL_DEVICE_IMAGE2D_MAX_HEIGHT) &&
                 (desc.image_type == CL_MEM_OBJECT_IMAGE2D || desc.image_array_size <= arrays);
            break;
        case CL_MEM_OBJECT_IMAGE3D:
            ok = desc.image_width <= max(CL_DEVICE_IMAGE3D_MAX_WIDTH) &&
                 desc.image_height <= max(CL_DEVICE_IMAGE3D_MAX_HEIGHT) &&
                 desc.image_depth <= max(CL_DEVICE_IMAGE3D_MAX_DEPTH);
            break;
        }
        if (ok) return true;
    }
    return false;
}

/// The formats the context's daemons all support for (type, access): asked once, then kept.
cl_int supported_formats(Context* c, cl_mem_object_type type, cl_mem_flags flags,
                         std::vector<cl_image_format>& out) {
    const cl_mem_flags access = flags & kAccessFlags;
    {
        std::lock_guard lock(c->mutex);
        if (auto it = c->image_formats.find({type, access}); it != c->image_formats.end()) {
            out = it->second;
            return CL_SUCCESS;
        }
    }
    std::vector<cl_image_format> common;
    for (size_t part = 0; part < c->parts.size(); ++part) {
        Answer a = c->parts[part]->call([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateGetInfo(fbb, wire::InfoKind::ImageFormats, c->id, type,
                                            static_cast<uint32_t>(access)));
        });
        if (a.status != CL_SUCCESS) return a.status;
        const wire::InfoReply* info = a.reply ? a.reply->body_as_InfoReply() : nullptr;
        if (!info) return CL_OUT_OF_RESOURCES;
        std::vector<cl_image_format> these;
        if (info->value()) {
            these.resize(info->value()->size() / sizeof(cl_image_format));
            std::memcpy(these.data(), info->value()->data(),
                        these.size() * sizeof(cl_image_format));
        }
        if (part == 0) {
            common = std::move(these);
            continue;
        }
        // A spanning context offers what every daemon can hold (an image lives on each).
        std::erase_if(common, [&](const cl_image_format& f) {
            return std::none_of(these.begin(), these.end(), [&](const cl_image_format& g) {
                return f.image_channel_order == g.image_channel_order &&
                       f.image_channel_data_type == g.image_channel_data_type;
            });
        });
    }
    std::lock_guard lock(c->mutex);
    c->image_formats[{type, access}] = common;
    out = std::move(common);
    return CL_SUCCESS;
}

/// The descriptor checks of clCreateImage after the format's (CL_INVALID_IMAGE_DESCRIPTOR).
bool descriptor_valid(const cl_image_desc& d, size_t pixel, const void* host_ptr) {
    if (!is_image_type(d.image_type) || d.image_width == 0) return false;
    bool two_d = d.image_type == CL_MEM_OBJECT_IMAGE2D ||
                 d.image_type == CL_MEM_OBJECT_IMAGE2D_ARRAY ||
                 d.image_type == CL_MEM_OBJECT_IMAGE3D;
    if (two_d && d.image_height == 0) return false;
    if (d.image_type == CL_MEM_OBJECT_IMAGE3D && d.image_depth == 0) return false;
    bool array =
        d.image_type == CL_MEM_OBJECT_IMAGE1D_ARRAY || d.image_type == CL_MEM_OBJECT_IMAGE2D_ARRAY;
    if (array && d.image_array_size == 0) return false;
    if (d.num_mip_levels != 0 || d.num_samples != 0) return false;
    bool of_buffer = d.image_type == CL_MEM_OBJECT_IMAGE1D_BUFFER ||
                     (d.image_type == CL_MEM_OBJECT_IMAGE2D && d.buffer);
    if (d.image_type == CL_MEM_OBJECT_IMAGE1D_BUFFER && !d.buffer) return false;
    if (d.buffer && !of_buffer) return false;
    // Pitches describe host memory (or, for a 2D image of a buffer, the buffer's rows).
    if (!host_ptr && !of_buffer && (d.image_row_pitch || d.image_slice_pitch)) return false;
    size_t row = d.image_width * pixel;
    if (d.image_row_pitch && (d.image_row_pitch < row || d.image_row_pitch % pixel)) return false;
    size_t r = d.image_row_pitch ? d.image_row_pitch : row;
    if (d.image_slice_pitch) {
        size_t least = d.image_type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? r : r * d.image_height;
        if (d.image_slice_pitch < least || d.image_slice_pitch % r) return false;
    }
    return true;
}

cl_mem create_image(cl_context context, const cl_mem_properties* properties, cl_mem_flags flags,
                    const cl_image_format* format, const cl_image_desc* desc, void* host_ptr,
                    cl_int& err) {
    Context* c = checked<Context>(context);
    if (!c) return err = CL_INVALID_CONTEXT, nullptr;
    if (properties && properties[0] != 0) return err = CL_INVALID_PROPERTY, nullptr;
    Mem* buffer = desc ? checked<Mem>(desc->buffer) : nullptr;
    const bool of_buffer = desc && desc->buffer;
    if (flags == 0 && !of_buffer) flags = CL_MEM_READ_WRITE;
    if ((flags & ~(kAccessFlags | kHostAccessFlags | kHostPtrFlags)) ||
        more_than_one(flags & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY)) ||
        more_than_one(flags & kHostAccessFlags) ||
        ((flags & CL_MEM_USE_HOST_PTR) && (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR))))
        return err = CL_INVALID_VALUE, nullptr;
    if (!format) return err = CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, nullptr;
    const size_t pixel = proto::pixel_bytes(*format);
    if (pixel == 0) return err = CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, nullptr;
    if (!desc || !descriptor_valid(*desc, pixel, host_ptr))
        return err = CL_INVALID_IMAGE_DESCRIPTOR, nullptr;
    if (of_buffer) {
        // The image views the buffer: its flags narrow the buffer's, as a sub-buffer's do.
        if (!buffer || buffer->image || buffer->context != c)
            return err = CL_INVALID_IMAGE_DESCRIPTOR, nullptr;
        const cl_mem_flags bf = buffer->flags;
        if ((flags & kHostPtrFlags) ||
            ((bf & CL_MEM_WRITE_ONLY) && (flags & (CL_MEM_READ_WRITE | CL_MEM_READ_ONLY))) ||
            ((bf & CL_MEM_READ_ONLY) && (flags & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY))) ||
            ((bf & CL_MEM_HOST_WRITE_ONLY) && (flags & CL_MEM_HOST_READ_ONLY)) ||
            ((bf & CL_MEM_HOST_READ_ONLY) && (flags & CL_MEM_HOST_WRITE_ONLY)) ||
            ((bf & CL_MEM_HOST_NO_ACCESS) &&
             (flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY))))
            return err = CL_INVALID_VALUE, nullptr;
        if (!(flags & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY)))
            flags |= bf & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY);
        if (!(flags & kHostAccessFlags)) flags |= bf & kHostAccessFlags;
        flags |= bf & kHostPtrFlags;
    }
    bool any_images = false;
    for (const Device* d : c->devices)
        if (device_info<cl_bool>(d, CL_DEVICE_IMAGE_SUPPORT)) any_images = true;
    if (!any_images) return err = CL_INVALID_OPERATION, nullptr;
    if (!fits_a_device(c, *desc)) return err = CL_INVALID_IMAGE_SIZE, nullptr;
    // A 2D image of a buffer needs cl_khr_image2d_from_buffer (a non-zero pitch alignment).
    if (of_buffer && desc->image_type == CL_MEM_OBJECT_IMAGE2D &&
        std::none_of(c->devices.begin(), c->devices.end(), [](const Device* d) {
            return device_info<cl_uint>(d, CL_DEVICE_IMAGE_PITCH_ALIGNMENT) != 0;
        }))
        return err = CL_INVALID_OPERATION, nullptr;
    const bool wants_ptr = flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR);
    if (!of_buffer && wants_ptr != (host_ptr != nullptr)) return err = CL_INVALID_HOST_PTR, nullptr;
    if (of_buffer && host_ptr) return err = CL_INVALID_HOST_PTR, nullptr;

    auto shape = std::make_unique<ImageShape>();
    shape->format = *format;
    shape->desc = *desc;
    shape->pixel = pixel;
    proto::whole_region(desc->image_type, desc->image_width, desc->image_height, desc->image_depth,
                        desc->image_array_size, shape->whole);
    const size_t row = desc->image_width * pixel;
    const size_t size = row * shape->whole[1] * shape->whole[2];
    if (of_buffer) {
        size_t pitch = desc->image_row_pitch ? desc->image_row_pitch : row;
        if (pitch * (shape->whole[1] - 1) + row > buffer->size)
            return err = CL_INVALID_IMAGE_SIZE, nullptr;
    }
    // Pitches the application sees: those of the memory it gave (as POCL reports them, for
    // copied memory too), else packed ones.
    HostLayout host = host_layout(desc->image_type, pixel, shape->whole, desc->image_row_pitch,
                                  desc->image_slice_pitch);
    const bool given = host_ptr || of_buffer;
    shape->row_pitch = given && desc->image_row_pitch ? desc->image_row_pitch : row;
    const size_t slice = given ? desc->image_slice_pitch : 0;
    switch (desc->image_type) {
    case CL_MEM_OBJECT_IMAGE1D_ARRAY:
        shape->slice_pitch = slice ? slice : shape->row_pitch;
        break;
    case CL_MEM_OBJECT_IMAGE2D_ARRAY:
    case CL_MEM_OBJECT_IMAGE3D:
        shape->slice_pitch = slice ? slice : shape->row_pitch * shape->whole[1];
        break;
    default:
        shape->slice_pitch = 0;
        break;
    }
    std::vector<cl_image_format> formats;
    if ((err = supported_formats(c, desc->image_type, flags, formats)) != CL_SUCCESS)
        return nullptr;
    if (std::none_of(formats.begin(), formats.end(), [&](const cl_image_format& f) {
            return f.image_channel_order == format->image_channel_order &&
                   f.image_channel_data_type == format->image_channel_data_type;
        }))
        return err = CL_IMAGE_FORMAT_NOT_SUPPORTED, nullptr;
    // An image of a buffer uses the buffer's memory: only images of their own count.
    if (!of_buffer && !reserve_on_every_part(c, size))
        return err = CL_MEM_OBJECT_ALLOCATION_FAILURE, nullptr;
    Mem* m = new_mem(c, flags, size, host_ptr);
    if (of_buffer) {
        m->parent = buffer;
        retain(buffer);
    }
    if (properties) m->properties.assign(1, 0);
    // Initial contents leave packed, copied now (the application may reuse its memory).
    std::shared_ptr<uint8_t[]> packed;
    if (wants_ptr && !of_buffer) {
        packed.reset(new uint8_t[size]);
        gather(packed.get(), static_cast<const uint8_t*>(host_ptr), host, size);
    }
    const ImageShape& s = *shape;
    m->image = std::move(shape);
    for (Connection* conn : c->parts) {
        bool inline_data = packed && size <= conn->transfer_chunk_bytes();
        std::vector<zmq::message_t> bulk;
        if (inline_data) bulk.emplace_back(packed.get(), size);
        conn->post(
            [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t frame) {
                return body(wire::CreateCreateImage(
                    fbb, m->id, c->id, flags, s.format.image_channel_order,
                    s.format.image_channel_data_type, s.desc.image_type, s.desc.image_width,
                    s.desc.image_height, s.desc.image_depth, s.desc.image_array_size,
                    buffer ? buffer->id : 0, of_buffer ? s.desc.image_row_pitch : 0,
                    inline_data ? frame : 0, 0, 0));
            },
            std::move(bulk));
        if (packed && !inline_data) {
            size_t origin[3] = {0, 0, 0};
            send_image_write(conn, 0, m, origin, s.whole,
                             {packed.get(), WriteSource::Kind::Shared, packed}, 0, {});
        }
    }
    return m;
}

} // namespace

cl_mem CL_API_CALL rgpu_clCreateImage(cl_context context, cl_mem_flags flags,
                                      const cl_image_format* format, const cl_image_desc* desc,
                                      void* host_ptr, cl_int* errcode_ret) {
    return guard_create<cl_mem>(errcode_ret, [&](cl_int& err) {
        return create_image(context, nullptr, flags, format, desc, host_ptr, err);
    });
}

cl_mem CL_API_CALL rgpu_clCreateImageWithProperties(
    cl_context context, const cl_mem_properties* properties, cl_mem_flags flags,
    const cl_image_format* format, const cl_image_desc* desc, void* host_ptr, cl_int* errcode_ret) {
    return guard_create<cl_mem>(errcode_ret, [&](cl_int& err) {
        return create_image(context, properties, flags, format, desc, host_ptr, err);
    });
}

cl_mem CL_API_CALL rgpu_clCreateImage2D(cl_context context, cl_mem_flags flags,
                                        const cl_image_format* format, size_t width, size_t height,
                                        size_t row_pitch, void* host_ptr, cl_int* errcode_ret) {
    cl_image_desc desc{};
    desc.image_type = CL_MEM_OBJECT_IMAGE2D;
    desc.image_width = width;
    desc.image_height = height;
    desc.image_row_pitch = row_pitch;
    return rgpu_clCreateImage(context, flags, format, &desc, host_ptr, errcode_ret);
}

cl_mem CL_API_CALL rgpu_clCreateImage3D(cl_context context, cl_mem_flags flags,
                                        const cl_image_format* format, size_t width, size_t height,
                                        size_t depth, size_t row_pitch, size_t slice_pitch,
                                        void* host_ptr, cl_int* errcode_ret) {
    cl_image_desc desc{};
    desc.image_type = CL_MEM_OBJECT_IMAGE3D;
    desc.image_width = width;
    desc.image_height = height;
    desc.image_depth = depth;
    desc.image_row_pitch = row_pitch;
    desc.image_slice_pitch = slice_pitch;
    return rgpu_clCreateImage(context, flags, format, &desc, host_ptr, errcode_ret);
}

cl_int CL_API_CALL rgpu_clGetSupportedImageFormats(cl_context context, cl_mem_flags flags,
                                                   cl_mem_object_type type, cl_uint num_entries,
                                                   cl_image_format* formats, cl_uint* num_formats) {
    return guard([&] {
        Context* c = checked<Context>(context);
        if (!c) return CL_INVALID_CONTEXT;
        if (!is_image_type(type)) return CL_INVALID_VALUE;
        if (num_entries == 0 && formats) return CL_INVALID_VALUE;
        std::vector<cl_image_format> all;
        if (flags == 0) flags = CL_MEM_READ_WRITE;
        cl_int err = supported_formats(c, type, flags, all);
        if (err != CL_SUCCESS) return err;
        if (formats) std::copy_n(all.begin(), std::min<size_t>(num_entries, all.size()), formats);
        if (num_formats) *num_formats = static_cast<cl_uint>(all.size());
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clGetImageInfo(cl_mem image, cl_image_info param, size_t size, void* value,
                                       size_t* size_ret) {
    Mem* m = checked<Mem>(image);
    if (!m || !m->image) return CL_INVALID_MEM_OBJECT;
    const ImageShape& s = *m->image;
    const cl_mem_object_type type = s.desc.image_type;
    switch (param) {
    case CL_IMAGE_FORMAT:
        return info_value(s.format, size, value, size_ret);
    case CL_IMAGE_ELEMENT_SIZE:
        return info_value(s.pixel, size, value, size_ret);
    case CL_IMAGE_ROW_PITCH:
        return info_value(s.row_pitch, size, value, size_ret);
    case CL_IMAGE_SLICE_PITCH:
        return info_value(s.slice_pitch, size, value, size_ret);
    case CL_IMAGE_WIDTH:
        return info_value(s.desc.image_width, size, value, size_ret);
    case CL_IMAGE_HEIGHT: {
        bool has = type == CL_MEM_OBJECT_IMAGE2D || type == CL_MEM_OBJECT_IMAGE2D_ARRAY ||
                   type == CL_MEM_OBJECT_IMAGE3D;
        return info_value(has ? s.desc.image_height : size_t{0}, size, value, size_ret);
    }
    case CL_IMAGE_DEPTH:
        return info_value(type == CL_MEM_OBJECT_IMAGE3D ? s.desc.image_depth : size_t{0}, size,
                          value, size_ret);
    case CL_IMAGE_ARRAY_SIZE: {
        bool has = type == CL_MEM_OBJECT_IMAGE1D_ARRAY || type == CL_MEM_OBJECT_IMAGE2D_ARRAY;
        return info_value(has ? s.desc.image_array_size : size_t{0}, size, value, size_ret);
    }
    case CL_IMAGE_BUFFER: // the buffer a 1D buffer image or a 2D image of a buffer views
        return info_value(s.desc.buffer, size, value, size_ret);
    case CL_IMAGE_NUM_MIP_LEVELS:
        return info_value(cl_uint{0}, size, value, size_ret);
    case CL_IMAGE_NUM_SAMPLES:
        return info_value(cl_uint{0}, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

} // namespace rgpu::icd
