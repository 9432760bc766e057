#include "controller/store/etcd_store.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/store/overlay_prefix.h"
#include "fleetbond/etcd_store.pb.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;

// Keys below the store's prefix.
constexpr char kSettingsVersion[] = "settings/version";
constexpr char kSettingsScopes[] = "settings/scopes/";
constexpr char kSettingsHistory[] = "settings/history/";
constexpr char kNodes[] = "nodes/";
constexpr char kLeases[] = "overlay/leases/";   // + node id -> address
constexpr char kTaken[] = "overlay/taken/";     // + 32 hex digits of the key -> node id
constexpr char kCursors[] = "overlay/cursor/";  // + canonical prefix -> 16-byte key
constexpr char kPushVersion[] = "push_version";

// A transaction that lost a race is retried on fresh data this often before giving up.
constexpr int kAttempts = 64;

std::string ScopeName(absl::string_view scope) {
  return scope.empty() ? std::string("the fleet-wide scope")
                       : absl::StrFormat("scope \"%s\"", absl::CHexEscape(scope));
}

// ModRevisionIs holds when `key` was last modified at `revision` (0: the key does not exist).
Compare ModRevisionIs(const std::string& key, int64_t revision) {
  Compare c;
  c.set_result(Compare::EQUAL);
  c.set_target(Compare::MOD);
  c.set_key(key);
  c.set_mod_revision(revision);
  return c;
}

Compare Exists(const std::string& key) {
  Compare c;
  c.set_result(Compare::GREATER);
  c.set_target(Compare::VERSION);
  c.set_key(key);
  c.set_version(0);
  return c;
}

RequestOp PutOp(const std::string& key, std::string value) {
  RequestOp op;
  op.mutable_request_put()->set_key(key);
  op.mutable_request_put()->set_value(std::move(value));
  return op;
}

RequestOp DeleteOp(const std::string& key) {
  RequestOp op;
  op.mutable_request_delete_range()->set_key(key);
  return op;
}

// TakenSuffix is the key of an address under kTaken: fixed-width hex, so keys sort like addresses.
std::string TakenSuffix(absl::uint128 key) {
  return absl::StrFormat("%016x%016x", absl::Uint128High64(key), absl::Uint128Low64(key));
}

std::optional<absl::uint128> ParseTakenSuffix(absl::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  uint64_t high = 0;
  uint64_t low = 0;
  if (!absl::SimpleHexAtoi(hex.substr(0, 16), &high) ||
      !absl::SimpleHexAtoi(hex.substr(16), &low)) {
    return std::nullopt;
  }
  return absl::MakeUint128(high, low);
}

// Jitter sleeps a few milliseconds, so writers that collided do not collide again in step.
void Jitter(int attempt) {
  thread_local absl::BitGen bits;
  absl::SleepFor(absl::Milliseconds(absl::Uniform(bits, 0, 2 + std::min(attempt, 20))));
}

absl::Status GaveUp(absl::string_view what) {
  return absl::AbortedError(absl::StrFormat(
      "etcd: %s kept conflicting with other writers; gave up after %d attempts", what, kAttempts));
}

NodeRecord FromStored(const etcd::StoredNode& s) {
  NodeRecord n;
  n.id = s.id();
  n.public_key = s.public_key();
  n.labels.insert(s.labels().begin(), s.labels().end());
  n.endpoints.assign(s.endpoints().begin(), s.endpoints().end());
  n.software_version = s.software_version();
  n.acked_version = s.acked_version();
  n.nacked_version = s.nacked_version();
  n.last_nack_error = s.last_nack_error();
  n.first_seen_unix_ms = s.first_seen_unix_ms();
  n.last_seen_unix_ms = s.last_seen_unix_ms();
  return n;
}

etcd::StoredNode ToStored(const NodeRecord& n) {
  etcd::StoredNode s;
  s.set_id(n.id);
  s.set_public_key(n.public_key);
  s.mutable_labels()->insert(n.labels.begin(), n.labels.end());
  for (const std::string& e : n.endpoints) s.add_endpoints(e);
  s.set_software_version(n.software_version);
  s.set_acked_version(n.acked_version);
  s.set_nacked_version(n.nacked_version);
  s.set_last_nack_error(n.last_nack_error);
  s.set_first_seen_unix_ms(n.first_seen_unix_ms);
  s.set_last_seen_unix_ms(n.last_seen_unix_ms);
  return s;
}

}  // namespace

