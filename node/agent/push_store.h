// push_store.h
//
// PushStore keeps the push a node last acked in its home directory (controller-state.pb, a
// serialized fleetbond.v1.ConfigPush with its directory materialised), so that a node started
// with --controller runs on it at once, before, or without, the controller answering.
//
// Save is atomic and durable: the bytes go to a temporary file (mode 0600) that is fsynced and
// renamed over the old one, and the directory is fsynced, so a crash leaves either the old push
// or the new one, never a mix. Load treats a missing file as "no push" and a corrupt one as an
// error the caller logs before starting without it.
//
// Example:
//   PushStore store(home);
//   absl::StatusOr<std::optional<v1::ConfigPush>> last = store.Load();
//   ...
//   FB_RETURN_IF_ERROR(store.Save(applied.push));
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleetbond/v1/session.pb.h"

namespace fleetbond::agent {

class PushStore {
 public:
  static constexpr char kFileName[] = "controller-state.pb";

  explicit PushStore(std::string home) : home_(std::move(home)) {}

  // Load returns the saved push, nullopt when none was saved, or DataLoss (a corrupt file) /
  // the read error, each naming the file.
  absl::StatusOr<std::optional<v1::ConfigPush>> Load() const;
  // Save replaces the saved push with `push`.
  absl::Status Save(const v1::ConfigPush& push) const;

  std::string path() const { return home_ + "/" + kFileName; }

 private:
  std::string home_;
};

}  // namespace fleetbond::agent
