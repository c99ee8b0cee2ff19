// SPDX-License-Identifier: Apache-2.0
// Differential scenarios of images and samplers.
#include "scenario_support.h"
#include "scenarios.h"

#include <algorithm>
#include <cstdint>

namespace rgpu::e2e::scenarios {
using namespace detail;

namespace {

using Sampler = Ref<cl_sampler, clReleaseSampler>;

cl_image_desc desc_of(cl_mem_object_type type, size_t w, size_t h = 0, size_t depth = 0,
                      size_t arrays = 0, size_t row_pitch = 0, size_t slice_pitch = 0) {
    cl_image_desc d{};
    d.image_type = type;
    d.image_width = w;
    d.image_height = h;
    d.image_depth = depth;
    d.image_array_size = arrays;
    d.image_row_pitch = row_pitch;
    d.image_slice_pitch = slice_pitch;
    return d;
}

/// Every clGetImageInfo value of `image` as facts named `label ...`.
void image_facts(ScenarioResult& r, const std::string& label, cl_mem image) {
    for (auto [param, name] : {std::pair{CL_IMAGE_ELEMENT_SIZE, "element size"},
                               {CL_IMAGE_ROW_PITCH, "row pitch"},
                               {CL_IMAGE_SLICE_PITCH, "slice pitch"},
                               {CL_IMAGE_WIDTH, "width"},
                               {CL_IMAGE_HEIGHT, "height"},
                               {CL_IMAGE_DEPTH, "depth"},
                               {CL_IMAGE_ARRAY_SIZE, "array size"}}) {
        size_t value = 0;
        r.record(label + " " + name, clGetImageInfo(image, param, sizeof value, &value, nullptr));
        r.fact(label + " " + name, value);
    }
    cl_image_format format{};
    r.record(label + " format",
             clGetImageInfo(image, CL_IMAGE_FORMAT, sizeof format, &format, nullptr));
    r.fact(label + " format", std::to_string(format.image_channel_order) + "/" +
                                  std::to_string(format.image_channel_data_type));
    cl_mem_object_type type = 0;
    r.record(label + " CL_MEM_TYPE",
             clGetMemObjectInfo(image, CL_MEM_TYPE, sizeof type, &type, nullptr));
    r.fact(label + " CL_MEM_TYPE", type);
}

bool supported(cl_context context, cl_mem_object_type type, cl_image_format want) {
    cl_uint n = 0;
    if (clGetSupportedImageFormats(context, CL_MEM_READ_WRITE, type, 0, nullptr, &n) != CL_SUCCESS)
        return false;
    std::vector<cl_image_format> all(n);
    clGetSupportedImageFormats(context, CL_MEM_READ_WRITE, type, n, all.data(), nullptr);
    for (const auto& f : all)
        if (f.image_channel_order == want.image_channel_order &&
            f.image_channel_data_type == want.image_channel_data_type)
            return true;
    return false;
}

constexpr const char* kImageKernels = R"(
__kernel void shift(__read_only image2d_t in, sampler_t s, __write_only image2d_t out) {
    int2 p = (int2)(get_global_id(0), get_global_id(1));
    uint4 v = read_imageui(in, s, p + (int2)(1, 0));
    write_imageui(out, p, v + (uint4)(1, 2, 3, 4));
}
__kernel void volume(__read_only image3d_t in, __global float* out) {
    int4 p = (int4)(get_global_id(0), get_global_id(1), get_global_id(2), 0);
    size_t i = (get_global_id(2) * get_image_height(in) + get_global_id(1)) *
               get_image_width(in) + get_global_id(0);
    out[i] = read_imagef(in, p).x * 2.0f;
}
)";

} // namespace