EtcdStore::EtcdStore(EtcdClient& etcd, std::string prefix, const Clock& clock)
    : etcd_(etcd), prefix_(std::move(prefix)), clock_(clock) {}

EtcdStore::~EtcdStore() {
  StopWatchingSettings();
  StopWatchingNodes();
}

std::string EtcdStore::Key(absl::string_view suffix) const { return absl::StrCat(prefix_, suffix); }

int64_t EtcdStore::NowUnixMs() const { return absl::ToUnixMillis(clock_.Now()); }

absl::StatusOr<EtcdStore::VersionKey> EtcdStore::ReadUintKey(const std::string& key,
                                                             int64_t revision) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  request.set_revision(revision);
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse response, etcd_.Range(request));
  VersionKey result;
  if (response.kvs_size() == 0) return result;
  if (!absl::SimpleAtoi(response.kvs(0).value(), &result.value)) {
    return absl::DataLossError(absl::StrFormat("etcd: %s holds \"%s\", not a number", key,
                                               absl::CHexEscape(response.kvs(0).value())));
  }
  result.mod_revision = response.kvs(0).mod_revision();
  return result;
}

// --- Settings ---

absl::StatusOr<SettingsDocuments> EtcdStore::LoadSettings() {
  // The version first, then the documents at the very same revision: one consistent snapshot.
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse version, etcd_.Get(Key(kSettingsVersion)));
  const int64_t revision = version.header().revision();
  SettingsDocuments documents;
  if (version.kvs_size() > 0 && !absl::SimpleAtoi(version.kvs(0).value(), &documents.version)) {
    return absl::DataLossError(absl::StrCat("etcd: ", Key(kSettingsVersion), " is not a number"));
  }
  etcdserverpb::RangeRequest request;
  request.set_key(Key(kSettingsScopes));
  request.set_range_end(PrefixEnd(Key(kSettingsScopes)));
  request.set_revision(revision);
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse scopes, etcd_.Range(request));
  const size_t skip = Key(kSettingsScopes).size();
  for (const mvccpb::KeyValue& kv : scopes.kvs()) {
    const std::string scope = kv.key().substr(skip);
    v1::Settings settings;
    if (!settings.ParseFromString(kv.value())) {
      return absl::DataLossError(
          absl::StrCat("etcd: the settings document of ", ScopeName(scope), " does not parse"));
    }
    documents.scopes[scope] = std::move(settings);
  }
  return documents;
}

absl::StatusOr<uint64_t> EtcdStore::PutSettings(absl::string_view scope,
                                                const std::optional<v1::Settings>& settings,
                                                uint64_t expected_version,
                                                absl::string_view author) {
  std::optional<std::string> bytes;
  if (settings.has_value()) {
    bytes.emplace();
    if (!settings->SerializeToString(&*bytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the settings document of ", ScopeName(scope), " cannot be serialized"));
    }
  }
  etcd::StoredSettingsChange change;
  change.set_scope(std::string(scope));
  if (bytes.has_value()) change.set_settings(*bytes);
  change.set_unix_ms(NowUnixMs());
  change.set_author(std::string(author));
  const std::string version_key = Key(kSettingsVersion);
  const std::string scope_key = Key(absl::StrCat(kSettingsScopes, scope));

  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    FB_ASSIGN_OR_RETURN(const VersionKey current, ReadUintKey(version_key));
    if (expected_version != 0 && current.value != expected_version) {
      return absl::AbortedError(
          absl::StrFormat("settings are at version %d, not %d", current.value, expected_version));
    }
    const uint64_t next = current.value + 1;
    TxnRequest txn;
    // The whole change hangs on the version key being as read: whoever changed settings
    // meanwhile changed it too, and then this transaction does nothing.
    *txn.add_compare() = ModRevisionIs(version_key, current.mod_revision);
    if (bytes.has_value()) {
      *txn.add_success() = PutOp(scope_key, *bytes);
    } else {
      *txn.add_compare() = Exists(scope_key);
      *txn.add_success() = DeleteOp(scope_key);
    }
    *txn.add_success() = PutOp(version_key, absl::StrCat(next));
    *txn.add_success() =
        PutOp(Key(absl::StrFormat("%s%020d", kSettingsHistory, next)), change.SerializeAsString());
    FB_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, etcd_.Txn(txn));
    if (response.succeeded()) return next;
    if (!bytes.has_value()) {
      // Either the version moved or the scope has no document: tell which.
      FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse doc, etcd_.Get(scope_key));
      FB_ASSIGN_OR_RETURN(const VersionKey now, ReadUintKey(version_key));
      if (doc.kvs_size() == 0 && now.mod_revision == current.mod_revision) {
        return absl::NotFoundError(absl::StrCat(ScopeName(scope), " has no settings document"));
      }
    }
    Jitter(attempt);
  }
  return GaveUp("storing settings");
}

