// SPDX-License-Identifier: Apache-2.0
// The supervisor's saved sessions: restoring checkpoints at start, and moving a session to
// another daemon (saving it here, sending it, adopting it there).
#include "supervisor.h"

#include "checkpoint.h"

#include <operator_client.h>
#include <printable.h>
#include <protocol.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

namespace rgpu::daemon {

using clock = std::chrono::steady_clock;

void Supervisor::load_checkpoints() {
    if (options_.checkpoint_dir.empty()) return;
    if (mkdir(options_.checkpoint_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        spdlog::error("cannot create checkpoint directory {}: {}", options_.checkpoint_dir,
                      std::strerror(errno));
        return;
    }
    DIR* dir = opendir(options_.checkpoint_dir.c_str());
    if (!dir) return;
    std::vector<std::string> names;
    while (dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name.size() == 16 && name.find_first_not_of("0123456789abcdef") == std::string::npos)
            names.push_back(name);
    }
    closedir(dir);
    for (const auto& name : names) {
        std::string error;
        if (!start_restore(name, &error)) {
            const std::string path = options_.checkpoint_dir + "/" + name;
            spdlog::error("refusing checkpoint {}: {}; renamed to {}.refused", path, error, path);
            std::rename(path.c_str(), (path + ".refused").c_str());
        }
    }
}

bool Supervisor::start_restore(const std::string& name, std::string* error) {
    const std::string path = options_.checkpoint_dir + "/" + name;
    std::vector<uint8_t> bytes;
    CheckpointHeader header;
    if (!read_checkpoint(path, bytes, &header, error)) return false;
    if (fmt::format("{:016x}", header.session) != name) {
        *error = "it names session " + fmt::format("{:016x}", header.session);
        return false;
    }
    if (sessions_.count(header.session) || restoring_.count(header.session)) {
        *error = "the session is served here already";
        return false;
    }
    std::string missing = devices_missing(*checkpoint::GetSession(bytes.data()), devices_);
    if (!missing.empty()) {
        *error = missing;
        return false;
    }
    try {
        auto worker = start_worker();
        worker->restore = true;
        worker->session = header.session;
        worker->resume_token = header.resume_token;
        worker->client = printable(header.client, 200);
        restoring_.emplace(header.session, worker.get());
        workers_.push_back(std::move(worker));
    } catch (const std::exception& e) {
        *error = std::string("cannot start a worker: ") + e.what();
        return false;
    }
    moved_.erase(header.session); // it is back here
    spdlog::info("restoring session {:016x} ({}) from {}", header.session, workers_.back()->client,
                 path);
    return true;
}

void Supervisor::assign_restored(WorkerProcess& worker) {
    restoring_.erase(worker.session);
    if (!send_assignment(worker, true)) {
        worker.control_closed = true;
        return;
    }
    worker.state = WorkerProcess::State::Serving;
    worker.assigned = clock::now();
    worker.attached = false; // until its client comes back
    sessions_.emplace(worker.session, &worker);
}

void Supervisor::handle_move(const std::string& routing, uint64_t seq,
                             const wire::MoveSession& move) {
    auto it = sessions_.find(move.session());
    if (it == sessions_.end()) {
        refuse(routing, seq, CL_INVALID_VALUE, "no such session");
        return;
    }
    WorkerProcess& w = *it->second;
    std::string to = move.to() ? move.to()->str() : "";
    if (options_.checkpoint_dir.empty()) {
        refuse(routing, seq, CL_INVALID_OPERATION,
               "this daemon has no --checkpoint-dir to save the session in");
        return;
    }
    if (to.empty() || to == endpoint_) {
        refuse(routing, seq, CL_INVALID_VALUE, "no other daemon to move to");
        return;
    }
    if (!w.moving_to.empty()) {
        refuse(routing, seq, CL_INVALID_OPERATION, "the session is moving already");
        return;
    }
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(control::CreateControlMessage(fbb, control::ControlBody::SaveSession,
                                             control::CreateSaveSession(fbb).Union()),
               control::ControlMessageIdentifier());
    if (w.control_closed || !w.control().send(fbb)) {
        refuse(routing, seq, CL_INVALID_VALUE, "the session's worker is gone");
        return;
    }
    // Answered once the worker has saved the session and the target has it (finish_move).
    w.moving_to = to;
    w.move_routing = routing;
    w.move_seq = seq;
    w.move_started = clock::now();
    spdlog::info("session {:016x} ({}): moving to {}", w.session, w.client, printable(to, 200));
}

void Supervisor::refuse_move(WorkerProcess& worker, const std::string& reason) {
    if (worker.moving_to.empty()) return; // the move was given up meanwhile
    spdlog::warn("session {:016x} ({}) not moved to {}: {}", worker.session, worker.client,
                 printable(worker.moving_to, 200), reason);
    refuse(worker.move_routing, worker.move_seq, CL_INVALID_OPERATION,
           "the session cannot be moved: " + reason);
    worker.moving_to.clear();
    worker.move_routing.clear();
}

void Supervisor::finish_move(WorkerProcess& worker, bool saved) {
    const std::string name = fmt::format("{:016x}", worker.session);
    std::string error =
        saved ? send_checkpoint(name, worker.session, worker.moving_to)
              : "the session could not be saved: " +
                    (worker.kill_reason.empty() ? worker.close_reason : worker.kill_reason);
    if (error.empty()) {
        moved_[worker.session] = worker.moving_to;
        std::error_code ignored;
        std::filesystem::remove_all(options_.checkpoint_dir + "/" + name, ignored);
        spdlog::info("session {:016x} ({}) moved to {}", worker.session, worker.client,
                     printable(worker.moving_to, 200));
        flatbuffers::FlatBufferBuilder fbb;
        send_reply(worker.move_routing, fbb, wire::CreateReply(fbb, worker.move_seq, CL_SUCCESS));
        return;
    }
    spdlog::warn("session {:016x} ({}) not moved to {}: {}", worker.session, worker.client,
                 printable(worker.moving_to, 200), error);
    refuse(worker.move_routing, worker.move_seq, CL_INVALID_OPERATION, error);
    if (!saved) return;
    // It stays here: restored from the checkpoint just written.
    std::string again;
    if (!start_restore(name, &again))
        spdlog::error("session {:016x}: cannot restore it here either: {}", worker.session, again);
}

std::string Supervisor::send_checkpoint(const std::string& name, uint64_t session,
                                        const std::string& to) {
    const std::string dir = options_.checkpoint_dir + "/" + name;
    // One request at a time, each answered before the next (bounded waits): a move blocks this
    // supervisor for as long as the transfer takes.
    RequestChannel peer(to, std::chrono::seconds(30));
    auto answered = [](const wire::Reply&) { return true; };
    std::string error;
    constexpr size_t kChunk = 512 * 1024; // below the supervisor's frame limit
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string file = entry.path().filename().string();
        std::ifstream in(entry.path(), std::ios::binary);
        std::vector<char> chunk(kChunk);
        uint64_t offset = 0;
        do {
            in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
            size_t got = static_cast<size_t>(in.gcount());
            auto build = [&](flatbuffers::FlatBufferBuilder& fbb) {
                return std::make_pair(
                    wire::Request::AdoptChunk,
                    wire::CreateAdoptChunk(fbb, session, fbb.CreateString(file), offset).Union());
            };
            if (!peer.ask(build, answered, &error, chunk.data(), got)) return to + ": " + error;
            offset += got;
        } while (in);
    }
    if (ec) return "cannot read " + dir + ": " + ec.message();
    auto adopt = [&](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::AdoptSession,
                              wire::CreateAdoptSession(fbb, session).Union());
    };
    if (!peer.ask(adopt, answered, &error)) return to + ": " + error;
    return {};
}

