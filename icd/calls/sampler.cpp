// SPDX-License-Identifier: Apache-2.0
// Samplers: created on every daemon of the context; their info is the client's own.
#include "../api.h"
#include "../connection.h"
#include "../entry_points.h"

namespace rgpu::icd {
namespace {

bool context_has_images(const Context* c) {
    for (const Device* d : c->devices)
        if (auto it = d->info.find(CL_DEVICE_IMAGE_SUPPORT);
            it != d->info.end() && it->second.size() == sizeof(cl_bool)) {
            cl_bool yes = CL_FALSE;
            std::memcpy(&yes, it->second.data(), sizeof yes);
            if (yes) return true;
        }
    return false;
}

cl_sampler create_sampler(cl_context context, cl_bool normalized, cl_addressing_mode addressing,
                          cl_filter_mode filter, std::vector<cl_sampler_properties> properties,
                          cl_int& err) {
    Context* c = checked<Context>(context);
    if (!c) return err = CL_INVALID_CONTEXT, nullptr;
    switch (addressing) {
    case CL_ADDRESS_NONE:
    case CL_ADDRESS_CLAMP_TO_EDGE:
    case CL_ADDRESS_CLAMP:
    case CL_ADDRESS_REPEAT:
    case CL_ADDRESS_MIRRORED_REPEAT:
        break;
    default:
        return err = CL_INVALID_VALUE, nullptr;
    }
    if ((filter != CL_FILTER_NEAREST && filter != CL_FILTER_LINEAR) ||
        (normalized != CL_TRUE && normalized != CL_FALSE))
        return err = CL_INVALID_VALUE, nullptr;
    if (!context_has_images(c)) return err = CL_INVALID_OPERATION, nullptr;
    auto* s = new Sampler();
    s->context = c;
    s->id = Connection::new_id();
    s->normalized_coords = normalized;
    s->addressing = addressing;
    s->filter = filter;
    s->properties = std::move(properties);
    hold(c);
    for (Connection* conn : c->parts)
        conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateCreateSampler(fbb, s->id, c->id, normalized == CL_TRUE,
                                                  addressing, filter));
        });
    return s;
}

} // namespace

cl_sampler CL_API_CALL rgpu_clCreateSampler(cl_context context, cl_bool normalized_coords,
                                            cl_addressing_mode addressing_mode,
                                            cl_filter_mode filter_mode, cl_int* errcode_ret) {
    return guard_create<cl_sampler>(errcode_ret, [&](cl_int& err) {
        return create_sampler(context, normalized_coords, addressing_mode, filter_mode, {}, err);
    });
}

cl_sampler CL_API_CALL rgpu_clCreateSamplerWithProperties(cl_context context,
                                                          const cl_sampler_properties* properties,
                                                          cl_int* errcode_ret) {
    return guard_create<cl_sampler>(errcode_ret, [&](cl_int& err) -> cl_sampler {
        if (!checked<Context>(context)) return err = CL_INVALID_CONTEXT, nullptr;
        cl_bool normalized = CL_TRUE;
        cl_addressing_mode addressing = CL_ADDRESS_CLAMP;
        cl_filter_mode filter = CL_FILTER_NEAREST;
        std::vector<cl_sampler_properties> kept;
        bool seen[3] = {false, false, false};
        for (const cl_sampler_properties* p = properties; p && p[0] != 0; p += 2) {
            int slot = -1;
            switch (p[0]) {
            case CL_SAMPLER_NORMALIZED_COORDS:
                slot = 0;
                normalized = static_cast<cl_bool>(p[1]);
                break;
            case CL_SAMPLER_ADDRESSING_MODE:
                slot = 1;
                addressing = static_cast<cl_addressing_mode>(p[1]);
                break;
            case CL_SAMPLER_FILTER_MODE:
                slot = 2;
                filter = static_cast<cl_filter_mode>(p[1]);
                break;
            default:
                return err = CL_INVALID_VALUE, nullptr;
            }
            if (seen[slot]) return err = CL_INVALID_VALUE, nullptr;
            seen[slot] = true;
            kept.push_back(p[0]);
            kept.push_back(p[1]);
        }
        if (properties) kept.push_back(0);
        return create_sampler(context, normalized, addressing, filter, std::move(kept), err);
    });
}

cl_int CL_API_CALL rgpu_clRetainSampler(cl_sampler sampler) {
    return retain_handle<Sampler>(sampler, CL_INVALID_SAMPLER);
}

cl_int CL_API_CALL rgpu_clReleaseSampler(cl_sampler sampler) {
    return release_handle<Sampler>(sampler, CL_INVALID_SAMPLER);
}

void destroy(Sampler* s) {
    Context* c = s->context;
    for (Connection* conn : c->parts)
        conn->post_release(s->id);
    s->magic = Magic::Dead;
    delete s;
    drop(c);
}

cl_int CL_API_CALL rgpu_clGetSamplerInfo(cl_sampler sampler, cl_sampler_info param, size_t size,
                                         void* value, size_t* size_ret) {
    Sampler* s = checked<Sampler>(sampler);
    if (!s) return CL_INVALID_SAMPLER;
    switch (param) {
    case CL_SAMPLER_REFERENCE_COUNT:
        return info_value(s->refs.load(), size, value, size_ret);
    case CL_SAMPLER_CONTEXT:
        return info_value(static_cast<cl_context>(s->context), size, value, size_ret);
    case CL_SAMPLER_NORMALIZED_COORDS:
        return info_value(s->normalized_coords, size, value, size_ret);
    case CL_SAMPLER_ADDRESSING_MODE:
        return info_value(s->addressing, size, value, size_ret);
    case CL_SAMPLER_FILTER_MODE:
        return info_value(s->filter, size, value, size_ret);
    case CL_SAMPLER_PROPERTIES:
        return info_vector(s->properties, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

} // namespace rgpu::icd