absl::StatusOr<std::vector<SettingsChange>> EtcdStore::SettingsHistory(size_t limit) {
  std::vector<SettingsChange> changes;
  if (limit == 0) return changes;
  etcdserverpb::RangeRequest request;
  request.set_key(Key(kSettingsHistory));
  request.set_range_end(PrefixEnd(Key(kSettingsHistory)));
  request.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
  request.set_sort_target(etcdserverpb::RangeRequest::KEY);
  // etcd's limit 0 means "no limit".
  if (limit <= static_cast<size_t>(std::numeric_limits<int64_t>::max())) {
    request.set_limit(static_cast<int64_t>(limit));
  }
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse response, etcd_.Range(request));
  const size_t skip = Key(kSettingsHistory).size();
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    SettingsChange c;
    etcd::StoredSettingsChange stored;
    if (!absl::SimpleAtoi(kv.key().substr(skip), &c.version) ||
        !stored.ParseFromString(kv.value())) {
      return absl::DataLossError(
          absl::StrFormat("etcd: history entry %s is damaged", absl::CHexEscape(kv.key())));
    }
    c.scope = stored.scope();
    if (stored.has_settings()) {
      v1::Settings settings;
      if (!settings.ParseFromString(stored.settings())) {
        return absl::DataLossError(
            absl::StrFormat("etcd: settings history version %d does not parse", c.version));
      }
      c.settings = std::move(settings);
    }
    c.unix_ms = stored.unix_ms();
    c.author = stored.author();
    changes.push_back(std::move(c));
  }
  return changes;
}

// --- Node registry ---

absl::StatusOr<std::vector<NodeRecord>> EtcdStore::LoadNodes() {
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse response, etcd_.RangePrefix(Key(kNodes)));
  std::vector<NodeRecord> nodes;
  nodes.reserve(response.kvs_size());
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    etcd::StoredNode stored;
    if (!stored.ParseFromString(kv.value())) {
      return absl::DataLossError(
          absl::StrFormat("etcd: registry entry %s is damaged", absl::CHexEscape(kv.key())));
    }
    nodes.push_back(FromStored(stored));
  }
  // Keys sort by id already; the sort keeps the promise if an id held a "/".
  std::sort(nodes.begin(), nodes.end(),
            [](const NodeRecord& a, const NodeRecord& b) { return a.id < b.id; });
  return nodes;
}

absl::Status EtcdStore::SaveNodes(const std::vector<NodeRecord>& nodes) {
  for (size_t first = 0; first < nodes.size(); first += 2 * kBatch) {
    TxnRequest txn;
    for (size_t i = first; i < std::min(nodes.size(), first + 2 * kBatch); ++i) {
      *txn.add_success() =
          PutOp(Key(absl::StrCat(kNodes, nodes[i].id)), ToStored(nodes[i]).SerializeAsString());
    }
    FB_RETURN_IF_ERROR(etcd_.Txn(txn).status());
  }
  return absl::OkStatus();
}

