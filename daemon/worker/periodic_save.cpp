// SPDX-License-Identifier: Apache-2.0
// --checkpoint-interval: the worker saves its session while it goes on, so that a daemon killed
// outright (SIGKILL, a crash, a power cut) finds it at its next start.
//
// A save is taken when the session has changed since the last one, the interval has passed,
// and the session is idle: nothing waits for the executor and no completion is outstanding.
// Then the executor runs the save after everything received before it, and the messages that
// arrive meanwhile wait here, so the saved objects, sequence numbers and the replies kept for
// the client describe one moment. Saving an idle session costs it no pause worth the name; a
// busy session is saved at its next idle moment. What the save cannot give back is work run
// after it: the client no longer holds commands the worker acknowledged, so a client whose
// session ran more after the last save is refused at reattach (see handle_attach) and told its
// session is lost, rather than going on from an older state.
#include "checkpoint.h"
#include "worker_server.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

namespace rgpu::daemon {

using clock = std::chrono::steady_clock;

namespace {
/// How long the completions of a save's commands may take to come in before it is given up.
constexpr auto kCompletionPatience = std::chrono::seconds(10);
} // namespace

void WorkerServer::save_periodically() {
    if (checkpoint_interval_.count() == 0 || checkpoint_dir_.empty() || sessions_.empty()) return;
    Session& session = *sessions_.begin()->second;
    if (periodic_) {
        finish_periodic_save(session);
        return;
    }
    if (!session.unsaveable().empty()) {
        // An older save would bring back a session its client has gone beyond: gone too.
        if (owns_checkpoint_)
            spdlog::info("worker {}: session {:016x} is no longer saved: {}", getpid(),
                         session.id(), session.unsaveable());
        forget_checkpoint();
        return;
    }
    auto now = clock::now();
    if (session.ending() || session.checkpointing() || now - last_save_ < checkpoint_interval_ ||
        session.next_recv_seq == saved_recv_seq_)
        return;
    if (session.holdings().commands_in_flight > 0 || outbox_.outstanding() > 0 ||
        outbox_.has_items() || peers_->busy())
        return; // not idle: looked at again next turn
    periodic_ = std::make_shared<CheckpointWriter>(session_dir());
    periodic_recv_seq_ = session.next_recv_seq;
    periodic_->set_next_recv_seq(periodic_recv_seq_);
    periodic_since_ = now;
    session.save_in_place(periodic_);
}

void WorkerServer::finish_periodic_save(Session& session) {
    std::string error;
    if (session.ending()) {
        // The executor may still be writing: done when it says so or has stopped.
        if (!session.saved_in_place(&error) && !session.finished()) return;
        error = "the session ended first";
    } else {
        if (!session.saved_in_place(&error)) return; // the executor is still at it
        // Every completion of what was saved must be among the kept messages.
        drain_outbox();
        if (error.empty() && outbox_.outstanding() > 0) {
            if (clock::now() - periodic_since_ < kCompletionPatience) return;
            error = "completions of its commands did not arrive";
        }
        if (error.empty()) periodic_->finish(session, resume_token_, &error);
    }
    auto took = clock::now() - periodic_since_;
    if (error.empty()) {
        owns_checkpoint_ = true;
        saved_recv_seq_ = periodic_recv_seq_;
        spdlog::debug("worker {}: session {:016x} saved to {} in {} ms", getpid(), session.id(),
                      periodic_->dir(),
                      std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    } else if (!session.ending()) {
        spdlog::warn("worker {}: session {:016x} ({}) could not be saved: {}", getpid(),
                     session.id(), session.client(), error);
    }
    periodic_.reset();
    last_save_ = clock::now();
    // What arrived meanwhile runs now, in order (a session that ended drops it).
    while (!held_.empty()) {
        if (!session.ending()) session.submit(std::move(held_.front()));
        held_.pop_front();
    }
}

void WorkerServer::forget_checkpoint() {
    if (!owns_checkpoint_) return;
    owns_checkpoint_ = false;
    remove_checkpoint(session_dir());
}

} // namespace rgpu::daemon