ScenarioResult images(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_bool image_support = CL_FALSE;
    SETUP("CL_DEVICE_IMAGE_SUPPORT",
          clGetDeviceInfo(d.id, CL_DEVICE_IMAGE_SUPPORT, sizeof image_support, &image_support,
                          nullptr));
    r.fact("image support", image_support == CL_TRUE);
    if (!image_support) return r;
    cl_uint count = 0;
    for (auto [type, name] : {std::pair{CL_MEM_OBJECT_IMAGE2D, "2D"},
                              {CL_MEM_OBJECT_IMAGE3D, "3D"},
                              {CL_MEM_OBJECT_IMAGE1D_ARRAY, "1D array"},
                              {CL_MEM_OBJECT_IMAGE1D_BUFFER, "1D buffer"}}) {
        r.record(
            std::string("formats ") + name,
            clGetSupportedImageFormats(d.context, CL_MEM_READ_WRITE, type, 0, nullptr, &count));
        r.fact(std::string("format count ") + name, count);
    }
    const cl_image_format rgba8{CL_RGBA, CL_UNSIGNED_INT8};
    const cl_image_format rfloat{CL_R, CL_FLOAT};
    r.fact("RGBA/UNSIGNED_INT8 2D", supported(d.context, CL_MEM_OBJECT_IMAGE2D, rgba8));
    r.fact("R/FLOAT 3D", supported(d.context, CL_MEM_OBJECT_IMAGE3D, rfloat));

    // A 16 x 8 RGBA8 image from host memory with padded rows (80 bytes per row of 64).
    constexpr size_t W = 16, H = 8, kPitch = 80;
    std::vector<uint8_t> host(kPitch * H);
    for (size_t i = 0; i < host.size(); ++i)
        host[i] = static_cast<uint8_t>(i * 7 + 3);
    cl_int err;
    cl_image_desc desc = desc_of(CL_MEM_OBJECT_IMAGE2D, W, H, 0, 0, kPitch);
    Mem a(clCreateImage(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &rgba8, &desc,
                        host.data(), &err));
    SETUP("clCreateImage 2D", err);
    image_facts(r, "2D", a);

    // A region read into pitched memory: the gaps between rows stay as they were.
    {
        size_t origin[3] = {2, 1, 0}, region[3] = {10, 5, 1};
        std::vector<uint8_t> out(48 * 5, 0xEE);
        r.record("read region", clEnqueueReadImage(d.queue, a, CL_TRUE, origin, region, 48, 0,
                                                   out.data(), 0, nullptr, nullptr));
        r.put("read region", out);
    }
    // A packed write of a box, a fill, then the whole image back.
    {
        size_t origin[3] = {3, 2, 0}, region[3] = {4, 3, 1};
        std::vector<uint8_t> box(4 * 3 * 4);
        for (size_t i = 0; i < box.size(); ++i)
            box[i] = static_cast<uint8_t>(200 + i);
        r.record("write box", clEnqueueWriteImage(d.queue, a, CL_FALSE, origin, region, 0, 0,
                                                  box.data(), 0, nullptr, nullptr));
        cl_uint color[4] = {9, 8, 7, 6};
        size_t fill_origin[3] = {12, 6, 0}, fill_region[3] = {4, 2, 1};
        r.record("fill", clEnqueueFillImage(d.queue, a, color, fill_origin, fill_region, 0, nullptr,
                                            nullptr));
        std::vector<uint8_t> whole(W * H * 4);
        size_t zero[3] = {0, 0, 0}, all[3] = {W, H, 1};
        r.record("read whole", clEnqueueReadImage(d.queue, a, CL_TRUE, zero, all, 0, 0,
                                                  whole.data(), 0, nullptr, nullptr));
        r.put("after write and fill", whole);
    }
    // Copies: image to image, image to buffer, buffer to image.
    cl_image_desc plain = desc_of(CL_MEM_OBJECT_IMAGE2D, W, H);
    Mem b(clCreateImage(d.context, CL_MEM_READ_WRITE, &rgba8, &plain, nullptr, &err));
    SETUP("clCreateImage b", err);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, W * H * 4, nullptr, &err));
    SETUP("clCreateBuffer", err);
    {
        size_t zero[3] = {0, 0, 0}, all[3] = {W, H, 1}, src[3] = {4, 0, 0}, dst[3] = {0, 4, 0},
               half[3] = {8, 4, 1};
        cl_uint black[4] = {0, 0, 0, 0};
        r.record("fill b", clEnqueueFillImage(d.queue, b, black, zero, all, 0, nullptr, nullptr));
        r.record("copy image",
                 clEnqueueCopyImage(d.queue, a, b, src, dst, half, 0, nullptr, nullptr));
        r.record("copy to buffer",
                 clEnqueueCopyImageToBuffer(d.queue, b, buffer, zero, all, 0, 0, nullptr, nullptr));
        std::vector<uint8_t> bytes(W * H * 4);
        r.record("read buffer", clEnqueueReadBuffer(d.queue, buffer, CL_TRUE, 0, bytes.size(),
                                                    bytes.data(), 0, nullptr, nullptr));
        r.put("b through buffer", bytes);
        size_t at[3] = {1, 1, 0}, box[3] = {3, 2, 1};
        r.record("copy to image",
                 clEnqueueCopyBufferToImage(d.queue, buffer, a, 16, at, box, 0, nullptr, nullptr));
        std::vector<uint8_t> whole(W * H * 4);
        r.record("read a", clEnqueueReadImage(d.queue, a, CL_TRUE, zero, all, 0, 0, whole.data(), 0,
                                              nullptr, nullptr));
        r.put("a after copy from buffer", whole);
    }
    // A kernel reading through a sampler and writing an image.
    Sampler sampler(
        clCreateSampler(d.context, CL_FALSE, CL_ADDRESS_CLAMP_TO_EDGE, CL_FILTER_NEAREST, &err));
    SETUP("clCreateSampler", err);
    cl_addressing_mode addressing = 0;
    r.record("CL_SAMPLER_ADDRESSING_MODE",
             clGetSamplerInfo(sampler, CL_SAMPLER_ADDRESSING_MODE, sizeof addressing, &addressing,
                              nullptr));
    r.fact("sampler addressing", addressing);
    cl_uint sampler_refs = 0;
    r.record("CL_SAMPLER_REFERENCE_COUNT",
             clGetSamplerInfo(sampler, CL_SAMPLER_REFERENCE_COUNT, sizeof sampler_refs,
                              &sampler_refs, nullptr));
    r.fact("sampler reference count", sampler_refs);
    Program program;
    if (!build(r, d, program, kImageKernels, "")) return r;
    Kernel shift(clCreateKernel(program, "shift", &err));
    SETUP("clCreateKernel shift", err);
    cl_mem in = a, out = b;
    cl_sampler s = sampler;
    r.record("arg image", clSetKernelArg(shift, 0, sizeof in, &in));
    r.record("arg sampler", clSetKernelArg(shift, 1, sizeof s, &s));
    r.record("arg out", clSetKernelArg(shift, 2, sizeof out, &out));
    size_t global[2] = {W, H};
    r.record("launch shift", clEnqueueNDRangeKernel(d.queue, shift, 2, nullptr, global, nullptr, 0,
                                                    nullptr, nullptr));
    {
        std::vector<uint8_t> whole(W * H * 4);
        size_t zero[3] = {0, 0, 0}, all[3] = {W, H, 1};
        r.record("read shifted", clEnqueueReadImage(d.queue, b, CL_TRUE, zero, all, 0, 0,
                                                    whole.data(), 0, nullptr, nullptr));
        r.put("shifted", whole);
    }
    // Map a box for writing and reading, change it, unmap, read back.
    {
        size_t origin[3] = {5, 3, 0}, region[3] = {6, 4, 1}, row_pitch = 0, slice_pitch = 1;
        auto* p = static_cast<uint8_t*>(
            clEnqueueMapImage(d.queue, a, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, origin, region,
                              &row_pitch, &slice_pitch, 0, nullptr, nullptr, &err));
        r.record("map image", err);
        if (p) {
            r.fact("map slice pitch", slice_pitch);
            std::vector<uint8_t> seen;
            for (size_t y = 0; y < region[1]; ++y)
                for (size_t x = 0; x < region[0] * 4; ++x) {
                    seen.push_back(p[y * row_pitch + x]);
                    p[y * row_pitch + x] = static_cast<uint8_t>(x + 16 * y);
                }
            r.put("mapped", seen);
            r.record("unmap image", clEnqueueUnmapMemObject(d.queue, a, p, 0, nullptr, nullptr));
        }
        std::vector<uint8_t> whole(W * H * 4);
        size_t zero[3] = {0, 0, 0}, all[3] = {W, H, 1};
        r.record("read after unmap", clEnqueueReadImage(d.queue, a, CL_TRUE, zero, all, 0, 0,
                                                        whole.data(), 0, nullptr, nullptr));
        r.put("after unmap", whole);
    }
    // A 3D image with pitched slices, read by a kernel and read back in a box.
    if (supported(d.context, CL_MEM_OBJECT_IMAGE3D, rfloat)) {
        constexpr size_t X = 8, Y = 4, Z = 3, kRow = 40, kSlice = 200;
        std::vector<float> vol(kSlice * Z / sizeof(float), -1.0f);
        for (size_t z = 0; z < Z; ++z)
            for (size_t y = 0; y < Y; ++y)
                for (size_t x = 0; x < X; ++x)
                    vol[(z * kSlice + y * kRow) / sizeof(float) + x] =
                        static_cast<float>(100 * z + 10 * y + x);
        cl_image_desc d3 = desc_of(CL_MEM_OBJECT_IMAGE3D, X, Y, Z, 0, kRow, kSlice);
        Mem v(clCreateImage(d.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, &rfloat, &d3,
                            vol.data(), &err));
        SETUP("clCreateImage 3D", err);
        image_facts(r, "3D", v);
        size_t origin[3] = {1, 1, 1}, region[3] = {5, 2, 2};
        std::vector<float> box(5 * 2 * 2);
        r.record("read 3D box", clEnqueueReadImage(d.queue, v, CL_TRUE, origin, region, 0, 0,
                                                   box.data(), 0, nullptr, nullptr));
        r.put("3D box", box);
        Kernel volume(clCreateKernel(program, "volume", &err));
        SETUP("clCreateKernel volume", err);
        Mem sums(
            clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, X * Y * Z * sizeof(float), nullptr, &err));
        SETUP("clCreateBuffer sums", err);
        cl_mem vin = v, vout = sums;
        r.record("arg volume", clSetKernelArg(volume, 0, sizeof vin, &vin));
        r.record("arg sums", clSetKernelArg(volume, 1, sizeof vout, &vout));
        size_t g3[3] = {X, Y, Z};
        r.record("launch volume", clEnqueueNDRangeKernel(d.queue, volume, 3, nullptr, g3, nullptr,
                                                         0, nullptr, nullptr));
        std::vector<float> doubled(X * Y * Z);
        r.record("read sums",
                 clEnqueueReadBuffer(d.queue, sums, CL_TRUE, 0, doubled.size() * sizeof(float),
                                     doubled.data(), 0, nullptr, nullptr));
        r.put("volume doubled", doubled);
    }
    // A 1D image array: layers are rows; read two layers with a layer pitch.
    {
        cl_image_desc d1 = desc_of(CL_MEM_OBJECT_IMAGE1D_ARRAY, 12, 0, 0, 3);
        std::vector<uint8_t> layers(12 * 4 * 3);
        for (size_t i = 0; i < layers.size(); ++i)
            layers[i] = static_cast<uint8_t>(i);
        Mem arr(clCreateImage(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &rgba8, &d1,
                              layers.data(), &err));
        SETUP("clCreateImage 1D array", err);
        image_facts(r, "1D array", arr);
        size_t origin[3] = {2, 1, 0}, region[3] = {8, 2, 1};
        // (Layers 64 bytes apart as both the row and the slice pitch: POCL 3.1 steps layers by
        // the row pitch, the specification by the slice pitch.)
        std::vector<uint8_t> out(64 * 2, 0xAB);
        r.record("read layers", clEnqueueReadImage(d.queue, arr, CL_TRUE, origin, region, 64, 64,
                                                   out.data(), 0, nullptr, nullptr));
        r.put("layers", out);
    }
    // Descriptors with values in fields their type does not have (which the specification
    // ignores): a 1D image with a height and depth, a 2D image with a depth and array size.
    for (auto [type, label] : {std::pair{CL_MEM_OBJECT_IMAGE1D, "1D with stray fields"},
                               std::pair{CL_MEM_OBJECT_IMAGE2D, "2D with stray fields"}}) {
        const bool two_d = type == CL_MEM_OBJECT_IMAGE2D;
        cl_image_desc stray = desc_of(type, 6, two_d ? 2 : 5, 3, 4);
        std::vector<uint8_t> pixels(6 * (two_d ? 2 : 1) * 4);
        for (size_t i = 0; i < pixels.size(); ++i)
            pixels[i] = static_cast<uint8_t>(i * 5 + 1);
        Mem img(clCreateImage(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &rgba8, &stray,
                              pixels.data(), &err));
        SETUP(std::string("clCreateImage ") + label, err);
        size_t origin[3] = {0, 0, 0}, region[3] = {6, two_d ? 2u : 1u, 1};
        std::vector<uint8_t> back(pixels.size(), 0xEE);
        r.record(std::string("read ") + label,
                 clEnqueueReadImage(d.queue, img, CL_TRUE, origin, region, 0, 0, back.data(), 0,
                                    nullptr, nullptr));
        r.fact(std::string(label) + " read back", back == pixels);
    }
    // Objects the host may not access, with initial contents larger than one transfer chunk:
    // the daemon still writes them in pieces; a copy shows them.
    {
        constexpr size_t kW = 1100, kH = 1000; // 4.4 MB of RGBA8
        std::vector<uint8_t> big(kW * kH * 4);
        for (size_t i = 0; i < big.size(); ++i)
            big[i] = static_cast<uint8_t>(i % 251);
        cl_image_desc dbig = desc_of(CL_MEM_OBJECT_IMAGE2D, kW, kH);
        Mem hidden(clCreateImage(d.context,
                                 CL_MEM_READ_ONLY | CL_MEM_HOST_NO_ACCESS | CL_MEM_COPY_HOST_PTR,
                                 &rgba8, &dbig, big.data(), &err));
        SETUP("clCreateImage host no access", err);
        Mem hidden_buffer(clCreateBuffer(d.context, CL_MEM_HOST_NO_ACCESS | CL_MEM_COPY_HOST_PTR,
                                         big.size(), big.data(), &err));
        SETUP("clCreateBuffer host no access", err);
        Mem visible(clCreateBuffer(d.context, CL_MEM_READ_WRITE, big.size(), nullptr, &err));
        SETUP("clCreateBuffer visible", err);
        size_t box[3] = {kW, 2, 1}, last_rows[3] = {0, kH - 2, 0};
        std::vector<uint8_t> rows(kW * 2 * 4);
        r.record("copy hidden image rows",
                 clEnqueueCopyImageToBuffer(d.queue, hidden, visible, last_rows, box, 0, 0, nullptr,
                                            nullptr));
        r.record("read copied rows", clEnqueueReadBuffer(d.queue, visible, CL_TRUE, 0, rows.size(),
                                                         rows.data(), 0, nullptr, nullptr));
        r.put("hidden image last rows", rows);
        r.record("copy hidden buffer",
                 clEnqueueCopyBuffer(d.queue, hidden_buffer, visible, big.size() - rows.size(), 0,
                                     rows.size(), 0, nullptr, nullptr));
        r.record("read copied bytes", clEnqueueReadBuffer(d.queue, visible, CL_TRUE, 0, rows.size(),
                                                          rows.data(), 0, nullptr, nullptr));
        r.put("hidden buffer tail", rows);
        // A read of more than one transfer chunk (beyond the whole staging budget of the
        // smallest-limits daemon): it must wait for staging room off the I/O thread.
        Mem readable(clCreateImage(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, &rgba8,
                                   &dbig, big.data(), &err));
        SETUP("clCreateImage large", err);
        std::vector<uint8_t> back(big.size());
        size_t zero[3] = {0, 0, 0}, all[3] = {kW, kH, 1};
        r.record("read large image", clEnqueueReadImage(d.queue, readable, CL_TRUE, zero, all, 0, 0,
                                                        back.data(), 0, nullptr, nullptr));
        r.fact("large image read back", back == big);
    }
    // A 1D image over a buffer: the buffer's bytes, seen as pixels.
    {
        const cl_image_format r32{CL_R, CL_UNSIGNED_INT32};
        if (supported(d.context, CL_MEM_OBJECT_IMAGE1D_BUFFER, r32)) {
            std::vector<cl_uint> words(64);
            for (size_t i = 0; i < words.size(); ++i)
                words[i] = static_cast<cl_uint>(i * i);
            Mem backing(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                       words.size() * sizeof(cl_uint), words.data(), &err));
            SETUP("clCreateBuffer backing", err);
            cl_image_desc db = desc_of(CL_MEM_OBJECT_IMAGE1D_BUFFER, 64);
            db.buffer = backing;
            Mem view(clCreateImage(d.context, 0, &r32, &db, nullptr, &err));
            SETUP("clCreateImage 1D buffer", err);
            cl_mem associated = nullptr;
            r.record("CL_MEM_ASSOCIATED_MEMOBJECT",
                     clGetMemObjectInfo(view, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof associated,
                                        &associated, nullptr));
            r.fact("associated is the buffer", associated == backing.get());
            cl_mem_flags flags = 0;
            r.record("1D buffer CL_MEM_FLAGS",
                     clGetMemObjectInfo(view, CL_MEM_FLAGS, sizeof flags, &flags, nullptr));
            r.fact("1D buffer flags", flags);
            size_t origin[3] = {10, 0, 0}, region[3] = {5, 1, 1};
            std::vector<cl_uint> got(5);
            r.record("read 1D buffer image",
                     clEnqueueReadImage(d.queue, view, CL_TRUE, origin, region, 0, 0, got.data(), 0,
                                        nullptr, nullptr));
            r.put("1D buffer view", got);
        }
    }
    return r;
}

