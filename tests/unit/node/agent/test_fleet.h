// test_fleet.h: a few real identities and the pushes a controller would send them.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fleetbond/v1/session.pb.h"
#include "gtest/gtest.h"
#include "shared/identity/identity.h"

namespace fleetbond::agent {

class TestFleet {
 public:
  explicit TestFleet(int size) {
    for (int i = 0; i < size; ++i) {
      absl::StatusOr<Identity> id = Identity::Generate();
      EXPECT_TRUE(id.ok());
      ids_.push_back(id->id());
      keys_.push_back(id->public_key());
    }
  }

  NodeId id(int i) const { return ids_[i]; }
  std::string key_bytes(int i) const { return std::string(keys_[i].begin(), keys_[i].end()); }
  const PublicKey& key(int i) const { return keys_[i]; }

  // Entry is node i as the directory lists it: overlay 10.147.0.(i+1), one endpoint.
  v1::PeerEntry Entry(int i) const {
    v1::PeerEntry e;
    e.set_id(ids_[i].ToString());
    e.set_public_key(key_bytes(i));
    e.set_overlay_address(absl::StrCat("10.147.0.", i + 1));
    e.add_endpoints(absl::StrCat("10.201.0.", i + 1, "/9800"));
    return e;
  }

  // Push is a full push for node `self`: policy fleet-ab (active-backup, 500 ms) by default and
  // every other node as a peer.
  v1::ConfigPush Push(uint64_t version, int self) const {
    v1::ConfigPush push;
    push.set_version(version);
    v1::Settings* s = push.mutable_settings();
    s->set_default_bonding_policy("fleet-ab");
    v1::Policy& p = (*s->mutable_policies())["fleet-ab"];
    p.set_base_policy(v1::BASE_POLICY_ACTIVE_BACKUP);
    p.set_failover_interval(500);
    push.set_overlay_address(absl::StrCat("10.147.0.", self + 1, "/24"));
    push.set_metrics_interval_ms(5000);
    for (int i = 0; i < static_cast<int>(ids_.size()); ++i) {
      if (i != self) *push.add_peers() = Entry(i);
    }
    return push;
  }

 private:
  std::vector<NodeId> ids_;
  std::vector<PublicKey> keys_;
};

}  // namespace fleetbond::agent
