// push_applier.h
//
// JudgePush decides what a node does with a controller's ConfigPush: apply it, NACK it with every
// error, ACK it again, or ignore it. It is pure logic (no I/O, no clock), so every rule of the
// session protocol on the node's side is tested here (tests/unit/node/agent/push_applier_test.cc).
//
// Precedence of the two settings documents (docs/agent.md, "Joining a controller"):
//   - The controller's settings are the base: defaultBondingPolicy, policies and
//     peerSpecificBonds are the fleet's.
//   - For a policy that local.conf also defines, local.conf's `links` of that policy (when it
//     lists any) replace the pushed ones: interface names belong to the host. Its other
//     parameters are ignored, each with a warning.
//   - A policy only local.conf defines is kept (the controller's peerSpecificBonds may name it).
//   - local.conf's defaultBondingPolicy, peerSpecificBonds, overlay and peers are ignored, each
//     with a warning: the fleet decides them.
// The merged document is judged by the same validator as --check-config; its errors, and those
// of the peer directory, go into the NACK with their paths, and nothing of the push is applied.
//
// Versions: a push not newer than the acked one is ignored (logged; no answer), except the acked
// version sent again with the same content, which is ACKed again without being re-applied (a
// controller that restarted, or lost our ACK, is not left waiting). Version 0 is NACKed.
//
// Example:
//   PushVerdict v = JudgePush(push, local_conf, last_acked ? &*last_acked : nullptr);
//   switch (v.kind) {
//     case PushVerdict::Kind::kApply: Apply(*v.applied); SendAck(push.version()); break;
//     case PushVerdict::Kind::kNack:  SendNack(push.version(), v.errors); break;
//     ...
//   }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleetbond/v1/session.pb.h"
#include "node/daemon/standalone_config.h"
#include "shared/identity/identity.h"
#include "shared/settings/effective_settings.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/settings_issue.h"

namespace fleetbond::agent {

// MergedSettings is the controller's settings with local.conf's part laid over them.
struct MergedSettings {
  v1::Settings settings;
  settings::SourceMap sources;           // who wrote each value
  std::vector<settings::Issue> ignored;  // warnings: what of local.conf was not used, and why
};

// MergeSettings applies the precedence above. `local` is local.conf's settings (maybe empty).
MergedSettings MergeSettings(const v1::Settings& pushed, const v1::Settings& local);

// AppliedPush is a push the node can run on.
struct AppliedPush {
  // The push as applied: its directory materialised (PEERS_FULL, peers sorted by id), so that it
  // stands alone when persisted.
  v1::ConfigPush push;
  // The merged settings, resolved; their warnings include the merge's.
  settings::LoadedLocalConf settings;
  settings::SourceMap sources;
  daemon::StandaloneConfig directory;
};

struct PushVerdict {
  enum class Kind {
    kApply,   // run on `applied`, persist it, ACK
    kNack,    // NACK with `errors`; keep running on what the node has
    kReAck,   // the acked version again, same content: ACK, change nothing
    kIgnore,  // stale: log `reason`, send nothing
  };
  Kind kind = Kind::kIgnore;
  std::optional<AppliedPush> applied;
  std::vector<settings::Issue> errors;  // every error, sorted by path
  std::string reason;                   // for the log (kReAck, kIgnore)
};

// JudgePush judges `push` for the node `self` whose local.conf is `local`; `acked` is the push the
// node runs on (materialised, as AppliedPush::push) or null when it has none.
PushVerdict JudgePush(const v1::ConfigPush& push, const settings::LocalConf& local, NodeId self,
                      const v1::ConfigPush* acked);

}  // namespace fleetbond::agent
