// Fuzz target: what a node accepts from its controller. The controller's stream carries
// ControllerMessage; a ConfigPush in it is judged by agent::JudgePush against the node's
// local.conf and the push it acked before (node/agent/push_applier.h), which merges the
// settings, validates them, materialises the peer directory (delta or whole) and judges the
// overlay address and every peer entry. What the agent then does with an accepted directory —
// derive the data-plane keys of every peer — is done here too, for the first few peers.
//
// Input: a control byte, then length-prefixed blobs:
//   ctl & 1   a local.conf text (else ctl & 2: the repository's example local.conf; else none)
//   ctl & 4   the node is IdentityA (the corpus's pushes name it), else an id from the input
//   ctl & 8   a serialized ConfigPush the node acked before
//   rest      a serialized ControllerMessage
//
// Properties checked: a NACK carries at least one error, each convertible to the wire's
// SettingsIssue; an applied push is materialised (PEERS_FULL, peers sorted and unique, none of
// them the node itself); the same applied push sent again is ACKed again without re-applying, and
// the applied push under the next version applies again with the same directory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fleetbond/v1/session.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "node/agent/push_applier.h"
#include "node/daemon/standalone_config.h"
#include "node/transport/peer_keys.h"
#include "shared/settings/local_conf_parser.h"
#include "shared/settings/settings_issue.h"
#include "tests/fuzz/fuzz_identities.h"
#include "tests/fuzz/fuzz_input.h"

namespace fleetbond::fuzz {
namespace {

// The repository's deploy/examples/local.conf, as a node would have it beside a controller.
constexpr char kExampleLocalConf[] = R"({
  "settings": {
    "defaultBondingPolicy": "rapid-active-backup",
    "policies": {
      "rapid-active-backup": {
        "basePolicy": "active-backup",
        "failoverInterval": 1000,
        "upDelay": 2000,
        "linkSelectMethod": "always",
        "links": {
          "eth0": { "ipvPref": 46, "mode": "primary", "failoverTo": "eth1" },
          "eth1": { "ipvPref": 46, "failoverTo": "wlan0" },
          "wlan0": { "ipvPref": 4, "mode": "spare" }
        }
      },
      "datacentre-aware": {
        "basePolicy": "balance-aware",
        "failoverInterval": 500,
        "linkQuality": { "lat_max": 80.0, "plr_max": 0.01, "lat_weight": 0.6, "plr_weight": 0.4 },
        "links": { "eth0": { "capacity": 1000 }, "eth1": { "capacity": 250 } }
      }
    },
    "peerSpecificBonds": { "f6203a2db3": "datacentre-aware" }
  }
})";

const settings::LocalConf& ExampleLocalConf() {
  static const settings::LocalConf conf = settings::ParseLocalConf(kExampleLocalConf).conf;
  return conf;
}

void Run(FuzzInput& in) {
  const uint8_t ctl = in.Byte();
  settings::LocalConf local;
  if (ctl & 1) {
    local = settings::ParseLocalConf(in.BlobString()).conf;
  } else if (ctl & 2) {
    local = ExampleLocalConf();
  }
  const NodeId self = (ctl & 4) ? IdentityA().id() : NodeId(in.U64());
  std::optional<v1::ConfigPush> acked;
  if (ctl & 8) {
    std::span<const uint8_t> blob = in.Blob();
    v1::ConfigPush parsed;
    if (parsed.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) acked = parsed;
  }
  std::span<const uint8_t> rest = in.Rest();
  v1::ControllerMessage message;
  if (!message.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) return;
  if (!message.has_push()) return;  // commands need a running data plane to answer
  const v1::ConfigPush& push = message.push();

  agent::PushVerdict verdict = agent::JudgePush(push, local, self, acked ? &*acked : nullptr);
  if (std::getenv("FB_FUZZ_DEBUG") != nullptr) {  // to see what a seed reaches
    std::fprintf(stderr, "verdict %d %s\n", static_cast<int>(verdict.kind), verdict.reason.c_str());
    for (const settings::Issue& issue : verdict.errors) {
      std::fprintf(stderr, "  %s\n", settings::FormatIssue(issue).c_str());
    }
  }
  switch (verdict.kind) {
    case agent::PushVerdict::Kind::kNack:
      FB_FUZZ_CHECK(!verdict.errors.empty());
      for (const settings::Issue& issue : verdict.errors) {
        FB_FUZZ_CHECK(issue.severity == settings::Severity::kError);
        (void)settings::ToProto(issue);
        (void)settings::FormatIssue(issue);
      }
      return;
    case agent::PushVerdict::Kind::kReAck:
    case agent::PushVerdict::Kind::kIgnore:
      FB_FUZZ_CHECK(!verdict.applied.has_value());
      return;
    case agent::PushVerdict::Kind::kApply:
      break;
  }
  FB_FUZZ_CHECK(verdict.applied.has_value());
  const agent::AppliedPush& applied = *verdict.applied;
  FB_FUZZ_CHECK(applied.push.version() == push.version());
  FB_FUZZ_CHECK(applied.push.peers_mode() == v1::ConfigPush::PEERS_FULL);
  FB_FUZZ_CHECK(applied.push.removed_peers().empty());
  const std::vector<daemon::StaticPeer>& peers = applied.directory.peers;
  for (size_t i = 0; i < peers.size(); ++i) {
    FB_FUZZ_CHECK(peers[i].id != self);
    FB_FUZZ_CHECK(VerifyPeerId(peers[i].id, peers[i].public_key).ok());
    if (i > 0) FB_FUZZ_CHECK(peers[i - 1].id < peers[i].id);
    // What the data plane does with a new peer: derive the keys of the pair. A key that cannot
    // make keys (small order) must not crash the node; the data plane skips such a peer.
    if (i < 4 && self == IdentityA().id()) {
      (void)transport::DerivePeerKeys(IdentityA(), peers[i].public_key);
    }
  }

  // The same push again: ACKed again, nothing applied.
  agent::PushVerdict again = agent::JudgePush(applied.push, local, self, &applied.push);
  FB_FUZZ_CHECK(again.kind == agent::PushVerdict::Kind::kReAck);

  // The applied (materialised) push under the next version: it stands alone, so it applies to the
  // same directory.
  if (push.version() < UINT64_MAX) {
    v1::ConfigPush next = applied.push;
    next.set_version(push.version() + 1);
    agent::PushVerdict later = agent::JudgePush(next, local, self, &applied.push);
    FB_FUZZ_CHECK(later.kind == agent::PushVerdict::Kind::kApply);
    FB_FUZZ_CHECK(later.applied->directory == applied.directory);
    FB_FUZZ_CHECK(daemon::DiffDirectory(applied.directory, later.applied->directory).empty());
  }
}

}  // namespace
}  // namespace fleetbond::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field with invalid UTF-8 it parses; that is expected here.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  fleetbond::fuzz::FuzzInput in(data, size);
  fleetbond::fuzz::Run(in);
  return 0;
}
