#include "node/agent/push_store.h"

#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/tls/secure_files.h"

namespace fleetbond::agent {

absl::StatusOr<std::optional<v1::ConfigPush>> PushStore::Load() const {
  const std::string file = path();
  struct stat st;
  if (stat(file.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;
  absl::StatusOr<std::string> bytes = settings::ReadLocalConfFile(file);
  if (!bytes.ok()) return bytes.status();
  v1::ConfigPush push;
  if (!push.ParseFromString(*bytes) || push.version() == 0) {
    return absl::DataLossError(
        absl::StrCat(file, " is not a saved controller push (corrupt or truncated)"));
  }
  if (push.peers_mode() != v1::ConfigPush::PEERS_FULL) {
    return absl::DataLossError(
        absl::StrCat(file, " holds a push without its whole directory; it cannot stand alone"));
  }
  return push;
}

absl::Status PushStore::Save(const v1::ConfigPush& push) const {
  std::string bytes;
  if (!push.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("cannot serialize push ", push.version()));
  }
  // Mode 0600 under a temporary name, file and directory flushed, renamed into place.
  return tls::WriteFileAtomically(path(), bytes, 0600, tls::Replace::kAllowed);
}

}  // namespace fleetbond::agent