absl::Status EtcdStore::DeleteNode(absl::string_view id) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(Key(absl::StrCat(kNodes, id)));
  FB_ASSIGN_OR_RETURN(etcdserverpb::DeleteRangeResponse response, etcd_.DeleteRange(request));
  if (response.deleted() == 0) {
    return absl::NotFoundError(
        absl::StrFormat("node \"%s\" is not in the registry", absl::CHexEscape(id)));
  }
  return absl::OkStatus();
}

// --- Overlay leases ---

absl::StatusOr<std::map<std::string, std::string>> EtcdStore::LeaseOverlays(
    absl::string_view prefix_text, const std::vector<std::string>& node_ids) {
  FB_ASSIGN_OR_RETURN(const OverlayPrefix prefix, OverlayPrefix::Parse(prefix_text));
  const std::string cursor_key = Key(absl::StrCat(kCursors, prefix.ToString()));
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // Every current lease: node id -> (address, revision of its key).
    FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse current, etcd_.RangePrefix(Key(kLeases)));
    std::map<std::string, std::pair<std::string, int64_t>, std::less<>> leases;
    const size_t skip = Key(kLeases).size();
    for (const mvccpb::KeyValue& kv : current.kvs()) {
      leases[kv.key().substr(skip)] = {kv.value(), kv.mod_revision()};
    }
    std::map<std::string, std::string> result;
    std::vector<std::pair<const std::string*, int64_t>> unleased;  // id, revision of its lease
    std::set<absl::string_view> seen;
    for (const std::string& id : node_ids) {
      if (!seen.insert(id).second) continue;
      auto it = leases.find(id);
      if (it != leases.end()) {
        const std::optional<absl::uint128> key = ParseAddressKey(it->second.first);
        if (!key.has_value()) {
          return absl::DataLossError(absl::StrFormat(
              "etcd: the lease of node \"%s\" holds no address", absl::CHexEscape(id)));
        }
        if (prefix.ContainsHost(*key)) {
          result[id] = it->second.first;
          continue;
        }
        // Leased in a former prefix: the address stays taken (its kTaken key is never deleted)
        // and the node gets a new one.
      }
      unleased.emplace_back(&id, it != leases.end() ? it->second.second : 0);
    }
    if (unleased.empty()) return result;

    etcdserverpb::RangeRequest cursor_read;
    cursor_read.set_key(cursor_key);
    FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse cursor_kv, etcd_.Range(cursor_read));
    absl::uint128 cursor = prefix.first_host();
    int64_t cursor_revision = 0;
    if (cursor_kv.kvs_size() > 0) {
      const std::optional<absl::uint128> stored = AddressKeyFromBytes(cursor_kv.kvs(0).value());
      if (!stored.has_value()) {
        return absl::DataLossError(
            absl::StrFormat("etcd: the lease cursor of %s is damaged", prefix.ToString()));
      }
      cursor = *stored;
      cursor_revision = cursor_kv.kvs(0).mod_revision();
    }
    // Taken addresses from the cursor to the prefix's last host, ascending.
    etcdserverpb::RangeRequest taken_read;
    taken_read.set_key(
        Key(absl::StrCat(kTaken, TakenSuffix(std::max(cursor, prefix.first_host())))));
    taken_read.set_range_end(Key(absl::StrCat(kTaken, TakenSuffix(prefix.last_host()), "0")));
    taken_read.set_keys_only(true);
    FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse taken, etcd_.Range(taken_read));
    int next_taken = 0;
    const size_t taken_skip = Key(kTaken).size();
    const NextUsedKey next_used = [&]() -> absl::StatusOr<std::optional<absl::uint128>> {
      if (next_taken >= taken.kvs_size()) return std::nullopt;
      const std::string& key = taken.kvs(next_taken++).key();
      std::optional<absl::uint128> used =
          ParseTakenSuffix(absl::string_view(key).substr(taken_skip));
      if (!used.has_value()) {
        return absl::DataLossError(
            absl::StrFormat("etcd: taken-address key %s is damaged", absl::CHexEscape(key)));
      }
      return used;
    };
    // Nothing is written before this can fail: a prefix too full for the call changes nothing.
    FB_ASSIGN_OR_RETURN(const std::vector<absl::uint128> keys,
                        AllocateLowestFree(prefix, cursor, unleased.size(), next_used));

    bool conflict = false;
    for (size_t first = 0; first < unleased.size() && !conflict; first += kBatch) {
      const size_t last = std::min(unleased.size(), first + kBatch);
      TxnRequest txn;
      *txn.add_compare() = ModRevisionIs(cursor_key, cursor_revision);
      for (size_t i = first; i < last; ++i) {
        const std::string& id = *unleased[i].first;
        const std::string taken_key = Key(absl::StrCat(kTaken, TakenSuffix(keys[i])));
        const std::string lease_key = Key(absl::StrCat(kLeases, id));
        // An address is handed out only by creating its taken key: never twice.
        *txn.add_compare() = ModRevisionIs(taken_key, 0);
        *txn.add_compare() = ModRevisionIs(lease_key, unleased[i].second);
        *txn.add_success() = PutOp(taken_key, id);
        *txn.add_success() = PutOp(lease_key, FormatAddressKey(keys[i]));
      }
      *txn.add_success() = PutOp(cursor_key, AddressKeyBytes(keys[last - 1] + 1));
      FB_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, etcd_.Txn(txn));
      if (!response.succeeded()) {
        conflict = true;
        break;
      }
      cursor_revision = response.header().revision();
      for (size_t i = first; i < last; ++i) {
        result[*unleased[i].first] = FormatAddressKey(keys[i]);
      }
    }
    if (!conflict) return result;
    // Another writer leased meanwhile: what this call recorded so far stays, the rest is
    // allocated again on fresh data.
    Jitter(attempt);
  }
  return GaveUp("leasing overlay addresses");
}

