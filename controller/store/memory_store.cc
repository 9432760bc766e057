#include "controller/store/memory_store.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/store/overlay_prefix.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {
namespace {

std::string ScopeName(absl::string_view scope) {
  return scope.empty() ? std::string("the fleet-wide scope")
                       : absl::StrFormat("scope \"%s\"", absl::CHexEscape(scope));
}

}  // namespace

absl::StatusOr<SettingsDocuments> MemoryStore::LoadSettings() {
  absl::MutexLock lock(&mu_);
  return settings_;
}

absl::StatusOr<uint64_t> MemoryStore::PutSettings(absl::string_view scope,
                                                  const std::optional<v1::Settings>& settings,
                                                  uint64_t expected_version,
                                                  absl::string_view author) {
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  absl::MutexLock lock(&mu_);
  if (expected_version != 0 && settings_.version != expected_version) {
    return absl::AbortedError(
        absl::StrFormat("settings are at version %d, not %d", settings_.version, expected_version));
  }
  if (settings.has_value()) {
    settings_.scopes[std::string(scope)] = *settings;
  } else if (settings_.scopes.erase(std::string(scope)) == 0) {
    return absl::NotFoundError(absl::StrCat(ScopeName(scope), " has no settings document"));
  }
  ++settings_.version;
  history_.push_back(SettingsChange{.version = settings_.version,
                                    .scope = std::string(scope),
                                    .settings = settings,
                                    .unix_ms = now_ms,
                                    .author = std::string(author)});
  return settings_.version;
}

absl::StatusOr<std::vector<SettingsChange>> MemoryStore::SettingsHistory(size_t limit) {
  absl::MutexLock lock(&mu_);
  const size_t n = std::min(limit, history_.size());
  return std::vector<SettingsChange>(history_.rbegin(), history_.rbegin() + n);
}

absl::StatusOr<std::vector<NodeRecord>> MemoryStore::LoadNodes() {
  absl::MutexLock lock(&mu_);
  std::vector<NodeRecord> nodes;
  nodes.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) nodes.push_back(node);
  return nodes;
}

absl::Status MemoryStore::SaveNodes(const std::vector<NodeRecord>& nodes) {
  absl::MutexLock lock(&mu_);
  for (const NodeRecord& node : nodes) nodes_[node.id] = node;
  return absl::OkStatus();
}

absl::Status MemoryStore::DeleteNode(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("node \"%s\" is not in the registry", absl::CHexEscape(id)));
  }
  nodes_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> MemoryStore::LeaseOverlays(
    absl::string_view prefix_text, const std::vector<std::string>& node_ids) {
  FB_ASSIGN_OR_RETURN(const OverlayPrefix prefix, OverlayPrefix::Parse(prefix_text));
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> result;
  // Ids with no lease inside the prefix, in the order given: they get addresses in that order.
  std::vector<const std::string*> unleased;
  std::set<absl::string_view> seen;
  for (const std::string& id : node_ids) {
    if (!seen.insert(id).second) continue;
    auto it = leases_.find(id);
    if (it != leases_.end() && prefix.ContainsHost(it->second.key)) {
      result[id] = it->second.address;
    } else {
      unleased.push_back(&id);
    }
  }
  if (unleased.empty()) return result;

  auto cursor_it = lease_cursors_.find(prefix.ToString());
  const absl::uint128 cursor =
      cursor_it != lease_cursors_.end() ? cursor_it->second : prefix.first_host();
  auto used = taken_.lower_bound(cursor);
  const NextUsedKey next_used = [&]() -> absl::StatusOr<std::optional<absl::uint128>> {
    if (used == taken_.end()) return std::nullopt;
    return *used++;
  };
  // Nothing is changed before this can fail: an exhausted prefix leaves the store as it was.
  FB_ASSIGN_OR_RETURN(std::vector<absl::uint128> keys,
                      AllocateLowestFree(prefix, cursor, unleased.size(), next_used));
  for (size_t i = 0; i < unleased.size(); ++i) {
    // A lease outside the prefix is replaced; its key stays in taken_, so it is retired for good.
    Lease& lease = leases_[*unleased[i]];
    lease.key = keys[i];
    lease.address = FormatAddressKey(keys[i]);
    taken_.insert(keys[i]);
    result[*unleased[i]] = lease.address;
  }
  lease_cursors_[prefix.ToString()] = keys.back() + 1;
  return result;
}

absl::StatusOr<std::map<std::string, std::string>> MemoryStore::Leases() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> leases;
  for (const auto& [id, lease] : leases_) leases[id] = lease.address;
  return leases;
}

absl::StatusOr<uint64_t> MemoryStore::ReserveVersions(uint64_t count) {
  if (count == 0) return absl::InvalidArgumentError("cannot reserve 0 push versions");
  absl::MutexLock lock(&mu_);
  if (count > std::numeric_limits<uint64_t>::max() - push_version_high_) {
    return absl::OutOfRangeError(
        absl::StrFormat("cannot reserve %d push versions above %d: the counter would overflow",
                        count, push_version_high_));
  }
  const uint64_t first = push_version_high_ + 1;
  push_version_high_ += count;
  return first;
}

}  // namespace fleetbond::controller
