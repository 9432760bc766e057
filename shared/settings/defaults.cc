#include "shared/settings/defaults.h"

namespace fleetbond {

ResolvedPolicy DefaultPolicy(BasePolicy base) {
  ResolvedPolicy p;
  p.name = std::string(BasePolicyName(base));
  p.base = base;
  p.failover_interval = absl::Milliseconds(defaults::kFailoverIntervalMs);
  p.up_delay = absl::Milliseconds(defaults::kUpDelayMs);
  p.down_delay = absl::Milliseconds(defaults::kDownDelayMs);
  p.link_select_method = LinkSelectMethod::kOptimize;
  p.packets_per_link = defaults::kPacketsPerLink;
  p.link_quality = LinkQualitySpec{
      .lat_max_ms = defaults::kLatMaxMs,
      .pdv_max_ms = defaults::kPdvMaxMs,
      .plr_max = defaults::kPlrMax,
      .per_max = defaults::kPerMax,
      .lat_weight = 0.25,
      .pdv_weight = 0.25,
      .plr_weight = 0.25,
      .per_weight = 0.25,
  };
  return p;
}

}  // namespace fleetbond
