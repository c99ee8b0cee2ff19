// SPDX-License-Identifier: Apache-2.0
// Image entry points. rgpu carries no images yet and its devices say so (CL_DEVICE_IMAGE_SUPPORT
// is false), so the format query answers with the empty set, as the specification asks of a
// context whose devices support no images.
#include "../api.h"
#include "../entry_points.h"

namespace rgpu::icd {

cl_int CL_API_CALL rgpu_clGetSupportedImageFormats(cl_context context, cl_mem_flags flags,
                                                   cl_mem_object_type type, cl_uint num_entries,
                                                   cl_image_format* formats, cl_uint* num_formats) {
    (void)flags;
    if (!checked<Context>(context)) return CL_INVALID_CONTEXT;
    switch (type) {
    case CL_MEM_OBJECT_IMAGE1D:
    case CL_MEM_OBJECT_IMAGE1D_ARRAY:
    case CL_MEM_OBJECT_IMAGE1D_BUFFER:
    case CL_MEM_OBJECT_IMAGE2D:
    case CL_MEM_OBJECT_IMAGE2D_ARRAY:
    case CL_MEM_OBJECT_IMAGE3D:
        break;
    default:
        return CL_INVALID_VALUE;
    }
    if (num_entries == 0 && formats) return CL_INVALID_VALUE;
    if (num_formats) *num_formats = 0;
    return CL_SUCCESS;
}

} // namespace rgpu::icd