absl::StatusOr<std::map<std::string, std::string>> EtcdStore::Leases() {
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse response, etcd_.RangePrefix(Key(kLeases)));
  std::map<std::string, std::string> leases;
  const size_t skip = Key(kLeases).size();
  for (const mvccpb::KeyValue& kv : response.kvs()) leases[kv.key().substr(skip)] = kv.value();
  return leases;
}

absl::Status EtcdStore::ReclaimOverlay(absl::string_view node_id) {
  const std::string lease_key = Key(absl::StrCat(kLeases, node_id));
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse lease, etcd_.Get(lease_key));
    if (lease.kvs_size() == 0) {
      return absl::NotFoundError(
          absl::StrFormat("node \"%s\" holds no overlay address", absl::CHexEscape(node_id)));
    }
    const std::optional<absl::uint128> key = ParseAddressKey(lease.kvs(0).value());
    if (!key.has_value()) {
      return absl::DataLossError(absl::StrFormat("etcd: the lease of node \"%s\" holds no address",
                                                 absl::CHexEscape(node_id)));
    }
    FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse cursors, etcd_.RangePrefix(Key(kCursors)));
    TxnRequest txn;
    *txn.add_compare() = ModRevisionIs(lease_key, lease.kvs(0).mod_revision());
    *txn.add_success() = DeleteOp(lease_key);
    *txn.add_success() = DeleteOp(Key(absl::StrCat(kTaken, TakenSuffix(*key))));
    // Every prefix whose lowest-free search starts above the address must look at it again.
    const size_t skip = Key(kCursors).size();
    for (const mvccpb::KeyValue& kv : cursors.kvs()) {
      absl::StatusOr<OverlayPrefix> prefix = OverlayPrefix::Parse(kv.key().substr(skip));
      const std::optional<absl::uint128> cursor = AddressKeyFromBytes(kv.value());
      if (!prefix.ok() || !cursor.has_value() || !prefix->ContainsHost(*key) || *cursor <= *key) {
        continue;
      }
      *txn.add_compare() = ModRevisionIs(kv.key(), kv.mod_revision());
      *txn.add_success() = PutOp(kv.key(), AddressKeyBytes(*key));
    }
    FB_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, etcd_.Txn(txn));
    if (response.succeeded()) return absl::OkStatus();
    Jitter(attempt);
  }
  return GaveUp("reclaiming an overlay address");
}

// --- Push versions ---

