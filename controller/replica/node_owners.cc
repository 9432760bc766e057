#include "controller/replica/node_owners.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fleetbond::controller {

void StaticNodeOwners::Set(const std::string& node_id, ReplicaAddress owner) {
  absl::MutexLock lock(&mu_);
  owners_[node_id] = std::move(owner);
}

void StaticNodeOwners::Remove(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  owners_.erase(node_id);
}

absl::StatusOr<ReplicaAddress> StaticNodeOwners::Owner(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  auto it = owners_.find(node_id);
  if (it == owners_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no replica is recorded as the owner of node ", node_id));
  }
  return it->second;
}

absl::StatusOr<std::map<std::string, ReplicaAddress>> ParseOwners(absl::string_view text) {
  std::map<std::string, ReplicaAddress> owners;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("owners file, line ", number, ": ", why));
    };
    if (fields.size() != 3) return bad("expected NODE_ID REPLICA HOST:PORT");
    const size_t colon = fields[2].rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(fields[2].substr(colon + 1), &port) || port < 1 || port > 65535) {
      return bad(absl::StrCat("\"", fields[2], "\" is not HOST:PORT"));
    }
    if (owners.contains(std::string(fields[0]))) {
      return bad(absl::StrCat("node ", fields[0], " is listed twice"));
    }
    owners[std::string(fields[0])] = {std::string(fields[1]), std::string(fields[2])};
  }
  return owners;
}

namespace {

absl::StatusOr<std::map<std::string, ReplicaAddress>> ReadOwners(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read the owners file ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::map<std::string, ReplicaAddress>> owners = ParseOwners(text.str());
  if (!owners.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", owners.status().message()));
  }
  return owners;
}

}  // namespace

absl::Status FileNodeOwners::Check() { return ReadOwners(path_).status(); }

absl::StatusOr<ReplicaAddress> FileNodeOwners::Owner(const std::string& node_id) {
  absl::StatusOr<std::map<std::string, ReplicaAddress>> owners = ReadOwners(path_);
  if (!owners.ok()) return owners.status();
  auto it = owners->find(node_id);
  if (it == owners->end()) {
    return absl::NotFoundError(absl::StrCat("node ", node_id, " is not in ", path_));
  }
  return it->second;
}

}  // namespace fleetbond::controller
