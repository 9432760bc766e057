#include "node/agent/push_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "shared/settings/local_conf_loader.h"

namespace fleetbond::agent {
namespace {

absl::Status Errno(int err, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

// WriteAll writes every byte, retrying short writes and EINTR.
absl::Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

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
  const std::string file = path();
  const std::string tmp = file + ".tmp";
  std::string bytes;
  if (!push.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("cannot serialize push ", push.version()));
  }
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(errno, "cannot create", tmp);
  {
    absl::Cleanup close_fd = [fd] { close(fd); };
    // O_CREAT's mode does not apply to a file left behind by an earlier crash.
    if (fchmod(fd, 0600) != 0) return Errno(errno, "cannot chmod", tmp);
    absl::Status written = WriteAll(fd, bytes, tmp);
    if (!written.ok()) return written;
    if (fsync(fd) != 0) return Errno(errno, "cannot fsync", tmp);
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0) return Errno(errno, "cannot replace", file);
  int dir = open(home_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Errno(errno, "cannot open", home_);
  absl::Cleanup close_dir = [dir] { close(dir); };
  if (fsync(dir) != 0) return Errno(errno, "cannot fsync", home_);
  return absl::OkStatus();
}

}  // namespace fleetbond::agent
