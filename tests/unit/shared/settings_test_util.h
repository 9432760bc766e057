// settings_test_util.h
//
// Helpers for the settings tests: run local.conf text through the whole check, and wrap one
// policy body into a document that uses it (so that no "unused policy" warning interferes).
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::settings::testing {

// IssuesOf returns every issue CheckLocalConf finds in `text`.
inline std::vector<Issue> IssuesOf(absl::string_view text) { return CheckLocalConf(text).issues; }

// PolicyDoc is a local.conf whose default policy "p" has `body` as its definition.
inline std::string PolicyDoc(absl::string_view body) {
  return absl::StrCat(R"({"settings": {"defaultBondingPolicy": "p", "policies": {"p": )", body,
                      "}}}");
}

// IssuesOfPolicy returns the issues of a document whose only policy is `body`.
inline std::vector<Issue> IssuesOfPolicy(absl::string_view body) {
  return IssuesOf(PolicyDoc(body));
}

// ReadTestFile returns the contents of a file under the source tree, e.g.
// "tests/unit/shared/testdata/spec/04_physical_interfaces.conf".
std::string ReadSourceFile(absl::string_view relative_path);

}  // namespace fleetbond::settings::testing
