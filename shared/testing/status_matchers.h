// status_matchers.h
//
// gtest matchers for absl::Status and absl::StatusOr, which googletest 1.12 and abseil 20220623
// do not ship.
//
// Example:
//   EXPECT_THAT(Parse("{}"), IsOk());
//   EXPECT_THAT(Parse("["), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace fleetbond::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// IsOk matches an OK absl::Status or an absl::StatusOr that holds a value.
MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

// StatusIs matches a status whose code matches `code` (a value or a matcher) and whose message
// matches `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return ::testing::Matches(code)(s.code()) &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

// StatusIs(code) matches a status whose code matches `code`, whatever its message.
MATCHER_P(StatusIs, code, "") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return ::testing::Matches(code)(s.code());
}

// IsOkAndHolds matches an absl::StatusOr holding a value that matches `m`.
MATCHER_P(IsOkAndHolds, m, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(m, *arg, result_listener);
}

}  // namespace fleetbond::testing
