// SPDX-License-Identifier: Apache-2.0
// The request type -> handler table: the one place that knows every handler.
#include "handlers.h"

#include <array>

namespace rgpu::daemon {
namespace {

template <class T, cl_int (*F)(ExecContext&, const T&)>
cl_int adapt(ExecContext& ctx, const wire::Command& command) {
    return F(ctx, *command.body_as<T>());
}

constexpr size_t kTypes = static_cast<size_t>(wire::Request::MAX) + 1;

constexpr std::array<Handler, kTypes> make_table() {
    std::array<Handler, kTypes> t{};
    using R = wire::Request;
    auto set = [&](R type, Handler h) { t[static_cast<size_t>(type)] = h; };
    set(R::Goodbye, adapt<wire::Goodbye, handle_goodbye>);
    set(R::Release, adapt<wire::Release, handle_release>);
    set(R::CreateContext, adapt<wire::CreateContext, handle_create_context>);
    set(R::CreateQueue, adapt<wire::CreateQueue, handle_create_queue>);
    set(R::FinishQueue, adapt<wire::FinishQueue, handle_finish_queue>);
    set(R::Marker, adapt<wire::Marker, handle_marker>);
    set(R::CreateBuffer, adapt<wire::CreateBuffer, handle_create_buffer>);
    set(R::WriteBuffer, adapt<wire::WriteBuffer, handle_write_buffer>);
    set(R::ReadBuffer, adapt<wire::ReadBuffer, handle_read_buffer>);
    set(R::CopyBuffer, adapt<wire::CopyBuffer, handle_copy_buffer>);
    set(R::FillBuffer, adapt<wire::FillBuffer, handle_fill_buffer>);
    set(R::CreateImage, adapt<wire::CreateImage, handle_create_image>);
    set(R::WriteImage, adapt<wire::WriteImage, handle_write_image>);
    set(R::ReadImage, adapt<wire::ReadImage, handle_read_image>);
    set(R::CopyImage, adapt<wire::CopyImage, handle_copy_image>);
    set(R::FillImage, adapt<wire::FillImage, handle_fill_image>);
    set(R::CopyImageBuffer, adapt<wire::CopyImageBuffer, handle_copy_image_buffer>);
    set(R::CreateSampler, adapt<wire::CreateSampler, handle_create_sampler>);
    set(R::CreateProgramWithSource,
        adapt<wire::CreateProgramWithSource, handle_create_program_with_source>);
    set(R::CreateProgramWithBinary,
        adapt<wire::CreateProgramWithBinary, handle_create_program_with_binary>);
    set(R::BuildProgram, adapt<wire::BuildProgram, handle_build_program>);
    set(R::CreateSubBuffer, adapt<wire::CreateSubBuffer, handle_create_sub_buffer>);
    set(R::CompileProgram, adapt<wire::CompileProgram, handle_compile_program>);
    set(R::LinkProgram, adapt<wire::LinkProgram, handle_link_program>);
    set(R::CreateKernel, adapt<wire::CreateKernel, handle_create_kernel>);
    set(R::CloneKernel, adapt<wire::CloneKernel, handle_clone_kernel>);
    set(R::SetKernelArg, adapt<wire::SetKernelArg, handle_set_kernel_arg>);
    set(R::NDRangeKernel, adapt<wire::NDRangeKernel, handle_ndrange_kernel>);
    set(R::CreateUserEvent, adapt<wire::CreateUserEvent, handle_create_user_event>);
    set(R::SetUserEventStatus, adapt<wire::SetUserEventStatus, handle_set_user_event_status>);
    set(R::GetInfo, adapt<wire::GetInfo, handle_get_info>);
    set(R::SvmAlloc, adapt<wire::SvmAlloc, handle_svm_alloc>);
    set(R::SvmCopy, adapt<wire::SvmCopy, handle_svm_copy>);
    set(R::SetKernelExecInfo, adapt<wire::SetKernelExecInfo, handle_set_kernel_exec_info>);
    set(R::CreateSubDevices, adapt<wire::CreateSubDevices, handle_create_sub_devices>);
    set(R::ExportBuffer, adapt<wire::ExportBuffer, handle_export_buffer>);
    set(R::ImportBuffer, adapt<wire::ImportBuffer, handle_import_buffer>);
    return t;
}

constexpr auto kTable = make_table();

} // namespace

Handler handler_for(wire::Request type) {
    auto index = static_cast<size_t>(type);
    return index < kTable.size() ? kTable[index] : nullptr;
}

} // namespace rgpu::daemon