ScenarioResult image_errors(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_bool image_support = CL_FALSE;
    SETUP("CL_DEVICE_IMAGE_SUPPORT",
          clGetDeviceInfo(d.id, CL_DEVICE_IMAGE_SUPPORT, sizeof image_support, &image_support,
                          nullptr));
    if (!image_support) return r;
    const cl_image_format rgba8{CL_RGBA, CL_UNSIGNED_INT8};
    cl_int err;
    cl_image_desc good = desc_of(CL_MEM_OBJECT_IMAGE2D, 8, 8);
    Mem a(clCreateImage(d.context, CL_MEM_READ_WRITE, &rgba8, &good, nullptr, &err));
    SETUP("clCreateImage", err);
    std::vector<uint8_t> host(8 * 8 * 4);
    auto create = [&](const char* label, cl_mem_flags flags, const cl_image_format* format,
                      const cl_image_desc* desc, void* ptr) {
        cl_mem m = clCreateImage(d.context, flags, format, desc, ptr, &err);
        r.record(label, err);
        r.fact(std::string(label) + " gives NULL", m == nullptr);
        if (m) clReleaseMemObject(m);
    };
    create("error: no format", CL_MEM_READ_WRITE, nullptr, &good, nullptr);
    create("error: no descriptor", CL_MEM_READ_WRITE, &rgba8, nullptr, nullptr);
    create("error: host pointer without its flag", CL_MEM_READ_WRITE, &rgba8, &good, host.data());
    create("error: copy flag without a pointer", CL_MEM_COPY_HOST_PTR, &rgba8, &good, nullptr);
    create("error: conflicting flags", CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, &rgba8, &good,
           nullptr);

    size_t origin[3] = {0, 0, 0}, inside[3] = {8, 8, 1}, beyond[3] = {9, 8, 1}, deep[3] = {8, 8, 2};
    r.record("error: read beyond", clEnqueueReadImage(d.queue, a, CL_TRUE, origin, beyond, 0, 0,
                                                      host.data(), 0, nullptr, nullptr));
    r.record("error: 2D read of two slices",
             clEnqueueReadImage(d.queue, a, CL_TRUE, origin, deep, 0, 0, host.data(), 0, nullptr,
                                nullptr));
    r.record("error: read to NULL", clEnqueueReadImage(d.queue, a, CL_TRUE, origin, inside, 0, 0,
                                                       nullptr, 0, nullptr, nullptr));
    r.record("error: NULL region", clEnqueueReadImage(d.queue, a, CL_TRUE, origin, nullptr, 0, 0,
                                                      host.data(), 0, nullptr, nullptr));
    const cl_image_format other{CL_RGBA, CL_UNSIGNED_INT16};
    Mem wide(clCreateImage(d.context, CL_MEM_READ_WRITE, &other, &good, nullptr, &err));
    SETUP("clCreateImage 16-bit", err);
    size_t four[3] = {4, 4, 1}, at[3] = {2, 2, 0};
    r.record("error: copy between formats",
             clEnqueueCopyImage(d.queue, a, wide, origin, origin, four, 0, nullptr, nullptr));
    r.record("error: overlapping copy",
             clEnqueueCopyImage(d.queue, a, a, origin, at, four, 0, nullptr, nullptr));
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    size_t value = 0;
    r.record(
        "error: copy to a small buffer",
        clEnqueueCopyImageToBuffer(d.queue, a, buffer, origin, inside, 0, 0, nullptr, nullptr));
    r.record("error: unknown image info", clGetImageInfo(a, 0x7777, sizeof value, &value, nullptr));
    r.record("error: image read of a buffer",
             clEnqueueReadImage(d.queue, buffer, CL_TRUE, origin, four, 0, 0, host.data(), 0,
                                nullptr, nullptr));
    size_t row_pitch = 0;
    clEnqueueMapImage(d.queue, a, CL_TRUE, CL_MAP_READ, origin, four, nullptr, nullptr, 0, nullptr,
                      nullptr, &err);
    r.record("error: map without a row pitch", err);
    clEnqueueMapImage(d.queue, a, CL_TRUE, CL_MAP_READ, origin, beyond, &row_pitch, nullptr, 0,
                      nullptr, nullptr, &err);
    r.record("error: map beyond", err);
    cl_uint count = 0;
    r.record("error: formats of a buffer type",
             clGetSupportedImageFormats(d.context, CL_MEM_READ_WRITE, CL_MEM_OBJECT_BUFFER, 0,
                                        nullptr, &count));
    const cl_sampler_properties props[] = {CL_SAMPLER_NORMALIZED_COORDS, CL_FALSE,
                                           CL_SAMPLER_FILTER_MODE, CL_FILTER_LINEAR, 0};
    cl_sampler with_props = clCreateSamplerWithProperties(d.context, props, &err);
    r.record("clCreateSamplerWithProperties", err);
    if (with_props) {
        size_t size = 0;
        r.record("CL_SAMPLER_PROPERTIES size",
                 clGetSamplerInfo(with_props, CL_SAMPLER_PROPERTIES, 0, nullptr, &size));
        r.fact("sampler properties size", size);
        cl_filter_mode filter = 0;
        r.record("CL_SAMPLER_FILTER_MODE", clGetSamplerInfo(with_props, CL_SAMPLER_FILTER_MODE,
                                                            sizeof filter, &filter, nullptr));
        r.fact("sampler filter", filter);
        clReleaseSampler(with_props);
    }
    const cl_sampler_properties bad_props[] = {0x5555, 1, 0};
    clCreateSamplerWithProperties(d.context, bad_props, &err);
    r.record("error: unknown sampler property", err);
    r.record("error: sampler info of a NULL sampler",
             clGetSamplerInfo(nullptr, CL_SAMPLER_FILTER_MODE, sizeof value, &value, nullptr));
    return r;
}

