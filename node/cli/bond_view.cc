#include "node/cli/bond_view.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shared/settings/policy.h"
#include "shared/settings/proto_enums.h"
#include "shared/text_table.h"

namespace fleetbond::cli {
namespace {

std::string BaseName(v1::BasePolicy p) {
  std::optional<BasePolicy> base = settings::FromProto(p);
  return base ? std::string(BasePolicyName(*base)) : "unknown";
}

std::string MethodName(v1::LinkSelectMethod m) {
  std::optional<LinkSelectMethod> method = settings::FromProto(m);
  return method ? std::string(LinkSelectMethodName(*method)) : "unknown";
}

std::string Links(const v1::BondSummary& s) {
  return absl::StrCat(s.usable_links(), "/", s.total_links());
}

const v1::Path* FindPath(const v1::Bond& bond, uint32_t idx) {
  for (const v1::Path& p : bond.paths()) {
    if (p.idx() == idx) return &p;
  }
  return nullptr;
}

}  // namespace

std::string BondTypeName(const v1::BondSummary& s) {
  const std::string base = BaseName(s.base_policy());
  return s.policy_name() == base ? base : absl::StrCat(s.policy_name(), " (", base, ")");
}

std::string RenderBondList(const v1::ListBondsResponse& bonds) {
  TextTable t({"<peer>", "<bondtype>", "<links>"});
  t.AlignRight(1);
  t.AlignRight(2);
  for (const v1::BondSummary& s : bonds.bonds()) t.AddRow({s.peer(), BondTypeName(s), Links(s)});
  return t.Render();
}

std::string RenderBondShow(const v1::Bond& bond) {
  const v1::BondSummary& s = bond.summary();
  KeyValueList head;
  head.Add("Peer", s.peer());
  head.Add("Bond", BondTypeName(s));
  head.Add("Link Select Method", MethodName(bond.link_select_method()));
  head.Add("Links", Links(s));
  head.Add("Failover Interval (ms)", absl::StrCat(bond.failover_interval_ms()));
  head.Add("Up Delay (ms)", absl::StrCat(bond.up_delay_ms()));
  head.Add("Down Delay (ms)", absl::StrCat(bond.down_delay_ms()));
  head.Add("Packets Per Link", absl::StrCat(bond.packets_per_link()));
  if (s.base_policy() == v1::BASE_POLICY_ACTIVE_BACKUP) {
    const v1::Path* active = bond.has_active_path() ? FindPath(bond, bond.active_path()) : nullptr;
    head.Add("Active Link", active == nullptr
                                ? "none"
                                : absl::StrCat(active->idx(), ": ", active->interface(), "/",
                                               active->remote_endpoint()));
  }
  head.Add("Failovers", absl::StrCat(bond.failovers()));
  head.Add("Flows", absl::StrCat(bond.flows()));

  TextTable paths({"idx", "interface", "path", "socket"});
  for (size_t c = 0; c < 4; ++c) paths.AlignRight(c);
  TextTable metrics({"idx", "lat", "pdv", "plr", "per", "speed", "alloc", "rx_age", "tx_age",
                     "eligible", "bonded", "flows"});
  for (size_t c = 0; c < 12; ++c) metrics.AlignRight(c);
  for (const v1::Path& p : bond.paths()) {
    const std::string idx = absl::StrCat(p.idx(), ":");
    paths.AddRow({idx, p.interface(), p.remote_endpoint(), p.socket()});
    const bool m = p.measured();
    metrics.AddRow({idx, m ? absl::StrFormat("%.2f", p.latency_ms()) : "-",
                    m ? absl::StrFormat("%.2f", p.pdv_ms()) : "-",
                    m ? absl::StrFormat("%.4f", p.loss_ratio()) : "-",
                    absl::StrFormat("%.4f", p.error_ratio()),
                    p.has_capacity() ? absl::StrCat(p.capacity()) : "-",
                    absl::StrFormat("%.2f", p.allocation()),
                    p.has_rx_age_ms() ? absl::StrCat(p.rx_age_ms()) : "-",
                    p.has_tx_age_ms() ? absl::StrCat(p.tx_age_ms()) : "-", p.eligible() ? "1" : "0",
                    p.bonded() ? "1" : "0", absl::StrCat(p.flows())});
  }
  return absl::StrCat(head.Render(), "\n", paths.Render(), "\n\n", metrics.Render());
}

std::string RenderRotation(const v1::RotateBondResponse& r) {
  return absl::StrCat("active link rotated from ", r.from(), " to ", r.to(), "\n");
}

}  // namespace fleetbond::cli
