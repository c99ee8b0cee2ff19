// SPDX-License-Identifier: Apache-2.0
// Request handlers, one file per object kind; dispatched through the table in table.cpp.
// Every handler runs on its session's executor thread and returns the command's status.
#pragma once

#include "../exec_context.h"

#include <protocol.h>

namespace rgpu::daemon {

using Handler = cl_int (*)(ExecContext&, const wire::Command&);
/// Null for request types the executor does not handle (Hello, StatusRequest: I/O thread).
Handler handler_for(wire::Request type);

// session.cpp-level requests
cl_int handle_goodbye(ExecContext&, const wire::Goodbye&);
cl_int handle_release(ExecContext&, const wire::Release&);
// context.cpp
cl_int handle_create_context(ExecContext&, const wire::CreateContext&);
// queue.cpp
cl_int handle_create_queue(ExecContext&, const wire::CreateQueue&);
cl_int handle_finish_queue(ExecContext&, const wire::FinishQueue&);
cl_int handle_marker(ExecContext&, const wire::Marker&);
// buffer.cpp
cl_int handle_create_buffer(ExecContext&, const wire::CreateBuffer&);
cl_int handle_write_buffer(ExecContext&, const wire::WriteBuffer&);
cl_int handle_read_buffer(ExecContext&, const wire::ReadBuffer&);
cl_int handle_copy_buffer(ExecContext&, const wire::CopyBuffer&);
cl_int handle_fill_buffer(ExecContext&, const wire::FillBuffer&);
// image.cpp
cl_int handle_create_image(ExecContext&, const wire::CreateImage&);
cl_int handle_write_image(ExecContext&, const wire::WriteImage&);
cl_int handle_read_image(ExecContext&, const wire::ReadImage&);
cl_int handle_copy_image(ExecContext&, const wire::CopyImage&);
cl_int handle_fill_image(ExecContext&, const wire::FillImage&);
cl_int handle_copy_image_buffer(ExecContext&, const wire::CopyImageBuffer&);
cl_int handle_create_sampler(ExecContext&, const wire::CreateSampler&);
// program.cpp
cl_int handle_create_program_with_source(ExecContext&, const wire::CreateProgramWithSource&);
cl_int handle_create_program_with_binary(ExecContext&, const wire::CreateProgramWithBinary&);
cl_int handle_build_program(ExecContext&, const wire::BuildProgram&);
cl_int handle_create_sub_buffer(ExecContext&, const wire::CreateSubBuffer&);
cl_int handle_compile_program(ExecContext&, const wire::CompileProgram&);
cl_int handle_link_program(ExecContext&, const wire::LinkProgram&);
// kernel.cpp
cl_int handle_create_kernel(ExecContext&, const wire::CreateKernel&);
cl_int handle_clone_kernel(ExecContext&, const wire::CloneKernel&);
cl_int handle_set_kernel_arg(ExecContext&, const wire::SetKernelArg&);
cl_int handle_ndrange_kernel(ExecContext&, const wire::NDRangeKernel&);
/// A session's record of a new native kernel of program `program`: its arguments classified
/// (from the kernel's argument info), none set yet.
KernelObject kernel_object(cl_kernel kernel, uint64_t program);
// event.cpp
cl_int handle_create_user_event(ExecContext&, const wire::CreateUserEvent&);
cl_int handle_set_user_event_status(ExecContext&, const wire::SetUserEventStatus&);
// svm.cpp
cl_int handle_svm_alloc(ExecContext&, const wire::SvmAlloc&);
cl_int handle_svm_copy(ExecContext&, const wire::SvmCopy&);
cl_int handle_set_kernel_exec_info(ExecContext&, const wire::SetKernelExecInfo&);
// device.cpp
cl_int handle_create_sub_devices(ExecContext&, const wire::CreateSubDevices&);
/// Partitions device `parent` by `properties` (0-terminated) into `count` new sub-devices of
/// the session (their indexes appended to `made`); a checkpoint's restore makes them again.
cl_int make_sub_devices(Session& session, uint32_t parent,
                        const std::vector<cl_device_partition_property>& properties, cl_uint count,
                        std::vector<uint32_t>* made);
// info.cpp
cl_int handle_get_info(ExecContext&, const wire::GetInfo&);
// peer.cpp
cl_int handle_export_buffer(ExecContext&, const wire::ExportBuffer&);
cl_int handle_import_buffer(ExecContext&, const wire::ImportBuffer&);
/// Writes a piece an import fetched; its completion (or failure) comes back to the I/O thread
/// as an ImportPiece record.
void write_import_piece(Session& session, ImportPiece& piece);

} // namespace rgpu::daemon
