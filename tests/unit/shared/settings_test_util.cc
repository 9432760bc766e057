#include "tests/unit/shared/settings_test_util.h"

#include "absl/strings/str_cat.h"

namespace fleetbond::settings::testing {

std::string ReadSourceFile(absl::string_view relative_path) {
  absl::StatusOr<std::string> text =
      ReadLocalConfFile(absl::StrCat(FB_SOURCE_DIR, "/", relative_path));
  return text.ok() ? *text : absl::StrCat("cannot read test file: ", text.status().ToString());
}

}  // namespace fleetbond::settings::testing