absl::StatusOr<uint64_t> EtcdStore::ReserveVersions(uint64_t count) {
  if (count == 0) return absl::InvalidArgumentError("cannot reserve 0 push versions");
  const std::string key = Key(kPushVersion);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    FB_ASSIGN_OR_RETURN(const VersionKey high, ReadUintKey(key));
    if (count > std::numeric_limits<uint64_t>::max() - high.value) {
      return absl::OutOfRangeError(
          absl::StrFormat("cannot reserve %d push versions above %d: the counter would overflow",
                          count, high.value));
    }
    TxnRequest txn;
    *txn.add_compare() = ModRevisionIs(key, high.mod_revision);
    *txn.add_success() = PutOp(key, absl::StrCat(high.value + count));
    FB_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, etcd_.Txn(txn));
    if (response.succeeded()) return high.value + 1;
    Jitter(attempt);
  }
  return GaveUp("reserving push versions");
}

// --- Watch ---

absl::Status EtcdStore::WatchSettings(std::function<void(uint64_t version)> on_change) {
  StopWatchingSettings();
  const std::string key = Key(kSettingsVersion);
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse current, etcd_.Get(key));
  uint64_t version = 0;
  if (current.kvs_size() > 0) (void)absl::SimpleAtoi(current.kvs(0).value(), &version);
  on_change(version);
  auto on_events = [this, key, on_change](const std::vector<mvccpb::Event>& events,
                                          int64_t revision, bool resync) {
    (void)revision;
    if (resync) {
      absl::StatusOr<VersionKey> now = ReadUintKey(key);
      if (now.ok()) on_change(now->value);
      return;
    }
    for (const mvccpb::Event& event : events) {
      uint64_t v = 0;
      if (event.type() == mvccpb::Event::PUT && absl::SimpleAtoi(event.kv().value(), &v)) {
        on_change(v);
      }
    }
  };
  std::unique_ptr<EtcdWatch> watch =
      etcd_.Watch(key, "", current.header().revision() + 1, std::move(on_events));
  absl::MutexLock lock(&watch_mu_);
  watch_ = std::move(watch);
  return absl::OkStatus();
}

void EtcdStore::StopWatchingSettings() {
  std::unique_ptr<EtcdWatch> watch;
  {
    absl::MutexLock lock(&watch_mu_);
    watch = std::move(watch_);
  }
  watch.reset();  // joins the watch's thread outside the lock
}

// --- Registry watch ---

// RegistryWatch is the node watch's memory, touched only by the watch's thread (and by WatchNodes
// before that starts): every record and lease as last reported, so that a lease stored after its
// record (or before it) is reported together with the record; the revision of the last full read,
// at or below which events only repeat what that read saw (a watch resumed after a compaction
// starts at the oldest revision etcd kept); and whether such a read failed and is still due.
struct EtcdStore::RegistryWatch {
  std::function<void(const RegistryUpdate&)> on_update;
  std::map<std::string, NodeRecord, std::less<>> records;
  std::map<std::string, std::string, std::less<>> leases;
  int64_t read_revision = 0;
  bool reread = false;
};

absl::StatusOr<RegistryUpdate> EtcdStore::ReadRegistry(RegistryWatch& watch) {
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse nodes, etcd_.RangePrefix(Key(kNodes)));
  const int64_t revision = nodes.header().revision();
  etcdserverpb::RangeRequest request;
  request.set_key(Key(kLeases));
  request.set_range_end(PrefixEnd(Key(kLeases)));
  request.set_revision(revision);  // the leases as they were when the records were read
  FB_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse leases, etcd_.Range(request));
  std::map<std::string, NodeRecord, std::less<>> records;
  const size_t node_skip = Key(kNodes).size();
  for (const mvccpb::KeyValue& kv : nodes.kvs()) {
    etcd::StoredNode stored;
    if (!stored.ParseFromString(kv.value())) {
      return absl::DataLossError(
          absl::StrFormat("etcd: registry entry %s is damaged", absl::CHexEscape(kv.key())));
    }
    NodeRecord record = FromStored(stored);
    record.id = kv.key().substr(node_skip);
    records[record.id] = std::move(record);
  }
  watch.leases.clear();
  const size_t lease_skip = Key(kLeases).size();
  for (const mvccpb::KeyValue& kv : leases.kvs()) {
    watch.leases[kv.key().substr(lease_skip)] = kv.value();
  }
  watch.records = std::move(records);
  watch.read_revision = revision;
  watch.reread = false;
  RegistryUpdate update;
  update.full = true;
  update.changes.reserve(watch.records.size());
  for (const auto& [id, record] : watch.records) {
    auto lease = watch.leases.find(id);
    update.changes.push_back(
        NodeChange{id, record, lease != watch.leases.end() ? lease->second : std::string()});
  }
  return update;
}

