// policy_resolver.h
//
// PolicyResolver answers "which policy does the bond to this peer run?" for validated Settings:
// peerSpecificBonds[peer], else defaultBondingPolicy, else none (std::nullopt: no bonding, the
// peer is reached over a plain single path). A standard policy name needs no definition and
// resolves to DefaultPolicy(base); a custom policy is its basePolicy's defaults overlaid with the
// parameters it writes.
//
// Example:
//   FB_ASSIGN_OR_RETURN(PolicyResolver resolver, PolicyResolver::Create(settings));
//   std::optional<ResolvedPolicy> p = resolver.ForPeer("f6203a2db3");
//   if (!p) { /* single path */ }
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fleetbond/v1/settings.pb.h"
#include "shared/settings/policy.h"

namespace fleetbond::settings {

// GivesFailoverGuidance is the spec's "links are explicitly specified" for linkSelectMethod:
// true when some link of `policy` is marked "primary" or names a failoverTo. Then an
// active-backup policy that does not set linkSelectMethod gets "always" (return to the
// designated primary); without guidance it gets "optimize" (pick the best link). Links that
// only carry ipvPref, capacity or "spare" restrict the choice but designate no primary, so they
// keep "optimize".
bool GivesFailoverGuidance(const v1::Policy& policy);

// ResolvePolicy resolves the policy called `name` in `settings`: a custom policy when
// settings.policies has it, else a standard policy. NotFound when it is neither;
// InvalidArgument when the custom policy has no usable basePolicy. It does not validate the
// rest; PolicyResolver::Create does.
absl::StatusOr<ResolvedPolicy> ResolvePolicy(const v1::Settings& settings, absl::string_view name);

class PolicyResolver {
 public:
  // Create validates `settings` (InvalidArgument listing every error when it has any) and
  // resolves every custom policy and every standard policy that is referenced.
  static absl::StatusOr<PolicyResolver> Create(const v1::Settings& settings);

  // ForPeer returns the policy of the bond to `peer_id` (10 hex digits, any case), or nullopt
  // when that peer is not bonded.
  std::optional<ResolvedPolicy> ForPeer(absl::string_view peer_id) const;

  // Find returns the resolved policy called `name`, or nullptr. Standard policies that nothing
  // references resolve too.
  const ResolvedPolicy* Find(absl::string_view name) const;

  // default_policy is defaultBondingPolicy, when set.
  const std::optional<std::string>& default_policy() const { return default_policy_; }
  // peer_specific_bonds maps lowercase peer ids to policy names, sorted by peer id.
  const std::map<std::string, std::string>& peer_specific_bonds() const { return peer_bonds_; }
  // policies holds every custom policy and every referenced standard policy, sorted by name.
  const std::vector<ResolvedPolicy>& policies() const { return policies_; }

  // Written returns the custom policy called `name` as the settings wrote it (to tell written
  // values from defaults), or nullptr for a standard policy or an unknown name.
  const v1::Policy* Written(absl::string_view name) const;

 private:
  PolicyResolver() = default;

  std::optional<std::string> default_policy_;
  std::map<std::string, std::string> peer_bonds_;
  std::vector<ResolvedPolicy> policies_;
  std::vector<ResolvedPolicy> standard_;  // every standard policy at its defaults
  std::map<std::string, v1::Policy> written_;
};

}  // namespace fleetbond::settings
