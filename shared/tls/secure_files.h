// secure_files.h
//
// Reading and writing the small files TLS needs (PEM certificates and keys, the operator tokens
// file) with the care secrets deserve: keys and tokens are written 0600 under a temporary name and
// renamed or linked into place, so they are never readable by others nor half-written; a secret
// file that others can read is refused when loaded.
//
// Example:
//   FB_RETURN_IF_ERROR(WriteFileAtomically(JoinPath(dir, "ca.key"), pem, 0600, Replace::kNever));
//   FB_ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, "TLS key", Secrecy::kSecret));
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::tls {

enum class Secrecy {
  // kPublic files (certificates) may be readable by anyone.
  kPublic,
  // kSecret files (private keys, tokens) are refused when others (not owner, not group) may read
  // or write them. Group access is allowed, as with Debian's ssl-cert group or Kubernetes secret
  // volumes with an fsGroup.
  kSecret,
};

enum class Replace {
  // kNever fails with AlreadyExists when the file exists (a CA key is never overwritten).
  kNever,
  // kAllowed replaces an existing file atomically (re-issuing a certificate).
  kAllowed,
};

// JoinPath joins a directory and a file name with one slash.
std::string JoinPath(absl::string_view dir, absl::string_view name);

// ReadSmallFile reads a regular file of at most 1 MiB. `what` names it in errors ("CA key").
// Missing files give NotFound, unreadable ones PermissionDenied.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, absl::string_view what,
                                          Secrecy secrecy);

// WriteFileAtomically writes `contents` to `path` with exactly `mode` (the umask is not applied)
// and flushes it to disk: the file (fsync before the rename or link) and its directory (after).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 Replace replace);

// EnsurePrivateDirectory creates `dir` (and missing parents) with mode 0700; an existing
// directory is left as it is.
absl::Status EnsurePrivateDirectory(const std::string& dir);

// FileExists says whether anything (even a dangling symbolic link) exists at `path`.
bool FileExists(const std::string& path);

}  // namespace fleetbond::tls