void EtcdStore::OnRegistryEvents(RegistryWatch& watch, const std::vector<mvccpb::Event>& events,
                                 bool resync) {
  if (resync || watch.reread) {
    // etcd compacted the revisions the watch needed: what changed meanwhile is only known by
    // reading everything again. A read that fails now (etcd just answered, so rarely) is tried
    // again with the next events.
    absl::StatusOr<RegistryUpdate> update = ReadRegistry(watch);
    if (!update.ok()) {
      watch.reread = true;
      return;
    }
    watch.on_update(*update);
  }
  const std::string nodes_key = Key(kNodes);
  const std::string leases_key = Key(kLeases);
  RegistryUpdate update;
  for (const mvccpb::Event& event : events) {
    if (event.kv().mod_revision() <= watch.read_revision) continue;  // the last read saw it
    const absl::string_view key = event.kv().key();
    const bool put = event.type() == mvccpb::Event::PUT;
    std::string id;
    if (absl::StartsWith(key, nodes_key)) {
      id = std::string(key.substr(nodes_key.size()));
      if (put) {
        etcd::StoredNode stored;
        if (!stored.ParseFromString(event.kv().value())) continue;  // LoadNodes reports it
        NodeRecord record = FromStored(stored);
        record.id = id;
        watch.records[id] = std::move(record);
      } else if (watch.records.erase(id) > 0) {
        update.changes.push_back(NodeChange{id, std::nullopt, ""});
        continue;
      } else {
        continue;
      }
    } else if (absl::StartsWith(key, leases_key)) {
      id = std::string(key.substr(leases_key.size()));
      if (put) {
        watch.leases[id] = event.kv().value();
      } else {
        watch.leases.erase(id);
      }
      // A lease of a node not in the registry yet is reported with its record.
      if (!watch.records.contains(id)) continue;
    } else {
      continue;  // owners/ and overlay/cursor/ lie in the watched range too
    }
    auto lease = watch.leases.find(id);
    update.changes.push_back(NodeChange{
        id, watch.records.at(id), lease != watch.leases.end() ? lease->second : std::string()});
  }
  if (!update.changes.empty()) watch.on_update(update);
}

absl::Status EtcdStore::WatchNodes(std::function<void(const RegistryUpdate& update)> on_update) {
  StopWatchingNodes();
  auto watch = std::make_shared<RegistryWatch>();
  watch->on_update = std::move(on_update);
  FB_ASSIGN_OR_RETURN(const RegistryUpdate first, ReadRegistry(*watch));
  watch->on_update(first);
  // One range from nodes/ to the end of overlay/leases/: both prefixes, in one stream whose
  // events come in the order etcd applied them. It also holds owners/ and overlay/cursor/, whose
  // events are skipped.
  std::unique_ptr<EtcdWatch> etcd_watch = etcd_.Watch(
      Key(kNodes), PrefixEnd(Key(kLeases)), watch->read_revision + 1,
      [this, watch](const std::vector<mvccpb::Event>& events, int64_t revision, bool resync) {
        (void)revision;
        OnRegistryEvents(*watch, events, resync);
      });
  absl::MutexLock lock(&watch_mu_);
  node_watch_ = std::move(etcd_watch);
  return absl::OkStatus();
}

void EtcdStore::StopWatchingNodes() {
  std::unique_ptr<EtcdWatch> watch;
  {
    absl::MutexLock lock(&watch_mu_);
    watch = std::move(node_watch_);
  }
  watch.reset();  // joins the watch's thread outside the lock
}

}  // namespace fleetbond::controller
