// SPDX-License-Identifier: Apache-2.0
// Image geometry both ends agree on: the region of a whole image, the bytes of one pixel of a
// format, and how a region is cut into pieces of whole rows (or whole slices) that each fit one
// transfer chunk. Image data travels packed: row r of slice s of a region starts at
// (s * rows + r) * row_bytes.
#pragma once

#include <CL/cl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rgpu::proto {

/// The region that covers a whole image of `type`: only the dimensions the type has count (the
/// specification ignores the others, whatever a descriptor holds there).
inline void whole_region(cl_mem_object_type type, size_t width, size_t height, size_t depth,
                         size_t array_size, size_t region[3]) {
    region[0] = width;
    region[1] = region[2] = 1;
    switch (type) {
    case CL_MEM_OBJECT_IMAGE1D_ARRAY:
        region[1] = array_size;
        break;
    case CL_MEM_OBJECT_IMAGE2D:
        region[1] = height;
        break;
    case CL_MEM_OBJECT_IMAGE2D_ARRAY:
        region[1] = height;
        region[2] = array_size;
        break;
    case CL_MEM_OBJECT_IMAGE3D:
        region[1] = height;
        region[2] = depth;
        break;
    default: // 1D, 1D buffer
        break;
    }
}

/// Bytes per pixel of `format`, or 0 when the order or data type is unknown or they do not go
/// together (a packed type needs an order of its width).
inline size_t pixel_bytes(const cl_image_format& format) {
    size_t channels = 0;
    switch (format.image_channel_order) {
    case CL_R:
    case CL_A:
    case CL_INTENSITY:
    case CL_LUMINANCE:
    case CL_DEPTH:
        channels = 1;
        break;
    case CL_RG:
    case CL_RA:
    case CL_Rx:
        channels = 2;
        break;
    case CL_RGB:
    case CL_RGx:
    case CL_sRGB:
        channels = 3;
        break;
    case CL_RGBA:
    case CL_BGRA:
    case CL_ARGB:
    case CL_ABGR:
    case CL_RGBx:
    case CL_sRGBA:
    case CL_sBGRA:
    case CL_sRGBx:
        channels = 4;
        break;
    default:
        return 0;
    }
    switch (format.image_channel_data_type) {
    case CL_SNORM_INT8:
    case CL_UNORM_INT8:
    case CL_SIGNED_INT8:
    case CL_UNSIGNED_INT8:
        return channels;
    case CL_SNORM_INT16:
    case CL_UNORM_INT16:
    case CL_SIGNED_INT16:
    case CL_UNSIGNED_INT16:
    case CL_HALF_FLOAT:
        return 2 * channels;
    case CL_SIGNED_INT32:
    case CL_UNSIGNED_INT32:
    case CL_FLOAT:
        return 4 * channels;
    // Packed types: one pixel is one word, whatever the channels.
    case CL_UNORM_SHORT_565:
    case CL_UNORM_SHORT_555:
        return 2;
    case CL_UNORM_INT_101010:
    case CL_UNORM_INT_101010_2:
        return 4;
    default:
        return 0;
    }
}

/// A box of an image and where its packed bytes sit within the packed bytes of a larger region.
struct ImagePiece {
    size_t origin[3];
    size_t region[3];
    uint64_t offset; ///< Packed offset within the whole region.
    uint64_t bytes;
};

/// Cuts region (at origin) of pixel size `pixel` into pieces of at most `max_bytes` (at least
/// one pixel each): the whole region, runs of whole slices, runs of rows of one slice, or runs
/// of pixels of one row.
inline std::vector<ImagePiece> split_region(const size_t origin[3], const size_t region[3],
                                            size_t pixel, size_t max_bytes) {
    const uint64_t row = uint64_t{region[0]} * pixel;
    const uint64_t slice = row * region[1];
    std::vector<ImagePiece> out;
    if (row == 0 || region[1] == 0 || region[2] == 0) return out;
    if (slice * region[2] <= max_bytes) {
        out.push_back({{origin[0], origin[1], origin[2]},
                       {region[0], region[1], region[2]},
                       0,
                       slice * region[2]});
        return out;
    }
    if (slice <= max_bytes) {
        size_t step = std::max<size_t>(1, max_bytes / slice);
        for (size_t z = 0; z < region[2]; z += step) {
            size_t n = std::min(step, region[2] - z);
            out.push_back({{origin[0], origin[1], origin[2] + z},
                           {region[0], region[1], n},
                           z * slice,
                           n * slice});
        }
        return out;
    }
    if (row <= max_bytes) {
        size_t step = std::max<size_t>(1, max_bytes / row);
        for (size_t z = 0; z < region[2]; ++z)
            for (size_t y = 0; y < region[1]; y += step) {
                size_t n = std::min(step, region[1] - y);
                out.push_back({{origin[0], origin[1] + y, origin[2] + z},
                               {region[0], n, 1},
                               z * slice + y * row,
                               n * row});
            }
        return out;
    }
    // Rows longer than a chunk (wide 1D images): runs of pixels of one row.
    size_t step = std::max<size_t>(1, max_bytes / pixel);
    for (size_t z = 0; z < region[2]; ++z)
        for (size_t y = 0; y < region[1]; ++y)
            for (size_t x = 0; x < region[0]; x += step) {
                size_t n = std::min(step, region[0] - x);
                out.push_back({{origin[0] + x, origin[1] + y, origin[2] + z},
                               {n, 1, 1},
                               z * slice + y * row + x * pixel,
                               uint64_t{n} * pixel});
            }
    return out;
}

} // namespace rgpu::proto
