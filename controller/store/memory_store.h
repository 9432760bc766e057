// memory_store.h
//
// MemoryStore keeps everything in memory behind one mutex: the Store for unit tests of other
// components and for the load benchmark. It behaves exactly like SqliteStore (same errors, same
// choices where the Store interface leaves room; see sqlite_store.h) except that nothing survives
// the object.
//
// Example:
//   FakeClock clock;
//   MemoryStore store(clock);
//   FB_ASSIGN_OR_RETURN(auto leases, store.LeaseOverlays("10.147.0.0/16", {"aaaaaaaaaa"}));
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/numeric/int128.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/store.h"
#include "shared/clock.h"

namespace fleetbond::controller {

class MemoryStore final : public Store {
 public:
  // History and lease times come from `clock`, which must outlive the store.
  explicit MemoryStore(const Clock& clock = SystemClock::Get()) : clock_(clock) {}

  absl::StatusOr<SettingsDocuments> LoadSettings() override;
  absl::StatusOr<uint64_t> PutSettings(absl::string_view scope,
                                       const std::optional<v1::Settings>& settings,
                                       uint64_t expected_version,
                                       absl::string_view author) override;
  absl::StatusOr<std::vector<SettingsChange>> SettingsHistory(size_t limit) override;

  absl::StatusOr<std::vector<NodeRecord>> LoadNodes() override;
  absl::Status SaveNodes(const std::vector<NodeRecord>& nodes) override;
  absl::Status DeleteNode(absl::string_view id) override;

  absl::StatusOr<std::map<std::string, std::string>> LeaseOverlays(
      absl::string_view prefix, const std::vector<std::string>& node_ids) override;
  absl::StatusOr<std::map<std::string, std::string>> Leases() override;

  absl::StatusOr<uint64_t> ReserveVersions(uint64_t count) override;

 private:
  struct Lease {
    absl::uint128 key;
    std::string address;
  };

  const Clock& clock_;
  absl::Mutex mu_;
  SettingsDocuments settings_ ABSL_GUARDED_BY(mu_);
  std::vector<SettingsChange> history_ ABSL_GUARDED_BY(mu_);  // oldest first
  std::map<std::string, NodeRecord, std::less<>> nodes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Lease, std::less<>> leases_ ABSL_GUARDED_BY(mu_);
  // Every key ever leased, current and retired: none is handed out twice.
  std::set<absl::uint128> taken_ ABSL_GUARDED_BY(mu_);
  // Per canonical prefix, the key below which every host is taken (see LeaseOverlays).
  std::map<std::string, absl::uint128> lease_cursors_ ABSL_GUARDED_BY(mu_);
  uint64_t push_version_high_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fleetbond::controller