void Supervisor::handle_adopt_chunk(const std::string& routing, uint64_t seq,
                                    const wire::AdoptChunk& chunk, const zmq::message_t* data) {
    const std::string name = fmt::format("{:016x}", chunk.session());
    std::string file = chunk.file() ? chunk.file()->str() : "";
    if (options_.checkpoint_dir.empty()) {
        refuse(routing, seq, CL_INVALID_OPERATION, "this daemon has no --checkpoint-dir");
        return;
    }
    if (!data || chunk.session() == 0 || file.empty() || file[0] == '.' ||
        file.find('/') != std::string::npos) {
        refuse(routing, seq, CL_INVALID_VALUE, "malformed checkpoint chunk");
        return;
    }
    if (sessions_.count(chunk.session()) || restoring_.count(chunk.session())) {
        refuse(routing, seq, CL_INVALID_OPERATION, "the session is served here already");
        return;
    }
    const std::string dir = options_.checkpoint_dir + "/" + name + ".incoming";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    // Chunks come in order: the first starts the file afresh (whatever an earlier, failed move
    // left), each later one where the file ends, so no chunk can make a sparse file of any size.
    const std::string path = dir + "/" + file;
    auto size = std::filesystem::file_size(path, ec);
    if (chunk.offset() != 0 && (ec || chunk.offset() != size)) {
        refuse(routing, seq, CL_INVALID_VALUE, "checkpoint chunk out of order");
        return;
    }
    std::ofstream out(path,
                      std::ios::binary | (chunk.offset() == 0 ? std::ios::trunc : std::ios::app));
    out.write(static_cast<const char*>(data->data()), static_cast<std::streamsize>(data->size()));
    if (!out) {
        refuse(routing, seq, CL_OUT_OF_RESOURCES, "cannot write " + path);
        return;
    }
    flatbuffers::FlatBufferBuilder fbb;
    send_reply(routing, fbb, wire::CreateReply(fbb, seq, CL_SUCCESS));
}

void Supervisor::handle_adopt(const std::string& routing, uint64_t seq,
                              const wire::AdoptSession& adopt) {
    const std::string name = fmt::format("{:016x}", adopt.session());
    const std::string path = options_.checkpoint_dir + "/" + name;
    std::error_code ec;
    if (options_.checkpoint_dir.empty() || !std::filesystem::exists(path + ".incoming", ec)) {
        refuse(routing, seq, CL_INVALID_VALUE, "no checkpoint of that session was sent");
        return;
    }
    std::filesystem::remove_all(path, ec);
    std::filesystem::rename(path + ".incoming", path, ec);
    std::string error;
    if (ec || !start_restore(name, &error)) {
        if (ec) error = ec.message();
        std::filesystem::remove_all(path, ec);
        spdlog::warn("not adopting session {}: {}", name, error);
        refuse(routing, seq, CL_INVALID_OPERATION, error);
        return;
    }
    flatbuffers::FlatBufferBuilder fbb;
    send_reply(routing, fbb, wire::CreateReply(fbb, seq, CL_SUCCESS));
}

} // namespace rgpu::daemon
