#include "shared/tls/fleet_names.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fleetbond::tls {
namespace {

std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text), "\"");
}

}  // namespace

absl::Status ValidateNodeId(absl::string_view id) {
  bool ok = id.size() == 10;
  for (char c : id) ok = ok && (absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'));
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("node id ", Quote(id), " is not 10 lowercase hex digits (e.g. 0123456789)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateOperatorName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && absl::ascii_isalnum(name.front());
  for (char c : name) {
    ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "operator name ", Quote(name),
        " must be 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit"));
  }
  return absl::OkStatus();
}

bool IsIpAddress(absl::string_view name) {
  std::string text(name);
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

absl::Status ValidateServerName(absl::string_view name) {
  if (IsIpAddress(name)) return absl::OkStatus();
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server name ", Quote(name), " is neither an IP address nor a DNS name: ", why));
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 253) return invalid("longer than 253 characters");
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty()) return invalid("it has an empty label");
    if (label.size() > 63) return invalid("a label is longer than 63 characters");
    if (label.front() == '-' || label.back() == '-')
      return invalid("a label starts or ends with '-'");
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return invalid("only letters, digits, '-' and '.'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFleetName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 48;
  for (char c : name) {
    ok = ok && c >= 0x20 && c < 0x7f && c != ',' && c != '/' && c != '=' && c != '\\';
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("fleet name ", Quote(name),
                     " must be 1-48 printable ASCII characters without ',', '/', '=' or '\\'"));
  }
  return absl::OkStatus();
}

std::string NodeUri(absl::string_view node_id) {
  return absl::StrCat(kUriScheme, kNodeUnit, "/", node_id);
}

std::string ReplicaUri(absl::string_view replica_name) {
  return absl::StrCat(kUriScheme, kReplicaUnit, "/", replica_name);
}

absl::Status ValidateReplicaName(absl::string_view name) {
  absl::Status status = ValidateOperatorName(name);
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat(
      "replica name ", Quote(name),
      " must be 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit"));
}

std::string OperatorUri(absl::string_view operator_name) {
  return absl::StrCat(kUriScheme, kOperatorUnit, "/", operator_name);
}

}  // namespace fleetbond::tls
