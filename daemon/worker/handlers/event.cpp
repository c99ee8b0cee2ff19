// SPDX-License-Identifier: Apache-2.0
// User events. Command events are created by the enqueue handlers (enqueue.cpp).
#include "handlers.h"

namespace rgpu::daemon {

cl_int handle_create_user_event(ExecContext& ctx, const wire::CreateUserEvent& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    cl_int err = CL_SUCCESS;
    cl_event event = clCreateUserEvent(context->context.get(), &err);
    if (err != CL_SUCCESS) return err;
    if (!ctx.session.objects.insert(req.id(), EventObject{EventRef(event), true, nullptr}))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

cl_int handle_set_user_event_status(ExecContext& ctx, const wire::SetUserEventStatus& req) {
    auto* event = ctx.session.objects.find<EventObject>(req.event());
    if (!event || !event->user)
        return ctx.fail("unknown user event " + std::to_string(req.event()));
    return clSetUserEventStatus(event->event.get(), req.status());
}

} // namespace rgpu::daemon
