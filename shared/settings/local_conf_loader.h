// local_conf_loader.h
//
// The whole path from a local.conf's text to the policies a node runs: parse, validate,
// resolve. CheckLocalConf keeps every issue for people (check-config); LoadLocalConf is what the
// daemon calls: either usable settings (with their warnings) or an error listing every problem,
// so that a bad file is never half-applied.
//
// Example:
//   FB_ASSIGN_OR_RETURN(std::string text, ReadLocalConfFile("/var/lib/fleetbond/local.conf"));
//   FB_ASSIGN_OR_RETURN(LoadedLocalConf conf, LoadLocalConf(text));
//   for (const Issue& w : conf.warnings) Log(FormatIssue(w));
//   std::optional<ResolvedPolicy> policy = conf.resolver.ForPeer(peer_id);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/settings/local_conf_parser.h"
#include "shared/settings/policy_resolver.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::settings {

// LocalConfCheck is the verdict on one local.conf.
struct LocalConfCheck {
  LocalConf conf;
  // Every error and warning of the parser and the validator, sorted by path (stable).
  std::vector<Issue> issues;
  // Set exactly when there are no errors.
  std::optional<PolicyResolver> resolver;

  bool valid() const { return resolver.has_value(); }
};

// CheckLocalConf parses, validates and resolves `text`.
LocalConfCheck CheckLocalConf(absl::string_view text);

// LoadedLocalConf is a local.conf that can be applied.
struct LoadedLocalConf {
  LocalConf conf;
  PolicyResolver resolver;
  std::vector<Issue> warnings;
};

// LoadLocalConf returns the loaded settings, or InvalidArgument whose message lists every error
// as "PATH: MESSAGE", separated by "; ".
absl::StatusOr<LoadedLocalConf> LoadLocalConf(absl::string_view text);

// ReadLocalConfFile reads a whole file. Its errors say "cannot read PATH: REASON" (strerror),
// with code NotFound, PermissionDenied or FailedPrecondition (e.g. a directory).
absl::StatusOr<std::string> ReadLocalConfFile(const std::string& path);

}  // namespace fleetbond::settings
