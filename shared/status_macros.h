// status_macros.h
//
// FB_RETURN_IF_ERROR and FB_ASSIGN_OR_RETURN: abseil 20220623 has neither, so fleetbond defines
// them once, here.
//
// Example:
//   absl::StatusOr<Settings> Load(const std::string& path) {
//     FB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     FB_RETURN_IF_ERROR(CheckSize(text));
//     return Parse(text);
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FB_STATUS_CONCAT_INNER(a, b) a##b
#define FB_STATUS_CONCAT(a, b) FB_STATUS_CONCAT_INNER(a, b)

// FB_RETURN_IF_ERROR returns the status of `expr` from the calling function unless it is OK.
#define FB_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status fb_status_ = (expr);      \
    if (!fb_status_.ok()) return fb_status_; \
  } while (false)

// FB_ASSIGN_OR_RETURN evaluates `rexpr` (an absl::StatusOr), returns its status if not OK, and
// otherwise moves the value into `lhs`, which may be a declaration.
#define FB_ASSIGN_OR_RETURN(lhs, rexpr) \
  FB_ASSIGN_OR_RETURN_IMPL(FB_STATUS_CONCAT(fb_statusor_, __LINE__), lhs, rexpr)

#define FB_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                             \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()
