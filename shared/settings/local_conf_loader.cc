#include "shared/settings/local_conf_loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/settings/settings_validator.h"

namespace fleetbond::settings {
namespace {

absl::Status ReadError(const std::string& path, int err) {
  char buf[256];
  // GNU strerror_r: returns the message, which may or may not be in `buf`.
  std::string message = absl::StrCat("cannot read ", path, ": ", strerror_r(err, buf, sizeof buf));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

}  // namespace

LocalConfCheck CheckLocalConf(absl::string_view text) {
  ParsedLocalConf parsed = ParseLocalConf(text);
  LocalConfCheck check{.conf = std::move(parsed.conf), .issues = std::move(parsed.issues)};
  // The parser leaves a value it could not read unset; the validator would then report the same
  // path again (e.g. a misspelt basePolicy as a missing one). One message per path is enough.
  absl::flat_hash_set<std::string> reported;
  for (const Issue& i : check.issues) reported.insert(i.path);
  ValidationContext context{.misplaced_policies = check.conf.misplaced_policies};
  for (Issue& i : ValidateSettings(check.conf.settings, context)) {
    if (!reported.contains(i.path)) check.issues.push_back(std::move(i));
  }
  std::stable_sort(check.issues.begin(), check.issues.end(),
                   [](const Issue& a, const Issue& b) { return a.path < b.path; });
  if (!HasErrors(check.issues)) {
    absl::StatusOr<PolicyResolver> resolver = PolicyResolver::Create(check.conf.settings);
    if (resolver.ok()) {
      check.resolver = *std::move(resolver);
    } else {
      check.issues.push_back(Error("settings", std::string(resolver.status().message())));
    }
  }
  return check;
}

absl::StatusOr<LoadedLocalConf> LoadLocalConf(absl::string_view text) {
  LocalConfCheck check = CheckLocalConf(text);
  if (!check.valid()) {
    std::vector<std::string> errors;
    for (const Issue& i : check.issues) {
      if (i.severity != Severity::kError) continue;
      errors.push_back(i.path.empty() ? i.message : absl::StrCat(i.path, ": ", i.message));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("local.conf is not valid: ", absl::StrJoin(errors, "; ")));
  }
  LoadedLocalConf loaded{.conf = std::move(check.conf), .resolver = *std::move(check.resolver)};
  for (Issue& i : check.issues) loaded.warnings.push_back(std::move(i));
  return loaded;
}

absl::StatusOr<std::string> ReadLocalConfFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ReadError(path, errno);
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return ReadError(path, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace fleetbond::settings