ScenarioResult image_errors_beyond_pocl(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    const cl_image_format rgba8{CL_RGBA, CL_UNSIGNED_INT8};
    cl_int err;
    cl_image_desc good = desc_of(CL_MEM_OBJECT_IMAGE2D, 8, 8);
    Mem a(clCreateImage(d.context, CL_MEM_READ_WRITE, &rgba8, &good, nullptr, &err));
    SETUP("clCreateImage", err);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    std::vector<uint8_t> host(8 * 8 * 4);
    size_t origin[3] = {0, 0, 0}, inside[3] = {8, 8, 1};
    size_t value = 0;
    auto create = [&](const char* label, cl_mem_flags flags, const cl_image_format* format,
                      const cl_image_desc* desc, void* ptr) {
        cl_mem m = clCreateImage(d.context, flags, format, desc, ptr, &err);
        r.record(label, err);
        r.fact(std::string(label) + " gives NULL", m == nullptr);
        if (m) clReleaseMemObject(m);
    };
    const cl_image_format unknown{0x1234, CL_UNSIGNED_INT8};
    create("error: unknown channel order", CL_MEM_READ_WRITE, &unknown, &good, nullptr);
    cl_image_desc zero_width = desc_of(CL_MEM_OBJECT_IMAGE2D, 0, 8);
    create("error: zero width", CL_MEM_READ_WRITE, &rgba8, &zero_width, nullptr);
    cl_image_desc huge = desc_of(CL_MEM_OBJECT_IMAGE2D, size_t{1} << 40, 8);
    create("error: too wide", CL_MEM_READ_WRITE, &rgba8, &huge, nullptr);
    cl_image_desc pitched = desc_of(CL_MEM_OBJECT_IMAGE2D, 8, 8, 0, 0, 64);
    create("error: row pitch without a pointer", CL_MEM_READ_WRITE, &rgba8, &pitched, nullptr);
    cl_image_desc short_pitch = desc_of(CL_MEM_OBJECT_IMAGE2D, 8, 8, 0, 0, 16);
    create("error: row pitch below a row", CL_MEM_COPY_HOST_PTR, &rgba8, &short_pitch, host.data());
    cl_image_desc bad_type = desc_of(CL_MEM_OBJECT_BUFFER, 8, 8);
    create("error: buffer type", CL_MEM_READ_WRITE, &rgba8, &bad_type, nullptr);
    r.record("error: slice pitch of a 2D image",
             clEnqueueReadImage(d.queue, a, CL_TRUE, origin, inside, 0, 4096, host.data(), 0,
                                nullptr, nullptr));
    r.record("error: image info of a buffer",
             clGetImageInfo(buffer, CL_IMAGE_WIDTH, sizeof value, &value, nullptr));
    r.record("error: buffer read of an image",
             clEnqueueReadBuffer(d.queue, a, CL_TRUE, 0, 16, host.data(), 0, nullptr, nullptr));
    cl_sampler bad = clCreateSampler(d.context, CL_TRUE, 0x9999, CL_FILTER_NEAREST, &err);
    r.record("error: sampler addressing", err);
    r.fact("bad sampler gives NULL", bad == nullptr);
    bad = clCreateSampler(d.context, CL_TRUE, CL_ADDRESS_CLAMP, 0x9999, &err);
    r.record("error: sampler filter", err);
    Program program;
    if (!build(r, d, program,
               "__kernel void k(sampler_t s, __global int* p, __write_only image2d_t out) {\n"
               "  p[0] = 1; write_imageui(out, (int2)(0, 0), (uint4)(1)); }\n",
               ""))
        return r;
    Kernel kernel(clCreateKernel(program, "k", &err));
    SETUP("clCreateKernel", err);
    cl_mem as_mem = buffer;
    r.record("error: a buffer as a sampler argument",
             clSetKernelArg(kernel, 0, sizeof as_mem, &as_mem));
    cl_mem image = a;
    r.record("error: an image as a buffer argument",
             clSetKernelArg(kernel, 1, sizeof image, &image));
    r.record("error: a buffer as an image argument",
             clSetKernelArg(kernel, 2, sizeof as_mem, &as_mem));
    Mem read_only(clCreateImage(d.context, CL_MEM_READ_ONLY, &rgba8, &good, nullptr, &err));
    SETUP("clCreateImage read-only", err);
    cl_mem ro = read_only;
    r.record("error: a read-only image as a write-only argument",
             clSetKernelArg(kernel, 2, sizeof ro, &ro));
    r.record("a read-write image as a write-only argument",
             clSetKernelArg(kernel, 2, sizeof image, &image));

    // Copies between an image and a sub-buffer crash POCL 3.1 (a segmentation fault in the
    // enqueue call); through rgpu they land where the specification says.
    std::vector<uint8_t> pixels(host.size());
    for (size_t i = 0; i < pixels.size(); ++i)
        pixels[i] = static_cast<uint8_t>(i * 7 + 3);
    SETUP("clEnqueueWriteImage", clEnqueueWriteImage(d.queue, a, CL_TRUE, origin, inside, 0, 0,
                                                     pixels.data(), 0, nullptr, nullptr));
    Mem whole(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 65536, nullptr, &err));
    SETUP("clCreateBuffer 64 KiB", err);
    std::vector<uint8_t> zeros(65536, 0);
    SETUP("clEnqueueWriteBuffer zeros",
          clEnqueueWriteBuffer(d.queue, whole, CL_TRUE, 0, zeros.size(), zeros.data(), 0, nullptr,
                               nullptr));
    cl_buffer_region part{4096, 8192};
    Mem sub(clCreateSubBuffer(whole, 0, CL_BUFFER_CREATE_TYPE_REGION, &part, &err));
    SETUP("clCreateSubBuffer", err);
    const size_t rows[3] = {8, 2, 1}; // rows 0 and 1: 64 bytes
    r.record("image to sub-buffer",
             clEnqueueCopyImageToBuffer(d.queue, a, sub, origin, rows, 16, 0, nullptr, nullptr));
    std::vector<uint8_t> back(65536);
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, whole, CL_TRUE, 0, back.size(),
                                                     back.data(), 0, nullptr, nullptr));
    r.fact("image rows land at the sub-buffer's offset",
           std::equal(pixels.begin(), pixels.begin() + 64, back.begin() + 4096 + 16) &&
               back[4096 + 15] == 0 && back[4096 + 16 + 64] == 0);
    const size_t row_two[3] = {0, 2, 0};
    r.record("sub-buffer to image",
             clEnqueueCopyBufferToImage(d.queue, sub, a, 16, row_two, rows, 0, nullptr, nullptr));
    SETUP("clEnqueueReadImage", clEnqueueReadImage(d.queue, a, CL_TRUE, origin, inside, 0, 0,
                                                   host.data(), 0, nullptr, nullptr));
    r.fact("sub-buffer bytes land in image rows 2 and 3",
           std::equal(pixels.begin(), pixels.begin() + 64, host.begin() + 64) &&
               std::equal(pixels.begin() + 128, pixels.end(), host.begin() + 128));
    r.record(
        "error: image to sub-buffer beyond its end",
        clEnqueueCopyImageToBuffer(d.queue, a, sub, origin, rows, 8192 - 32, 0, nullptr, nullptr));
    return r;
}

} // namespace rgpu::e2e::scenarios
