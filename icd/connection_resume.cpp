// SPDX-License-Identifier: Apache-2.0
// Connection: getting a session back after its connection was lost (reconnect, resend) and the
// cl_rgpu_session extension's detach and attach.
#include "connection.h"

#include "log.h"

#include <algorithm>

namespace rgpu::icd {

using clock = std::chrono::steady_clock;

void Connection::lost(const std::string& why) {
    if (reconnecting_ || detached_ || broken_.load() || stop_.load()) return;
    log()->warn("daemon at {}: session {:016x} lost its connection ({}); reconnecting", endpoint_,
                session_, why);
    reconnecting_ = true;
    reconnect_deadline_ = clock::now() + reconnect_timeout_;
    next_attempt_ = clock::now();
    backoff_ = std::chrono::milliseconds(50);
}

void Connection::try_reconnect() {
    auto now = clock::now();
    // Each attempt is bounded, so the deadline and a stopping client are looked at in time.
    // Short at first (a lost message costs little), longer as attempts fail (a slow network).
    auto attempt_deadline =
        std::min(reconnect_deadline_, now + std::clamp(backoff_ * 5, std::chrono::milliseconds(250),
                                                       std::chrono::milliseconds(2000)));
    std::vector<zmq::message_t> frames;
    const wire::Reply* reply = nullptr;
    std::string error;
    Exchange result = Exchange::NoAnswer;
    try {
        // Usually only the connection broke and the worker is still there: attach to it
        // directly (a round trip). Its refusal says nothing final (after a restart another
        // session's worker may listen there): only the supervisor can say the session is gone.
        uint64_t acked = 0;
        auto direct_deadline = std::min(attempt_deadline, now + std::chrono::milliseconds(250));
        if (attach(direct_deadline, &acked, &error) == Exchange::Answered) {
            resume_after(acked);
            return;
        }
        result = say_hello(attempt_deadline, true, frames, &reply, &error);
        if (result == Exchange::Moved) {
            // The operator moved the session: follow it (its new daemon checks the token).
            log()->warn("daemon at {}: session {:016x} moved to {}", endpoint_, session_, error);
            try {
                supervisor_.disconnect(endpoint_);
            } catch (const zmq::error_t&) {
            }
            endpoint_ = error;
            supervisor_.connect(endpoint_);
            next_attempt_ = clock::now();
            return;
        }
        if (result == Exchange::Answered) {
            const wire::Welcome* welcome = reply->body_as_Welcome();
            // The session may live elsewhere now (restored, moved).
            std::string worker = resolve_worker(
                welcome->worker_endpoint() ? welcome->worker_endpoint()->str() : "", endpoint_);
            if (!worker.empty()) set_worker_endpoint(worker);
            result = attach(attempt_deadline, &acked, &error);
            if (result == Exchange::Answered) {
                resume_after(acked);
                return;
            }
        }
    } catch (const zmq::error_t& e) {
        error = e.what();
    }
    if (result == Exchange::Refused) {
        log()->error("daemon at {} cannot resume session {:016x}: {}", endpoint_, session_, error);
        reconnecting_ = false;
        fail_everything(CL_OUT_OF_RESOURCES);
        finish_control(attach_waiter_, CL_OUT_OF_RESOURCES);
        return;
    }
    if (clock::now() >= reconnect_deadline_) {
        log()->error("daemon at {}: session {:016x} could not reconnect in {} ms ({}); failing "
                     "outstanding work",
                     endpoint_, session_, reconnect_timeout_.count(), error);
        reconnecting_ = false;
        fail_everything(CL_OUT_OF_RESOURCES);
        finish_control(attach_waiter_, CL_OUT_OF_RESOURCES);
        return;
    }
    next_attempt_ = clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
}

void Connection::resume_after(uint64_t acked) {
    // What the worker executed needs no resend; the rest goes again, in order. The worker drops
    // what it received before, so every command runs exactly once.
    apply_ack(acked);
    size_t resent = 0;
    for (auto& kept : unacked_) {
        std::vector<zmq::message_t> frames(kept.frames.size());
        for (size_t i = 0; i < frames.size(); ++i)
            frames[i].copy(kept.frames[i]);
        for (size_t i = 0; i < frames.size(); ++i)
            socket_.send(frames[i], i + 1 < frames.size()
                                        ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                        : zmq::send_flags::dontwait);
        ++resent;
    }
    reconnecting_ = false;
    credit_asked_ = false;
    last_sent_ = last_heard_ = clock::now();
    ++reconnects_;
    // Commands queued during the outage go now, not at the next heartbeat.
    notifier_.signal();
    // An attach asked for (cl_rgpu_session) is routine; a reconnect after a loss is news.
    log()->log(attach_waiter_ ? spdlog::level::info : spdlog::level::warn,
               "daemon at {}: session {:016x} reconnected to {}; {} messages sent again", endpoint_,
               session_, worker_endpoint_, resent);
    finish_control(attach_waiter_, CL_SUCCESS);
}

cl_int Connection::request(Control what) {
    std::unique_lock lock(control_mutex_);
    uint64_t ticket = ++control_ticket_;
    control_ = what;
    lock.unlock();
    notifier_.signal();
    lock.lock();
    control_cv_.wait(lock, [&] { return control_done_ >= ticket; });
    return control_result_;
}

void Connection::finish_control(uint64_t ticket, cl_int result) {
    if (ticket == 0) return;
    if (ticket == attach_waiter_) attach_waiter_ = 0;
    {
        std::lock_guard lock(control_mutex_);
        control_done_ = std::max(control_done_, ticket);
        control_result_ = result;
    }
    control_cv_.notify_all();
}

void Connection::take_control_request() {
    Control what;
    uint64_t ticket;
    {
        std::lock_guard lock(control_mutex_);
        what = control_;
        ticket = control_ticket_;
        control_ = Control::None;
    }
    if (what == Control::None) return;
    if (broken_.load()) {
        // The session is gone: nothing to detach from, nothing to come back to.
        finish_control(ticket, what == Control::Detach ? CL_SUCCESS : CL_OUT_OF_RESOURCES);
        return;
    }
    if (what == Control::Detach) {
        if (!detached_) {
            if (!reconnecting_) {
                send_ready();
                report_receipt(true);
            }
            reconnecting_ = false;
            drop_connections();
            detached_ = true;
            log()->info("daemon at {}: session {:016x} detached", endpoint_, session_);
        }
        finish_control(ticket, CL_SUCCESS);
        return;
    }
    if (!detached_) {
        // Attached already, or reconnecting on its own: the caller waits for that to end.
        if (reconnecting_)
            attach_waiter_ = ticket;
        else
            finish_control(ticket, CL_SUCCESS);
        return;
    }
    detached_ = false;
    try {
        supervisor_.connect(endpoint_);
    } catch (const zmq::error_t& e) {
        log()->error("daemon at {}: cannot connect again: {}", endpoint_, e.what());
    }
    reconnecting_ = true;
    reconnect_deadline_ = clock::now() + reconnect_timeout_;
    next_attempt_ = clock::now();
    backoff_ = std::chrono::milliseconds(50);
    attach_waiter_ = ticket;
}

void Connection::drop_connections() {
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
    // Closed with a linger, so what was just sent still leaves; the session is the daemon's
    // to keep executing.
    socket_.set(zmq::sockopt::linger, 2000);
    socket_.close();
    monitor_.close();
    socket_ = zmq::socket_t(context_, zmq::socket_type::dealer);
    monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
    configure(socket_);
    try {
        supervisor_.disconnect(endpoint_);
    } catch (const zmq::error_t& e) {
        log()->debug("daemon at {}: disconnect: {}", endpoint_, e.what());
    }
}

} // namespace rgpu::icd
