// SPDX-License-Identifier: Apache-2.0
// Checkpoints: the one place that says, for every kind of session object, what is saved and how
// it comes back (schema/checkpoint.fbs). A new object kind does not compile until it is handled
// here. A checkpoint is a directory: state.rgck (the objects, sequence numbers and the messages
// the client had not confirmed) and one file per buffer's or image's contents. Each save names
// its contents files afresh and replaces state.rgck atomically before it removes the previous
// save's files, so a daemon killed in the middle of a save restores the one before.
#pragma once

#include "devices.h"

#include <rgpu/wire/checkpoint_generated.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rgpu::daemon {

class Session;

class CheckpointWriter {
  public:
    /// `dir` is the session's own directory (created if missing).
    explicit CheckpointWriter(std::string dir);

    /// A save while the session goes on: the commands before `next_recv_seq` are those saved
    /// (later ones the worker holds back until the save is done). Default: every command the
    /// session received.
    void set_next_recv_seq(uint64_t next_recv_seq) { next_recv_seq_ = next_recv_seq; }
    /// Executor thread, with the session drained (every queue finished): saves every object;
    /// buffers' contents go to their files now. False (and `error`) if it cannot.
    bool save_objects(Session& session, std::string* error);
    /// I/O thread, once the session's executor is done and every completion was sent or kept:
    /// adds the sequence numbers and kept messages, writes state.rgck (atomically) and removes
    /// the files of earlier saves.
    bool finish(Session& session, uint64_t resume_token, std::string* error);
    const std::string& dir() const { return dir_; }
    /// What the last save_objects wrote of buffers' and images' contents, and how long it took
    /// (their reads and writes, after the queues were drained): for the save's log line.
    uint64_t contents_bytes() const { return contents_bytes_; }
    std::chrono::nanoseconds contents_time() const { return contents_time_; }

  private:
    /// The name of a contents file of this save.
    std::string file_name(const char* kind, uint64_t id) const;
    void remove_older_files() const;

    std::string dir_;
    std::string prefix_; ///< unique to this save: no file of an earlier save is overwritten
    uint64_t next_recv_seq_ = 0;
    flatbuffers::FlatBufferBuilder fbb_{1 << 16};
    std::vector<flatbuffers::Offset<checkpoint::Object>> objects_;
    std::vector<flatbuffers::Offset<checkpoint::Event>> failed_events_;
    uint64_t executed_seq_ = 0;
    uint64_t contents_bytes_ = 0;
    std::chrono::nanoseconds contents_time_{0};
    /// Taken with the objects: the session's teardown forgets its sub-devices before finish().
    std::vector<flatbuffers::Offset<checkpoint::SubDevice>> sub_devices_;
};

/// What identifies a checkpoint before it is restored (read by the supervisor at start).
struct CheckpointHeader {
    uint64_t session = 0;
    uint64_t resume_token = 0;
    std::string client;
};

/// Reads and verifies DIR/state.rgck into `bytes`; the header, or false (and `error`) for a
/// missing, corrupt or foreign file.
bool read_checkpoint(const std::string& dir, std::vector<uint8_t>& bytes, CheckpointHeader* header,
                     std::string* error);

/// Recreates the session's objects, sequence numbers and kept messages from a verified
/// checkpoint (the worker's I/O thread, before the client can reach the session). False (and
/// `error`) if a saved object cannot be recreated on this daemon's devices.
bool restore_checkpoint(Session& session, const std::string& dir, const checkpoint::Session& state,
                        std::string* error);

/// Removes a session's checkpoint directory `dir` and its files.
void remove_checkpoint(const std::string& dir);

/// Why this daemon's `devices` cannot serve the saved session (a context uses a device index
/// it lacks, or one of another name); empty when they can.
std::string devices_missing(const checkpoint::Session& state,
                            const std::vector<LocalDevice>& devices);

} // namespace rgpu::daemon
