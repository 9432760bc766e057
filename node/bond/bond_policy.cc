#include "node/bond/bond_policy.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "node/bond/active_backup.h"
#include "node/bond/balance_aware.h"
#include "node/bond/balance_rr.h"
#include "node/bond/balance_xor.h"
#include "node/bond/broadcast.h"

namespace fleetbond::bond {

absl::Status RotateRefused(const ResolvedPolicy& policy) {
  std::string name =
      policy.name == BasePolicyName(policy.base)
          ? std::string(BasePolicyName(policy.base))
          : absl::StrCat(policy.name, " (based on ", BasePolicyName(policy.base), ")");
  return absl::FailedPreconditionError(
      absl::StrCat("cannot rotate: rotate applies only to active-backup bonds; this bond runs ",
                   name, ", which uses every usable link at once"));
}

std::unique_ptr<BondPolicy> CreateBondPolicy(const LinkTable& links, LinkId previous_active) {
  switch (links.policy->base) {
    case BasePolicy::kActiveBackup:
      return std::make_unique<ActiveBackup>(links, previous_active);
    case BasePolicy::kBroadcast:
      return std::make_unique<Broadcast>(links);
    case BasePolicy::kBalanceRr:
      return std::make_unique<BalanceRr>(links);
    case BasePolicy::kBalanceXor:
      return std::make_unique<BalanceXor>(links);
    case BasePolicy::kBalanceAware:
      return std::make_unique<BalanceAware>(links);
  }
  return std::make_unique<ActiveBackup>(links, previous_active);
}

}  // namespace fleetbond::bond
