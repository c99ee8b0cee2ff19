// SPDX-License-Identifier: Apache-2.0
// How image data travels: packed (rows of region[0] pixels, slices of region[1] rows), cut into
// boxes that fit a transfer chunk (common/image_layout.h). Gathering from and scattering to the
// application's pitched memory happens here, on the client.
#pragma once

#include "enqueue.h"
#include "objects.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace rgpu::icd {

class Connection;
struct Call;

/// Copies `size` packed bytes out of pitched memory `from` laid out as `layout`.
void gather(uint8_t* packed, const uint8_t* from, const HostLayout& layout, size_t size);

/// The layout of a region at host memory with the given pitches (0: packed), as the image
/// transfer calls define them for image type `type`.
HostLayout host_layout(cl_mem_object_type type, size_t pixel, const size_t region[3],
                       size_t row_pitch, size_t slice_pitch);

/// Sends the packed contents of `region` at `origin` of image `m`, one box per message.
/// queue_id 0 writes through the context's internal queue (image initialisation).
void send_image_write(Connection* conn, uint64_t queue_id, const Mem* m, const size_t origin[3],
                      const size_t region[3], const WriteSource& packed, uint64_t event_id,
                      const std::vector<uint64_t>& wait);

/// Queues a read of `region` at `origin` of image `m` into `destination` laid out as `layout`.
std::shared_ptr<Call> send_image_read(Connection* conn, uint64_t queue_id, const Mem* m,
                                      const size_t origin[3], const size_t region[3],
                                      void* destination, const HostLayout& layout, Event* e,
                                      const std::vector<uint64_t>& wait);

/// clEnqueueUnmapMemObject of an image mapping (image_enqueue.cpp): writes back what the map
/// allowed the application to change, or a marker.
void unmap_image(Queue* q, Mem* m, const Mapping& map, Event* e, std::vector<uint64_t>& wait,
                 cl_uint num_events, const cl_event* wait_list);

} // namespace rgpu::icd
